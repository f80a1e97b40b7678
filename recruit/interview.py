"""Stage 6, the structured interview: scorecards with a 1-5 rubric per competency.

Each recruiter fills in one scorecard per application. The stage score is the
mean over the rated competencies of the recruiters' mean rating, mapped from
1-5 to 0-100. A competency nobody rated is left out, never counted as zero. A
competency on which two recruiters differ by more than one point is flagged.
"""

from __future__ import annotations

import logging
from statistics import fmean
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app import db, utcnow
from recruit.auth import roles_required
from recruit.models import (
    Application,
    InterviewCompetency,
    Role,
    Scorecard,
    ScorecardRating,
    Stage,
    StageKind,
    StageResult,
)
from recruit.ranking import reached_position
from recruit.services import (
    STAGE_RESULT_BUILDERS,
    enabled_stages,
    recompute_application,
)

log = logging.getLogger(__name__)
audit = logging.getLogger("frontline.audit")
bp = Blueprint("interview", __name__, url_prefix="/recruit")

STAFF = (Role.RECRUITER, Role.ADMIN)
# Ratings of one competency further apart than this are flagged.
MAX_AGREED_SPREAD = 1

# name, description, anchors for 1..5
DEFAULT_COMPETENCIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Customer focus",
        "Puts the customer's need first and keeps a warm, respectful tone.",
        (
            "Talks about the process, not the customer; sounds indifferent.",
            "Polite but generic; misses what the customer cares about.",
            "Finds the customer's need and answers it courteously.",
            "Anticipates the next question; warm and personal without scripts.",
            "Turns a complaint into goodwill; every example puts the customer first.",
        ),
    ),
    (
        "Problem solving",
        "Finds the cause of a customer's problem and a workable solution.",
        (
            "Guesses or gives up; no structured questions.",
            "Asks some questions but jumps to a solution.",
            "Asks the right questions in a sensible order and solves common cases.",
            "Checks assumptions, explains the cause and offers alternatives.",
            "Solves unfamiliar problems systematically and prevents repeats.",
        ),
    ),
    (
        "Written communication",
        "Writes clear, correct and friendly chat messages.",
        (
            "Hard to follow; frequent errors or chat-speak.",
            "Understandable but wordy or careless.",
            "Clear, correct and polite in ordinary situations.",
            "Concise and friendly; adapts the tone to the customer.",
            "Exemplary: precise, warm and error-free under pressure.",
        ),
    ),
    (
        "Composure under pressure",
        "Stays calm and constructive with upset customers and busy queues.",
        (
            "Becomes defensive or curt.",
            "Copes but shows stress in tone or decisions.",
            "Stays calm and polite with an upset customer.",
            "De-escalates and keeps several chats in order.",
            "Calms angry customers reliably and supports colleagues.",
        ),
    ),
    (
        "Reliability and teamwork",
        "Keeps commitments, follows procedures and works with the team.",
        (
            "Examples show missed commitments or ignored procedures.",
            "Mostly reliable; vague about working with others.",
            "Keeps commitments and follows procedures.",
            "Owns mistakes and helps the team improve.",
            "A dependable example to others; improves procedures.",
        ),
    ),
)


def competencies(stage: Stage) -> list[InterviewCompetency]:
    """Return the stage's competencies in their fixed order (position, then id)."""
    return list(
        db.session.scalars(
            select(InterviewCompetency)
            .filter_by(stage_id=stage.id)
            .order_by(InterviewCompetency.position, InterviewCompetency.id)
        )
    )


def add_default_competencies(stage: Stage) -> list[InterviewCompetency]:
    """Give an interview stage without competencies the default five."""
    existing = competencies(stage)
    if existing:
        return existing
    for position, (name, description, anchors) in enumerate(
        DEFAULT_COMPETENCIES, start=1
    ):
        db.session.add(
            InterviewCompetency(
                stage_id=stage.id,
                position=position,
                name=name,
                description=description,
                anchors={str(n): text for n, text in enumerate(anchors, start=1)},
            )
        )
    db.session.commit()
    return competencies(stage)


def scorecards(application: Application) -> list[Scorecard]:
    return list(
        db.session.scalars(
            select(Scorecard)
            .filter_by(application_id=application.id)
            .order_by(Scorecard.id)
        )
    )


def save_scorecard(
    application: Application,
    recruiter_id: int,
    ratings: dict[int, tuple[int | None, str]],
    notes: str,
    *,
    submit: bool,
) -> Scorecard:
    """Create or update the recruiter's own scorecard, then rescore the stage.

    ``ratings`` maps competency ids to (rating 1-5 or None, note). A rating of
    None removes that competency's rating, so it counts as not rated.
    """
    card = db.session.scalar(
        select(Scorecard).filter_by(
            application_id=application.id, recruiter_id=recruiter_id
        )
    )
    if card is None:
        card = Scorecard(application_id=application.id, recruiter_id=recruiter_id)
        db.session.add(card)
    card.notes = notes
    existing = {rating.competency_id: rating for rating in card.ratings}
    for competency_id, (value, note) in ratings.items():
        rating = existing.get(competency_id)
        # NOTE: a note without a rating is not stored, because a rating row
        # needs its 1-5 value; the overall notes are the place for it.
        if value is None:
            if rating is not None:
                card.ratings.remove(rating)
            continue
        if rating is None:
            rating = ScorecardRating(competency_id=competency_id)
            card.ratings.append(rating)
        rating.rating = value
        rating.note = note
    if submit:
        card.submitted_at = utcnow()
    db.session.commit()
    audit.info(
        "scorecard %s %s by user %s for application %s",
        card.id,
        "submitted" if submit else "saved",
        recruiter_id,
        application.id,
    )
    recompute_application(application)
    return card


