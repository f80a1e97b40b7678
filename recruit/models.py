"""People and the hiring pipeline: users, openings, stages, applications."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app import UTCDateTime, db, enum_type, utcnow

if TYPE_CHECKING:
    from assessments.models import Assessment


class Role(enum.StrEnum):
    ADMIN = "admin"
    RECRUITER = "recruiter"
    CANDIDATE = "candidate"
    TRAINEE = "trainee"


class StageKind(enum.StrEnum):
    SCREENING = "screening"
    LANGUAGE = "language"
    COMMUNICATION = "communication"
    ATTITUDE = "attitude"
    TROUBLESHOOTING = "troubleshooting"
    INTERVIEW = "interview"


class ApplicationStatus(enum.StrEnum):
    ACTIVE = "active"
    HOLD = "hold"
    REJECTED = "rejected"
    HIRED = "hired"
    WITHDRAWN = "withdrawn"


# Starts the password hash of an account that has no password yet.
UNUSABLE_PASSWORD_PREFIX = "!"  # noqa: S105 - a marker, not a password


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role, "user_role"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # An account of the demo data: no email is sent to it or about it.
    demo: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Part of every session's user id: raising it on logout or a new password
    # ends the account's sessions everywhere, copied cookies included.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    applications: Mapped[list[Application]] = relationship(back_populates="candidate")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def end_sessions(self) -> None:
        """Invalidate every session of this account at its next request."""
        self.session_version = (self.session_version or 0) + 1

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def set_unusable_password(self) -> None:
        """Leave the account without a password until an invitation sets one.

        The random tail keeps each account's invitation token distinct, and no
        password hash starts with the marker, so no password matches it.
        """
        self.password_hash = UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(24)

    @property
    def has_password(self) -> bool:
        return not self.password_hash.startswith(UNUSABLE_PASSWORD_PREFIX)

    def check_password(self, password: str) -> bool:
        if not self.has_password:
            return False
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses to log in inactive users.
        return self.active

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


class Opening(db.Model):
    __tablename__ = "opening"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    # ISO 639-1 codes of the languages the language stage tests.
    languages: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["en"])
    is_open: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    stages: Mapped[list[Stage]] = relationship(
        back_populates="opening",
        order_by="Stage.position",
        cascade="all, delete-orphan",
    )
    applications: Mapped[list[Application]] = relationship(back_populates="opening")

    def stage(self, kind: StageKind) -> Stage | None:
        return next((stage for stage in self.stages if stage.kind == kind), None)


class Stage(db.Model):
    """One step of an opening's pipeline, with its weight in the composite."""

    __tablename__ = "stage"
    __table_args__ = (
        UniqueConstraint("opening_id", "kind"),
        UniqueConstraint("opening_id", "position"),
        CheckConstraint("weight >= 0", name="weight_not_negative"),
        CheckConstraint("pass_mark >= 0 AND pass_mark <= 100", name="pass_mark_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opening_id: Mapped[int] = mapped_column(
        ForeignKey("opening.id", ondelete="CASCADE")
    )
    kind: Mapped[StageKind] = mapped_column(enum_type(StageKind, "stage_kind"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    pass_mark: Mapped[float] = mapped_column(Float, default=50.0)
    enabled: Mapped[bool] = mapped_column(default=True)

    opening: Mapped[Opening] = relationship(back_populates="stages")
    assessments: Mapped[list[Assessment]] = relationship(
        back_populates="stage",
        order_by="Assessment.position",
        cascade="all, delete-orphan",
    )


class Application(db.Model):
    """A candidate's application to one opening, with its cached ranking keys."""

    __tablename__ = "application"
    __table_args__ = (
        UniqueConstraint("candidate_id", "opening_id"),
        CheckConstraint(
            "composite_score IS NULL OR "
            "(composite_score >= 0 AND composite_score <= 100)",
            name="composite_range",
        ),
        Index(
            "ix_application_ranking",
            "opening_id",
            "status",
            "composite_score",
            "language_score",
            "created_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    opening_id: Mapped[int] = mapped_column(ForeignKey("opening.id"))
    current_stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id"))
    status: Mapped[ApplicationStatus] = mapped_column(
        enum_type(ApplicationStatus, "application_status"),
        default=ApplicationStatus.ACTIVE,
    )
    composite_score: Mapped[float | None]
    language_score: Mapped[float | None]
    language_cefr: Mapped[str | None] = mapped_column(String(2))
    knocked_out: Mapped[bool] = mapped_column(default=False)
    needs_review: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )
    stage_entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    candidate: Mapped[User] = relationship(back_populates="applications")
    opening: Mapped[Opening] = relationship(back_populates="applications")
    current_stage: Mapped[Stage | None] = relationship()
    stage_results: Mapped[list[StageResult]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )

    def result_for(self, stage: Stage) -> StageResult | None:
        return next((r for r in self.stage_results if r.stage_id == stage.id), None)


class StageResult(db.Model):
    """The score of one stage of one application, recomputed from its attempts."""

    __tablename__ = "stage_result"
    __table_args__ = (
        UniqueConstraint("application_id", "stage_id"),
        CheckConstraint(
            "score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE")
    )
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id", ondelete="CASCADE"))
    score: Mapped[float | None]
    passed: Mapped[bool | None]
    complete: Mapped[bool] = mapped_column(default=False)
    needs_review: Mapped[bool] = mapped_column(default=False)
    # Per-part breakdown, e.g. the score and CEFR band of each language.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )

    application: Mapped[Application] = relationship(back_populates="stage_results")
    stage: Mapped[Stage] = relationship()


class LoginFailure(db.Model):
    """A failed log-in, kept for a while to slow down password guessing."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_email_at", "email", "at"),
        Index("ix_login_failure_ip_address_at", "ip_address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip_address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KnockoutQuestion(db.Model):
    """A required screening question of an opening, with the answers it accepts."""

    __tablename__ = "knockout_question"
    __table_args__ = (
        UniqueConstraint("opening_id", "position"),
        CheckConstraint("kind IN ('yes_no', 'choice')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opening_id: Mapped[int] = mapped_column(
        ForeignKey("opening.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    # "yes_no", or "choice" for one of ``options``.
    kind: Mapped[str] = mapped_column(String(20))
    # The options of a "choice" question; "yes_no" questions use ["yes", "no"].
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The answers that let the application continue; any other closes it.
    accepted: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Shown to recruiters when this question closes an application.
    reason: Mapped[str] = mapped_column(Text, default="")

    opening: Mapped[Opening] = relationship()


class Screening(db.Model):
    """An application's screening form: profile, languages, shifts, knock-outs."""

    __tablename__ = "screening"
    __table_args__ = (
        UniqueConstraint("application_id"),
        CheckConstraint("passed OR reason IS NOT NULL", name="knocked_out_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE")
    )
    phone: Mapped[str | None] = mapped_column(String(40))
    # ISO 3166-1 alpha-2 code.
    country: Mapped[str] = mapped_column(String(2))
    # IANA time zone name, such as "America/Chicago".
    time_zone: Mapped[str] = mapped_column(String(64))
    # [{"code": ISO 639-1 code, "level": CEFR band}, ...]
    languages: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # Any of "day", "evening", "night", "weekend".
    shifts: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Knock-out answers by question id (as a string, because JSON keys are).
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    passed: Mapped[bool]
    # Why a failed knock-out closed the application.
    reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    application: Mapped[Application] = relationship()


class InterviewCompetency(db.Model):
    """A competency of an interview stage's scorecard, with its 1-5 anchors."""

    __tablename__ = "interview_competency"
    __table_args__ = (UniqueConstraint("stage_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(
        ForeignKey("stage.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # What each rating means: {"1": "...", ..., "5": "..."}.
    anchors: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    stage: Mapped[Stage] = relationship()


class Scorecard(db.Model):
    """One recruiter's interview scorecard for one application."""

    __tablename__ = "scorecard"
    __table_args__ = (UniqueConstraint("application_id", "recruiter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    recruiter_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    notes: Mapped[str] = mapped_column(Text, default="")
    # Empty while the scorecard is a draft; only submitted scorecards count.
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )

    application: Mapped[Application] = relationship()
    recruiter: Mapped[User] = relationship()
    ratings: Mapped[list[ScorecardRating]] = relationship(
        back_populates="scorecard", cascade="all, delete-orphan"
    )


class ScorecardRating(db.Model):
    """A 1-5 rating of one competency on one scorecard, with a note."""

    __tablename__ = "scorecard_rating"
    __table_args__ = (
        UniqueConstraint("scorecard_id", "competency_id"),
        CheckConstraint("rating >= 1 AND rating <= 5", name="rating_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(
        ForeignKey("scorecard.id", ondelete="CASCADE")
    )
    competency_id: Mapped[int] = mapped_column(
        ForeignKey("interview_competency.id", ondelete="CASCADE")
    )
    rating: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")

    scorecard: Mapped[Scorecard] = relationship(back_populates="ratings")
    competency: Mapped[InterviewCompetency] = relationship()


# Ranking, decisions and imports live in their own modules; importing them registers
# the tables with the rest of the pipeline's models.
from recruit.models_imports import CandidateImport, ImportStatus  # noqa: E402
from recruit.models_ranking import (  # noqa: E402
    ApiToken,
    ApplicationLanguage,
    AuditEvent,
    DeliveryStatus,
    DemographicResponse,
    Notification,
    NotificationStatus,
    RaceEthnicity,
    Sex,
    StageOverride,
    StageTransition,
    Webhook,
    WebhookDelivery,
)

__all__ = [
    "ApiToken",
    "Application",
    "ApplicationLanguage",
    "ApplicationStatus",
    "AuditEvent",
    "CandidateImport",
    "DeliveryStatus",
    "DemographicResponse",
    "ImportStatus",
    "Notification",
    "NotificationStatus",
    "Opening",
    "RaceEthnicity",
    "Role",
    "Sex",
    "Stage",
    "StageKind",
    "StageOverride",
    "StageResult",
    "StageTransition",
    "User",
    "Webhook",
    "WebhookDelivery",
]
