"""Live-chat etiquette: one scorer for chat transcripts and single replies.

A chat starts at 100 points, and each rule of ``rules/etiquette.toml`` takes
points off, up to its cap: slow replies, capitals, chat-speak, repeated
exclamation marks (found by ``scoring.style``), grammar matches (through a
``GrammarChecker``), a missing greeting, the customer's name never used, an
upset customer left without acknowledgement or apology, negative wording,
rudeness, and a close without a request for feedback. Every deduction is a finding that
points at the words or the timing that caused it.

``score_chat`` and ``score_reply`` return a JSON-ready dict with these keys:

- ``scorer``, ``version``, ``rules_version``: ``"etiquette"``, ``VERSION`` and
  the rule file's ``rules_version``.
- ``checker``: ``{"name", "version"}`` of the grammar checker, or None.
- ``score``: 0-100 with one decimal, 100 minus the points of every finding.
- ``subscores``: ``timing``, ``clarity`` and ``courtesy``, each 100 minus the
  points lost in that group of rules.
- ``deductions``: points lost per rule.
- ``findings``: one dict per deduction with ``rule``, ``group``,
  ``message_index`` (into the messages), ``offset`` and ``length`` (code points
  into that message's text, both 0 when the cause is an absence or a time),
  ``text``, ``seconds`` (timing rules, else None), ``points`` and ``message``.
- ``first_response_s``: seconds from the customer's first message to the first
  reply, or None without timestamps.
- ``mean_response_s``: the mean of ``response_times``, or None.
- ``response_times``: ``{"message_index", "seconds"}`` per agent message that
  answers a customer message.
- ``agent_messages``: the number of agent messages.
- ``customer_upset``: whether a customer message matched the upset rule.
- ``flags``: ``empty`` (no words from the agent: score 0) and ``truncated`` (a
  message longer than ``max_message_chars``; only its start is checked).

The findings' points add up to ``100 - score`` (before rounding). Offsets are
Python ``str`` indices into each message's text as given.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from scoring.grammar import GrammarChecker, GrammarMatch
from scoring.style import (
    ALL_CAPS,
    CHAT_SPEAK,
    REPEATED_EXCLAMATION,
    RuleSettings,
    StyleRules,
    find_style_issues,
    read_rule_file,
)

SCORER_NAME = "etiquette"
# Changes of method; a change of the rule file alone shows in rules_version.
VERSION = "1.2"
DEFAULT_RULES_PATH = Path(__file__).resolve().parent / "rules" / "etiquette.toml"

CUSTOMER = "customer"
AGENT = "agent"
ROLES = (CUSTOMER, AGENT)

STYLE_RULES = (ALL_CAPS, CHAT_SPEAK, REPEATED_EXCLAMATION)
GROUPS = {
    "first_response": "timing",
    "later_response": "timing",
    ALL_CAPS: "clarity",
    CHAT_SPEAK: "clarity",
    REPEATED_EXCLAMATION: "clarity",
    "grammar": "clarity",
    "greeting": "courtesy",
    "customer_name": "courtesy",
    "acknowledge_feelings": "courtesy",
    "apology": "courtesy",
    "negative_wording": "courtesy",
    "rudeness": "courtesy",
    "rudeness_ceiling": "courtesy",
    "feedback_request": "courtesy",
}


# Agent messages are joined with a blank line for one grammar check.
_SEPARATOR = "\n\n"


class TranscriptError(ValueError):
    """A transcript that cannot be scored: wrong shape, bad time, no agent message."""


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message; ``at`` is None when the transcript has no times."""

    role: str
    text: str
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Timing:
    ideal_max_s: float
    limit_s: float
    slow_points: float
    over_limit_points: float
    cap: float
    slow_message: str
    over_limit_message: str


@dataclass(frozen=True, slots=True)
class PhraseRule:
    points: float
    pattern: re.Pattern[str]
    message: str
    cap: float
    window: int


