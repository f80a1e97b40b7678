"""The audit log: every human decision and setting change, with who, when and why."""

from __future__ import annotations

import logging
from typing import Any

from app import db
from recruit.models import Application, AuditEvent, User

audit_log = logging.getLogger("frontline.audit")


def record(
    action: str,
    *,
    actor: User | None,
    application: Application | None = None,
    opening_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    subject_user_id: int | None = None,
) -> AuditEvent:
    """Add an audit event to the session; the caller commits it with the change.

    The event concerns ``subject_user_id`` when given, else the application's
    candidate.
    """
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        application_id=application.id if application is not None else None,
        subject_user_id=(
            subject_user_id
            if subject_user_id is not None
            else (application.candidate_id if application is not None else None)
        ),
        opening_id=(
            opening_id
            if opening_id is not None
            else (application.opening_id if application is not None else None)
        ),
        before=before or {},
        after=after or {},
        reason=reason,
    )
    db.session.add(event)
    audit_log.info(
        "%s by user %s on application %s opening %s",
        action,
        event.actor_id,
        event.application_id,
        event.opening_id,
    )
    return event
