"""Logins end when idle and at their lifetime, and typed text is kept across it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import db
from assessments.models import Response
from courses.models import QuizAttempt
from courses.quizzes import questions_of, start_attempt
from recruit.auth import LAST_SEEN, LOGIN_STARTED
from recruit.models import User
from tests.assessments.test_flow import start
from tests.conftest import build_app, csrf_token, log_in, make_user
from tests.courses.conftest import make_quiz
from tests.factories import language_opening

JSON = {"Accept": "application/json"}


def age_session(client: FlaskClient, **seconds: float) -> None:
    """Move the session's clocks back, as if that much time had passed."""
    with client.session_transaction() as session:
        for key, shift in seconds.items():
            session[key] -= shift


def next_of(location: str | None) -> str | None:
    values = parse_qs(urlsplit(location or "").query).get("next")
    return values[0] if values else None


@pytest.fixture
def candidate(app: Flask, client: FlaskClient) -> FlaskClient:
    with app.app_context():
        make_user("cand@example.com", "candidate")
    log_in(client, "cand@example.com")
    return client


def test_login_sets_lasting_cookie(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("cand@example.com", "candidate")
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={
            "email": "cand@example.com",
            "password": "correct horse battery",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie
    assert "HttpOnly" in cookie


def test_idle_session_ends(candidate: FlaskClient) -> None:
    assert candidate.get("/me/applications").status_code == 200
    age_session(candidate, **{LAST_SEEN: 61 * 60})
    ended = candidate.get("/me/applications")
    assert ended.status_code == 302
    assert next_of(ended.location) == "/me/applications"
    login_page = candidate.get(ended.location).get_data(as_text=True)
    assert "Your session has ended" in login_page
    assert candidate.get("/me/applications").status_code == 302


def test_activity_keeps_session(candidate: FlaskClient) -> None:
    age_session(candidate, **{LAST_SEEN: 59 * 60, LOGIN_STARTED: 59 * 60})
    with candidate.session_transaction() as session:
        before = session[LAST_SEEN]
    assert candidate.get("/me/applications").status_code == 200
    with candidate.session_transaction() as session:
        assert session[LAST_SEEN] > before
    age_session(candidate, **{LAST_SEEN: 59 * 60})
    assert candidate.get("/me/applications").status_code == 200


def test_lifetime_ends_busy_session(candidate: FlaskClient) -> None:
    age_session(candidate, **{LOGIN_STARTED: 12 * 3600 + 1})
    assert candidate.get("/me/applications").status_code == 302


def test_session_without_clock_ends(candidate: FlaskClient) -> None:
    with candidate.session_transaction() as session:
        del session[LOGIN_STARTED]
    assert candidate.get("/me/applications").status_code == 302


def test_limits_read_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTLINE_SESSION_IDLE_MINUTES", "5")
    monkeypatch.setenv("FRONTLINE_SESSION_LIFETIME_HOURS", "2")
    app = build_app(tmp_path)
    assert app.config["SESSION_IDLE_MINUTES"] == 5
    assert app.permanent_session_lifetime == timedelta(hours=2)
    with app.app_context():
        make_user("cand@example.com", "candidate")
    client = app.test_client()
    log_in(client, "cand@example.com")
    age_session(client, **{LAST_SEEN: 4 * 60})
    assert client.get("/me/applications").status_code == 200
    age_session(client, **{LAST_SEEN: 6 * 60})
    assert client.get("/me/applications").status_code == 302
    log_in(client, "cand@example.com")
    age_session(client, **{LOGIN_STARTED: 2 * 3600 + 1})
    assert client.get("/me/applications").status_code == 302
    with app.app_context():
        db.engine.dispose()


def stored_text(app: Flask) -> list[str | None]:
    with app.app_context():
        return list(db.session.scalars(select(Response.text)))


def test_written_answer_kept_after_expiry(app: Flask, candidate: FlaskClient) -> None:
    with app.app_context():
        opening_id = language_opening().id
        attempt_id, items = start(candidate, opening_id)
    page = f"/attempts/{attempt_id}"
    path = f"{page}/items/{items[0]}/text"
    field = f"item{items[0]}-answer"
    draft = "Dear customer, I am sorry that your parcel is late."
    token = csrf_token(candidate, page)
    saved = candidate.post(path, data={field: draft, "csrf_token": token}, headers=JSON)
    assert saved.status_code == 200

    age_session(candidate, **{LAST_SEEN: 61 * 60})
    longer = draft + " It left our warehouse today."
    headers = {**JSON, "Referer": f"http://localhost{page}"}
    refused = candidate.post(
        path, data={field: longer, "csrf_token": token}, headers=headers
    )
    assert refused.status_code == 401
    body = refused.get_json()
    assert body["session_expired"] is True
    assert next_of(body["login_url"]) == page
    form_post = candidate.post(
        path,
        data={field: longer, "csrf_token": token},
        headers={"Referer": f"http://localhost{page}"},
    )
    assert form_post.status_code == 302
    assert next_of(form_post.location) == page
    assert stored_text(app) == [draft]

    back = candidate.post(
        body["login_url"],
        data={
            "email": "cand@example.com",
            "password": "correct horse battery",
            "csrf_token": csrf_token(candidate, "/login"),
        },
    )
    assert back.location == page
    assert draft in candidate.get(page).get_data(as_text=True)
    resaved = candidate.post(
        path,
        data={field: longer, "csrf_token": csrf_token(candidate, page)},
        headers=JSON,
    )
    assert resaved.status_code == 200
    assert stored_text(app) == [longer]


def test_quiz_answers_saved_after_expiry(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        user = make_user("t@example.com", "trainee")
        attempt = start_attempt(user.id, make_quiz())
        attempt_id = attempt.id
        numeric = next(q for q in questions_of(attempt) if q.qtype == "numerical")
        numeric_id = numeric.id
    log_in(client, "t@example.com")
    page = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
    token = page.split('name="attempt_token" value="', 1)[1].split('"', 1)[0]

    age_session(client, **{LAST_SEEN: 61 * 60})
    saved: Any = client.post(
        f"/learn/attempts/{attempt_id}",
        data={"attempt_token": token, f"q{numeric_id}": "2"},
        headers=JSON,
    )
    assert saved.status_code == 200
    body = saved.get_json()
    # The page updates the answer revisions it shows from "revisions".
    revision = body.pop("revisions")[str(numeric_id)]
    assert revision == 1
    assert body == {
        "saved": True,
        "logged_in": False,
        "state": "in_progress",
    }
    form_post = client.post(
        f"/learn/attempts/{attempt_id}",
        data={
            "attempt_token": token,
            f"q{numeric_id}": "3",
            f"rev-q{numeric_id}": str(revision),
        },
    )
    assert form_post.status_code == 302
    assert next_of(form_post.location) == f"/learn/attempts/{attempt_id}"
    with app.app_context():
        stored = db.session.get(QuizAttempt, attempt_id)
        assert stored.answer_for(numeric_id).response == {"text": "3"}


def test_static_files_keep_idle_clock(candidate: FlaskClient) -> None:
    age_session(candidate, **{LAST_SEEN: 30 * 60})
    with candidate.session_transaction() as session:
        before = session[LAST_SEEN]
    assert candidate.get("/static/style.css").status_code == 200
    assert candidate.get("/healthz").status_code == 200
    with candidate.session_transaction() as session:
        assert session[LAST_SEEN] == before


def test_logout_ends_copied_session(app: Flask) -> None:
    with app.app_context():
        make_user("cand@example.com", "candidate")
    first = app.test_client()
    log_in(first, "cand@example.com")
    copy = app.test_client()
    cookie = first.get_cookie("session")
    assert cookie is not None
    copy.set_cookie("session", cookie.value)
    assert copy.get("/me/applications").status_code == 200
    token = csrf_token(first, "/me/applications")
    assert first.post("/logout", data={"csrf_token": token}).status_code == 302
    # The copied cookie still carries the old session id, which no longer loads.
    refused = copy.get("/me/applications")
    assert refused.status_code == 302
    assert "/login" in refused.location


def test_new_password_ends_sessions(app: Flask) -> None:
    with app.app_context():
        make_user("cand@example.com", "candidate")
    client = app.test_client()
    log_in(client, "cand@example.com")
    assert client.get("/me/applications").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).filter_by(email="cand@example.com"))
        user.set_password("another long password")
        db.session.commit()
    assert client.get("/me/applications").status_code == 302
    log_in(client, "cand@example.com", "another long password")
    assert client.get("/me/applications").status_code == 200
