"""Issuing, revoking and verifying certificates.

A certificate ID is ``FL-<serial>-<signature>``: a random 60-bit serial and the
first 80 bits of its HMAC-SHA256 under a key derived from the secret key. The
verification page checks the signature before it looks anything up, so an ID
cannot be guessed or forged without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, has_request_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import db, utcnow
from courses.certificates import CertificateText, render_certificate
from courses.models import Certificate, Course, Enrolment

log = logging.getLogger(__name__)
audit = logging.getLogger("frontline.audit")

DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=")


def _signature(serial: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    key = hmac.new(secret, b"frontline certificate ids", hashlib.sha256).digest()
    return _b32(hmac.new(key, serial.encode(), hashlib.sha256).digest()[:10])


def new_certificate_id() -> str:
    serial = _b32(secrets.token_bytes(8))[:12]
    return f"FL-{serial}-{_signature(serial)}"


def signature_valid(code: str) -> bool:
    parts = code.strip().upper().split("-")
    if len(parts) != 3 or parts[0] != "FL":
        return False
    return hmac.compare_digest(_signature(parts[1]), parts[2])


def verify_url(code: str) -> str:
    base = current_app.config.get("BASE_URL") or DEFAULT_BASE_URL
    return f"{base.rstrip('/')}/verify/{code}"


def certificate_words() -> CertificateText:
    """Translate the certificate wording into the request's or the default language."""
    if not has_request_context():
        with force_locale(current_app.config["LANGUAGES"][0]):
            return _certificate_words()
    return _certificate_words()


def _certificate_words() -> CertificateText:
    return CertificateText(
        heading=_("Certificate of completion"),
        certifies=_("This certifies that"),
        completed=_("has completed the course"),
        issued=_("Issued on"),
        certificate_id=_("Certificate ID"),
        verify=_("Check this certificate at"),
    )


def _user_name(user_id: int) -> str:
    users = db.metadata.tables["user"]
    return str(
        db.session.execute(
            select(users.c.name).where(users.c.id == user_id)
        ).scalar_one()
    )


def active_certificate(enrolment: Enrolment) -> Certificate | None:
    return next((c for c in enrolment.certificates if c.revoked_at is None), None)


def issue_certificate(enrolment: Enrolment) -> Certificate | None:
    """Issue the enrolment's certificate if the course is complete now.

    Returns the active certificate (an existing one is returned unchanged), or
    None when the completion rules do not hold at this moment.
    """
    from courses.services import is_complete

    existing = active_certificate(enrolment)
    if existing is not None:
        return existing
    if not is_complete(enrolment):
        log.info("enrolment %s is not complete; no certificate issued", enrolment.id)
        return None
    code = new_certificate_id()
    now = utcnow()
    name = _user_name(enrolment.user_id)
    pdf = render_certificate(
        name=name,
        course=enrolment.course.title,
        issued_on=now.date(),
        certificate_id=code,
        verify_url=verify_url(code),
        words=certificate_words(),
    )
    certificate = Certificate(
        enrolment_id=enrolment.id,
        code=code,
        name=name,
        course_title=enrolment.course.title,
        issued_at=now,
        pdf=pdf,
    )
    db.session.add(certificate)
    try:
        db.session.commit()
    except IntegrityError:  # another worker issued it first
        db.session.rollback()
        db.session.refresh(enrolment)
        return active_certificate(enrolment)
    audit.info("certificate %s issued for enrolment %s", code, enrolment.id)
    return certificate


class CertificateError(ValueError):
    """A certificate change that is rejected, with a message for the admin."""


def _required_reason(reason: str, action: str) -> str:
    reason = reason.strip()
    if not reason:
        raise CertificateError(f"A reason is required to {action} a certificate.")
    return reason


def _record(action: str, enrolment: Enrolment, admin_id: int, **change: Any) -> None:
    """Add an audit event on the trainee; the caller commits it with the change."""
    from recruit.audit import record
    from recruit.models import User

    actor = db.session.get(User, admin_id)
    record(action, actor=actor, subject_user_id=enrolment.user_id, **change)


def revoke_certificate(certificate: Certificate, reason: str, admin_id: int) -> None:
    """Revoke a certificate for a stated reason, audited; a revoked one is left."""
    reason = _required_reason(reason, "revoke")
    if certificate.revoked_at is not None:
        return
    certificate.revoked_at = utcnow()
    certificate.revoked_reason = reason
    _record(
        "revoke_certificate",
        certificate.enrolment,
        admin_id,
        before={"certificate": certificate.code},
        after={"certificate": None},
        reason=reason,
    )
    db.session.commit()
    audit.info(
        "certificate %s revoked by user %s: %s", certificate.code, admin_id, reason
    )


def reissue_certificate(
    enrolment: Enrolment, admin_id: int, reason: str
) -> Certificate | None:
    """Revoke the active certificate (if any) and issue a new one with a new ID.

    Both steps are audited with the reason. Nothing changes, and None is
    returned, when the enrolment no longer meets the completion rules.
    """
    from courses.services import is_complete

    reason = _required_reason(reason, "re-issue")
    if not is_complete(enrolment):
        return None
    current = active_certificate(enrolment)
    if current is not None:
        revoke_certificate(current, f"re-issued: {reason}", admin_id)
    db.session.refresh(enrolment)
    certificate = issue_certificate(enrolment)
    if certificate is None:
        return None
    _record(
        "reissue_certificate",
        enrolment,
        admin_id,
        before={"certificate": current.code if current else None},
        after={"certificate": certificate.code},
        reason=reason,
    )
    db.session.commit()
    audit.info(
        "certificate %s re-issued as %s for enrolment %s by user %s: %s",
        current.code if current else None,
        certificate.code,
        enrolment.id,
        admin_id,
        reason,
    )
    return certificate


def cohort_without_certificate(
    course: Course, opening_id: int | None = None
) -> list[Enrolment]:
    """Completed enrolments of the course without a certificate (of one opening)."""
    query = select(Enrolment).where(
        Enrolment.course_id == course.id, Enrolment.completed_at.is_not(None)
    )
    if opening_id is not None:
        query = query.where(Enrolment.opening_id == opening_id)
    return [e for e in db.session.scalars(query) if active_certificate(e) is None]


@dataclass
class Verification:
    status: str  # "genuine", "revoked" or "invalid"
    certificate: Certificate | None = None
    revoked_at: datetime | None = None


def verify(code: str) -> Verification:
    code = code.strip().upper()
    if not signature_valid(code):
        return Verification("invalid")
    certificate = db.session.scalar(select(Certificate).filter_by(code=code))
    if certificate is None:
        return Verification("invalid")
    if certificate.revoked_at is not None:
        return Verification("revoked", certificate, certificate.revoked_at)
    return Verification("genuine", certificate)
