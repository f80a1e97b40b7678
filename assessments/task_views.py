"""Candidate routes of the newer item types: choices, the typing test, the chat.

Every route checks that the attempt is the current candidate's (404 otherwise)
and that the item belongs to it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from app import db
from assessments.forms import ChatMessageForm, EndChatForm, TypingForm
from assessments.items import item_type
from assessments.items_keyed import FormItem
from assessments.models import (
    Attempt,
    Item,
    ItemSession,
    SimulationRun,
    SimulationStatus,
)
from assessments.services import AssessmentError, submit_text
from assessments.simulation import end_run, find_run, send_message, start_run
from assessments.typing_test import start_typing, submit_typing
from assessments.views import attempt_item, own_attempt, render_attempt

bp = Blueprint("tasks", __name__, url_prefix="/attempts")


@bp.app_template_global()
def typing_session(attempt_id: int, item_id: int) -> ItemSession | None:
    """Return the typing test's server clock for the item template."""
    return db.session.scalar(
        select(ItemSession).filter_by(attempt_id=attempt_id, item_id=item_id)
    )


@bp.app_template_global()
def typing_form_for(item: Item) -> TypingForm:
    return TypingForm(prefix=f"item{item.id}")


@bp.app_template_global()
def simulation_run(attempt_id: int, item_id: int) -> SimulationRun | None:
    """Return the item's simulated chat for the item template."""
    return db.session.scalar(
        select(SimulationRun).filter_by(attempt_id=attempt_id, item_id=item_id)
    )


def _item_url(attempt: Attempt, item: Item) -> str:
    return url_for("assess.attempt", attempt_id=attempt.id) + f"#item-{item.id}"


def _kind(item: Item, answer: str) -> Any:
    kind = item_type(item)
    if kind.answer != answer:
        abort(404)
    return kind


@bp.route("/<int:attempt_id>/items/<int:item_id>/choice", methods=["POST"])
@login_required
def answer_choice(attempt_id: int, item_id: int) -> Any:
    """Submit a choice, a ranking or questionnaire answers; they are final."""
    attempt = own_attempt(attempt_id)
    item = attempt_item(attempt, item_id)
    kind = _kind(item, "form")
    assert isinstance(kind, FormItem)
    try:
        text = kind.read_answer(item, request.form)
        submit_text(attempt, item, text)
    except ValueError as error:
        return _rejected(attempt, item, str(error))
    except AssessmentError as error:
        db.session.rollback()
        return _rejected(attempt, item, str(error), error.status_code)
    flash(_("Answer submitted."), "success")
    return redirect(_item_url(attempt, item))


def _rejected(attempt: Attempt, item: Item, message: str, status: int = 400) -> Any:
    """Show the attempt again with the error beside the item and the choices kept."""
    holder = {"errors": [message], "data": request.form}
    return render_attempt(attempt, (item, holder), status=status)


@bp.route("/<int:attempt_id>/items/<int:item_id>/typing/start", methods=["POST"])
@login_required
def typing_start(attempt_id: int, item_id: int) -> Any:
    attempt = own_attempt(attempt_id)
    item = attempt_item(attempt, item_id)
    _kind(item, "typing")
    start_typing(attempt, item)
    # The fragment names the typing box, not the item's section: Chromium moves
    # the focus to a focusable fragment target and clears it otherwise, which
    # undid the focus that typing.js gives the box while the clock already ran.
    typing_box = typing_form_for(item).typed.id
    return redirect(url_for("assess.attempt", attempt_id=attempt.id) + f"#{typing_box}")


@bp.route("/<int:attempt_id>/items/<int:item_id>/typing", methods=["POST"])
@login_required
def typing_submit(attempt_id: int, item_id: int) -> Any:
    attempt = own_attempt(attempt_id)
    item = attempt_item(attempt, item_id)
    _kind(item, "typing")
    form = TypingForm(prefix=f"item{item.id}")
    try:
        submit_typing(
            attempt, item, form.typed.data or "", form.measurements.data or ""
        )
    except AssessmentError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(_item_url(attempt, item))
    flash(_("Typing test submitted."), "success")
    return redirect(_item_url(attempt, item))


@bp.route("/<int:attempt_id>/items/<int:item_id>/chat", methods=["GET", "POST"])
@login_required
def chat(attempt_id: int, item_id: int) -> Any:
    """Show the chat (resumable after a reload) or send the agent's message."""
    attempt = own_attempt(attempt_id)
    item = attempt_item(attempt, item_id)
    _kind(item, "chat")
    run = find_run(attempt, item)
    form = ChatMessageForm()
    status = 200
    if request.method == "POST":
        if run is None:
            abort(404)
        if not form.validate():
            status = 400
        else:
            try:
                send_message(run, form.message.data or "")
            except AssessmentError as error:
                db.session.rollback()
                form.message.errors = [*form.message.errors, str(error)]
                status = error.status_code
            else:
                return redirect(
                    url_for(".chat", attempt_id=attempt_id, item_id=item_id)
                )
    html = render_template(
        "assessments/chat.html",
        attempt=attempt,
        item=item,
        run=run,
        form=form,
        end_form=EndChatForm(),
        scenario=_scenario(item),
        ended=run is not None and run.status == SimulationStatus.ENDED,
    )
    return html, status


def _scenario(item: Item) -> Any:
    from assessments.scenario import get_scenario

    return get_scenario(item.config["scenario"])


@bp.route("/<int:attempt_id>/items/<int:item_id>/chat/start", methods=["POST"])
@login_required
def chat_start(attempt_id: int, item_id: int) -> Any:
    attempt = own_attempt(attempt_id)
    item = attempt_item(attempt, item_id)
    _kind(item, "chat")
    start_run(attempt, item)
    return redirect(url_for(".chat", attempt_id=attempt_id, item_id=item_id))


@bp.route("/<int:attempt_id>/items/<int:item_id>/chat/end", methods=["POST"])
@login_required
def chat_end(attempt_id: int, item_id: int) -> Any:
    attempt = own_attempt(attempt_id)
    item = attempt_item(attempt, item_id)
    _kind(item, "chat")
    run = find_run(attempt, item)
    if run is None:
        abort(404)
    try:
        end_run(run)
    except AssessmentError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash(_("The chat has ended and is being assessed."), "success")
    return redirect(_item_url(attempt, item))
