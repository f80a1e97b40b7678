"""Quiz attempts: drawing and shuffling questions, saving, deadlines, grading.

The time limit is enforced here, on the server: ``deadline`` is fixed when the
attempt starts, a save after it is rejected, and an attempt found past its
deadline (on access, by the Celery task queued for its deadline, or by the
sweep) is submitted with the answers saved before it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app import db, utcnow
from courses.models import (
    AttemptState,
    GradingMethod,
    Question,
    Quiz,
    QuizAnswer,
    QuizAttempt,
)
from courses.qtypes import get_type

log = logging.getLogger(__name__)
audit = logging.getLogger("frontline.audit")

# Shuffling needs no secrecy, but SystemRandom needs no seeding either.
_random = random.SystemRandom()


class QuizError(Exception):
    """A request the quiz flow rejects, with a message for the trainee."""

    status_code = 400


class AttemptClosed(QuizError):
    status_code = 409


class AttemptLimitReached(QuizError):
    status_code = 403


def attempt_token(attempt: QuizAttempt) -> str:
    """Compute the key that a page of this attempt sends with each save.

    It stands in for the CSRF token on saves, so that answers typed before a
    session or CSRF token expired are still stored: only a page rendered for
    this trainee and attempt carries it.
    """
    key = current_app.config["SECRET_KEY"].encode()
    message = f"quiz-attempt:{attempt.id}:{attempt.user_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:40]


def check_attempt_token(attempt: QuizAttempt, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(attempt_token(attempt), str(token))


# Keys of a question's public data whose entries carry an id, and the kind of
# id each is: answer options (choices, matching answers, ordering items) or
# matching prompts. The two kinds get different tokens, because a matching
# answer's id is the id of its pair's prompt.
PUBLIC_ID_KINDS = {
    "options": "option",
    "answers": "option",
    "items": "option",
    "prompts": "prompt",
}


def option_token(attempt: QuizAttempt, question_id: int, kind: str, key: str) -> str:
    """Compute the identifier that the attempt page shows for an option or prompt.

    Stored ids (``o1``, ``p1``, ``i1``) follow the order of the imported file, so
    they would show which option came first or which answer belongs to which
    prompt. The page shows an HMAC of the attempt, question and id instead: it
    differs in every attempt and stays the same when the page is reloaded.
    """
    secret = current_app.config["SECRET_KEY"].encode()
    message = f"quiz-option:{attempt.id}:{question_id}:{kind}:{key}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:16]


def tokenise_public(
    attempt: QuizAttempt, question_id: int, public: dict[str, Any]
) -> dict[str, Any]:
    """Replace the stored ids in a question's public data with page tokens."""
    for key, kind in PUBLIC_ID_KINDS.items():
        if key in public:
            public[key] = [
                {**entry, "id": option_token(attempt, question_id, kind, entry["id"])}
                for entry in public[key]
            ]
    return public


def _token_table(attempt: QuizAttempt, question: Question) -> dict[str, dict[str, str]]:
    """Map each kind of id to {stored id: page token} for one question."""
    public = get_type(question.qtype).public_data(question.data)
    table: dict[str, dict[str, str]] = {"option": {}, "prompt": {}}
    for key, kind in PUBLIC_ID_KINDS.items():
        for entry in public.get(key, []):
            stored = str(entry["id"])
            table[kind][stored] = option_token(attempt, question.id, kind, stored)
    return table


def response_to_page(
    attempt: QuizAttempt, question: Question, response: Mapping[str, Any]
) -> dict[str, Any]:
    """Translate a stored response to the page tokens of this attempt."""
    table = _token_table(attempt, question)
    return get_type(question.qtype).map_ids(
        response, table["option"].get, table["prompt"].get
    )


def response_from_page(
    attempt: QuizAttempt, question: Question, response: Mapping[str, Any]
) -> dict[str, Any]:
    """Translate a posted response from page tokens to stored ids.

    Unknown tokens are dropped, so a posted stored id counts as no answer.
    """
    table = _token_table(attempt, question)
    options = {token: stored for stored, token in table["option"].items()}
    prompts = {token: stored for stored, token in table["prompt"].items()}
    return get_type(question.qtype).map_ids(response, options.get, prompts.get)


def draw_questions(quiz: Quiz) -> list[Question]:
    """Draw each rule's number of random questions from its category."""
    drawn: list[Question] = []
    for rule in quiz.rules:
        pool = [
            q
            for q in rule.category.questions
            if get_type(q.qtype).gradable and q not in drawn
        ]
        count = len(pool) if rule.count is None else min(rule.count, len(pool))
        drawn.extend(
            _random.sample(pool, count) if quiz.shuffle_questions else pool[:count]
        )
    if quiz.shuffle_questions:
        _random.shuffle(drawn)
    return drawn


