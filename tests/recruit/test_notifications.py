"""Emails: one per event, written to the outbox or sent through a real SMTP server."""

from __future__ import annotations

import email
import socket
from email import policy
from pathlib import Path

from aiosmtpd.controller import Controller
from celery.signals import before_task_publish
from flask import Flask
from sqlalchemy import select

from app import db
from recruit.decisions import advance, reject
from recruit.demo import seed_demo
from recruit.models import Notification, NotificationStatus, StageKind, StageResult
from recruit.notifications import notify, outbox_dir
from recruit.tasks import (
    dispatch_transitions,
    notify_stage_finished,
    send_notification,
)
from tests.conftest import build_app, make_user
from tests.recruit.ranking_factories import opening_with_weights, scored_application


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=policy.default)
        )
        return "250 OK"


def test_outbox_once_per_event(app: Flask) -> None:
    with app.app_context():
        recruiter = make_user("rec@example.com", "recruiter")
        opening = opening_with_weights("Chat agent <nights>")
        application = scored_application(
            opening, "ana@example.com", {StageKind.LANGUAGE: 70}, name="Ana"
        )
        reject(application, recruiter, "Not enough night availability", "Try again!")
        db.session.commit()
        again = notify(
            f"reject:{application.id}", "rejected", application.candidate, {}
        )
        assert again is None
        rows = db.session.scalars(select(Notification)).all()
        assert len(rows) == 1
        assert send_notification.apply(args=[rows[0].id]).get() == "sent"
        assert send_notification.apply(args=[rows[0].id]).get() == "done"
        files = list(outbox_dir().glob("*.eml"))
        assert len(files) == 1
        message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
        assert message["To"] == "ana@example.com"
        assert "Chat agent <nights>" in message["Subject"]
        body = message.get_body(("plain",)).get_content()
        assert "Try again!" in body
        html = message.get_body(("html",)).get_content()
        assert "&lt;nights&gt;" in html
        db.session.expire_all()  # the task committed in its own session
        assert (
            db.session.get(Notification, rows[0].id).status == NotificationStatus.SENT
        )


def test_smtp_delivery(tmp_path: Path) -> None:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = build_app(
            tmp_path,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=port,
            MAIL_FROM="jobs@example.com",
        )
        with app.app_context():
            recruiter = make_user("rec@example.com", "recruiter")
            opening = opening_with_weights()
            application = scored_application(
                opening, "kim@example.com", {}, name="Kim", stage=StageKind.LANGUAGE
            )
            advance(application, recruiter)
            db.session.commit()
            row = db.session.scalar(select(Notification))
            assert send_notification.apply(args=[row.id]).get() == "sent"
            assert not outbox_dir().exists()
        assert len(inbox.messages) == 1
        message = inbox.messages[0]
        assert message["To"] == "kim@example.com"
        assert message["From"] == "Frontline <jobs@example.com>"
        assert "Communication" in message["Subject"]
        assert message["Message-ID"]
    finally:
        controller.stop()


def test_recruiters_told_when_stage_finishes(app: Flask) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        make_user("boss@example.com", "admin")
        opening = opening_with_weights()
        application = scored_application(
            opening, "ana@example.com", {StageKind.LANGUAGE: 64.5}, name="Ana"
        )
        result = application.stage_results[0]
        assert notify_stage_finished.apply(args=[result.id]).get() == 1
        assert notify_stage_finished.apply(args=[result.id]).get() == 1
        rows = db.session.scalars(select(Notification)).all()
        assert [row.recipient for row in rows] == ["rec@example.com"]
        send_notification.apply(args=[rows[0].id])
        text = next(outbox_dir().glob("*.eml")).read_text()
        assert "Ana finished" in text
        assert f"/recruit/applications/{application.id}" in text


def test_sweep_requeues_stale_pending(app: Flask) -> None:
    from datetime import timedelta

    from celery.signals import before_task_publish

    from app import utcnow
    from recruit.tasks import requeue_pending

    with app.app_context():
        user = make_user("ana@example.com", "candidate")
        fresh = notify("fresh", "hired", user, {"opening": "Chat"})
        stale = notify("stale", "hired", user, {"opening": "Chat"})
        stale.created_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        published: list[object] = []

        def record(
            sender: object = None, body: object = None, **kwargs: object
        ) -> None:
            published.append(body)

        before_task_publish.connect(record)
        try:
            assert requeue_pending() == 1
        finally:
            before_task_publish.disconnect(record)
        assert published[0][0] == [stale.id]
        assert fresh.id != stale.id


