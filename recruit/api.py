"""JSON API for applicant-tracking systems: openings, ranked applications, changes.

Every request needs ``Authorization: Bearer <token>`` with a recruiter's or an
admin's personal token. Lists are paginated with ``page`` and ``per_page`` (at
most 200); stage changes use the ``after`` cursor instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, g, jsonify, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app import bounded_int, db
from recruit.models import Application, Opening, Stage, StageTransition
from recruit.ranking import (
    MAX_PAGE,
    RankingFilter,
    filtered_query,
    parse_filter,
    rank_order,
    ranking_page,
)
from recruit.tasks import transition_payload
from recruit.tokens import authenticate

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_PER_PAGE = 200


def api_error(status: int, message: str) -> Any:
    response = jsonify(error=message)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="frontline"'
    return response


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let a request through only with a valid recruiter or admin token."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return api_error(401, "missing bearer token")
        user = authenticate(token.strip())
        if user is None:
            return api_error(401, "invalid, expired or revoked token")
        g.api_user = user
        return view(*args, **kwargs)

    return wrapped


def _page_args() -> tuple[int, int]:
    page = min(max(1, request.args.get("page", 1, type=bounded_int) or 1), MAX_PAGE)
    per_page = request.args.get("per_page", 50, type=bounded_int) or 50
    return page, min(max(1, per_page), MAX_PER_PAGE)


def _stage_json(stage: Stage) -> dict[str, Any]:
    return {
        "id": stage.id,
        "kind": stage.kind.value,
        "name": stage.name,
        "position": stage.position,
        "weight": stage.weight,
        "pass_mark": stage.pass_mark,
        "enabled": stage.enabled,
    }


def _opening_json(opening: Opening, count: int) -> dict[str, Any]:
    return {
        "id": opening.id,
        "title": opening.title,
        "location": opening.location,
        "languages": opening.languages,
        "is_open": opening.is_open,
        "created_at": opening.created_at.isoformat(),
        "applications": count,
        "stages": [_stage_json(stage) for stage in opening.stages],
    }


@bp.route("/openings")
@token_required
def openings() -> Any:
    page, per_page = _page_args()
    total = db.session.scalar(select(func.count(Opening.id))) or 0
    rows = db.session.scalars(
        select(Opening)
        .options(joinedload(Opening.stages))
        .order_by(Opening.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).unique()
    rows = list(rows)
    counts = dict(
        db.session.execute(
            select(Application.opening_id, func.count())
            .where(Application.opening_id.in_([o.id for o in rows]))
            .group_by(Application.opening_id)
        ).all()
    )
    return jsonify(
        items=[_opening_json(o, counts.get(o.id, 0)) for o in rows],
        **_pagination("api.openings", page, per_page, total),
    )


def _pagination(endpoint: str, page: int, per_page: int, total: int, **values: Any):
    more = page * per_page < total
    return {
        "page": page,
        "per_page": per_page,
        "total": total,
        "next": url_for(endpoint, page=page + 1, per_page=per_page, **values)
        if more
        else None,
    }


@bp.route("/openings/<int:opening_id>")
@token_required
def opening(opening_id: int) -> Any:
    row = db.session.get(Opening, opening_id)
    if row is None:
        return api_error(404, f"opening {opening_id} not found")
    count = db.session.scalar(
        select(func.count(Application.id)).where(Application.opening_id == row.id)
    )
    return jsonify(_opening_json(row, count or 0))


def application_json(
    application: Application, stages: list[Stage], rank: int | None = None
) -> dict[str, Any]:
    """Serialise an application with its stage scores and sub-scores."""
    stage = application.current_stage
    results = []
    for each in stages:
        result = application.result_for(each)
        results.append(
            {
                "stage": each.kind.value,
                "score": result.score if result else None,
                "complete": result.complete if result else False,
                "passed": result.passed if result else None,
                "needs_review": result.needs_review if result else False,
                "details": result.details if result else {},
            }
        )
    return {
        "id": application.id,
        "rank": rank,
        "opening_id": application.opening_id,
        "candidate": {
            "id": application.candidate_id,
            "name": application.candidate.name,
            "email": application.candidate.email,
        },
        "status": application.status.value,
        "stage": stage.kind.value if stage is not None else None,
        "composite_score": application.composite_score,
        "knocked_out": application.knocked_out,
        "language_score": application.language_score,
        "language_cefr": application.language_cefr,
        "needs_review": application.needs_review,
        "applied_at": application.created_at.isoformat(),
        "stage_entered_at": application.stage_entered_at.isoformat(),
        "stages": results,
    }


@bp.route("/openings/<int:opening_id>/applications")
@token_required
def opening_applications(opening_id: int) -> Any:
    """Return a page of an opening's ranking; takes the ranking page's filters."""
    row = db.session.get(Opening, opening_id)
    if row is None:
        return api_error(404, f"opening {opening_id} not found")
    stages = [stage for stage in row.stages if stage.enabled]
    page, per_page = _page_args()
    flt = parse_filter(request.args, stages)
    # The API pages with its own page and per_page arguments.
    flt.errors.pop("per_page", None)
    if flt.errors:
        message = "invalid filter: " + " ".join(flt.errors.values())
        return jsonify(error=message, fields=flt.errors), 400
    flt.page, flt.per_page = page, per_page
    result = ranking_page(row, flt)
    items = [
        application_json(application, stages, flt.offset + index)
        for index, application in enumerate(result.rows, start=1)
    ]
    pagination = _pagination(
        "api.opening_applications", page, per_page, result.total, opening_id=row.id
    )
    if result.total_capped and len(result.rows) == per_page:
        pagination["next"] = url_for(
            "api.opening_applications",
            opening_id=row.id,
            page=page + 1,
            per_page=per_page,
        )
    # When capped, "total" is a lower bound: counting stops at COUNT_CAP.
    return jsonify(items=items, total_capped=result.total_capped, **pagination)


@bp.route("/applications/<int:application_id>")
@token_required
def application(application_id: int) -> Any:
    row = db.session.get(Application, application_id)
    if row is None:
        return api_error(404, f"application {application_id} not found")
    stages = [stage for stage in row.opening.stages if stage.enabled]
    return jsonify(application_json(row, stages, _rank_in_opening(row)))


def _rank_in_opening(application: Application) -> int | None:
    """Return the application's place in its opening's unfiltered ranking.

    This is the rank that the opening's list gives it without filters, sorted
    by rank.
    """
    ranked = (
        filtered_query(application.opening_id, RankingFilter())
        .with_only_columns(
            Application.id.label("id"),
            func.row_number().over(order_by=rank_order()).label("rank"),
        )
        .subquery()
    )
    return db.session.scalar(select(ranked.c.rank).where(ranked.c.id == application.id))


@bp.route("/stage-changes")
@token_required
def stage_changes() -> Any:
    """Stage and status changes in order; pass the last ``id`` seen as ``after``."""
    after = request.args.get("after", 0, type=bounded_int) or 0
    _page, per_page = _page_args()
    query = (
        select(StageTransition)
        .where(StageTransition.id > after)
        .options(
            joinedload(StageTransition.application).joinedload(Application.candidate),
            joinedload(StageTransition.from_stage),
            joinedload(StageTransition.to_stage),
        )
        .order_by(StageTransition.id)
        .limit(per_page)
    )
    opening_id = request.args.get("opening_id", type=bounded_int)
    if opening_id:
        query = query.where(StageTransition.opening_id == opening_id)
    rows = db.session.scalars(query).all()
    items = [transition_payload(row) for row in rows]
    last = rows[-1].id if rows else after
    return jsonify(
        items=items,
        after=after,
        next=url_for(".stage_changes", after=last, per_page=per_page)
        if len(rows) == per_page
        else None,
    )
