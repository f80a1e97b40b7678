"""Celery tasks of the pipeline: re-ranking, emails, webhooks. Each takes ids."""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from datetime import timedelta

from celery import Task, shared_task
from flask import Flask, current_app
from sqlalchemy import and_, or_, select

from app import DATABASE_UNAVAILABLE_ERRORS, RETRY_ON_DATABASE_OUTAGE, db, utcnow
from recruit import notifications, ranking, webhooks
from recruit.models import (
    DeliveryStatus,
    Notification,
    NotificationStatus,
    Role,
    StageKind,
    StageResult,
    StageTransition,
    User,
    WebhookDelivery,
)

log = logging.getLogger(__name__)

MAX_RETRIES = 8
MAX_DELAY_S = 3600.0


def backoff_delay(base_s: float, retries: int) -> float:
    """Seconds before try ``retries + 2``: ``base_s`` doubled per earlier retry."""
    return min(MAX_DELAY_S, base_s * 2**retries)


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY_ON_DATABASE_OUTAGE)
def rerank_opening(opening_id: int) -> int:
    """Recompute the composite of every application of an opening."""
    return ranking.rerank_opening(opening_id)


@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES
)
def send_notification(self: Task, notification_id: int) -> str:
    """Send one email; a sent one is not sent again."""
    try:
        return notifications.send(notification_id)
    except (smtplib.SMTPException, OSError, *DATABASE_UNAVAILABLE_ERRORS) as error:
        db.session.rollback()
        if self.request.retries >= MAX_RETRIES:
            log.error("giving up on email %s: %s", notification_id, error)
            notifications.mark_failed(notification_id, str(error))
            return "failed"
        delay = backoff_delay(
            current_app.config["MAIL_RETRY_BASE_S"], self.request.retries
        )
        log.warning(
            "email %s failed, retrying in %.0f s: %s", notification_id, delay, error
        )
        raise self.retry(exc=error, countdown=delay) from error


@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES
)
def deliver_webhook(self: Task, delivery_id: int) -> str:
    """POST one webhook delivery, retrying with exponential back-off.

    After ``WEBHOOK_MAX_RETRIES`` retries the delivery is marked failed.
    """
    max_retries = int(current_app.config["WEBHOOK_MAX_RETRIES"])
    try:
        return webhooks.deliver(delivery_id)
    except (webhooks.DeliveryFailed, *DATABASE_UNAVAILABLE_ERRORS) as error:
        db.session.rollback()
        if self.request.retries >= max_retries:
            log.error("giving up on webhook delivery %s: %s", delivery_id, error)
            webhooks.give_up(delivery_id, str(error))
            return "failed"
        delay = backoff_delay(
            current_app.config["WEBHOOK_RETRY_BASE_S"], self.request.retries
        )
        log.warning(
            "webhook delivery %s failed, retrying in %.1f s: %s",
            delivery_id,
            delay,
            error,
        )
        raise self.retry(exc=error, countdown=delay, max_retries=max_retries) from error


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_candidate_file(import_id: int) -> str:
    """Import a stored CSV of candidates and keep its report for the page."""
    from recruit.imports import run_import

    return run_import(import_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY_ON_DATABASE_OUTAGE)
def dispatch_transitions(transition_ids: list[int]) -> int:
    """Publish stage changes and hires to the webhooks."""
    transitions = db.session.scalars(
        select(StageTransition).where(StageTransition.id.in_(transition_ids))
    ).all()
    published = 0
    for transition in transitions:
        payload = transition_payload(transition)
        published += webhooks.publish(
            "stage_changed", f"transition:{transition.id}", payload
        )
        if transition.to_status == "hired" and transition.from_status != "hired":
            published += webhooks.publish(
                "hired", f"hire:{transition.application_id}", payload
            )
    db.session.commit()
    return published


