"""Accounts: log in and out, candidate sign-up, and role checks for views."""

from __future__ import annotations

import functools
import logging
import re
import time
import unicodedata
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import (
    current_user,
    login_required,
    login_user,
    logout_user,
    user_logged_in,
)
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app import db, login_manager, utcnow
from recruit.forms import LoginForm, RegisterForm
from recruit.models import LoginFailure, Role, User

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)
audit = logging.getLogger("frontline.audit")

login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to continue."

F = TypeVar("F", bound=Callable[..., Any])


@login_manager.unauthorized_handler
def unauthorized() -> Any:
    """Send a page to the login form, and a script's request a 401 in JSON."""
    expired = g.get("session_expired", False)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(
            error=_("Your session has ended. Log in again."),
            session_expired=expired,
            login_url=url_for("auth.login", next=_page_to_return_to()),
        ), 401
    if expired:
        flash(
            _(
                "Your session has ended. Log in again to continue; "
                "your saved answers are kept."
            ),
            "info",
        )
    else:
        flash(_("Log in to continue."), "info")
    return redirect(url_for("auth.login", next=_page_to_return_to()))


def _page_to_return_to() -> str | None:
    """Return the page to open after logging in: this one, or a form post's page.

    A POST-only URL cannot be opened after the login, so a post returns to the
    page on this site that sent it (its Referer), or to the role's home page.
    """
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host:
        return None
    path = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return _safe_next(path)


# Session keys of the login's start and its last request, in seconds since the epoch.
LOGIN_STARTED = "login_started"
LAST_SEEN = "last_seen"


@user_logged_in.connect
def _start_session_clock(app: Any, user: User, **extra: Any) -> None:
    now = time.time()
    session.permanent = True
    session[LOGIN_STARTED] = now
    session[LAST_SEEN] = now


@bp.before_app_request
def expire_session() -> None:
    """Log out a session idle for too long or older than its lifetime.

    Runs after the CSRF check, which still finds the session's token, so a form
    posted after expiry reaches the login redirect instead of a CSRF error.
    """
    # Static files and the health check are no activity of the user.
    if "_user_id" not in session or request.endpoint in ("static", "healthz"):
        return
    now = time.time()
    started = session.get(LOGIN_STARTED)
    seen = session.get(LAST_SEEN)
    idle_limit = current_app.config["SESSION_IDLE_MINUTES"] * 60
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if (
        not isinstance(started, int | float)
        or not isinstance(seen, int | float)
        or now - seen > idle_limit
        or now - started > lifetime
    ):
        audit.info("session expired: user=%s", session.get("_user_id"))
        logout_user()
        session.pop(LOGIN_STARTED, None)
        session.pop(LAST_SEEN, None)
        g.session_expired = True
        return
    session[LAST_SEEN] = now


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Load the user of a session id ``"USER_ID:SESSION_VERSION"``.

    A session of an older version, ended by a logout or a new password, loads
    no user, so its request is treated as anonymous.
    """
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version):
        return None
    return user


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Allow a view only to logged-in users with one of ``roles`` (403 otherwise)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def find_user(email: str) -> User | None:
    return db.session.scalar(
        select(User).where(func.lower(User.email) == email.lower())
    )


# Characters that reorder or hide text, and control characters: a name has no
# use for them, and a right-to-left override would let "evil" display as "live".
_NAME_NOISE = re.compile(
    "[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff\x00-\x1f\x7f-\x9f]"
)


def clean_name(name: str) -> str:
    """Return ``name`` in NFC without control and reordering characters."""
    return " ".join(_NAME_NOISE.sub("", unicodedata.normalize("NFC", name)).split())


def create_user(
    email: str, name: str, password: str, role: Role, *, demo: bool = False
) -> User:
    """Create an account; the email must not be taken (compared case-insensitively).

    ``demo`` marks an account of the demo data, which gets no email. Raises
    ValueError for a taken email or a name with nothing printable.
    """
    email = email.strip().lower()
    if find_user(email):
        raise ValueError(f"an account with the email {email} already exists")
    name = clean_name(name)
    if not name:
        raise ValueError("the name is empty once control characters are removed")
    user = User(email=email, name=name, role=role, demo=demo)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    audit.info("user created: id=%s role=%s", user.id, role.value)
    return user


def _safe_next(target: str | None) -> str | None:
    """Accept only a path on this site as the place to go after logging in."""
    if not target:
        return None
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
    ):
        return None
    return target


# Failed log-ins allowed per (email, client address) pair, and per client
# address across all emails, within the window. The email limit is not global,
# so that failures from one address cannot lock the account's owner out.
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 10
MAX_FAILURES_PER_ADDRESS = 50


def login_blocked(email: str, ip_address: str) -> bool:
    """Return whether this address failed too often, for this email or in all."""
    since = utcnow() - LOGIN_WINDOW
    by_pair = db.session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(
            LoginFailure.email == email,
            LoginFailure.ip_address == ip_address,
            LoginFailure.at >= since,
        )
    )
    by_address = db.session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.ip_address == ip_address, LoginFailure.at >= since)
    )
    return (by_pair or 0) >= MAX_FAILURES_PER_EMAIL or (
        by_address or 0
    ) >= MAX_FAILURES_PER_ADDRESS


def record_login_failure(email: str, ip_address: str) -> None:
    """Store a failed log-in and forget those older than the window."""
    db.session.add(LoginFailure(email=email, ip_address=ip_address))
    db.session.execute(
        delete(LoginFailure).where(LoginFailure.at < utcnow() - LOGIN_WINDOW)
    )
    db.session.commit()


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("public.home"))
    form = LoginForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()[:254]
        address = (request.remote_addr or "unknown")[:64]
        if login_blocked(email, address):
            audit.warning("login blocked for %s from %s", email, address)
            form.password.errors.append(
                _("Too many failed log-ins. Wait 15 minutes, then try again.")
            )
            return render_template("auth/login.html", form=form), 429
        user = find_user(email)
        if user is None or not user.check_password(form.password.data or ""):
            record_login_failure(email, address)
            audit.info("login failed for %s from %s", email, address)
            form.password.errors.append(_("The email or password is not correct."))
        elif not user.is_active:
            form.email.errors.append(_("This account is disabled."))
        else:
            db.session.execute(
                delete(LoginFailure).where(
                    LoginFailure.email == email, LoginFailure.ip_address == address
                )
            )
            db.session.commit()
            login_user(user)
            audit.info("login: user=%s from %s", user.id, address)
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    audit.info("logout: user=%s", current_user.id)
    current_user.end_sessions()
    db.session.commit()
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("public.home"))


@bp.route("/register", methods=["GET", "POST"])
def register() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("public.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                form.email.data or "",
                form.name.data or "",
                form.password.data or "",
                Role.CANDIDATE,
            )
        except (ValueError, IntegrityError):
            db.session.rollback()
            form.email.errors.append(_("An account with this email already exists."))
        else:
            login_user(user)
            flash(
                _("Welcome, %(name)s. Your account is ready.", name=user.name),
                "success",
            )
            return redirect(
                _safe_next(request.args.get("next")) or url_for("public.home")
            )
    return render_template("auth/register.html", form=form)


def home_for(user: User) -> str:
    """The first page each role sees after logging in."""
    if user.has_role(Role.RECRUITER, Role.ADMIN):
        return url_for("recruit.openings")
    if user.has_role(Role.CANDIDATE):
        return url_for("public.my_applications")
    return url_for("public.home")
