"""Item types answered by choosing: reasoning, judgement tests, questionnaires.

The answer arrives as form fields that ``read_answer`` turns into JSON text for
``Response.text``, or rejects with ValueError and a message for the candidate.
The keys stay in ``Item.config`` and item templates never render them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from assessments.items import ItemType, ScoreOutcome, register
from assessments.models import Item, Response
from scoring import judgement, questionnaire


def _index(value: str | None, count: int, message: str) -> int:
    if value is None or not value.isdigit() or int(value) >= count:
        raise ValueError(message)
    return int(value)


def _answer(response: Response) -> dict[str, Any]:
    try:
        answer = json.loads(response.text or "")
    except json.JSONDecodeError:
        raise ValueError(f"response {response.id} is not a stored choice") from None
    if not isinstance(answer, dict):
        raise ValueError(f"response {response.id} is not a stored choice")
    return answer


class FormItem(ItemType):
    """An item answered with form fields rather than free text or a recording."""

    answer = "form"

    def read_answer(self, item: Item, form: Mapping[str, str]) -> str:
        raise NotImplementedError


@register
class ChoiceItem(FormItem):
    """A reasoning question with one keyed option: ``options`` and ``answer``."""

    kind = "choice"
    label = "Question"
    template = "assessments/items/choice.html"

    def read_answer(self, item: Item, form: Mapping[str, str]) -> str:
        options = item.config["options"]
        choice = _index(form.get("choice"), len(options), "Choose one of the options.")
        return json.dumps({"choice": choice})

    def score(self, response: Response) -> ScoreOutcome:
        config = response.item.config
        result = judgement.score_choice(
            int(_answer(response)["choice"]),
            int(config["answer"]),
            len(config["options"]),
        )
        result["options"] = config["options"]
        return ScoreOutcome(
            "choice", judgement.VERSION, result["score"], None, {}, result
        )


@register
class JudgementItem(FormItem):
    """A customer scenario with responses to choose from or to rank.

    ``mode`` is ``best`` (``credits`` gives each option's expert credit 0-100)
    or ``rank`` (``key`` lists the options best first).
    """

    kind = "sjt"
    label = "Customer situation"
    template = "assessments/items/sjt.html"

    def read_answer(self, item: Item, form: Mapping[str, str]) -> str:
        count = len(item.config["options"])
        if item.config.get("mode") == "rank":
            places = [
                _index(
                    form.get(f"rank-{option}"),
                    count + 1,
                    f"Give every response a different place from 1 to {count}.",
                )
                for option in range(count)
            ]
            if sorted(places) != list(range(1, count + 1)):
                raise ValueError(
                    f"Give every response a different place from 1 to {count}."
                )
            ranking = sorted(range(count), key=lambda option: places[option])
            return json.dumps({"ranking": ranking})
        choice = _index(form.get("choice"), count, "Choose the best response.")
        return json.dumps({"choice": choice})

    def score(self, response: Response) -> ScoreOutcome:
        config = response.item.config
        answer = _answer(response)
        if config.get("mode") == "rank":
            result = judgement.score_ranking(answer["ranking"], config["key"])
        else:
            result = judgement.score_best(int(answer["choice"]), config["credits"])
        result["mode"] = config.get("mode", "best")
        result["options"] = config["options"]
        return ScoreOutcome("sjt", judgement.VERSION, result["score"], None, {}, result)


@register
class QuestionnaireItem(FormItem):
    """A Likert questionnaire: ``statements`` (id, text, reverse) and ``pairs``."""

    kind = "likert"
    label = "Questionnaire"
    template = "assessments/items/likert.html"

    def read_answer(self, item: Item, form: Mapping[str, str]) -> str:
        points = int(item.config.get("points", 5))
        answers = {}
        for statement in item.config["statements"]:
            value = form.get(f"s-{statement['id']}")
            if value is None or value not in {str(n) for n in range(1, points + 1)}:
                raise ValueError("Answer every statement before submitting.")
            answers[statement["id"]] = int(value)
        return json.dumps({"answers": answers})

    def score(self, response: Response) -> ScoreOutcome:
        config = response.item.config
        statements = [
            questionnaire.Statement(s["id"], s["text"], bool(s.get("reverse")))
            for s in config["statements"]
        ]
        pairs = [
            questionnaire.Pair(p["first"], p["second"], p["relation"])
            for p in config.get("pairs", [])
        ]
        answers = _answer(response)["answers"]
        result = questionnaire.score_questionnaire(
            statements, pairs, answers, points=int(config.get("points", 5))
        )
        result["answers"] = answers
        subscores = (
            {"consistency": result["consistency"]}
            if result["consistency"] is not None
            else {}
        )
        return ScoreOutcome(
            "likert",
            questionnaire.VERSION,
            result["score"],
            None,
            subscores,
            result,
            needs_review=result["needs_review"],
        )
