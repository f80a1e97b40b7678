"""The health endpoint that load balancers and the load benchmark call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from app import create_app, db


def test_healthz_without_login(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == {"status": "ok"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_healthz_runs_no_sql(app: Flask, client: FlaskClient) -> None:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/healthz")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    assert statements == []


def test_healthz_with_database_unreachable(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "frontline.sqlite"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{missing}",
            "CELERY_BROKER_URL": "memory://",
            "CELERY_RESULT_BACKEND": "cache+memory://",
        },
        instance_path=str(tmp_path / "instance"),
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
