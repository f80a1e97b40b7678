"""Celery tasks of the assessment flow; thin wrappers that take ids and reload."""

from __future__ import annotations

import logging
import random
import threading
import time

from celery import Task, shared_task
from flask import Flask

from app import DATABASE_UNAVAILABLE_ERRORS, db
from assessments import grading
from assessments.deadlines import close_expired_attempts
from assessments.services import requeue_unqueued
from scoring.errors import ScoringError

log = logging.getLogger(__name__)

MAX_RETRIES = 5
# Faults that a later try can get past: the database or a grammar server being down.
TRANSIENT_ERRORS = (*DATABASE_UNAVAILABLE_ERRORS, ScoringError)


def retry_delay(retries: int) -> float:
    """Seconds before the next try: exponential back-off with jitter, at most 5 min."""
    return min(300.0, 2.0 * 2**retries) * random.uniform(0.5, 1.0)  # noqa: S311


@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES
)
def score_response(self: Task, response_id: int) -> str:
    """Score one submitted response; running it again changes nothing."""
    try:
        return grading.score_response(response_id)
    except TRANSIENT_ERRORS as error:
        db.session.rollback()
        if self.request.retries >= MAX_RETRIES:
            log.error("giving up on response %s: %s", response_id, error)
            grading.fail(
                response_id, f"Scoring failed after {MAX_RETRIES + 1} tries: {error}"
            )
            return "failed"
        log.warning("scoring response %s failed, retrying: %s", response_id, error)
        raise self.retry(
            exc=error, countdown=retry_delay(self.request.retries)
        ) from error
    except Exception as error:
        db.session.rollback()
        log.exception("scoring response %s failed unexpectedly", response_id)
        grading.fail(response_id, f"Scoring failed: {type(error).__name__}: {error}")
        return "failed"


REQUEUE_INTERVAL_S = 300.0


def start_requeue_loop(
    flask_app: Flask, interval_s: float = REQUEUE_INTERVAL_S
) -> None:
    """Close timed-out attempts and requeue answers every ``interval_s``.

    The sweep runs now and then every ``interval_s`` in a daemon thread. It
    submits the drafts of attempts whose time ran out while nobody had the
    page open, and sends the answers that were stored while the broker was
    down.
    """

    def loop() -> None:
        while True:
            try:
                with flask_app.app_context():
                    close_expired_attempts()
                    requeue_unqueued()
            except Exception:  # noqa: BLE001 - the loop must outlive a bad round
                log.exception(
                    "requeue sweep failed; trying again in %.0f s", interval_s
                )
            time.sleep(interval_s)

    threading.Thread(target=loop, name="requeue-sweep", daemon=True).start()
