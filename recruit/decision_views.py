"""Recruiter pages for one application's decision, overrides and decision log."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from app import bounded_int, db
from assessments.models import Response as AnswerResponse
from recruit import audit
from recruit.auth import roles_required
from recruit.decision_log import decision_log, decision_log_csv
from recruit.decisions import (
    DecisionError,
    advance,
    hire,
    hold,
    other_open_applications,
    override_stage,
    reject,
    review_withheld_score,
)
from recruit.models import (
    Application,
    AuditEvent,
    Role,
    StageOverride,
    StageTransition,
    User,
)
from recruit.ranking_forms import DecisionForm, OverrideForm, ReviewScoreForm

bp = Blueprint("decisions", __name__, url_prefix="/recruit")

STAFF = (Role.RECRUITER, Role.ADMIN)
AUDIT_PAGE = 100


def _override_form(application: Application) -> OverrideForm:
    form = OverrideForm(prefix="override")
    form.stage_id.choices = [
        SelectChoice(str(stage.id), stage.name)
        for stage in application.opening.stages
        if stage.enabled
    ]
    return form


@bp.route("/applications/<int:application_id>/decide", methods=["GET", "POST"])
@roles_required(*STAFF)
def decide(application_id: int) -> Any:
    """Show the person's other open applications, then record a decision."""
    application = db.get_or_404(Application, application_id)
    form = DecisionForm(prefix="decision")
    if form.validate_on_submit():
        try:
            _apply(application, form)
        except DecisionError as error:
            db.session.rollback()
            form.action.errors = [*form.action.errors, str(error)]
        else:
            flash(_("Decision recorded."), "success")
            return redirect(url_for(".decide", application_id=application.id))
    return _render(application, form, _override_form(application))


def _apply(application: Application, form: DecisionForm) -> None:
    action = form.action.data
    reason = (form.reason.data or "").strip()
    if action == "hire":
        if not form.confirm_hire.data:
            raise DecisionError(
                _("Tick the box to confirm that you have seen the other applications.")
            )
        hire(application, current_user, reason)
        return
    if action == "advance":
        advance(application, current_user, reason)
    elif action == "hold":
        hold(application, current_user, reason)
    else:
        reject(application, current_user, reason, form.message.data or "")
    db.session.commit()


def _render(
    application: Application, form: DecisionForm, override_form: OverrideForm
) -> Any:
    overrides = db.session.scalars(
        select(StageOverride)
        .where(StageOverride.application_id == application.id)
        .options(joinedload(StageOverride.author), joinedload(StageOverride.stage))
    ).all()
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.application_id == application.id)
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    ).all()
    transitions = db.session.scalars(
        select(StageTransition)
        .where(StageTransition.application_id == application.id)
        .options(
            joinedload(StageTransition.from_stage), joinedload(StageTransition.to_stage)
        )
        .order_by(StageTransition.at, StageTransition.id)
    ).all()
    return render_template(
        "recruit/decide.html",
        application=application,
        others=other_open_applications(application),
        form=form,
        override_form=override_form,
        overrides=overrides,
        events=events,
        transitions=transitions,
    )


@bp.route("/applications/<int:application_id>/override", methods=["POST"])
@roles_required(*STAFF)
def override(application_id: int) -> Any:
    """Set or clear a stage override with a reason; the composite follows."""
    application = db.get_or_404(Application, application_id)
    override_form = _override_form(application)
    if override_form.validate_on_submit():
        stage = next(
            s for s in application.opening.stages if s.id == override_form.stage_id.data
        )
        score = override_form.score.data
        try:
            override_stage(
                application,
                stage,
                current_user,
                reason=override_form.reason.data or "",
                score=float(score) if score is not None else None,
                waive_pass_mark=bool(override_form.waive_pass_mark.data),
            )
        except DecisionError as error:
            db.session.rollback()
            override_form.reason.errors = [str(error)]
        else:
            flash(_("Override saved; the composite score is updated."), "success")
            return redirect(url_for(".decide", application_id=application.id))
    return _render(application, DecisionForm(prefix="decision"), override_form)


@bp.route("/responses/<int:response_id>/review", methods=["POST"])
@roles_required(*STAFF)
def review_response(response_id: int) -> Any:
    """Accept a withheld answer score, or enter another, with a reason."""
    response = db.get_or_404(AnswerResponse, response_id)
    form = ReviewScoreForm()
    target = url_for(
        "recruit.application",
        application_id=response.attempt.application_id,
        _anchor=f"response-{response.id}",
    )
    if not form.validate_on_submit():
        errors = [
            f"{field.label.text}: {error}" for field in form for error in field.errors
        ]
        flash(" ".join(errors), "error")
        return redirect(target)
    score = None
    if form.action.data == "replace":
        if form.score.data is None:
            flash(_("Enter the score to use, or accept the computed one."), "error")
            return redirect(target)
        score = float(form.score.data)
    try:
        review_withheld_score(
            response, current_user, reason=form.reason.data or "", score=score
        )
    except DecisionError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash(_("Review saved; the stage and composite scores are updated."), "success")
    return redirect(target)


@bp.route("/candidates/<int:user_id>/decision-log.<fmt>")
@roles_required(*STAFF)
def candidate_decision_log(user_id: int, fmt: str) -> Any:
    """Export every automated score and human decision about one person (JSON, CSV)."""
    if fmt not in ("json", "csv"):
        abort(404)
    user = db.get_or_404(User, user_id)
    if not db.session.scalar(select(Application.id).filter_by(candidate_id=user.id)):
        abort(404)
    log = decision_log(user)
    audit.record(
        "export_decision_log",
        actor=current_user,
        after={"candidate_id": user.id, "format": fmt},
    )
    db.session.commit()
    name = f"decision-log-candidate-{user.id}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "json":
        body = json.dumps(log, ensure_ascii=False, indent=2, default=str)
        return Response(body, mimetype="application/json", headers=headers)
    return Response(decision_log_csv(log), mimetype="text/csv", headers=headers)


@bp.route("/audit")
@roles_required(Role.ADMIN)
def audit_log() -> Any:
    """List the latest audit events, newest first, optionally of one action."""
    action = request.args.get("action") or None
    before_id = request.args.get("before", type=bounded_int)
    query = select(AuditEvent).options(joinedload(AuditEvent.actor))
    if action:
        query = query.where(AuditEvent.action == action)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    events = db.session.scalars(
        query.order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE)
    ).all()
    return render_template(
        "recruit/audit.html", events=events, action=action, page_size=AUDIT_PAGE
    )