def transition_payload(transition: StageTransition) -> dict[str, object]:
    """Serialise a stage change for webhooks and the API."""
    application = transition.application
    return {
        "transition_id": transition.id,
        "application_id": transition.application_id,
        "opening_id": transition.opening_id,
        "candidate": {
            "id": application.candidate_id,
            "email": application.candidate.email,
        },
        "from_stage": transition.from_stage.kind.value
        if transition.from_stage
        else None,
        "to_stage": transition.to_stage.kind.value if transition.to_stage else None,
        "from_status": transition.from_status,
        "to_status": transition.to_status,
        "at": transition.at.isoformat(),
    }


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY_ON_DATABASE_OUTAGE)
def notify_stage_finished(result_id: int) -> int:
    """Email every active recruiter that a candidate finished a stage.

    The candidate gets an email too when the stage was not passed. Returns the
    number of recruiters.
    """
    result = db.session.get(StageResult, result_id)
    if result is None:
        return 0
    application = result.application
    if application.candidate.demo:
        return 0  # no email about the candidates of the demo data
    recruiters = db.session.scalars(
        select(User).where(User.role == Role.RECRUITER, User.active)
    ).all()
    # NOTE: every active recruiter gets the email, because openings have no owners yet.
    for recruiter in recruiters:
        notifications.notify(
            f"stage-finished:{result.id}:{recruiter.id}",
            "stage_finished",
            recruiter,
            {
                "candidate": application.candidate.name,
                "opening": application.opening.title,
                "stage": result.stage.name,
                "score": result.score,
                "application_id": application.id,
            },
        )
    notify_candidate_of_failure(result)
    db.session.commit()
    return len(recruiters)


def notify_candidate_of_failure(result: StageResult) -> None:
    """Email the candidate a stage result below the pass mark, once per result.

    A failed screening closed the application (``knocked_out``); a failed
    later stage waits for a recruiter (``stage_failed``). An overridden stage
    is no failure, so it gets no email.
    """
    application = result.application
    if result.passed is not False or not result.complete:
        return
    if (application.id, result.stage_id) in ranking.overrides_for([application.id]):
        return
    screening = result.stage.kind == StageKind.SCREENING
    notifications.notify(
        f"stage-failed:{result.id}",
        "knocked_out" if screening else "stage_failed",
        application.candidate,
        {
            "opening": application.opening.title,
            "stage": result.stage.name,
            "application_id": application.id,
        },
    )


# Emails and deliveries still pending this long after they were recorded are
# queued again, e.g. because the broker was down at the commit.
STALE_AFTER = timedelta(minutes=30)
# A webhook delivery with no try this long after it was recorded was never
# queued or its task was lost, so the sweep queues it sooner than STALE_AFTER.
NEVER_SENT_AFTER = timedelta(minutes=2)
SWEEP_INTERVAL_S = 300.0


def requeue_pending(stale_after: timedelta = STALE_AFTER) -> int:
    """Queue again the emails and webhook deliveries left pending; return how many.

    NOTE: a task that is still retrying may then run twice at once and send an
    email twice. Webhook receivers drop the copy by the event's ``id``.
    """
    cutoff = utcnow() - stale_after
    notification_ids = db.session.scalars(
        select(Notification.id).where(
            Notification.status == NotificationStatus.PENDING,
            Notification.created_at < cutoff,
        )
    ).all()
    never_sent_cutoff = utcnow() - min(stale_after, NEVER_SENT_AFTER)
    delivery_ids = db.session.scalars(
        select(WebhookDelivery.id).where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            or_(
                WebhookDelivery.created_at < cutoff,
                and_(
                    WebhookDelivery.attempts == 0,
                    WebhookDelivery.created_at < never_sent_cutoff,
                ),
            ),
        )
    ).all()
    queued = 0
    for task, ids in (
        (send_notification, notification_ids),
        (deliver_webhook, delivery_ids),
    ):
        for row_id in ids:
            try:
                task.apply_async(args=[row_id], retry=False)
            except Exception:  # noqa: BLE001 - the broker is still down; next sweep
                log.exception("could not queue %s(%s)", task.name, row_id)
                return queued
            queued += 1
    if queued:
        log.info("queued %d pending emails and webhook deliveries again", queued)
    return queued


def start_sweep_loop(flask_app: Flask, interval_s: float = SWEEP_INTERVAL_S) -> None:
    """Run ``requeue_pending`` now and every ``interval_s`` in a daemon thread."""

    def loop() -> None:
        while True:
            try:
                with flask_app.app_context():
                    requeue_pending()
            except Exception:  # noqa: BLE001 - the loop must outlive a bad round
                log.exception(
                    "pending sweep failed; trying again in %.0f s", interval_s
                )
            time.sleep(interval_s)

    threading.Thread(target=loop, name="pending-sweep", daemon=True).start()
