"""Demo data: accounts, an opening with content in every stage, and candidates.

Seeding is idempotent: every row is looked up by a natural key first, so a
second run changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from app import ROOT, db
from assessments.models import Assessment, Attempt, Item
from assessments.services import start_attempt, submit_audio, submit_text
from courses.demo import seed_demo_learning
from recruit.auth import create_user, find_user
from recruit.demo_funnel import seed_funnel_demo
from recruit.demo_stages import add_stage_content
from recruit.models import Application, Opening, Role, StageKind, User
from recruit.screening import knockout_questions, submit_screening
from recruit.services import apply, create_opening

log = logging.getLogger(__name__)

DEMO_PASSWORD = "frontline-demo"  # noqa: S105 - a published password for demo accounts
DEMO_ACCOUNTS = (
    ("admin@example.com", "Ada Admin", Role.ADMIN),
    ("recruiter@example.com", "Rui Recruiter", Role.RECRUITER),
    ("candidate@example.com", "Casey Candidate", Role.CANDIDATE),
)
DEMO_OPENING = "Live chat agent, English (US online shops)"
DEMO_AUDIO = ROOT / "tests" / "data" / "audio"

WRITING_PROMPT = (
    'A customer writes: "I ordered a blender two weeks ago (order #48213) and it '
    "still hasn't arrived. The tracking page hasn't changed in five days. I needed "
    "it for my daughter's birthday this weekend. What is going on?\"\n\n"
    "Write your reply to the customer by email."
)
READ_ALOUD_TEXT = "But if they cooperate, they may benefit from the situation."
OPEN_PROMPT = (
    "Tell us about a time you helped someone solve a problem. What did you do, "
    "and how did it end? Speak for 30 to 90 seconds."
)


@dataclass(frozen=True)
class DemoCandidate:
    email: str
    name: str
    reply: str
    read_aloud_audio: str
    open_audio: str


DEMO_CANDIDATES = (
    DemoCandidate(
        "maria.lopez@example.com",
        "María López",
        "Dear customer,\n\nThank you for contacting us, and I am sorry that your "
        "blender has not arrived yet. I understand how stressful this is with your "
        "daughter's birthday coming up. I have checked order #48213: the parcel is "
        "held at the regional depot because of a damaged address label. I have "
        "corrected the address and asked the carrier to deliver it by Friday. If it "
        "does not arrive by then, I will send a replacement by express shipping at "
        "no cost to you.\n\nCould you let me know whether this solves the problem? "
        "Kind regards,\nMaría",
        "speechocean762/011560068.wav",
        "whisper_jfk.flac",
    ),
    DemoCandidate(
        "kenji.sato@example.com",
        "Kenji Sato",
        "Hello, thank you for your message. I am sorry for the delay of your order. "
        "I checked the order 48213 and the tracking is not update since five days, "
        "so I will ask to the carrier what happen. Maybe the parcel is lost. If it is "
        "lost we can send you a new blender or give you the refund, what you prefer. "
        "I hope it arrive before the birthday of your daughter. Best regards.",
        "so762_011560068.m4a",
        "speechocean762/005630315.wav",
    ),
    DemoCandidate(
        "sam.okoro@example.com",
        "Sam Okoro",
        "hi, sorry ur order is late!!! pls wait some more days, the shipping company "
        "is VERY slow this week. i cant do nothing now. thx",
        "speechocean762/080020003.wav",
        "speechocean762/096080006.wav",
    ),
)


def seed_demo() -> list[str]:
    """Load the demo accounts, opening and candidates; return what was added."""
    added = [
        f"account {email}"
        for email, name, role in DEMO_ACCOUNTS
        if _account(email, name, role)
    ]
    opening, parts = ensure_demo_opening()
    added.extend(parts)
    for candidate in DEMO_CANDIDATES:
        if find_user(candidate.email) is None:
            _demo_application(opening, candidate)
            added.append(f"candidate {candidate.email}")
    added += seed_demo_learning(opening.id)
    db.session.commit()
    added += seed_funnel_demo(DEMO_PASSWORD)
    return added


def ensure_demo_opening() -> tuple[Opening, list[str]]:
    """Return the demo opening with content in every stage, adding what is missing.

    The list names what was added.
    """
    added = []
    opening = db.session.scalar(select(Opening).filter_by(title=DEMO_OPENING))
    if opening is None:
        opening = _demo_opening()
        added.append(f"opening {opening.title!r}")
    added.extend(f"{part} of the demo opening" for part in add_stage_content(opening))
    return opening, added


def _account(email: str, name: str, role: Role) -> User | None:
    if find_user(email):
        return None
    return create_user(email, name, DEMO_PASSWORD, role, demo=True)


def _demo_opening() -> Opening:
    opening = create_opening(
        DEMO_OPENING,
        description=(
            "Answer shoppers' questions by live chat for online shops in the United "
            "States: orders, deliveries, returns and refunds. Full-time, remote, with "
            "day, evening and night shifts."
        ),
        location="Remote",
        languages=["en"],
    )
    stage = opening.stage(StageKind.LANGUAGE)
    assert stage is not None
    assessment = Assessment(
        stage=stage,
        title="English: writing and speaking",
        language="en",
        instructions=(
            "Write one email reply and record two short spoken answers. Your answers "
            "are saved as you go."
        ),
        time_limit_s=45 * 60,
    )
    assessment.items = [
        Item(
            kind="writing", position=1, prompt=WRITING_PROMPT, config={"min_words": 80}
        ),
        Item(
            kind="speaking",
            position=2,
            prompt="Read this sentence aloud, clearly and at a natural pace.",
            config={
                "mode": "read_aloud",
                "prompt_text": READ_ALOUD_TEXT,
                "max_seconds": 30,
            },
        ),
        Item(
            kind="speaking",
            position=3,
            prompt=OPEN_PROMPT,
            config={"mode": "open", "min_seconds": 30, "max_seconds": 120},
        ),
    ]
    db.session.add(assessment)
    db.session.commit()
    return opening


def _demo_application(opening: Opening, candidate: DemoCandidate) -> None:
    """Apply as a demo candidate and submit answers; the worker scores them."""
    user = create_user(
        candidate.email, candidate.name, DEMO_PASSWORD, Role.CANDIDATE, demo=True
    )
    application = apply(user, opening)
    _pass_screening(application, opening)
    stage = opening.stage(StageKind.LANGUAGE)
    assert stage is not None
    assessment = stage.assessments[0]
    attempt: Attempt = start_attempt(application.id, assessment)
    writing, read_aloud, open_answer = assessment.items
    submit_text(attempt, writing, candidate.reply)
    for item, name in (
        (read_aloud, candidate.read_aloud_audio),
        (open_answer, candidate.open_audio),
    ):
        _submit_demo_audio(attempt, item, DEMO_AUDIO / name)


def _pass_screening(application: Application, opening: Opening) -> None:
    answers = {
        question.id: question.accepted[0] for question in knockout_questions(opening.id)
    }
    submit_screening(
        application,
        phone=None,
        country="US",
        time_zone="America/Chicago",
        languages=[{"code": "en", "level": "C1"}],
        shifts=["day", "evening", "night"],
        answers=answers,
    )


def _submit_demo_audio(attempt: Attempt, item: Item, path: Path) -> None:
    if not path.is_file():
        log.warning("demo audio %s is missing; that answer is left empty", path)
        return
    with open(path, "rb") as handle:
        submit_audio(attempt, item, handle, path.name, None)
