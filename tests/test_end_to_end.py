"""The language stage end to end: a candidate applies, writes and records real speech,
a real Celery worker scores the answers, and the recruiter sees the ranked evidence.

Runs twice: on SQLite with the SQLAlchemy broker (the embedded default), and on
PostgreSQL with Redis as the broker.
"""

from __future__ import annotations

import html
import io
import re
import time
import wave
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import jiwer
import pytest
from celery.contrib.testing.worker import start_worker
from flask import Flask
from flask.testing import FlaskClient
from whisper_normalizer.english import EnglishTextNormalizer

from app import db
from assessments.models import Attempt, AttemptStatus, Response, ResponseStatus
from assessments.services import start_attempt, submit_audio, submit_text
from recruit.models import Application, StageKind, User
from recruit.services import apply
from tests.conftest import (
    REDIS_URL,
    build_app,
    csrf_token,
    log_in,
    make_user,
    postgres_database,
    redis_queue,
)
from tests.factories import JFK_SENTENCE, language_opening

pytestmark = pytest.mark.slow

READ_ALOUD_CLIP = "speechocean762/011560068.wav"
READ_ALOUD_TEXT = "But if they cooperate, they may benefit from the situation."
OPEN_CLIP = "jfk_streamed_no_duration.webm"
REPLY = (
    "Dear Ms Carter, thank you for writing to us, and I am sorry that your parcel "
    "is late. I have checked your order and the carrier has it at the local depot. "
    "It will be delivered tomorrow before noon. I will send you the tracking link "
    "by email. Is there anything else I can help you with today?"
)
WAIT_S = 240


