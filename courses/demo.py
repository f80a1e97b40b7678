"""The default course "Live chat etiquette" and a hired demo trainee.

Seeding is idempotent: the bank, the course and the trainee are looked up by
name first, so a second run changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from app import db
from courses.banks import get_bank, get_category, import_questions
from courses.models import (
    Course,
    CourseStep,
    GradingMethod,
    Quiz,
    QuizRule,
    StepKind,
)
from courses.services import attach_course, enrol_on_hire

log = logging.getLogger(__name__)

CONTENT = Path(__file__).resolve().parent / "content"
COURSE_TITLE = "Live chat etiquette"
BANK_NAME = "Live chat etiquette"
CATEGORY_PREFIX = "Live chat etiquette/"
TRAINEE = ("trainee@example.com", "Zoë Ångström")


@dataclass(frozen=True)
class Lesson:
    file: str
    title: str
    minutes: int
    topic: str = ""


@dataclass(frozen=True)
class QuizPlan:
    title: str
    kind: StepKind
    # (category under CATEGORY_PREFIX, questions drawn; None draws all)
    rules: tuple[tuple[str, int | None], ...]
    pass_mark: float
    max_attempts: int | None
    time_limit_s: int | None
    intro: str


LESSONS = {
    "why": Lesson("01-why-live-chat.md", "Why live chat matters", 3),
    "speed": Lesson(
        "02-first-response.md", "First response time", 4, "etiquette.timing"
    ),
    "language": Lesson(
        "03-clear-language.md",
        "Clear and correct language",
        4,
        "writing,writing.accuracy,writing.vocabulary,etiquette.clarity",
    ),
    "customer": Lesson(
        "04-customer-first.md",
        "Putting the customer first",
        4,
        "etiquette,etiquette.courtesy",
    ),
    "calm": Lesson(
        "05-staying-calm.md", "Staying calm", 3, "etiquette,etiquette.courtesy"
    ),
    "accuracy": Lesson("06-accurate-solutions.md", "Accurate solutions", 3),
    "feedback": Lesson(
        "07-asking-for-feedback.md", "Asking for feedback", 3, "etiquette.courtesy"
    ),
}
CHECK_QUIZ = QuizPlan(
    "Check: speed and first replies",
    StepKind.QUIZ,
    (("Speed", 4),),
    70.0,
    None,
    10 * 60,
    "Four questions on first replies. You can try as often as you like.",
)
PRACTICE = QuizPlan(
    "Chat practice: difficult first replies",
    StepKind.PRACTICE,
    (("Practice", None),),
    85.0,
    None,
    None,
    "Write a reply to each customer as you would in a real chat. The etiquette "
    "scorer marks greeting, tone, clarity and empathy, and tells you what to "
    "improve.",
)
FINAL_QUIZ = QuizPlan(
    "Final quiz: live chat etiquette",
    StepKind.QUIZ,
    tuple(
        (category, 2)
        for category in (
            "Speed",
            "Language",
            "Customer first",
            "Calm",
            "Accuracy",
            "Feedback",
        )
    ),
    75.0,
    3,
    20 * 60,
    "Twelve questions drawn at random from every lesson. Three attempts; your "
    "best counts.",
)
OUTLINE = (
    "why",
    "speed",
    CHECK_QUIZ,
    "language",
    "customer",
    "calm",
    PRACTICE,
    "accuracy",
    "feedback",
    FINAL_QUIZ,
)
FEEDBACK_BANDS = [
    {"min": 90, "text": "Excellent: you know the standard well."},
    {"min": 75, "text": "Good: you passed. Review the questions you missed."},
    {"min": 0, "text": "Not yet: read the lessons again and try once more."},
]


def seed_course() -> list[str]:
    """Load the question bank and the course; return what was added."""
    added = []
    if get_bank(BANK_NAME) is None:
        summary = import_questions(
            (CONTENT / "etiquette.gift").read_bytes(),
            BANK_NAME,
            source="etiquette.gift",
        )
        added.append(f"question bank {BANK_NAME!r} ({summary.total} questions)")
    course = db.session.scalar(select(Course).filter_by(title=COURSE_TITLE))
    if course is None:
        course = _course()
        added.append(f"course {COURSE_TITLE!r}")
    return added


def _course() -> Course:
    bank = get_bank(BANK_NAME)
    assert bank is not None
    course = Course(
        title=COURSE_TITLE,
        description=(
            "The live-chat standard of the shops we serve: answer fast, write "
            "clearly, put the customer first, stay calm, give accurate answers "
            "and ask for feedback."
        ),
    )
    for position, entry in enumerate(OUTLINE, start=1):
        if isinstance(entry, str):
            lesson = LESSONS[entry]
            course.steps.append(
                CourseStep(
                    position=position,
                    kind=StepKind.LESSON,
                    title=lesson.title,
                    body=(CONTENT / lesson.file).read_text(encoding="utf-8"),
                    minutes=lesson.minutes,
                    topic=lesson.topic or None,
                )
            )
            continue
        quiz = Quiz(
            title=entry.title,
            intro=entry.intro,
            pass_mark=entry.pass_mark,
            max_attempts=entry.max_attempts,
            time_limit_s=entry.time_limit_s,
            grading_method=GradingMethod.HIGHEST,
            feedback=FEEDBACK_BANDS,
        )
        for category, count in entry.rules:
            quiz.rules.append(
                QuizRule(
                    category=get_category(bank, CATEGORY_PREFIX + category),
                    count=count,
                )
            )
        course.steps.append(
            CourseStep(position=position, kind=entry.kind, title=entry.title, quiz=quiz)
        )
    db.session.add(course)
    db.session.commit()
    log.info("created the course %r", course.title)
    return course


def seed_demo_learning(opening_id: int) -> list[str]:
    """Seed the course, attach it to the demo opening and enrol a hired trainee."""
    from recruit.auth import create_user, find_user
    from recruit.demo import DEMO_PASSWORD
    from recruit.models import ApplicationStatus, Opening, Role
    from recruit.services import apply

    added = seed_course()
    course = db.session.scalar(select(Course).filter_by(title=COURSE_TITLE))
    assert course is not None
    if attach_course(course, opening_id):
        added.append(f"course {COURSE_TITLE!r} as onboarding for the demo opening")
    email, name = TRAINEE
    user = find_user(email)
    if user is None:
        user = create_user(email, name, DEMO_PASSWORD, Role.CANDIDATE, demo=True)
        opening = db.get_or_404(Opening, opening_id)
        application = apply(user, opening)
        application.status = ApplicationStatus.HIRED
        db.session.commit()
        added.append(f"hired trainee {email} (password {DEMO_PASSWORD!r})")
    enrol_on_hire(user.id, opening_id)
    return added
