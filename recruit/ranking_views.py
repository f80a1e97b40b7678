"""Recruiter pages of an opening: ranking, bulk decisions, export, settings, board."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app import db, utcnow
from recruit import audit
from recruit.auth import _safe_next as safe_next
from recruit.auth import roles_required
from recruit.decisions import DecisionError, bulk_decide
from recruit.events import queue_after_commit
from recruit.exports import ranking_csv_rows
from recruit.models import (
    Application,
    ApplicationStatus,
    Opening,
    Role,
    Stage,
)
from recruit.ranking import (
    PAGE_SIZES,
    RankingPage,
    overrides_for,
    parse_filter,
    ranking_page,
)
from recruit.ranking_forms import BulkDecisionForm, OpeningSettingsForm
from scoring.cefr import BANDS

bp = Blueprint("ranking", __name__, url_prefix="/recruit")
log = logging.getLogger(__name__)

STAFF = (Role.RECRUITER, Role.ADMIN)
# At most this many cards per stage on the pipeline board; the rest are counted.
BOARD_CARDS = 12


def _enabled(opening: Opening) -> list[Stage]:
    return [stage for stage in opening.stages if stage.enabled]


def url_with(**changes: Any) -> str:
    """Return the current URL with some query arguments replaced (None removes one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [str(value)]
    query = urlencode(args, doseq=True)
    return f"{request.path}?{query}" if query else request.path


def render_ranking(opening: Opening) -> Any:
    """Render one page of the filtered, sorted ranking of ``opening``."""
    stages = _enabled(opening)
    flt = parse_filter(request.args, stages)
    # A list that left out an invalid filter would mislead, so none is shown.
    page = ranking_page(opening, flt) if not flt.errors else RankingPage([], 0, False)
    overridden = {key[0] for key in overrides_for([a.id for a in page.rows])}
    pages = max(1, -(-page.total // flt.per_page))
    has_next = flt.page < pages or (
        page.total_capped and len(page.rows) == flt.per_page
    )
    return render_template(
        "recruit/ranking.html",
        opening=opening,
        stages=stages,
        applications=page.rows,
        total=page.total,
        total_capped=page.total_capped,
        flt=flt,
        pages=pages,
        has_next=has_next,
        overridden=overridden,
        statuses=[status.value for status in ApplicationStatus],
        languages=sorted(opening.languages or []),
        bands=BANDS,
        page_sizes=PAGE_SIZES,
        bulk_form=BulkDecisionForm(),
        url_with=url_with,
        now=utcnow(),
        export_url=url_for(
            "ranking.export_csv", opening_id=opening.id, **request.args.to_dict(False)
        ),
    )


@bp.route("/openings/<int:opening_id>/decisions", methods=["POST"])
@roles_required(*STAFF)
def bulk_decision(opening_id: int) -> Any:
    opening = db.get_or_404(Opening, opening_id)
    form = BulkDecisionForm()
    back = safe_next(request.form.get("next")) or url_for(
        "recruit.opening_ranking", opening_id=opening.id
    )
    if not form.validate_on_submit():
        flash(_("The decision form was not valid; nothing changed."), "error")
        return redirect(back)
    ids = [int(i) for i in request.form.getlist("application_id") if i.isdigit()]
    if not ids:
        flash(_("Select at least one application."), "error")
        return redirect(back)
    try:
        outcome = bulk_decide(
            opening.id,
            ids,
            form.action.data or "",
            current_user,
            reason=form.reason.data or "",
            message=form.message.data or "",
        )
    except DecisionError as error:
        flash(str(error), "error")
        return redirect(back)
    flash(
        ngettext(
            "%(num)d application updated.",
            "%(num)d applications updated.",
            len(outcome.done),
        ),
        "success",
    )
    for message in outcome.skipped.values():
        flash(message, "error")
    return redirect(back)


@bp.route("/openings/<int:opening_id>/ranking.csv")
@roles_required(*STAFF)
def export_csv(opening_id: int) -> Any:
    """Stream the filtered ranking as CSV, with every stage and language score."""
    opening = db.get_or_404(Opening, opening_id)
    stages = _enabled(opening)
    flt = parse_filter(request.args, stages)
    if flt.errors:
        # The ranking page shows each invalid filter's message.
        return redirect(
            url_for(
                "recruit.opening_ranking",
                opening_id=opening.id,
                **request.args.to_dict(flat=False),
            ),
            code=303,
        )
    audit.record(
        "export_ranking",
        actor=current_user,
        opening_id=opening.id,
        after={"filters": request.args.to_dict(flat=False)},
    )
    db.session.commit()
    filename = f"ranking-opening-{opening.id}.csv"
    return Response(
        stream_with_context(ranking_csv_rows(opening.id, flt)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/openings/<int:opening_id>/settings", methods=["GET", "POST"])
@roles_required(*STAFF)
def opening_settings(opening_id: int) -> Any:
    """Stage weights, pass marks and switches; saving re-ranks in the background."""
    opening = db.get_or_404(Opening, opening_id)
    stages = list(opening.stages)
    form = OpeningSettingsForm()
    if request.method == "GET":
        for stage in stages:
            form.stages.append_entry(
                {
                    "stage_id": stage.id,
                    "weight": stage.weight,
                    "pass_mark": stage.pass_mark,
                    "enabled": stage.enabled,
                }
            )
    elif form.validate_on_submit():
        by_id = {str(stage.id): stage for stage in stages}
        entries = [entry.form for entry in form.stages]
        if sorted(e.stage_id.data or "" for e in entries) != sorted(by_id):
            flash(_("The form did not match this opening's stages."), "error")
            return redirect(request.url)
        before = {s.kind.value: _stage_settings(s) for s in stages}
        for entry in entries:
            stage = by_id[entry.stage_id.data or ""]
            stage.weight = float(entry.weight.data or 0)
            stage.pass_mark = float(entry.pass_mark.data or 0)
            stage.enabled = bool(entry.enabled.data)
        after = {s.kind.value: _stage_settings(s) for s in stages}
        if not any(s["enabled"] and s["weight"] > 0 for s in after.values()):
            db.session.rollback()
            flash(_("Give at least one enabled stage a weight above 0."), "error")
            return redirect(request.url)
        audit.record(
            "change_weights",
            actor=current_user,
            opening_id=opening.id,
            before=before,
            after=after,
            reason=form.reason.data or "",
        )
        from recruit.tasks import rerank_opening

        queue_after_commit(db.session, rerank_opening, opening.id)
        db.session.commit()
        flash(
            _("Saved. The ranking is being recomputed with the new settings."),
            "success",
        )
        return redirect(url_for("recruit.opening_ranking", opening_id=opening.id))
    rows = list(zip(stages, form.stages, strict=False))
    return render_template(
        "recruit/settings.html", opening=opening, form=form, rows=rows
    )


def _stage_settings(stage: Stage) -> dict[str, Any]:
    return {
        "weight": stage.weight,
        "pass_mark": stage.pass_mark,
        "enabled": stage.enabled,
    }


@bp.route("/openings/<int:opening_id>/board")
@roles_required(*STAFF)
def pipeline_board(opening_id: int) -> Any:
    """Open applications per stage, with counts and how long each has waited."""
    opening = db.get_or_404(Opening, opening_id)
    stages = _enabled(opening)
    open_statuses = (ApplicationStatus.ACTIVE, ApplicationStatus.HOLD)
    counts = dict(
        db.session.execute(
            select(Application.current_stage_id, func.count())
            .where(
                Application.opening_id == opening.id,
                Application.status.in_(open_statuses),
            )
            .group_by(Application.current_stage_id)
        ).all()
    )
    outcomes = dict(
        db.session.execute(
            select(Application.status, func.count())
            .where(Application.opening_id == opening.id)
            .group_by(Application.status)
        ).all()
    )
    columns = []
    for stage in stages:
        cards = db.session.scalars(
            select(Application)
            .where(
                Application.opening_id == opening.id,
                Application.current_stage_id == stage.id,
                Application.status.in_(open_statuses),
            )
            .options(joinedload(Application.candidate))
            .order_by(Application.stage_entered_at, Application.id)
            .limit(BOARD_CARDS)
        ).all()
        columns.append((stage, counts.get(stage.id, 0), cards))
    return render_template(
        "recruit/board.html",
        opening=opening,
        columns=columns,
        outcomes={status.value: n for status, n in outcomes.items()},
        board_cards=BOARD_CARDS,
        now=utcnow(),
    )