def word_error_rate(reference: str, hypothesis: str) -> float:
    normalise = EnglishTextNormalizer()
    return jiwer.wer(normalise(reference), normalise(hypothesis))


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def worker_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """An app with a real Celery worker thread on the chosen database and broker."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            config = {
                "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
                "CELERY_RESULT_BACKEND": f"db+sqlite:///{tmp_path / 'results.sqlite'}",
            }
        else:
            database_url = stack.enter_context(postgres_database())
            queue = stack.enter_context(redis_queue())
            config = {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "CELERY_BROKER_URL": REDIS_URL,
                "CELERY_RESULT_BACKEND": "cache+memory://",
            }
        app = build_app(tmp_path, **config)
        celery_app = app.extensions["celery"]
        if request.param == "postgresql":
            celery_app.conf.task_default_queue = queue
        stack.enter_context(
            start_worker(
                celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30
            )
        )
        yield app
        with app.app_context():
            db.engine.dispose()


def upload(client: FlaskClient, attempt_id: int, item_id: int, path: Path) -> None:
    response = client.post(
        f"/attempts/{attempt_id}/items/{item_id}/audio",
        data={"audio": (io.BytesIO(path.read_bytes()), path.name)},
        headers={"X-CSRFToken": csrf_token(client), "Accept": "application/json"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_data(as_text=True)


def wait_until_scored(client: FlaskClient, attempt_id: int) -> dict:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status = client.get(f"/attempts/{attempt_id}/status").json
        if status["attempt"] == "scored":
            return status
        time.sleep(0.5)
    pytest.fail(f"attempt {attempt_id} was not scored within {WAIT_S} s: {status}")


def test_language_stage_end_to_end(worker_app: Flask, test_data: Path) -> None:
    app = worker_app
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening_id = language_opening(read_aloud_text=READ_ALOUD_TEXT, min_words=40).id

    candidate = app.test_client()
    token = csrf_token(candidate, "/register")
    registered = candidate.post(
        "/register",
        data={
            "name": "Noor <script>alert(1)</script> Haddad",
            "email": "noor@example.com",
            "password": "a long password",
            "confirm": "a long password",
            "csrf_token": token,
        },
    )
    assert registered.status_code == 302
    assert "Chat agent" in candidate.get("/").get_data(as_text=True)

    applied = candidate.post(
        f"/openings/{opening_id}", data={"csrf_token": csrf_token(candidate)}
    )
    application_id = int(applied.location.rsplit("/", 1)[1])
    page = candidate.get(applied.location).get_data(as_text=True)
    assessment_id = int(re.search(r"/assessments/(\d+)", page).group(1))
    started = candidate.post(
        f"/me/applications/{application_id}/assessments/{assessment_id}",
        data={"csrf_token": csrf_token(candidate)},
    )
    attempt_id = int(started.location.rsplit("/", 1)[1])
    attempt_page = candidate.get(started.location).get_data(as_text=True)
    item_ids = [int(i) for i in re.findall(r'id="item-(\d+)"', attempt_page)]
    assert len(item_ids) == 3

    writing_id, read_aloud_id, open_id = item_ids
    submitted = candidate.post(
        f"/attempts/{attempt_id}/items/{writing_id}/text",
        data={
            f"item{writing_id}-answer": REPLY,
            f"item{writing_id}-submit": "Submit answer",
            "csrf_token": csrf_token(candidate),
        },
    )
    assert submitted.status_code == 302
    upload(candidate, attempt_id, read_aloud_id, test_data / "audio" / READ_ALOUD_CLIP)
    upload(candidate, attempt_id, open_id, test_data / "audio" / OPEN_CLIP)

    status = wait_until_scored(candidate, attempt_id)
    assert {item["status"] for item in status["items"].values()} == {"scored"}

    with app.app_context():
        responses = {r.item_id: r for r in db.session.query(Response)}
        assert all(r.status == ResponseStatus.SCORED for r in responses.values())
        writing = responses[writing_id].score
        assert writing.scorer == "writing"
        assert 0 <= writing.score <= 100
        assert writing.cefr in {"A1", "A2", "B1", "B2", "C1", "C2"}
        read_aloud = responses[read_aloud_id].score.evidence
        open_answer = responses[open_id].score.evidence
        assert word_error_rate(READ_ALOUD_TEXT, read_aloud["transcript"]) <= 0.15
        assert word_error_rate(JFK_SENTENCE, open_answer["transcript"]) <= 0.15
        assert read_aloud["read_aloud_accuracy"] >= 0.85
        assert open_answer["read_aloud_accuracy"] is None
        application = db.session.get(Application, application_id)
        assert application.composite_score is not None
        assert application.language_score == application.composite_score
        assert application.language_cefr is not None

    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    ranking = recruiter.get(f"/recruit/openings/{opening_id}").get_data(as_text=True)
    assert "Noor &lt;script&gt;alert(1)&lt;/script&gt; Haddad" in ranking
    assert "<script>alert(1)</script>" not in ranking
    evidence = html.unescape(
        recruiter.get(f"/recruit/applications/{application_id}").get_data(as_text=True)
    )
    assert "fellow Americans" in evidence
    assert "cooperate" in evidence
    assert "words_per_minute" in evidence
    audio = recruiter.get(f"/recruit/responses/{responses[open_id].id}/audio")
    assert audio.status_code == 200
    assert audio.data == (test_data / "audio" / OPEN_CLIP).read_bytes()
    assert candidate.get(f"/recruit/applications/{application_id}").status_code == 403


def test_failed_recording_can_be_recorded_again(
    tmp_path: Path, test_data: Path
) -> None:
    """A recording that fails in the worker gets a clear message and a second try.

    The streamed WebM states no duration, so the upload is accepted and only the
    worker's decode finds it longer than the limit.
    """
    app = build_app(
        tmp_path,
        CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        MAX_AUDIO_SECONDS=8,
    )
    with app.app_context():
        make_user("cand@example.com", "candidate")
        opening_id = language_opening().id
    client = app.test_client()
    log_in(client, "cand@example.com")
    token = csrf_token(client)
    applied = client.post(f"/openings/{opening_id}", data={"csrf_token": token})
    page = client.get(applied.location).get_data(as_text=True)
    start_url = re.search(
        r'action="(/me/applications/\d+/assessments/\d+)"', page
    ).group(1)
    attempt_url = client.post(start_url, data={"csrf_token": token}).location
    attempt_id = int(attempt_url.rsplit("/", 1)[1])
    attempt_page = client.get(attempt_url).get_data(as_text=True)
    item_ids = [int(i) for i in re.findall(r'id="item-(\d+)"', attempt_page)]

    with start_worker(app.extensions["celery"], pool="solo", perform_ping_check=False):
        upload(client, attempt_id, item_ids[1], test_data / "audio" / OPEN_CLIP)
        state = wait_for_item(client, attempt_id, item_ids[1])
        assert state["status"] == "failed"
        assert "longer than" in state["error"] or "maximum" in state["error"]
        assert ".webm" not in state["error"]  # no stored file name
        assert "Traceback" not in state["error"]
        overview = client.get(applied.location).get_data(as_text=True)
        assert "could not be assessed and must be given again" in overview

        upload(client, attempt_id, item_ids[1], test_data / "audio" / READ_ALOUD_CLIP)
        state = wait_for_item(client, attempt_id, item_ids[1])
    assert state["status"] == "scored"


def wait_for_item(client: FlaskClient, attempt_id: int, item_id: int) -> dict:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        states = client.get(f"/attempts/{attempt_id}/status").json["items"]
        state = states[str(item_id)]
        if state["status"] in ("failed", "scored"):
            return state
        time.sleep(0.5)
    pytest.fail(f"item {item_id} was not scored within {WAIT_S} s: {state}")


def test_silent_recording_asks_to_record_again(tmp_path: Path) -> None:
    """A recording without speech fails with advice, never with a transcript."""
    app = build_app(
        tmp_path, CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    )
    with app.app_context():
        make_user("cand@example.com", "candidate")
        opening = language_opening()
        item = opening.stage(StageKind.LANGUAGE).assessments[0].items[2]
        application = apply(db.session.get(User, 1), opening)
        attempt = start_attempt(application.id, item.assessment)
        silence = tmp_path / "silence.wav"
        with wave.open(str(silence), "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(16_000)
            writer.writeframes(b"\x00\x00" * 16_000 * 8)
        with start_worker(
            app.extensions["celery"], pool="solo", perform_ping_check=False
        ):
            with open(silence, "rb") as handle:
                response = submit_audio(
                    attempt, item, handle, "silence.wav", "audio/wav"
                )
            response_id = response.id
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                db.session.expire_all()
                response = db.session.get(Response, response_id)
                if response.status in (ResponseStatus.FAILED, ResponseStatus.SCORED):
                    break
                time.sleep(0.5)
        assert response.status == ResponseStatus.FAILED
        assert "No speech was heard" in response.error
        assert response.scores == []


def test_two_answers_scored_by_two_threads(tmp_path: Path, test_data: Path) -> None:
    """Two answers scored by a worker with two threads both count in the stage."""
    app = build_app(
        tmp_path, CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    )
    with app.app_context():
        make_user("cand@example.com", "candidate")
        opening = language_opening(read_aloud_text=READ_ALOUD_TEXT)
        assessment = opening.stage(StageKind.LANGUAGE).assessments[0]
        application = apply(db.session.get(User, 1), opening)
        application_id = application.id
        attempt = start_attempt(application.id, assessment)
        writing, read_aloud, open_answer = assessment.items
        submit_text(attempt, writing, REPLY)
        clips = {read_aloud: READ_ALOUD_CLIP, open_answer: READ_ALOUD_CLIP}
        with start_worker(
            app.extensions["celery"],
            pool="threads",
            concurrency=2,
            perform_ping_check=False,
        ):
            for item, clip in clips.items():
                with open(test_data / "audio" / clip, "rb") as handle:
                    submit_audio(attempt, item, handle, clip, None)
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                db.session.expire_all()
                if db.session.get(Attempt, attempt.id).status == AttemptStatus.SCORED:
                    break
                time.sleep(0.5)
        db.session.expire_all()
        application = db.session.get(Application, application_id)
        scores = {
            r.item_id: r.score.score
            for r in db.session.get(Attempt, attempt.id).responses
        }
        speaking = (scores[read_aloud.id] + scores[open_answer.id]) / 2
        result = application.stage_results[0]
        assert result.complete is True
        assert result.details["en"]["speaking"] == round(speaking, 1)
        assert result.details["en"]["writing"] == scores[writing.id]
