"""The funnel analytics as a PDF (reportlab): the page's tables and charts."""

from __future__ import annotations

import io

from flask_babel import gettext as _
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import StyleSheet1, getSampleStyleSheet
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


BAR_COLOR = colors.HexColor("#0b5cad")
# The shortest bar of a non-empty band, so that one application among hundreds
# still shows; its count is printed above it either way.
MIN_BAR_HEIGHT = 1.5 * mm
HISTOGRAM_WIDTH = 150 * mm
HISTOGRAM_PLOT_HEIGHT = 32 * mm
# Room left of the plot for the value labels, and below it for the bands.
HISTOGRAM_LEFT = 18 * mm
HISTOGRAM_BOTTOM = 14 * mm


def histogram_drawing(counts: list[int], low: int = 0, high: int = 100) -> Drawing:
    """Draw counts per equal score band as columns, with both axes labelled.

    Each non-empty band gets a column of at least ``MIN_BAR_HEIGHT`` and its
    count above it. The values are text, so the PDF can be searched and read back.
    """
    bands = max(1, len(counts))
    band_width = (HISTOGRAM_WIDTH - HISTOGRAM_LEFT) / bands
    top = max(counts, default=0) or 1
    step = (high - low) / bands
    drawing = Drawing(
        HISTOGRAM_WIDTH, HISTOGRAM_BOTTOM + HISTOGRAM_PLOT_HEIGHT + 10 * mm
    )
    left, bottom = HISTOGRAM_LEFT, HISTOGRAM_BOTTOM
    plot_top = bottom + HISTOGRAM_PLOT_HEIGHT
    drawing.add(Line(left, bottom, HISTOGRAM_WIDTH, bottom, strokeWidth=0.5))
    drawing.add(Line(left, bottom, left, plot_top, strokeWidth=0.5))
    for value, y in ((0, bottom), (top, plot_top)):
        drawing.add(Line(left - 1 * mm, y, left, y, strokeWidth=0.5))
        drawing.add(
            String(left - 2 * mm, y - 2.5, str(value), fontSize=7, textAnchor="end")
        )
    drawing.add(
        String(left, plot_top + 4 * mm, _("Number of applications"), fontSize=8)
    )
    for index, count in enumerate(counts):
        x = left + index * band_width
        middle = x + band_width / 2
        if count:
            height = max(MIN_BAR_HEIGHT, HISTOGRAM_PLOT_HEIGHT * count / top)
            drawing.add(
                Rect(
                    x + 1 * mm,
                    bottom,
                    band_width - 2 * mm,
                    height,
                    fillColor=BAR_COLOR,
                    strokeColor=None,
                )
            )
            drawing.add(
                String(
                    middle,
                    bottom + height + 1 * mm,
                    str(count),
                    fontSize=7,
                    textAnchor="middle",
                )
            )
        band = f"{low + index * step:g}–{low + (index + 1) * step:g}"
        drawing.add(
            String(middle, bottom - 4 * mm, band, fontSize=7, textAnchor="middle")
        )
    drawing.add(
        String(
            left + (HISTOGRAM_WIDTH - left) / 2,
            bottom - 10 * mm,
            _("Score (bands of 10 points)"),
            fontSize=8,
            textAnchor="middle",
        )
    )
    return drawing


def _histograms(report: FunnelReport, styles: StyleSheet1) -> list:
    """Build headed score histograms of every stage with results and every language."""
    story: list = [Paragraph(_("Score distributions"), styles["Heading2"])]
    for stage in report.stages:
        if stage.completed:
            title = _("Scores of %(stage)s", stage=stage.name)
            story += [
                Paragraph(title, styles["Heading3"]),
                histogram_drawing(stage.histogram),
            ]
    for language in report.languages:
        title = _("Language scores: %(code)s", code=language.language)
        story += [
            Paragraph(title, styles["Heading3"]),
            histogram_drawing(language.histogram),
        ]
    return story


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
    story += _histograms(report, styles)
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
