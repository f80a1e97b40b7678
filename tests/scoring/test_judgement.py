"""Keyed items: multiple choice, best-response credit and ranking distance."""

from __future__ import annotations

import pytest

from scoring.judgement import score_best, score_choice, score_ranking


def test_choice_scores_key_only() -> None:
    assert score_choice(2, 2, 4)["score"] == 100.0
    assert score_choice(1, 2, 4)["score"] == 0.0


def test_choice_rejects_missing_option() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        score_choice(4, 2, 4)


def test_best_response_gives_partial_credit() -> None:
    result = score_best(2, [0, 100, 40, 10])
    assert result["score"] == 40.0
    assert result["best"] == 1


@pytest.mark.parametrize(
    ("ranking", "expected"),
    [
        ([1, 3, 2, 0], 100.0),  # the key itself
        ([0, 2, 3, 1], 0.0),  # reversed: displacement 3+1+1+3 = 8 = 4*4 // 2
        ([3, 1, 2, 0], 75.0),  # first two swapped: 1+1 of 8
        ([1, 3, 0, 2], 75.0),  # last two swapped
    ],
)
def test_ranking_scores_by_distance(ranking: list[int], expected: float) -> None:
    assert score_ranking(ranking, [1, 3, 2, 0])["score"] == expected


def test_ranking_of_five_uses_floor_of_half_square() -> None:
    result = score_ranking([4, 3, 2, 1, 0], [0, 1, 2, 3, 4])
    assert result["max_distance"] == 12
    assert result["score"] == 0.0


def test_ranking_must_use_every_option_once() -> None:
    with pytest.raises(ValueError, match="exactly once"):
        score_ranking([0, 0, 1, 2], [0, 1, 2, 3])
