"""Stage aggregation, composite scores and the ranking order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scoring.composite import (
    SkillScore,
    StageInput,
    composite_score,
    language_result,
    ranking_key,
)


def test_language_mean_of_skills_and_lower_band() -> None:
    result = language_result(
        [SkillScore(80.0, "C1")], [SkillScore(60.0, "B2"), SkillScore(70.0, "B1")]
    )
    assert result.writing == 80.0
    assert result.speaking == 65.0
    assert result.score == 72.5
    assert result.cefr == "B1"  # speaking: mean of B2 and B1 rounded down


def test_language_band_not_set_by_one_task() -> None:
    result = language_result(
        [SkillScore(70.0, "B2")], [SkillScore(20.0, "A1"), SkillScore(80.0, "C1")]
    )
    assert result.cefr == "B1"  # speaking: mean of A1 (0) and C1 (4) is B1 (2)


def test_language_missing_skill_not_zero() -> None:
    result = language_result([SkillScore(70.0, "B2")], [SkillScore(None, None)])
    assert result.score == 70.0
    assert result.speaking is None
    assert result.cefr == "B2"


def test_language_nothing_scored() -> None:
    result = language_result([], [])
    assert result.score is None
    assert result.cefr is None


def test_composite_weighted_mean_of_completed() -> None:
    stages = [
        StageInput("screening", 0.0, 0.0, 100.0),
        StageInput("language", 30.0, 50.0, 80.0),
        StageInput("communication", 20.0, 50.0, 60.0),
        StageInput("attitude", 15.0, 50.0, None),
    ]
    composite = composite_score(stages)
    assert composite.score == 72.0  # (30*80 + 20*60) / 50
    assert composite.stages_counted == 3
    assert composite.knocked_out is False


def test_composite_knock_out_and_override() -> None:
    below = StageInput("language", 30.0, 50.0, 40.0)
    assert composite_score([below]).knocked_out_by == ["language"]
    overridden = StageInput("language", 30.0, 50.0, 40.0, overridden=True)
    assert composite_score([overridden]).knocked_out is False


def test_composite_zero_weights_fall_back_to_mean() -> None:
    stages = [StageInput("a", 0.0, 0.0, 40.0), StageInput("b", 0.0, 0.0, 60.0)]
    assert composite_score(stages).score == 50.0


def test_composite_nothing_complete() -> None:
    composite = composite_score([StageInput("language", 1.0, 50.0, None)])
    assert composite.score is None
    assert composite.knocked_out is False


def test_ranking_key_order() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rows = {
        "low": ranking_key(50.0, 90.0, now),
        "high": ranking_key(80.0, 10.0, now),
        "tie-better-language": ranking_key(70.0, 80.0, now),
        "tie-worse-language": ranking_key(70.0, 60.0, now),
        "tie-earlier": ranking_key(70.0, 60.0, now - timedelta(hours=1)),
        "unscored": ranking_key(None, None, now - timedelta(days=1)),
    }
    order = sorted(rows, key=rows.__getitem__)
    assert order == [
        "high",
        "tie-better-language",
        "tie-earlier",
        "tie-worse-language",
        "low",
        "unscored",
    ]
