"""Webhooks: the signature, and delivery retried with back-off by a real worker."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import before_task_publish
from sqlalchemy import select

from app import db, utcnow
from recruit.decisions import hire
from recruit.models import (
    DeliveryStatus,
    StageKind,
    StageTransition,
    Webhook,
    WebhookDelivery,
)
from recruit.tasks import (
    NEVER_SENT_AFTER,
    backoff_delay,
    dispatch_transitions,
    requeue_pending,
)
from recruit.webhooks import SIGNATURE_HEADER, publish, sign, signature_header, verify
from tests.conftest import build_app, make_user
from tests.recruit.ranking_factories import opening_with_weights, scored_application

SECRET = "whsec-test"


def test_signature_matches_hmac_of_timestamp_and_body() -> None:
    body = b'{"event":"hired"}'
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256)
    assert sign(SECRET, 1700000000, body) == expected.hexdigest()
    header = signature_header(SECRET, body, timestamp=1700000000)
    assert header == f"t=1700000000,v1={expected.hexdigest()}"
    assert verify(SECRET, header, body, now=1700000100)
    assert not verify(SECRET, header, body + b" ", now=1700000100)
    assert not verify("other", header, body, now=1700000100)
    assert not verify(SECRET, header, body, now=1700000000 + 301)
    assert not verify(SECRET, "garbage", body)


def test_backoff_doubles() -> None:
    assert [backoff_delay(30, n) for n in range(4)] == [30, 60, 120, 240]
    assert backoff_delay(30, 20) == 3600


class FlakyReceiver(BaseHTTPRequestHandler):
    """Answers 503 to the first two POSTs and 200 afterwards, keeping each request."""

    received: list[tuple[float, dict[str, str], bytes]] = []
    failures_left = 2

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((time.monotonic(), dict(self.headers), body))
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(503)
        else:
            self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.mark.slow
def test_delivery_retries_until_accepted(tmp_path: Path) -> None:
    FlakyReceiver.received = []
    FlakyReceiver.failures_left = 2
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app = build_app(
        tmp_path,
        CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        CELERY_RESULT_BACKEND=f"db+sqlite:///{tmp_path / 'results.sqlite'}",
        WEBHOOK_RETRY_BASE_S=0.5,
    )
    try:
        with (
            start_worker(
                app.extensions["celery"],
                pool="solo",
                perform_ping_check=False,
                shutdown_timeout=30,
            ),
            app.app_context(),
        ):
            recruiter = make_user("rec@example.com", "recruiter")
            url = f"http://127.0.0.1:{server.server_port}/hooks"
            db.session.add(Webhook(url=url, secret=SECRET, events=["hired"]))
            opening = opening_with_weights()
            application = scored_application(
                opening, "ana@example.com", {StageKind.LANGUAGE: 80}
            )
            hire(application, recruiter, "Top score")
            deadline = time.monotonic() + 60
            delivery = None
            while time.monotonic() < deadline:
                db.session.expire_all()
                delivery = db.session.scalar(select(WebhookDelivery))
                if delivery and delivery.status == DeliveryStatus.DELIVERED:
                    break
                time.sleep(0.2)
            assert delivery is not None
            assert delivery.status == DeliveryStatus.DELIVERED
            assert delivery.attempts == 3
    finally:
        server.shutdown()
    assert len(FlakyReceiver.received) == 3
    times = [entry[0] for entry in FlakyReceiver.received]
    assert times[1] - times[0] >= 0.5
    assert times[2] - times[1] >= 1.0
    for _at, headers, body in FlakyReceiver.received:
        assert verify(SECRET, headers[SIGNATURE_HEADER], body)
        assert headers["Frontline-Event"] == "hired"
    payload = json.loads(FlakyReceiver.received[-1][2])
    assert payload["event"] == "hired"
    assert payload["data"]["candidate"]["email"] == "ana@example.com"
    assert payload["data"]["to_status"] == "hired"


def test_transitions_publish_once(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    with app.app_context():
        db.session.add(
            Webhook(url="http://127.0.0.1:9/", secret=SECRET, events=["stage_changed"])
        )
        opening = opening_with_weights()
        scored_application(opening, "ana@example.com", {})
        ids = list(db.session.scalars(select(StageTransition.id)))
        assert ids
        assert dispatch_transitions.apply(args=[ids]).get() == len(ids)
        assert dispatch_transitions.apply(args=[ids]).get() == 0
        assert publish("hired", "hire:1", {}) == 0  # nobody subscribed to hires


class RedirectingReceiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.send_response(302)
        self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_redirect_is_a_failed_delivery(tmp_path: Path) -> None:
    from recruit.webhooks import DeliveryFailed, deliver

    server = ThreadingHTTPServer(("127.0.0.1", 0), RedirectingReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app = build_app(tmp_path)
    try:
        with app.app_context():
            url = f"http://127.0.0.1:{server.server_port}/"
            db.session.add(Webhook(url=url, secret=SECRET, events=["hired"]))
            db.session.commit()
            assert publish("hired", "hire:7", {"application_id": 7}) == 1
            db.session.commit()
            delivery = db.session.scalar(select(WebhookDelivery))
            with pytest.raises(DeliveryFailed, match="HTTP 302"):
                deliver(delivery.id)
            db.session.expire_all()
            delivery = db.session.get(WebhookDelivery, delivery.id)
            assert delivery.status == DeliveryStatus.PENDING
            assert delivery.last_status_code == 302
            assert delivery.attempts == 1
    finally:
        server.shutdown()


@contextmanager
def published_tasks() -> Iterator[list[tuple[str, list]]]:
    """Collect (task name, args) of every task sent to the broker meanwhile."""
    sent: list[tuple[str, list]] = []

    def record(sender: object = None, body: object = None, **kwargs: object) -> None:
        sent.append((str(sender), list(body[0])))

    before_task_publish.connect(record)
    try:
        yield sent
    finally:
        before_task_publish.disconnect(record)


def test_repeated_event_keeps_earlier_deliveries_queued(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    with app.app_context():
        for port in (9, 10):
            db.session.add(
                Webhook(
                    url=f"http://127.0.0.1:{port}/",
                    secret=SECRET,
                    events=["stage_changed", "hired"],
                )
            )
        db.session.commit()
        assert publish("hired", "hire:7", {"application_id": 7}) == 2
        db.session.commit()
        with published_tasks() as sent:
            assert publish("stage_changed", "transition:8", {}) == 2
            assert publish("hired", "hire:7", {"application_id": 7}) == 0
            db.session.commit()
        stage_changes = db.session.scalars(
            select(WebhookDelivery.id).filter_by(event="stage_changed")
        ).all()
        queued = [args[0] for name, args in sent if name.endswith("deliver_webhook")]
        assert sorted(queued) == sorted(stage_changes)


def test_sweep_queues_never_sent_delivery(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    with app.app_context():
        db.session.add(
            Webhook(url="http://127.0.0.1:9/", secret=SECRET, events=["hired"])
        )
        db.session.commit()
        publish("hired", "hire:7", {})
        publish("hired", "hire:8", {})
        db.session.commit()
        never_sent, fresh = db.session.scalars(
            select(WebhookDelivery).order_by(WebhookDelivery.id)
        ).all()
        never_sent.created_at = utcnow() - NEVER_SENT_AFTER - timedelta(seconds=1)
        db.session.commit()
        with published_tasks() as sent:
            assert requeue_pending() == 1
        assert sent == [("recruit.tasks.deliver_webhook", [never_sent.id])]
        assert fresh.id != never_sent.id
