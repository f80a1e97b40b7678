"""The JSON API: personal tokens, pagination, rankings and stage changes."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import db, utcnow
from recruit.models import ApiToken, Role, StageKind, User
from recruit.tokens import create_token
from tests.conftest import csrf_token, log_in, make_user
from tests.recruit.ranking_factories import opening_with_weights, scored_application

L, C = StageKind.LANGUAGE, StageKind.COMMUNICATION


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_page_shows_token_once(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
    log_in(client, "rec@example.com")
    created = client.post(
        "/recruit/tokens",
        data={
            "csrf_token": csrf_token(client, "/recruit/tokens"),
            "name": "ATS",
            "days": "30",
        },
    )
    # Post/Redirect/Get: a reload of the page that follows creates nothing.
    assert created.status_code == 303
    assert created.location.endswith("/recruit/tokens")
    assert 'value="flt_' not in created.get_data(as_text=True)
    shown = client.get(created.location)
    assert shown.headers["Cache-Control"] == "no-store"
    page = shown.get_data(as_text=True)
    token = re.search(r'value="(flt_[^"]+)"', page).group(1)
    reloaded = client.get("/recruit/tokens").get_data(as_text=True)
    assert token not in reloaded
    assert "Copy it now" not in reloaded
    with app.app_context():
        assert db.session.query(ApiToken).count() == 1
        row = db.session.scalar(select(ApiToken))
        assert row.digest != token
        assert token not in row.digest
        assert len(row.digest) == 64
    assert client.get("/api/v1/openings", headers=bearer(token)).status_code == 200


def test_token_rules(app: Flask) -> None:
    client = app.test_client()
    with app.app_context():
        recruiter = make_user("rec@example.com", "recruiter")
        row, token = create_token(recruiter, "ATS", 30)
        _expired_row, expired = create_token(recruiter, "old", 1)
        _expired_row.expires_at = utcnow() - timedelta(seconds=1)
        _demoted_row, demoted = create_token(
            make_user("x@example.com", "recruiter"), "x", 5
        )
        db.session.get(User, _demoted_row.user_id).role = Role.CANDIDATE
        db.session.commit()
        token_id = row.id
    assert client.get("/api/v1/openings").status_code == 401
    assert client.get("/api/v1/openings", headers=bearer("flt_nope")).status_code == 401
    assert client.get("/api/v1/openings", headers=bearer(expired)).status_code == 401
    assert client.get("/api/v1/openings", headers=bearer(demoted)).status_code == 401
    assert client.get("/api/v1/openings", headers=bearer(token)).status_code == 200
    log_in(client, "rec@example.com")
    revoked = client.post(
        f"/recruit/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client)}
    )
    assert revoked.status_code == 302
    assert client.get("/api/v1/openings", headers=bearer(token)).status_code == 401


def test_ranked_applications_paginate(app: Flask) -> None:
    client = app.test_client()
    with app.app_context():
        recruiter = make_user("rec@example.com", "recruiter")
        _row, token = create_token(recruiter, "ATS", 30)
        opening = opening_with_weights(languages=["en"])
        for index in range(5):
            scored_application(
                opening,
                f"c{index}@example.com",
                {L: 50 + index * 10, C: 60},
                languages={"en": (50 + index * 10, "B2")},
            )
        opening_id = opening.id
    url = f"/api/v1/openings/{opening_id}/applications?per_page=2"
    first = client.get(url, headers=bearer(token)).json
    assert first["total"] == 5
    assert [item["rank"] for item in first["items"]] == [1, 2]
    assert first["items"][0]["candidate"]["email"] == "c4@example.com"
    stage = {s["stage"]: s for s in first["items"][0]["stages"]}
    assert stage["language"]["score"] == 90
    assert stage["language"]["details"]["en"]["cefr"] == "B2"
    third = client.get(first["next"], headers=bearer(token)).json
    third = client.get(third["next"], headers=bearer(token)).json
    assert [item["rank"] for item in third["items"]] == [5]
    assert third["next"] is None
    missing = client.get("/api/v1/openings/999", headers=bearer(token))
    assert missing.status_code == 404
    assert missing.json["error"] == "opening 999 not found"


def test_stage_changes_cursor(app: Flask) -> None:
    client = app.test_client()
    with app.app_context():
        recruiter = make_user("rec@example.com", "recruiter")
        _row, token = create_token(recruiter, "ATS", 30)
        opening = opening_with_weights()
        for index in range(3):
            scored_application(opening, f"c{index}@example.com", {})
    page = client.get("/api/v1/stage-changes?per_page=2", headers=bearer(token)).json
    assert len(page["items"]) == 2
    assert page["items"][0]["to_stage"] == "screening"
    rest = client.get(page["next"], headers=bearer(token)).json
    assert len(rest["items"]) == 1
    assert rest["next"] is None
    ids = [i["transition_id"] for i in page["items"] + rest["items"]]
    assert ids == sorted(ids)


def test_bad_filter_is_a_400_naming_the_field(app: Flask) -> None:
    client = app.test_client()
    with app.app_context():
        recruiter = make_user("rec@example.com", "recruiter")
        _row, token = create_token(recruiter, "ATS", 30)
        opening_id = opening_with_weights().id
    response = client.get(
        f"/api/v1/openings/{opening_id}/applications?composite_min=abc&cefr_min=Z1",
        headers=bearer(token),
    )
    assert response.status_code == 400
    fields = response.get_json()["fields"]
    assert fields["composite_min"] == "“abc” is not a number from 0 to 100."
    assert fields["cefr_min"] == "“Z1” is not a CEFR band (A1 to C2)."


def test_application_rank_matches_list(app: Flask) -> None:
    client = app.test_client()
    with app.app_context():
        recruiter = make_user("rec@example.com", "recruiter")
        _row, token = create_token(recruiter, "ATS", 30)
        opening = opening_with_weights()
        for number, score in enumerate([50.0, 80.0, None, 70.0, 80.0]):
            scores = {L: score} if score is not None else {}
            scored_application(
                opening, f"c{number}@example.com", scores, applied_minutes=number
            )
        opening_id = opening.id
    listed = client.get(
        f"/api/v1/openings/{opening_id}/applications", headers=bearer(token)
    ).get_json()["items"]
    assert [item["rank"] for item in listed] == [1, 2, 3, 4, 5]
    for item in listed:
        single = client.get(f"/api/v1/applications/{item['id']}", headers=bearer(token))
        assert single.get_json()["rank"] == item["rank"], item["id"]
