"""Fixtures of the fault tests: a PostgreSQL database reached through a proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from tests.conftest import build_app, make_user, postgres_database
from tests.factories import language_opening
from tests.faults.proxy import TcpProxy


@pytest.fixture
def database_proxy() -> Iterator[tuple[str, TcpProxy]]:
    """A new PostgreSQL database and a running proxy in front of the server."""
    with postgres_database() as direct_url:
        url = make_url(direct_url)
        proxy = TcpProxy(target_port=url.port or 5432).start()
        try:
            proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
            yield proxied, proxy
        finally:
            proxy.stop()


def proxied_app(tmp_path: Path, database_url: str, **config: object) -> Flask:
    """Return an app on ``database_url`` with a candidate and a language opening."""
    app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=database_url, **config)
    with app.app_context():
        make_user("cand@example.com", "candidate")
        language_opening()
    return app
