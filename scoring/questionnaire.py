"""Likert attitude questionnaires: keyed score, consistency and straight-lining.

A questionnaire has statements answered on a 1..points scale (1 = strongly
disagree). A reverse-keyed statement counts as ``points + 1 - answer``. Pairs of
statements say the same thing ("similar") or the opposite ("opposite"); the
consistency index measures how well the answers to each pair agree, so that
random answering shows. Straight-lining (the same answer to every statement,
which with reverse-keyed items contradicts itself) and idealised answering
(every keyed answer at the favourable end) are flagged for review. Random
answering and straight-lining also withhold the score (``scoring.withheld``),
because such answers say nothing about the statements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from scoring.withheld import withhold

VERSION = "1.1"
# Consistency below this (0-100) flags the answers as possibly random.
MIN_CONSISTENCY = 60.0
# The share of statements with one answer from which answering counts as
# straight-lining.
STRAIGHT_LINE_SHARE = 0.9
# Flags that withhold the score until a recruiter reviews the answers.
WITHHOLDING_FLAGS = ("inconsistent", "straight_lining")


@dataclass(frozen=True, slots=True)
class Statement:
    id: str
    text: str
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class Pair:
    first: str
    second: str
    relation: str  # "similar" or "opposite"


def score_questionnaire(
    statements: Sequence[Statement],
    pairs: Sequence[Pair],
    answers: Mapping[str, int],
    *,
    points: int = 5,
) -> dict[str, Any]:
    """Score the answers (statement id to 1..points); every statement needs one.

    Returns ``score`` (the mean keyed answer mapped to 0-100, or None when a
    flag in WITHHOLDING_FLAGS moved it to ``withheld``), ``consistency`` (0-100,
    or None without pairs), per-pair ``pair_gaps``, ``flags`` and
    ``needs_review``. Raises ValueError for a missing or out-of-range answer.
    """
    for statement in statements:
        value = answers.get(statement.id)
        if not isinstance(value, int) or not 1 <= value <= points:
            raise ValueError(f"statement {statement.id!r} needs an answer 1-{points}")
    by_id = {statement.id: statement for statement in statements}
    keyed = {s.id: _keyed(answers[s.id], s.reverse, points) for s in statements}
    score = 100.0 * (fmean(keyed.values()) - 1) / (points - 1)

    gaps: list[dict[str, Any]] = []
    for pair in pairs:
        first, second = answers[pair.first], answers[pair.second]
        if pair.relation == "opposite":
            second = points + 1 - second
        gaps.append(
            {
                "first": pair.first,
                "second": pair.second,
                "relation": pair.relation,
                "gap": abs(first - second),
            }
        )
    consistency = (
        100.0 * (1 - fmean(int(gap["gap"]) for gap in gaps) / (points - 1))
        if gaps
        else None
    )

    values = [answers[statement.id] for statement in statements]
    most_common = max(values.count(value) for value in set(values))
    flags = []
    if consistency is not None and consistency < MIN_CONSISTENCY:
        flags.append("inconsistent")
    if most_common >= STRAIGHT_LINE_SHARE * len(values):
        flags.append("straight_lining")
    if any(by_id[s].reverse for s in by_id) and all(
        v == points for v in keyed.values()
    ):
        flags.append("idealised")
    result = {
        "score": round(score, 1),
        "consistency": None if consistency is None else round(consistency, 1),
        "keyed": keyed,
        "pair_gaps": gaps,
        "flags": flags,
        "needs_review": bool(flags),
    }
    withholding = [flag for flag in flags if flag in WITHHOLDING_FLAGS]
    if withholding:
        withhold(result, withholding)
    return result


def _keyed(answer: int, reverse: bool, points: int) -> int:
    return points + 1 - answer if reverse else answer
