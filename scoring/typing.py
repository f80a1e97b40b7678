"""The typing test: speed and accuracy, and checks that the typing was real.

Speed is measured over the time the server saw pass between serving the test
and receiving it, so a client that reports a shorter time gains nothing. The
keystroke timings that the browser records are used only to reject answers
that no person typed: pasted text, text that appeared without keystrokes,
impossible speeds and intervals too regular for a human hand.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from statistics import fmean, median, pstdev
from typing import Any

import jiwer

VERSION = "1.0"
# Words per minute count five characters as a word, the usual convention.
CHARS_PER_WORD = 5
# Faster than this over a whole passage is taken as not typed by a person. The
# limit is an estimate, not measured on real typists.
MAX_WPM = 200.0
# Median gap between keystrokes below this many milliseconds is not human typing.
MIN_MEDIAN_INTERVAL_MS = 30.0
# With at least MIN_INTERVALS gaps, a coefficient of variation below this means
# the keys came at machine-regular intervals. Human typing varies far more.
MIN_INTERVAL_VARIATION = 0.15
MIN_INTERVALS = 20
# At least this share of the typed characters must have a keystroke behind it.
MIN_KEYSTROKE_SHARE = 0.8
# The client may report at most this many seconds more than the server measured.
CLOCK_TOLERANCE_S = 2.0
# Score scales: speed 15..60 wpm maps to 0..100, accuracy 0.80..0.98 to 0..100.
WPM_RANGE = (15.0, 60.0)
ACCURACY_RANGE = (0.80, 0.98)
WEIGHTS = {"speed": 0.6, "accuracy": 0.4}


class TypingRejected(ValueError):
    """Typing that cannot be a person typing the passage, with the reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_typing(
    typed: str,
    intervals_ms: Sequence[float],
    *,
    keystrokes: int,
    pastes: int,
    server_seconds: float,
    client_seconds: float | None,
) -> None:
    """Raise TypingRejected if the answer was pasted, generated or timed falsely.

    ``intervals_ms`` are the gaps between consecutive keystrokes that the page
    recorded, ``keystrokes`` the number of keys that produced text, and
    ``pastes`` the paste or drop events.
    """
    if pastes > 0:
        raise TypingRejected(
            "pasted", "Pasted text is not accepted. Type the passage yourself."
        )
    if len(typed.strip()) == 0:
        raise TypingRejected("empty", "Nothing was typed. Type the passage shown.")
    if keystrokes < MIN_KEYSTROKE_SHARE * len(typed):
        raise TypingRejected(
            "no_keystrokes",
            "Most of the text appeared without keystrokes, as pasted or inserted "
            "text does. Type the passage yourself, with JavaScript enabled.",
        )
    if (
        client_seconds is not None
        and client_seconds > server_seconds + CLOCK_TOLERANCE_S
    ):
        raise TypingRejected(
            "clock", "The typing time sent by the page is longer than possible."
        )
    wpm = words_per_minute(len(typed), server_seconds)
    if wpm > MAX_WPM:
        raise TypingRejected(
            "too_fast",
            f"{wpm:.0f} words per minute is faster than anyone types. Type the "
            "passage yourself.",
        )
    if intervals_ms and median(intervals_ms) < MIN_MEDIAN_INTERVAL_MS:
        raise TypingRejected(
            "too_fast", "The keys came faster than a person can type them."
        )
    if len(intervals_ms) >= MIN_INTERVALS:
        mean = fmean(intervals_ms)
        if mean > 0 and pstdev(intervals_ms) / mean < MIN_INTERVAL_VARIATION:
            raise TypingRejected(
                "too_regular",
                "The keys came at machine-regular intervals. Type the passage "
                "yourself.",
            )


def words_per_minute(characters: int, seconds: float) -> float:
    """Gross speed: characters / 5 per minute; infinite for no elapsed time."""
    if seconds <= 0:
        return float("inf")
    return characters / CHARS_PER_WORD / (seconds / 60)


def assess_typing(
    passage: str, typed: str, *, server_seconds: float, keystrokes: int
) -> dict[str, Any]:
    """Score a typed copy of ``passage``: speed over the server's time, accuracy.

    Accuracy is 1 minus the character error rate against the passage (clipped
    to 0..1), so missing, extra and wrong characters all count. Net speed is
    gross speed times accuracy.
    """
    # A keyboard may send "é" as one code point or as "e" and a combining
    # accent. Both are one character to the reader, so both count as one.
    passage = unicodedata.normalize("NFC", passage)
    typed = unicodedata.normalize("NFC", typed)
    gross = words_per_minute(len(typed), server_seconds)
    accuracy = max(0.0, 1.0 - float(jiwer.cer(passage, typed))) if typed else 0.0
    net = gross * accuracy
    subscores = {
        "speed": round(_ramp(net, *WPM_RANGE), 1),
        "accuracy": round(_ramp(accuracy, *ACCURACY_RANGE), 1),
    }
    score = sum(WEIGHTS[name] * value for name, value in subscores.items())
    return {
        "score": round(score, 1),
        "subscores": subscores,
        "gross_wpm": round(gross, 1),
        "net_wpm": round(net, 1),
        "accuracy": round(accuracy, 3),
        "seconds": round(server_seconds, 1),
        "characters": len(typed),
        "keystrokes": keystrokes,
    }


def _ramp(value: float, low: float, high: float) -> float:
    return 100.0 * min(1.0, max(0.0, (value - low) / (high - low)))
