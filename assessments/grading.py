"""Worker-side scoring of one response: idempotent, safe to run twice."""

from __future__ import annotations

import logging
from statistics import fmean

from sqlalchemy import column, select, table, update
from sqlalchemy.exc import IntegrityError

from app import db
from assessments.items import ScoreOutcome, item_type
from assessments.models import Attempt, AttemptStatus, Response, ResponseStatus, Score
from assessments.services import response_finished
from scoring.errors import AudioError, ScoringError, UnsupportedLanguageError

log = logging.getLogger(__name__)

# Errors that no retry can fix: the answer itself cannot be scored.
PERMANENT_ERRORS = (AudioError, UnsupportedLanguageError, LookupError, ValueError)


def score_response(response_id: int) -> str:
    """Score one response and store the result; return what happened.

    A response already scored or failed is left alone, so a task delivered twice
    stores exactly one score. Transient errors propagate for Celery to retry.
    """
    response = db.session.get(Response, response_id)
    if response is None:
        log.warning("response %s no longer exists; nothing to score", response_id)
        return "missing"
    if response.status in (ResponseStatus.SCORED, ResponseStatus.FAILED):
        log.info("response %s is already %s", response_id, response.status.value)
        return "done"
    if response.status == ResponseStatus.DRAFT:
        log.warning(
            "response %s is a draft; scoring waits for its submission", response_id
        )
        return "draft"

    response.status = ResponseStatus.PROCESSING
    response.scoring_runs += 1
    db.session.commit()

    try:
        outcome = item_type(response.item).score(response)
    except PERMANENT_ERRORS as error:
        log.info("response %s cannot be scored: %s", response_id, error)
        mark_failed(response, str(error))
        return "failed"
    except ScoringError:
        # e.g. a grammar server that is down: put the answer back for the retry
        response.status = ResponseStatus.SUBMITTED
        db.session.commit()
        raise

    if not store_score(response, outcome):
        return "done"
    finish(response)
    return "scored"


def store_score(response: Response, outcome: ScoreOutcome) -> bool:
    """Insert or update the response's score; False if another run stored it first."""
    score = db.session.scalar(
        select(Score).filter_by(response_id=response.id, scorer=outcome.scorer)
    )
    if score is None:
        score = Score(response_id=response.id, scorer=outcome.scorer)
        db.session.add(score)
    score.scorer_version = outcome.version
    score.score = outcome.score
    score.cefr = outcome.cefr
    score.subscores = outcome.subscores
    score.evidence = outcome.evidence
    response.status = ResponseStatus.SCORED
    response.needs_review = outcome.needs_review
    response.error = None
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("response %s was scored by a concurrent run", response.id)
        return False
    return True


def mark_failed(response: Response, message: str) -> None:
    """Record that the response cannot be scored, with the reason for the recruiter."""
    response.status = ResponseStatus.FAILED
    response.error = message[:2000]
    db.session.commit()
    finish(response)


def fail(response_id: int, message: str) -> None:
    """Mark a response failed by id, unless a score was stored meanwhile."""
    response = db.session.get(Response, response_id)
    if response is not None and response.status != ResponseStatus.SCORED:
        mark_failed(response, message)


def finish(response: Response) -> None:
    """Close the attempt once every answer is final, then tell the listeners.

    Two answers of one application can finish at the same moment in two
    workers. Each first locks the application's row, so the second waits for
    the first to commit and then reads both scores.
    """
    response_id = response.id
    application_id = response.attempt.application_id
    db.session.commit()
    lock_application(application_id)
    response = db.session.get(Response, response_id)
    attempt: Attempt = response.attempt
    scored = {
        r.item_id: r for r in attempt.responses if r.status == ResponseStatus.SCORED
    }
    if attempt.status != AttemptStatus.IN_PROGRESS and all(
        item.id in scored for item in attempt.assessment.items
    ):
        scores = [
            r.score.score
            for r in scored.values()
            if r.score is not None and r.score.score is not None
        ]
        attempt.score = round(fmean(scores), 1) if scores else None
        attempt.status = AttemptStatus.SCORED
    response_finished.send(response)
    db.session.commit()


_application = table("application", column("id"))


def lock_application(application_id: int) -> None:
    """Start a transaction that holds the write lock on one application.

    An UPDATE that changes nothing takes a row lock on PostgreSQL and the
    database write lock on SQLite, where a SELECT ... FOR UPDATE does nothing.
    """
    db.session.execute(
        update(_application)
        .where(_application.c.id == application_id)
        .values(id=_application.c.id)
    )
