"""Models of ranking and decisions: overrides, audit log, pipeline history,
notifications, self-reported demographics, API tokens and webhooks.

Imported at the end of ``recruit.models``; import the names from there.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import UTCDateTime, db, enum_type, utcnow
from recruit.models import (
    Application,
    ApplicationStatus,
    Opening,
    Stage,
    StageResult,
    User,
)

# A person is hired into one opening at most. SQLite and PostgreSQL both enforce
# a partial unique index, so two concurrent hires cannot both commit.
Index(
    "uq_application_one_hire_per_candidate",
    Application.candidate_id,
    unique=True,
    sqlite_where=text(f"status = '{ApplicationStatus.HIRED.value}'"),
    postgresql_where=text(f"status = '{ApplicationStatus.HIRED.value}'"),
)
# The pipeline board reads this.
Index(
    "ix_application_opening_stage_entered",
    Application.opening_id,
    Application.current_stage_id,
    Application.stage_entered_at,
)
# The ranking's sorts read their first page straight from these indexes. The
# expressions match ``recruit.ranking.low_if_missing`` exactly, which is what
# lets SQLite and PostgreSQL use them.
_MISSING_LOW = literal_column("-1")
Index(
    "ix_application_rank",
    Application.opening_id,
    Application.knocked_out,
    func.coalesce(Application.composite_score, _MISSING_LOW).desc(),
    func.coalesce(Application.language_score, _MISSING_LOW).desc(),
    Application.created_at,
    Application.id,
)
Index(
    "ix_application_opening_composite",
    Application.opening_id,
    func.coalesce(Application.composite_score, _MISSING_LOW).desc(),
    Application.id,
)
Index(
    "ix_application_opening_language",
    Application.opening_id,
    func.coalesce(Application.language_score, _MISSING_LOW).desc(),
    Application.id,
)
Index("ix_application_opening_created", Application.opening_id, Application.created_at)
Index(
    "ix_application_opening_waited",
    Application.opening_id,
    Application.stage_entered_at,
)
# Sorting by one stage's score walks this; analytics read scores per stage.
Index(
    "ix_stage_result_stage_score",
    StageResult.stage_id,
    StageResult.score.desc(),
    StageResult.application_id,
)


class StageOverride(db.Model):
    """A recruiter's override of one stage of one application, with the reason.

    ``score`` replaces the computed stage score in the composite when set;
    ``waive_pass_mark`` lets a score below the pass mark through.
    """

    __tablename__ = "stage_override"
    __table_args__ = (
        UniqueConstraint("application_id", "stage_id"),
        CheckConstraint(
            "score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"
        ),
        CheckConstraint("length(reason) > 0", name="reason_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"))
    score: Mapped[float | None]
    waive_pass_mark: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    stage: Mapped[Stage] = relationship()
    author: Mapped[User] = relationship()


class AuditEvent(db.Model):
    """One human decision or setting change: who, when, before, after and why."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_application_created", "application_id", "created_at"),
        Index("ix_audit_event_subject_created", "subject_user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Null for the system, e.g. a re-ranking task.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(40), index=True)
    opening_id: Mapped[int | None] = mapped_column(
        ForeignKey("opening.id", ondelete="SET NULL")
    )
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("application.id", ondelete="SET NULL")
    )
    # The candidate the event concerns, so a person's decision log is one query.
    subject_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])


class StageTransition(db.Model):
    """An application entering a stage or changing status; the pipeline's history."""

    __tablename__ = "stage_transition"
    __table_args__ = (
        Index("ix_stage_transition_application_at", "application_id", "at"),
        Index("ix_stage_transition_at", "at", "id"),
        # Analytics read one opening's history in application order.
        Index("ix_stage_transition_opening", "opening_id", "application_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE")
    )
    opening_id: Mapped[int] = mapped_column(
        ForeignKey("opening.id", ondelete="CASCADE")
    )
    from_stage_id: Mapped[int | None] = mapped_column(
        ForeignKey("stage.id", ondelete="SET NULL")
    )
    to_stage_id: Mapped[int | None] = mapped_column(
        ForeignKey("stage.id", ondelete="SET NULL")
    )
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship()
    opening: Mapped[Opening] = relationship()
    from_stage: Mapped[Stage | None] = relationship(foreign_keys=[from_stage_id])
    to_stage: Mapped[Stage | None] = relationship(foreign_keys=[to_stage_id])


class ApplicationLanguage(db.Model):
    """A language of an application: claimed by the candidate or tested, for filters."""

    __tablename__ = "application_language"
    __table_args__ = (
        UniqueConstraint("application_id", "language"),
        Index("ix_application_language_language", "language", "application_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE")
    )
    # ISO 639-1 code.
    language: Mapped[str] = mapped_column(String(8))
    claimed_level: Mapped[str | None] = mapped_column(String(2))
    tested_score: Mapped[float | None]
    tested_cefr: Mapped[str | None] = mapped_column(String(2))


class Sex(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    DECLINED = "declined"


class RaceEthnicity(enum.StrEnum):
    """The EEO-1 race/ethnicity categories, plus a declined response."""

    HISPANIC_LATINO = "hispanic_latino"
    WHITE = "white"
    BLACK = "black"
    PACIFIC_ISLANDER = "pacific_islander"
    ASIAN = "asian"
    NATIVE_AMERICAN = "native_american"
    TWO_OR_MORE = "two_or_more"
    DECLINED = "declined"


class DemographicResponse(db.Model):
    """A person's voluntary self-report of sex and race/ethnicity.

    Kept apart from applications: it is read only by the aggregate fairness
    report, never shown beside a candidate and never used in scoring.
    """

    __tablename__ = "demographic_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), unique=True
    )
    sex: Mapped[Sex] = mapped_column(enum_type(Sex, "sex"))
    race_ethnicity: Mapped[RaceEthnicity] = mapped_column(
        enum_type(RaceEthnicity, "race_ethnicity"), default=RaceEthnicity.DECLINED
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Notification(db.Model):
    """One email for one event; ``key`` makes sending idempotent per event."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    template: Mapped[str] = mapped_column(String(40))
    recipient_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    recipient: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[NotificationStatus] = mapped_column(
        enum_type(NotificationStatus, "notification_status"),
        default=NotificationStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 digest is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the token, shown so its owner can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class Webhook(db.Model):
    """An applicant-tracking system's URL that receives signed events."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    # NOTE: the secret is stored in clear text, because signing needs it.
    secret: Mapped[str] = mapped_column(String(100))
    # Event names, e.g. ["stage_changed", "hired"].
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(db.Model):
    """One event for one webhook; the body is fixed when the event happens."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("webhook_id", "event_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhook.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(40))
    event_key: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_type(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    webhook: Mapped[Webhook] = relationship()
