"""The typing test's flow: serving the passage, checking and storing the typing."""

from __future__ import annotations

import json
import logging
from statistics import median, pstdev
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app import db, utcnow
from assessments.models import Attempt, Item, ItemSession, Response
from assessments.services import AnswerInvalid, submit_text
from scoring.typing import TypingRejected, check_typing

log = logging.getLogger(__name__)

# The page sends at most this many keystroke intervals; longer lists are cut.
MAX_INTERVALS = 20_000


def find_session(attempt: Attempt, item: Item) -> ItemSession | None:
    return db.session.scalar(
        select(ItemSession).filter_by(attempt_id=attempt.id, item_id=item.id)
    )


def start_typing(attempt: Attempt, item: Item) -> ItemSession:
    """Start the server's clock for the typing test, once until a rejection."""
    session = find_session(attempt, item)
    if session is None:
        session = ItemSession(attempt_id=attempt.id, item_id=item.id)
        db.session.add(session)
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


def rejection_message(code: str) -> str:
    """The candidate's message for a rejected typing test, in their language."""
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
    message = messages.get(code, _("The typing test could not be accepted."))
    return f"{message} {_('Start the test again when you are ready.')}"


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int) and value >= 0 else 0


def submit_typing(
    attempt: Attempt, item: Item, typed: str, measurements_json: str
) -> Response:
    """Check the typing for plausibility, then store it as final and queue scoring.

    A rejected test is not stored. Its clock is reset, so the candidate starts
    the test again, and AnswerInvalid carries the reason.
    """
    session = find_session(attempt, item)
    if session is None:
        raise AnswerInvalid(_("Start the typing test first."))
    measured = parse_measurements(measurements_json)
    server_seconds = (utcnow() - session.started_at).total_seconds()
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
        log.info(
            "typing test rejected: attempt %s item %s: %s",
            attempt.id,
            item.id,
            error.code,
        )
        db.session.delete(session)
        db.session.commit()
        raise AnswerInvalid(rejection_message(error.code)) from error
    intervals = measured["intervals"]
    session.data = {
        "server_seconds": round(server_seconds, 2),
        "client_seconds": measured["client_seconds"],
        "keystrokes": measured["keystrokes"],
        "pastes": measured["pastes"],
        "intervals": len(intervals),
        "median_interval_ms": round(median(intervals), 1) if intervals else None,
        "interval_sd_ms": round(pstdev(intervals), 1) if intervals else None,
    }
    return submit_text(attempt, item, typed)
