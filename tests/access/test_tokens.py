"""API tokens expire on every API route, and log-ins are limited per address."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from app import db, utcnow
from recruit.models_ranking import ApiToken
from recruit.tokens import create_token
from tests.access.conftest import client_for
from tests.access.routes import ROUTES
from tests.conftest import PASSWORD, csrf_token, make_user

API_PATHS = [route.path for rule, route in ROUTES.items() if rule.startswith("/api/")]


def test_api_refuses_expired_and_revoked(
    access_app: Flask, world: dict[str, Any]
) -> None:
    with access_app.app_context():
        from recruit.auth import find_user
        from recruit.tokens import revoke_token

        recruiter = find_user("rec@example.com")
        expired_row, expired = create_token(recruiter, "expired", 1)
        expired_row.expires_at = utcnow() - timedelta(seconds=1)
        revoked_row, revoked = create_token(recruiter, "revoked", 30)
        revoke_token(revoked_row, recruiter)
        _row, valid = create_token(recruiter, "valid", 30)
        db.session.commit()
    client = access_app.test_client()
    assert len(API_PATHS) == 5
    for template in API_PATHS:
        path = template.format(**world)
        for token in (expired, revoked):
            refused = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert refused.status_code == 401, path
            assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        allowed = client.get(path, headers={"Authorization": f"Bearer {valid}"})
        assert allowed.status_code == 200, path


def test_new_token_expires_by_default(access_app: Flask) -> None:
    client = client_for(access_app, "recruiter")
    page = client.get("/recruit/tokens").get_data(as_text=True)
    days = re.search(r'name="days"[^>]*value="(\d+)"', page)
    assert days is not None
    assert days.group(1) == "90"
    created = client.post(
        "/recruit/tokens",
        data={"name": "ATS export", "days": "90", "csrf_token": csrf_token(client)},
    )
    assert created.status_code == 303
    shown = client.get(created.location).get_data(as_text=True)
    with access_app.app_context():
        row = db.session.scalar(select(ApiToken).filter_by(name="ATS export"))
        assert row is not None
        # created_at is set at the flush, a moment after expires_at was computed.
        lifetime = row.expires_at - row.created_at
        assert abs(lifetime - timedelta(days=90)) < timedelta(minutes=1)
        expires_on = row.expires_at.strftime("%Y-%m-%d")
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert expires_on in shown
    listing = client.get("/recruit/tokens").get_data(as_text=True)
    row_html = listing[listing.index("ATS export") :].split("</tr>", 1)[0]
    assert "expired" in row_html
    assert "Revoke" not in row_html


def test_login_limit_per_address(app: Flask) -> None:
    from recruit.auth import MAX_FAILURES_PER_ADDRESS

    with app.app_context():
        make_user("real@example.com", "candidate")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    for number in range(MAX_FAILURES_PER_ADDRESS):
        wrong = attacker.post(
            "/login",
            data={
                "email": f"guess{number}@example.com",
                "password": "guess!",
                "csrf_token": csrf_token(attacker, "/login"),
            },
        )
        assert wrong.status_code == 200
    data = {"email": "real@example.com", "password": PASSWORD}
    blocked = attacker.post(
        "/login", data={**data, "csrf_token": csrf_token(attacker, "/login")}
    )
    assert blocked.status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.8"
    allowed = elsewhere.post(
        "/login", data={**data, "csrf_token": csrf_token(elsewhere, "/login")}
    )
    assert allowed.status_code == 302
