"""Fixtures shared by every test: apps on real databases, clients, logins, workers."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = Path(__file__).resolve().parent / "data"
SHARED_DATA = Path(
    os.environ.get("FRONTLINE_SHARED_DATA", ROOT.parent / "shared" / "data")
)
POSTGRES_ADMIN_URL = os.environ.get(
    "FRONTLINE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("FRONTLINE_TEST_REDIS", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--browser-output",
        default=None,
        help="folder for the browser journeys' screenshots (default: each test's "
        "tmp_path)",
    )


@pytest.fixture(scope="session")
def test_data() -> Path:
    """The folder of permissively licensed inputs copied into this repository."""
    return TEST_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real inputs kept beside the repository (non-commercial files too).

    Outside CI a clone without that folder skips these tests; in CI it is a failure.
    """
    if not SHARED_DATA.is_dir():
        message = (
            f"real input data not found at {SHARED_DATA}; "
            "set FRONTLINE_SHARED_DATA to its folder"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA


def build_app(tmp_path: Path, **config: Any) -> Flask:
    """Create an app on its own instance folder and bring its schema up to date."""
    from flask_migrate import upgrade

    from app import create_app

    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'frontline.sqlite'}",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "CELERY_BROKER_URL": "memory://",
        "CELERY_RESULT_BACKEND": "cache+memory://",
        "LOG_LEVEL": "WARNING",
    }
    settings.update(config)
    app = create_app(settings, instance_path=str(tmp_path / "instance"))
    with app.app_context():
        upgrade()
    return app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An app on a new SQLite database whose tasks go to an in-memory broker."""
    app = build_app(tmp_path)
    yield app
    with app.app_context():
        from app import db

        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@contextmanager
def postgres_database() -> Iterator[str]:
    """Create a PostgreSQL database for one test and drop it afterwards."""
    import psycopg

    name = f"frontline_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_queue() -> Iterator[str]:
    """Yield a queue name unique to one test and delete its Redis keys afterwards."""
    import redis

    queue = f"frontline-test-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {error}")
    try:
        yield queue
    finally:
        keys = list(client.scan_iter(f"*{queue}*"))
        if keys:
            client.delete(*keys)
        client.close()


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    """Read the CSRF token that a page of the app hands to its forms."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def make_user(email: str, role: str, name: str = "Test User") -> Any:
    from recruit.auth import create_user
    from recruit.models import Role

    return create_user(email, name, PASSWORD, Role(role))


def log_in(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
