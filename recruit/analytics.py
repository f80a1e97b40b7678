"""Funnel analytics of one opening or all: conversion, time, pass rates, validity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import fmean
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, select

from app import db, utcnow
from recruit.models import (
    Application,
    ApplicationLanguage,
    ApplicationStatus,
    Opening,
    Stage,
    StageKind,
    StageResult,
    StageTransition,
)
from scoring.statistics import (
    Correlation,
    auc,
    histogram,
    median,
    outcome_correlation,
    point_biserial,
)

KIND_ORDER = list(StageKind)
DAY_S = 86400.0
HISTOGRAM_BINS = 10

# Called with opening ids; returns application id -> (cohort label, outcome
# value), e.g. an onboarding result of the person hired through it.
OutcomeProvider = Callable[[Sequence[int]], Mapping[int, tuple[str, float]]]


def no_outcomes(opening_ids: Sequence[int]) -> Mapping[int, tuple[str, float]]:
    """Return no outcomes: the default until onboarding records results."""
    return {}


# Replaced by the onboarding courses' results once they are recorded.
outcome_provider: OutcomeProvider = no_outcomes


@dataclass
class StageStats:
    kind: str
    name: str
    reached: int = 0
    next_reached: int | None = None
    completed: int = 0
    passed: int = 0
    score_total: float = 0.0
    # Completed stages per band of 10 points, 0-10 up to 90-100.
    bins: list[int] = field(default_factory=lambda: [0] * HISTOGRAM_BINS)
    days_in_stage: list[float] = field(default_factory=list)
    agreement_n: int = 0
    agreement_r: float | None = None
    agreement_auc: float | None = None
    validity: list[tuple[str, Correlation]] = field(default_factory=list)

    @property
    def conversion(self) -> float | None:
        if self.next_reached is None or not self.reached:
            return None
        return self.next_reached / self.reached

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.completed if self.completed else None

    @property
    def median_days(self) -> float | None:
        return median(self.days_in_stage)

    @property
    def mean_score(self) -> float | None:
        return round(self.score_total / self.completed, 1) if self.completed else None

    @property
    def histogram(self) -> list[int]:
        return self.bins


@dataclass
class LanguageStats:
    language: str
    scores: list[float]

    @property
    def mean(self) -> float | None:
        return round(fmean(self.scores), 1) if self.scores else None

    @property
    def median(self) -> float | None:
        return median(self.scores)

    @property
    def histogram(self) -> list[int]:
        return histogram(self.scores)


@dataclass
class FunnelReport:
    title: str
    generated_at: datetime
    statuses: dict[str, int]
    stages: list[StageStats]
    languages: list[LanguageStats]
    outcomes_recorded: int

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


def funnel_report(
    openings: Sequence[Opening], title: str, provider: OutcomeProvider | None = None
) -> FunnelReport:
    """Compute the funnel report over ``openings``; stages are matched by kind."""
    opening_ids = [opening.id for opening in openings]
    stages_by_opening = {
        opening.id: [stage for stage in opening.stages if stage.enabled]
        for opening in openings
    }
    names = {
        stage.kind: stage.name
        for stages in stages_by_opening.values()
        for stage in stages
    }
    kinds = [kind for kind in KIND_ORDER if kind in names]
    stats = {kind: StageStats(kind.value, names[kind]) for kind in kinds}
    groups = db.session.execute(
        select(
            Application.opening_id,
            Application.status,
            Stage.position,
            func.count(Application.id),
        )
        .outerjoin(Stage, Stage.id == Application.current_stage_id)
        .where(Application.opening_id.in_(opening_ids))
        .group_by(Application.opening_id, Application.status, Stage.position)
    ).all()
    statuses: dict[str, int] = defaultdict(int)
    for opening_id, status, position, count in groups:
        statuses[status.value] += count
        _count_reached(stats, stages_by_opening[opening_id], status, position, count)
    outcomes = _add_results(stats, opening_ids, provider or outcome_provider)
    _add_durations(stats, opening_ids)
    return FunnelReport(
        title=title,
        generated_at=utcnow(),
        statuses=dict(statuses),
        stages=[stats[kind] for kind in kinds],
        languages=_language_stats(opening_ids),
        outcomes_recorded=outcomes,
    )


def _count_reached(
    stats: Mapping[StageKind, StageStats],
    stages: Sequence[Stage],
    status: ApplicationStatus,
    position: int | None,
    count: int,
) -> None:
    """Count the stages that ``count`` applications reached; a hire reached all."""

    def reached(stage: Stage) -> bool:
        if status == ApplicationStatus.HIRED:
            return True
        return position is not None and position >= stage.position

    for index, stage in enumerate(stages):
        entry = stats[stage.kind]
        has_next = index + 1 < len(stages)
        if has_next and entry.next_reached is None:
            entry.next_reached = 0
        if not reached(stage):
            continue
        entry.reached += count
        if has_next and reached(stages[index + 1]):
            entry.next_reached = (entry.next_reached or 0) + count


def _add_results(
    stats: Mapping[StageKind, StageStats],
    opening_ids: Sequence[int],
    provider: OutcomeProvider,
) -> int:
    """Add pass rates, scores, agreement with decisions and predictive validity.

    Counts and histograms are summed in the database; only the scores of
    decided applications, and of those with an outcome, come back row by row.
    Returns how many applications have an outcome.
    """
    completed = and_(
        Stage.opening_id.in_(opening_ids),
        StageResult.complete,
        StageResult.score.is_not(None),
    )
    band = cast(StageResult.score / 10, Integer)
    sums = db.session.execute(
        select(
            Stage.kind,
            band,
            func.count(StageResult.id),
            func.sum(case((StageResult.passed, 1), else_=0)),
            func.sum(StageResult.score),
        )
        .join(Stage, Stage.id == StageResult.stage_id)
        .where(completed)
        .group_by(Stage.kind, band)
    ).all()
    for kind, bin_index, count, passed, total in sums:
        if kind not in stats:
            continue
        entry = stats[kind]
        entry.completed += count
        entry.passed += passed or 0
        entry.score_total += total or 0.0
        entry.bins[min(int(bin_index), HISTOGRAM_BINS - 1)] += count
    decided = db.session.execute(
        select(Stage.kind, StageResult.score, Application.status)
        .join(Stage, Stage.id == StageResult.stage_id)
        .join(Application, Application.id == StageResult.application_id)
        .where(
            completed,
            Application.status.in_(
                [ApplicationStatus.HIRED, ApplicationStatus.REJECTED]
            ),
        )
    ).all()
    pairs: dict[StageKind, list[tuple[float, bool]]] = defaultdict(list)
    for kind, score, status in decided:
        pairs[kind].append((score, status == ApplicationStatus.HIRED))
    for kind, rows in pairs.items():
        if kind not in stats:
            continue
        scores = [score for score, _hired in rows]
        hired = [flag for _score, flag in rows]
        stats[kind].agreement_n = len(rows)
        stats[kind].agreement_r = point_biserial(scores, hired)
        stats[kind].agreement_auc = auc(scores, hired)
    outcomes = provider(list(opening_ids))
    if outcomes:
        _add_validity(stats, completed, outcomes)
    return len(outcomes)


def _add_validity(
    stats: Mapping[StageKind, StageStats],
    completed: Any,
    outcomes: Mapping[int, tuple[str, float]],
) -> None:
    """Correlate each stage's score with the outcomes, per cohort."""
    rows = db.session.execute(
        select(StageResult.application_id, Stage.kind, StageResult.score)
        .join(Stage, Stage.id == StageResult.stage_id)
        .where(completed)
    ).all()
    predicted: dict[StageKind, dict[str, list[tuple[float, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for app_id, kind, score in rows:
        if app_id in outcomes and kind in stats:
            cohort, value = outcomes[app_id]
            predicted[kind][cohort].append((score, value))
    for kind, cohorts in predicted.items():
        stats[kind].validity = [
            (
                cohort,
                outcome_correlation([s for s, _v in pairs], [v for _s, v in pairs]),
            )
            for cohort, pairs in sorted(cohorts.items())
        ]


def _add_durations(
    stats: Mapping[StageKind, StageStats], opening_ids: Sequence[int]
) -> None:
    """Days spent in each stage, from entering it to leaving it (finished stays)."""
    stage_kinds = dict(
        db.session.execute(
            select(Stage.id, Stage.kind).where(Stage.opening_id.in_(opening_ids))
        ).all()
    )
    rows = db.session.execute(
        select(
            StageTransition.application_id,
            StageTransition.from_stage_id,
            StageTransition.to_stage_id,
            StageTransition.at,
        )
        .where(StageTransition.opening_id.in_(opening_ids))
        .order_by(
            StageTransition.application_id, StageTransition.at, StageTransition.id
        )
    ).all()
    entered: dict[int, datetime] = {}
    current_app_id = None
    for app_id, from_id, to_id, at in rows:
        if app_id != current_app_id:
            entered = {}
            current_app_id = app_id
        if from_id is not None and from_id != to_id and from_id in entered:
            kind = stage_kinds.get(from_id)
            if kind in stats:
                days = (at - entered.pop(from_id)).total_seconds() / DAY_S
                stats[kind].days_in_stage.append(days)
        if to_id is not None and to_id != from_id:
            entered[to_id] = at


def _language_stats(opening_ids: Sequence[int]) -> list[LanguageStats]:
    rows = db.session.execute(
        select(ApplicationLanguage.language, ApplicationLanguage.tested_score)
        .join(Application, Application.id == ApplicationLanguage.application_id)
        .where(
            Application.opening_id.in_(opening_ids),
            ApplicationLanguage.tested_score.is_not(None),
        )
    ).all()
    by_language: dict[str, list[float]] = defaultdict(list)
    for language, score in rows:
        by_language[language].append(score)
    return [LanguageStats(code, scores) for code, scores in sorted(by_language.items())]


def report_rows(report: FunnelReport) -> list[dict[str, Any]]:
    """Flatten the report into one row per stage for the page's table and the PDF."""
    return [
        {
            "stage": stage.name,
            "reached": stage.reached,
            "conversion": stage.conversion,
            "median_days": stage.median_days,
            "completed": stage.completed,
            "pass_rate": stage.pass_rate,
            "mean_score": stage.mean_score,
            "agreement_n": stage.agreement_n,
            "agreement_r": stage.agreement_r,
            "agreement_auc": stage.agreement_auc,
        }
        for stage in report.stages
    ]
