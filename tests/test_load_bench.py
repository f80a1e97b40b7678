"""The load benchmark's runner and Locust users, run with three candidates.

This keeps ``bench/load`` working: the same script as the benchmark, against
gunicorn, PostgreSQL, Redis and a Celery worker, but with short pauses. The
candidates stop once their answers are scored, which ends the run early.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

EXPECTED_PAGES = {
    "GET /login",
    "POST /login",
    "POST /openings/[id] (apply)",
    "POST /me/applications/[id]/assessments/[id] (start)",
    "POST /attempts/[id]/items/[id]/text (autosave)",
    "POST /attempts/[id]/items/[id]/text (submit)",
    "POST /attempts/[id]/items/[id]/audio",
    "GET /attempts/[id]/status",
    "GET /healthz",
}


def test_load_run_three_candidates(tmp_path: Path) -> None:
    out = tmp_path / "load"
    command = [
        sys.executable, "bench/load/run.py",
        "--users", "3",
        "--spawn-rate", "3",
        "--run-time", "90",
        "--pause-scale", "0.1",
        "--score-timeout", "60",
        "--web-workers", "1",
        "--threads", "2",
        "--redis-db", "13",
        "--out", str(out),
    ]  # fmt: skip
    finished = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    output = finished.stdout[-4000:] + finished.stderr[-4000:]
    assert finished.returncode == 0, output

    summary = json.loads((out / "summary.json").read_text())
    answers = summary["answers"]
    assert answers["acknowledged"] == 6, output
    assert answers["stored"] == 6
    assert answers["queued"] == 6
    assert answers["lost"] == []
    assert answers["journeys_failed"] == []
    assert answers["candidates_with_other_counts"] == 0
    assert summary["scoring"]["scored"] == 6
    assert summary["scoring"]["waiting"] == 0

    statuses = {int(code) for code in summary["server_statuses"]}
    assert statuses <= {200, 201, 302}
    pages = {page["name"]: page for page in summary["pages"]}
    assert EXPECTED_PAGES.issubset(pages)
    assert all(page["failures"] == 0 for page in pages.values())
    assert pages["POST /attempts/[id]/items/[id]/audio"]["requests"] == 3
