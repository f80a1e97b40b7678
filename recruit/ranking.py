"""The ranking of an opening's applications: filters, sorting, pages, re-ranking."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, exists, func, literal_column, nulls_last, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from app import bounded_int, db
from recruit.models import (
    Application,
    ApplicationLanguage,
    ApplicationStatus,
    Opening,
    Stage,
    StageKind,
    StageOverride,
    StageResult,
    User,
)
from scoring.cefr import BANDS, band_index
from scoring.composite import StageInput, composite_score

log = logging.getLogger(__name__)

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
# Far past any real ranking, and small enough that the row offset fits a BIGINT.
MAX_PAGE = 1_000_000
SORTS = ("rank", "composite", "language", "applied", "name", "waited")
RERANK_BATCH = 500


@dataclass
class RankingFilter:
    """Filters, sort and page of the ranking, parsed from a query string."""

    stage_id: int | None = None
    statuses: list[str] = field(default_factory=list)
    language: str | None = None
    cefr_min: str | None = None
    # Stage id -> (minimum, maximum) of the stage score, either end optional.
    score_ranges: dict[int, tuple[float | None, float | None]] = field(
        default_factory=dict
    )
    composite_min: float | None = None
    composite_max: float | None = None
    applied_from: date | None = None
    applied_to: date | None = None
    # "rank", "composite", "language", "applied", "name", "waited" or "stage:ID".
    sort: str = "rank"
    descending: bool = True
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE
    # Query argument name -> why its value was not used.
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def parse_filter(args: Mapping[str, Any], stages: Iterable[Stage]) -> RankingFilter:
    """Build a filter from request arguments.

    A value that does not parse is left out of the filter, and ``errors`` gets
    a message for it under the argument's name, so the page can show it beside
    that field instead of quietly ignoring it.
    """
    stage_ids = {stage.id for stage in stages}
    statuses = {status.value for status in ApplicationStatus}
    flt = RankingFilter()
    errors = flt.errors
    raw_stage = _text(args.get("stage"))
    if raw_stage:
        stage_id = _int(raw_stage)
        if stage_id in stage_ids:
            flt.stage_id = stage_id
        else:
            errors["stage"] = _("Unknown stage %(stage)s.", stage=raw_stage)
    getlist = getattr(args, "getlist", None)
    raw_statuses = getlist("status") if getlist else [args.get("status")]
    for status in raw_statuses:
        if status in statuses:
            flt.statuses.append(status)
        elif status:
            errors["status"] = _("Unknown status “%(status)s”.", status=status)
    language = _text(args.get("language")).lower()
    if language in _language_codes():
        flt.language = language
    elif language:
        errors["language"] = _(
            "“%(value)s” is not an ISO 639-1 code; use two letters, such as en.",
            value=language,
        )
    cefr = _text(args.get("cefr_min")).upper()
    if cefr in BANDS:
        flt.cefr_min = cefr
    elif cefr:
        errors["cefr_min"] = _("“%(value)s” is not a CEFR band (A1 to C2).", value=cefr)
    for stage_id in sorted(stage_ids):
        low, high = _score_range(args, f"min_{stage_id}", f"max_{stage_id}", errors)
        if low is not None or high is not None:
            flt.score_ranges[stage_id] = (low, high)
    flt.composite_min, flt.composite_max = _score_range(
        args, "composite_min", "composite_max", errors
    )
    flt.applied_from = _date(args, "applied_from", errors)
    flt.applied_to = _date(args, "applied_to", errors)
    if flt.applied_from and flt.applied_to and flt.applied_to < flt.applied_from:
        errors["applied_to"] = _("This date is before the “Applied from” date.")
        flt.applied_to = None
    sort = _text(args.get("sort")) or "rank"
    if sort in SORTS or (sort.startswith("stage:") and _int(sort[6:]) in stage_ids):
        flt.sort = sort
    else:
        errors["sort"] = _("Unknown sort order “%(sort)s”.", sort=sort)
    flt.descending = args.get("dir", "desc") != "asc"
    flt.page = min(max(1, _int(args.get("page")) or 1), MAX_PAGE)
    raw_per_page = _text(args.get("per_page"))
    if raw_per_page:
        per_page = _int(raw_per_page)
        if per_page in PAGE_SIZES:
            flt.per_page = per_page
        else:
            errors["per_page"] = _(
                "Choose %(sizes)s rows per page.",
                sizes=", ".join(str(size) for size in PAGE_SIZES),
            )
    return flt


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _language_codes() -> frozenset[str]:
    from recruit.imports import iso_639_1_codes

    return iso_639_1_codes()


def _int(value: Any) -> int | None:
    try:
        return bounded_int(value)
    except (TypeError, ValueError):
        return None


def _score(args: Mapping[str, Any], name: str, errors: dict[str, str]) -> float | None:
    """Parse a score from 0 to 100; record an error for anything else."""
    raw = _text(args.get(name))
    if not raw:
        return None
    try:
        number = float(raw)
    except ValueError:
        number = None
    if number is None or not 0 <= number <= 100:
        errors[name] = _("“%(value)s” is not a number from 0 to 100.", value=raw)
        return None
    return number


def _score_range(
    args: Mapping[str, Any], low_name: str, high_name: str, errors: dict[str, str]
) -> tuple[float | None, float | None]:
    low = _score(args, low_name, errors)
    high = _score(args, high_name, errors)
    if low is not None and high is not None and high < low:
        errors[high_name] = _(
            "The maximum (%(high)s) is below the minimum (%(low)s).",
            high=f"{high:g}",
            low=f"{low:g}",
        )
        return low, None
    return low, high


def _date(args: Mapping[str, Any], name: str, errors: dict[str, str]) -> date | None:
    raw = _text(args.get(name))
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = _(
            "“%(value)s” is not a date; use the form YYYY-MM-DD.", value=raw
        )
        return None


def filtered_query(opening_id: int, flt: RankingFilter) -> Select[tuple[Application]]:
    """Select the opening's applications that pass ``flt``, without order or paging."""
    query = select(Application).where(Application.opening_id == opening_id)
    if flt.stage_id is not None:
        query = query.where(Application.current_stage_id == flt.stage_id)
    if flt.statuses:
        query = query.where(Application.status.in_(flt.statuses))
    if flt.language:
        query = query.where(
            exists().where(
                ApplicationLanguage.application_id == Application.id,
                ApplicationLanguage.language == flt.language,
            )
        )
    if flt.cefr_min:
        query = query.where(
            Application.language_cefr.in_(BANDS[band_index(flt.cefr_min) :])
        )
    for stage_id, (low, high) in flt.score_ranges.items():
        result = aliased(StageResult)
        conditions = [
            result.application_id == Application.id,
            result.stage_id == stage_id,
        ]
        if low is not None:
            conditions.append(result.score >= low)
        if high is not None:
            conditions.append(result.score <= high)
        query = query.where(exists().where(*conditions))
    if flt.composite_min is not None:
        query = query.where(Application.composite_score >= flt.composite_min)
    if flt.composite_max is not None:
        query = query.where(Application.composite_score <= flt.composite_max)
    if flt.applied_from is not None:
        start = datetime.combine(flt.applied_from, time(), tzinfo=UTC)
        query = query.where(Application.created_at >= start)
    if flt.applied_to is not None and flt.applied_to < date.max:
        end = datetime.combine(flt.applied_to + timedelta(days=1), time(), tzinfo=UTC)
        query = query.where(Application.created_at < end)
    return query