@dataclass(frozen=True, slots=True)
class EtiquetteRules:
    """Settings of the etiquette rules, as read from a rule file."""

    rules_version: str
    max_message_chars: int
    first_response: Timing
    later_responses: Timing
    style_points: Mapping[str, float]
    style_caps: Mapping[str, float]
    grammar_points: Mapping[str, float]
    grammar_cap: float
    greeting: PhraseRule
    # The greeting hint without a customer name; ``greeting.message`` has {name}.
    greeting_message_without_name: str
    customer_name_points: float
    customer_name_message: str
    upset: PhraseRule
    acknowledge: PhraseRule
    apology: PhraseRule
    negative: PhraseRule
    rudeness: PhraseRule
    # A chat with any rude words scores at most this, whatever else it does well.
    rudeness_max_score: float
    rudeness_ceiling_message: str
    feedback: PhraseRule


def load_etiquette_rules(path: str | Path | None = None) -> EtiquetteRules:
    """Read and validate an etiquette rule file, by default ``rules/etiquette.toml``.

    Each file is read once per process. Raises ValueError naming the file and
    the key of a missing or invalid setting, such as a regular expression that
    does not compile.
    """
    return _load_rules(Path(path or DEFAULT_RULES_PATH).resolve())


@functools.lru_cache(maxsize=8)
def _load_rules(path: Path) -> EtiquetteRules:
    settings = read_rule_file(path)
    style = settings.table("style_points")
    return EtiquetteRules(
        rules_version=settings.string("rules_version"),
        max_message_chars=settings.integer("max_message_chars", minimum=100),
        first_response=_timing(settings, "first_response", cap=None),
        later_responses=_timing(settings, "later_responses", cap="later_responses"),
        style_points={
            rule: settings.number(f"style_points.{rule}", minimum=0)
            for rule in STYLE_RULES
        },
        style_caps={
            rule: settings.number(f"style_points.{rule}_cap", minimum=0)
            for rule in STYLE_RULES
            if f"{rule}_cap" in style
        },
        grammar_points={
            category: settings.number(f"grammar.points.{category}", minimum=0)
            for category in settings.table("grammar.points")
        },
        grammar_cap=settings.number("grammar.cap", minimum=0),
        greeting=_phrase_rule(settings, "greeting", fields=("name",)),
        greeting_message_without_name=settings.message("greeting.message_without_name"),
        customer_name_points=settings.number("customer_name.points", minimum=0),
        customer_name_message=settings.message("customer_name.message", "text"),
        upset=_phrase_rule(settings, "upset_customer", scored=False),
        acknowledge=_phrase_rule(settings, "acknowledge_feelings"),
        apology=_phrase_rule(settings, "apology"),
        negative=_phrase_rule(settings, "negative_wording"),
        rudeness=_phrase_rule(settings, "rudeness"),
        rudeness_max_score=settings.number("rudeness.max_score", minimum=0),
        rudeness_ceiling_message=settings.message(
            "rudeness.max_score_message", "score"
        ),
        feedback=_phrase_rule(settings, "feedback_request"),
    )


def _timing(settings: RuleSettings, key: str, cap: str | None) -> Timing:
    ideal = settings.number(f"{key}.ideal_max_s", minimum=0)
    limit = settings.number(f"{key}.limit_s", minimum=0)
    if limit <= ideal:
        raise ValueError(
            f"{settings.path}: {key}.limit_s ({limit:g}) must be greater than "
            f"{key}.ideal_max_s ({ideal:g})"
        )
    over = settings.number(f"{key}.over_limit_points", minimum=0)
    return Timing(
        ideal_max_s=ideal,
        limit_s=limit,
        slow_points=settings.number(f"{key}.slow_points", minimum=0),
        over_limit_points=over,
        cap=settings.number(f"{cap}.cap", minimum=0) if cap else over,
        slow_message=settings.message(f"{key}.slow_message", "seconds"),
        over_limit_message=settings.message(f"{key}.over_limit_message", "seconds"),
    )


