"""Candidate pages: open positions, applying, and each application's progress."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app import db
from assessments.models import Assessment
from assessments.services import start_attempt
from recruit.auth import roles_required
from recruit.forms import ApplyForm
from recruit.models import Application, ApplicationStatus, Opening, Role, Stage
from recruit.ranking import overrides_for
from recruit.services import apply, enabled_stages, stage_attempts

bp = Blueprint("public", __name__)

# A hired candidate becomes a trainee and keeps reading their own applications;
# only candidates may still start tests or send forms.
APPLICANT_ROLES = (Role.CANDIDATE, Role.TRAINEE)


@bp.route("/")
def home() -> Any:
    openings = db.session.scalars(
        select(Opening).where(Opening.is_open).order_by(Opening.created_at.desc())
    ).all()
    return render_template("public/home.html", openings=openings)


@bp.route("/openings/<int:opening_id>", methods=["GET", "POST"])
def opening(opening_id: int) -> Any:
    opening = db.get_or_404(Opening, opening_id)
    if not opening.is_open:
        abort(404)
    form = ApplyForm()
    if form.validate_on_submit():
        if not current_user.is_authenticated:
            return redirect(
                url_for(
                    "auth.register", next=url_for(".opening", opening_id=opening.id)
                )
            )
        if not current_user.has_role(Role.CANDIDATE):
            flash(_("Only candidate accounts can apply."), "error")
            return redirect(url_for(".opening", opening_id=opening.id))
        application = apply(current_user, opening)
        return redirect(url_for(".application", application_id=application.id))
    return render_template("public/opening.html", opening=opening, form=form)


@bp.route("/me/applications")
@roles_required(*APPLICANT_ROLES)
def my_applications() -> Any:
    applications = db.session.scalars(
        select(Application)
        .where(Application.candidate_id == current_user.id)
        .order_by(Application.created_at.desc())
    ).all()
    return render_template("public/my_applications.html", applications=applications)


def own_application(application_id: int) -> Application:
    """Return the current user's own application; anyone else's is a 404."""
    application = db.get_or_404(Application, application_id)
    if application.candidate_id != current_user.id:
        abort(404)
    return application


@bp.route("/me/applications/<int:application_id>")
@roles_required(*APPLICANT_ROLES)
def application(application_id: int) -> Any:
    application = own_application(application_id)
    stages = [
        (stage, stage_attempts(application, stage))
        for stage in enabled_stages(application.opening)
    ]
    return render_template(
        "public/application.html",
        application=application,
        stages=stages,
        failed_stages=failed_stages(application),
    )


def failed_stages(application: Application) -> list[Stage]:
    """Return the stages the candidate did not pass, leaving out overridden ones."""
    overrides = overrides_for([application.id])
    return [
        result.stage
        for result in application.stage_results
        if result.complete
        and result.passed is False
        and (application.id, result.stage_id) not in overrides
    ]


@bp.route(
    "/me/applications/<int:application_id>/assessments/<int:assessment_id>",
    methods=["POST"],
)
@roles_required(Role.CANDIDATE)
def start_assessment(application_id: int, assessment_id: int) -> Any:
    """Open (or resume) an assessment of a stage the application has reached."""
    application = own_application(application_id)
    assessment = db.get_or_404(Assessment, assessment_id)
    stage = assessment.stage
    current = application.current_stage
    if stage.opening_id != application.opening_id or not stage.enabled:
        abort(404)
    if application.status != ApplicationStatus.ACTIVE:
        flash(_("This application is closed, so no more tests can be taken."), "error")
        return redirect(url_for(".application", application_id=application.id))
    if current is None or stage.position > current.position:
        flash(_("This stage opens after the earlier ones are complete."), "error")
        return redirect(url_for(".application", application_id=application.id))
    attempt = start_attempt(application.id, assessment)
    return redirect(url_for("assess.attempt", attempt_id=attempt.id))