def build_layout(quiz: Quiz, questions: Sequence[Question]) -> list[dict[str, Any]]:
    layout = []
    for question in questions:
        key = get_type(question.qtype).shuffled
        options: list[str] = []
        if key == "answers":  # matching: the answer choices
            from courses.qtypes import Matching

            options = [a["id"] for a in Matching.answer_choices(question.data)]
        elif key:
            options = [str(entry["id"]) for entry in question.data[key]]
        if options and (quiz.shuffle_options or key in ("items", "answers")):
            # Ordering items and matching answers are always shuffled: in the
            # stored order, they would show the right order or pairs.
            _random.shuffle(options)
        layout.append({"question_id": question.id, "options": options})
    return layout


def start_attempt(user_id: int, quiz: Quiz) -> QuizAttempt:
    """Resume the open attempt, or start a new one within the attempt limit."""
    attempts = list(
        db.session.scalars(
            select(QuizAttempt).filter_by(user_id=user_id, quiz_id=quiz.id)
        )
    )
    for attempt in attempts:
        if attempt.state == AttemptState.IN_PROGRESS and not close_if_expired(attempt):
            return attempt
    if quiz.max_attempts is not None and len(attempts) >= quiz.max_attempts:
        raise AttemptLimitReached(
            "You have used your only attempt at this quiz."
            if quiz.max_attempts == 1
            else f"You have used all {quiz.max_attempts} attempts at this quiz."
        )
    questions = draw_questions(quiz)
    if not questions:
        raise QuizError("This quiz has no questions yet.")
    now = utcnow()
    attempt = QuizAttempt(
        quiz_id=quiz.id,
        user_id=user_id,
        number=len(attempts) + 1,
        started_at=now,
        deadline=now + timedelta(seconds=quiz.time_limit_s)
        if quiz.time_limit_s
        else None,
        layout=build_layout(quiz, questions),
    )
    db.session.add(attempt)
    try:
        db.session.commit()
    except IntegrityError:  # two tabs started attempt N at once
        db.session.rollback()
        return start_attempt(user_id, quiz)
    log.info("user %s started attempt %s at quiz %s", user_id, attempt.id, quiz.id)
    if attempt.deadline is not None:
        from courses.tasks import queue_deadline

        queue_deadline(attempt)
    return attempt


def is_expired(attempt: QuizAttempt, now: datetime | None = None) -> bool:
    return attempt.deadline is not None and (now or utcnow()) > attempt.deadline


def close_if_expired(attempt: QuizAttempt, now: datetime | None = None) -> bool:
    """Submit an open attempt whose deadline has passed; True if it was closed."""
    if attempt.state != AttemptState.IN_PROGRESS or not is_expired(attempt, now):
        return False
    submit_attempt(attempt, auto=True)
    return True


def save_answers(
    attempt: QuizAttempt,
    responses: Mapping[int, Mapping[str, Any]],
    now: datetime | None = None,
    revisions: Mapping[int, int] | None = None,
) -> list[QuizAnswer]:
    """Store responses to questions of the attempt; rejected after its deadline.

    ``revisions`` maps a question id to the answer revision that the page
    showed (0 for none). A changed response from a page that is behind an
    answer saved since, e.g. by another tab, is not stored: the newer answer
    is kept and returned among the conflicts. The other responses are stored.
    """
    for _try in range(2):
        if close_if_expired(attempt, now):
            raise AttemptClosed(
                "The time limit has passed. The answers saved before it were submitted."
            )
        if attempt.state != AttemptState.IN_PROGRESS:
            raise AttemptClosed("This attempt was already submitted.")
        conflicts = _store_responses(attempt, responses, now or utcnow(), revisions)
        try:
            db.session.commit()
        except (IntegrityError, StaleDataError):
            # Another request wrote one of these answers since they were read,
            # so read them again and compare with what that request stored.
            db.session.rollback()
            log.info("attempt %s: concurrent answer save, retrying", attempt.id)
            continue
        return conflicts
    raise AttemptClosed("Answers are being saved from another tab. Reload the page.")


def _store_responses(
    attempt: QuizAttempt,
    responses: Mapping[int, Mapping[str, Any]],
    saved_at: datetime,
    revisions: Mapping[int, int] | None,
) -> list[QuizAnswer]:
    allowed = {entry["question_id"] for entry in attempt.layout}
    conflicts = []
    for question_id, response in responses.items():
        if question_id not in allowed:
            raise QuizError(f"Question {question_id} is not part of this attempt.")
        answer = attempt.answer_for(question_id)
        if answer is not None and answer.response == dict(response):
            continue
        if (
            answer is not None
            and revisions is not None
            and answer.revision > revisions.get(question_id, 0)
        ):
            conflicts.append(answer)
            continue
        if answer is None:
            answer = QuizAnswer(question_id=question_id)
            attempt.answers.append(answer)
        answer.response = dict(response)
        answer.saved_at = saved_at
    return conflicts


