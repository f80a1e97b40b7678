"""Stage aggregation, the composite score and the ranking order of applications."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import fmean

from scoring.cefr import BANDS, band_index

SCORER_NAME = "composite"
SCORER_VERSION = "1"


@dataclass(frozen=True)
class SkillScore:
    """One writing or speaking score of a language; ``score`` is None if unscored."""

    score: float | None
    cefr: str | None


@dataclass(frozen=True)
class LanguageResult:
    score: float | None
    cefr: str | None
    writing: float | None
    speaking: float | None


def language_result(
    writing: Sequence[SkillScore], speaking: Sequence[SkillScore]
) -> LanguageResult:
    """Combine one language's writing and speaking scores.

    The score is the mean of the two skills' mean scores (a missing skill is left
    out, never counted as zero). Each skill's band is the mean band of its tasks,
    rounded down; the language's band is the lower of the two skills' bands,
    because a band certifies what the person can do in every skill tested.
    """
    writing_mean = _mean_score(writing)
    speaking_mean = _mean_score(speaking)
    skills = [value for value in (writing_mean, speaking_mean) if value is not None]
    score = round(fmean(skills), 1) if skills else None
    bands = [band for band in (_skill_band(writing), _skill_band(speaking)) if band]
    cefr = BANDS[min(band_index(band) for band in bands)] if bands else None
    return LanguageResult(score, cefr, writing_mean, speaking_mean)


def _skill_band(skill_scores: Sequence[SkillScore]) -> str | None:
    indexes = [
        band_index(s.cefr) for s in skill_scores if s.cefr and s.score is not None
    ]
    return BANDS[int(fmean(indexes))] if indexes else None


def _mean_score(skill_scores: Sequence[SkillScore]) -> float | None:
    values = [s.score for s in skill_scores if s.score is not None]
    return round(fmean(values), 1) if values else None


@dataclass(frozen=True)
class StageInput:
    """One enabled stage of an application, as the composite reads it."""

    kind: str
    weight: float
    pass_mark: float
    score: float | None  # None while the stage is not complete
    overridden: bool = False  # a recruiter let a below-pass-mark score through
    # Failed outright with no score, as by a knock-out question of the screening.
    failed: bool = False


@dataclass(frozen=True)
class Composite:
    score: float | None
    knocked_out: bool
    knocked_out_by: list[str] = field(default_factory=list)
    stages_counted: int = 0


def composite_score(stages: Sequence[StageInput]) -> Composite:
    """Return the weighted mean of the completed stages and any knock-outs.

    Stages without a score do not count. A stage scored below its pass mark knocks
    the application out unless a recruiter has overridden it. When every counted
    stage has weight zero the plain mean is used, so a score is never lost. A
    stage that failed outright knocks the application out with no composite at
    all, because a knock-out is a verdict, not a score of 0.
    """
    failed = [stage.kind for stage in stages if stage.failed and not stage.overridden]
    if failed:
        return Composite(None, True, failed, 0)
    counted = [stage for stage in stages if stage.score is not None]
    knocked_out_by = [
        stage.kind
        for stage in counted
        if stage.score is not None
        and stage.score < stage.pass_mark
        and not stage.overridden
    ]
    if not counted:
        return Composite(None, False, [], 0)
    total_weight = sum(stage.weight for stage in counted)
    if total_weight > 0:
        value = sum(stage.weight * _score(stage) for stage in counted) / total_weight
    else:
        value = fmean(_score(stage) for stage in counted)
    return Composite(
        round(value, 2), bool(knocked_out_by), knocked_out_by, len(counted)
    )


def _score(stage: StageInput) -> float:
    assert stage.score is not None
    return stage.score


def ranking_key(
    composite: float | None, language: float | None, applied_at: datetime
) -> tuple[float, float, float]:
    """Sort key: composite, then language score, both descending, then earliest applied.

    Unscored applications sort after every scored one.
    """
    return (
        -(composite if composite is not None else -1.0),
        -(language if language is not None else -1.0),
        applied_at.timestamp(),
    )
