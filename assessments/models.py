"""Assessments, their items, and each candidate's attempts, responses and scores."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import UTCDateTime, db, enum_type, utcnow

if TYPE_CHECKING:
    from recruit.models import Application, Stage


class AttemptStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    SCORED = "scored"


class ResponseStatus(enum.StrEnum):
    DRAFT = "draft"  # autosaved, not yet submitted
    SUBMITTED = (
        "submitted"  # stored; a scoring task is queued or waiting for the broker
    )
    PROCESSING = "processing"
    SCORED = "scored"
    FAILED = "failed"  # scoring gave up; ``error`` says why


class Assessment(db.Model):
    """A test within a stage, such as the English writing and speaking tasks."""

    __tablename__ = "assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    # ISO 639-1 code for a language assessment, otherwise empty.
    language: Mapped[str | None] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(default=0)
    # Seconds from the start of an attempt; answers after it are kept and marked late.
    time_limit_s: Mapped[int | None]

    stage: Mapped[Stage] = relationship(back_populates="assessments")
    items: Mapped[list[Item]] = relationship(
        back_populates="assessment",
        order_by="Item.position",
        cascade="all, delete-orphan",
    )


class Item(db.Model):
    """One task of an assessment; ``kind`` selects its type in the item registry."""

    __tablename__ = "item"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)
    prompt: Mapped[str] = mapped_column(Text)
    # Type-specific settings, e.g. ``min_words`` or the read-aloud ``prompt_text``.
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    assessment: Mapped[Assessment] = relationship(back_populates="items")


class Attempt(db.Model):
    """One application's sitting of one assessment."""

    __tablename__ = "attempt"
    __table_args__ = (
        UniqueConstraint("application_id", "assessment_id"),
        CheckConstraint(
            "status = 'in_progress' OR submitted_at IS NOT NULL",
            name="submitted_has_time",
        ),
        CheckConstraint(
            "score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"))
    status: Mapped[AttemptStatus] = mapped_column(
        enum_type(AttemptStatus, "attempt_status"), default=AttemptStatus.IN_PROGRESS
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    score: Mapped[float | None]

    assessment: Mapped[Assessment] = relationship()
    # Named by string so that this package need not import the pipeline's models.
    application: Mapped[Application] = relationship("Application")
    responses: Mapped[list[Response]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan"
    )

    def response_for(self, item: Item) -> Response | None:
        return next((r for r in self.responses if r.item_id == item.id), None)


class Response(db.Model):
    """A candidate's answer to one item: text, or an audio file on the upload store."""

    __tablename__ = "response"
    __table_args__ = (
        UniqueConstraint("attempt_id", "item_id"),
        CheckConstraint(
            "status = 'draft' OR submitted_at IS NOT NULL", name="submitted_has_time"
        ),
        Index("ix_response_status_queued_at", "status", "queued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempt.id", ondelete="CASCADE")
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    text: Mapped[str | None] = mapped_column(Text)
    # Key of the audio file in the upload store, relative to its root.
    audio_key: Mapped[str | None] = mapped_column(String(255))
    audio_content_type: Mapped[str | None] = mapped_column(String(100))
    audio_bytes: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[ResponseStatus] = mapped_column(
        enum_type(ResponseStatus, "response_status"), default=ResponseStatus.DRAFT
    )
    error: Mapped[str | None] = mapped_column(Text)
    needs_review: Mapped[bool] = mapped_column(default=False)
    late: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the scoring task last reached the broker; empty until it has.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scoring_runs: Mapped[int] = mapped_column(default=0)

    attempt: Mapped[Attempt] = relationship(back_populates="responses")
    item: Mapped[Item] = relationship()
    scores: Mapped[list[Score]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )

    @property
    def score(self) -> Score | None:
        """The response's main score, from the scorer its item type names."""
        return self.scores[0] if self.scores else None

    @property
    def awaiting_review(self) -> bool:
        """True while the scorer's withheld score waits for a recruiter's review."""
        score = self.score
        return (
            self.status == ResponseStatus.SCORED
            and score is not None
            and score.score is None
            and bool(score.evidence.get("withheld"))
        )


class Score(db.Model):
    """A scorer's verdict on a response: sub-scores, evidence and provenance."""

    __tablename__ = "score"
    __table_args__ = (
        UniqueConstraint("response_id", "scorer"),
        CheckConstraint(
            "score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("response.id", ondelete="CASCADE"), index=True
    )
    scorer: Mapped[str] = mapped_column(String(40))
    scorer_version: Mapped[str] = mapped_column(String(40))
    # Null when nothing could be scored, e.g. a recording without speech.
    score: Mapped[float | None]
    cefr: Mapped[str | None] = mapped_column(String(2))
    subscores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    response: Mapped[Response] = relationship(back_populates="scores")


class ItemSession(db.Model):
    """Server-side state of a timed item, such as when a typing test was served."""

    __tablename__ = "item_session"
    __table_args__ = (UniqueConstraint("attempt_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempt.id", ondelete="CASCADE")
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Type-specific measurements, e.g. the typing test's keystroke summary.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SimulationStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class SimulationRun(db.Model):
    """A candidate's chat with a simulated customer, for one simulation item."""

    __tablename__ = "simulation_run"
    __table_args__ = (
        UniqueConstraint("attempt_id", "item_id"),
        CheckConstraint(
            "status = 'active' OR ended_at IS NOT NULL", name="ended_has_time"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempt.id", ondelete="CASCADE")
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    scenario: Mapped[str] = mapped_column(String(80))
    # The scenario state the customer is in.
    state: Mapped[str] = mapped_column(String(80))
    status: Mapped[SimulationStatus] = mapped_column(
        enum_type(SimulationStatus, "simulation_status"),
        default=SimulationStatus.ACTIVE,
    )
    # "resolved", "ended_by_agent" or "turn_limit".
    end_reason: Mapped[str | None] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    messages: Mapped[list[SimulationMessage]] = relationship(
        back_populates="run",
        order_by="SimulationMessage.position",
        cascade="all, delete-orphan",
    )


class SimulationMessage(db.Model):
    """One message of a simulated chat, time-stamped by the server."""

    __tablename__ = "simulation_message"
    __table_args__ = (
        UniqueConstraint("run_id", "position"),
        CheckConstraint("role IN ('customer', 'agent')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("simulation_run.id", ondelete="CASCADE")
    )
    position: Mapped[int]
    role: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The intents an agent message matched, and the state after the message.
    intents: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(80))

    run: Mapped[SimulationRun] = relationship(back_populates="messages")
