"""Webhooks to applicant-tracking systems: signed events, delivered with retries.

Each POST carries the JSON event as its body and the header

    Frontline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>

where the HMAC key is the webhook's secret and the signed message is the
timestamp, a full stop, and the raw body bytes: ``f"{t}.".encode() + body``.
A receiver recomputes it, compares in constant time, and rejects timestamps
older than a few minutes to stop replays.

Every try of one delivery carries the same ``Frontline-Delivery`` and
``Idempotency-Key`` headers (the delivery's id) and the same body, so a
receiver drops a repeat, such as the retry of a POST that timed out on the
sender's side after the receiver had taken it. A paused webhook is sent
nothing; its pending deliveries go out when it is resumed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import db, utcnow
from recruit.events import queue_after_commit
from recruit.models import DeliveryStatus, Webhook, WebhookDelivery

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Frontline-Signature"
EVENTS = ("stage_changed", "hired")
TOLERANCE_S = 300
# The last error of a delivery held back because its webhook is paused.
PAUSED = "webhook paused"


class DeliveryFailed(Exception):
    """The receiver did not accept a delivery; a later try may succeed."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Treat a redirect as a failed delivery instead of following it.

    urllib would repeat a redirected POST as a GET without the body, possibly to
    another host, so the receiver must answer at the registered URL itself.
    """

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of ``timestamp.body`` under ``secret``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: int = TOLERANCE_S,
) -> bool:
    """Check a signature header as a receiver would, including its age."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
        signature = fields["v1"]
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def publish(event: str, key: str, payload: dict[str, Any]) -> int:
    """Record a delivery of the event to every active webhook that subscribed.

    ``key`` identifies the event, so publishing it twice delivers it once.
    Deliveries are queued after the commit; returns how many were recorded.
    """
    hooks = db.session.scalars(select(Webhook).where(Webhook.active)).all()
    body = json.dumps(
        {"event": event, "id": key, "data": payload}, sort_keys=True, default=str
    )
    recorded = 0
    from recruit.tasks import deliver_webhook

    for hook in hooks:
        if event not in hook.events:
            continue
        delivery = WebhookDelivery(
            webhook_id=hook.id, event=event, event_key=key, body=body
        )
        try:
            with db.session.begin_nested():
                db.session.add(delivery)
        except IntegrityError:
            continue
        queue_after_commit(db.session, deliver_webhook, delivery.id)
        recorded += 1
    return recorded


def deliver(delivery_id: int) -> str:
    """POST one delivery; raise ``DeliveryFailed`` when the receiver does not accept."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        return "missing"
    if delivery.status == DeliveryStatus.DELIVERED:
        return "done"
    hook = delivery.webhook
    if not hook.active:
        delivery.last_error = PAUSED
        db.session.commit()
        log.info("webhook %s is paused; delivery %s waits", hook.id, delivery.id)
        return "paused"
    body = delivery.body.encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is checked to be http(s)
        hook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Frontline-Webhook/1",
            SIGNATURE_HEADER: signature_header(hook.secret, body),
            "Frontline-Event": delivery.event,
            "Frontline-Delivery": str(delivery.id),
            "Idempotency-Key": str(delivery.id),
        },
    )
    delivery.attempts += 1
    timeout = float(current_app.config["WEBHOOK_TIMEOUT_S"])
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        delivery.last_error = str(error)[:2000]
        db.session.commit()
        raise DeliveryFailed(f"POST {hook.url} failed: {error}") from error
    delivery.last_status_code = status
    if not 200 <= status < 300:
        delivery.last_error = f"HTTP {status}"
        db.session.commit()
        raise DeliveryFailed(f"POST {hook.url} returned HTTP {status}")
    delivery.status = DeliveryStatus.DELIVERED
    delivery.delivered_at = utcnow()
    delivery.last_error = None
    db.session.commit()
    return "delivered"


def queue_pending(hook: Webhook) -> int:
    """Queue the hook's pending deliveries after the commit; return how many."""
    from recruit.tasks import deliver_webhook

    ids = db.session.scalars(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.webhook_id == hook.id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .order_by(WebhookDelivery.id)
    ).all()
    for delivery_id in ids:
        queue_after_commit(db.session, deliver_webhook, delivery_id)
    return len(ids)


def give_up(delivery_id: int, error: str) -> None:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is not None and delivery.status != DeliveryStatus.DELIVERED:
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = error[:2000]
        db.session.commit()
