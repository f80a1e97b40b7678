"""Question types: a registry with one class per type.

Each class validates a question's ``data``, says what a browser may see of it
before submission (``public_data``: never the answers, fractions or feedback),
reads a response from a form, and grades a response to a fraction from 0 to 1
with feedback. Grading is pure except for the two scorer-backed types, which
call ``scoring`` (the writing and the etiquette scorers).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

# Largest response text stored per question, in characters.
MAX_TEXT = 20_000


# Renames an option or prompt id; None means the id is unknown.
IdMap = Callable[[str], str | None]


class QuestionDataError(ValueError):
    """Inconsistent question data, e.g. a choice question without a right option."""


@dataclass
class Grade:
    """A graded response: ``fraction`` is None while a person must grade it."""

    fraction: float | None
    feedback: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


class QuestionType:
    qtype: ClassVar[str]
    label: ClassVar[str]
    template: ClassVar[str]
    gradable: ClassVar[bool] = True
    # False when the feedback on a response is about the trainee's own text
    # (scorer findings, a grader's comment) and cannot reveal a key.
    feedback_reveals_key: ClassVar[bool] = True
    # Keys of ``data`` whose items are shuffled per attempt, when the quiz says so.
    shuffled: ClassVar[str | None] = None

    def validate(self, data: Mapping[str, Any]) -> None:
        """Raise QuestionDataError when ``data`` cannot be graded."""

    def public_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """What the attempt page needs; nothing that reveals the right answer."""
        return {}

    def read_form(self, prefix: str, form: Mapping[str, Any]) -> dict[str, Any]:
        """Build a response from posted form fields named ``{prefix}...``."""
        value = form.get(prefix, "")
        return {"text": str(value)[:MAX_TEXT]}

    def form_fields(self, prefix: str, response: Mapping[str, Any]) -> list[list[str]]:
        """Return the [name, value] form fields that ``read_form`` reads back."""
        return [[prefix, str(response.get("text") or "")]]

    def grade(self, data: Mapping[str, Any], response: Mapping[str, Any]) -> Grade:
        raise NotImplementedError

    def map_ids(
        self, response: Mapping[str, Any], option: IdMap, prompt: IdMap
    ) -> dict[str, Any]:
        """Rename the option and prompt ids in a response; None drops an id.

        The attempt page names options by per-attempt tokens, so a response is
        translated on its way to the page and back.
        """
        return dict(response)

    def correct_answer(self, data: Mapping[str, Any]) -> str:
        """A plain-text statement of the right answer for the review page."""
        return ""


REGISTRY: dict[str, QuestionType] = {}


def register(cls: type[QuestionType]) -> type[QuestionType]:
    REGISTRY[cls.qtype] = cls()
    return cls


def get_type(qtype: str) -> QuestionType:
    try:
        return REGISTRY[qtype]
    except KeyError:
        raise QuestionDataError(f"unknown question type {qtype!r}") from None


def _option_feedback(options: list[Mapping[str, Any]], chosen: set[str]) -> list[str]:
    return [
        str(option["feedback"])
        for option in options
        if option["id"] in chosen and option.get("feedback")
    ]


def _public_options(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"options": [{"id": o["id"], "text": o["text"]} for o in data["options"]]}


@register
class SingleChoice(QuestionType):
    """One option is chosen; its fraction is the grade."""

    qtype = "single_choice"
    label = "Single choice"
    template = "courses/questions/choice.html"
    shuffled = "options"

    def validate(self, data: Mapping[str, Any]) -> None:
        options = data.get("options") or []
        if len(options) < 2:
            raise QuestionDataError("a choice question needs at least two options")
        if not any(float(o.get("fraction", 0)) >= 1.0 for o in options):
            raise QuestionDataError("no option is fully right (fraction 100%)")

    def public_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return _public_options(data)

    def read_form(self, prefix: str, form: Mapping[str, Any]) -> dict[str, Any]:
        return {"choice": str(form.get(prefix, ""))[:20]}

    def map_ids(
        self, response: Mapping[str, Any], option: IdMap, prompt: IdMap
    ) -> dict[str, Any]:
        choice = response.get("choice")
        return {"choice": option(str(choice)) if choice else None}

    def form_fields(self, prefix: str, response: Mapping[str, Any]) -> list[list[str]]:
        choice = response.get("choice")
        return [[prefix, str(choice)]] if choice else []

    def grade(self, data: Mapping[str, Any], response: Mapping[str, Any]) -> Grade:
        chosen = str(response.get("choice") or "")
        options = data["options"]
        fraction = sum(float(o["fraction"]) for o in options if o["id"] == chosen)
        return Grade(clamp(fraction), _option_feedback(options, {chosen}))

    def correct_answer(self, data: Mapping[str, Any]) -> str:
        return "; ".join(
            str(o["text"]) for o in data["options"] if float(o["fraction"]) >= 1
        )


@register
class MultipleChoice(QuestionType):
    """Several options may be chosen; fractions add up (negative ones subtract)."""

    qtype = "multiple_choice"
    label = "Multiple choice"
    template = "courses/questions/choice.html"
    shuffled = "options"

    def validate(self, data: Mapping[str, Any]) -> None:
        options = data.get("options") or []
        if len(options) < 2:
            raise QuestionDataError("a choice question needs at least two options")
        positive = sum(max(0.0, float(o.get("fraction", 0))) for o in options)
        if positive < 0.999:
            raise QuestionDataError(
                f"the right options add up to {positive:.0%}; they must reach 100%"
            )

    def public_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {**_public_options(data), "multiple": True}

    def read_form(self, prefix: str, form: Mapping[str, Any]) -> dict[str, Any]:
        getlist = getattr(form, "getlist", None)
        values = getlist(prefix) if getlist else form.get(prefix, [])
        if isinstance(values, str):
            values = [values]
        return {"choices": [str(v)[:20] for v in values][:100]}

    def map_ids(
        self, response: Mapping[str, Any], option: IdMap, prompt: IdMap
    ) -> dict[str, Any]:
        mapped = (option(str(c)) for c in response.get("choices") or [])
        return {"choices": [c for c in mapped if c is not None]}

    def form_fields(self, prefix: str, response: Mapping[str, Any]) -> list[list[str]]:
        return [[prefix, str(c)] for c in response.get("choices") or []]

    def grade(self, data: Mapping[str, Any], response: Mapping[str, Any]) -> Grade:
        chosen = {str(c) for c in response.get("choices") or []}
        options = data["options"]
        fraction = sum(float(o["fraction"]) for o in options if o["id"] in chosen)
        return Grade(clamp(fraction), _option_feedback(options, chosen))

    def correct_answer(self, data: Mapping[str, Any]) -> str:
        return "; ".join(
            str(o["text"]) for o in data["options"] if float(o["fraction"]) > 0
        )


@register
class TrueFalse(QuestionType):
    qtype = "true_false"
    label = "True or false"
    template = "courses/questions/true_false.html"

    def validate(self, data: Mapping[str, Any]) -> None:
        if not isinstance(data.get("answer"), bool):
            raise QuestionDataError("a true/false question needs answer true or false")

    def read_form(self, prefix: str, form: Mapping[str, Any]) -> dict[str, Any]:
        value = str(form.get(prefix, ""))
        return {"value": {"true": True, "false": False}.get(value)}

    def form_fields(self, prefix: str, response: Mapping[str, Any]) -> list[list[str]]:
        value = response.get("value")
        return [] if value is None else [[prefix, "true" if value else "false"]]

    def grade(self, data: Mapping[str, Any], response: Mapping[str, Any]) -> Grade:
        value = response.get("value")
        if value is None:
            return Grade(0.0)
        right = value is data["answer"]
        message = data.get("feedback_correct" if right else "feedback_incorrect")
        return Grade(1.0 if right else 0.0, [str(message)] if message else [])

    def correct_answer(self, data: Mapping[str, Any]) -> str:
        return "True" if data["answer"] else "False"


def shortanswer_pattern(answer: str, ignore_case: bool) -> re.Pattern[str]:
    """Compile a Moodle short answer: ``*`` matches any text, ``\\*`` a star."""
    parts = re.split(r"(\\\*|\*)", answer.strip())
    regex = "".join(
        ".*" if part == "*" else re.escape("*" if part == "\\*" else part)
        for part in parts
    )
    return re.compile(regex, re.IGNORECASE if ignore_case else 0)


def _normalise_space(text: str) -> str:
    return " ".join(text.split())


@register
class ShortAnswer(QuestionType):
    """Typed text compared with each accepted answer; the best match counts.

    ``match`` is ``exact``, ``ignore_case`` (the default, as in Moodle) or
    ``pattern`` (each answer is a Python regular expression matched in full).
    """

    qtype = "short_answer"
    label = "Short answer"
    template = "courses/questions/text.html"

    def validate(self, data: Mapping[str, Any]) -> None:
        answers = data.get("answers") or []
        if not any(float(a.get("fraction", 0)) >= 1 for a in answers):
            raise QuestionDataError("no accepted answer earns full marks")
        if data.get("match", "ignore_case") not in ("exact", "ignore_case", "pattern"):
            raise QuestionDataError(f"unknown match mode {data.get('match')!r}")
        if data.get("match") == "pattern":
            for answer in answers:
                try:
                    re.compile(str(answer["text"]))
                except re.error as error:
                    raise QuestionDataError(
                        f"invalid pattern {answer['text']!r}: {error}"
                    ) from error

    def grade(self, data: Mapping[str, Any], response: Mapping[str, Any]) -> Grade:
        given = _normalise_space(str(response.get("text") or ""))
        mode = data.get("match", "ignore_case")
        best: Mapping[str, Any] | None = None
        for answer in data["answers"]:
            text = str(answer["text"])
            if mode == "pattern":
                matched = re.fullmatch(text, given) is not None
            else:
                pattern = shortanswer_pattern(text, mode == "ignore_case")
                matched = pattern.fullmatch(given) is not None
            if matched and (
                best is None or float(answer["fraction"]) > float(best["fraction"])
            ):
                best = answer
        if best is None or not given:
            return Grade(
                0.0, [str(data["wrong_feedback"])] if data.get("wrong_feedback") else []
            )
        feedback = [str(best["feedback"])] if best.get("feedback") else []
        return Grade(clamp(float(best["fraction"])), feedback)

    def correct_answer(self, data: Mapping[str, Any]) -> str:
        return "; ".join(
            str(a["text"]) for a in data["answers"] if float(a["fraction"]) >= 1
        )


def parse_number(text: str) -> float | None:
    """Read a typed number; a decimal comma is accepted, thousands separators not."""
    cleaned = text.strip().replace(" ", "").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@register
class Numerical(QuestionType):
    """A number within ``tolerance`` of an answer's ``value`` earns its fraction."""

    qtype = "numerical"
    label = "Numerical"
    template = "courses/questions/text.html"

    def validate(self, data: Mapping[str, Any]) -> None:
        answers = data.get("answers") or []
        if not any(float(a.get("fraction", 0)) >= 1 for a in answers):
            raise QuestionDataError("no numerical answer earns full marks")
        for answer in answers:
            if float(answer.get("tolerance", 0)) < 0:
                raise QuestionDataError("a tolerance must not be negative")

    def grade(self, data: Mapping[str, Any], response: Mapping[str, Any]) -> Grade:
        value = parse_number(str(response.get("text") or ""))
        if value is None:
            return Grade(0.0, [])
        matches = [
            a
            for a in data["answers"]
            if abs(value - float(a["value"])) <= float(a.get("tolerance", 0)) + 1e-12
        ]
        if not matches:
            return Grade(
                0.0, [str(data["wrong_feedback"])] if data.get("wrong_feedback") else []
            )
        best = max(matches, key=lambda a: float(a["fraction"]))
        feedback = [str(best["feedback"])] if best.get("feedback") else []
        return Grade(clamp(float(best["fraction"])), feedback)

    def correct_answer(self, data: Mapping[str, Any]) -> str:
        best = max(data["answers"], key=lambda a: float(a["fraction"]))
        tolerance = float(best.get("tolerance", 0))
        return f"{best['value']:g}" + (f" ± {tolerance:g}" if tolerance else "")


