"""Courses, question banks, quizzes, enrolments, progress and certificates.

Users and openings belong to ``recruit``; the foreign keys name their tables
(``user.id``, ``opening.id``) and relationships name ``User`` by string, so this
package needs no import of the pipeline's models.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import UTCDateTime, db, enum_type, utcnow


class StepKind(enum.StrEnum):
    LESSON = "lesson"
    QUIZ = "quiz"
    PRACTICE = "practice"  # a quiz of chat-reply exercises


class GradingMethod(enum.StrEnum):
    HIGHEST = "highest"
    LAST = "last"
    AVERAGE = "average"


class ReviewAnswers(enum.StrEnum):
    """When the review of an attempt shows right answers and answer feedback."""

    EACH_ATTEMPT = "each_attempt"
    # After the trainee's last allowed attempt, or once an attempt passes.
    LAST_OR_PASS = "last_or_pass"  # noqa: S105 - a setting, not a password
    NEVER = "never"


class AttemptState(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    NEEDS_GRADING = "needs_grading"  # an essay waits for a grader
    GRADED = "graded"


class EnrolmentSource(enum.StrEnum):
    HIRE = "hire"
    ADMIN = "admin"


class Course(db.Model):
    __tablename__ = "course"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    steps: Mapped[list[CourseStep]] = relationship(
        back_populates="course",
        order_by="CourseStep.position",
        cascade="all, delete-orphan",
    )


class CourseStep(db.Model):
    """One entry of a course's outline: a lesson to read, a quiz or a chat practice."""

    __tablename__ = "course_step"
    __table_args__ = (
        UniqueConstraint("course_id", "position"),
        CheckConstraint(
            "kind = 'lesson' OR quiz_id IS NOT NULL", name="quiz_step_has_quiz"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[StepKind] = mapped_column(enum_type(StepKind, "step_kind"))
    title: Mapped[str] = mapped_column(String(200))
    # Markdown, rendered and sanitised on display.
    body: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[int] = mapped_column(default=3)
    # A funnel sub-score that recommends this lesson when it is low, e.g. "writing".
    topic: Mapped[str | None] = mapped_column(String(40))
    quiz_id: Mapped[int | None] = mapped_column(ForeignKey("quiz.id"))

    course: Mapped[Course] = relationship(back_populates="steps")
    quiz: Mapped[Quiz | None] = relationship()


class CourseOpening(db.Model):
    """An onboarding course that a hire for the opening is enrolled in."""

    __tablename__ = "course_opening"
    __table_args__ = (UniqueConstraint("course_id", "opening_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    opening_id: Mapped[int] = mapped_column(
        ForeignKey("opening.id", ondelete="CASCADE"), index=True
    )

    course: Mapped[Course] = relationship()


class QuestionBank(db.Model):
    __tablename__ = "question_bank"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    categories: Mapped[list[QuestionCategory]] = relationship(
        back_populates="bank",
        order_by="QuestionCategory.path",
        cascade="all, delete-orphan",
    )


class QuestionCategory(db.Model):
    """A category of a bank, named by its path as in Moodle (``top/Etiquette``)."""

    __tablename__ = "question_category"
    __table_args__ = (UniqueConstraint("bank_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(
        ForeignKey("question_bank.id", ondelete="CASCADE")
    )
    path: Mapped[str] = mapped_column(String(500))

    bank: Mapped[QuestionBank] = relationship(back_populates="categories")
    questions: Mapped[list[Question]] = relationship(
        back_populates="category",
        order_by="Question.id",
        cascade="all, delete-orphan",
    )


class Question(db.Model):
    """A question; ``qtype`` selects its class in ``courses.qtypes.REGISTRY``."""

    __tablename__ = "question"
    __table_args__ = (
        CheckConstraint("default_grade >= 0", name="default_grade_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("question_category.id", ondelete="CASCADE"), index=True
    )
    qtype: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(255), default="")
    # The stem as imported: "html" (sanitised), "markdown", "plain" or "moodle".
    text: Mapped[str] = mapped_column(Text)
    text_format: Mapped[str] = mapped_column(String(10), default="moodle")
    general_feedback: Mapped[str] = mapped_column(Text, default="")
    # Type-specific options, answers and per-answer feedback; never sent to a
    # browser before the attempt is submitted.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    default_grade: Mapped[float] = mapped_column(Float, default=1.0)
    id_number: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    category: Mapped[QuestionCategory] = relationship(back_populates="questions")


class Quiz(db.Model):
    __tablename__ = "quiz"
    __table_args__ = (
        CheckConstraint("pass_mark >= 0 AND pass_mark <= 100", name="pass_mark_range"),
        CheckConstraint(
            "max_attempts IS NULL OR max_attempts > 0", name="max_attempts_positive"
        ),
        CheckConstraint(
            "time_limit_s IS NULL OR time_limit_s > 0", name="time_limit_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    pass_mark: Mapped[float] = mapped_column(Float, default=70.0)
    max_attempts: Mapped[int | None]
    time_limit_s: Mapped[int | None]
    grading_method: Mapped[GradingMethod] = mapped_column(
        enum_type(GradingMethod, "grading_method"), default=GradingMethod.HIGHEST
    )
    shuffle_questions: Mapped[bool] = mapped_column(default=True)
    shuffle_options: Mapped[bool] = mapped_column(default=True)
    # Right answers from a shared bank stay hidden while the trainee can still
    # try again, unless the quiz says otherwise.
    review_answers: Mapped[ReviewAnswers] = mapped_column(
        enum_type(ReviewAnswers, "review_answers"),
        default=ReviewAnswers.LAST_OR_PASS,
        server_default=ReviewAnswers.LAST_OR_PASS.value,
    )
    # Overall feedback bands: [{"min": 80, "text": "..."}], highest first wins.
    feedback: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    rules: Mapped[list[QuizRule]] = relationship(
        back_populates="quiz", order_by="QuizRule.id", cascade="all, delete-orphan"
    )


class QuizRule(db.Model):
    """Draw ``count`` random questions from a category (all of them when empty)."""

    __tablename__ = "quiz_rule"
    __table_args__ = (
        CheckConstraint("count IS NULL OR count > 0", name="count_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id", ondelete="CASCADE"))
    category_id: Mapped[int] = mapped_column(
        ForeignKey("question_category.id", ondelete="CASCADE")
    )
    count: Mapped[int | None]

    quiz: Mapped[Quiz] = relationship(back_populates="rules")
    category: Mapped[QuestionCategory] = relationship()


class QuizAttempt(db.Model):
    """One sitting of a quiz, with the question and option order it was shown in."""

    __tablename__ = "quiz_attempt"
    __table_args__ = (
        UniqueConstraint("quiz_id", "user_id", "number"),
        CheckConstraint(
            "state = 'in_progress' OR submitted_at IS NOT NULL",
            name="submitted_has_time",
        ),
        CheckConstraint(
            "score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"
        ),
        Index("ix_quiz_attempt_state_deadline", "state", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    number: Mapped[int]
    state: Mapped[AttemptState] = mapped_column(
        enum_type(AttemptState, "quiz_attempt_state"),
        default=AttemptState.IN_PROGRESS,
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Writes after this instant are rejected and the attempt is closed.
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # True when the server closed the attempt at its deadline.
    auto_submitted: Mapped[bool] = mapped_column(default=False)
    score: Mapped[float | None]
    # [{"question_id": 3, "options": ["o2", "o1"]}] in the order shown.
    layout: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    quiz: Mapped[Quiz] = relationship()
    answers: Mapped[list[QuizAnswer]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan"
    )

    def answer_for(self, question_id: int) -> QuizAnswer | None:
        return next((a for a in self.answers if a.question_id == question_id), None)


class QuizAnswer(db.Model):
    """The saved response to one question of an attempt, and its grade."""

    __tablename__ = "quiz_answer"
    __table_args__ = (
        UniqueConstraint("attempt_id", "question_id"),
        CheckConstraint(
            "fraction IS NULL OR (fraction >= 0 AND fraction <= 1)",
            name="fraction_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("quiz_attempt.id", ondelete="CASCADE")
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    response: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Counts the writes to this row, starting at 1. An attempt page sends the
    # revision it showed, so a save from a page that is behind (another tab)
    # cannot overwrite a newer answer, and concurrent writes fail.
    revision: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    # Share of the question's marks, 0..1; empty until graded.
    fraction: Mapped[float | None] = mapped_column(Float)
    feedback: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Scorer output kept as evidence, e.g. the etiquette deductions.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    needs_grading: Mapped[bool] = mapped_column(default=False)

    attempt: Mapped[QuizAttempt] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()

    __mapper_args__ = {"version_id_col": revision}


class Enrolment(db.Model):
    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    source: Mapped[EnrolmentSource] = mapped_column(
        enum_type(EnrolmentSource, "enrolment_source")
    )
    opening_id: Mapped[int | None] = mapped_column(
        ForeignKey("opening.id", ondelete="SET NULL")
    )
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    course: Mapped[Course] = relationship()
    user: Mapped[Any] = relationship("User")
    progress: Mapped[list[StepProgress]] = relationship(
        back_populates="enrolment", cascade="all, delete-orphan"
    )
    certificates: Mapped[list[Certificate]] = relationship(
        back_populates="enrolment", order_by="Certificate.issued_at"
    )


class StepProgress(db.Model):
    """A lesson that the trainee has read."""

    __tablename__ = "step_progress"
    __table_args__ = (UniqueConstraint("enrolment_id", "step_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="CASCADE")
    )
    step_id: Mapped[int] = mapped_column(
        ForeignKey("course_step.id", ondelete="CASCADE")
    )
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    enrolment: Mapped[Enrolment] = relationship(back_populates="progress")


class Certificate(db.Model):
    """An issued certificate; at most one per enrolment is not revoked."""

    __tablename__ = "certificate"
    __table_args__ = (
        Index(
            "uq_certificate_active_enrolment",
            "enrolment_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
        CheckConstraint(
            "revoked_at IS NULL OR revoked_reason IS NOT NULL",
            name="revoked_has_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="CASCADE"), index=True
    )
    # The public ID printed on the certificate: a random serial and its HMAC.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    course_title: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(Text)

    enrolment: Mapped[Enrolment] = relationship(back_populates="certificates")
