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
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
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


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services (AWS, GCP and Azure on 169.254.169.254, AWS over IPv6,
# Alibaba Cloud). A receiver there is rejected whatever the settings.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(text)
    for text in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
# "This network": Linux connects 0.0.0.0 and the rest of 0.0.0.0/8 to this host.
UNSPECIFIED_NETWORKS = (
    ipaddress.ip_network("0.0.0.0/8"),
    ipaddress.ip_network("::/128"),
)
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(text)
    for text in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


class UnsafeReceiver(Exception):
    """A webhook URL whose host is, or resolves to, an address that is blocked."""


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def valid_url(url: str) -> bool:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def blocked_kind(address: IPAddress, *, allow_private: bool) -> str | None:
    """Name the kind of a blocked address, or return None for an allowed one.

    Metadata, unspecified, link-local and multicast addresses are always
    blocked; loopback and private ones unless ``allow_private``.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if any(address in network for network in UNSPECIFIED_NETWORKS):
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if allow_private:
        return None
    if address.is_loopback:
        return "a loopback address"
    if any(address in network for network in PRIVATE_NETWORKS):
        return "a private address"
    return None


def receiver_addresses(url: str, *, allow_private: bool) -> list[IPAddress]:
    """Resolve the URL's host and return its addresses, in the resolver's order.

    Raises ``UnsafeReceiver`` when any address is blocked, and ``OSError`` when
    the host does not resolve.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses: list[IPAddress] = []
    for *_rest, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    for address in addresses:
        kind = blocked_kind(address, allow_private=allow_private)
        if kind is None:
            continue
        message = f"the host {host} resolves to {address}, {kind}"
        if kind in ("a loopback address", "a private address"):
            message += (
                "; set FRONTLINE_WEBHOOK_ALLOW_PRIVATE=true to allow private and "
                "loopback receivers"
            )
        raise UnsafeReceiver(message)
    return addresses


def receiver_problem(url: str) -> str | None:
    """Return why ``url`` cannot receive webhooks under the app's settings, or None."""
    if not valid_url(url):
        return _("Use an http or https URL.")
    allow_private = bool(current_app.config["WEBHOOK_ALLOW_PRIVATE"])
    try:
        receiver_addresses(url, allow_private=allow_private)
    except UnsafeReceiver as error:
        return _("Webhooks cannot be sent there: %(reason)s.", reason=str(error))
    except OSError as error:
        return _(
            "The host of %(url)s could not be resolved (%(error)s). Check the URL.",
            url=url,
            error=str(error),
        )
    return None


def _connect_to(addresses: Sequence[IPAddress]) -> Callable[..., socket.socket]:
    """Return a socket factory that connects only to the checked addresses."""

    def create_connection(
        address: tuple[str, int], timeout: Any = None, source_address: Any = None
    ) -> socket.socket:
        error: OSError | None = None
        for checked in addresses:
            try:
                return socket.create_connection(
                    (str(checked), address[1]), timeout, source_address
                )
            except OSError as failure:
                error = failure
        raise error or OSError("no address to connect to")

    return create_connection


def _pinned_opener(addresses: Sequence[IPAddress]) -> urllib.request.OpenerDirector:
    """Build an opener that connects to ``addresses`` instead of resolving again.

    A second lookup at connect time could return another address than the one
    checked (DNS rebinding). HTTPS still sends the URL's host name for SNI and
    checks the certificate against it. Proxies from the environment are not
    used, because a proxy would connect to an address that was not checked.
    """
    create_connection = _connect_to(addresses)

    def pinned(connection_class: type) -> Callable[..., http.client.HTTPConnection]:
        def connect(host: str, **kwargs: Any) -> http.client.HTTPConnection:
            connection = connection_class(host, **kwargs)
            # NOTE: _create_connection is a private attribute of http.client
            # (read in Python 3.11); HTTPConnection.connect calls it.
            connection._create_connection = create_connection
            return connection

        return connect

    class PinnedHTTPHandler(urllib.request.HTTPHandler):
        def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
            return super().do_open(pinned(http_class), req, **kwargs)

    class PinnedHTTPSHandler(urllib.request.HTTPSHandler):
        def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
            return super().do_open(pinned(http_class), req, **kwargs)

    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _NoRedirect,
        PinnedHTTPHandler,
        PinnedHTTPSHandler,
    )


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
    allow_private = bool(current_app.config["WEBHOOK_ALLOW_PRIVATE"])
    try:
        addresses = receiver_addresses(hook.url, allow_private=allow_private)
    except UnsafeReceiver as error:
        log.warning("webhook delivery %s not sent: %s", delivery.id, error)
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = f"not sent: {error}"[:2000]
        db.session.commit()
        return "blocked"
    except OSError as error:
        delivery.attempts += 1
        delivery.last_error = f"could not resolve the host: {error}"[:2000]
        db.session.commit()
        raise DeliveryFailed(f"resolving {hook.url} failed: {error}") from error
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
        with _pinned_opener(addresses).open(request, timeout=timeout) as response:
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