def failed_application(opening_kind: StageKind = StageKind.COMMUNICATION):
    """An active application whose stage scored 30, below the pass mark of 50."""
    opening = opening_with_weights("Chat agent")
    application = scored_application(
        opening,
        "ana@example.com",
        {StageKind.SCREENING: 100.0, opening_kind: 30.0},
        name="Ana Lima",
        stage=opening_kind,
    )
    for result in application.stage_results:
        result.passed = result.score >= result.stage.pass_mark
    db.session.commit()
    result = next(r for r in application.stage_results if r.stage.kind == opening_kind)
    return application, result


def test_failed_stage_emails_candidate(app: Flask) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        application, result = failed_application()
        assert application.knocked_out is True
        assert notify_stage_finished.apply(args=[result.id]).get() == 1
        assert notify_stage_finished.apply(args=[result.id]).get() == 1
        rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
        assert [(row.template, row.recipient) for row in rows] == [
            ("stage_finished", "rec@example.com"),
            ("stage_failed", "ana@example.com"),
        ]
        for row in rows:
            assert send_notification.apply(args=[row.id]).get() == "sent"
        eml = next(outbox_dir().glob("*-stage_failed.eml"))
        message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert message["To"] == "ana@example.com"
        assert message["Subject"] == 'Your result in "Communication" for Chat agent'
        body = message.get_body(("plain",)).get_content()
        assert "Hello Ana Lima," in body
        assert "below the pass mark" in body
        assert "does not move on to the next stage" in body
        assert f"/me/applications/{application.id}" in body


def test_failed_stage_shown_to_candidate(app: Flask) -> None:
    from tests.conftest import log_in

    with app.app_context():
        application, _result = failed_application()
        application_id = application.id
    client = app.test_client()
    log_in(client, "ana@example.com")
    page = client.get(f"/me/applications/{application_id}").get_data(as_text=True)
    assert "You did not pass the stage “Communication”." in page
    stage = page.split('id="stage-communication"')[1].split("</li>")[0]
    assert "Not passed: your score in this stage is below its pass mark." in stage
    assert "What happens next:" in stage
    assert "A recruiter reviews every result below the pass mark" in stage
    screening = page.split('id="stage-screening"')[1].split("</li>")[0]
    assert "Not passed" not in screening


def test_overridden_stage_is_not_reported_failed(app: Flask) -> None:
    from recruit.decisions import override_stage
    from tests.conftest import log_in

    with app.app_context():
        recruiter = make_user("rec@example.com", "recruiter")
        application, result = failed_application()
        override_stage(
            application,
            result.stage,
            recruiter,
            reason="The typing test page failed to load",
            waive_pass_mark=True,
        )
        notify_stage_finished.apply(args=[result.id])
        templates = db.session.scalars(select(Notification.template)).all()
        assert "stage_failed" not in templates
        application_id = application.id
    client = app.test_client()
    log_in(client, "ana@example.com")
    page = client.get(f"/me/applications/{application_id}").get_data(as_text=True)
    assert "Not passed" not in page
    assert "You did not pass" not in page


def test_seed_demo_sends_no_email(app: Flask) -> None:
    published: list[tuple[str, list]] = []

    def keep(sender: str, body: tuple, **_kwargs: object) -> None:
        published.append((sender, list(body[0])))

    before_task_publish.connect(keep, weak=False)
    try:
        with app.app_context():
            # An account outside the demo data, which gets emails about real people.
            make_user("rec@example.com", "recruiter")
            seed_demo()
    finally:
        before_task_publish.disconnect(keep)
    tasks = app.extensions["celery"].tasks
    with app.app_context():
        # Run what seeding queued, as the worker would, except scoring and emails.
        followups = [
            (name, args)
            for name, args in published
            if name in (notify_stage_finished.name, dispatch_transitions.name)
        ]
        assert any(name == notify_stage_finished.name for name, _args in followups)
        for name, args in followups:
            tasks[name].apply(args=args).get()
        # Stages the worker completes later, such as the scored language stage.
        for result_id in db.session.scalars(select(StageResult.id)):
            notify_stage_finished.apply(args=[result_id]).get()
        assert db.session.query(Notification).count() == 0
        assert not outbox_dir().exists() or not any(outbox_dir().iterdir())
        # The same task does email about a candidate outside the demo data.
        real = scored_application(
            opening_with_weights(), "real@example.com", {StageKind.LANGUAGE: 70}
        )
        notify_stage_finished.apply(args=[real.stage_results[0].id]).get()
        emails = db.session.scalars(select(Notification)).all()
        assert [n.recipient for n in emails] == ["rec@example.com"]
