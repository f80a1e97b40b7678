"""Evidence rendered for recruiters: findings highlighted in a candidate's own words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

# Words Whisper is less sure of than this are marked in the transcript.
LOW_CONFIDENCE = 0.5


def highlight_text(text: str, findings: Iterable[Mapping[str, Any]]) -> Markup:
    """Escape ``text`` and wrap each finding's span in a ``<mark>`` with its message.

    A finding has ``offset`` and ``length`` in characters of ``text``. A finding
    that overlaps an earlier one or falls outside the text is left unmarked, but
    the page still lists it beside the text.
    """
    spans = sorted(
        (
            (int(f["offset"]), int(f["offset"]) + int(f["length"]), f)
            for f in findings
            if int(f.get("length", 0)) > 0
        ),
        key=lambda span: (span[0], -span[1]),
    )
    pieces: list[str] = []
    position = 0
    for number, (start, end, finding) in enumerate(spans, start=1):
        if start < position or end > len(text):
            continue
        pieces.append(str(escape(text[position:start])))
        kind = escape(finding.get("category") or finding.get("rule") or "finding")
        message = escape(finding.get("message", ""))
        pieces.append(
            f'<mark class="finding finding-{kind}" title="{message}" '
            f'id="finding-{number}">{escape(text[start:end])}</mark>'
        )
        position = end
    pieces.append(str(escape(text[position:])))
    return Markup("".join(pieces))  # noqa: S704 - every piece above is escaped


def mark_transcript(words: Iterable[Mapping[str, Any]]) -> Markup:
    """Join transcript words, marking the low-confidence ones with their probability."""
    pieces = []
    for word in words:
        text = escape(str(word.get("word", "")).strip())
        probability = float(word.get("probability", 1.0))
        if probability < LOW_CONFIDENCE:
            title = f"p = {probability:.2f}"
            pieces.append(f'<span class="low-confidence" title="{title}">{text}</span>')
        else:
            pieces.append(str(text))
    return Markup(" ".join(pieces))  # noqa: S704 - every word above is escaped
