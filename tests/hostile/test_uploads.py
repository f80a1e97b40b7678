"""Hostile recordings uploaded through the web client, as the browser sends them.

Each refused upload gets a 4xx with a clear message, leaves no file and no
answer behind, and the candidate can record again at once. Each accepted one is
stored whole and queued. Scoring runs in test_scoring_worker.py.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import db
from assessments.models import Response, ResponseStatus
from assessments.storage import MIME_TYPES
from recruit.models import Opening
from tests.assessments.test_flow import post_audio, start, uploaded_files
from tests.conftest import build_app, csrf_token, log_in, make_user
from tests.factories import language_opening
from tests.hostile import media

MAX_AUDIO_SECONDS = 60
MAX_UPLOAD_MB = 10


@pytest.fixture
def limited_app(tmp_path: Path) -> Flask:
    """An app whose upload and duration limits are small, as configuration sets them."""
    app = build_app(
        tmp_path, MAX_AUDIO_SECONDS=MAX_AUDIO_SECONDS, MAX_UPLOAD_MB=MAX_UPLOAD_MB
    )
    with app.app_context():
        make_user("cand@example.com", "candidate")
        language_opening()
    return app


def open_speaking_item(app: Flask) -> tuple[FlaskClient, int, int]:
    """Log the candidate in, start the attempt; return the client and the open item."""
    client = app.test_client()
    log_in(client, "cand@example.com")
    with app.app_context():
        opening_id = db.session.scalar(select(Opening.id))
        attempt_id, items = start(client, opening_id)
    return client, attempt_id, items[2]


def cut(data: bytes, size: int | None = None) -> bytes:
    """Return ``data`` cut to ``size`` bytes, or to half its length."""
    return data[: size if size is not None else len(data) // 2]


def m4a_bytes() -> bytes:
    return (media.AUDIO / "so762_011560068.m4a").read_bytes()


def assert_nothing_stored_then_record_again(
    app: Flask, client: FlaskClient, attempt_id: int, item_id: int
) -> None:
    """Check that a refused upload left no file and no answer, then record again."""
    assert uploaded_files(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 0
    again = post_audio(
        client, attempt_id, item_id, media.JFK_WAV.read_bytes(), "a.wav", "audio/wav"
    )
    assert again.status_code == 201
    assert again.json["status"] == "submitted"
    assert len(uploaded_files(app)) == 1


HTML_PAGE = b"<!doctype html><html><body><script>alert(1)</script></body></html>"

# name -> (payload builder, file name, declared type, expected error fragment)
REFUSED: dict[str, tuple[Callable[[], bytes], str, str, str]] = {
    "empty file": (lambda: b"", "empty.webm", "audio/webm", "empty"),
    "webm cut to 100 bytes": (
        lambda: cut(media.JFK_WEBM.read_bytes(), 100),
        "a.webm",
        "audio/webm",
        "could not be read as audio",
    ),
    "ogg cut to 100 bytes": (
        lambda: cut(media.jfk_ogg(), 100),
        "a.ogg",
        "audio/ogg",
        "could not be read as audio",
    ),
    "mp3 cut to 100 bytes": (
        lambda: cut(media.JFK_MP3.read_bytes(), 100),
        "a.mp3",
        "audio/mpeg",
        "could not be read as audio",
    ),
    "wav cut to 100 bytes": (
        lambda: cut(media.JFK_WAV.read_bytes(), 100),
        "a.wav",
        "audio/wav",
        "too short to hold an answer",
    ),
    "m4a cut in half": (
        lambda: cut(m4a_bytes()),
        "a.m4a",
        "audio/mp4",
        "could not be read as audio",
    ),
    "html page named .webm": (
        lambda: HTML_PAGE,
        "page.webm",
        "audio/webm",
        "could not be read as audio",
    ),
    "html page with its own type": (
        lambda: HTML_PAGE,
        "page.html",
        "text/html",
        "not a recording",
    ),
    "plain text named .webm": (
        lambda: b"hello, this is not a recording\n" * 40,
        "notes.webm",
        "application/octet-stream",
        "could not be read as audio",
    ),
    "zip named .webm": (
        media.zip_bytes,
        "a.webm",
        "audio/webm",
        "could not be read as audio",
    ),
    "70 s of silence over the duration limit": (
        lambda: media.silence_wav(70, rate=8_000),
        "long.wav",
        "audio/wav",
        f"lasts 70 s; this task accepts up to {MAX_AUDIO_SECONDS} s",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_upload_leaves_nothing(limited_app: Flask, case: str) -> None:
    build, name, mime_type, fragment = REFUSED[case]
    client, attempt_id, item_id = open_speaking_item(limited_app)
    refused = post_audio(client, attempt_id, item_id, build(), name, mime_type)
    assert refused.status_code == 400
    assert fragment in refused.json["error"]
    assert "Traceback" not in refused.json["error"]
    assert_nothing_stored_then_record_again(limited_app, client, attempt_id, item_id)


# name -> (payload builder, file name, declared type, stored extension)
ACCEPTED: dict[str, tuple[Callable[[], bytes], str, str, str]] = {
    "webm cut in half": (
        lambda: cut(media.JFK_WEBM.read_bytes()),
        "a.webm",
        "audio/webm",
        "webm",
    ),
    "ogg cut in half": (lambda: cut(media.jfk_ogg()), "a.ogg", "audio/ogg", "ogg"),
    "mp3 cut in half": (
        lambda: cut(media.JFK_MP3.read_bytes()),
        "a.mp3",
        "audio/mpeg",
        "mp3",
    ),
    # Stored under the extension of what the file is, not what it is called.
    "wav named .webm": (
        lambda: media.JFK_WAV.read_bytes(),
        "a.webm",
        "audio/webm",
        "wav",
    ),
    "mp3 named .m4a": (
        lambda: media.JFK_MP3.read_bytes(),
        "a.m4a",
        "audio/mp4",
        "mp3",
    ),
    "384 kHz wav": (lambda: media.jfk_wav(384_000), "a.wav", "audio/wav", "wav"),
    "8 kHz wav": (lambda: media.jfk_wav(8_000), "a.wav", "audio/wav", "wav"),
    "mono wav": (lambda: media.jfk_wav(16_000, 1), "a.wav", "audio/wav", "wav"),
    "stereo wav": (lambda: media.jfk_wav(16_000, 2), "a.wav", "audio/wav", "wav"),
    "6-channel wav": (lambda: media.jfk_wav(16_000, 6), "a.wav", "audio/wav", "wav"),
    # FFmpeg measures the data that is there (1 s), not the header's claim.
    "wav header claiming 2 hours": (
        lambda: media.wav_header_claiming(2 * 3600),
        "long.wav",
        "audio/wav",
        "wav",
    ),
}


@pytest.mark.parametrize("case", ACCEPTED)
def test_decodable_upload_is_stored_whole(limited_app: Flask, case: str) -> None:
    build, name, mime_type, extension = ACCEPTED[case]
    payload = build()
    client, attempt_id, item_id = open_speaking_item(limited_app)
    stored = post_audio(client, attempt_id, item_id, payload, name, mime_type)
    assert stored.status_code == 201, stored.json
    assert stored.json["status"] == "submitted"
    files = uploaded_files(limited_app)
    assert len(files) == 1
    assert files[0].read_bytes() == payload
    assert files[0].suffix == f".{extension}"
    with limited_app.app_context():
        response = db.session.get(Response, stored.json["id"])
        assert response.status == ResponseStatus.SUBMITTED
        assert response.audio_bytes == len(payload)
        assert response.audio_content_type == MIME_TYPES[extension]


def test_upload_over_size_limit_is_413(limited_app: Flask) -> None:
    """The limit comes from MAX_UPLOAD_MB; JSON and the HTML form both get a reason."""
    client, attempt_id, item_id = open_speaking_item(limited_app)
    payload = media.wav_bytes(np.zeros(MAX_UPLOAD_MB * 1024 * 1024), 16_000)
    refused = post_audio(client, attempt_id, item_id, payload, "big.wav", "audio/wav")
    assert refused.status_code == 413
    assert (
        refused.json["error"]
        == f"The file is larger than the {MAX_UPLOAD_MB} MB limit."
    )

    form = client.post(
        f"/attempts/{attempt_id}/items/{item_id}/audio",
        data={
            "csrf_token": csrf_token(client),
            f"item{item_id}-audio": (io.BytesIO(payload), "big.wav", "audio/wav"),
        },
        content_type="multipart/form-data",
    )
    page = form.get_data(as_text=True)
    assert form.status_code == 413
    assert form.mimetype == "text/html"
    assert f"larger than the {MAX_UPLOAD_MB} MB limit" in page
    assert_nothing_stored_then_record_again(limited_app, client, attempt_id, item_id)
