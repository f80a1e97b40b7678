"""Emails to candidates and recruiters: one row per event, sent by a Celery task.

With ``SMTP_HOST`` set, a message goes through that server; otherwise it is
written to ``instance/outbox/`` as an ``.eml`` file.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import db, utcnow
from recruit.events import queue_after_commit
from recruit.models import Notification, NotificationStatus, User

log = logging.getLogger(__name__)

TEMPLATES = (
    "invitation",
    "advanced",
    "rejected",
    "hired",
    "stage_finished",
    "stage_failed",
    "knocked_out",
)


def notify(
    key: str, template: str, recipient: User, context: dict[str, Any]
) -> Notification | None:
    """Add the email for event ``key`` unless it exists; it is sent after the commit.

    Returns None when an email for this event was already recorded, or when the
    recipient is a demo account, which gets no email.
    """
    if template not in TEMPLATES:
        raise ValueError(f"unknown email template {template!r}")
    if recipient.demo:
        log.debug("no %s email for demo account %s", template, recipient.id)
        return None
    if db.session.scalar(select(Notification.id).filter_by(key=key)) is not None:
        return None
    notification = Notification(
        key=key,
        template=template,
        recipient_id=recipient.id,
        recipient=recipient.email,
        locale=current_app.config["LANGUAGES"][0],
        context={"name": recipient.name, **context},
    )
    try:
        with db.session.begin_nested():
            db.session.add(notification)
    except IntegrityError:
        log.info("email for event %s already recorded", key)
        return None
    from recruit.tasks import send_notification

    queue_after_commit(db.session, send_notification, notification.id)
    return notification


def build_message(notification: Notification) -> EmailMessage:
    """Render the event's template in the notification's locale into an email."""
    config = current_app.config
    with force_locale(notification.locale):
        rendered = render_template(
            f"email/{notification.template}.txt",
            base_url=config["BASE_URL"].rstrip("/"),
            **notification.context,
        )
    subject, _, body = rendered.strip().partition("\n\n")
    message = EmailMessage()
    message["Subject"] = subject.strip()
    message["From"] = formataddr(("Frontline", config["MAIL_FROM"]))
    message["To"] = notification.recipient
    # A stable id lets a mail system drop a copy sent twice after a crash.
    digest = hashlib.sha256(notification.key.encode()).hexdigest()[:32]
    message["Message-ID"] = make_msgid(idstring=digest, domain="frontline.invalid")
    message.set_content(body.strip() + "\n")
    paragraphs = "".join(
        f"<p>{escape(part).replace(chr(10), '<br>')}</p>"
        for part in body.strip().split("\n\n")
    )
    message.add_alternative(
        f'<!doctype html><html lang="{escape(notification.locale)}"><body>'
        f"{paragraphs}</body></html>",
        subtype="html",
    )
    return message


def send(notification_id: int) -> str:
    """Send one email unless it was sent already; return what happened."""
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        return "missing"
    if notification.status == NotificationStatus.SENT:
        return "done"
    message = build_message(notification)
    notification.attempts += 1
    config = current_app.config
    if config.get("SMTP_HOST"):
        _send_smtp(message, config)
    else:
        _write_outbox(message, notification)
    notification.status = NotificationStatus.SENT
    notification.sent_at = utcnow()
    notification.error = None
    db.session.commit()
    log.info("sent %s email %s", notification.template, notification.id)
    return "sent"


def _send_smtp(message: EmailMessage, config: Any) -> None:
    host, port = config["SMTP_HOST"], int(config["SMTP_PORT"])
    timeout = float(config["SMTP_TIMEOUT_S"])
    if config.get("SMTP_SSL"):
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(message)


def outbox_dir() -> Path:
    return Path(current_app.instance_path) / "outbox"


def _write_outbox(message: EmailMessage, notification: Notification) -> None:
    folder = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{notification.id:08d}-{notification.template}.eml"
    path.write_bytes(bytes(message))


def mark_failed(notification_id: int, error: str) -> None:
    notification = db.session.get(Notification, notification_id)
    if notification is not None and notification.status != NotificationStatus.SENT:
        notification.status = NotificationStatus.FAILED
        notification.error = error[:2000]
        db.session.commit()
