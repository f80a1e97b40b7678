"""Writes aimed at another person's objects change nothing."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from app import db
from assessments.models import Response
from courses.models import QuizAnswer
from recruit.tokens import authenticate
from tests.access.conftest import client_for
from tests.conftest import csrf_token


def test_text_into_other_attempt_refused(
    access_app: Flask, world: dict[str, Any]
) -> None:
    client = client_for(access_app, "other_candidate")
    path = f"/attempts/{world['attempt']}/items/{world['writing_item']}/text"
    answer = f"item{world['writing_item']}-answer"
    for extra in ({}, {f"item{world['writing_item']}-submit": "Submit"}):
        data = {answer: "overwritten", "csrf_token": csrf_token(client), **extra}
        assert client.post(path, data=data).status_code == 404
    with access_app.app_context():
        texts = db.session.scalars(select(Response.text)).all()
    assert "overwritten" not in texts


def test_audio_into_other_attempt_refused(
    access_app: Flask, world: dict[str, Any]
) -> None:
    uploads = Path(access_app.config["UPLOAD_DIR"])
    before = sorted(uploads.rglob("*"))
    client = client_for(access_app, "other_candidate")
    refused = client.post(
        f"/attempts/{world['attempt']}/items/{world['audio_item']}/audio",
        data={"audio": (io.BytesIO(b"RIFF0000WAVE"), "a.wav", "audio/wav")},
        headers={"X-CSRFToken": csrf_token(client), "Accept": "application/json"},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 404
    assert sorted(uploads.rglob("*")) == before


def test_other_response_audio_hidden(access_app: Flask, world: dict[str, Any]) -> None:
    for role in ("candidate", "other_candidate", "trainee"):
        client = client_for(access_app, role)
        for response in ("response", "other_response"):
            reply = client.get(f"/recruit/responses/{world[response]}/audio")
            assert reply.status_code == 403, (role, response)
            assert not reply.data.startswith(b"RIFF")


def test_quiz_token_of_other_attempt_refused(
    access_app: Flask, world: dict[str, Any]
) -> None:
    """Trainee B's own attempt token does not open trainee A's attempt."""
    client = client_for(access_app, "other_trainee")
    page = client.get(f"/learn/attempts/{world['other_quiz_attempt']}")
    assert page.status_code == 200
    token = re.search(r'name="attempt_token" value="([^"]+)"', page.text)
    assert token is not None
    with access_app.app_context():
        answers = db.session.scalars(
            select(QuizAnswer).filter_by(attempt_id=world["quiz_attempt"])
        ).all()
        before = {answer.question_id: answer.response for answer in answers}
    fields = {f"q{question_id}": "overwritten" for question_id in before}
    saved = client.post(
        f"/learn/attempts/{world['quiz_attempt']}",
        data={"attempt_token": token.group(1), "action": "submit", **fields},
        headers={"Accept": "application/json"},
    )
    assert saved.status_code == 400
    assert "out of date" in saved.json["error"]
    with access_app.app_context():
        answers = db.session.scalars(
            select(QuizAnswer).filter_by(attempt_id=world["quiz_attempt"])
        ).all()
        assert {answer.question_id: answer.response for answer in answers} == before


def test_trainee_sees_only_own_progress(
    access_app: Flask, world: dict[str, Any]
) -> None:
    client = client_for(access_app, "other_trainee")
    listing = client.get("/learn/").text
    assert f"/learn/courses/{world['other_enrolment']}" in listing
    assert f"/learn/courses/{world['enrolment']}" not in listing
    assert str(world["certificate_code"]) not in listing
    assert client.get(f"/learn/courses/{world['enrolment']}").status_code == 404
    pdf = client.get(f"/learn/certificates/{world['certificate_code']}.pdf")
    assert pdf.status_code == 404
    assert client.get("/admin/learning/progress").status_code == 403


def test_recruiter_cannot_revoke_admin_token(
    access_app: Flask, world: dict[str, Any]
) -> None:
    with access_app.app_context():
        from recruit.auth import create_user
        from recruit.models import Role
        from recruit.tokens import create_token

        admin = create_user("admin2@example.com", "Second Admin", "x" * 12, Role.ADMIN)
        row, token = create_token(admin, "ats", 30)
        token_id = row.id
    client = client_for(access_app, "recruiter")
    refused = client.post(
        f"/recruit/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client)}
    )
    assert refused.status_code == 404
    with access_app.app_context():
        assert authenticate(token) is not None
    listing = client.get("/recruit/tokens").text
    assert "Second Admin" not in listing
    assert token[:10] not in listing
