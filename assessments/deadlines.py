"""Closing timed attempts whose time is up: drafts submitted, the rest scored 0.

An attempt is closed on the candidate's next request (``views.own_attempt``)
or by the periodic sweep (``close_expired_attempts``), whichever comes first.
Closing submits every saved draft as it was saved, ends a simulated chat
still under way, records a typing try under way as timed out, and scores each
item without an answer 0, so the stage can complete.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from app import db, utcnow
from assessments.items import item_type
from assessments.models import (
    Assessment,
    Attempt,
    AttemptStatus,
    Item,
    Response,
    ResponseStatus,
    Score,
    SimulationStatus,
)
from assessments.services import (
    LATE_GRACE,
    deadline,
    submit_final,
    time_is_up,
)

log = logging.getLogger(__name__)

UNANSWERED_SCORER = "unanswered"
UNANSWERED_VERSION = "1"


def close_expired(attempt: Attempt) -> bool:
    """Close ``attempt`` if its time and grace have passed; return whether it did.

    An untimed attempt, one with time left and one that is no longer in
    progress are left alone.
    """
    end = deadline(attempt)
    if (
        end is None
        or attempt.status != AttemptStatus.IN_PROGRESS
        or not time_is_up(attempt)
    ):
        return False
    unanswered: list[Response] = []
    for item in attempt.assessment.items:
        response = attempt.response_for(item)
        if response is not None and response.status != ResponseStatus.DRAFT:
            continue
        if _submit_saved_work(attempt, item, response):
            continue
        unanswered.append(_score_unanswered(attempt, item, response))
    if attempt.status == AttemptStatus.IN_PROGRESS:
        attempt.status = AttemptStatus.SUBMITTED
        attempt.submitted_at = end
    db.session.commit()
    log.info(
        "attempt %s closed at its time limit: %d items unanswered",
        attempt.id,
        len(unanswered),
    )
    if unanswered:
        from assessments.grading import finish

        finish(unanswered[-1])
    return True


def _submit_saved_work(attempt: Attempt, item: Item, response: Response | None) -> bool:
    """Submit the item's saved work; return False when the server has none."""
    answer = item_type(item).answer
    if answer == "chat":
        return _end_chat(attempt, item)
    if answer == "typing":
        _stop_typing(attempt, item)
        return False
    if response is None or not (response.text or "").strip():
        return False
    # The draft counts as submitted when it was last saved, before the limit.
    submit_final(attempt, item, response.text or "", at=response.updated_at)
    return True


def _end_chat(attempt: Attempt, item: Item) -> bool:
    from assessments.simulation import end_run, find_run

    run = find_run(attempt, item)
    if run is None:
        return False
    if run.status == SimulationStatus.ACTIVE:
        end_run(run, "time_limit", at=deadline(attempt))
    return True


def _stop_typing(attempt: Attempt, item: Item) -> None:
    """Record a typing try still under way at the limit as timed out."""
    from assessments.typing_test import find_session, is_running, recorded_tries

    session = find_session(attempt, item)
    if not is_running(session):
        return
    assert session is not None
    end = deadline(attempt)
    assert end is not None
    tries = [
        *recorded_tries(session),
        {
            "started_at": session.started_at.isoformat(),
            "ended_at": end.isoformat(),
            "server_seconds": round((end - session.started_at).total_seconds(), 2),
            "outcome": "timed_out",
            "reason": "time_limit",
        },
    ]
    session.data = {**session.data, "running": False, "tries": tries}


def _score_unanswered(
    attempt: Attempt, item: Item, response: Response | None
) -> Response:
    """Store a score of 0 for an item left without an answer at the time limit."""
    score = Score(
        scorer=UNANSWERED_SCORER,
        scorer_version=UNANSWERED_VERSION,
        score=0.0,
        subscores={},
        evidence={"unanswered": True, "reason": "time_limit"},
    )
    # No flush may come between the status and its submission time.
    with db.session.no_autoflush:
        if response is None:
            response = Response(attempt=attempt, item=item)
            db.session.add(response)
        response.submitted_at = deadline(attempt)
        response.status = ResponseStatus.SCORED
        response.scores = [score]
    return response


def close_expired_attempts() -> int:
    """Close every timed attempt in progress whose time is up; return how many."""
    now = utcnow()
    candidates = db.session.scalars(
        select(Attempt)
        .join(Assessment, Attempt.assessment_id == Assessment.id)
        .where(
            Attempt.status == AttemptStatus.IN_PROGRESS,
            Assessment.time_limit_s.is_not(None),
            Attempt.started_at < now - LATE_GRACE - timedelta(seconds=1),
        )
    ).all()
    closed = 0
    for attempt in candidates:
        try:
            closed += close_expired(attempt)
        except Exception:  # noqa: BLE001 - one bad attempt must not stop the sweep
            db.session.rollback()
            log.exception("closing expired attempt %s failed", attempt.id)
    if closed:
        log.info("closed %d attempts whose time ran out", closed)
    return closed
