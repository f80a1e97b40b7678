"""Item types: a registry so that a new kind of task is one class.

Each type says how its answer arrives (typed text or an audio file), which
template renders it, and how a response to it is scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from flask import current_app

from assessments.models import Item, Response
from assessments.storage import get_storage
from scoring.errors import AudioError


class RecordAgain(ValueError):
    """The recording holds nothing to score, so the candidate should record again."""


@dataclass
class ScoreOutcome:
    """What a scorer made of one response, ready to store as a ``Score`` row."""

    scorer: str
    version: str
    score: float | None
    cefr: str | None
    subscores: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    needs_review: bool = False


class ItemType:
    kind: ClassVar[str]
    label: ClassVar[str]
    answer: ClassVar[str]  # "text" or "audio"
    template: ClassVar[str]

    def score(self, response: Response) -> ScoreOutcome:
        raise NotImplementedError


REGISTRY: dict[str, ItemType] = {}


def register(item_type: type[ItemType]) -> type[ItemType]:
    REGISTRY[item_type.kind] = item_type()
    return item_type


def item_type(item: Item) -> ItemType:
    """Return the type of ``item``; an unknown kind is a configuration error."""
    try:
        return REGISTRY[item.kind]
    except KeyError:
        raise LookupError(f"item {item.id} has unknown kind {item.kind!r}") from None


@register
class WritingItem(ItemType):
    """A written reply, checked for grammar, style, vocabulary and length."""

    kind = "writing"
    label = "Written task"
    answer = "text"
    template = "assessments/items/writing.html"

    def score(self, response: Response) -> ScoreOutcome:
        from scoring.grammar import get_checker
        from scoring.writing import assess_writing

        config = current_app.config
        checker = get_checker(
            config["GRAMMAR_BACKEND"], languagetool_url=config["LANGUAGETOOL_URL"]
        )
        language = response.item.assessment.language or "en"
        result = assess_writing(
            response.text or "",
            checker=checker,
            language=language,
            min_words=int(response.item.config.get("min_words", 0)),
        )
        return ScoreOutcome(
            scorer=result["scorer"],
            version=f"{result['version']}+{checker.name}-{checker.version}",
            score=result["score"],
            cefr=result["cefr"],
            subscores=result.get("subscores", {}),
            evidence=result,
            needs_review=bool(result.get("needs_review", False)),
        )


@register
class SpeakingItem(ItemType):
    """A recorded answer, transcribed by Whisper and scored for fluency.

    ``config["mode"]`` is ``read_aloud`` (the candidate reads ``prompt_text``) or
    ``open`` (a free answer to the prompt).
    """

    kind = "speaking"
    label = "Speaking task"
    answer = "audio"
    template = "assessments/items/speaking.html"

    def score(self, response: Response) -> ScoreOutcome:
        from scoring.adapters.whisper import get_model
        from scoring.speech import assess_speaking

        config = current_app.config
        if not response.audio_key:
            raise ValueError(f"response {response.id} has no audio")
        path = get_storage().path(response.audio_key)
        read_aloud = response.item.config.get("mode") == "read_aloud"
        try:
            result = assess_speaking(
                path,
                prompt_text=response.item.config.get("prompt_text")
                if read_aloud
                else None,
                model=get_model(
                    config["WHISPER_MODEL"], config["WHISPER_COMPUTE_TYPE"]
                ),
                max_duration_s=float(config["MAX_AUDIO_SECONDS"]),
                min_answer_s=response.item.config.get("min_seconds"),
            )
        except AudioError as error:
            # The stored file's name means nothing to the candidate.
            message = str(error).replace(str(path), "the recording")
            raise type(error)(message.replace(path.name, "the recording")) from error
        if result["no_speech"]:
            raise RecordAgain(
                "No speech was heard in the recording. Check that your microphone "
                "works, then record the answer again."
            )
        return ScoreOutcome(
            scorer=result["scorer"],
            version=result["version"],
            score=result["score"],
            cefr=result["cefr"],
            subscores=result.get("subscores", {}),
            evidence=result,
            needs_review=bool(result["needs_review"] or result["no_speech"]),
        )


# The item types of the communication, attitude and troubleshooting stages.
from assessments import items_chat, items_keyed  # noqa: E402, F401
