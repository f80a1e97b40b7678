"""Taking an assessment: attempts, autosaved drafts, submissions, queued scoring."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from blinker import Namespace
from flask import current_app
from flask_babel import gettext as _
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
from assessments.storage import (
    FORMAT_EXTENSIONS,
    extension_for,
    get_storage,
    is_audio_upload,
    mime_type_for,
)
from scoring.audio import probe_audio
from scoring.errors import AudioError

log = logging.getLogger(__name__)

_signals = Namespace()
# Sent with the Response after it is scored or has failed for good.
response_finished = _signals.signal("response-finished")

# Recordings shorter than this, in seconds, are rejected at upload: a file cut
# off after its header states a length of a few milliseconds.
MIN_RECORDING_S = 0.5

# Answers that arrive this long after the time limit are still accepted and
# marked late, because an answer sent in time can take a moment to arrive.
# Later answers are rejected.
LATE_GRACE = timedelta(seconds=30)


class AssessmentError(Exception):
    """A request the assessment flow rejects, with a message for the candidate."""

    status_code = 400


class AlreadySubmitted(AssessmentError):
    status_code = 409


class AnswerInvalid(AssessmentError):
    status_code = 400


class TimeUp(AssessmentError):
    """An answer that arrived after the time limit and its grace."""

    status_code = 409


def deadline(attempt: Attempt) -> datetime | None:
    """Return when the attempt's time limit ends, or None for an untimed test."""
    limit = attempt.assessment.time_limit_s
    return attempt.started_at + timedelta(seconds=limit) if limit else None


def time_is_up(attempt: Attempt, now: datetime | None = None) -> bool:
    """Return whether the time limit and its grace have passed."""
    end = deadline(attempt)
    return end is not None and (now or utcnow()) > end + LATE_GRACE


def check_time(attempt: Attempt) -> None:
    """Raise TimeUp when the attempt's time is up, with the time it ended."""
    end = deadline(attempt)
    if end is not None and time_is_up(attempt):
        raise TimeUp(
            _(
                "The time for this test ran out at %(time)s UTC, so this answer was "
                "not accepted. Answers saved before then were submitted.",
                time=end.strftime("%H:%M"),
            )
        )


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
        raise AnswerInvalid(_("This task is not part of this assessment."))
    response = attempt.response_for(item)
    if response is None:
        response = Response(attempt=attempt, item=item, status=ResponseStatus.DRAFT)
        db.session.add(response)
    return response


def _ensure_open(response: Response) -> None:
    # A failed audio answer may be recorded again; any other submission is final.
    if response.status not in (ResponseStatus.DRAFT, ResponseStatus.FAILED):
        raise AlreadySubmitted(
            _("This answer was already submitted and cannot be changed.")
        )


@contextmanager
def _one_writer() -> Iterator[None]:
    """Apply and commit the changes of one answer; a tab that saved it first wins.

    Two first saves of one answer both insert a row, and the unique constraint
    rejects the second, at the flush or at the commit.
    """
    try:
        yield
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AlreadySubmitted(
            _("This answer was just saved from another tab. Reload the page.")
        ) from None


# C0 control characters other than tab, newline and carriage return, and DEL.
# They carry no meaning in a typed answer, and PostgreSQL rejects NUL in text.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_control_characters(text: str) -> str:
    """Remove control characters that no keyboard types into an answer."""
    return _CONTROL_CHARACTERS.sub("", text)


def _clean_text(text: str) -> str:
    limit = current_app.config["MAX_TEXT_CHARS"]
    if len(text) > limit:
        raise AnswerInvalid(
            _(
                "The answer is %(length)s characters long; the limit is %(limit)s.",
                length=f"{len(text):,}",
                limit=f"{limit:,}",
            )
        )
    return strip_control_characters(text)


def save_draft(attempt: Attempt, item: Item, text: str) -> Response:
    """Autosave typed text; a submitted answer is never overwritten."""
    check_time(attempt)
    text = _clean_text(text)
    with _one_writer():
        response = _response(attempt, item)
        _ensure_open(response)
        response.text = text
        response.status = ResponseStatus.DRAFT
    return response


def submit_text(attempt: Attempt, item: Item, text: str) -> Response:
    """Store a typed answer as final, then queue its scoring."""
    check_time(attempt)
    text = _clean_text(text)
    if not text.strip():
        raise AnswerInvalid(
            _("The answer is empty. Write your reply before submitting.")
        )
    return submit_final(attempt, item, text)


