"""Hostile recordings that pass the upload check, scored by a real Celery worker.

Silence, noise and a header that lies about the length must never produce a
transcript: the answer fails with a no-speech message and can be recorded
again. A file longer than MAX_AUDIO_SECONDS fails once decoding passes the limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import db
from assessments.models import Response
from recruit.models import Opening
from tests.assessments.test_flow import post_audio, start
from tests.conftest import build_app, log_in, make_user
from tests.factories import language_opening
from tests.hostile import media

pytestmark = pytest.mark.slow

MAX_AUDIO_SECONDS = 60
WAIT_S = 240


@pytest.fixture
def worker_app(tmp_path: Path) -> Iterator[Flask]:
    app = build_app(
        tmp_path,
        CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        MAX_AUDIO_SECONDS=MAX_AUDIO_SECONDS,
    )
    with app.app_context():
        make_user("cand@example.com", "candidate")
        language_opening()
    with start_worker(app.extensions["celery"], pool="solo", perform_ping_check=False):
        yield app
    with app.app_context():
        db.engine.dispose()


def upload_and_wait(
    client: FlaskClient, attempt_id: int, item_id: int, payload: bytes, name: str
) -> dict:
    """Upload a recording, wait for the worker, return the candidate's view of it."""
    mime_type = {"wav": "audio/wav", "webm": "audio/webm"}[name.rsplit(".", 1)[1]]
    uploaded = post_audio(client, attempt_id, item_id, payload, name, mime_type)
    assert uploaded.status_code == 201, uploaded.json
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        state = client.get(f"/attempts/{attempt_id}/status").json["items"]
        if state[str(item_id)]["status"] in ("failed", "scored"):
            return state[str(item_id)]
        time.sleep(0.5)
    pytest.fail(f"{name} was not scored within {WAIT_S} s")


def stored_evidence(app: Flask, response_id: int) -> list[dict]:
    """Return the evidence of every score stored for a response."""
    with app.app_context():
        return [
            score.evidence for score in db.session.get(Response, response_id).scores
        ]


def test_no_transcript_invented_for_hostile_audio(
    worker_app: Flask, tmp_path: Path
) -> None:
    client = worker_app.test_client()
    log_in(client, "cand@example.com")
    with worker_app.app_context():
        attempt_id, items = start(client, db.session.scalar(select(Opening.id)))
    open_item = items[2]
    two_hours = media.streamed_opus_silence(tmp_path / "two-hours.webm", 2 * 3600)

    # Each failed recording is recorded again on the same task.
    no_speech = {
        "30 s of silence": (media.silence_wav(30), "silence.wav"),
        "30 s of white noise": (media.white_noise_wav(30), "noise.wav"),
        "wav header claiming 2 hours": (
            media.wav_header_claiming(2 * 3600),
            "claim.wav",
        ),
    }
    for case, (payload, name) in no_speech.items():
        state = upload_and_wait(client, attempt_id, open_item, payload, name)
        assert state["status"] == "failed", case
        assert "No speech was heard" in state["error"], case
        assert stored_evidence(worker_app, state["id"]) == [], case  # no transcript

    state = upload_and_wait(
        client, attempt_id, open_item, two_hours.read_bytes(), "long.webm"
    )
    assert state["status"] == "failed"
    assert f"longer than the maximum of {MAX_AUDIO_SECONDS} s" in state["error"]
    assert "Traceback" not in state["error"]

    state = upload_and_wait(
        client, attempt_id, open_item, media.JFK_WAV.read_bytes(), "renamed.webm"
    )
    assert state["status"] == "scored"
    [evidence] = stored_evidence(worker_app, state["id"])
    transcript = evidence["transcript"].lower()
    assert "ask not what your country can do for you" in transcript

    half = media.JFK_WEBM.read_bytes()
    state = upload_and_wait(
        client, attempt_id, items[1], half[: len(half) // 2], "half.webm"
    )
    assert state["status"] == "scored"
    [evidence] = stored_evidence(worker_app, state["id"])
    assert "fellow americans" in evidence["transcript"].lower()
    # The second half of the sentence was cut off; nothing completes it.
    assert "for your country" not in evidence["transcript"].lower()
    assert evidence["duration_s"] < 6
