"""Recruiter pages: openings, the ranking, and each candidate's evidence."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, send_file
from sqlalchemy import func, select

from app import db
from assessments.models import Response
from assessments.storage import get_storage, mime_type_for
from recruit.auth import roles_required
from recruit.evidence import highlight_text, mark_transcript
from recruit.models import Application, Opening, Role
from recruit.services import enabled_stages, stage_attempts

bp = Blueprint("recruit", __name__, url_prefix="/recruit")

STAFF = (Role.RECRUITER, Role.ADMIN)


@bp.route("/openings")
@roles_required(*STAFF)
def openings() -> Any:
    counts = dict(
        db.session.execute(
            select(Application.opening_id, func.count()).group_by(
                Application.opening_id
            )
        ).all()
    )
    rows = db.session.scalars(select(Opening).order_by(Opening.created_at.desc())).all()
    return render_template("recruit/openings.html", openings=rows, counts=counts)


@bp.route("/openings/<int:opening_id>")
@roles_required(*STAFF)
def opening_ranking(opening_id: int) -> Any:
    from recruit.ranking_views import render_ranking

    return render_ranking(db.get_or_404(Opening, opening_id))


@bp.route("/applications/<int:application_id>")
@roles_required(*STAFF)
def application(application_id: int) -> Any:
    application = db.get_or_404(Application, application_id)
    stages = [
        (stage, application.result_for(stage), stage_attempts(application, stage))
        for stage in enabled_stages(application.opening)
    ]
    return render_template(
        "recruit/application.html",
        application=application,
        stages=stages,
        highlight_text=highlight_text,
        mark_transcript=mark_transcript,
    )


@bp.route("/responses/<int:response_id>/audio")
@roles_required(*STAFF)
def response_audio(response_id: int) -> Any:
    response = db.get_or_404(Response, response_id)
    if not response.audio_key:
        abort(404)
    storage = get_storage()
    if not storage.exists(response.audio_key):
        abort(404)
    mime_type = mime_type_for(response.audio_key)
    reply = send_file(
        storage.path(response.audio_key),
        mimetype=mime_type or "application/octet-stream",
        as_attachment=mime_type is None,
        download_name=f"response-{response.id}.{response.audio_key.rsplit('.', 1)[-1]}",
        conditional=True,
        max_age=0,
    )
    reply.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return reply