@register
class Matching(QuestionType):
    """Each prompt is matched with one answer; each right match earns its share.

    Pairs without a prompt are distractors: their answers are offered but match
    nothing.
    """

    qtype = "matching"
    label = "Matching"
    template = "courses/questions/matching.html"
    shuffled = "answers"

    def validate(self, data: Mapping[str, Any]) -> None:
        prompts = [p for p in data.get("pairs") or [] if p.get("prompt")]
        if len(prompts) < 2:
            raise QuestionDataError("a matching question needs at least two pairs")

    @staticmethod
    def answer_choices(data: Mapping[str, Any]) -> list[dict[str, str]]:
        """The distinct answer texts, each with the id of its first pair."""
        seen: dict[str, str] = {}
        for pair in data["pairs"]:
            seen.setdefault(str(pair["answer"]), str(pair["id"]))
        return [{"id": pair_id, "text": text} for text, pair_id in seen.items()]

    def public_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "prompts": [
                {"id": p["id"], "text": p["prompt"]}
                for p in data["pairs"]
                if p["prompt"]
            ],
            "answers": self.answer_choices(data),
        }

    def read_form(self, prefix: str, form: Mapping[str, Any]) -> dict[str, Any]:
        matches = {}
        for key in form:
            if key.startswith(prefix + "-"):
                matches[key[len(prefix) + 1 :][:20]] = str(form[key])[:20]
        return {"matches": matches}

    def map_ids(
        self, response: Mapping[str, Any], option: IdMap, prompt: IdMap
    ) -> dict[str, Any]:
        matches = {}
        for prompt_id, answer_id in (response.get("matches") or {}).items():
            mapped_prompt = prompt(str(prompt_id))
            if mapped_prompt is not None:
                matches[mapped_prompt] = option(str(answer_id))
        return {"matches": {k: v for k, v in matches.items() if v is not None}}

    def form_fields(self, prefix: str, response: Mapping[str, Any]) -> list[list[str]]:
        matches = response.get("matches") or {}
        return [[f"{prefix}-{p}", str(a)] for p, a in matches.items()]

    def grade(self, data: Mapping[str, Any], response: Mapping[str, Any]) -> Grade:
        matches = response.get("matches") or {}
        texts = {str(p["id"]): str(p["answer"]) for p in data["pairs"]}
        prompts = [p for p in data["pairs"] if p["prompt"]]
        right = sum(
            1
            for p in prompts
            if texts.get(str(matches.get(str(p["id"])))) == p["answer"]
        )
        return Grade(right / len(prompts), [])

    def correct_answer(self, data: Mapping[str, Any]) -> str:
        return "; ".join(
            f"{p['prompt']} → {p['answer']}" for p in data["pairs"] if p["prompt"]
        )


