"""Statistics of the funnel: medians, histograms, correlations and AUC.

Pure functions over plain numbers, so a report, a test and a benchmark share them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean
from statistics import median as _median

# Fewer pairs than this give a correlation too unstable to report.
MIN_PAIRS = 10


def median(values: Sequence[float]) -> float | None:
    return float(_median(values)) if values else None


def histogram(
    values: Sequence[float], bins: int = 10, low: float = 0.0, high: float = 100.0
) -> list[int]:
    """Count values in ``bins`` equal bins over [low, high]; ``high`` joins the last."""
    counts = [0] * bins
    width = (high - low) / bins
    for value in values:
        if value < low or value > high:
            continue
        index = min(int((value - low) / width), bins - 1)
        counts[index] += 1
    return counts


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's r, or None with fewer than 3 pairs or a constant variable."""
    if len(x) != len(y):
        raise ValueError("x and y differ in length")
    if len(x) < 3:
        return None
    mean_x, mean_y = fmean(x), fmean(y)
    dx = [value - mean_x for value in x]
    dy = [value - mean_y for value in y]
    sxx = sum(d * d for d in dx)
    syy = sum(d * d for d in dy)
    if sxx == 0 or syy == 0:
        return None
    return sum(a * b for a, b in zip(dx, dy, strict=True)) / math.sqrt(sxx * syy)


def point_biserial(scores: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """The point-biserial correlation: Pearson's r against a 0/1 outcome."""
    return pearson(scores, [1.0 if outcome else 0.0 for outcome in outcomes])


def auc(scores: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """The probability that a random positive scores above a random negative.

    Ties count one half (the Mann-Whitney U statistic over n1 * n0). None when
    either class is empty.
    """
    if len(scores) != len(outcomes):
        raise ValueError("scores and outcomes differ in length")
    positives = [s for s, o in zip(scores, outcomes, strict=True) if o]
    negatives = [s for s, o in zip(scores, outcomes, strict=True) if not o]
    if not positives or not negatives:
        return None
    # Rank-sum form: average ranks over ties, O(n log n).
    ordered = sorted((s, o) for s, o in zip(scores, outcomes, strict=True))
    rank_sum = 0.0
    index = 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and ordered[end + 1][0] == ordered[index][0]:
            end += 1
        average_rank = (index + end) / 2 + 1
        rank_sum += average_rank * sum(1 for s, o in ordered[index : end + 1] if o)
        index = end + 1
    n1, n0 = len(positives), len(negatives)
    u = rank_sum - n1 * (n1 + 1) / 2
    return u / (n1 * n0)


@dataclass(frozen=True)
class Correlation:
    n: int
    r: float | None
    enough_data: bool


def outcome_correlation(
    scores: Sequence[float], outcomes: Sequence[float], min_pairs: int = MIN_PAIRS
) -> Correlation:
    """How well scores predicted later outcomes; r is None below ``min_pairs``."""
    n = len(scores)
    if n < min_pairs:
        return Correlation(n, None, False)
    r = pearson(scores, outcomes)
    return Correlation(n, r, r is not None)
