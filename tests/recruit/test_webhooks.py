"""Webhooks: the signature, and delivery retried with back-off by a real worker."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import before_task_publish
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import db, utcnow
from recruit.decisions import hire
from recruit.models import (
    AuditEvent,
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
from recruit.webhooks import (
    SIGNATURE_HEADER,
    deliver,
    publish,
    receiver_problem,
    sign,
    signature_header,
    verify,
)
from tests.conftest import build_app, csrf_token, log_in, make_user
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
        WEBHOOK_ALLOW_PRIVATE=True,
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
    app = build_app(tmp_path, WEBHOOK_ALLOW_PRIVATE=True)
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


class SlowFirstReceiver(BaseHTTPRequestHandler):
    """Answer the first POST after the sender has timed out, later ones at once."""

    received: list[tuple[dict[str, str], bytes]] = []
    delay_s = 2.0

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        if len(type(self).received) == 1:
            time.sleep(type(self).delay_s)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class FailingReceiver(BaseHTTPRequestHandler):
    """Answers every POST with HTTP 500."""

    received: list[float] = []

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(time.monotonic())
        self.send_response(500)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def worker_app(tmp_path: Path, **config: object) -> Flask:
    return build_app(
        tmp_path,
        CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        CELERY_RESULT_BACKEND=f"db+sqlite:///{tmp_path / 'results.sqlite'}",
        WEBHOOK_ALLOW_PRIVATE=True,  # the receivers listen on 127.0.0.1
        **config,
    )


@contextmanager
def worker_running(app: Flask) -> Iterator[None]:
    """Run a real Celery worker thread and an app context around the block."""
    worker = start_worker(
        app.extensions["celery"],
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=30,
    )
    with worker, app.app_context():
        yield


def wait_for_delivery(predicate: Callable[[WebhookDelivery], bool]) -> WebhookDelivery:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        db.session.expire_all()
        delivery = db.session.scalar(select(WebhookDelivery))
        if delivery is not None and predicate(delivery):
            return delivery
        time.sleep(0.2)
    pytest.fail(f"delivery never reached the expected state: {delivery}")


def toggle(client: FlaskClient, webhook_id: int) -> None:
    token = csrf_token(client, "/recruit/webhooks")
    toggled = client.post(
        f"/recruit/webhooks/{webhook_id}/toggle", data={"csrf_token": token}
    )
    assert toggled.status_code == 302


@pytest.mark.slow
def test_paused_hook_then_timeout_keeps_delivery_id(tmp_path: Path) -> None:
    SlowFirstReceiver.received = []
    server = serve(SlowFirstReceiver)
    app = worker_app(tmp_path, WEBHOOK_TIMEOUT_S=0.5, WEBHOOK_RETRY_BASE_S=0.2)
    client = app.test_client()
    url = f"http://127.0.0.1:{server.server_port}/ats-hooks"
    try:
        with worker_running(app):
            make_user("admin@example.com", "admin")
            hook = Webhook(url=url, secret=SECRET, events=["hired"])
            db.session.add(hook)
            db.session.commit()
            assert publish("hired", "hire:7", {"application_id": 7}) == 1
            # Paused before the worker gets the delivery: nothing is sent.
            hook.active = False
            db.session.commit()
            paused = wait_for_delivery(lambda d: d.last_error == "webhook paused")
            assert paused.status == DeliveryStatus.PENDING
            assert paused.attempts == 0
            assert SlowFirstReceiver.received == []
            log_in(client, "admin@example.com")
            toggle(client, hook.id)
            delivered = wait_for_delivery(
                lambda d: d.status == DeliveryStatus.DELIVERED
            )
            assert delivered.attempts == 2
            delivery_id = delivered.id
    finally:
        server.shutdown()
    assert len(SlowFirstReceiver.received) == 2
    first, retry = SlowFirstReceiver.received
    for headers, _body in (first, retry):
        assert headers["Frontline-Delivery"] == str(delivery_id)
        assert headers["Idempotency-Key"] == str(delivery_id)
    assert json.loads(first[1])["id"] == json.loads(retry[1])["id"] == "hire:7"


@pytest.mark.slow
def test_retries_stop_at_maximum(tmp_path: Path) -> None:
    FailingReceiver.received = []
    server = serve(FailingReceiver)
    app = worker_app(tmp_path, WEBHOOK_RETRY_BASE_S=0.2, WEBHOOK_MAX_RETRIES=2)
    client = app.test_client()
    url = f"http://127.0.0.1:{server.server_port}/ats-hooks"
    try:
        with worker_running(app):
            make_user("admin@example.com", "admin")
            db.session.add(Webhook(url=url, secret=SECRET, events=["hired"]))
            db.session.commit()
            assert publish("hired", "hire:8", {"application_id": 8}) == 1
            db.session.commit()
            failed = wait_for_delivery(lambda d: d.status == DeliveryStatus.FAILED)
            assert failed.attempts == 3
            assert failed.last_status_code == 500
            assert "HTTP 500" in failed.last_error
    finally:
        server.shutdown()
    assert len(FailingReceiver.received) == 3
    first, second, third = FailingReceiver.received
    # Back-off: 0.2 s before the first retry, 0.4 s before the second.
    assert second - first >= 0.2
    assert third - second >= 0.4
    log_in(client, "admin@example.com")
    page = client.get("/recruit/webhooks").get_data(as_text=True)
    deliveries = page[page.index("Latest deliveries") :]
    assert url in deliveries
    assert "failed" in deliveries


def test_transitions_queued_after_outer_commit(tmp_path: Path) -> None:
    """A rejection records its email in a SAVEPOINT; the stage change is still
    sent to the broker only once the whole transaction is committed."""
    from celery.signals import before_task_publish
    from sqlalchemy import text

    from recruit.decisions import reject

    app = build_app(tmp_path)
    seen: list[tuple[list[int], list[int]]] = []

    def check_visible(sender: str | None = None, body: object = None, **kwargs):
        if sender != dispatch_transitions.name:
            return
        ids = body[0][0]
        # A second connection reads only committed rows.
        with db.engine.connect() as other:
            rows = other.execute(text("SELECT id FROM stage_transition")).scalars()
            seen.append((ids, list(rows)))

    before_task_publish.connect(check_visible, weak=False)
    try:
        with app.app_context():
            recruiter = make_user("rec@example.com", "recruiter")
            opening = opening_with_weights()
            application = scored_application(opening, "ana@example.com", {})
            seen.clear()
            reject(application, recruiter, "Another candidate fits better")
            db.session.commit()
    finally:
        before_task_publish.disconnect(check_visible)

    assert len(seen) == 1
    ids, committed = seen[0]
    assert ids
    assert set(ids) <= set(committed)


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


@pytest.mark.parametrize(
    ("url", "blocked_by_default", "blocked_when_allowed"),
    [
        ("http://169.254.169.254/latest/meta-data/", "metadata", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata", "metadata"),
        ("http://169.254.1.1/", "link-local", "link-local"),
        ("http://[fe80::1]/", "link-local", "link-local"),
        ("http://0.0.0.0:8000/", "unspecified", "unspecified"),
        ("http://[::]/", "unspecified", "unspecified"),
        ("http://127.0.0.1:8000/hook", "loopback", None),
        ("http://localhost/hook", "loopback", None),
        ("http://127.1/", "loopback", None),
        ("http://2130706433/", "loopback", None),
        ("http://[::1]/", "loopback", None),
        ("http://[::ffff:127.0.0.1]/", "loopback", None),
        ("http://10.1.2.3/", "private", None),
        ("http://172.16.0.1/", "private", None),
        ("http://172.31.255.254/", "private", None),
        ("http://192.168.1.10/", "private", None),
        ("http://[fc00::1]/", "private", None),
        ("https://203.0.113.10/hooks", None, None),
        ("http://172.32.0.1/", None, None),
    ],
)
def test_receiver_address_rules(
    app: Flask,
    url: str,
    blocked_by_default: str | None,
    blocked_when_allowed: str | None,
) -> None:
    for allow, expected in ((False, blocked_by_default), (True, blocked_when_allowed)):
        app.config["WEBHOOK_ALLOW_PRIVATE"] = allow
        with app.app_context():
            problem = receiver_problem(url)
        if expected is None:
            assert problem is None, (url, allow)
        else:
            assert problem is not None, (url, allow)
            assert expected in problem, (url, allow)


def test_webhook_form_rejects_metadata_address(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    client = app.test_client()
    with app.app_context():
        make_user("admin@example.com", "admin")
    log_in(client, "admin@example.com")
    page = client.post(
        "/recruit/webhooks",
        data={
            "csrf_token": csrf_token(client, "/recruit/webhooks"),
            "url": "http://169.254.169.254/latest/meta-data/",
            "events": ["hired"],
        },
    ).get_data(as_text=True)
    assert "metadata address" in page
    private = client.post(
        "/recruit/webhooks",
        data={
            "csrf_token": csrf_token(client, "/recruit/webhooks"),
            "url": "http://127.0.0.1:8080/hook",
            "events": ["hired"],
        },
    ).get_data(as_text=True)
    assert "FRONTLINE_WEBHOOK_ALLOW_PRIVATE" in private
    with app.app_context():
        assert db.session.scalars(select(Webhook)).all() == []


def test_send_refused_to_blocked_address(tmp_path: Path) -> None:
    """A hook stored while loopback was allowed is not sent once it is not."""
    FlakyReceiver.received = []
    FlakyReceiver.failures_left = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app = build_app(tmp_path)
    try:
        with app.app_context():
            url = f"http://localhost:{server.server_port}/hooks"
            db.session.add(Webhook(url=url, secret=SECRET, events=["hired"]))
            db.session.commit()
            publish("hired", "hire:7", {"application_id": 7})
            db.session.commit()
            delivery_id = db.session.scalar(select(WebhookDelivery.id))
            assert deliver(delivery_id) == "blocked"
            db.session.expire_all()
            delivery = db.session.get(WebhookDelivery, delivery_id)
            assert delivery.status == DeliveryStatus.FAILED
            assert "loopback" in delivery.last_error
            assert "localhost" in delivery.last_error
            app.config["WEBHOOK_ALLOW_PRIVATE"] = True
            delivery.status = DeliveryStatus.PENDING
            db.session.commit()
            assert deliver(delivery_id) == "delivered"
    finally:
        server.shutdown()
    assert len(FlakyReceiver.received) == 1


def test_admin_deletes_webhook(tmp_path: Path) -> None:
    app = build_app(tmp_path)
    with app.app_context():
        make_user("admin@example.com", "admin")
        make_user("rec@example.com", "recruiter")
        keep = Webhook(url="http://203.0.113.10/a", secret=SECRET, events=["hired"])
        gone = Webhook(url="http://203.0.113.10/b", secret=SECRET, events=["hired"])
        db.session.add_all([keep, gone])
        db.session.commit()
        publish("hired", "hire:7", {})
        db.session.commit()
        gone_id, keep_id = gone.id, keep.id
    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    url = f"/recruit/webhooks/{gone_id}/delete"
    assert recruiter.get(url).status_code == 403
    admin = app.test_client()
    log_in(admin, "admin@example.com")
    confirm = admin.get(url)
    assert confirm.status_code == 200
    assert "http://203.0.113.10/b" in confirm.get_data(as_text=True)
    no_token = admin.post(url, data={})
    assert no_token.status_code == 400
    deleted = admin.post(url, data={"csrf_token": csrf_token(admin, url)})
    assert deleted.status_code == 302
    with app.app_context():
        assert db.session.get(Webhook, gone_id) is None
        assert db.session.get(Webhook, keep_id) is not None
        hooks = db.session.scalars(select(WebhookDelivery.webhook_id)).all()
        assert hooks == [keep_id]
        event = db.session.scalar(select(AuditEvent).filter_by(action="delete_webhook"))
        assert event.before["url"] == "http://203.0.113.10/b"
        assert event.before["deliveries"] == 1
