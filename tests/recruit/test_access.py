"""Who may see what: candidates, recruiters and admins on every new page and the API."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import db
from recruit.models import (
    Application,
    ApplicationStatus,
    DemographicResponse,
    RaceEthnicity,
    Role,
    Sex,
    StageKind,
)
from recruit.tokens import create_token
from tests.conftest import csrf_token, log_in, make_user
from tests.recruit.ranking_factories import (
    candidate,
    opening_with_weights,
    scored_application,
)

STAFF_PAGES = [
    "/recruit/openings/{opening}",
    "/recruit/openings/{opening}/board",
    "/recruit/openings/{opening}/settings",
    "/recruit/openings/{opening}/analytics",
    "/recruit/openings/{opening}/analytics.pdf",
    "/recruit/openings/{opening}/ranking.csv",
    "/recruit/analytics",
    "/recruit/applications/{application}",
    "/recruit/applications/{application}/decide",
    "/recruit/candidates/{candidate}/decision-log.json",
    "/recruit/candidates/{candidate}/decision-log.csv",
    "/recruit/import",
    "/recruit/tokens",
]
ADMIN_PAGES = [
    "/recruit/fairness",
    "/recruit/openings/{opening}/fairness",
    "/recruit/audit",
    "/recruit/webhooks",
]
API = [
    "/api/v1/openings",
    "/api/v1/openings/{opening}",
    "/api/v1/openings/{opening}/applications",
    "/api/v1/applications/{application}",
    "/api/v1/stage-changes",
]


@pytest.fixture
def world(app: Flask) -> dict[str, int]:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        make_user("admin@example.com", "admin")
        opening = opening_with_weights()
        mine = candidate("me@example.com", "Me")
        theirs = candidate("other@example.com", "Other Person")
        mine_app = scored_application(
            opening, "", {StageKind.LANGUAGE: 71.3}, user=mine
        )
        their_app = scored_application(
            opening, "", {StageKind.LANGUAGE: 88.8}, user=theirs
        )
        db.session.add(
            DemographicResponse(
                user_id=theirs.id, sex=Sex.FEMALE, race_ethnicity=RaceEthnicity.ASIAN
            )
        )
        db.session.commit()
        return {
            "opening": opening.id,
            "application": their_app.id,
            "own": mine_app.id,
            "candidate": theirs.id,
        }


def fill(path: str, world: dict[str, int]) -> str:
    return path.format(**world)


def test_candidate_reaches_no_recruiter_page(
    client: FlaskClient, world: dict[str, int]
) -> None:
    log_in(client, "me@example.com")
    for path in STAFF_PAGES + ADMIN_PAGES:
        assert client.get(fill(path, world)).status_code == 403, path
    for path in API:
        assert client.get(fill(path, world)).status_code == 401, path
    assert (
        client.post(
            fill("/recruit/openings/{opening}/decisions", world),
            data={"csrf_token": csrf_token(client), "action": "advance"},
        ).status_code
        == 403
    )


def test_candidate_never_sees_another_score(
    client: FlaskClient, world: dict[str, int]
) -> None:
    log_in(client, "me@example.com")
    other = client.get(f"/me/applications/{world['application']}")
    assert other.status_code == 404
    own = client.get(f"/me/applications/{world['own']}").get_data(as_text=True)
    listing = client.get("/me/applications").get_data(as_text=True)
    for page in (own, listing):
        assert "88.8" not in page
        assert "Other Person" not in page


def test_trainee_reads_own_applications(
    app: Flask, client: FlaskClient, world: dict[str, int]
) -> None:
    with app.app_context():
        own = db.session.get(Application, world["own"])
        own.status = ApplicationStatus.HIRED
        own.candidate.role = Role.TRAINEE
        db.session.commit()
    log_in(client, "me@example.com")
    listing = client.get("/me/applications")
    assert listing.status_code == 200
    assert f"/me/applications/{world['own']}" in listing.get_data(as_text=True)
    assert f"/me/applications/{world['application']}" not in listing.get_data(
        as_text=True
    )
    page = client.get(fill("/me/applications/{own}", world))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "hired" in text
    assert "My applications" in text
    # Read-only: no form starts or resumes a test, and posting one is forbidden.
    assert "/assessments/" not in text
    started = client.post(
        fill("/me/applications/{own}/assessments/1", world),
        data={"csrf_token": csrf_token(client)},
    )
    assert started.status_code == 403
    assert client.get(fill("/me/applications/{application}", world)).status_code == 404
    screening = client.get(fill("/me/applications/{own}/screening", world))
    assert screening.status_code == 403


def test_staff_have_no_own_applications(
    client: FlaskClient, world: dict[str, int]
) -> None:
    log_in(client, "rec@example.com")
    assert client.get("/me/applications").status_code == 403
    assert client.get(fill("/me/applications/{own}", world)).status_code == 403


def test_candidate_cannot_hold_api_token(app: Flask, world: dict[str, int]) -> None:
    with app.app_context():
        from recruit.auth import find_user

        with pytest.raises(PermissionError):
            create_token(find_user("me@example.com"), "mine", 5)


def test_recruiter_pages_but_not_admin_pages(
    client: FlaskClient, world: dict[str, int]
) -> None:
    log_in(client, "rec@example.com")
    for path in STAFF_PAGES:
        assert client.get(fill(path, world)).status_code == 200, path
    for path in ADMIN_PAGES:
        assert client.get(fill(path, world)).status_code == 403, path


def test_demographics_never_beside_a_candidate(
    client: FlaskClient, world: dict[str, int]
) -> None:
    log_in(client, "admin@example.com")
    for path in STAFF_PAGES[:-2]:
        body = client.get(fill(path, world)).data.decode("utf-8", "replace").lower()
        assert "asian" not in body, path
        assert "female" not in body, path
    fairness = client.get(fill("/recruit/openings/{opening}/fairness", world))
    assert "Asian" in fairness.get_data(as_text=True)


def test_candidate_survey_is_optional(
    client: FlaskClient, world: dict[str, int]
) -> None:
    log_in(client, "me@example.com")
    page = client.get("/me/equal-opportunity").get_data(as_text=True)
    assert "Skip" in page
    assert 'for="sex-0"' in page
    saved = client.post(
        "/me/equal-opportunity",
        data={
            "csrf_token": csrf_token(client, "/me/equal-opportunity"),
            "sex": "declined",
            "race_ethnicity": "declined",
        },
    )
    assert saved.status_code == 302