def interview_result(application: Application, stage: Stage) -> StageResult | None:
    """Score the interview from the submitted scorecards; None without any."""
    cards = [card for card in scorecards(application) if card.submitted_at]
    if not cards:
        return None
    rows: list[dict[str, Any]] = []
    for competency in competencies(stage):
        given = [
            (card.recruiter.name, rating.rating)
            for card in cards
            for rating in card.ratings
            if rating.competency_id == competency.id
        ]
        values = [value for _name, value in given]
        rows.append(
            {
                "id": competency.id,
                "name": competency.name,
                "mean": round(fmean(values), 2) if values else None,
                "ratings": given,
                "disagreement": bool(values)
                and max(values) - min(values) > MAX_AGREED_SPREAD,
            }
        )
    means = [float(row["mean"]) for row in rows if row["mean"] is not None]
    score = round((fmean(means) - 1) / 4 * 100, 1) if means else None
    result = application.result_for(stage)
    if result is None:
        result = StageResult(application=application, stage=stage)
        db.session.add(result)
    result.score = score
    result.complete = score is not None
    result.passed = None if score is None else score >= stage.pass_mark
    result.needs_review = any(row["disagreement"] for row in rows)
    result.details = {"competencies": rows, "scorecards": len(cards)}
    return result


STAGE_RESULT_BUILDERS[StageKind.INTERVIEW] = interview_result


class ScorecardForm(FlaskForm):
    notes = TextAreaField(_l("Overall notes"), validators=[Length(max=10_000)])
    save = SubmitField(_l("Save draft"))
    submit = SubmitField(_l("Submit scorecard"))


def build_form(items: list[InterviewCompetency], card: Scorecard | None) -> Any:
    class CompetencyScorecardForm(ScorecardForm):
        pass

    for competency in items:
        choices = [
            SelectChoice(str(n), f"{n} – {competency.anchors.get(str(n), '')}")
            for n in range(1, 6)
        ]
        setattr(
            CompetencyScorecardForm,
            f"rating_{competency.id}",
            RadioField(competency.name, choices=choices, validators=[Optional()]),
        )
        setattr(
            CompetencyScorecardForm,
            f"note_{competency.id}",
            TextAreaField(
                _l("Notes on %(name)s", name=competency.name),
                validators=[Length(max=5_000)],
            ),
        )
    form = CompetencyScorecardForm()
    if card is not None and request.method == "GET":
        form.notes.data = card.notes
        for rating in card.ratings:
            getattr(form, f"rating_{rating.competency_id}").data = str(rating.rating)
            getattr(form, f"note_{rating.competency_id}").data = rating.note
    return form


def interview_reached(application: Application, stage: Stage) -> bool:
    """Tell whether the application is at the interview stage or later, or hired."""
    reached = reached_position(application, enabled_stages(application.opening))
    return reached is None or reached >= stage.position


def _not_reached_message(application: Application) -> str:
    return _(
        "%(name)s has not reached the interview stage, so a scorecard cannot be "
        "saved yet. Advance the application to the interview stage first.",
        name=application.candidate.name,
    )


@bp.route("/applications/<int:application_id>/scorecard", methods=["GET", "POST"])
@roles_required(*STAFF)
def scorecard(application_id: int) -> Any:
    """Show and save the current recruiter's own scorecard, never another's."""
    application = db.get_or_404(Application, application_id)
    stage = application.opening.stage(StageKind.INTERVIEW)
    if stage is None or not stage.enabled:
        abort(404)
    items = add_default_competencies(stage)
    card = db.session.scalar(
        select(Scorecard).filter_by(
            application_id=application.id, recruiter_id=current_user.id
        )
    )
    form = build_form(items, card)
    not_reached = None
    if not interview_reached(application, stage):
        not_reached = _not_reached_message(application)
        if request.method == "POST":
            if request.accept_mimetypes.best == "application/json":
                return jsonify(error=not_reached), 409
            return _render(application, form, items, card, not_reached), 409
    if form.validate_on_submit():
        ratings = {
            c.id: (
                int(getattr(form, f"rating_{c.id}").data)
                if getattr(form, f"rating_{c.id}").data
                else None,
                (getattr(form, f"note_{c.id}").data or "").strip(),
            )
            for c in items
        }
        final = bool(form.submit.data)
        if final and not any(value for value, _note in ratings.values()):
            form.submit.errors = [_("Rate at least one competency to submit.")]
        else:
            save_scorecard(
                application,
                current_user.id,
                ratings,
                form.notes.data or "",
                submit=final,
            )
            flash(_("Scorecard submitted.") if final else _("Draft saved."), "success")
            return redirect(
                url_for("recruit.application", application_id=application.id)
                + "#stage-interview"
            )
    return _render(application, form, items, card, not_reached)


def _render(
    application: Application,
    form: Any,
    items: list[InterviewCompetency],
    card: Scorecard | None,
    not_reached: str | None,
) -> str:
    return render_template(
        "recruit/scorecard.html",
        application=application,
        form=form,
        items=items,
        card=card,
        not_reached=not_reached,
    )


@bp.app_template_global()
def scorecards_for(application: Application) -> list[Scorecard]:
    return scorecards(application)
