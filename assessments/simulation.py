"""Simulated customer chats: starting, messages time-stamped by the server, ending.

The scenario engine (``assessments.scenario``) writes the customer's replies.
When a chat ends, its response is submitted and queued for scoring like any
other answer, and ``SimulationItem.score`` reads the stored transcript.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import db, utcnow
from assessments.models import (
    Attempt,
    Item,
    SimulationMessage,
    SimulationRun,
    SimulationStatus,
)
from assessments.scenario import Scenario, get_scenario
from assessments.services import (
    AlreadySubmitted,
    AnswerInvalid,
    check_time,
    submit_final,
)

log = logging.getLogger(__name__)

# A chat message longer than this is rejected; live-chat replies are short.
MAX_MESSAGE_CHARS = 1000


class ChatEnded(AlreadySubmitted):
    """A message sent to a chat that has already ended."""


def find_run(attempt: Attempt, item: Item) -> SimulationRun | None:
    return db.session.scalar(
        select(SimulationRun).filter_by(attempt_id=attempt.id, item_id=item.id)
    )


def start_run(attempt: Attempt, item: Item) -> SimulationRun:
    """Return the chat of ``item`` in ``attempt``, starting it once.

    Starting stores the customer's opening message with the server's time, from
    which the first response time is measured.
    """
    run = find_run(attempt, item)
    if run is not None:
        return run
    check_time(attempt)
    scenario = get_scenario(item.config["scenario"])
    now = utcnow()
    run = SimulationRun(
        attempt_id=attempt.id,
        item_id=item.id,
        scenario=scenario.name,
        state=scenario.start,
        started_at=now,
    )
    run.messages.append(
        SimulationMessage(
            position=0, role="customer", text=scenario.opening, at=now, state=run.state
        )
    )
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:  # a second tab started the same chat first
        db.session.rollback()
        run = find_run(attempt, item)
        assert run is not None
    log.info("simulation %s started: attempt %s, %s", run.id, attempt.id, run.scenario)
    return run


def send_message(run: SimulationRun, text: str) -> SimulationMessage:
    """Store the agent's message and the customer's reply; return the reply.

    Raises TimeUp after the test's time limit, ChatEnded for a chat that has
    ended (the message is not stored) and AnswerInvalid for an empty or too
    long message.
    """
    attempt = db.session.get(Attempt, run.attempt_id)
    assert attempt is not None
    check_time(attempt)
    if run.status == SimulationStatus.ENDED:
        raise ChatEnded(_("This chat has ended, so your message was not sent."))
    text = text.replace("\x00", "").strip()
    if not text:
        raise AnswerInvalid(_("The message is empty. Write a reply first."))
    if len(text) > MAX_MESSAGE_CHARS:
        raise AnswerInvalid(
            _(
                "The message is %(length)d characters long; the limit is %(limit)d.",
                length=len(text),
                limit=MAX_MESSAGE_CHARS,
            )
        )
    scenario = get_scenario(run.scenario)
    turn = scenario.respond(run.state, text)
    position = len(run.messages)
    now = utcnow()
    run.messages.append(
        SimulationMessage(
            position=position,
            role="agent",
            text=text,
            at=now,
            intents=list(turn.intents),
            state=turn.state,
        )
    )
    reply = SimulationMessage(
        position=position + 1,
        role="customer",
        text=turn.reply,
        at=now,
        state=turn.state,
    )
    run.messages.append(reply)
    run.state = turn.state
    try:
        db.session.commit()
    except IntegrityError:  # the same message was sent twice at once
        db.session.rollback()
        raise AlreadySubmitted(_("That message was already sent.")) from None
    agent_turns = sum(message.role == "agent" for message in run.messages)
    if turn.ends:
        end_run(run, "resolved")
    elif agent_turns >= scenario.max_agent_turns:
        end_run(run, "turn_limit")
    return reply


def end_run(
    run: SimulationRun, reason: str | None = None, at: datetime | None = None
) -> None:
    """End the chat and submit it for scoring; ending twice changes nothing.

    ``at`` is when the chat ended, by default now; a chat closed at its time
    limit ends at the limit.
    """
    if run.status == SimulationStatus.ENDED:
        return
    scenario = get_scenario(run.scenario)
    if reason is None:
        reason = "resolved" if scenario.states[run.state].resolved else "ended_by_agent"
    run.status = SimulationStatus.ENDED
    run.end_reason = reason
    run.ended_at = at or utcnow()
    db.session.commit()
    log.info("simulation %s ended: %s", run.id, reason)
    attempt = db.session.get(Attempt, run.attempt_id)
    item = db.session.get(Item, run.item_id)
    assert attempt is not None and item is not None
    submit_final(attempt, item, summary(run, scenario), at=run.ended_at)


def summary(run: SimulationRun, scenario: Scenario) -> str:
    """Return one line that stands for the chat in ``Response.text``."""
    agent_turns = sum(message.role == "agent" for message in run.messages)
    return (
        f"Chat with {scenario.persona_name} ({scenario.name}): {agent_turns} agent "
        f"messages, ended: {run.end_reason}."
    )