@register
class Ordering(QuestionType):
    """Items put in order; each item in its right position earns its share."""

    qtype = "ordering"
    label = "Ordering"
    template = "courses/questions/ordering.html"
    shuffled = "items"

    def validate(self, data: Mapping[str, Any]) -> None:
        if len(data.get("items") or []) < 2:
            raise QuestionDataError("an ordering question needs at least two items")

    def public_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"items": [{"id": i["id"], "text": i["text"]} for i in data["items"]]}

    def read_form(self, prefix: str, form: Mapping[str, Any]) -> dict[str, Any]:
        # Each item has a position field; items are sorted by the typed position.
        positions = []
        for key in form:
            if key.startswith(prefix + "-"):
                number = parse_number(str(form[key]))
                positions.append((number if number is not None else 1e9, key))
        positions.sort()
        return {"order": [key[len(prefix) + 1 :][:20] for _n, key in positions]}

    def map_ids(
        self, response: Mapping[str, Any], option: IdMap, prompt: IdMap
    ) -> dict[str, Any]:
        mapped = (option(str(i)) for i in response.get("order") or [])
        return {"order": [i for i in mapped if i is not None]}

    def form_fields(self, prefix: str, response: Mapping[str, Any]) -> list[list[str]]:
        order = response.get("order") or []
        return [[f"{prefix}-{item}", str(n)] for n, item in enumerate(order, start=1)]

    def grade(self, data: Mapping[str, Any], response: Mapping[str, Any]) -> Grade:
        order = [str(i) for i in response.get("order") or []]
        right = [str(i["id"]) for i in data["items"]]
        hits = sum(1 for a, b in zip(order, right, strict=False) if a == b)
        return Grade(hits / len(right), [])

    def correct_answer(self, data: Mapping[str, Any]) -> str:
        return " → ".join(str(i["text"]) for i in data["items"])


