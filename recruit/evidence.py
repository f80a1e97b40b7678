"""Evidence rendered for recruiters: findings highlighted in a candidate's own words."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

# Words Whisper is less sure of than this are marked in the transcript.
LOW_CONFIDENCE = 0.5

# Invisible characters that reorder or hide text: bidirectional embeddings,
# overrides and isolates, zero-width characters, and C0/C1 controls other than
# tab and newline. A candidate's text shows them as visible codes, so what the
# recruiter reads is what the candidate typed.
_HIDDEN = re.compile(
    "[\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def _visible(text: str) -> str:
    """Escape ``text`` for HTML and show each hidden character as its code point."""
    escaped = str(escape(text))
    return _HIDDEN.sub(
        lambda found: f'<span class="hidden-char">U+{ord(found.group()):04X}</span>',
        escaped,
    )


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
        pieces.append(_visible(text[position:start]))
        kind = escape(finding.get("category") or finding.get("rule") or "finding")
        message = escape(finding.get("message", ""))
        pieces.append(
            f'<mark class="finding finding-{kind}" title="{message}" '
            f'id="finding-{number}">{_visible(text[start:end])}</mark>'
        )
        position = end
    pieces.append(_visible(text[position:]))
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
