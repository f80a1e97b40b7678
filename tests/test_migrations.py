"""The migrations build exactly the schema that the models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import db
from tests.conftest import build_app, postgres_database


def schema_differences(app_path: Path, **config: str) -> list[object]:
    """Upgrade a new database and compare it with the models' metadata."""
    app = build_app(app_path, **config)
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, db.metadata)
    with app.app_context():
        db.engine.dispose()
    return differences


# SQLite cannot reflect the ranking's expression indexes, so they go unchecked.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression")
def test_sqlite_schema_matches_models(tmp_path: Path) -> None:
    assert schema_differences(tmp_path) == []


@pytest.mark.postgres
def test_postgres_schema_matches_models(tmp_path: Path) -> None:
    with postgres_database() as url:
        assert schema_differences(tmp_path, SQLALCHEMY_DATABASE_URI=url) == []
