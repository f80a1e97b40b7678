"""The typing test's flow: serving the passage, checking and storing the typing."""

from __future__ import annotations

import json
import logging
from statistics import median, pstdev
from typing import Any, NoReturn

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from app import db, utcnow
from assessments.models import Attempt, Item, ItemSession, Response, ResponseStatus
from assessments.services import (
    AlreadySubmitted,
    AnswerInvalid,
    check_time,
    submit_final,
    submit_text,
)
from scoring.typing import TypingRejected, check_typing

log = logging.getLogger(__name__)

# The page sends at most this many keystroke intervals; longer lists are cut.
MAX_INTERVALS = 20_000
# Retries after a rejected try, unless the item's ``config["max_retries"]`` says.
DEFAULT_MAX_RETRIES = 2


class TypingClosed(AnswerInvalid):
    """The last allowed try was rejected, so the test was submitted as it stood."""


def max_tries(item: Item) -> int:
    """Return how many tries the typing test allows: the first and the retries."""
    return 1 + int(item.config.get("max_retries", DEFAULT_MAX_RETRIES))


def recorded_tries(session: ItemSession | None) -> list[dict[str, Any]]:
    """Return every finished try at the typing test, oldest first."""
    return list(session.data.get("tries", [])) if session is not None else []


def is_running(session: ItemSession | None) -> bool:
    """Return whether a try is under way; sessions stored without the flag are."""
    return session is not None and bool(session.data.get("running", True))


def find_session(attempt: Attempt, item: Item) -> ItemSession | None:
    return db.session.scalar(
        select(ItemSession).filter_by(attempt_id=attempt.id, item_id=item.id)
    )


def start_typing(attempt: Attempt, item: Item) -> ItemSession:
    """Start the server's clock for a try at the typing test.

    A try under way keeps its clock. Raises AlreadySubmitted once the test is
    submitted, which also happens when the last allowed try is rejected.
    """
    check_time(attempt)
    response = attempt.response_for(item)
    if response is not None and response.status != ResponseStatus.DRAFT:
        raise AlreadySubmitted(_("Your typing test was already submitted."))
    session = find_session(attempt, item)
    if session is None:
        session = ItemSession(
            attempt_id=attempt.id, item_id=item.id, data={"running": True, "tries": []}
        )
        db.session.add(session)
    elif is_running(session):
        return session
    else:
        session.started_at = utcnow()
        session.data = {**session.data, "running": True}
    db.session.commit()
    return session


def parse_measurements(raw: str) -> dict[str, Any]:
    """Read the page's JSON: keystrokes, pastes, intervals (ms) and duration (ms)."""
    try:
        data = json.loads(raw) if raw else {}
    except (json.JSONDecodeError, RecursionError):  # a forged or damaged field
        data = {}
    if not isinstance(data, dict):
        data = {}
    intervals = data.get("intervals")
    if not isinstance(intervals, list):
        intervals = []
    return {
        "keystrokes": _count(data.get("keystrokes")),
        "pastes": _count(data.get("pastes")),
        "intervals": [
            float(v)
            for v in intervals[:MAX_INTERVALS]
            if isinstance(v, int | float) and 0 <= v < 600_000
        ],
        "client_seconds": (
            float(data["duration_ms"]) / 1000
            if isinstance(data.get("duration_ms"), int | float)
            else None
        ),
    }


def rejection_reason(code: str) -> str:
    """Why a try was rejected, for the candidate, in their language."""
    messages = {
        "pasted": _("Pasted text is not accepted. Type the passage yourself."),
        "empty": _("Nothing was typed. Type the passage shown."),
        "no_keystrokes": _(
            "Most of the text appeared without keystrokes, as pasted or inserted "
            "text does. Type the passage yourself, with JavaScript turned on."
        ),
        "clock": _("The typing time sent by the page is longer than possible."),
        "too_fast": _(
            "The text arrived faster than anyone can type it. Type the passage "
            "yourself."
        ),
        "too_regular": _(
            "The keys came at machine-regular intervals. Type the passage yourself."
        ),
    }
    return messages.get(code, _("The typing test could not be accepted."))


def rejection_message(code: str, tries_left: int) -> str:
    """The candidate's message for a rejected try with tries left."""
    again = ngettext(
        "You can start the test again %(num)d more time.",
        "You can start the test again %(num)d more times.",
        tries_left,
    )
    return f"{rejection_reason(code)} {again}"


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int) and value >= 0 else 0


def submit_typing(
    attempt: Attempt, item: Item, typed: str, measurements_json: str
) -> Response:
    """Check the typing for plausibility, then store it as final and queue scoring.

    Every try is recorded in the session's ``tries``. A rejected try stops the
    clock, so the candidate starts the test again, and AnswerInvalid carries
    the reason. When no try is left, the test is submitted as it stands, its
    score is 0 for a recruiter to review, and TypingClosed says so.
    """
    check_time(attempt)
    session = find_session(attempt, item)
    if not is_running(session):
        raise AnswerInvalid(_("Start the typing test first."))
    assert session is not None
    measured = parse_measurements(measurements_json)
    now = utcnow()
    server_seconds = (now - session.started_at).total_seconds()
    record = {
        "started_at": session.started_at.isoformat(),
        "ended_at": now.isoformat(),
        "server_seconds": round(server_seconds, 2),
        "client_seconds": measured["client_seconds"],
        "keystrokes": measured["keystrokes"],
        "pastes": measured["pastes"],
        "characters": len(typed),
    }
    try:
        check_typing(
            typed,
            measured["intervals"],
            keystrokes=measured["keystrokes"],
            pastes=measured["pastes"],
            server_seconds=server_seconds,
            client_seconds=measured["client_seconds"],
        )
    except TypingRejected as error:
        _reject_try(attempt, item, session, typed, record, error)
    intervals = measured["intervals"]
    tries = [*recorded_tries(session), {**record, "outcome": "accepted"}]
    session.data = {
        "server_seconds": round(server_seconds, 2),
        "client_seconds": measured["client_seconds"],
        "keystrokes": measured["keystrokes"],
        "pastes": measured["pastes"],
        "intervals": len(intervals),
        "median_interval_ms": round(median(intervals), 1) if intervals else None,
        "interval_sd_ms": round(pstdev(intervals), 1) if intervals else None,
        "running": False,
        "tries": tries,
    }
    return submit_text(attempt, item, typed)


def _reject_try(
    attempt: Attempt,
    item: Item,
    session: ItemSession,
    typed: str,
    record: dict[str, Any],
    error: TypingRejected,
) -> NoReturn:
    """Record a rejected try, then raise the candidate's message."""
    log.info(
        "typing test rejected: attempt %s item %s: %s", attempt.id, item.id, error.code
    )
    tries = [
        *recorded_tries(session),
        {**record, "outcome": "rejected", "reason": error.code},
    ]
    session.data = {**session.data, "running": False, "tries": tries}
    left = max_tries(item) - len(tries)
    if left > 0:
        db.session.commit()
        raise AnswerInvalid(rejection_message(error.code, left)) from error
    submit_final(attempt, item, typed)
    log.info(
        "typing test closed after %d rejected tries: attempt %s item %s",
        len(tries),
        attempt.id,
        item.id,
    )
    raise TypingClosed(
        _(
            "%(reason)s You have used all %(count)d tries at the typing test, so it "
            "is closed, and a recruiter will review your tries.",
            reason=rejection_reason(error.code),
            count=len(tries),
        )
    ) from error