# Scores lie in 0..100, so -1 sorts a missing score after every real one. The
# literal (not a bound parameter) lets SQLite and PostgreSQL match the
# expression indexes of ``recruit.models_ranking``.
MISSING_LOW = literal_column("-1")
# Counting stops here: "more than 500 match" is enough to read, and counting every
# match of a broad filter over 100,000 applications costs more than the page.
COUNT_CAP = 500


def low_if_missing(column: Any) -> Any:
    return func.coalesce(column, MISSING_LOW)


def rank_order() -> list[Any]:
    """Composite, then language score, both descending and missing last, then time."""
    return [
        Application.knocked_out,
        low_if_missing(Application.composite_score).desc(),
        low_if_missing(Application.language_score).desc(),
        Application.created_at,
        Application.id,
    ]


def _column_order(flt: RankingFilter) -> list[Any]:
    """Order by one application column; a missing value comes last either way."""
    if flt.sort == "name":
        column = func.lower(User.name)
        return [column.desc() if flt.descending else column, Application.id]
    if flt.sort in ("composite", "language"):
        column = {
            "composite": Application.composite_score,
            "language": Application.language_score,
        }[flt.sort]
        if flt.descending:
            return [low_if_missing(column).desc(), Application.id]
        return [nulls_last(column.asc()), Application.id]
    column = {
        "applied": Application.created_at,
        # "Descending" means longest waiting first: the earliest stage entry.
        "waited": Application.stage_entered_at,
    }[flt.sort]
    descending = flt.descending != (flt.sort == "waited")
    return [column.desc() if descending else column, Application.id]


