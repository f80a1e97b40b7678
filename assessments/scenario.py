"""The troubleshooting simulation engine: scenario files and the customer's replies.

A scenario is a TOML file under ``assessments/scenarios/``. It names the
customer's persona and opening message, the intents that the agent's messages
can match (keywords and regular expressions), the states of the conversation
with the transitions each intent triggers and the customer's reply to each, the
diagnostic steps that count, and the states in which the issue is resolved.
``docs/scoring.md`` describes the format. This module has no Flask or database
code, so scenarios can be walked through in tests and tools.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
_NAME_RE = re.compile(r"^[a-z0-9_]{1,80}$")


class ScenarioError(ValueError):
    """A scenario file that is missing, unreadable or inconsistent."""


@dataclass(frozen=True, slots=True)
class Intent:
    """An aim of an agent's message, recognised by keywords or patterns."""

    name: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Transition:
    intent: str
    target: str
    reply: str


@dataclass(frozen=True, slots=True)
class State:
    name: str
    transitions: tuple[Transition, ...]
    fallback: str
    resolved: bool


@dataclass(frozen=True, slots=True)
class Step:
    """A diagnostic step that counts: done when a message matches one of its intents."""

    name: str
    label: str
    intents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Turn:
    """The customer's reply to one agent message, with the state it leads to."""

    intents: tuple[str, ...]
    state: str
    reply: str
    resolved: bool
    # The customer leaves: the agent wrote after the issue was resolved.
    ends: bool


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    persona_name: str
    persona: str
    opening: str
    start: str
    closing: str
    ideal_agent_turns: int
    max_agent_turns: int
    intents: Mapping[str, Intent]
    states: Mapping[str, State]
    steps: tuple[Step, ...]

    def match_intents(self, text: str) -> tuple[str, ...]:
        """Return the names of the intents that ``text`` matches, in file order."""
        return tuple(
            name for name, intent in self.intents.items() if intent.pattern.search(text)
        )

    def respond(self, state: str, text: str) -> Turn:
        """Return the customer's reply to the agent's ``text`` in ``state``.

        The first transition of the state whose intent the text matches is
        taken; without one the customer stays put and sends the state's fallback
        reply. A message written in a resolved state ends the chat.
        """
        current = self.states[state]
        intents = self.match_intents(text)
        if current.resolved:
            return Turn(intents, state, self.closing, True, True)
        for transition in current.transitions:
            if transition.intent in intents:
                target = self.states[transition.target]
                return Turn(
                    intents, target.name, transition.reply, target.resolved, False
                )
        return Turn(intents, state, current.fallback, False, False)

    def steps_covered(self, intents_per_message: list[list[str]]) -> list[str]:
        """Return the names of the steps that any agent message covered."""
        seen = {intent for intents in intents_per_message for intent in intents}
        return [step.name for step in self.steps if seen.intersection(step.intents)]


def scenario_names(folder: Path = SCENARIO_DIR) -> list[str]:
    return sorted(path.stem for path in folder.glob("*.toml"))


def get_scenario(name: str, folder: Path = SCENARIO_DIR) -> Scenario:
    """Return the shipped scenario ``name``, loading and checking it once."""
    if not _NAME_RE.match(name):
        raise ScenarioError(f"invalid scenario name {name!r}")
    return _cached(folder / f"{name}.toml")


