"""Recruiters' decisions: advance, hold, reject, hire, overrides and reviews of
withheld scores, each audited."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from blinker import Namespace
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import db, utcnow
from assessments.models import Response, Score
from recruit import audit
from recruit.models import (
    Application,
    ApplicationStatus,
    Role,
    Stage,
    StageOverride,
    User,
)
from recruit.notifications import notify
from recruit.ranking import overrides_for, refresh_composite
from scoring.withheld import band_for_scorer

log = logging.getLogger(__name__)

_signals = Namespace()
# Sent with the Application after a hire is committed; onboarding enrols on it.
application_hired = _signals.signal("application-hired")

OPEN_STATUSES = (ApplicationStatus.ACTIVE, ApplicationStatus.HOLD)
BULK_ACTIONS = ("advance", "hold", "reject")


class DecisionError(Exception):
    """A decision that cannot be taken, with a message for the recruiter."""


def _enabled(application: Application) -> list[Stage]:
    return [stage for stage in application.opening.stages if stage.enabled]


def _snapshot(application: Application) -> dict[str, object]:
    stage = application.current_stage
    return {
        "status": application.status.value,
        "stage": stage.kind.value if stage is not None else None,
    }


def _require_open(application: Application) -> None:
    if application.status not in OPEN_STATUSES:
        raise DecisionError(
            _(
                "The application of %(name)s is %(status)s, so it cannot change.",
                name=application.candidate.name,
                status=application.status.value,
            )
        )


def _claim(application: Application) -> None:
    """Lock the application's row unless a concurrent decision changed it meanwhile.

    The UPDATE matches only while the row still has the status and stage that
    this request read and checked. It takes the row lock on PostgreSQL and the
    database write lock on SQLite, so a second identical request waits for the
    first to commit and then matches no row. That loser raises ``DecisionError``.
    """
    table = Application.__table__
    claimed = db.session.execute(
        update(table)
        .where(
            table.c.id == application.id,
            table.c.status == application.status,
            table.c.current_stage_id.is_not_distinct_from(application.current_stage_id),
        )
        .values(id=table.c.id)
    )
    if claimed.rowcount == 1:
        return
    db.session.refresh(application)
    stage = application.current_stage
    raise DecisionError(
        _(
            "The application of %(name)s was already decided in another request "
            "and is now %(status)s at the %(stage)s stage. Reload the page to see "
            "that decision.",
            name=application.candidate.name,
            status=application.status.value,
            stage=stage.name if stage is not None else "–",
        )
    )


def advance(application: Application, actor: User, reason: str = "") -> Stage:
    """Move an open application to the next enabled stage and tell the candidate."""
    _require_open(application)
    _claim(application)
    stages = _enabled(application)
    current = application.current_stage
    later = [s for s in stages if current is None or s.position > current.position]
    if not later:
        raise DecisionError(
            _(
                "%(name)s is already at the last stage; hire or reject instead.",
                name=application.candidate.name,
            )
        )
    before = _snapshot(application)
    application.current_stage = later[0]
    application.stage_entered_at = utcnow()
    application.status = ApplicationStatus.ACTIVE
    _record_change("advance", application, actor, before, reason)
    notify(
        f"advance:{application.id}:{later[0].id}",
        "advanced",
        application.candidate,
        {"opening": application.opening.title, "stage": later[0].name},
    )
    return later[0]


def _record_change(
    action: str,
    application: Application,
    actor: User,
    before: dict[str, object],
    reason: str,
) -> None:
    """Audit a decision with the application's state before and after it."""
    audit.record(
        action,
        actor=actor,
        application=application,
        before=before,
        after=_snapshot(application),
        reason=reason,
    )


def hold(application: Application, actor: User, reason: str = "") -> None:
    """Put an open application on hold."""
    _require_open(application)
    _claim(application)
    before = _snapshot(application)
    application.status = ApplicationStatus.HOLD
    _record_change("hold", application, actor, before, reason)


