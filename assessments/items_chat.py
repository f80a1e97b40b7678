"""Item types of live chat: written chat replies, the typing test, the simulation."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from app import db
from assessments.items import ItemType, ScoreOutcome, register
from assessments.models import ItemSession, Response, SimulationRun
from assessments.scenario import get_scenario
from scoring import simulation, typing
from scoring.etiquette import Message, score_chat, score_reply


def grammar_checker() -> Any:
    from scoring.grammar import get_checker

    config = current_app.config
    return get_checker(
        config["GRAMMAR_BACKEND"], languagetool_url=config["LANGUAGETOOL_URL"]
    )


def item_session(response: Response) -> ItemSession | None:
    return db.session.scalar(
        select(ItemSession).filter_by(
            attempt_id=response.attempt_id, item_id=response.item_id
        )
    )


@register
class ChatReplyItem(ItemType):
    """A customer's chat message and the candidate's written reply.

    ``config`` has ``customer_message`` and optionally ``customer_name``.
    """

    kind = "chat_reply"
    label = "Chat reply"
    answer = "text"
    template = "assessments/items/chat_reply.html"

    def score(self, response: Response) -> ScoreOutcome:
        config = response.item.config
        result = score_reply(
            config["customer_message"],
            response.text or "",
            checker=grammar_checker(),
            customer_name=config.get("customer_name"),
        )
        return ScoreOutcome(
            result["scorer"],
            f"{result['version']}+r{result['rules_version']}",
            result["score"],
            None,
            result["subscores"],
            result,
        )


@register
class TypingItem(ItemType):
    """Copy ``config["passage"]``; speed over the server's clock, and accuracy."""

    kind = "typing"
    label = "Typing test"
    answer = "typing"
    template = "assessments/items/typing.html"

    def score(self, response: Response) -> ScoreOutcome:
        # Imported here: the typing flow imports the services, which import this.
        from assessments.typing_test import recorded_tries

        session = item_session(response)
        tries = recorded_tries(session)
        if session is not None and tries and tries[-1]["outcome"] == "rejected":
            return self._rejected(response, tries)
        if session is None or "server_seconds" not in session.data:
            raise ValueError(f"response {response.id} has no typing measurements")
        result = typing.assess_typing(
            response.item.config["passage"],
            response.text or "",
            server_seconds=float(session.data["server_seconds"]),
            keystrokes=int(session.data.get("keystrokes", 0)),
        )
        result["measurements"] = session.data
        result["tries"] = tries
        result["passage"] = response.item.config["passage"]
        return ScoreOutcome(
            "typing", typing.VERSION, result["score"], None, result["subscores"], result
        )

    def _rejected(
        self, response: Response, tries: list[dict[str, Any]]
    ) -> ScoreOutcome:
        """Score 0 a test whose every try was rejected, for a recruiter to review."""
        evidence = {
            "rejected": True,
            "tries": tries,
            "passage": response.item.config["passage"],
        }
        subscores = {"speed": 0.0, "accuracy": 0.0}
        return ScoreOutcome(
            "typing", typing.VERSION, 0.0, None, subscores, evidence, needs_review=True
        )


@register
class SimulationItem(ItemType):
    """A chat with a simulated customer, from the scenario ``config["scenario"]``."""

    kind = "simulation"
    label = "Customer chat simulation"
    answer = "chat"
    template = "assessments/items/simulation.html"

    def score(self, response: Response) -> ScoreOutcome:
        run = db.session.scalar(
            select(SimulationRun).filter_by(
                attempt_id=response.attempt_id, item_id=response.item_id
            )
        )
        if run is None:
            raise ValueError(f"response {response.id} has no simulated chat")
        scenario = get_scenario(run.scenario)
        messages = [Message(m.role, m.text, m.at) for m in run.messages]
        etiquette = score_chat(
            messages, checker=grammar_checker(), customer_name=scenario.persona_name
        )
        agent = [m for m in run.messages if m.role == "agent"]
        result = simulation.score_simulation(
            steps={step.name: step.label for step in scenario.steps},
            steps_covered=scenario.steps_covered([m.intents for m in agent]),
            resolved=run.end_reason == "resolved",
            agent_turns=len(agent),
            ideal_turns=scenario.ideal_agent_turns,
            max_turns=scenario.max_agent_turns,
            etiquette=etiquette,
        )
        result["scenario"] = scenario.name
        result["title"] = scenario.title
        result["end_reason"] = run.end_reason
        result["transcript"] = [
            {
                "role": m.role,
                "text": m.text,
                "at": m.at.isoformat(),
                "intents": m.intents,
                "state": m.state,
            }
            for m in run.messages
        ]
        result["etiquette"] = etiquette
        return ScoreOutcome(
            "simulation",
            f"{simulation.VERSION}+etiquette-{etiquette['version']}",
            result["score"],
            None,
            result["subscores"],
            result,
        )
