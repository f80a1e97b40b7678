"""Pages for importing candidates, personal API tokens and webhooks."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload

from app import db, utcnow
from recruit import audit
from recruit.auth import roles_required
from recruit.imports import (
    BACKGROUND_ROWS,
    import_candidates,
    queue_import,
    send_invitations,
)
from recruit.models import (
    ApiToken,
    CandidateImport,
    ImportStatus,
    Role,
    Webhook,
    WebhookDelivery,
)
from recruit.ranking_forms import ImportForm, SimpleActionForm, TokenForm, WebhookForm
from recruit.tokens import create_token, revoke_token
from recruit.webhooks import new_secret, queue_pending, receiver_problem

bp = Blueprint("integrations", __name__, url_prefix="/recruit")

STAFF = (Role.RECRUITER, Role.ADMIN)
# Import at most this many bytes of CSV at once.
MAX_IMPORT_BYTES = 5 * 1024 * 1024
# Seconds between reloads of the page of an import that is still running.
IMPORT_REFRESH_S = 3


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*STAFF)
def import_page() -> Any:
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        data = form.file.data.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            form.file.errors.append(_("The file is larger than 5 MB; split it."))
        else:
            invite = bool(form.send_invitations.data)
            if data.count(b"\n") > BACKGROUND_ROWS:
                job = queue_import(
                    data, form.file.data.filename or "", invite, current_user
                )
                return redirect(url_for(".import_status", import_id=job.id), code=303)
            report = import_candidates(data, current_user)
            if invite:
                send_invitations(report)
    return render_template(
        "recruit/import.html",
        form=form,
        job=None,
        imported=len(report.imported) if report else None,
        rejected=report.rejected if report else [],
        background_rows=BACKGROUND_ROWS,
    )


@bp.route("/import/<int:import_id>")
@roles_required(*STAFF)
def import_status(import_id: int) -> Any:
    """Show a background import: running, or done with its line-numbered report."""
    job = db.get_or_404(CandidateImport, import_id)
    if job.created_by_id != current_user.id and not current_user.has_role(Role.ADMIN):
        abort(404)
    done = job.status == ImportStatus.DONE
    return render_template(
        "recruit/import.html",
        form=ImportForm(),
        job=job,
        imported=job.imported if done else None,
        rejected=[tuple(pair) for pair in job.rejected] if done else [],
        refresh_s=IMPORT_REFRESH_S,
    )


# The session key that carries a new token from the POST to the page after the
# redirect. The session cookie is signed, not encrypted, so the token sits in
# the owner's own cookie until that page shows it once and removes it.
NEW_TOKEN_KEY = "new_api_token"  # noqa: S105 - a session key, not a secret


@bp.route("/tokens", methods=["GET", "POST"])
@roles_required(*STAFF)
def tokens() -> Any:
    default_days = current_app.config["API_TOKEN_DAYS"]
    form = TokenForm(days=default_days)
    if form.validate_on_submit():
        _row, token = create_token(
            current_user, form.name.data or "", int(form.days.data or default_days)
        )
        session[NEW_TOKEN_KEY] = token
        return redirect(url_for(".tokens"), code=303)
    rows = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == current_user.id)
        .order_by(ApiToken.created_at.desc())
    ).all()
    new_token = session.pop(NEW_TOKEN_KEY, None)
    response = make_response(
        render_template(
            "recruit/tokens.html",
            form=form,
            new_token=new_token,
            tokens=rows,
            now=utcnow(),
            revoke_form=SimpleActionForm(),
        )
    )
    if new_token is not None:
        # Keeps the page out of the browser's cache, so Back does not show it again.
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required(*STAFF)
def revoke(token_id: int) -> Any:
    row = db.get_or_404(ApiToken, token_id)
    if row.user_id != current_user.id and not current_user.has_role(Role.ADMIN):
        abort(404)  # another recruiter's token, as if it did not exist
    if SimpleActionForm().validate_on_submit():
        revoke_token(row, current_user)
        flash(_("Token revoked."), "success")
    return redirect(url_for(".tokens"))


@bp.route("/webhooks", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def webhooks() -> Any:
    form = WebhookForm()
    new_secret_value = None
    if form.validate_on_submit():
        url = (form.url.data or "").strip()
        problem = receiver_problem(url)
        if problem is not None:
            form.url.errors.append(problem)
        else:
            hook = Webhook(
                url=url,
                secret=new_secret(),
                events=list(form.events.data or []),
                created_by_id=current_user.id,
            )
            db.session.add(hook)
            db.session.flush()
            audit.record(
                "add_webhook",
                actor=current_user,
                after={"webhook_id": hook.id, "url": url, "events": hook.events},
            )
            db.session.commit()
            new_secret_value = hook.secret
    hooks = db.session.scalars(select(Webhook).order_by(Webhook.id)).all()
    deliveries = db.session.scalars(
        select(WebhookDelivery)
        .options(joinedload(WebhookDelivery.webhook))
        .order_by(WebhookDelivery.id.desc())
        .limit(20)
    ).all()
    return render_template(
        "recruit/webhooks.html",
        form=form,
        hooks=hooks,
        deliveries=deliveries,
        new_secret=new_secret_value,
        toggle_form=SimpleActionForm(),
    )


@bp.route("/webhooks/<int:webhook_id>/toggle", methods=["POST"])
@roles_required(Role.ADMIN)
def toggle_webhook(webhook_id: int) -> Any:
    hook = db.get_or_404(Webhook, webhook_id)
    if SimpleActionForm().validate_on_submit():
        hook.active = not hook.active
        if hook.active:
            queue_pending(hook)
        audit.record(
            "toggle_webhook",
            actor=current_user,
            after={"webhook_id": hook.id, "active": hook.active},
        )
        db.session.commit()
    return redirect(url_for(".webhooks"))


@bp.route("/webhooks/<int:webhook_id>/delete", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def delete_webhook(webhook_id: int) -> Any:
    """Ask to confirm, then delete a webhook together with its delivery log.

    The audit log keeps the URL, the events and the number of deliveries.
    """
    hook = db.get_or_404(Webhook, webhook_id)
    form = SimpleActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        deliveries = db.session.scalar(
            select(func.count()).where(WebhookDelivery.webhook_id == hook.id)
        )
        before = {
            "webhook_id": hook.id,
            "url": hook.url,
            "events": hook.events,
            "active": hook.active,
            "deliveries": deliveries,
        }
        db.session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
        )
        db.session.delete(hook)
        audit.record("delete_webhook", actor=current_user, before=before)
        db.session.commit()
        flash(_("Webhook deleted."), "success")
        return redirect(url_for(".webhooks"))
    return render_template("recruit/webhook_delete.html", hook=hook, form=form)