def reject(
    application: Application, actor: User, reason: str, message: str = ""
) -> None:
    """Reject an open application for ``reason``; email the candidate."""
    if not reason.strip():
        raise DecisionError(_("A rejection needs a reason."))
    _require_open(application)
    _claim(application)
    before = _snapshot(application)
    application.status = ApplicationStatus.REJECTED
    _record_change("reject", application, actor, before, reason)
    notify(
        f"reject:{application.id}",
        "rejected",
        application.candidate,
        {"opening": application.opening.title, "message": message.strip()},
    )


def other_open_applications(application: Application) -> list[Application]:
    """Return the candidate's other applications that are active or on hold."""
    return list(
        db.session.scalars(
            select(Application)
            .where(
                Application.candidate_id == application.candidate_id,
                Application.id != application.id,
                Application.status.in_(OPEN_STATUSES),
            )
            .order_by(Application.created_at)
        )
    )


def hire(application: Application, actor: User, reason: str = "") -> None:
    """Hire the candidate into this opening, make them a trainee and commit.

    A person is hired into one opening at most: a partial unique index on
    hired applications rejects a second hire, even from a concurrent request.
    """
    _require_open(application)
    _claim(application)
    candidate = application.candidate
    already = db.session.scalar(
        select(Application.id).where(
            Application.candidate_id == candidate.id,
            Application.status == ApplicationStatus.HIRED,
        )
    )
    if already is not None:
        raise DecisionError(
            _("%(name)s is already hired into another opening.", name=candidate.name)
        )
    before = _snapshot(application)
    application.status = ApplicationStatus.HIRED
    role_before = candidate.role.value
    if candidate.role == Role.CANDIDATE:
        candidate.role = Role.TRAINEE
    audit.record(
        "hire",
        actor=actor,
        application=application,
        before={**before, "role": role_before},
        after={**_snapshot(application), "role": candidate.role.value},
        reason=reason,
    )
    notify(
        f"hire:{application.id}",
        "hired",
        candidate,
        {"opening": application.opening.title},
    )
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise DecisionError(
            _("%(name)s is already hired into another opening.", name=candidate.name)
        ) from error
    log.info("application %s hired by user %s", application.id, actor.id)
    application_hired.send(application)


@dataclass
class BulkOutcome:
    done: list[int] = field(default_factory=list)
    # Application id -> the reason it was left unchanged.
    skipped: dict[int, str] = field(default_factory=dict)


def bulk_decide(
    opening_id: int,
    application_ids: Sequence[int],
    action: str,
    actor: User,
    *,
    reason: str = "",
    message: str = "",
) -> BulkOutcome:
    """Apply one action to many applications of an opening and commit once."""
    if action not in BULK_ACTIONS:
        raise DecisionError(_("Unknown action %(action)s.", action=action))
    if action == "reject" and not reason.strip():
        raise DecisionError(_("A rejection needs a reason."))
    applications = db.session.scalars(
        select(Application)
        .where(
            Application.id.in_(list(application_ids)),
            Application.opening_id == opening_id,
        )
        .options(selectinload(Application.candidate))
    ).all()
    outcome = BulkOutcome()
    for application in applications:
        try:
            if action == "advance":
                advance(application, actor, reason)
            elif action == "hold":
                hold(application, actor, reason)
            else:
                reject(application, actor, reason, message)
        except DecisionError as error:
            outcome.skipped[application.id] = str(error)
        else:
            outcome.done.append(application.id)
    db.session.commit()
    log.info(
        "bulk %s on opening %s by user %s: %d done, %d skipped",
        action,
        opening_id,
        actor.id,
        len(outcome.done),
        len(outcome.skipped),
    )
    return outcome


