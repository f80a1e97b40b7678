"""Funnel analytics of one opening or all: conversion, time, pass rates, validity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import fmean
from typing import Any

from sqlalchemy import select

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

# Application id -> (cohort label, outcome value), e.g. an onboarding result.
OutcomeProvider = Callable[[Sequence[int]], Mapping[int, tuple[str, float]]]


def no_outcomes(application_ids: Sequence[int]) -> Mapping[int, tuple[str, float]]:
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
    scores: list[float] = field(default_factory=list)
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
        return round(fmean(self.scores), 1) if self.scores else None

    @property
    def histogram(self) -> list[int]:
        return histogram(self.scores)


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
    rows = db.session.execute(
        select(
            Application.id,
            Application.opening_id,
            Application.status,
            Stage.position,
        )
        .outerjoin(Stage, Stage.id == Application.current_stage_id)
        .where(Application.opening_id.in_(opening_ids))
    ).all()
    statuses: dict[str, int] = defaultdict(int)
    status_by_id: dict[int, ApplicationStatus] = {}
    for app_id, opening_id, status, position in rows:
        statuses[status.value] += 1
        status_by_id[app_id] = status
        _count_reached(stats, stages_by_opening[opening_id], status, position)
    outcomes = _add_results(
        stats, opening_ids, status_by_id, provider or outcome_provider
    )
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
) -> None:
    """Count the stages this application reached; a hire reached every stage."""

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
        entry.reached += 1
        if has_next and reached(stages[index + 1]):
            entry.next_reached = (entry.next_reached or 0) + 1


def _add_results(
    stats: Mapping[StageKind, StageStats],
    opening_ids: Sequence[int],
    status_by_id: Mapping[int, ApplicationStatus],
    provider: OutcomeProvider,
) -> int:
    """Add pass rates, scores, agreement with decisions and predictive validity.

    Returns how many applications have an outcome.
    """
    results = db.session.execute(
        select(
            StageResult.application_id,
            Stage.kind,
            StageResult.score,
            StageResult.passed,
        )
        .join(Stage, Stage.id == StageResult.stage_id)
        .where(
            Stage.opening_id.in_(opening_ids),
            StageResult.complete,
            StageResult.score.is_not(None),
        )
    ).all()
    outcomes = provider(list(status_by_id))
    decided: dict[StageKind, list[tuple[float, bool]]] = defaultdict(list)
    predicted: dict[StageKind, dict[str, list[tuple[float, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for app_id, kind, score, passed in results:
        if kind not in stats:
            continue
        entry = stats[kind]
        entry.completed += 1
        entry.passed += bool(passed)
        entry.scores.append(score)
        status = status_by_id.get(app_id)
        if status in (ApplicationStatus.HIRED, ApplicationStatus.REJECTED):
            decided[kind].append((score, status == ApplicationStatus.HIRED))
        if app_id in outcomes:
            cohort, value = outcomes[app_id]
            predicted[kind][cohort].append((score, value))
    for kind, pairs in decided.items():
        scores = [score for score, _hired in pairs]
        hired = [flag for _score, flag in pairs]
        stats[kind].agreement_n = len(pairs)
        stats[kind].agreement_r = point_biserial(scores, hired)
        stats[kind].agreement_auc = auc(scores, hired)
    for kind, cohorts in predicted.items():
        stats[kind].validity = [
            (
                cohort,
                outcome_correlation([s for s, _v in pairs], [v for _s, v in pairs]),
            )
            for cohort, pairs in sorted(cohorts.items())
        ]
    return len(outcomes)


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
