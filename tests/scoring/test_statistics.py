"""Funnel statistics and impact ratios on hand-computed examples."""

from __future__ import annotations

import pytest

from scoring.impact import impact_table, scoring_counts, selection_counts
from scoring.statistics import (
    auc,
    histogram,
    median,
    outcome_correlation,
    pearson,
    point_biserial,
)


def test_median_and_histogram() -> None:
    assert median([]) is None
    assert median([3.0, 1.0, 2.0, 10.0]) == 2.5
    assert histogram([0, 9.99, 10, 55, 100, 101, -1]) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 1]


def test_point_biserial_by_hand() -> None:
    # x = 70, 40, 30 with hired = 1, 0, 0: r = 23.333 / sqrt(866.67 * 0.6667).
    assert point_biserial([70, 40, 30], [True, False, False]) == pytest.approx(
        0.97073, abs=1e-5
    )
    assert point_biserial([80, 60, 90], [True, False, False]) == pytest.approx(
        0.18898, abs=1e-5
    )
    assert pearson([1, 2], [1, 2]) is None
    assert pearson([1, 1, 1], [1, 2, 3]) is None


def test_auc_by_hand() -> None:
    assert auc([70, 40, 30], [True, False, False]) == 1.0
    # 80 beats 60 and loses to 90: one win in two pairs.
    assert auc([80, 60, 90], [True, False, False]) == 0.5
    # A tie counts one half: (1 + 0.5) / 2.
    assert auc([50, 50, 40], [True, False, False]) == 0.75
    assert auc([1, 2], [True, True]) is None


def test_outcome_correlation_needs_data() -> None:
    few = outcome_correlation([50, 60, 70], [1, 2, 3])
    assert few.enough_data is False
    assert few.r is None
    assert few.n == 3
    scores = [50 + 5 * i for i in range(10)]
    enough = outcome_correlation(scores, [s / 10 for s in scores])
    assert enough.enough_data is True
    assert enough.r == pytest.approx(1.0)


def test_impact_ratios_by_hand() -> None:
    counts = {
        "female": (30, 100),
        "male": (45, 100),
        "other": (1, 3),  # 3 of 203 known: 1.5%, under 2%
        "unknown": (5, 20),
    }
    rows = {row.category: row for row in impact_table(counts, unknown="unknown")}
    assert rows["female"].rate == 0.30
    assert rows["female"].impact_ratio == pytest.approx(0.30 / 0.45)
    assert rows["female"].flagged is True
    assert rows["male"].impact_ratio == 1.0
    assert rows["male"].flagged is False
    assert rows["other"].small is True
    assert rows["other"].impact_ratio is None
    assert rows["unknown"].rate == 0.25
    assert rows["unknown"].impact_ratio is None
    assert rows["unknown"].small is False


@pytest.mark.parametrize(
    ("reference", "other", "flagged"),
    [
        ((5, 6), (2, 3), False),  # (2/3) / (5/6) is exactly 0.8
        ((10, 10), (8, 10), False),  # 0.8 / 1.0
        ((5, 12), (1, 3), False),  # (1/3) / (5/12) is exactly 0.8
        ((7, 10), (14, 25), False),  # 0.56 / 0.7 is exactly 0.8
        ((10, 10), (79, 100), True),
        ((500, 600), (199, 300), True),  # 0.796
    ],
)
def test_impact_ratio_boundary(
    reference: tuple[int, int], other: tuple[int, int], flagged: bool
) -> None:
    table = impact_table({"a": reference, "b": other}, min_shown=1)
    rows = {row.category: row for row in table}
    assert rows["a"].impact_ratio == 1.0
    assert rows["b"].flagged is flagged


def test_small_category_boundary() -> None:
    # 1 of 50 known people is exactly 2%: listed with a ratio and not small.
    exact = {
        row.category: row
        for row in impact_table({"a": (10, 49), "b": (1, 1)}, min_shown=1)
    }
    assert exact["b"].small is False
    assert exact["b"].impact_ratio is not None
    # 1 of 51 is under 2%: still listed with its counts, but marked small.
    under = {
        row.category: row
        for row in impact_table({"a": (10, 50), "b": (1, 1)}, min_shown=1)
    }
    assert under["b"].small is True
    assert under["b"].total == 1
    assert under["b"].rate == 1.0
    assert under["b"].impact_ratio is None
    assert under["a"].impact_ratio == 1.0


def test_few_people_outcomes_withheld() -> None:
    counts = {"a": (3, 10), "b": (1, 4), "c": (5, 5)}
    rows = {row.category: row for row in impact_table(counts)}
    assert rows["b"].withheld is True
    assert rows["b"].total == 4
    assert rows["b"].selected is None
    assert rows["b"].rate is None
    assert rows["b"].impact_ratio is None
    assert rows["b"].flagged is False
    # Five people are enough: c is shown and is the reference.
    assert rows["c"].withheld is False
    assert rows["c"].impact_ratio == 1.0
    assert rows["a"].impact_ratio == pytest.approx(0.3)


def test_scoring_rates_by_hand() -> None:
    rows = [("a", 10.0), ("a", 20.0), ("a", 90.0), ("b", 60.0), ("b", 70.0)]
    middle, counts = scoring_counts(rows)
    assert middle == 60.0
    # Above 60: a has 90 (1 of 3), b has 70 (1 of 2).
    assert counts == {"a": (1, 3), "b": (1, 2)}
    table = {r.category: r for r in impact_table(counts, min_shown=1)}
    assert table["a"].impact_ratio == pytest.approx((1 / 3) / 0.5)
    assert table["a"].flagged is True
    assert selection_counts([("x", True), ("x", False)]) == {"x": (1, 2)}