def _phrase_rule(
    settings: RuleSettings,
    key: str,
    scored: bool = True,
    fields: tuple[str, ...] = ("text",),
) -> PhraseRule:
    section = settings.table(key)
    phrases = settings.strings(f"{key}.phrases")
    patterns = settings.strings(f"{key}.patterns") if "patterns" in section else []
    points = settings.number(f"{key}.points", minimum=0) if scored else 0.0
    return PhraseRule(
        points=points,
        pattern=_compile(settings, key, phrases, patterns),
        message=settings.message(f"{key}.message", *fields) if scored else "",
        cap=settings.number(f"{key}.cap", minimum=0) if "cap" in section else points,
        window=settings.integer(f"{key}.window", minimum=1)
        if "window" in section
        else 1,
    )


def _compile(
    settings: RuleSettings, key: str, phrases: Sequence[str], patterns: Sequence[str]
) -> re.Pattern[str]:
    alternatives = [_phrase_regex(phrase) for phrase in phrases if phrase.strip()]
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(
                f"{settings.path}: {key}.patterns: invalid regular expression "
                f"{pattern!r}: {error}"
            ) from error
        alternatives.append(f"(?:{pattern})")
    if not alternatives:
        return re.compile(r"(?!)")
    return re.compile("|".join(alternatives), re.IGNORECASE)


def _phrase_regex(phrase: str) -> str:
    words = [re.escape(word) for word in phrase.split()]
    body = r"\s+".join(words).replace("'", "['’]?")
    return rf"(?<![\w'’-]){body}(?![\w'’-])"


def _first_name(customer_name: str | None) -> str:
    """Return the first word of the customer's name, or "" when none is known."""
    words = (customer_name or "").split()
    return words[0] if words else ""


def parse_messages(raw: Any) -> list[Message]:
    """Validate a transcript as JSON gives it: a list of role, text and ``at``.

    ``at`` is an ISO 8601 time with a UTC offset (or ``Z``). Every message must
    have one, or none may. Raises TranscriptError saying which message is wrong.
    """
    if not isinstance(raw, list):
        raise TranscriptError("the transcript must be a JSON list of messages")
    messages = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise TranscriptError(f"message {index} is not an object")
        role, text, at = entry.get("role"), entry.get("text"), entry.get("at")
        if role not in ROLES:
            raise TranscriptError(
                f"message {index}: role must be 'customer' or 'agent', got {role!r}"
            )
        if not isinstance(text, str):
            raise TranscriptError(f"message {index}: text must be a string")
        messages.append(Message(role, text, _parse_time(at, index)))
    with_time = sum(message.at is not None for message in messages)
    if 0 < with_time < len(messages):
        raise TranscriptError("either every message or none must have 'at'")
    return messages


def _parse_time(value: Any, index: int) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TranscriptError(f"message {index}: 'at' must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TranscriptError(
            f"message {index}: 'at' is not an ISO 8601 time: {value!r}"
        ) from None
    if parsed.tzinfo is None:
        raise TranscriptError(
            f"message {index}: 'at' has no UTC offset: {value!r}; add Z or +00:00"
        )
    return parsed


def score_chat(
    messages: Sequence[Message | Mapping[str, Any]],
    *,
    rules: EtiquetteRules | None = None,
    checker: GrammarChecker | None = None,
    customer_name: str | None = None,
    style_rules: StyleRules | None = None,
    language: str = "en",
) -> dict[str, Any]:
    """Score the agent's side of a chat transcript; see the module for the keys.

    ``messages`` are ``Message`` objects or mappings with ``role``, ``text`` and
    an optional ``at`` (an aware datetime or an ISO 8601 string). Without
    ``checker`` no grammar is checked. Raises TranscriptError when there is no
    agent message or the times go backwards.
    """
    chat = _as_messages(messages)
    if not any(message.role == AGENT for message in chat):
        raise TranscriptError("the transcript has no agent message")
    return _Scorer(chat, rules or load_etiquette_rules(), style_rules).run(
        checker=checker, customer_name=customer_name, language=language, closing=True
    )


