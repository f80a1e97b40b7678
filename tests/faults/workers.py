"""Real ``frontline worker`` processes for fault tests, their settings, and polling."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import db
from assessments.models import Response, ResponseStatus, Score
from tests.assessments.test_flow import start
from tests.conftest import ROOT, log_in, make_user
from tests.factories import language_opening

T = TypeVar("T")

# Variables of the surrounding shell that would override the instance config.
_CONFIG_VARIABLES = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")


def redis_settings(
    tmp_path: Path, queue: str, broker_url: str, **transport_options: Any
) -> dict[str, Any]:
    """Settings shared by a test's app and its worker processes, on SQLite and Redis.

    Every Redis key, the set of unacknowledged messages included, starts with
    the test's own queue name, so that ``redis_queue`` deletes them afterwards.
    """
    return {
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'frontline.sqlite'}",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": "cache+memory://",
        "LOG_LEVEL": "INFO",
        "CELERY": {
            "task_default_queue": queue,
            "broker_transport_options": {
                "global_keyprefix": f"{queue}:",
                **transport_options,
            },
        },
    }


def candidate_attempt(app: Flask) -> tuple[FlaskClient, int, list[int]]:
    """Log a new candidate in and start the language assessment of a new opening.

    Returns the candidate's client, the attempt id and the item ids (writing,
    read aloud, open answer).
    """
    with app.app_context():
        make_user("cand@example.com", "candidate")
        opening_id = language_opening().id
    client = app.test_client()
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    return client, attempt_id, items


def write_instance_config(instance_dir: Path, settings: dict[str, Any]) -> None:
    """Write ``instance_dir/config.py``, which ``frontline`` reads at start."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"{key} = {value!r}" for key, value in settings.items()]
    (instance_dir / "config.py").write_text("\n".join(lines) + "\n")


def start_worker_process(instance_dir: Path, log_path: Path) -> subprocess.Popen:
    """Start ``frontline worker`` (prefork, one child) in a process group of its own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _CONFIG_VARIABLES and not key.startswith("FRONTLINE_")
    }
    env["FRONTLINE_INSTANCE_DIR"] = str(instance_dir)
    env["PYTHONPATH"] = str(ROOT)
    command = [
        sys.executable, "-c", "import app; app.main()",
        "worker", "--concurrency", "1", "--loglevel", "INFO",
    ]  # fmt: skip
    with open(log_path, "ab") as log:
        return subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_process_group(process: subprocess.Popen) -> None:
    """SIGKILL the worker and its pool children, as a crash or an OOM kill would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


@contextlib.contextmanager
def worker_process(instance_dir: Path, log_path: Path) -> Iterator[subprocess.Popen]:
    """Run a worker for the block; its whole process group is killed afterwards."""
    process = start_worker_process(instance_dir, log_path)
    try:
        yield process
    finally:
        kill_process_group(process)


def wait_for(
    check: Callable[[], T | None],
    what: str,
    timeout_s: float,
    log_path: Path | None = None,
    interval_s: float = 0.1,
) -> T:
    """Call ``check`` until it returns a truthy value; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval_s)
    worker_log = ""
    if log_path is not None and log_path.exists():
        worker_log = "\nworker log (end):\n" + log_path.read_text()[-4000:]
    pytest.fail(f"{what} did not happen within {timeout_s:.0f} s{worker_log}")


def response_state(app: Flask, response_id: int) -> tuple[ResponseStatus, int, int]:
    """Return the status, the scoring runs and the number of score rows."""
    with app.app_context():
        response = db.session.get(Response, response_id)
        scores = db.session.scalar(
            select(func.count()).select_from(Score).filter_by(response_id=response_id)
        )
        return response.status, response.scoring_runs, scores
