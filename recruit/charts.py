"""Server-rendered SVG charts with a title and description for screen readers.

Every label is escaped. Pages show the same numbers in a table beside each chart.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BAR_HEIGHT = 22
LABEL_WIDTH = 210
PLOT_WIDTH = 300
VALUE_WIDTH = 80


# Height of the visible title line above each plot.
TITLE_HEIGHT = 22


def _svg_open(chart_id: str, title: str, desc: str, width: int, height: int) -> str:
    """Open an SVG of the plot's size plus a title line; the plot starts below it."""
    chart_id = str(escape(chart_id))
    height += TITLE_HEIGHT
    return (
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f'<text x="0" y="15" class="chart-title" aria-hidden="true">'
        f"{escape(title)}</text>"
        f'<g transform="translate(0 {TITLE_HEIGHT})">'
    )


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    bars: Sequence[tuple[str, float | None, str]],
    max_value: float | None = None,
) -> Markup:
    """Horizontal bars of ``(label, value, value text)``; a None value draws no bar."""
    values = [value for _label, value, _text in bars if value is not None]
    top = max_value or max(values, default=0) or 1.0
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    height = BAR_HEIGHT * len(bars) + 8
    parts = [_svg_open(chart_id, title, desc, width, height)]
    for index, (label, value, text) in enumerate(bars):
        y = 4 + index * BAR_HEIGHT
        length = 0.0 if value is None else PLOT_WIDTH * max(0.0, value) / top
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" '
            f'class="chart-label">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" '
            f'height="{BAR_HEIGHT - 6}" class="chart-bar"/>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 15}" '
            f'class="chart-value">{escape(text)}</text>'
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece above is escaped


def histogram_chart(
    chart_id: str,
    title: str,
    desc: str,
    counts: Sequence[int],
    low: float = 0.0,
    high: float = 100.0,
) -> Markup:
    """Vertical columns of a histogram over equal bins from ``low`` to ``high``."""
    column = 26
    plot_height = 90
    width = column * len(counts) + 40
    height = plot_height + 40
    top = max(counts, default=0) or 1
    step = (high - low) / max(1, len(counts))
    parts = [_svg_open(chart_id, title, desc, width, height)]
    for index, count in enumerate(counts):
        x = 20 + index * column
        # A non-empty band keeps a visible column, however tall the others are.
        bar = max(2.0, plot_height * count / top) if count else 0.0
        parts.append(
            f'<rect x="{x + 2}" y="{10 + plot_height - bar:.1f}" '
            f'width="{column - 4}" height="{bar:.1f}" class="chart-bar"/>'
            f'<text x="{x + column / 2}" y="{8 + plot_height - bar:.1f}" '
            f'text-anchor="middle" class="chart-value">{count or ""}</text>'
            f'<text x="{x + column / 2}" y="{plot_height + 26}" text-anchor="middle" '
            f'class="chart-label">{low + index * step:g}</text>'
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece above is escaped