def score_reply(
    customer_message: str,
    reply: str,
    *,
    rules: EtiquetteRules | None = None,
    checker: GrammarChecker | None = None,
    customer_name: str | None = None,
    style_rules: StyleRules | None = None,
    language: str = "en",
) -> dict[str, Any]:
    """Score one written reply to a customer's message, without timing or closing.

    The reply counts as the agent's first message, so it should greet the
    customer. An empty reply scores 0 with the flag ``empty``.
    """
    chat = [Message(CUSTOMER, customer_message), Message(AGENT, reply)]
    return _Scorer(chat, rules or load_etiquette_rules(), style_rules).run(
        checker=checker, customer_name=customer_name, language=language, closing=False
    )


def _as_messages(messages: Sequence[Message | Mapping[str, Any]]) -> list[Message]:
    if all(isinstance(message, Message) for message in messages):
        return list(messages)  # type: ignore[arg-type]
    raw: list[dict[str, Any]] = [
        {"role": m.role, "text": m.text, "at": m.at}
        if isinstance(m, Message)
        else dict(m)
        for m in messages
    ]
    for entry in raw:
        at = entry.get("at")
        if isinstance(at, datetime):
            entry["at"] = at.isoformat()
    return parse_messages(raw)


class _Scorer:
    """One scoring run over a chat; collects findings with their points."""

    def __init__(
        self, chat: list[Message], rules: EtiquetteRules, style: StyleRules | None
    ) -> None:
        self.rules = rules
        self.style = style
        self.flags: list[str] = []
        self.chat = [self._clipped(message) for message in chat]
        self.agent = [i for i, m in enumerate(self.chat) if m.role == AGENT]
        self.findings: list[dict[str, Any]] = []
        self.spent: dict[str, float] = {}

    def _clipped(self, message: Message) -> Message:
        limit = self.rules.max_message_chars
        if len(message.text) <= limit:
            return message
        if "truncated" not in self.flags:
            self.flags.append("truncated")
        return Message(message.role, message.text[:limit], message.at)

    def run(
        self,
        *,
        checker: GrammarChecker | None,
        customer_name: str | None,
        language: str,
        closing: bool,
    ) -> dict[str, Any]:
        times = self._timing()
        self._language(checker, language)
        self._greeting(customer_name)
        self._customer_name(customer_name)
        upset = self._empathy()
        self._rudeness_and_negative_wording()
        if closing:
            self._feedback()
        self._rudeness_ceiling()
        if not any(self.chat[i].text.strip() for i in self.agent):
            self.flags.append("empty")
        return self._result(times, upset, checker)

    def add(
        self,
        rule: str,
        index: int,
        points: float,
        message: str,
        *,
        cap: float,
        span: tuple[int, int] = (0, 0),
        seconds: float | None = None,
    ) -> None:
        """Record a finding, charging its points up to what the rule's cap allows."""
        spent = self.spent.get(rule, 0.0)
        charged = max(0.0, min(points, cap - spent))
        self.spent[rule] = spent + charged
        offset, end = span
        self.findings.append(
            {
                "rule": rule,
                "group": GROUPS[rule],
                "message_index": index,
                "offset": offset,
                "length": end - offset,
                "text": self.chat[index].text[offset:end],
                "seconds": seconds,
                "points": round(charged, 2),
                "message": message,
            }
        )

    def _timing(self) -> list[dict[str, Any]]:
        """Measure each reply from the first customer message it answers."""
        times: list[dict[str, Any]] = []
        waiting_since: datetime | None = None
        previous: datetime | None = None
        for index, message in enumerate(self.chat):
            if message.at is None:
                return []
            if previous is not None and message.at < previous:
                raise TranscriptError(
                    f"message {index} is earlier than the message before it"
                )
            previous = message.at
            if message.role == CUSTOMER:
                waiting_since = waiting_since or message.at
                continue
            if waiting_since is not None:
                seconds = round((message.at - waiting_since).total_seconds(), 1)
                times.append({"message_index": index, "seconds": seconds})
                first = index == self.agent[0]
                self._charge_time(index, seconds, first)
            waiting_since = None
        return times

    def _charge_time(self, index: int, seconds: float, first: bool) -> None:
        timing = self.rules.first_response if first else self.rules.later_responses
        rule = "first_response" if first else "later_response"
        if seconds <= timing.ideal_max_s:
            return
        if seconds > timing.limit_s:
            points, template = timing.over_limit_points, timing.over_limit_message
        else:
            share = (seconds - timing.ideal_max_s) / (
                timing.limit_s - timing.ideal_max_s
            )
            points, template = timing.slow_points * share, timing.slow_message
        text = template.format(seconds=f"{seconds:g}")
        self.add(rule, index, points, text, cap=timing.cap, seconds=seconds)

    def _language(self, checker: GrammarChecker | None, language: str) -> None:
        rules = self.rules
        style_spans: dict[int, list[tuple[int, int]]] = {}
        for index in self.agent:
            spans = style_spans.setdefault(index, [])
            for finding in find_style_issues(self.chat[index].text, self.style):
                end = finding.offset + finding.length
                spans.append((finding.offset, end))
                self.add(
                    finding.rule,
                    index,
                    rules.style_points[finding.rule],
                    finding.message,
                    cap=rules.style_caps.get(finding.rule, float("inf")),
                    span=(finding.offset, end),
                )
        if checker is None:
            return
        for index, match in self._grammar_matches(checker, language):
            end = match.offset + match.length
            spans = style_spans[index]
            if any(match.offset < stop and start < end for start, stop in spans):
                continue
            points = rules.grammar_points.get(match.category, 1.0)
            if points <= 0:
                continue
            self.add(
                "grammar",
                index,
                points,
                f"{match.category}: {match.message}",
                cap=rules.grammar_cap,
                span=(match.offset, end),
            )

    def _grammar_matches(
        self, checker: GrammarChecker, language: str
    ) -> list[tuple[int, GrammarMatch]]:
        """Check every agent message in one call; return (message index, match).

        The messages are joined as paragraphs, because one Harper call on the
        whole chat took about a quarter of the time of one call per message
        (bench/bench_etiquette.py). Offsets are mapped back to each message.
        """
        starts: list[int] = []
        parts: list[str] = []
        position = 0
        for index in self.agent:
            starts.append(position)
            parts.append(self.chat[index].text)
            position += len(self.chat[index].text) + len(_SEPARATOR)
        joined = _SEPARATOR.join(parts)
        if not joined.strip():
            return []
        located = []
        for match in checker.check(joined, language):
            slot = bisect.bisect_right(starts, match.offset) - 1
            offset = match.offset - starts[slot]
            if offset + match.length > len(parts[slot]):
                continue  # spans two messages: an artefact of joining them
            located.append((self.agent[slot], replace(match, offset=offset)))
        return located

    def _greeting(self, customer_name: str | None) -> None:
        rule = self.rules.greeting
        first = self.agent[0]
        if rule.pattern.search(self.chat[first].text):
            return
        first_name = _first_name(customer_name)
        if first_name:
            message = rule.message.format(name=first_name)
        else:
            message = self.rules.greeting_message_without_name
        self.add("greeting", first, rule.points, message, cap=rule.cap)

    def _customer_name(self, customer_name: str | None) -> None:
        first_name = _first_name(customer_name)
        if not first_name:
            return
        pattern = re.compile(_phrase_regex(first_name), re.IGNORECASE)
        if any(pattern.search(self.chat[i].text) for i in self.agent):
            return
        points = self.rules.customer_name_points
        message = self.rules.customer_name_message.format(text=first_name)
        self.add("customer_name", self.agent[0], points, message, cap=points)

    def _empathy(self) -> bool:
        """Check the replies after the first upset customer message."""
        rules = self.rules
        for index, message in enumerate(self.chat):
            if message.role != CUSTOMER:
                continue
            trigger = rules.upset.pattern.search(message.text)
            if trigger is None:
                continue
            replies = [i for i in self.agent if i > index][: rules.upset.window]
            if not replies:
                return True
            for name, rule in (
                ("acknowledge_feelings", rules.acknowledge),
                ("apology", rules.apology),
            ):
                if not any(rule.pattern.search(self.chat[i].text) for i in replies):
                    self.add(
                        name,
                        index,
                        rule.points,
                        rule.message.format(text=trigger.group()),
                        cap=rule.cap,
                        span=trigger.span(),
                    )
            return True
        return False

    def _rudeness_and_negative_wording(self) -> None:
        """Find rude words, then negative wording outside them, so words cost once."""
        for name, rule in (
            ("rudeness", self.rules.rudeness),
            ("negative_wording", self.rules.negative),
        ):
            for index in self.agent:
                rude = [
                    (f["offset"], f["offset"] + f["length"])
                    for f in self.findings
                    if f["rule"] == "rudeness" and f["message_index"] == index
                ]
                for found in rule.pattern.finditer(self.chat[index].text):
                    start, end = found.span()
                    if any(start < stop and begin < end for begin, stop in rude):
                        continue
                    self.add(
                        name,
                        index,
                        rule.points,
                        rule.message.format(text=found.group()),
                        cap=rule.cap,
                        span=(start, end),
                    )

    def _rudeness_ceiling(self) -> None:
        """Bring a chat with rude words down to the rule file's maximum score.

        The gap is charged as its own finding on the first rude message, so the
        deductions still add up to the score.
        """
        rude = [f["message_index"] for f in self.findings if f["rule"] == "rudeness"]
        ceiling = self.rules.rudeness_max_score
        score = 100.0 - sum(self.spent.values())
        if rude and score > ceiling:
            message = self.rules.rudeness_ceiling_message.format(score=f"{ceiling:g}")
            points = score - ceiling
            self.add("rudeness_ceiling", min(rude), points, message, cap=points)

    def _feedback(self) -> None:
        rule = self.rules.feedback
        last = self.agent[-rule.window :]
        if not any(rule.pattern.search(self.chat[i].text) for i in last):
            self.add(
                "feedback_request", last[-1], rule.points, rule.message, cap=rule.cap
            )

    def _result(
        self, times: list[dict[str, Any]], upset: bool, checker: GrammarChecker | None
    ) -> dict[str, Any]:
        lost = sum(self.spent.values())
        score = 0.0 if "empty" in self.flags else max(0.0, 100.0 - lost)
        groups = {"timing": 0.0, "clarity": 0.0, "courtesy": 0.0}
        for rule, points in self.spent.items():
            groups[GROUPS[rule]] += points
        seconds = [entry["seconds"] for entry in times]
        # The first reply may come before any customer message (a proactive
        # greeting); then there is no first response time.
        first = (
            seconds[0] if times and times[0]["message_index"] == self.agent[0] else None
        )
        return {
            "scorer": SCORER_NAME,
            "version": VERSION,
            "rules_version": self.rules.rules_version,
            "checker": (
                {"name": checker.name, "version": checker.version} if checker else None
            ),
            "score": round(score, 1),
            "subscores": {
                name: round(max(0.0, 100.0 - points), 1)
                for name, points in groups.items()
            },
            "deductions": {
                rule: round(points, 2) for rule, points in self.spent.items() if points
            },
            "findings": sorted(
                self.findings, key=lambda f: (f["message_index"], f["offset"])
            ),
            "first_response_s": first,
            "mean_response_s": round(sum(seconds) / len(seconds), 1)
            if seconds
            else None,
            "response_times": times,
            "agent_messages": len(self.agent),
            "customer_upset": upset,
            "flags": self.flags,
        }
