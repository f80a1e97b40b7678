"""Candidate imports that run in the background, with their line-numbered report.

Imported at the end of ``recruit.models``; import the names from there.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import UTCDateTime, db, utcnow
from recruit.models import User


class ImportStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class CandidateImport(db.Model):
    """An uploaded CSV of candidates, stored before its Celery task is queued."""

    __tablename__ = "candidate_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255), default="")
    # The uploaded bytes; emptied once the import is done.
    data: Mapped[bytes] = mapped_column(LargeBinary)
    send_invitations: Mapped[bool] = mapped_column(default=False)
    # One of ImportStatus, kept as text so that no database enum type is needed.
    status: Mapped[str] = mapped_column(String(20), default=ImportStatus.PENDING)
    imported: Mapped[int] = mapped_column(default=0)
    new_accounts: Mapped[int] = mapped_column(default=0)
    # [[line number, message], ...]; line 0 concerns the whole file.
    rejected: Mapped[list[list]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_by: Mapped[User | None] = relationship()
