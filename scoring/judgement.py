"""Keyed items: multiple choice, and situational judgement by best choice or ranking.

Each function takes the candidate's answer and the expert key and returns a
JSON-ready dict with ``score`` (0-100) and the evidence behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

VERSION = "1.0"


def score_choice(choice: int, correct: int, option_count: int) -> dict[str, Any]:
    """Score a multiple-choice answer: 100 for the keyed option, else 0."""
    _check_index(choice, option_count)
    return {
        "score": 100.0 if choice == correct else 0.0,
        "choice": choice,
        "correct": correct,
    }


def score_best(choice: int, credits: Sequence[float]) -> dict[str, Any]:
    """Score a "choose the best response" answer with the expert's partial credit.

    ``credits`` gives each option's credit from 0 to 100, so a response that
    experts rate as acceptable but not best earns part of the points.
    """
    _check_index(choice, len(credits))
    best = max(range(len(credits)), key=lambda index: credits[index])
    return {
        "score": float(credits[choice]),
        "choice": choice,
        "best": best,
        "credits": [float(credit) for credit in credits],
    }


def score_ranking(ranking: Sequence[int], key: Sequence[int]) -> dict[str, Any]:
    """Score a ranking of options against the expert ranking by distance.

    Both are lists of option indices, best first. The score is 100 times one
    minus the sum of each option's displacement divided by its maximum, which
    for n options is floor(n^2 / 2) (the reversed order). Raises ValueError when
    the ranking is not an order of the same options.
    """
    if sorted(ranking) != sorted(key) or len(set(key)) != len(key):
        raise ValueError("the ranking must list every option exactly once")
    expert_place = {option: place for place, option in enumerate(key)}
    displacement = [
        abs(place - expert_place[option]) for place, option in enumerate(ranking)
    ]
    worst = len(key) ** 2 // 2
    score = 100.0 * (1 - sum(displacement) / worst) if worst else 100.0
    return {
        "score": round(score, 1),
        "ranking": list(ranking),
        "key": list(key),
        "displacement": displacement,
        "distance": sum(displacement),
        "max_distance": worst,
    }


def _check_index(choice: int, option_count: int) -> None:
    if not 0 <= choice < option_count:
        raise ValueError(f"option {choice} does not exist; choose 0-{option_count - 1}")