def submit_final(
    attempt: Attempt, item: Item, text: str, at: datetime | None = None
) -> Response:
    """Store ``text`` as the final answer, even an empty one, then queue scoring.

    For answers the candidate can no longer change, such as a typing test
    whose tries are used up or a draft submitted when the time ran out;
    ``submit_text`` is the candidate's own submission. ``at`` is the time of
    submission, by default now. The time limit is not checked.
    """
    with _one_writer():
        response = _response(attempt, item)
        _ensure_open(response)
        response.text = text
        _mark_submitted(attempt, response, at)
    queue_scoring(response)
    return response


def submit_audio(
    attempt: Attempt,
    item: Item,
    stream: IO[bytes],
    filename: str | None,
    content_type: str | None,
) -> Response:
    """Store an uploaded recording on disk and in the database, then queue scoring.

    A file that is empty, not audio, unreadable or longer than allowed is
    rejected at once with the reason, and nothing of it is kept.
    """
    check_time(attempt)
    if item_type(item).answer != "audio":
        raise AnswerInvalid(_("This task takes a written answer, not a recording."))
    if not is_audio_upload(filename, content_type):
        raise AnswerInvalid(
            _(
                "This file is not a recording. Upload an audio file such as "
                "WebM, Ogg, WAV, MP3, M4A or FLAC."
            )
        )
    response = _response(attempt, item)
    _ensure_open(response)
    storage = get_storage()
    key, size = storage.save(
        stream, f"responses/{attempt.id}", extension_for(filename, content_type)
    )
    try:
        source_format = _check_recording(storage.path(key), size, item)
    except AnswerInvalid:
        storage.delete(key)
        raise
    # A WAV file named .webm is stored as .wav, so that it is served as audio/wav.
    if source_format in FORMAT_EXTENSIONS:
        key = storage.with_extension(key, FORMAT_EXTENSIONS[source_format])
    try:
        with _one_writer():
            response.audio_key = key
            response.audio_bytes = size
            response.audio_content_type = mime_type_for(key)
            response.error = None
            _mark_submitted(attempt, response)
    except AlreadySubmitted:
        storage.delete(key)
        raise
    log.info("stored audio for response %s as %s (%d bytes)", response.id, key, size)
    queue_scoring(response)
    return response


def _check_recording(path: Path, size: int, item: Item) -> str:
    """Reject an empty, unreadable, too short or too long recording.

    Returns FFmpeg's name of the recording's container format.
    """
    if size == 0:
        raise AnswerInvalid(_("The recording is empty. Record your answer again."))
    try:
        probe = probe_audio(path)
    except AudioError:
        raise AnswerInvalid(
            _(
                "This file could not be read as audio. Record your answer again or "
                "upload another file."
            )
        ) from None
    if probe.duration_s is not None and probe.duration_s < MIN_RECORDING_S:
        raise AnswerInvalid(
            _(
                "The recording lasts %(seconds).1f s, too short to hold an answer. "
                "Record your answer again.",
                seconds=probe.duration_s,
            )
        )
    limit = max_recording_s(item)
    if probe.duration_s is not None and probe.duration_s > accepted_recording_s(item):
        raise AnswerInvalid(
            _(
                "The recording lasts %(seconds)d s; this task accepts up to "
                "%(limit)d s.",
                seconds=round(probe.duration_s),
                limit=round(limit),
            )
        )
    return probe.source_format


# The browser's recorder checks its timer every 250 ms and then stops, so a
# recording made there can run a moment past the item's maximum.
RECORDER_OVERRUN_S = 2.0


def max_recording_s(item: Item) -> float:
    """Return an item's maximum recording length in seconds.

    It is the item's ``max_seconds`` within the app's MAX_AUDIO_SECONDS, or that
    setting alone. The browser's recorder stops there and upload errors state it.
    """
    limit = float(current_app.config["MAX_AUDIO_SECONDS"])
    own = item.config.get("max_seconds")
    return min(limit, float(own)) if own else limit


def accepted_recording_s(item: Item) -> float:
    """Return the longest upload an item accepts: its maximum plus the overrun."""
    limit = float(current_app.config["MAX_AUDIO_SECONDS"])
    return min(limit, max_recording_s(item) + RECORDER_OVERRUN_S)


def _mark_submitted(
    attempt: Attempt, response: Response, at: datetime | None = None
) -> None:
    now = at or utcnow()
    response.status = ResponseStatus.SUBMITTED
    response.submitted_at = now
    response.queued_at = None
    end = deadline(attempt)
    if end is not None and now > end:
        response.late = True
    # A new response has no item_id until it is flushed.
    db.session.flush()
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
