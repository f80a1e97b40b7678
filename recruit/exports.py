"""CSV and JSON exports: the ranking, and each candidate's decision log."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased, joinedload, selectinload

from app import db
from assessments.models import Attempt, Response, Score
from recruit.models import (
    Application,
    AuditEvent,
    Opening,
    Stage,
    StageResult,
    User,
)
from recruit.ranking import RankingFilter, ordered_query

# Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXPORT_BATCH = 1000


def csv_cell(value: Any) -> Any:
    """Neutralise a text cell that a spreadsheet would read as a formula.

    Such a cell gets a leading apostrophe, which spreadsheets show as text.
    Numbers pass unchanged, so scores stay numeric.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_line(values: Sequence[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_cell(value) for value in values])
    return buffer.getvalue()


def ranking_header(stages: Sequence[Stage], languages: Sequence[str]) -> list[str]:
    header = [
        "rank",
        "application_id",
        "name",
        "email",
        "status",
        "stage",
        "composite",
        "knocked_out",
        "language_score",
        "cefr",
        "applied_at",
        "stage_entered_at",
    ]
    header += [f"stage_{stage.kind.value}" for stage in stages]
    for code in languages:
        header += [
            f"{code}_score",
            f"{code}_cefr",
            f"{code}_writing",
            f"{code}_speaking",
        ]
    return header


def _number(value: float | None) -> Any:
    return "" if value is None else value


def ranking_records(
    opening: Opening, flt: RankingFilter, limit: int | None = None
) -> Iterator[list[Any]]:
    """Yield the rows of the filtered, sorted ranking, in batches, as plain values.

    Reads columns rather than ORM objects, so 100,000 rows export in seconds.
    """
    stages = [stage for stage in opening.stages if stage.enabled]
    languages = list(opening.languages or [])
    ordered = ordered_query(opening.id, flt).with_only_columns(Application.id)
    if limit is not None:
        ordered = ordered.limit(limit)
    # One index-ordered query reads the ids. The columns are then read per batch
    # by id, because paging a joined, sorted query would sort it again per batch.
    ids = list(db.session.scalars(ordered))
    candidate = aliased(User)
    current = aliased(Stage)
    columns = (
        select(
            Application.id,
            candidate.name,
            candidate.email,
            Application.status,
            current.kind,
            Application.composite_score,
            Application.knocked_out,
            Application.language_score,
            Application.language_cefr,
            Application.created_at,
            Application.stage_entered_at,
        )
        .join(candidate, candidate.id == Application.candidate_id)
        .outerjoin(current, current.id == Application.current_stage_id)
    )
    for start in range(0, len(ids), EXPORT_BATCH):
        batch = ids[start : start + EXPORT_BATCH]
        rows = {
            row[0]: row
            for row in db.session.execute(columns.where(Application.id.in_(batch)))
        }
        results = _stage_results(batch)
        for rank, app_id in enumerate(batch, start=start + 1):
            row = rows.get(app_id)
            if row is not None:
                yield _record(rank, row, results.get(app_id, {}), stages, languages)


def _stage_results(application_ids: list[int]) -> dict[int, dict[int, Any]]:
    """Stage id -> (score, details) for each application id."""
    by_application: dict[int, dict[int, Any]] = {}
    if not application_ids:
        return by_application
    rows = db.session.execute(
        select(
            StageResult.application_id,
            StageResult.stage_id,
            StageResult.score,
            StageResult.details,
        ).where(StageResult.application_id.in_(application_ids))
    )
    for application_id, stage_id, score, details in rows:
        by_application.setdefault(application_id, {})[stage_id] = (score, details)
    return by_application


def _record(
    rank: int,
    row: Any,
    results: dict[int, Any],
    stages: Sequence[Stage],
    languages: Sequence[str],
) -> list[Any]:
    (app_id, name, email, status, kind, composite, knocked_out, language) = row[:8]
    cefr, applied_at, entered_at = row[8:]
    record: list[Any] = [
        rank,
        app_id,
        name,
        email,
        status.value,
        kind.value if kind is not None else "",
        _number(composite),
        "yes" if knocked_out else "no",
        _number(language),
        cefr or "",
        applied_at.isoformat(),
        entered_at.isoformat(),
    ]
    language_details: dict[str, Any] = {}
    for stage in stages:
        score, details = results.get(stage.id, (None, None))
        record.append(_number(score))
        if details:
            language_details.update(details)
    for code in languages:
        part = language_details.get(code) or {}
        record += [
            _number(part.get("score")),
            part.get("cefr") or "",
            _number(part.get("writing")),
            _number(part.get("speaking")),
        ]
    return record


