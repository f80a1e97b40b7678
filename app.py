"""The application factory: configuration, extensions, blueprints, Celery, CLI."""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import secrets
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from celery import Celery, Task
from flask import Flask, Request
from flask.cli import FlaskGroup, with_appcontext
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import DateTime, Enum, MetaData, TypeDecorator, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import (
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import DeclarativeBase
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.routing import IntegerConverter, Map
from werkzeug.utils import cached_property

from scoring.impact import MIN_SHOWN

ROOT = Path(__file__).resolve().parent

# Named constraints let Alembic alter and drop them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always loaded as an aware datetime.

    SQLite keeps no time zone, so without this a value would come back naive
    there and aware from PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _render_migration_item(kind: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write ``UTCDateTime`` columns into migrations as timezone-aware DateTime."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def enum_type(kind: type[enum.StrEnum], name: str) -> Enum:
    """Store a StrEnum by value in a VARCHAR with a named CHECK constraint."""
    return Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        values_callable=lambda members: [member.value for member in members],
        length=20,
    )


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()

log = logging.getLogger(__name__)

TRUE_WORDS = {"1", "true", "yes", "on"}

# Errors of a database that cannot be reached or dropped the connection. A
# request that meets one gets a 503, and a task retries later.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, DisconnectionError, InterfaceError)
# Celery task options for tasks without a retry of their own: a task that
# meets a database outage runs again after a random delay of up to 2, 4, 8 ...
# s (at most 5 min) instead of being lost.
RETRY_ON_DATABASE_OUTAGE: dict[str, Any] = {
    "autoretry_for": DATABASE_UNAVAILABLE_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "max_retries": 8,
}
# Seconds that a 503 response asks the client to wait (Retry-After).
RETRY_AFTER_S = 10
# Seconds to wait for a new PostgreSQL connection before the request fails.
DATABASE_CONNECT_TIMEOUT_S = 10

# Environment variable -> (config key, parser). Each switches one part for scale.
ENVIRONMENT_SETTINGS: dict[str, tuple[str, Any]] = {
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "FRONTLINE_UPLOAD_DIR": ("UPLOAD_DIR", str),
    "FRONTLINE_GRAMMAR_BACKEND": ("GRAMMAR_BACKEND", str),
    "LANGUAGETOOL_URL": ("LANGUAGETOOL_URL", str),
    "FRONTLINE_WHISPER_MODEL": ("WHISPER_MODEL", str),
    "FRONTLINE_WHISPER_COMPUTE_TYPE": ("WHISPER_COMPUTE_TYPE", str),
    "FRONTLINE_MAX_UPLOAD_MB": ("MAX_UPLOAD_MB", float),
    "FRONTLINE_MAX_AUDIO_SECONDS": ("MAX_AUDIO_SECONDS", float),
    "FRONTLINE_SECRET_KEY": ("SECRET_KEY", str),
    "FRONTLINE_LOG_LEVEL": ("LOG_LEVEL", str),
    "FRONTLINE_SESSION_IDLE_MINUTES": ("SESSION_IDLE_MINUTES", float),
    "FRONTLINE_SESSION_LIFETIME_HOURS": (
        "PERMANENT_SESSION_LIFETIME",
        lambda v: timedelta(hours=float(v)),
    ),
    "FRONTLINE_BASE_URL": ("BASE_URL", str),
    "FRONTLINE_MAIL_FROM": ("MAIL_FROM", str),
    "FRONTLINE_SMTP_HOST": ("SMTP_HOST", str),
    "FRONTLINE_SMTP_PORT": ("SMTP_PORT", int),
    "FRONTLINE_SMTP_USERNAME": ("SMTP_USERNAME", str),
    "FRONTLINE_SMTP_PASSWORD": ("SMTP_PASSWORD", str),
    "FRONTLINE_SMTP_STARTTLS": ("SMTP_STARTTLS", lambda v: v.lower() in TRUE_WORDS),
    "FRONTLINE_SMTP_SSL": ("SMTP_SSL", lambda v: v.lower() in TRUE_WORDS),
    "FRONTLINE_WEBHOOK_ALLOW_PRIVATE": (
        "WEBHOOK_ALLOW_PRIVATE",
        lambda v: v.lower() in TRUE_WORDS,
    ),
}


# The largest value of a BIGINT column. A larger id or page number in a URL
# cannot match a row, and the database drivers raise on it instead.
MAX_DATABASE_INT = 2**63 - 1


def bounded_int(value: str) -> int:
    """Parse a query argument as an int a database column can hold.

    Raises ValueError otherwise, so ``request.args.get(name, type=bounded_int)``
    returns the default for it.
    """
    number = int(value)
    if abs(number) > MAX_DATABASE_INT:
        raise ValueError(f"{value[:24]!r} is outside the range of a database integer")
    return number


class BoundedIntegerConverter(IntegerConverter):
    """The ``int`` URL converter, limited to ids a database column can hold."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", MAX_DATABASE_INT)
        super().__init__(map, *args, **kwargs)


def _without_nul(values: MultiDict[str, str]) -> ImmutableMultiDict[str, str]:
    return ImmutableMultiDict(
        (key.replace("\x00", ""), value.replace("\x00", ""))
        for key, value in values.items(multi=True)
    )


class FrontlineRequest(Request):
    """A request whose form fields and query arguments contain no NUL characters.

    No text typed into a page has a use for NUL, and PostgreSQL rejects it in
    text columns, so one NUL in any field would otherwise end in a 500.
    Uploaded files are left as they are.
    """

    @cached_property
    def args(self) -> MultiDict[str, str]:  # type: ignore[override]
        return _without_nul(super().args)

    def _load_form_data(self) -> None:
        if "form" in self.__dict__:
            return
        super()._load_form_data()
        self.__dict__["form"] = _without_nul(self.__dict__["form"])


def create_app(
    test_config: dict[str, Any] | None = None, instance_path: str | None = None
) -> Flask:
    """Build the Flask application with its extensions, blueprints and Celery."""
    instance_path = instance_path or os.environ.get("FRONTLINE_INSTANCE_DIR")
    app = Flask(
        __name__,
        instance_path=instance_path or str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.request_class = FrontlineRequest
    app.url_map.converters["int"] = BoundedIntegerConverter
    os.makedirs(app.instance_path, exist_ok=True)
    load_config(app, test_config)
    logging.basicConfig(
        level=app.config["LOG_LEVEL"],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(ROOT / "migrations"),
        render_as_batch=True,
        render_item=_render_migration_item,
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    celery_init_app(app)

    from assessments import cli as assessment_cli
    from assessments import task_views
    from assessments import views as assessment_views
    from courses import admin as course_admin
    from courses import cli as course_cli
    from courses import views as course_views
    from recruit import auth, interview, public, screening_views, views
    from recruit import cli as recruit_cli
    from recruit.blueprints import register_ranking
    from recruit.services import connect_signals

    app.register_blueprint(auth.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(screening_views.bp)
    app.register_blueprint(interview.bp)
    register_ranking(app)
    app.register_blueprint(assessment_views.bp)
    app.register_blueprint(task_views.bp)
    app.register_blueprint(course_views.bp)
    app.register_blueprint(course_admin.bp)
    recruit_cli.register(app)
    assessment_cli.register(app)
    course_cli.register(app)
    app.cli.add_command(serve_command)
    app.cli.add_command(worker_command)
    connect_signals()
    connect_hiring_to_onboarding()
    register_web_hooks(app)

    import assessments.tasks  # noqa: F401  (registers the Celery tasks)
    import courses.tasks  # noqa: F401
    import recruit.events  # noqa: F401  (records the pipeline's history)
    import recruit.tasks  # noqa: F401

    return app


def connect_hiring_to_onboarding() -> None:
    """Enrol each new hire in the onboarding courses of the opening they joined.

    The hiring pipeline and the courses know nothing of each other; this is
    where the application joins them. Connecting twice keeps one receiver.
    """
    from recruit.decisions import application_hired

    application_hired.connect(_enrol_new_hire, weak=False)


def _enrol_new_hire(application: Any) -> None:
    from courses.services import enrol_on_hire

    enrol_on_hire(application.candidate_id, application.opening_id)


def load_config(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Apply defaults, then ``instance/config.py``, then environment, then overrides."""
    instance = Path(app.instance_path)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'frontline.sqlite'}",
        UPLOAD_DIR=str(instance / "uploads"),
        GRAMMAR_BACKEND="harper",
        LANGUAGETOOL_URL=None,
        WHISPER_MODEL=None,
        WHISPER_COMPUTE_TYPE="int8",
        MAX_UPLOAD_MB=25.0,
        MAX_AUDIO_SECONDS=300.0,
        MAX_TEXT_CHARS=20_000,
        # The fairness report withholds the outcomes of smaller categories.
        FAIRNESS_MIN_SHOWN=MIN_SHOWN,
        MAX_QUESTION_FILE_MB=10.0,
        LOG_LEVEL="INFO",
        BASE_URL="http://127.0.0.1:5000",
        LANGUAGES=["en"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # A login ends after this long without a request, and after the
        # lifetime whatever the activity (see recruit/auth.py).
        SESSION_IDLE_MINUTES=60.0,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,
        MAIL_FROM="frontline@localhost",
        SMTP_HOST=None,
        SMTP_PORT=587,
        SMTP_USERNAME=None,
        SMTP_PASSWORD=None,
        SMTP_STARTTLS=False,
        SMTP_SSL=False,
        SMTP_TIMEOUT_S=20.0,
        MAIL_RETRY_BASE_S=60.0,
        WEBHOOK_TIMEOUT_S=10.0,
        WEBHOOK_ALLOW_PRIVATE=False,
        WEBHOOK_RETRY_BASE_S=30.0,
        WEBHOOK_MAX_RETRIES=8,
        API_TOKEN_DAYS=90,
        CELERY_BROKER_URL=f"sqla+sqlite:///{instance / 'celery-broker.sqlite'}",
        CELERY_RESULT_BACKEND=f"db+sqlite:///{instance / 'celery-results.sqlite'}",
    )
    app.config.from_pyfile("config.py", silent=True)
    for variable, (key, parse) in ENVIRONMENT_SETTINGS.items():
        if os.environ.get(variable):
            app.config[key] = parse(os.environ[variable])
    for variable in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        if os.environ.get(variable):
            app.config[variable] = os.environ[variable]
    if overrides:
        app.config.update(overrides)

    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        app.config["SQLALCHEMY_DATABASE_URI"],
        app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
    )
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_UPLOAD_MB"] * 1024 * 1024)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = ensure_secret_key(app.instance_path)
    app.config["CELERY"] = merge_celery_settings(
        celery_settings(app.config), app.config.get("CELERY", {})
    )


