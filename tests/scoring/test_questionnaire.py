"""The attitude questionnaire: keying, consistency and answering-style flags."""

from __future__ import annotations

import pytest

from scoring.questionnaire import Pair, Statement, score_questionnaire

STATEMENTS = [
    Statement("calm", "I stay calm with rude customers."),
    Statement("patience", "I lose patience explaining twice.", reverse=True),
    Statement("steady", "I keep a steady tone with angry customers."),
    Statement("procedure", "I follow procedures unobserved."),
    Statement("corners", "I cut corners when busy.", reverse=True),
    Statement("needs", "I like finding out what customers need."),
]
PAIRS = [
    Pair("calm", "steady", "similar"),
    Pair("procedure", "corners", "opposite"),
    Pair("calm", "patience", "opposite"),
]


def answers(**values: int) -> dict[str, int]:
    return values


def test_reverse_items_are_keyed() -> None:
    result = score_questionnaire(
        STATEMENTS,
        PAIRS,
        answers(calm=4, patience=2, steady=4, procedure=5, corners=1, needs=4),
    )
    assert result["keyed"] == {
        "calm": 4,
        "patience": 4,
        "steady": 4,
        "procedure": 5,
        "corners": 5,
        "needs": 4,
    }
    # mean keyed 26 / 6, mapped from 1..5 to 0..100
    assert result["score"] == pytest.approx(round((26 / 6 - 1) / 4 * 100, 1))
    assert result["consistency"] == 100.0
    assert result["flags"] == []


def test_contradictory_pairs_lower_consistency() -> None:
    result = score_questionnaire(
        STATEMENTS,
        PAIRS,
        answers(calm=5, patience=5, steady=1, procedure=5, corners=5, needs=3),
    )
    gaps = [pair["gap"] for pair in result["pair_gaps"]]
    assert gaps == [4, 4, 4]
    assert result["consistency"] == 0.0
    assert "inconsistent" in result["flags"]
    assert result["needs_review"] is True


def test_straight_lining_is_flagged() -> None:
    same = {statement.id: 4 for statement in STATEMENTS}
    result = score_questionnaire(STATEMENTS, PAIRS, same)
    assert "straight_lining" in result["flags"]


def test_random_answers_withhold_score() -> None:
    result = score_questionnaire(
        STATEMENTS,
        PAIRS,
        answers(calm=5, patience=5, steady=1, procedure=5, corners=5, needs=3),
    )
    assert result["score"] is None
    assert result["withheld"]["reasons"] == ["inconsistent"]
    assert result["withheld"]["score"] == pytest.approx(
        round((16 / 6 - 1) / 4 * 100, 1)
    )


def test_all_strongly_agree_withholds_score() -> None:
    # Agreeing with every statement agrees with the reverse-keyed ones too.
    same = {statement.id: 5 for statement in STATEMENTS}
    result = score_questionnaire(STATEMENTS, PAIRS, same)
    assert result["score"] is None
    assert result["needs_review"] is True
    assert result["withheld"]["reasons"] == ["inconsistent", "straight_lining"]
    assert result["withheld"]["score"] == pytest.approx(
        round((22 / 6 - 1) / 4 * 100, 1)
    )


def test_idealised_answers_are_flagged() -> None:
    ideal = answers(calm=5, patience=1, steady=5, procedure=5, corners=1, needs=5)
    result = score_questionnaire(STATEMENTS, PAIRS, ideal)
    assert result["score"] == 100.0
    assert result["flags"] == ["idealised"]
    assert "withheld" not in result


def test_missing_answer_is_rejected() -> None:
    with pytest.raises(ValueError, match="needs an answer"):
        score_questionnaire(STATEMENTS, PAIRS, answers(calm=4))


def test_out_of_range_answer_is_rejected() -> None:
    values = {statement.id: 3 for statement in STATEMENTS} | {"needs": 6}
    with pytest.raises(ValueError, match="needs an answer 1-5"):
        score_questionnaire(STATEMENTS, PAIRS, values)
