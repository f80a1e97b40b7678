"""One app and one visit of every route by every role, shared by the access tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.access.routes import LOGOUT_RULE, ROUTES, route_rules
from tests.access.world import EMAILS, ROLES, build_world
from tests.conftest import build_app, csrf_token, log_in


@dataclass(frozen=True)
class Visit:
    """One request of the crawl and what came back."""

    rule: str
    method: str
    role: str
    path: str
    status: int
    location: str | None
    mimetype: str
    headers: dict[str, str]
    body: str


@pytest.fixture(scope="package")
def access_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = build_app(tmp_path_factory.mktemp("access"))
    yield app
    with app.app_context():
        from app import db

        db.engine.dispose()


@pytest.fixture(scope="package")
def world(access_app: Flask) -> dict[str, Any]:
    with access_app.app_context():
        return build_world()


def client_for(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    if role != "anonymous":
        log_in(client, EMAILS[role])
    return client


def _request(
    client: FlaskClient, method: str, path: str, role: str, world: dict[str, Any]
) -> Any:
    headers = {}
    if path.startswith("/api/") and role != "anonymous":
        headers["Authorization"] = f"Bearer {world[f'{role}_token']}"
    if method == "GET":
        return client.get(path, headers=headers)
    return client.post(
        path, data={"csrf_token": csrf_token(client, "/")}, headers=headers
    )


@pytest.fixture(scope="package")
def crawl(access_app: Flask, world: dict[str, Any]) -> list[Visit]:
    """Visit every route of the table with GET and POST as each role, in order.

    Log-out comes last for each role, because it ends the session.
    """
    order = sorted(ROUTES, key=lambda rule: (rule == LOGOUT_RULE, rule))
    methods = route_rules(access_app)
    visits = []
    for role in ROLES:
        client = client_for(access_app, role)
        for rule in order:
            path = ROUTES[rule].path.format(**world)
            for method in ("GET", "POST"):
                if method not in methods.get(rule, ()):
                    continue
                response = _request(client, method, path, role, world)
                # A streamed response keeps its request context until closed.
                response.close()
                visits.append(
                    Visit(
                        rule=rule,
                        method=method,
                        role=role,
                        path=path,
                        status=response.status_code,
                        location=response.location,
                        mimetype=response.mimetype or "",
                        headers=dict(response.headers),
                        body=response.get_data(as_text=True)
                        if response.mimetype == "text/html"
                        else "",
                    )
                )
    return visits