def normalise_database_url(url: str) -> str:
    """Point ``postgres://`` and ``postgresql://`` URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def engine_options(url: str, configured: dict[str, Any]) -> dict[str, Any]:
    """SQLAlchemy engine options: a connection is tested before each checkout.

    After a database restart or a network cut the pool contains dead
    connections. ``pool_pre_ping`` replaces them, so the next request succeeds
    without a restart of the app. A PostgreSQL connection attempt gives up after
    ``DATABASE_CONNECT_TIMEOUT_S``. ``configured`` (``SQLALCHEMY_ENGINE_OPTIONS``
    from the instance config) wins over both.
    """
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        options["connect_args"] = {"connect_timeout": DATABASE_CONNECT_TIMEOUT_S}
    return {**options, **configured}


def merge_celery_settings(
    settings: dict[str, Any], configured: dict[str, Any]
) -> dict[str, Any]:
    """Apply the ``CELERY`` dict of the instance config over the built settings.

    ``broker_transport_options`` is merged key by key, so that setting e.g. a
    Redis ``visibility_timeout`` keeps the rest.
    """
    merged = {**settings, **configured}
    merged["broker_transport_options"] = {
        **settings["broker_transport_options"],
        **configured.get("broker_transport_options", {}),
    }
    return merged


# Seconds a Redis broker may take to accept a connection or answer a command.
# Without a limit, a publish to a Redis that accepts connections but never
# answers waits forever, and the web request that queues a task with it.
REDIS_SOCKET_TIMEOUT_S = 5.0


def celery_settings(config: dict[str, Any]) -> dict[str, Any]:
    """Celery's settings: late acknowledgement, one task prefetched at a time."""
    # A web request that cannot reach the broker fails at once instead of
    # retrying for seconds; the answer is stored and the sweep queues it later.
    # The socket timeouts are Redis options only, because the SQLAlchemy
    # transport hands every other option to create_engine.
    transport_options: dict[str, Any] = {"max_retries": 0}
    if urlsplit(config["CELERY_BROKER_URL"]).scheme in ("redis", "rediss"):
        transport_options["socket_timeout"] = REDIS_SOCKET_TIMEOUT_S
        transport_options["socket_connect_timeout"] = REDIS_SOCKET_TIMEOUT_S
    return {
        "broker_url": config["CELERY_BROKER_URL"],
        "result_backend": config["CELERY_RESULT_BACKEND"],
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": transport_options,
        "task_always_eager": config.get("CELERY_TASK_ALWAYS_EAGER", False),
    }