def ordered_query(opening_id: int, flt: RankingFilter) -> Select[tuple[Application]]:
    """Order the filtered query as requested, for exports of the whole list."""
    query = filtered_query(opening_id, flt)
    if flt.sort == "rank":
        return query.order_by(*rank_order())
    if flt.sort.startswith("stage:"):
        result = aliased(StageResult)
        query = query.outerjoin(
            result,
            and_(
                result.application_id == Application.id,
                result.stage_id == int(flt.sort[6:]),
            ),
        )
        score = result.score.desc() if flt.descending else result.score.asc()
        return query.order_by(nulls_last(score), Application.id)
    if flt.sort == "name":
        query = query.join(User, User.id == Application.candidate_id)
    return query.order_by(*_column_order(flt))


def with_page_rows(query: Select[tuple[Application]]) -> Select[tuple[Application]]:
    """Load each row's candidate, stage and results with the page, not per row."""
    return query.options(
        joinedload(Application.candidate),
        joinedload(Application.current_stage),
        selectinload(Application.stage_results),
    )


def count_matches(opening_id: int, flt: RankingFilter) -> tuple[int, bool]:
    """Count the matches up to ``COUNT_CAP``; the flag is True when capped."""
    capped = (
        filtered_query(opening_id, flt)
        .with_only_columns(Application.id)
        .limit(COUNT_CAP + 1)
        .subquery()
    )
    total = db.session.scalar(select(func.count()).select_from(capped)) or 0
    return min(total, COUNT_CAP), total > COUNT_CAP


def _fetch(query: Select[tuple[Application]], offset: int, limit: int) -> list:
    page = with_page_rows(query).offset(offset).limit(limit)
    return list(db.session.scalars(page).unique())


def _stage_sorted_page(opening_id: int, flt: RankingFilter) -> list[Application]:
    """Fetch a page sorted by one stage's score, scored applications first.

    The scored part walks the stage-result index in score order, so the first
    page reads few rows. Applications without that score fill the rest.
    """
    stage_id = int(flt.sort[6:])
    result = aliased(StageResult)
    scored = filtered_query(opening_id, flt).join(
        result,
        and_(
            result.application_id == Application.id,
            result.stage_id == stage_id,
            result.score.is_not(None),
        ),
    )
    score = result.score.desc() if flt.descending else result.score.asc()
    rows = _fetch(
        scored.order_by(score, result.application_id), flt.offset, flt.per_page
    )
    if len(rows) == flt.per_page:
        return rows
    if rows:
        scored_total = flt.offset + len(rows)
    else:
        scored_total = (
            db.session.scalar(
                scored.with_only_columns(func.count(Application.id)).order_by(None)
            )
            or 0
        )
    missing = aliased(StageResult)
    unscored = filtered_query(opening_id, flt).where(
        ~exists().where(
            missing.application_id == Application.id,
            missing.stage_id == stage_id,
            missing.score.is_not(None),
        )
    )
    offset = max(0, flt.offset - scored_total)
    rows += _fetch(unscored.order_by(Application.id), offset, flt.per_page - len(rows))
    return rows


@dataclass
class RankingPage:
    rows: list[Application]
    total: int
    # True when more than ``total`` applications match: counting stopped there.
    total_capped: bool


def ranking_page(opening: Opening, flt: RankingFilter) -> RankingPage:
    """Return one page of the filtered, sorted ranking and the number of matches."""
    total, capped = count_matches(opening.id, flt)
    if flt.sort.startswith("stage:"):
        rows = _stage_sorted_page(opening.id, flt)
    else:
        rows = _fetch(ordered_query(opening.id, flt), flt.offset, flt.per_page)
    return RankingPage(rows, total, capped)