def ranking_csv_rows(
    opening_id: int, flt: RankingFilter, *, limit: int | None = None, bom: bool = True
) -> Iterator[str]:
    """Yield the CSV lines of the filtered ranking; a BOM helps spreadsheets.

    The opening is loaded here, because a streamed response may run in a new
    session.
    """
    opening = db.session.get(Opening, opening_id)
    if opening is None:
        return
    stages = [stage for stage in opening.stages if stage.enabled]
    header = _csv_line(ranking_header(stages, list(opening.languages or [])))
    yield ("\ufeff" if bom else "") + header
    for record in ranking_records(opening, flt, limit):
        yield _csv_line(record)


def decision_log(user: User) -> dict[str, Any]:
    """Collect every automated score and human decision about ``user``, oldest first.

    Scores carry the scorer, its version and the inputs it read. Decisions
    carry their author and reason.
    """
    applications = db.session.scalars(
        select(Application)
        .where(Application.candidate_id == user.id)
        .options(joinedload(Application.opening))
        .order_by(Application.created_at)
    ).all()
    ids = [application.id for application in applications]
    scores = db.session.scalars(
        select(Score)
        .join(Response, Response.id == Score.response_id)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(Attempt.application_id.in_(ids))
        .options(
            selectinload(Score.response).joinedload(Response.item),
            selectinload(Score.response).joinedload(Response.attempt),
        )
        .order_by(Score.created_at, Score.id)
    ).all()
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.subject_user_id == user.id)
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ).all()
    entries = [_score_entry(score) for score in scores]
    entries += [_event_entry(event) for event in events]
    entries.sort(key=lambda entry: entry["at"])
    return {
        "candidate": {"id": user.id, "name": user.name, "email": user.email},
        "applications": [
            {
                "id": application.id,
                "opening": application.opening.title,
                "status": application.status.value,
                "composite": application.composite_score,
                "applied_at": application.created_at.isoformat(),
            }
            for application in applications
        ],
        "entries": entries,
    }


def _score_entry(score: Score) -> dict[str, Any]:
    response = score.response
    inputs: dict[str, Any] = {
        "item_id": response.item_id,
        "item_kind": response.item.kind,
        "prompt": response.item.prompt,
    }
    if response.text is not None:
        inputs["text"] = response.text
    if response.audio_key:
        inputs["audio_key"] = response.audio_key
    return {
        "at": score.created_at.isoformat(),
        "kind": "automated_score",
        "application_id": response.attempt.application_id,
        "author": f"{score.scorer} {score.scorer_version}",
        "scorer": score.scorer,
        "scorer_version": score.scorer_version,
        "score": score.score,
        "cefr": score.cefr,
        "subscores": score.subscores,
        "inputs": inputs,
        "evidence": score.evidence,
    }


def _event_entry(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": event.created_at.isoformat(),
        "kind": "human_decision" if event.actor_id else "system_change",
        "application_id": event.application_id,
        "action": event.action,
        "author": event.actor.email if event.actor else "system",
        "reason": event.reason,
        "before": event.before,
        "after": event.after,
    }


DECISION_LOG_COLUMNS = (
    "at",
    "kind",
    "application_id",
    "action",
    "author",
    "scorer",
    "scorer_version",
    "score",
    "cefr",
    "reason",
    "details",
)


def decision_log_csv(log: dict[str, Any]) -> str:
    """Write the decision log as CSV, one entry a row, with nested values as JSON."""
    import json

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(DECISION_LOG_COLUMNS)
    for entry in log["entries"]:
        details = {
            key: entry.get(key)
            for key in ("subscores", "inputs", "evidence", "before", "after")
            if key in entry
        }
        row = [entry.get(column, "") for column in DECISION_LOG_COLUMNS[:-1]]
        row.append(json.dumps(details, ensure_ascii=False, sort_keys=True))
        writer.writerow([csv_cell("" if v is None else v) for v in row])
    return buffer.getvalue()
