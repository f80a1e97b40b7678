"""Analytics and fairness pages, for one opening or all, with a PDF of the analytics."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import db
from recruit.analytics import FunnelReport, funnel_report, report_rows
from recruit.auth import roles_required
from recruit.charts import bar_chart, histogram_chart
from recruit.demographics import RACE_CHOICES, SEX_CHOICES
from recruit.fairness import fairness_report
from recruit.models import Opening, Role
from recruit.reports import analytics_pdf

bp = Blueprint("analytics", __name__, url_prefix="/recruit")

STAFF = (Role.RECRUITER, Role.ADMIN)


def _scope(opening_id: int | None) -> tuple[list[Opening], str, Opening | None]:
    if opening_id is None:
        openings = list(
            db.session.scalars(select(Opening).options(selectinload(Opening.stages)))
        )
        return openings, _("All openings"), None
    opening = db.get_or_404(Opening, opening_id)
    return [opening], opening.title, opening


def charts(report: FunnelReport) -> dict[str, Any]:
    """Draw the page's SVG charts; the page also lists their numbers in tables."""
    funnel = bar_chart(
        "funnel",
        _("Applications reaching each stage"),
        _("A bar per stage, in pipeline order; longer bars mean more applications."),
        [(s.name, float(s.reached), str(s.reached)) for s in report.stages],
    )
    days = bar_chart(
        "days",
        _("Median days in each stage"),
        _("Median time from entering a stage to leaving it, in days."),
        [
            (
                s.name,
                s.median_days,
                "–" if s.median_days is None else f"{s.median_days:.1f}",
            )
            for s in report.stages
        ],
    )
    pass_rates = bar_chart(
        "pass-rates",
        _("Pass rate of each stage"),
        _("Share of completed stages scored at or above the pass mark."),
        [
            (
                s.name,
                s.pass_rate,
                "–" if s.pass_rate is None else f"{100 * s.pass_rate:.0f}%",
            )
            for s in report.stages
        ],
        max_value=1.0,
    )
    histograms = [
        (
            stage,
            histogram_chart(
                f"hist-{stage.kind}",
                _("Scores of %(stage)s", stage=stage.name),
                _("Number of completed stages per band of 10 score points."),
                stage.histogram,
            ),
        )
        for stage in report.stages
        if stage.completed
    ]
    languages = [
        (
            language,
            histogram_chart(
                f"lang-{language.language}",
                _("Language scores: %(code)s", code=language.language),
                _("Number of tested candidates per band of 10 score points."),
                language.histogram,
            ),
        )
        for language in report.languages
    ]
    return {
        "funnel": funnel,
        "days": days,
        "pass_rates": pass_rates,
        "histograms": histograms,
        "languages": languages,
    }


@bp.route("/analytics")
@bp.route("/openings/<int:opening_id>/analytics")
@roles_required(*STAFF)
def analytics(opening_id: int | None = None) -> Any:
    openings, title, opening = _scope(opening_id)
    report = funnel_report(openings, title)
    return render_template(
        "recruit/analytics.html",
        report=report,
        rows=report_rows(report),
        charts=charts(report),
        opening=opening,
    )


@bp.route("/analytics.pdf")
@bp.route("/openings/<int:opening_id>/analytics.pdf")
@roles_required(*STAFF)
def analytics_download(opening_id: int | None = None) -> Any:
    openings, title, _opening = _scope(opening_id)
    pdf = analytics_pdf(funnel_report(openings, title))
    name = f"analytics-{opening_id or 'all'}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/fairness")
@bp.route("/openings/<int:opening_id>/fairness")
@roles_required(Role.ADMIN)
def fairness(opening_id: int | None = None) -> Any:
    openings, title, opening = _scope(opening_id)
    sections = fairness_report([o.id for o in openings])
    names = {stage.kind.value: stage.name for o in openings for stage in o.stages}
    labels = {
        str(choice.value): str(choice.label)
        for choice in (*SEX_CHOICES, *RACE_CHOICES)
        if choice.value != "declined"
    }
    labels["unknown"] = _("Not reported")
    return render_template(
        "recruit/fairness.html",
        sections=sections,
        title=title,
        opening=opening,
        stage_names=names,
        min_shown=current_app.config["FAIRNESS_MIN_SHOWN"],
        category_label=lambda value: " × ".join(
            labels.get(part, part) for part in str(value).split(" × ")
        ),
    )