@register
class Essay(QuestionType):
    """A written answer graded by a person, or by the writing scorer.

    With ``grader = "writing"`` the fraction is the writing score over 100.
    """

    qtype = "essay"
    label = "Essay"
    template = "courses/questions/essay.html"
    feedback_reveals_key = False

    def validate(self, data: Mapping[str, Any]) -> None:
        if data.get("grader", "manual") not in ("manual", "writing"):
            raise QuestionDataError(f"unknown essay grader {data.get('grader')!r}")

    def public_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {"min_words": int(data.get("min_words") or 0)}

    def grade(self, data: Mapping[str, Any], response: Mapping[str, Any]) -> Grade:
        text = str(response.get("text") or "")
        if not text.strip():
            return Grade(0.0, [])
        if data.get("grader", "manual") == "manual":
            return Grade(None, [])
        from scoring.writing import assess_writing

        result = assess_writing(
            text, checker=_grammar_checker(), min_words=int(data.get("min_words") or 0)
        )
        messages = [str(m["message"]) for m in result.get("style", [])][:5]
        details = {
            "scorer": "writing",
            "score": result["score"],
            "subscores": result.get("subscores", {}),
        }
        if result["score"] is None:
            # The scorer withheld the score (text that is mostly not English),
            # so a person grades the essay, as with the manual grader.
            details["withheld"] = result["withheld"]
            details["review_reasons"] = result["review_reasons"]
            return Grade(None, messages, details)
        return Grade(clamp(float(result["score"]) / 100), messages, details)


