"""Invitations of imported candidates: a signed link to set a password."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from wtforms import PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from app import db
from recruit.models import Application, User
from recruit.notifications import notify

bp = Blueprint("invitations", __name__)
log = logging.getLogger(__name__)

INVITATION_DAYS = 14


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(min=10, max=200)],
        description=_l("At least 10 characters."),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("Passwords differ.")),
        ],
    )
    submit = SubmitField(_l("Set password"))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="invitation")


def invitation_token(user: User) -> str:
    # The end of the password hash makes the link single-use: setting a
    # password changes the hash, and the old link no longer verifies.
    return _serializer().dumps({"user": user.id, "hash": user.password_hash[-16:]})


def send_invitation(application: Application | None) -> None:
    """Add the invitation email of an imported application; sent after the commit."""
    if application is None:
        return
    user = application.candidate
    link = current_app.config["BASE_URL"].rstrip("/") + url_for(
        "invitations.accept", token=invitation_token(user)
    )
    notify(
        f"invitation:{application.id}",
        "invitation",
        user,
        {"opening": application.opening.title, "link": link, "days": INVITATION_DAYS},
    )


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept(token: str) -> Any:
    try:
        data = _serializer().loads(token, max_age=INVITATION_DAYS * 86400)
    except SignatureExpired:
        abort(410, _("This invitation has expired. Ask the recruiter for a new one."))
    except BadSignature:
        abort(404)
    user = db.session.get(User, data.get("user"))
    if user is None or user.password_hash[-16:] != data.get("hash"):
        abort(410, _("This invitation was already used. Log in with your password."))
    form = SetPasswordForm()
    if form.validate_on_submit():
        user.set_password(form.password.data or "")
        db.session.commit()
        login_user(user)
        log.info("user %s accepted an invitation", user.id)
        return redirect(url_for("public.my_applications"))
    return render_template("recruit/invitation.html", form=form, user=user)
