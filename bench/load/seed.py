"""Seed the load benchmark's opening and candidate accounts through the services."""

from __future__ import annotations

from dataclasses import dataclass

from app import db
from assessments.models import Assessment, Item
from recruit.auth import create_user
from recruit.models import Role, StageKind
from recruit.services import create_opening

OPENING_TITLE = "Live chat agent, English (load benchmark)"
WRITING_PROMPT = (
    'A customer writes: "My order #48213 was due on Monday and the tracking page '
    'has not changed for five days. Where is it?" Write your reply.'
)
# The words of the JFK clip that every simulated candidate uploads.
READ_ALOUD_TEXT = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)


@dataclass(frozen=True)
class Seeded:
    """The ids and emails that the simulated candidates need."""

    opening_id: int
    writing_item_id: int
    speaking_item_id: int
    emails: list[str]


def candidate_email(number: int) -> str:
    return f"load-candidate-{number:04d}@example.com"


def seed_load_opening(candidates: int, password: str) -> Seeded:
    """Create and commit the opening and ``candidates`` candidate accounts.

    The opening's screening stage is switched off, so an application starts at
    the language stage: one written reply and one read-aloud recording.
    """
    opening = create_opening(
        OPENING_TITLE,
        description="Answer shoppers' questions by live chat.",
        location="Remote",
    )
    screening = opening.stage(StageKind.SCREENING)
    language = opening.stage(StageKind.LANGUAGE)
    assert screening is not None and language is not None
    screening.enabled = False
    writing = Item(
        kind="writing", position=1, prompt=WRITING_PROMPT, config={"min_words": 60}
    )
    speaking = Item(
        kind="speaking",
        position=2,
        prompt="Read this sentence aloud, clearly and at a natural pace.",
        config={
            "mode": "read_aloud",
            "prompt_text": READ_ALOUD_TEXT,
            "max_seconds": 30,
        },
    )
    assessment = Assessment(
        stage=language, title="English: writing and speaking", language="en"
    )
    assessment.items = [writing, speaking]
    db.session.add(assessment)
    db.session.commit()

    emails = [candidate_email(number) for number in range(1, candidates + 1)]
    for number, email in enumerate(emails, start=1):
        create_user(email, f"Load Candidate {number}", password, Role.CANDIDATE)
    return Seeded(opening.id, writing.id, speaking.id, emails)
