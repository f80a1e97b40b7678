"""Personal API tokens: shown once, stored as a SHA-256 digest, revocable, expiring."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from sqlalchemy import select

from app import db, utcnow
from recruit import audit
from recruit.models import ApiToken, Role, User

log = logging.getLogger(__name__)

TOKEN_PREFIX = "flt_"  # noqa: S105 - a marker that starts every token, not a secret
# Roles whose members may hold API tokens; a token of anyone else is refused.
API_ROLES = (Role.RECRUITER, Role.ADMIN)


def digest(token: str) -> str:
    """Hash a token into its stored form.

    A token has 256 random bits, so a fast hash suffices, because a slow hash
    only helps against guessable secrets such as passwords.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str, days: int) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return the row and the token, shown only once."""
    if user.role not in API_ROLES:
        raise PermissionError("only recruiters and admins may hold API tokens")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name.strip(),
        prefix=token[:10],
        digest=digest(token),
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "create_api_token",
        actor=user,
        after={"token_id": row.id, "name": row.name, "days": days},
    )
    db.session.commit()
    return row, token


def revoke_token(row: ApiToken, actor: User) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record("revoke_api_token", actor=actor, after={"token_id": row.id})
        db.session.commit()


def authenticate(token: str) -> User | None:
    """Return the active recruiter or admin that owns a valid token, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.digest == digest(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = row.user
    if not user.active or user.role not in API_ROLES:
        return None
    # Record use at most once a minute, so reads rarely write.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
        db.session.commit()
    return user
