"""The fairness report: selection and scoring rates and impact ratios by category.

Reads self-reported sex and race/ethnicity only in aggregate; no page or export
shows them beside a candidate, and scoring never reads them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select

from app import db
from recruit.models import (
    Application,
    ApplicationStatus,
    DemographicResponse,
    RaceEthnicity,
    Sex,
    Stage,
    StageKind,
    StageResult,
)
from scoring.impact import CategoryRate, impact_table

UNKNOWN = "unknown"


@dataclass
class ImpactSection:
    title: str
    kind: str  # "selection" or "scoring"
    median: float | None
    tables: dict[str, list[CategoryRate]]


def _categories(sex: Sex | None, race: RaceEthnicity | None) -> dict[str, str]:
    sex_value = sex.value if sex and sex != Sex.DECLINED else UNKNOWN
    race_value = race.value if race and race != RaceEthnicity.DECLINED else UNKNOWN
    both = (
        UNKNOWN if UNKNOWN in (sex_value, race_value) else f"{sex_value} × {race_value}"
    )
    return {"sex": sex_value, "race_ethnicity": race_value, "intersection": both}


# One row per (sex, race/ethnicity) pair: the people, and how many were selected.
Group = tuple[Sex | None, RaceEthnicity | None, int, int]


def _tables(groups: Sequence[Group]) -> dict[str, list[CategoryRate]]:
    """Fold (sex, race/ethnicity) groups into an impact table per dimension."""
    tables: dict[str, list[CategoryRate]] = {}
    for dimension in ("sex", "race_ethnicity", "intersection"):
        counts: dict[str, tuple[int, int]] = {}
        for sex, race, total, selected in groups:
            category = _categories(sex, race)[dimension]
            known_selected, known_total = counts.get(category, (0, 0))
            counts[category] = (known_selected + selected, known_total + total)
        tables[dimension] = sorted(
            impact_table(
                counts,
                unknown=UNKNOWN,
                min_shown=current_app.config["FAIRNESS_MIN_SHOWN"],
            ),
            key=lambda row: (row.category == UNKNOWN, str(row.category)),
        )
    return tables


def _grouped(selected: Any, *conditions: Any, by_kind: bool = False) -> list[Any]:
    """Count people and selections per (sex, race/ethnicity), in the database."""
    columns = [
        DemographicResponse.sex,
        DemographicResponse.race_ethnicity,
        func.count(Application.id),
        func.sum(case((selected, 1), else_=0)),
    ]
    query = select(*([Stage.kind] if by_kind else []), *columns).select_from(
        Application
    )
    query = query.outerjoin(
        DemographicResponse, DemographicResponse.user_id == Application.candidate_id
    )
    if by_kind:
        query = query.join(
            StageResult, StageResult.application_id == Application.id
        ).join(Stage, Stage.id == StageResult.stage_id)
    group = [DemographicResponse.sex, DemographicResponse.race_ethnicity]
    return db.session.execute(
        query.where(*conditions).group_by(*([Stage.kind] if by_kind else []), *group)
    ).all()


def fairness_report(opening_ids: Sequence[int]) -> list[ImpactSection]:
    """Sections for hiring, scoring above the median, and passing each stage."""
    in_openings = Application.opening_id.in_(opening_ids)
    hired = _grouped(Application.status == ApplicationStatus.HIRED, in_openings)
    sections = [ImpactSection("hired", "selection", None, _tables(hired))]

    scored = Application.composite_score.is_not(None)
    scores = list(
        db.session.scalars(
            select(Application.composite_score).where(in_openings, scored)
        )
    )
    middle = float(median(scores)) if scores else None
    if middle is not None:
        above = _grouped(Application.composite_score > middle, in_openings, scored)
    else:
        above = []
    sections.append(ImpactSection("composite", "scoring", middle, _tables(above)))

    passed = _grouped(
        StageResult.passed,
        in_openings,
        StageResult.passed.is_not(None),
        by_kind=True,
    )
    by_kind: dict[str, list[Group]] = defaultdict(list)
    for kind, sex, race, total, selected in passed:
        by_kind[kind.value].append((sex, race, total, selected))
    order = [kind.value for kind in StageKind]
    for kind in sorted(by_kind, key=order.index):
        sections.append(
            ImpactSection(f"passed:{kind}", "selection", None, _tables(by_kind[kind]))
        )
    return sections