def questions_of(attempt: QuizAttempt) -> list[Question]:
    ids = [entry["question_id"] for entry in attempt.layout]
    by_id = {
        q.id: q
        for q in db.session.scalars(select(Question).where(Question.id.in_(ids)))
    }
    return [by_id[i] for i in ids if i in by_id]


def submit_attempt(attempt: QuizAttempt, *, auto: bool = False) -> QuizAttempt:
    """Grade every question of the attempt with the answers saved so far."""
    if attempt.state != AttemptState.IN_PROGRESS:
        return attempt
    for question in questions_of(attempt):
        answer = attempt.answer_for(question.id)
        if answer is None:
            answer = QuizAnswer(question_id=question.id, response={})
            attempt.answers.append(answer)
        grade_answer(answer, question)
    # An attempt closed by the server ends at its deadline, however late the
    # closing ran.
    attempt.submitted_at = attempt.deadline if auto and attempt.deadline else utcnow()
    attempt.auto_submitted = auto
    rescore(attempt)
    audit.info(
        "quiz attempt %s submitted%s: user=%s score=%s",
        attempt.id,
        " at its deadline" if auto else "",
        attempt.user_id,
        attempt.score,
    )
    from courses.services import refresh_user_completions

    refresh_user_completions(attempt.user_id)
    return attempt


def grade_answer(answer: QuizAnswer, question: Question) -> None:
    grade = get_type(question.qtype).grade(question.data, answer.response or {})
    answer.fraction = grade.fraction
    answer.feedback = grade.feedback
    answer.details = grade.details
    answer.needs_grading = grade.fraction is None


def rescore(attempt: QuizAttempt) -> None:
    """Compute the attempt's score; it waits while an answer needs a grader."""
    questions = {q.id: q for q in questions_of(attempt)}
    total = sum(q.default_grade for q in questions.values()) or 1.0
    if any(a.needs_grading for a in attempt.answers):
        attempt.state = AttemptState.NEEDS_GRADING
        attempt.score = None
    else:
        earned = sum(
            (a.fraction or 0.0) * questions[a.question_id].default_grade
            for a in attempt.answers
            if a.question_id in questions
        )
        attempt.state = AttemptState.GRADED
        attempt.score = round(100 * earned / total, 2)
    db.session.commit()


def grade_by_hand(
    answer: QuizAnswer, fraction: float, feedback: str, grader_id: int
) -> None:
    """Store a grader's mark for an essay and rescore its attempt."""
    if not 0 <= fraction <= 1:
        raise QuizError("The mark must lie between 0 and the question's full marks.")
    answer.fraction = fraction
    answer.needs_grading = False
    answer.feedback = [feedback] if feedback.strip() else []
    answer.details = {**(answer.details or {}), "graded_by": grader_id}
    rescore(answer.attempt)
    audit.info(
        "answer %s graded by hand by user %s: %.2f", answer.id, grader_id, fraction
    )
    from courses.services import refresh_user_completions

    refresh_user_completions(answer.attempt.user_id)


def final_grade(quiz: Quiz, attempts: Sequence[QuizAttempt]) -> float | None:
    """Combine the graded attempts by the quiz's grading method."""
    graded = [
        a for a in attempts if a.state == AttemptState.GRADED and a.score is not None
    ]
    if not graded:
        return None
    scores = [a.score for a in sorted(graded, key=lambda a: a.number)]
    if quiz.grading_method == GradingMethod.LAST:
        return scores[-1]
    if quiz.grading_method == GradingMethod.AVERAGE:
        return round(fmean(scores), 2)
    return max(scores)


def overall_feedback(quiz: Quiz, score: float | None) -> str:
    if score is None:
        return ""
    for band in sorted(quiz.feedback, key=lambda b: -float(b.get("min", 0))):
        if score >= float(band.get("min", 0)):
            return str(band.get("text", ""))
    return ""


def close_expired_attempts(now: datetime | None = None) -> int:
    """Submit every open attempt whose deadline has passed; return how many."""
    now = now or utcnow()
    expired = db.session.scalars(
        select(QuizAttempt).where(
            QuizAttempt.state == AttemptState.IN_PROGRESS,
            QuizAttempt.deadline.is_not(None),
            QuizAttempt.deadline < now,
        )
    ).all()
    for attempt in expired:
        submit_attempt(attempt, auto=True)
    if expired:
        log.info("closed %d quiz attempts past their deadline", len(expired))
    return len(expired)


def attempt_count(user_id: int, quiz: Quiz) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(QuizAttempt)
            .filter_by(user_id=user_id, quiz_id=quiz.id)
        )
        or 0
    )
