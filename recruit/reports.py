"""The funnel analytics as a PDF (reportlab): the page's tables and a funnel chart."""

from __future__ import annotations

import io

from flask_babel import gettext as _
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from recruit.analytics import FunnelReport, report_rows


def _number(value: float | None, pattern: str = "{:.1f}") -> str:
    return "–" if value is None else pattern.format(value)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _table(rows: list[list[str]]) -> Table:
    table = Table(rows, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    return table


def _funnel_drawing(report: FunnelReport) -> Drawing:
    drawing = Drawing(170 * mm, 10 * mm + 8 * mm * max(1, len(report.stages)))
    chart = HorizontalBarChart()
    chart.x = 60 * mm
    chart.y = 5 * mm
    chart.width = 100 * mm
    chart.height = 8 * mm * max(1, len(report.stages))
    stages = list(reversed(report.stages))
    chart.data = [[stage.reached for stage in stages] or [0]]
    chart.categoryAxis.categoryNames = [stage.name for stage in stages] or ["–"]
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.HexColor("#0b5cad")
    drawing.add(chart)
    return drawing


def analytics_pdf(report: FunnelReport) -> bytes:
    """Render the report; text stays text, so it can be searched and read back."""
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        title=_("Funnel analytics: %(title)s", title=report.title),
        author="Frontline",
    )
    story: list = [
        Paragraph(
            _("Funnel analytics: %(title)s", title=report.title), styles["Title"]
        ),
        Paragraph(
            _(
                "%(total)d applications. Generated %(when)s.",
                total=report.total,
                when=report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
            ),
            styles["Normal"],
        ),
        Spacer(1, 4 * mm),
        Paragraph(_("Applications reaching each stage"), styles["Heading2"]),
        _funnel_drawing(report),
        Paragraph(_("Stages"), styles["Heading2"]),
    ]
    header = [
        _("Stage"),
        _("Reached"),
        _("To next"),
        _("Median days"),
        _("Completed"),
        _("Pass rate"),
        _("Mean score"),
        _("Decided"),
        _("r (hired)"),
        _("AUC (hired)"),
    ]
    body = [
        [
            row["stage"],
            str(row["reached"]),
            _percent(row["conversion"]),
            _number(row["median_days"]),
            str(row["completed"]),
            _percent(row["pass_rate"]),
            _number(row["mean_score"]),
            str(row["agreement_n"]),
            _number(row["agreement_r"], "{:.2f}"),
            _number(row["agreement_auc"], "{:.2f}"),
        ]
        for row in report_rows(report)
    ]
    story.append(_table([header, *body]))
    story.append(Paragraph(_("Scores by language"), styles["Heading2"]))
    language_rows = [[_("Language"), _("Tested"), _("Mean"), _("Median")]] + [
        [lang.language, str(len(lang.scores)), _number(lang.mean), _number(lang.median)]
        for lang in report.languages
    ]
    story.append(_table(language_rows))
    story.append(Paragraph(_("Prediction of onboarding results"), styles["Heading2"]))
    validity = [
        [stage.name, cohort, str(corr.n), _number(corr.r, "{:.2f}")]
        for stage in report.stages
        for cohort, corr in stage.validity
    ]
    if validity:
        story.append(_table([[_("Stage"), _("Cohort"), "n", "r"], *validity]))
    else:
        story.append(
            Paragraph(
                _("Not enough data: no onboarding results are recorded yet."),
                styles["Normal"],
            )
        )
    document.build(story)
    return buffer.getvalue()
