"""The fairness report: selection and scoring rates and impact ratios by category.

Reads self-reported sex and race/ethnicity only in aggregate; no page or export
shows them beside a candidate, and scoring never reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

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
from scoring.impact import CategoryRate, impact_table, scoring_counts, selection_counts

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


def _tables(rows: Sequence[tuple[dict[str, str], Any]], scoring: bool) -> Any:
    tables: dict[str, list[CategoryRate]] = {}
    middle = None
    for dimension in ("sex", "race_ethnicity", "intersection"):
        pairs = [(cats[dimension], value) for cats, value in rows]
        if scoring:
            middle, counts = scoring_counts(pairs)
        else:
            counts = selection_counts(pairs)
        tables[dimension] = sorted(
            impact_table(counts, unknown=UNKNOWN),
            key=lambda row: (row.category == UNKNOWN, str(row.category)),
        )
    return middle, tables


def fairness_report(opening_ids: Sequence[int]) -> list[ImpactSection]:
    """Sections for hiring, passing each stage, and scoring above the median."""
    people = db.session.execute(
        select(
            Application.id,
            Application.status,
            Application.composite_score,
            DemographicResponse.sex,
            DemographicResponse.race_ethnicity,
        )
        .outerjoin(
            DemographicResponse,
            DemographicResponse.user_id == Application.candidate_id,
        )
        .where(Application.opening_id.in_(opening_ids))
    ).all()
    categories = {row[0]: _categories(row[3], row[4]) for row in people}
    sections = []
    hired = [(categories[row[0]], row[1] == ApplicationStatus.HIRED) for row in people]
    middle, tables = _tables(hired, scoring=False)
    sections.append(ImpactSection("hired", "selection", None, tables))
    scored = [(categories[row[0]], row[2]) for row in people if row[2] is not None]
    middle, tables = _tables(scored, scoring=True)
    sections.append(ImpactSection("composite", "scoring", middle, tables))
    results = db.session.execute(
        select(StageResult.application_id, Stage.kind, StageResult.passed)
        .join(Stage, Stage.id == StageResult.stage_id)
        .where(Stage.opening_id.in_(opening_ids), StageResult.passed.is_not(None))
    ).all()
    by_kind: dict[str, list[tuple[dict[str, str], bool]]] = {}
    for app_id, kind, passed in results:
        if app_id in categories:
            by_kind.setdefault(kind.value, []).append((categories[app_id], passed))
    order = [kind.value for kind in StageKind]
    for kind, rows in sorted(by_kind.items(), key=lambda item: order.index(item[0])):
        middle, tables = _tables(rows, scoring=False)
        sections.append(ImpactSection(f"passed:{kind}", "selection", None, tables))
    return sections
