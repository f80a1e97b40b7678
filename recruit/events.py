"""Pipeline history and follow-up work that starts once a change is committed.

A session listener writes a ``StageTransition`` whenever an application is
created or its stage or status changes through the ORM, whichever module made
the change. Bulk ``UPDATE`` statements bypass it. Tasks
registered with ``queue_after_commit`` are sent to the broker only after the
commit, so a worker never reads a row that is not there yet; a rollback drops
them.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from recruit.models import (
    Application,
    ApplicationStatus,
    StageResult,
    StageTransition,
)

log = logging.getLogger(__name__)

_QUEUE = "frontline_after_commit"
_NEW_TRANSITIONS = "frontline_new_transitions"
_FINISHED_RESULTS = "frontline_finished_results"


def queue_after_commit(session: Any, task: Any, *args: Any) -> None:
    """Send ``task`` with ``args`` to the broker after ``session`` commits."""
    session.info.setdefault(_QUEUE, []).append((task, args))


def _stage_change(application: Application) -> tuple[bool, int | None, int | None]:
    state = inspect(application)
    old_id = state.attrs.current_stage_id.loaded_value
    old_id = old_id if isinstance(old_id, int) else None
    if state.attrs.current_stage.history.has_changes():
        stage = application.current_stage
        new_id = stage.id if stage is not None else None
    elif state.attrs.current_stage_id.history.has_changes():
        new_id = application.current_stage_id
    else:
        return False, old_id, old_id
    return new_id != old_id, old_id, new_id


def _status_change(application: Application) -> tuple[bool, str | None]:
    history = inspect(application).attrs.status.history
    if not history.has_changes():
        return False, None
    old = history.deleted[0] if history.deleted else None
    return old != application.status, (str(old.value) if old is not None else None)


@event.listens_for(Session, "before_flush")
def _record_transitions(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.new):
        if isinstance(obj, Application):
            session.add(_first_transition(obj))
        elif isinstance(obj, StageResult) and obj.complete:
            session.info.setdefault(_FINISHED_RESULTS, []).append(obj)
    for obj in list(session.dirty):
        if isinstance(obj, Application):
            _record_change(session, obj)
        elif isinstance(obj, StageResult):
            history = inspect(obj).attrs.complete.history
            if history.has_changes() and obj.complete and False in history.deleted:
                session.info.setdefault(_FINISHED_RESULTS, []).append(obj)


def _first_transition(application: Application) -> StageTransition:
    """The entry of a new application; it may name its opening and stage by id."""
    transition = StageTransition(
        application=application,
        opening_id=application.opening_id,
        to_stage_id=application.current_stage_id,
        # The column default fills in the status at the insert.
        to_status=(application.status or ApplicationStatus.ACTIVE).value,
    )
    if application.opening is not None:
        transition.opening = application.opening
    if application.current_stage is not None:
        transition.to_stage = application.current_stage
    return transition


def _record_change(session: Session, application: Application) -> None:
    stage_changed, old_stage, new_stage = _stage_change(application)
    status_changed, old_status = _status_change(application)
    if not stage_changed and not status_changed:
        return
    session.add(
        StageTransition(
            application=application,
            opening_id=application.opening_id,
            from_stage_id=old_stage,
            to_stage_id=new_stage,
            from_status=old_status if status_changed else application.status.value,
            to_status=application.status.value,
        )
    )


@event.listens_for(Session, "after_flush")
def _collect_ids(session: Session, flush_context: Any) -> None:
    ids = [obj.id for obj in session.new if isinstance(obj, StageTransition)]
    if ids:
        session.info.setdefault(_NEW_TRANSITIONS, []).extend(ids)


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    from recruit import tasks

    # SQLAlchemy sends after_commit when a SAVEPOINT is released too (e.g. in
    # notify and publish); the work waits for the outermost commit.
    if session.in_nested_transaction():
        return
    transitions = session.info.pop(_NEW_TRANSITIONS, [])
    finished = session.info.pop(_FINISHED_RESULTS, [])
    queued = session.info.pop(_QUEUE, [])
    if transitions:
        queued.append((tasks.dispatch_transitions, (transitions,)))
    for result in finished:
        result_id = inspect(result).identity
        if result_id:
            queued.append((tasks.notify_stage_finished, (result_id[0],)))
    # These two only record rows (webhook deliveries, emails) whose own tasks
    # the sweep queues later, so they run here when the broker is out of reach.
    recorders = (tasks.dispatch_transitions, tasks.notify_stage_finished)
    broker_down = False
    for task, args in queued:
        if broker_down:
            # Each send to a hung broker takes the socket timeout. The emails
            # and deliveries of the other tasks are rows that the sweep queues
            # later, but a re-ranking is skipped.
            log.warning("not queueing %s%r: the broker is down", task.name, args)
        else:
            try:
                task.apply_async(args=list(args), retry=False)
                continue
            except Exception:  # noqa: BLE001 - a broker outage must not fail the commit
                log.exception("could not queue %s%r after commit", task.name, args)
                broker_down = True
        if task in recorders:
            _record_in_process(task, args)


def _record_in_process(task: Any, args: tuple[Any, ...]) -> None:
    """Run a recording task's body in this process, in a session of its own.

    The session that has just committed cannot run SQL inside its after_commit
    event, and a new application context has a session of its own.
    """
    from flask import current_app, has_app_context

    if not has_app_context():
        log.error("%s%r is lost: no broker and no application", task.name, args)
        return
    try:
        with current_app.app_context():
            task.run(*args)
    except Exception:  # noqa: BLE001 - the commit it follows has succeeded
        log.exception("%s%r failed in process too; it is lost", task.name, args)
    else:
        log.info("ran %s%r in process because the broker is down", task.name, args)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    # A rolled-back savepoint, such as a duplicate email or a webhook delivery
    # already recorded, leaves the outer transaction and its queued tasks due.
    transaction = session.get_transaction()
    if session.in_nested_transaction() or (
        transaction is not None and transaction.is_active
    ):
        return
    for key in (_QUEUE, _NEW_TRANSITIONS, _FINISHED_RESULTS):
        session.info.pop(key, None)
