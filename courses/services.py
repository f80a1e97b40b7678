"""Enrolments, lesson progress and course completion."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app import db, utcnow
from courses.models import (
    AttemptState,
    Course,
    CourseOpening,
    CourseStep,
    Enrolment,
    EnrolmentSource,
    Quiz,
    QuizAttempt,
    ReviewAnswers,
    StepKind,
    StepProgress,
)
from courses.quizzes import final_grade

log = logging.getLogger(__name__)
audit = logging.getLogger("frontline.audit")


class CourseError(Exception):
    """A request the course flow rejects, with a message for the person."""

    status_code = 400


def enrol(
    user_id: int,
    course: Course,
    source: EnrolmentSource,
    opening_id: int | None = None,
) -> Enrolment:
    """Enrol a person in a course, or return the enrolment they already have."""
    existing = find_enrolment(user_id, course.id)
    if existing is not None:
        return existing
    enrolment = Enrolment(
        user_id=user_id, course_id=course.id, source=source, opening_id=opening_id
    )
    db.session.add(enrolment)
    try:
        db.session.commit()
    except IntegrityError:  # enrolled at the same moment by another request
        db.session.rollback()
        existing = find_enrolment(user_id, course.id)
        assert existing is not None
        return existing
    audit.info(
        "enrolled: user=%s course=%s source=%s", user_id, course.id, source.value
    )
    return enrolment


def find_enrolment(user_id: int, course_id: int) -> Enrolment | None:
    return db.session.scalar(
        select(Enrolment).filter_by(user_id=user_id, course_id=course_id)
    )


def onboarding_courses(opening_id: int) -> list[Course]:
    return list(
        db.session.scalars(
            select(Course)
            .join(CourseOpening, CourseOpening.course_id == Course.id)
            .where(CourseOpening.opening_id == opening_id)
            .order_by(Course.id)
        )
    )


def enrol_on_hire(user_id: int, opening_id: int) -> list[Enrolment]:
    """Enrol a new hire in the opening's onboarding courses; safe to call again.

    A hired candidate becomes a trainee, so that the learning pages open to them.
    """
    user_table = db.metadata.tables["user"]
    db.session.execute(
        update(user_table)
        .where(user_table.c.id == user_id, user_table.c.role == "candidate")
        .values(role="trainee")
    )
    db.session.commit()
    enrolments = [
        enrol(user_id, course, EnrolmentSource.HIRE, opening_id)
        for course in onboarding_courses(opening_id)
    ]
    log.info(
        "hire of user %s for opening %s: %d course(s)",
        user_id,
        opening_id,
        len(enrolments),
    )
    return enrolments


def attach_course(course: Course, opening_id: int) -> bool:
    """Link an onboarding course to an opening; False if it was linked already."""
    exists = db.session.scalar(
        select(CourseOpening).filter_by(course_id=course.id, opening_id=opening_id)
    )
    if exists:
        return False
    db.session.add(CourseOpening(course_id=course.id, opening_id=opening_id))
    db.session.commit()
    audit.info("course %s attached to opening %s", course.id, opening_id)
    return True


def detach_course(course: Course, opening_id: int) -> None:
    link = db.session.scalar(
        select(CourseOpening).filter_by(course_id=course.id, opening_id=opening_id)
    )
    if link is not None:
        db.session.delete(link)
        db.session.commit()
        audit.info("course %s detached from opening %s", course.id, opening_id)


def mark_read(enrolment: Enrolment, step: CourseStep) -> None:
    """Record that a lesson was read, then check whether the course is complete."""
    if step.course_id != enrolment.course_id or step.kind != StepKind.LESSON:
        raise CourseError("This lesson is not part of the course.")
    if not any(p.step_id == step.id for p in enrolment.progress):
        enrolment.progress.append(StepProgress(step_id=step.id))
        try:
            db.session.commit()
        except IntegrityError:  # a double click
            db.session.rollback()
    refresh_completion(enrolment)


@dataclass
class QuizStanding:
    grade: float | None  # by the quiz's grading method, 0-100
    passed: bool
    attempts: int
    pending: bool  # an attempt waits for a person to grade it
    in_progress: QuizAttempt | None


def quiz_standing(user_id: int, quiz: Quiz) -> QuizStanding:
    attempts = list(
        db.session.scalars(
            select(QuizAttempt)
            .filter_by(user_id=user_id, quiz_id=quiz.id)
            .order_by(QuizAttempt.number)
        )
    )
    grade = final_grade(quiz, attempts)
    return QuizStanding(
        grade=grade,
        passed=grade is not None and grade >= quiz.pass_mark,
        attempts=len(attempts),
        pending=any(a.state == AttemptState.NEEDS_GRADING for a in attempts),
        in_progress=next(
            (a for a in attempts if a.state == AttemptState.IN_PROGRESS), None
        ),
    )


def review_shows_answers(attempt: QuizAttempt) -> bool:
    """Decide whether the review of a submitted attempt shows the right answers.

    This covers the right answer, the feedback written for each answer and the
    question's general feedback, because all three can give the key away.
    """
    quiz = attempt.quiz
    if quiz.review_answers == ReviewAnswers.EACH_ATTEMPT:
        return True
    if quiz.review_answers == ReviewAnswers.NEVER:
        return False
    attempts = db.session.scalars(
        select(QuizAttempt).filter_by(user_id=attempt.user_id, quiz_id=quiz.id)
    ).all()
    passed = any(
        a.state == AttemptState.GRADED
        and a.score is not None
        and a.score >= quiz.pass_mark
        for a in attempts
    )
    out_of_attempts = (
        quiz.max_attempts is not None
        and len(attempts) >= quiz.max_attempts
        and all(a.state != AttemptState.IN_PROGRESS for a in attempts)
    )
    return passed or out_of_attempts


@dataclass
class StepState:
    step: CourseStep
    done: bool
    standing: QuizStanding | None = None


def outline(enrolment: Enrolment) -> list[StepState]:
    read = {p.step_id for p in enrolment.progress}
    states = []
    for step in enrolment.course.steps:
        if step.kind == StepKind.LESSON:
            states.append(StepState(step, step.id in read))
        else:
            assert step.quiz is not None
            standing = quiz_standing(enrolment.user_id, step.quiz)
            states.append(StepState(step, standing.passed, standing))
    return states


def is_complete(enrolment: Enrolment) -> bool:
    """Whether every lesson is read and every quiz and practice passed, now."""
    states = outline(enrolment)
    return bool(states) and all(state.done for state in states)


def progress_percent(enrolment: Enrolment) -> int:
    states = outline(enrolment)
    if not states:
        return 0
    return round(100 * sum(s.done for s in states) / len(states))


def refresh_completion(enrolment: Enrolment) -> bool:
    """Mark the enrolment complete once the rules hold and queue its certificate.

    Completion is recorded once; editing the course later does not undo it, and
    the certificate task checks the rules again before it issues anything.
    """
    if enrolment.completed_at is not None or not is_complete(enrolment):
        return False
    enrolment.completed_at = utcnow()
    db.session.commit()
    log.info("enrolment %s completed course %s", enrolment.id, enrolment.course_id)
    from courses.tasks import queue_certificate

    queue_certificate(enrolment.id)
    return True


def refresh_user_completions(user_id: int) -> None:
    """Re-check every enrolment of a person, e.g. after a quiz was graded."""
    for enrolment in db.session.scalars(select(Enrolment).filter_by(user_id=user_id)):
        refresh_completion(enrolment)
