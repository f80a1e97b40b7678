"""Time limits enforced on the server: late answers rejected, drafts submitted.

Each test moves the stored start of an attempt back instead of waiting.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import db
from assessments import grading
from assessments.deadlines import close_expired_attempts
from assessments.models import (
    Assessment,
    Attempt,
    AttemptStatus,
    ItemSession,
    Response,
    ResponseStatus,
    SimulationRun,
    SimulationStatus,
)
from assessments.services import LATE_GRACE
from tests.assessments.test_stage_tasks import (
    chat_url,
    choose,
    items_of,
    open_assessment,
    passage_of,
    say,
    send_typing,
    start_chat,
    start_typing,
    typing_payload,
)
from tests.conftest import csrf_token, log_in, make_user
from tests.factories import funnel_opening

JSON = {"Accept": "application/json"}
TIME_UP = "The time for this test ran out"


@pytest.fixture
def opening_id(app: Flask) -> int:
    with app.app_context():
        make_user("cand@example.com", "candidate", name="Cand One")
        make_user("rec@example.com", "recruiter", name="Rita Recruiter")
        return funnel_opening(screening=False).id


def move_back(attempt_id: int, shift: timedelta) -> None:
    """Move every stored time of the attempt back, as if it all happened earlier."""
    attempt = db.session.get(Attempt, attempt_id)
    attempt.started_at -= shift
    for response in attempt.responses:
        response.created_at -= shift
        response.updated_at -= shift
        if response.submitted_at is not None:
            response.submitted_at -= shift
    for session in db.session.scalars(
        select(ItemSession).filter_by(attempt_id=attempt_id)
    ):
        session.started_at -= shift
    for run in db.session.scalars(
        select(SimulationRun).filter_by(attempt_id=attempt_id)
    ):
        run.started_at -= shift
        for message in run.messages:
            message.at -= shift
    db.session.commit()


def expire(attempt_id: int) -> None:
    """Move the attempt back so its deadline and grace passed 1 s ago."""
    limit = db.session.get(Attempt, attempt_id).assessment.time_limit_s
    assert limit is not None
    move_back(attempt_id, timedelta(seconds=limit + 1) + LATE_GRACE)


def within_grace(attempt_id: int) -> None:
    """Move the attempt back so its deadline passed 5 s ago, inside the grace."""
    limit = db.session.get(Attempt, attempt_id).assessment.time_limit_s
    move_back(attempt_id, timedelta(seconds=limit + 5))


def save_draft(client: FlaskClient, attempt_id: int, item_id: int, text: str):
    return client.post(
        f"/attempts/{attempt_id}/items/{item_id}/text",
        data={f"item{item_id}-answer": text},
        headers={"X-CSRFToken": csrf_token(client), **JSON},
    )


def submit(client: FlaskClient, attempt_id: int, item_id: int, text: str):
    return client.post(
        f"/attempts/{attempt_id}/items/{item_id}/text",
        data={f"item{item_id}-answer": text, f"item{item_id}-submit": "Submit"},
        headers={"X-CSRFToken": csrf_token(client), **JSON},
    )


def responses_of(attempt_id: int) -> dict[int, Response]:
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt_id)
    return {response.item_id: response for response in attempt.responses}


@pytest.mark.parametrize(
    ("title", "limit_s"),
    [
        ("Chat replies", 20 * 60),
        ("Typing test", 10 * 60),
        ("Situational judgement", 20 * 60),
        ("Reasoning", 15 * 60),
    ],
)
def test_timed_tests_have_limits(
    app: Flask, opening_id: int, title: str, limit_s: int
) -> None:
    with app.app_context():
        assessment = db.session.scalars(select(Assessment).filter_by(title=title)).one()
        assert assessment.time_limit_s == limit_s


def test_chat_reply_after_deadline_is_rejected(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Chat replies")
        first = items_of(attempt_id)[0]
        expire(attempt_id)
        late = submit(client, attempt_id, first, "Hi Maria, thanks for writing.")
        assert late.status_code == 409
        assert TIME_UP in late.get_json()["error"]
        draft = save_draft(client, attempt_id, first, "Hi Maria")
        assert draft.status_code == 409
        assert TIME_UP in draft.get_json()["error"]
        response = responses_of(attempt_id)[first]
        assert response.text is None
        assert response.score.evidence["unanswered"] is True


def test_chat_reply_page_shows_time_up(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Chat replies")
        first = items_of(attempt_id)[0]
        expire(attempt_id)
    page = client.post(
        f"/attempts/{attempt_id}/items/{first}/text",
        data={
            f"item{first}-answer": "Hi",
            f"item{first}-submit": "Submit",
            "csrf_token": csrf_token(client),
        },
        follow_redirects=True,
    )
    html = page.get_data(as_text=True)
    assert TIME_UP in html
    assert "The time for this test is up." in html


def test_draft_submitted_on_next_request(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Chat replies")
        first, second, third = items_of(attempt_id)
        assert save_draft(client, attempt_id, first, "Hi, I am on it.").status_code
        assert submit(client, attempt_id, second, "Hello, it ships today.").json
        expire(attempt_id)
        assert responses_of(attempt_id)[first].status == ResponseStatus.DRAFT

        status = client.get(f"/attempts/{attempt_id}/status").get_json()
        assert status["attempt"] == "submitted"
        responses = responses_of(attempt_id)
        assert responses[first].status == ResponseStatus.SUBMITTED
        assert responses[first].text == "Hi, I am on it."
        assert responses[first].late is False
        assert responses[second].status == ResponseStatus.SUBMITTED
        # The reply never written scores 0 at once, with the reason.
        assert responses[third].status == ResponseStatus.SCORED
        assert responses[third].score.score == 0.0
        assert responses[third].score.evidence == {
            "unanswered": True,
            "reason": "time_limit",
        }
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status == AttemptStatus.SUBMITTED
        assert attempt.submitted_at is not None

        for response_id in (responses[first].id, responses[second].id):
            assert grading.score_response(response_id) == "scored"
        db.session.expire_all()
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status == AttemptStatus.SCORED
        assert attempt.score is not None


def test_sweep_submits_drafts_of_expired_attempts(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Chat replies")
        first = items_of(attempt_id)[0]
        save_draft(client, attempt_id, first, "Hi Maria, let me check.")
        other_id = open_assessment(client, opening_id, "Reasoning")
        assert close_expired_attempts() == 0
        assert responses_of(attempt_id)[first].status == ResponseStatus.DRAFT

        expire(attempt_id)
        assert close_expired_attempts() == 1
        response = responses_of(attempt_id)[first]
        assert response.status == ResponseStatus.SUBMITTED
        assert response.text == "Hi Maria, let me check."
        assert response.queued_at is not None
        # The untimed-out attempt is left alone, and a second sweep does nothing.
        assert db.session.get(Attempt, other_id).status == AttemptStatus.IN_PROGRESS
        assert close_expired_attempts() == 0


def test_answer_inside_grace_is_kept_and_flagged_late(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Chat replies")
        first = items_of(attempt_id)[0]
        within_grace(attempt_id)
        sent = submit(client, attempt_id, first, "Hello, it ships today.")
        assert sent.status_code == 200
        assert sent.get_json()["late"] is True


@pytest.mark.parametrize("title", ["Reasoning", "Situational judgement"])
def test_choice_after_deadline_is_rejected(
    app: Flask, client: FlaskClient, opening_id: int, title: str
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, title)
        first, second, *_rest = items_of(attempt_id)
        assert choose(client, attempt_id, first, choice="1").status_code == 302
        expire(attempt_id)
        late = choose(client, attempt_id, second, choice="1")
        assert late.status_code == 409
        assert TIME_UP in late.get_data(as_text=True)
        responses = responses_of(attempt_id)
        assert responses[first].status == ResponseStatus.SUBMITTED
        assert responses[second].score.evidence["unanswered"] is True
        assert responses[second].text is None


def test_typing_after_deadline_is_rejected_and_recorded(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Typing test")
        item_id = items_of(attempt_id)[0]
        start_typing(client, attempt_id, item_id)
        expire(attempt_id)
        text = passage_of(attempt_id)
        page = send_typing(client, attempt_id, item_id, text, typing_payload(text))
        assert TIME_UP in page.get_data(as_text=True)
        session = db.session.scalars(select(ItemSession)).one()
        db.session.refresh(session)
        assert session.data["running"] is False
        assert [t["outcome"] for t in session.data["tries"]] == ["timed_out"]
        response = responses_of(attempt_id)[item_id]
        assert response.score.score == 0.0
        assert response.score.evidence["unanswered"] is True


def test_typing_start_after_deadline_is_rejected(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Typing test")
        item_id = items_of(attempt_id)[0]
        expire(attempt_id)
        refused = client.post(
            f"/attempts/{attempt_id}/items/{item_id}/typing/start",
            data={"csrf_token": csrf_token(client)},
            follow_redirects=True,
        )
        assert TIME_UP in refused.get_data(as_text=True)
        assert db.session.scalar(select(ItemSession)) is None


def test_timed_chat_ends_at_deadline(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        chat = db.session.scalars(
            select(Assessment).filter_by(title="Customer chat simulation")
        ).one()
        chat.time_limit_s = 10 * 60
        db.session.commit()
        attempt_id, item_id = start_chat(client, opening_id)
        say(client, attempt_id, item_id, "Hi Dana, what is your order number?")
        expire(attempt_id)
        late = client.post(
            chat_url(attempt_id, item_id),
            data={"csrf_token": csrf_token(client), "message": "Hello?"},
        )
        assert late.status_code == 409
        assert TIME_UP in late.get_data(as_text=True)
        run = db.session.scalars(select(SimulationRun)).one()
        db.session.refresh(run)
        assert run.status == SimulationStatus.ENDED
        assert run.end_reason == "time_limit"
        assert [m.text for m in run.messages if m.role == "agent"] == [
            "Hi Dana, what is your order number?"
        ]
        response = responses_of(attempt_id)[item_id]
        assert response.status == ResponseStatus.SUBMITTED
        assert "time_limit" in response.text


def test_last_answer_submits_the_attempt(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Chat replies")
        for item_id in items_of(attempt_id):
            assert submit(client, attempt_id, item_id, "Hello, it ships today.").json
        db.session.expire_all()
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status == AttemptStatus.SUBMITTED
        assert attempt.submitted_at is not None