def override_stage(
    application: Application,
    stage: Stage,
    actor: User,
    *,
    reason: str,
    score: float | None = None,
    waive_pass_mark: bool = False,
) -> StageOverride | None:
    """Set, change or clear a stage override, re-rank the application and commit.

    Clearing happens when neither a score nor a waiver is given.
    """
    if not reason.strip():
        raise DecisionError(_("An override needs a reason."))
    if stage.opening_id != application.opening_id:
        raise DecisionError(_("That stage belongs to another opening."))
    if score is not None and not 0 <= score <= 100:
        raise DecisionError(_("A score lies between 0 and 100."))
    current = overrides_for([application.id]).get((application.id, stage.id))
    result = application.result_for(stage)
    before = {
        "stage": stage.kind.value,
        "score": result.score if result is not None else None,
        "composite": application.composite_score,
        "knocked_out": application.knocked_out,
        "override_score": current.score if current else None,
        "waive_pass_mark": current.waive_pass_mark if current else False,
    }
    if score is None and not waive_pass_mark:
        if current is not None:
            db.session.delete(current)
            current = None
    else:
        values = {
            "score": score,
            "waive_pass_mark": waive_pass_mark,
            "reason": reason.strip(),
            "author_id": actor.id,
            "created_at": utcnow(),
        }
        if current is None:
            current = StageOverride(
                application_id=application.id, stage_id=stage.id, **values
            )
            db.session.add(current)
        else:
            for name, value in values.items():
                setattr(current, name, value)
    db.session.flush()
    refresh_composite(
        application, _enabled(application), overrides_for([application.id])
    )
    audit.record(
        "override",
        actor=actor,
        application=application,
        before=before,
        after={
            "stage": stage.kind.value,
            "composite": application.composite_score,
            "knocked_out": application.knocked_out,
            "override_score": score,
            "waive_pass_mark": waive_pass_mark,
        },
        reason=reason.strip(),
    )
    db.session.commit()
    return current


def review_withheld_score(
    response: Response, actor: User, *, reason: str, score: float | None = None
) -> Score:
    """Release a withheld answer score after review, re-rank and commit.

    The scorer's computed score is accepted when ``score`` is None; otherwise
    ``score`` is used and its band follows the scorer's CEFR bounds. Either way
    the decision is audited with the reason, and the answer then counts in its
    stage like any other.
    """
    from assessments.grading import finish, lock_application

    if not reason.strip():
        raise DecisionError(_("A review needs a reason."))
    # A second recruiter reviewing the same answer waits here, then finds it
    # already released.
    lock_application(response.attempt.application_id)
    if response.score is not None:
        db.session.refresh(response.score)
    if not response.awaiting_review:
        raise DecisionError(_("This answer's score is not withheld for review."))
    if score is not None and not 0 <= score <= 100:
        raise DecisionError(_("A score lies between 0 and 100."))
    row = response.score
    assert row is not None  # awaiting_review implies a score row
    withheld = row.evidence["withheld"]
    accepted = score is None
    value = withheld["score"] if accepted else round(score, 1)
    band = withheld.get("cefr") if accepted else band_for_scorer(row.scorer, value)
    application = response.attempt.application
    row.score = value
    row.cefr = band
    row.evidence = {
        **row.evidence,
        "review": {
            "accepted_computed": accepted,
            "score": value,
            "cefr": band,
            "reason": reason.strip(),
            "author_id": actor.id,
            "at": utcnow().isoformat(),
        },
    }
    response.needs_review = False
    audit.record(
        "review_score",
        actor=actor,
        application=application,
        before={
            "response_id": response.id,
            "item_id": response.item_id,
            "score": None,
            "computed_score": withheld["score"],
            "computed_cefr": withheld.get("cefr"),
            "withheld_for": withheld.get("reasons", []),
        },
        after={"response_id": response.id, "score": value, "cefr": band},
        reason=reason.strip(),
    )
    # finish() commits, recomputes the attempt's score and re-ranks the
    # application, as when a scorer stores an answer's score.
    finish(response)
    log.info("withheld score of response %s released by user %s", response.id, actor.id)
    return row