def stage_input(
    stage: Stage, result: StageResult | None, override: StageOverride | None
) -> StageInput:
    """Build the composite's input for one stage: a completed score or an override."""
    score = result.score if result is not None and result.complete else None
    failed = knocked_out(stage, result)
    # A screening of weight 0 is a verdict only: counted, its 100 would be the
    # composite of an application with no other score.
    if failed or (stage.kind == StageKind.SCREENING and stage.weight == 0):
        score = None
    waived = False
    if override is not None:
        if override.score is not None:
            score = override.score
        waived = override.waive_pass_mark
    return StageInput(
        stage.kind.value,
        stage.weight,
        stage.pass_mark,
        score,
        overridden=waived,
        failed=failed,
    )


def knocked_out(stage: Stage, result: StageResult | None) -> bool:
    """Tell whether a knock-out question failed the stage: a verdict, not a score.

    Screening results stored with a score of 0 for a failed knock-out count too.
    """
    return (
        stage.kind == StageKind.SCREENING
        and result is not None
        and result.complete
        and result.passed is False
    )


def overrides_for(application_ids: Iterable[int]) -> dict[tuple[int, int], Any]:
    """Overrides of the given applications, by (application id, stage id)."""
    ids = list(application_ids)
    if not ids:
        return {}
    rows = db.session.scalars(
        select(StageOverride).where(StageOverride.application_id.in_(ids))
    )
    return {(row.application_id, row.stage_id): row for row in rows}


def reached_position(application: Application, stages: list[Stage]) -> int | None:
    """Return the position of the furthest stage the application has reached.

    None means that every stage counts: a hired application, or one without a
    current stage. A stage after this position has not been reached, so its
    result does not count in the composite.
    """
    if application.status == ApplicationStatus.HIRED:
        return None
    if application.current_stage_id is None:
        return None
    for stage in stages:
        if stage.id == application.current_stage_id:
            return stage.position
    return application.current_stage.position


def refresh_composite(
    application: Application,
    stages: list[Stage],
    overrides: Mapping[tuple[int, int], StageOverride],
) -> None:
    """Recompute the composite and knock-out from stored stage results only.

    No attempt is read and no assessment is scored again, so a change of
    weights or pass marks re-ranks every application cheaply.
    """
    inputs = []
    reached = reached_position(application, stages)
    for stage in stages:
        result = application.result_for(stage)
        if reached is not None and stage.position > reached:
            result = None
        # The screening passes or fails on its knock-out questions, not a pass mark.
        if result is not None and stage.kind != StageKind.SCREENING:
            complete = result.complete and result.score is not None
            result.passed = result.score >= stage.pass_mark if complete else None
        override = overrides.get((application.id, stage.id))
        inputs.append(stage_input(stage, result, override))
    composite = composite_score(inputs)
    application.composite_score = composite.score
    application.knocked_out = composite.knocked_out


def rerank_opening(opening_id: int) -> int:
    """Recompute every application's composite of the opening; return how many."""
    opening = db.session.get(Opening, opening_id)
    if opening is None:
        log.warning("opening %s no longer exists; nothing to re-rank", opening_id)
        return 0
    stages = [stage for stage in opening.stages if stage.enabled]
    ids = list(
        db.session.scalars(
            select(Application.id)
            .where(Application.opening_id == opening_id)
            .order_by(Application.id)
        )
    )
    for start in range(0, len(ids), RERANK_BATCH):
        batch = ids[start : start + RERANK_BATCH]
        applications = db.session.scalars(
            select(Application)
            .where(Application.id.in_(batch))
            .options(selectinload(Application.stage_results))
        ).all()
        overrides = overrides_for(batch)
        for application in applications:
            refresh_composite(application, stages, overrides)
        db.session.commit()
    log.info("re-ranked %d applications of opening %s", len(ids), opening_id)
    return len(ids)


def refresh_languages(application: Application, details: Mapping[str, Any]) -> None:
    """Store each tested language's score and band for the ranking's filters."""
    existing = {
        row.language: row
        for row in db.session.scalars(
            select(ApplicationLanguage).where(
                ApplicationLanguage.application_id == application.id
            )
        )
    }
    for code, part in details.items():
        row = existing.get(code)
        if row is None:
            row = ApplicationLanguage(application_id=application.id, language=code)
            db.session.add(row)
        row.tested_score = part.get("score")
        row.tested_cefr = part.get("cefr")