@functools.lru_cache(maxsize=32)
def _cached(path: Path) -> Scenario:
    return load_scenario(path)


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; raise ScenarioError naming the problem."""
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        raise ScenarioError(f"{path}: scenario file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: invalid TOML: {error}") from error
    return _Reader(data, path).scenario()


class _Reader:
    """Builds a Scenario from parsed TOML, raising ScenarioError on the first fault."""

    def __init__(self, data: dict[str, Any], path: Path) -> None:
        self.data = data
        self.path = path

    def fail(self, message: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: {message}")

    def text(self, table: Mapping[str, Any], key: str, where: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{key} must be a non-empty string")
        return value.strip()

    def table(self, table: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
        value = table.get(key)
        if not isinstance(value, dict) or not value:
            raise self.fail(f"{where}.{key} must be a non-empty table")
        return value

    def scenario(self) -> Scenario:
        data = self.data
        persona = self.table(data, "persona", "scenario")
        intents = self.intents()
        states = self.states(intents)
        start = self.text(data, "start", "scenario")
        if start not in states:
            raise self.fail(f"start names unknown state {start!r}")
        self.check_reachable(states, start)
        ideal = data.get("ideal_agent_turns", 6)
        limit = data.get("max_agent_turns", 20)
        if not (
            isinstance(ideal, int) and isinstance(limit, int) and 0 < ideal < limit
        ):
            raise self.fail(
                "ideal_agent_turns and max_agent_turns must be whole numbers with "
                f"0 < ideal_agent_turns < max_agent_turns, got {ideal!r} and {limit!r}"
            )
        return Scenario(
            name=self.path.stem,
            title=self.text(data, "title", "scenario"),
            persona_name=self.text(persona, "name", "persona"),
            persona=self.text(persona, "description", "persona"),
            opening=self.text(data, "opening", "scenario"),
            start=start,
            closing=self.text(data, "closing", "scenario"),
            ideal_agent_turns=ideal,
            max_agent_turns=limit,
            intents=intents,
            states=states,
            steps=self.steps(intents),
        )

    def intents(self) -> dict[str, Intent]:
        intents = {}
        for name, spec in self.table(self.data, "intents", "scenario").items():
            where = f"intents.{name}"
            if not isinstance(spec, dict):
                raise self.fail(f"{where} must be a table")
            keywords = spec.get("keywords", [])
            patterns = spec.get("patterns", [])
            if not _strings(keywords) or not _strings(patterns):
                raise self.fail(f"{where}: keywords and patterns must be lists of text")
            if not keywords and not patterns:
                raise self.fail(f"{where} needs at least one keyword or pattern")
            alternatives = [_keyword_regex(keyword) for keyword in keywords]
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as error:
                    raise self.fail(
                        f"{where}: invalid regular expression {pattern!r}: {error}"
                    ) from error
                alternatives.append(f"(?:{pattern})")
            intents[name] = Intent(name, re.compile("|".join(alternatives), re.I))
        return intents

    def states(self, intents: Mapping[str, Intent]) -> dict[str, State]:
        raw = self.table(self.data, "states", "scenario")
        states = {}
        for name, spec in raw.items():
            where = f"states.{name}"
            if not isinstance(spec, dict):
                raise self.fail(f"{where} must be a table")
            resolved = spec.get("resolved", False)
            if not isinstance(resolved, bool):
                raise self.fail(f"{where}.resolved must be true or false")
            transitions = []
            for number, entry in enumerate(spec.get("transitions", []), start=1):
                place = f"{where}.transitions[{number}]"
                if not isinstance(entry, dict):
                    raise self.fail(f"{place} must be a table")
                intent = self.text(entry, "intent", place)
                target = self.text(entry, "to", place)
                if intent not in intents:
                    raise self.fail(f"{place} names unknown intent {intent!r}")
                if target not in raw:
                    raise self.fail(f"{place} names unknown state {target!r}")
                transitions.append(
                    Transition(intent, target, self.text(entry, "reply", place))
                )
            fallback = self.data.get("fallback", "")
            if "fallback" in spec or not resolved:
                fallback = spec.get("fallback", fallback)
                if not isinstance(fallback, str) or not fallback.strip():
                    raise self.fail(f"{where} needs a fallback reply (or a global one)")
            states[name] = State(name, tuple(transitions), fallback, resolved)
        if not any(state.resolved for state in states.values()):
            raise self.fail("no state has resolved = true")
        return states

    def check_reachable(self, states: Mapping[str, State], start: str) -> None:
        """Check that resolved states are reachable and reachable from every state."""
        seen = {start}
        queue = deque([start])
        while queue:
            for transition in states[queue.popleft()].transitions:
                if transition.target not in seen:
                    seen.add(transition.target)
                    queue.append(transition.target)
        for name, state in states.items():
            if state.resolved and name not in seen:
                raise self.fail(f"resolved state {name!r} cannot be reached from start")
        # A state the chat can enter but never leave for a resolved state
        # would trap the candidate however well they reply.
        resolvable = {name for name, state in states.items() if state.resolved}
        grown = True
        while grown:
            grown = False
            for name, state in states.items():
                if name not in resolvable and any(
                    transition.target in resolvable for transition in state.transitions
                ):
                    resolvable.add(name)
                    grown = True
        trapped = sorted(seen - resolvable)
        if trapped:
            raise self.fail(f"state {trapped[0]!r} cannot reach a resolved state")

    def steps(self, intents: Mapping[str, Intent]) -> tuple[Step, ...]:
        steps = []
        for name, spec in self.table(self.data, "steps", "scenario").items():
            where = f"steps.{name}"
            if not isinstance(spec, dict):
                raise self.fail(f"{where} must be a table")
            names = spec.get("intents")
            if not _strings(names) or not names:
                raise self.fail(f"{where}.intents must be a non-empty list of intents")
            for intent in names:
                if intent not in intents:
                    raise self.fail(f"{where} names unknown intent {intent!r}")
            steps.append(Step(name, self.text(spec, "label", where), tuple(names)))
        return tuple(steps)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _keyword_regex(keyword: str) -> str:
    words = [re.escape(word) for word in keyword.split()]
    body = r"\s+".join(words).replace("'", "['’]?")
    return rf"(?<!\w){body}(?!\w)"
