"""The candidate's test flow through the web client; tasks go to a memory broker."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import db
from assessments.models import Attempt, Response, ResponseStatus
from tests.conftest import csrf_token, log_in, make_user
from tests.factories import language_opening

JSON = {"Accept": "application/json"}


@pytest.fixture
def opening_id(app: Flask) -> int:
    with app.app_context():
        make_user("cand@example.com", "candidate", name="Cand One")
        make_user("other@example.com", "candidate", name="Cand Two")
        make_user("rec@example.com", "recruiter")
        return language_opening().id


def start(client: FlaskClient, opening_id: int) -> tuple[int, list[int]]:
    """Apply and open the language assessment; return the attempt and item ids."""
    token = csrf_token(client)
    applied = client.post(f"/openings/{opening_id}", data={"csrf_token": token})
    assert applied.status_code == 302
    application_id = int(applied.location.rsplit("/", 1)[1])
    from assessments.models import Assessment

    assessment = db.session.scalars(select(Assessment)).one()
    started = client.post(
        f"/me/applications/{application_id}/assessments/{assessment.id}",
        data={"csrf_token": token},
    )
    assert started.status_code == 302, started.get_data(as_text=True)
    attempt_id = int(started.location.rsplit("/", 1)[1])
    return attempt_id, [item.id for item in assessment.items]


def post_text(
    client: FlaskClient, attempt_id: int, item_id: int, text: str, final: bool
):
    data = {f"item{item_id}-answer": text, "csrf_token": csrf_token(client)}
    if final:
        data[f"item{item_id}-submit"] = "Submit answer"
    return client.post(f"/attempts/{attempt_id}/items/{item_id}/text", data=data)


def post_audio(
    client: FlaskClient, attempt_id: int, item_id: int, payload: bytes, name: str
):
    return client.post(
        f"/attempts/{attempt_id}/items/{item_id}/audio",
        data={"audio": (io.BytesIO(payload), name, "audio/webm")},
        headers={"X-CSRFToken": csrf_token(client), **JSON},
        content_type="multipart/form-data",
    )


def test_apply_twice_gives_one_application(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    token = csrf_token(client)
    first = client.post(f"/openings/{opening_id}", data={"csrf_token": token})
    second = client.post(f"/openings/{opening_id}", data={"csrf_token": token})
    assert first.location == second.location
    with app.app_context():
        from recruit.models import Application

        assert db.session.query(Application).count() == 1


def test_draft_autosaves_and_resumes(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    saved = client.post(
        f"/attempts/{attempt_id}/items/{items[0]}/text",
        data={f"item{items[0]}-answer": "Dear customer, half written"},
        headers={"X-CSRFToken": csrf_token(client), **JSON},
    )
    assert saved.status_code == 200
    assert saved.json["status"] == "draft"
    page = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "Dear customer, half written" in page


def test_submitted_text_is_final(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    assert (
        post_text(
            client, attempt_id, items[0], "My final reply.", final=True
        ).status_code
        == 302
    )
    again = client.post(
        f"/attempts/{attempt_id}/items/{items[0]}/text",
        data={
            f"item{items[0]}-answer": "A changed reply",
            f"item{items[0]}-submit": "x",
        },
        headers={"X-CSRFToken": csrf_token(client), **JSON},
    )
    assert again.status_code == 409
    assert "already submitted" in again.json["error"]
    with app.app_context():
        response = db.session.scalars(select(Response)).one()
        assert response.text == "My final reply."
        assert response.status == ResponseStatus.SUBMITTED
        assert response.submitted_at is not None
        assert response.queued_at is not None  # the memory broker took the task


def test_empty_submission_rejected(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    response = post_text(client, attempt_id, items[0], "   \n ", final=True)
    assert response.status_code == 400
    assert "The answer is empty" in response.get_data(as_text=True)


def test_oversized_text_keeps_what_was_typed(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    text = "word " * 5000 + "<b>tail</b>"
    response = post_text(client, attempt_id, items[0], text, final=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "the limit is 20,000" in page
    assert (
        "&lt;b&gt;tail&lt;/b&gt;" in page
    )  # the typed text is back in the form, escaped
    assert "<b>tail</b>" not in page


def test_other_candidate_gets_404(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    other = app.test_client()
    log_in(other, "other@example.com")
    assert other.get(f"/attempts/{attempt_id}").status_code == 404
    assert other.get(f"/attempts/{attempt_id}/status").status_code == 404
    assert (
        post_text(other, attempt_id, items[0], "hijack", final=True).status_code == 404
    )
    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    assert recruiter.get(f"/attempts/{attempt_id}").status_code == 404


def test_audio_stored_before_queueing(
    app: Flask, client: FlaskClient, opening_id: int, test_data: Path
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    payload = b"\x1aE\xdf\xa3" + b"\x00" * 2048
    response = post_audio(client, attempt_id, items[1], payload, "answer.webm")
    assert response.status_code == 201
    assert response.json["status"] == "submitted"
    with app.app_context():
        stored = db.session.get(Response, response.json["id"])
        assert stored.audio_key.endswith(".webm")
        path = Path(app.config["UPLOAD_DIR"]) / stored.audio_key
        assert path.read_bytes() == payload
        assert stored.audio_bytes == len(payload)
        assert stored.queued_at is not None


def test_audio_kept_when_broker_down(tmp_path: Path) -> None:
    """An answer submitted while the broker is unreachable is stored and sent later."""
    from tests.conftest import build_app

    app = build_app(tmp_path, CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    client = app.test_client()
    with app.app_context():
        make_user("cand@example.com", "candidate")
        opening_id = language_opening().id
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    response = post_audio(
        client, attempt_id, items[1], b"RIFF" + b"\x00" * 500, "a.wav"
    )
    assert response.status_code == 201
    with app.app_context():
        stored = db.session.get(Response, response.json["id"])
        assert stored.status == ResponseStatus.SUBMITTED
        assert stored.queued_at is None
        assert (Path(app.config["UPLOAD_DIR"]) / stored.audio_key).is_file()
        stored_id = stored.id
    # The broker comes back: the sweep, run by a process that reaches it, queues it.
    restarted = build_app(tmp_path, CELERY_BROKER_URL="memory://")
    with restarted.app_context():
        from assessments.services import requeue_unqueued

        assert requeue_unqueued() == 1
        assert db.session.get(Response, stored_id).queued_at is not None
        assert requeue_unqueued() == 0


def test_empty_upload_rejected(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    response = post_audio(client, attempt_id, items[1], b"", "empty.webm")
    assert response.status_code == 400
    assert "empty" in response.json["error"]


def test_audio_to_writing_item_rejected(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    response = post_audio(client, attempt_id, items[0], b"abc", "a.webm")
    assert response.status_code == 400
    assert "written answer" in response.json["error"]


def test_oversized_upload_clear_error(tmp_path: Path) -> None:
    from tests.conftest import build_app

    app = build_app(tmp_path, MAX_UPLOAD_MB=0.01)
    client = app.test_client()
    with app.app_context():
        make_user("cand@example.com", "candidate")
        opening_id = language_opening().id
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    response = post_audio(client, attempt_id, items[1], b"\x00" * 50_000, "big.webm")
    assert response.status_code == 413
    assert "0.01 MB limit" in response.json["error"]


def test_upload_without_csrf_header_rejected(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    response = client.post(
        f"/attempts/{attempt_id}/items/{items[1]}/audio",
        data={"audio": (io.BytesIO(b"abc"), "a.webm")},
        headers=JSON,
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.query(Response).count() == 0


def test_late_submission_kept_and_flagged(tmp_path: Path) -> None:
    from tests.conftest import build_app

    app = build_app(tmp_path)
    client = app.test_client()
    with app.app_context():
        make_user("cand@example.com", "candidate")
        opening_id = language_opening(time_limit_s=60).id
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
        attempt = db.session.get(Attempt, attempt_id)
        attempt.started_at = attempt.started_at - timedelta(hours=1)
        db.session.commit()
    assert (
        post_text(
            client, attempt_id, items[0], "Sorry for the wait.", final=True
        ).status_code
        == 302
    )
    with app.app_context():
        response = db.session.scalars(select(Response)).one()
        assert response.status == ResponseStatus.SUBMITTED
        assert response.late is True
    assert "late" in client.get(f"/attempts/{attempt_id}").get_data(as_text=True)


def test_later_stage_not_open_yet(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    from assessments.models import Assessment, Item
    from recruit.models import Opening, StageKind

    with app.app_context():
        opening = db.session.get(Opening, opening_id)
        later = Assessment(stage=opening.stage(StageKind.ATTITUDE), title="Later")
        later.items = [Item(kind="writing", prompt="Later task")]
        db.session.add(later)
        db.session.commit()
        later_id = later.id
    log_in(client, "cand@example.com")
    token = csrf_token(client)
    applied = client.post(f"/openings/{opening_id}", data={"csrf_token": token})
    application_id = int(applied.location.rsplit("/", 1)[1])
    response = client.post(
        f"/me/applications/{application_id}/assessments/{later_id}",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "opens after the earlier ones" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Attempt).count() == 0


def test_status_json_hides_scores(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    post_text(client, attempt_id, items[0], "My reply.", final=True)
    status = client.get(f"/attempts/{attempt_id}/status").json
    assert status["items"][str(items[0])]["status"] == "submitted"
    assert "score" not in str(status).replace("submitted", "")