@register
class ChatReply(QuestionType):
    """A reply to a customer's chat message, scored by the etiquette scorer."""

    qtype = "chat_reply"
    label = "Chat reply"
    template = "courses/questions/chat_reply.html"
    feedback_reveals_key = False

    def validate(self, data: Mapping[str, Any]) -> None:
        if not str(data.get("customer_message") or "").strip():
            raise QuestionDataError("a chat-reply question needs a customer message")

    def public_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        # The name is shown because the grade expects the reply to use it.
        return {
            "customer_message": data["customer_message"],
            "customer_name": data.get("customer_name") or None,
        }

    def grade(self, data: Mapping[str, Any], response: Mapping[str, Any]) -> Grade:
        from scoring.etiquette import score_reply

        text = str(response.get("text") or "")
        if not text.strip():
            return Grade(0.0, [])
        result = score_reply(
            str(data["customer_message"]),
            text,
            checker=_grammar_checker(),
            customer_name=data.get("customer_name") or None,
        )
        messages = [str(f["message"]) for f in result.get("findings", [])][:8]
        details = {
            "scorer": result["scorer"],
            "version": result["version"],
            "score": result["score"],
            "subscores": result["subscores"],
            "findings": result["findings"],
        }
        return Grade(clamp(float(result["score"]) / 100), messages, details)


def _grammar_checker() -> Any:
    """The configured grammar checker of the running app, one per process."""
    from flask import current_app

    from scoring.grammar import get_checker

    config = current_app.config
    return get_checker(
        config["GRAMMAR_BACKEND"], languagetool_url=config["LANGUAGETOOL_URL"]
    )


@register
class Description(QuestionType):
    """Text shown between questions; it has no answer and no grade."""

    qtype = "description"
    label = "Description"
    template = "courses/questions/description.html"
    gradable = False

    def grade(self, data: Mapping[str, Any], response: Mapping[str, Any]) -> Grade:
        return Grade(None)
