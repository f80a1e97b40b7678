"""Taking an assessment: attempts, autosaved drafts, submissions, queued scoring."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import IO

from blinker import Namespace
from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from app import db, utcnow
from assessments.items import item_type
from assessments.models import (
    Assessment,
    Attempt,
    AttemptStatus,
    Item,
    Response,
    ResponseStatus,
)
from assessments.storage import extension_for, get_storage

log = logging.getLogger(__name__)

_signals = Namespace()
# Sent with the Response after it is scored or has failed for good.
response_finished = _signals.signal("response-finished")

# Submissions this long after the time limit are still kept, but marked late.
LATE_GRACE = timedelta(seconds=30)


class AssessmentError(Exception):
    """A request the assessment flow rejects, with a message for the candidate."""

    status_code = 400


class AlreadySubmitted(AssessmentError):
    status_code = 409


class AnswerInvalid(AssessmentError):
    status_code = 400


def start_attempt(application_id: int, assessment: Assessment) -> Attempt:
    """Return the application's attempt at ``assessment``, creating it once."""
    attempt = _find_attempt(application_id, assessment.id)
    if attempt:
        return attempt
    attempt = Attempt(application_id=application_id, assessment_id=assessment.id)
    db.session.add(attempt)
    try:
        db.session.commit()
    except IntegrityError:  # a second tab started the same attempt first
        db.session.rollback()
        attempt = _find_attempt(application_id, assessment.id)
        assert attempt is not None
    return attempt


def _find_attempt(application_id: int, assessment_id: int) -> Attempt | None:
    return db.session.scalar(
        select(Attempt).filter_by(
            application_id=application_id, assessment_id=assessment_id
        )
    )


def _response(attempt: Attempt, item: Item) -> Response:
    if item.assessment_id != attempt.assessment_id:
        raise AnswerInvalid(f"item {item.id} is not part of this assessment")
    response = attempt.response_for(item)
    if response is None:
        response = Response(attempt=attempt, item=item, status=ResponseStatus.DRAFT)
        db.session.add(response)
    return response


def _ensure_open(response: Response) -> None:
    # A failed audio answer may be recorded again; any other submission is final.
    if response.status not in (ResponseStatus.DRAFT, ResponseStatus.FAILED):
        raise AlreadySubmitted(
            "This answer was already submitted and cannot be changed."
        )


def _clean_text(text: str) -> str:
    limit = current_app.config["MAX_TEXT_CHARS"]
    if len(text) > limit:
        raise AnswerInvalid(
            f"The answer is {len(text):,} characters long; the limit is {limit:,}."
        )
    return text.replace("\x00", "")


def save_draft(attempt: Attempt, item: Item, text: str) -> Response:
    """Autosave typed text; a submitted answer is never overwritten."""
    response = _response(attempt, item)
    _ensure_open(response)
    response.text = _clean_text(text)
    response.status = ResponseStatus.DRAFT
    db.session.commit()
    return response


def submit_text(attempt: Attempt, item: Item, text: str) -> Response:
    """Store a typed answer as final, then queue its scoring."""
    response = _response(attempt, item)
    _ensure_open(response)
    text = _clean_text(text)
    if not text.strip():
        raise AnswerInvalid("The answer is empty. Write your reply before submitting.")
    response.text = text
    _mark_submitted(attempt, response)
    db.session.commit()
    queue_scoring(response)
    return response


def submit_audio(
    attempt: Attempt,
    item: Item,
    stream: IO[bytes],
    filename: str | None,
    content_type: str | None,
) -> Response:
    """Store an uploaded recording on disk and in the database, then queue scoring."""
    if item_type(item).answer != "audio":
        raise AnswerInvalid("This task takes a written answer, not a recording.")
    response = _response(attempt, item)
    _ensure_open(response)
    key, size = get_storage().save(
        stream, f"responses/{attempt.id}", extension_for(filename, content_type)
    )
    if size == 0:
        raise AnswerInvalid("The recording is empty. Record your answer again.")
    response.audio_key = key
    response.audio_bytes = size
    response.audio_content_type = (content_type or "")[:100] or None
    response.error = None
    _mark_submitted(attempt, response)
    db.session.commit()
    log.info("stored audio for response %s as %s (%d bytes)", response.id, key, size)
    queue_scoring(response)
    return response


def _mark_submitted(attempt: Attempt, response: Response) -> None:
    now = utcnow()
    response.status = ResponseStatus.SUBMITTED
    response.submitted_at = now
    response.queued_at = None
    limit = attempt.assessment.time_limit_s
    if (
        limit is not None
        and now > attempt.started_at + timedelta(seconds=limit) + LATE_GRACE
    ):
        response.late = True
    answered = {
        r.item_id for r in attempt.responses if r.status != ResponseStatus.DRAFT
    }
    if all(i.id in answered for i in attempt.assessment.items):
        attempt.status = AttemptStatus.SUBMITTED
        attempt.submitted_at = now


def queue_scoring(response: Response) -> bool:
    """Send the scoring task after the answer is committed.

    When the broker cannot be reached the answer stays stored with an empty
    ``queued_at``, and ``requeue_unqueued`` sends it later.
    """
    from assessments.tasks import score_response

    try:
        score_response.apply_async(args=[response.id], retry=False)
    except Exception:  # noqa: BLE001 - any broker failure leaves the answer for the sweep
        log.exception(
            "could not queue scoring of response %s; it will be retried", response.id
        )
        return False
    response.queued_at = utcnow()
    db.session.commit()
    return True


def requeue_unqueued(stale_after: timedelta = timedelta(minutes=15)) -> int:
    """Queue submitted answers whose task never reached the broker or went stale."""
    cutoff = utcnow() - stale_after
    responses = db.session.scalars(
        select(Response).where(
            Response.status.in_([ResponseStatus.SUBMITTED, ResponseStatus.PROCESSING]),
            or_(Response.queued_at.is_(None), Response.queued_at < cutoff),
        )
    ).all()
    queued = sum(queue_scoring(response) for response in responses)
    if responses:
        log.info("requeued %d of %d waiting responses", queued, len(responses))
    return queued
