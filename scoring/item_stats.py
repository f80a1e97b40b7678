"""Classical item statistics for quiz authors: facility and discrimination.

Input is one row per graded attempt: the total score of the attempt and the
fraction (0..1) earned on each question it contained. For each question:

- facility: the mean fraction earned, 0..1 (higher is easier);
- discrimination index: the mean fraction in the upper 27% of attempts by
  total score minus that in the lower 27% (Kelley's groups), -1..1;
- point-biserial: the Pearson correlation between the question's fraction and
  the total of the other questions of the attempt (corrected item-total
  correlation), so the question does not correlate with itself.

Flags follow common rules of thumb: ``too_easy`` above facility 0.90,
``too_hard`` below 0.20, ``negative_discrimination`` below 0 on either
measure, each only from ``MIN_ATTEMPTS`` attempts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

TOO_EASY = 0.90
TOO_HARD = 0.20
GROUP_SHARE = 0.27
MIN_ATTEMPTS = 5


@dataclass(frozen=True)
class AttemptRow:
    total: float
    fractions: Mapping[int, float]


@dataclass
class ItemStatistics:
    question_id: int
    attempts: int
    facility: float | None
    discrimination: float | None
    point_biserial: float | None
    flags: list[str] = field(default_factory=list)


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    syy = sum((y - mean_y) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return sxy / math.sqrt(sxx * syy)


def item_statistics(rows: Sequence[AttemptRow]) -> list[ItemStatistics]:
    """Compute the statistics of every question that appears in ``rows``."""
    question_ids = sorted({q for row in rows for q in row.fractions})
    ranked = sorted(rows, key=lambda row: row.total)
    group = max(1, round(len(ranked) * GROUP_SHARE))
    lower, upper = ranked[:group], ranked[-group:]
    results = []
    for question_id in question_ids:
        taking = [row for row in rows if question_id in row.fractions]
        scores = [row.fractions[question_id] for row in taking]
        facility = sum(scores) / len(scores) if scores else None
        discrimination = _group_difference(question_id, upper, lower)
        rest = [
            sum(f for q, f in row.fractions.items() if q != question_id)
            for row in taking
        ]
        point_biserial = _pearson(scores, rest)
        stats = ItemStatistics(
            question_id,
            len(taking),
            _round(facility),
            _round(discrimination),
            _round(point_biserial),
        )
        stats.flags = _flags(stats)
        results.append(stats)
    return results


def _group_difference(
    question_id: int, upper: Sequence[AttemptRow], lower: Sequence[AttemptRow]
) -> float | None:
    up = [row.fractions[question_id] for row in upper if question_id in row.fractions]
    low = [row.fractions[question_id] for row in lower if question_id in row.fractions]
    if not up or not low:
        return None
    return sum(up) / len(up) - sum(low) / len(low)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _flags(stats: ItemStatistics) -> list[str]:
    if stats.attempts < MIN_ATTEMPTS or stats.facility is None:
        return []
    flags = []
    if stats.facility > TOO_EASY:
        flags.append("too_easy")
    if stats.facility < TOO_HARD:
        flags.append("too_hard")
    if any(
        value is not None and value < 0
        for value in (stats.discrimination, stats.point_biserial)
    ):
        flags.append("negative_discrimination")
    return flags
