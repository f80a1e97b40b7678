"""The candidate's test flow: answers, autosave, recordings and progress."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import db
from assessments.deadlines import close_expired
from assessments.forms import AudioAnswerForm, TextAnswerForm
from assessments.items import item_type
from assessments.models import Attempt, Item, Response, ResponseStatus
from assessments.services import (
    AlreadySubmitted,
    AnswerInvalid,
    AssessmentError,
    TimeUp,
    deadline,
    max_recording_s,
    save_draft,
    submit_audio,
    submit_text,
    time_is_up,
)

bp = Blueprint("assess", __name__, url_prefix="/attempts")
bp.add_app_template_global(max_recording_s)

WAITING = (ResponseStatus.SUBMITTED, ResponseStatus.PROCESSING)


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def own_attempt(attempt_id: int) -> Attempt:
    """Return the current candidate's attempt; any other is a 404, for every role.

    An attempt whose time is up is closed first, so its drafts are submitted.
    """
    attempt = db.get_or_404(Attempt, attempt_id)
    if attempt.application.candidate_id != current_user.id:
        abort(404)
    close_expired(attempt)
    return attempt


def attempt_item(attempt: Attempt, item_id: int) -> Item:
    item = db.get_or_404(Item, item_id)
    if item.assessment_id != attempt.assessment_id:
        abort(404)
    return item


def response_state(response: Response | None) -> dict[str, Any]:
    """What the candidate may see of an answer: its status, never its score."""
    if response is None:
        return {"status": "unanswered"}
    state: dict[str, Any] = {
        "id": response.id,
        "status": response.status.value,
        "late": response.late,
    }
    if response.status == ResponseStatus.FAILED:
        state["error"] = response.error
    return state


def text_form(item: Item, response: Response | None) -> TextAnswerForm:
    form = TextAnswerForm(prefix=f"item{item.id}")
    if not form.is_submitted() and response is not None:
        form.answer.data = response.text
    return form


def render_attempt(
    attempt: Attempt, rejected: tuple[Item, Any] | None = None, status: int = 200
) -> Any:
    """Render the attempt; ``rejected`` keeps the form of a rejected submission."""
    rows = []
    for item in attempt.assessment.items:
        response = attempt.response_for(item)
        kind = item_type(item)
        if rejected is not None and rejected[0].id == item.id:
            form = rejected[1]
        elif kind.answer == "text":
            form = text_form(item, response)
        elif kind.answer == "audio":
            form = AudioAnswerForm(prefix=f"item{item.id}")
        else:  # the item's template builds its own form
            form = None
        rows.append((item, kind, response, form))
    waiting = any(r is not None and r.status in WAITING for _i, _k, r, _f in rows)
    html = render_template(
        "assessments/attempt.html",
        attempt=attempt,
        rows=rows,
        waiting=waiting,
        deadline=deadline(attempt),
        time_up=time_is_up(attempt),
    )
    return html, status


@bp.route("/<int:attempt_id>")
@login_required
def attempt(attempt_id: int) -> Any:
    return render_attempt(own_attempt(attempt_id))


@bp.route("/<int:attempt_id>/status")
@login_required
def status(attempt_id: int) -> Any:
    attempt = own_attempt(attempt_id)
    states = {
        str(item.id): response_state(attempt.response_for(item))
        for item in attempt.assessment.items
    }
    return jsonify(attempt=attempt.status.value, items=states)


@bp.route("/<int:attempt_id>/items/<int:item_id>/text", methods=["POST"])
@login_required
def answer_text(attempt_id: int, item_id: int) -> Any:
    """Autosave a draft, or submit it when the form's submit button was pressed."""
    attempt = own_attempt(attempt_id)
    item = attempt_item(attempt, item_id)
    if item_type(item).answer != "text":
        return _error(
            attempt, AnswerInvalid(_("This task takes a recording, not text."))
        )
    form = TextAnswerForm(prefix=f"item{item.id}")
    final = bool(form.submit.data)
    try:
        text = form.answer.data or ""
        response = (
            submit_text(attempt, item, text)
            if final
            else save_draft(attempt, item, text)
        )
    except AssessmentError as error:
        db.session.rollback()
        return _error(attempt, error, (item, form))
    if wants_json():
        return jsonify(response_state(response))
    flash(_("Answer submitted.") if final else _("Draft saved."), "success")
    return redirect(url_for(".attempt", attempt_id=attempt.id) + f"#item-{item.id}")


@bp.route("/<int:attempt_id>/items/<int:item_id>/audio", methods=["POST"])
@login_required
def answer_audio(attempt_id: int, item_id: int) -> Any:
    """Store a recording sent as a multipart file part named ``audio``.

    The recorder sends the part unprefixed with its CSRF token in a header; the
    upload form sends it with the item's prefix and the token as a field.
    """
    attempt = own_attempt(attempt_id)
    item = attempt_item(attempt, item_id)
    prefix = "" if "audio" in request.files else f"item{item.id}"
    form = AudioAnswerForm(prefix=prefix)
    if not form.validate():
        return _error(attempt, AnswerInvalid(_("Choose an audio file to upload.")))
    upload = form.audio.data
    try:
        response = submit_audio(
            attempt, item, upload.stream, upload.filename, upload.mimetype
        )
    except AssessmentError as error:
        db.session.rollback()
        return _error(attempt, error)
    if wants_json():
        return jsonify(response_state(response)), 201
    flash(_("Recording received. It is being scored."), "success")
    return redirect(url_for(".attempt", attempt_id=attempt.id) + f"#item-{item.id}")


def _error(
    attempt: Attempt, error: AssessmentError, rejected: tuple[Item, Any] | None = None
) -> Any:
    """Report a rejected answer; the page keeps whatever text was sent."""
    if wants_json():
        return jsonify(error=str(error)), error.status_code
    # A submitted answer shows no form, so its error goes to the top of the page.
    if rejected is not None and not isinstance(error, AlreadySubmitted | TimeUp):
        form = rejected[1]
        form.answer.errors = [*form.answer.errors, str(error)]
        return render_attempt(attempt, rejected, status=error.status_code)
    flash(str(error), "error")
    return redirect(url_for(".attempt", attempt_id=attempt.id))