def ensure_secret_key(instance_path: str) -> str:
    """Read the secret key from the instance folder, creating it on first use.

    The key is written to a temporary file and linked into place, so a process
    starting at the same moment reads either no file or the whole key.
    """
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=instance_path, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            with contextlib.suppress(FileExistsError):  # another process won
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """Let the web server and the worker share one SQLite file safely."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _select_locale() -> str | None:
    from flask import current_app, has_request_context, request

    # Tasks and commands have no request; they use the default locale.
    if not has_request_context():
        return None
    return request.accept_languages.best_match(current_app.config["LANGUAGES"])


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app whose tasks run inside this Flask app's context."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


# Interface languages written right to left.
RTL_LANGUAGES = {"ar", "fa", "he", "ur", "ps", "yi"}

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def register_web_hooks(app: Flask) -> None:
    """Security headers on every response, and error pages that never leak a trace."""
    from flask import jsonify, render_template, request
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException

    @app.context_processor
    def locale_helpers() -> dict[str, Any]:
        from flask_babel import get_locale

        def current_locale_code() -> str:
            return str(get_locale() or "en")

        def text_direction() -> str:
            return (
                "rtl" if current_locale_code().split("_")[0] in RTL_LANGUAGES else "ltr"
            )

        return {
            "current_locale_code": current_locale_code,
            "text_direction": text_direction,
        }

    @app.after_request
    def set_security_headers(response: Any) -> Any:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    def render_error(code: int, message: str) -> Any:
        if request.accept_mimetypes.best == "application/json" or request.path.endswith(
            "/status"
        ):
            return jsonify(error=message), code
        back = request.referrer
        if back and urlsplit(back).netloc != request.host:
            back = None
        page = render_template("error.html", code=code, message=message, back=back)
        return page, code

    @app.route("/healthz")
    def healthz() -> Any:
        """Return a fixed JSON body without touching the database or the session."""
        return jsonify(status="ok")

    @app.route("/favicon.ico")
    def favicon() -> Any:
        from flask import redirect, url_for

        return redirect(url_for("static", filename="favicon.svg"), code=301)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Any:
        return render_error(
            400,
            "The form expired or was sent from another page. Reload the page and "
            "send it again; your saved answers are kept.",
        )

    @app.errorhandler(413)
    def too_large(error: HTTPException) -> Any:
        limit = app.config["MAX_UPLOAD_MB"]
        return render_error(413, f"The file is larger than the {limit:g} MB limit.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        return render_error(error.code or 500, error.description or error.name)

    @app.errorhandler(OperationalError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error: Exception) -> Any:
        from flask import g

        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        # The page is rendered as for a visitor: loading the user, or reading
        # the attributes that the rollback expired, would query the database.
        g._login_user = login_manager.anonymous_user()
        log.warning(
            "database unavailable on %s %s: %s", request.method, request.path, error
        )
        page, code = render_error(
            503,
            "The service cannot reach its database for a moment. Nothing saved "
            f"before is lost; try again in {RETRY_AFTER_S} seconds.",
        )
        return page, code, {"Retry-After": str(RETRY_AFTER_S)}

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Any:
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500, "Something went wrong on our side. Please try again.")


@click.command("worker")
@with_appcontext
@click.option("--concurrency", type=int, default=None, help="Worker processes.")
@click.option("--loglevel", default="INFO", show_default=True)
def worker_command(concurrency: int | None, loglevel: str) -> None:
    """Start a Celery worker for the configured broker."""
    import threading

    from celery.signals import worker_process_init, worker_ready
    from flask import current_app

    from assessments.tasks import start_requeue_loop
    from recruit.tasks import start_sweep_loop

    flask_app = current_app._get_current_object()  # type: ignore[attr-defined]
    celery_app = current_app.extensions["celery"]
    worker_process_init.connect(_fresh_pool_in_child(flask_app), weak=False)

    # The sweeps start once the pool processes are forked. A child forked while
    # a sweep thread was inside an SQLite transaction failed every write with
    # "database is locked", although no process held a lock on the file.
    # NOTE: a pool process that replaces a dead one is still forked while the
    # sweeps run.
    started = threading.Event()

    def start_sweeps(**kwargs: object) -> None:
        if started.is_set():  # sent again after a reconnection to the broker
            return
        started.set()
        start_requeue_loop(flask_app)
        start_sweep_loop(flask_app)

    worker_ready.connect(start_sweeps, weak=False)
    argv = ["worker", f"--loglevel={loglevel}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    celery_app.worker_main(argv)


def _fresh_pool_in_child(flask_app: Flask) -> Any:
    """Return a receiver that empties the engine's pool in a new pool process.

    The worker's parent process has used the database (the schema upgrade and
    the sweeps) before it forks its pool processes, which inherit its pooled
    connections. A connection must not be shared across a fork (SQLAlchemy 2
    documents this under "Using Connection Pools with Multiprocessing"). The
    child drops the inherited connections without closing them and opens its
    own.
    """

    def receiver(**kwargs: object) -> None:
        with flask_app.app_context():
            db.engine.dispose(close=False)

    return receiver


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--web-workers", default=2, show_default=True, type=int)
def serve_command(host: str, port: int, web_workers: int) -> None:
    """Run the web server (gunicorn) and a Celery worker until interrupted."""
    import signal
    import subprocess
    import sys
    import time

    from flask import current_app

    env = {**os.environ, "FRONTLINE_INSTANCE_DIR": current_app.instance_path}
    # Certificates and emails link to the site; without a configured address,
    # they point at the one being served.
    env.setdefault("FRONTLINE_BASE_URL", f"http://{host}:{port}")
    commands = {
        "worker": [sys.executable, "-c", "import app; app.main()", "worker"],
        "web": [
            sys.executable, "-m", "gunicorn",
            "--bind", f"{host}:{port}",
            "--workers", str(web_workers),
            "--threads", "4",
            # Longer than gunicorn's 2 s, so that a request sent on a kept-alive
            # connection does not meet the server closing it.
            "--keep-alive", "20",
            # The default control socket is one path shared by every gunicorn
            # of this user; serve does not use it.
            "--no-control-socket",
            "--access-logfile", "-",
            "app:create_app()",
        ],
    }  # fmt: skip
    processes = {
        name: subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603
        for name, command in commands.items()
    }
    click.echo(f"Frontline is starting at http://{host}:{port}/ (Ctrl-C stops it)")
    click.echo(f"links in emails and certificates use {env['FRONTLINE_BASE_URL']}")
    _echo_demo_logins()

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(process.poll() is None for process in processes.values()):
            time.sleep(0.5)
        ended = [
            name for name, process in processes.items() if process.poll() is not None
        ]
        click.echo(
            f"the {', '.join(ended)} process stopped; stopping the rest", err=True
        )
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _echo_demo_logins() -> None:
    from courses.demo import TRAINEE
    from recruit.auth import find_user
    from recruit.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

    accounts = [(email, role.value) for email, _name, role in DEMO_ACCOUNTS]
    accounts.append((TRAINEE[0], "trainee"))
    present = [(email, role) for email, role in accounts if find_user(email)]
    if present:
        click.echo(f"demo logins, password {DEMO_PASSWORD!r}:")
        for email, role in present:
            click.echo(f"  {role:<10} {email}")


# Commands that must run without touching the schema first.
_NO_UPGRADE_COMMANDS = {None, "db", "routes", "shell"}


@click.pass_context
def _upgrade_before_command(ctx: click.Context) -> None:
    """Bring the database schema up to date before every command but ``db``."""
    if ctx.invoked_subcommand in _NO_UPGRADE_COMMANDS:
        return
    from flask_migrate import upgrade

    upgrade()


cli = FlaskGroup(
    create_app=lambda: create_app(),
    callback=_upgrade_before_command,
    add_version_option=False,
    help="Frontline: recruit, assess and train customer-service agents.",
)


def main() -> None:
    """Run the ``frontline`` console script."""
    cli.main(prog_name="frontline")
