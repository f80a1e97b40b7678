"""Builders of test rows: openings with a language stage, applications, attempts."""

from __future__ import annotations

from app import db
from assessments.models import Assessment, Item
from recruit.models import Opening, StageKind
from recruit.services import create_opening

JFK_SENTENCE = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)
WRITING_PROMPT = "A customer's parcel is late. Write your reply."


def language_opening(
    title: str = "Chat agent",
    *,
    read_aloud_text: str = JFK_SENTENCE,
    min_words: int = 20,
    time_limit_s: int | None = None,
) -> Opening:
    """An opening whose language stage has a writing, a read-aloud and an open task.

    Its screening stage is switched off, so applications start at the language
    stage.
    """
    opening = create_opening(title, description="Answer customers by chat.")
    screening = opening.stage(StageKind.SCREENING)
    assert screening is not None
    screening.enabled = False
    stage = opening.stage(StageKind.LANGUAGE)
    assert stage is not None
    assessment = Assessment(
        stage=stage, title="English", language="en", time_limit_s=time_limit_s
    )
    assessment.items = [
        Item(
            kind="writing",
            position=1,
            prompt=WRITING_PROMPT,
            config={"min_words": min_words},
        ),
        Item(
            kind="speaking",
            position=2,
            prompt="Read aloud.",
            config={"mode": "read_aloud", "prompt_text": read_aloud_text},
        ),
        Item(
            kind="speaking",
            position=3,
            prompt="Tell us about yourself.",
            config={"mode": "open"},
        ),
    ]
    db.session.add(assessment)
    db.session.commit()
    return opening


def funnel_opening(title: str = "Chat agent", *, screening: bool = True) -> Opening:
    """An opening with content in every stage: the language tasks above and the
    demo content of the screening, communication, attitude, troubleshooting and
    interview stages."""
    from recruit.demo_stages import add_stage_content

    opening = language_opening(title)
    stage = opening.stage(StageKind.SCREENING)
    assert stage is not None
    stage.enabled = screening
    db.session.commit()
    add_stage_content(opening)
    return opening
