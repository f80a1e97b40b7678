"""Configuration: the embedded default and the environment variables that scale it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app, normalise_database_url


def test_embedded_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        monkeypatch.delenv(variable, raising=False)
    app = create_app(instance_path=str(tmp_path))
    config = app.config
    assert (
        config["SQLALCHEMY_DATABASE_URI"]
        == f"sqlite:///{tmp_path / 'frontline.sqlite'}"
    )
    assert (
        config["CELERY"]["broker_url"]
        == f"sqla+sqlite:///{tmp_path / 'celery-broker.sqlite'}"
    )
    assert config["UPLOAD_DIR"] == str(tmp_path / "uploads")
    assert config["GRAMMAR_BACKEND"] == "harper"
    assert config["WHISPER_MODEL"] is None
    assert config["CELERY"]["task_acks_late"] is True


def test_secret_key_generated_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRONTLINE_SECRET_KEY", raising=False)
    first = create_app(instance_path=str(tmp_path)).config["SECRET_KEY"]
    second = create_app(instance_path=str(tmp_path)).config["SECRET_KEY"]
    assert len(first) == 64
    assert first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_switches_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.internal/frontline")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/4")
    monkeypatch.setenv("FRONTLINE_UPLOAD_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("FRONTLINE_GRAMMAR_BACKEND", "languagetool")
    monkeypatch.setenv("LANGUAGETOOL_URL", "http://127.0.0.1:8081")
    monkeypatch.setenv("FRONTLINE_WHISPER_MODEL", "/models/small")
    monkeypatch.setenv("FRONTLINE_WHISPER_COMPUTE_TYPE", "float32")
    monkeypatch.setenv("FRONTLINE_MAX_UPLOAD_MB", "5")
    config = create_app(instance_path=str(tmp_path)).config
    assert (
        config["SQLALCHEMY_DATABASE_URI"]
        == "postgresql+psycopg://u@db.internal/frontline"
    )
    assert config["CELERY"]["broker_url"] == "redis://127.0.0.1:6379/3"
    assert config["CELERY"]["result_backend"] == "redis://127.0.0.1:6379/4"
    assert config["UPLOAD_DIR"] == str(tmp_path / "elsewhere")
    assert config["GRAMMAR_BACKEND"] == "languagetool"
    assert config["LANGUAGETOOL_URL"] == "http://127.0.0.1:8081"
    assert config["WHISPER_MODEL"] == "/models/small"
    assert config["WHISPER_COMPUTE_TYPE"] == "float32"
    assert config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://a@h/d", "postgresql+psycopg://a@h/d"),
        ("postgresql://a@h/d", "postgresql+psycopg://a@h/d"),
        ("postgresql+psycopg://a@h/d", "postgresql+psycopg://a@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_normalised(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected
