"""Selection rates, scoring rates and impact ratios by demographic category.

The method follows the bias audits that New York City's Local Law 144 requires
of automated employment decision tools (rules of the Department of Consumer
and Worker Protection, 6 RCNY § 5-300 and following, enforced since July 2023).
A category's selection rate is the share of its members selected, and its
impact ratio is that rate over the highest category's rate. For tools that
score, the scoring rate is the share of a category scoring above the median
score of everyone assessed. A category under 2% of the people with a known
category may be left out of the impact ratios, but it is still listed with its
counts. People who did not report a category are counted apart.

A category of fewer than ``MIN_SHOWN`` people shows its head count only. Its
selected count and rate are withheld, so that a report cannot link one person's
self-reported category to their outcome.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from statistics import median

# The four-fifths rule: an impact ratio under this is flagged for review. A ratio
# of exactly 0.8 is not flagged. The comparisons use exact fractions of the
# counts, because in floats (2/3) / (5/6) comes out just under 0.8.
FLAG_BELOW = Fraction(4, 5)
# Share of the known-category total under which a category is reported as small.
SMALL_SHARE = Fraction(2, 100)
# Categories with fewer people than this have their outcome counts withheld.
MIN_SHOWN = 5


@dataclass(frozen=True)
class CategoryRate:
    category: Hashable
    total: int
    selected: int | None  # None when withheld
    rate: float | None
    impact_ratio: float | None
    small: bool  # under 2% of the known-category total or withheld: no ratio
    flagged: bool  # impact ratio under 0.8
    withheld: bool = False  # fewer than ``min_shown`` people


def impact_table(
    counts: Mapping[Hashable, tuple[int, int]],
    unknown: Hashable | None = None,
    small_share: Fraction = SMALL_SHARE,
    min_shown: int = MIN_SHOWN,
) -> list[CategoryRate]:
    """Rates and impact ratios from ``{category: (selected, total)}``.

    The ``unknown`` category (people who declined) gets its rate but no ratio.
    A category of 1 to ``min_shown - 1`` people gets neither.
    """
    known_total = sum(total for cat, (_s, total) in counts.items() if cat != unknown)
    rates: dict[Hashable, Fraction | None] = {
        cat: (Fraction(selected, total) if total else None)
        for cat, (selected, total) in counts.items()
    }
    withheld = {cat: 0 < total < min_shown for cat, (_s, total) in counts.items()}
    small = {
        cat: cat != unknown
        and known_total > 0
        and (withheld[cat] or Fraction(counts[cat][1], known_total) < small_share)
        for cat in counts
    }
    reference = max(
        (
            rate
            for cat, rate in rates.items()
            if rate is not None and cat != unknown and not small[cat]
        ),
        default=None,
    )
    table = []
    for cat, (selected, total) in counts.items():
        rate = rates[cat]
        ratio = None
        if cat != unknown and not small[cat] and rate is not None and reference:
            ratio = rate / reference
        if withheld[cat]:
            rate = None
        table.append(
            CategoryRate(
                category=cat,
                total=total,
                selected=None if withheld[cat] else selected,
                rate=float(rate) if rate is not None else None,
                impact_ratio=float(ratio) if ratio is not None else None,
                small=small[cat],
                flagged=ratio is not None and ratio < FLAG_BELOW,
                withheld=withheld[cat],
            )
        )
    return table


def selection_counts(
    rows: Sequence[tuple[Hashable, bool]],
) -> dict[Hashable, tuple[int, int]]:
    """Count ``(selected, total)`` per category from ``(category, selected)`` rows."""
    counts: dict[Hashable, list[int]] = {}
    for category, selected in rows:
        entry = counts.setdefault(category, [0, 0])
        entry[0] += int(selected)
        entry[1] += 1
    return {cat: (selected, total) for cat, (selected, total) in counts.items()}


def scoring_counts(
    rows: Sequence[tuple[Hashable, float]],
) -> tuple[float | None, dict[Hashable, tuple[int, int]]]:
    """Count who scored above the median of all rows, per category.

    Returns the median and ``{category: (above median, total)}``.
    """
    if not rows:
        return None, {}
    middle = float(median(score for _cat, score in rows))
    return middle, selection_counts([(cat, score > middle) for cat, score in rows])
