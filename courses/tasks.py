"""Celery tasks of the courses: certificates and quiz deadlines.

Tasks take ids, reload the rows and are idempotent: a certificate task run
twice issues one certificate, and a deadline task for a submitted attempt does
nothing.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task

from app import DATABASE_UNAVAILABLE_ERRORS, RETRY_ON_DATABASE_OUTAGE, db
from courses.models import Enrolment, QuizAttempt

log = logging.getLogger(__name__)

MAX_RETRIES = 5


@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES
)
def issue_certificate_task(self: Task, enrolment_id: int) -> str:
    """Issue an enrolment's certificate if the course is still complete."""
    from courses.issuing import issue_certificate

    try:
        enrolment = db.session.get(Enrolment, enrolment_id)
        if enrolment is None:
            return "missing"
        certificate = issue_certificate(enrolment)
    except DATABASE_UNAVAILABLE_ERRORS as error:
        db.session.rollback()
        log.warning(
            "certificate for enrolment %s failed, retrying: %s", enrolment_id, error
        )
        raise self.retry(exc=error, countdown=2 * 2**self.request.retries) from error
    return certificate.code if certificate else "not complete"


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY_ON_DATABASE_OUTAGE)
def close_attempt_at_deadline(attempt_id: int) -> str:
    """Submit a quiz attempt whose deadline has passed, with its saved answers."""
    from courses.quizzes import close_if_expired

    attempt = db.session.get(QuizAttempt, attempt_id)
    if attempt is None:
        return "missing"
    return "closed" if close_if_expired(attempt) else "open or done"


@shared_task(acks_late=True, **RETRY_ON_DATABASE_OUTAGE)
def close_expired_attempts_task() -> int:
    from courses.quizzes import close_expired_attempts

    return close_expired_attempts()


def _send(task: Task, *args: object, **options: object) -> bool:
    try:
        task.apply_async(args=list(args), retry=False, **options)
    except Exception:  # noqa: BLE001 - a broker fault must not fail the request
        log.exception("could not queue %s%r", task.name, args)
        return False
    return True


def queue_certificate(enrolment_id: int) -> bool:
    """Queue the certificate after the completion is committed.

    NOTE: when the broker is down the certificate is not queued; the admin's
    bulk issue for the course picks up completed enrolments without one.
    """
    return _send(issue_certificate_task, enrolment_id)


def queue_deadline(attempt: QuizAttempt) -> bool:
    """Queue the attempt's closing for its deadline.

    Opening the attempt after the deadline, and the sweep, close it as well.
    """
    return _send(close_attempt_at_deadline, attempt.id, eta=attempt.deadline)
