"""Checks and figures of a load run: stored answers, server errors, latencies."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app import db
from assessments.models import Attempt, Response, ResponseStatus, Score
from assessments.storage import get_storage
from recruit.models import Application, User

HEALTHZ = "GET /healthz"
WAITING = (ResponseStatus.SUBMITTED, ResponseStatus.PROCESSING)


def read_records(path: Path) -> list[dict[str, Any]]:
    """Read the JSON lines that the simulated candidates appended."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@dataclass
class AnswerCheck:
    """Answers that the server acknowledged compared with the rows it stored."""

    acknowledged: int = 0
    stored: int = 0
    queued: int = 0
    # (email, item id, reason) of each acknowledged answer not stored intact.
    lost: list[tuple[str, int, str]] = field(default_factory=list)
    # Acknowledged answers stored with an empty queued_at.
    unqueued: list[tuple[str, int]] = field(default_factory=list)
    # Submitted rows without an acknowledgement, e.g. a request cut off at the end.
    unacknowledged_rows: int = 0
    # Candidates whose count of submitted rows differs from their acknowledged count.
    candidates_with_other_counts: int = 0
    journeys_failed: list[str] = field(default_factory=list)


def check_answers(records: list[dict[str, Any]]) -> AnswerCheck:
    """Match each acknowledged answer to its Response row, text and file.

    Call inside the app context. A text answer counts as stored when the row is
    no longer a draft and its text has the submitted SHA-256; a recording when
    its file exists with the uploaded size.
    """
    result = AnswerCheck()
    rows = _submitted_rows()
    storage = get_storage()
    per_candidate: Counter[str] = Counter()
    for entry in records:
        if entry["event"] == "journey_failed":
            result.journeys_failed.append(f"{entry['email']}: {entry['error']}")
            continue
        result.acknowledged += 1
        per_candidate[entry["email"]] += 1
        key = (entry["email"], entry["item_id"])
        response = rows.get(key)
        reason = _missing_reason(entry, response, storage)
        if reason:
            result.lost.append((*key, reason))
            continue
        result.stored += 1
        assert response is not None
        if response.queued_at is None:
            result.unqueued.append(key)
        else:
            result.queued += 1
    acknowledged_keys = {(e["email"], e.get("item_id")) for e in records}
    result.unacknowledged_rows = sum(key not in acknowledged_keys for key in rows)
    stored_per_candidate = Counter(email for email, _item in rows)
    result.candidates_with_other_counts = sum(
        stored_per_candidate[email] != per_candidate[email]
        for email in set(stored_per_candidate) | set(per_candidate)
    )
    return result


def _submitted_rows() -> dict[tuple[str, int], Response]:
    query = (
        select(User.email, Response)
        .join(Attempt, Response.attempt_id == Attempt.id)
        .join(Application, Attempt.application_id == Application.id)
        .join(User, Application.candidate_id == User.id)
        .where(Response.status != ResponseStatus.DRAFT)
    )
    return {
        (email, response.item_id): response
        for email, response in db.session.execute(query)
    }


def _missing_reason(
    entry: dict[str, Any], response: Response | None, storage: Any
) -> str | None:
    if response is None:
        return "no submitted row"
    if entry["kind"] == "text":
        digest = hashlib.sha256((response.text or "").encode()).hexdigest()
        return None if digest == entry["sha256"] else "stored text differs"
    if not response.audio_key or not storage.exists(response.audio_key):
        return "recording file missing"
    size = storage.path(response.audio_key).stat().st_size
    return None if size == entry["bytes"] else f"recording has {size} bytes"


@dataclass
class ScoringProgress:
    """How far the worker got with the submitted answers."""

    total: int
    waiting: int
    scored: int
    failed: int
    first_submitted: datetime | None
    last_submitted: datetime | None
    last_scored: datetime | None


def scoring_progress() -> ScoringProgress:
    """Count submitted answers by status and read the first and last timestamps."""
    counts = dict(
        db.session.execute(
            select(Response.status, func.count())
            .where(Response.status != ResponseStatus.DRAFT)
            .group_by(Response.status)
        ).all()
    )
    first, last = db.session.execute(
        select(func.min(Response.submitted_at), func.max(Response.submitted_at))
    ).one()
    last_scored = db.session.scalar(select(func.max(Score.created_at)))
    return ScoringProgress(
        total=sum(counts.values()),
        waiting=sum(counts.get(status, 0) for status in WAITING),
        scored=counts.get(ResponseStatus.SCORED, 0),
        failed=counts.get(ResponseStatus.FAILED, 0),
        first_submitted=first,
        last_submitted=last,
        last_scored=last_scored,
    )


def percentile(sorted_values: list[float], percent: float) -> float:
    """Return the nearest-rank percentile of an ascending, non-empty list."""
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class PageLatency:
    """Client-side response times of one kind of request, in milliseconds."""

    name: str
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float


def page_latencies(timings_path: Path, failures: Counter[str]) -> list[PageLatency]:
    """Summarise the timings file per request name, in the order first seen."""
    times: dict[str, list[float]] = defaultdict(list)
    with open(timings_path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            times[row["name"]].append(float(row["response_time_ms"]))
    pages = []
    for name, values in times.items():
        values.sort()
        pages.append(
            PageLatency(
                name=name,
                requests=len(values),
                failures=failures[name],
                p50=percentile(values, 50),
                p95=percentile(values, 95),
                p99=percentile(values, 99),
            )
        )
    return pages


def locust_failures(failures_csv: Path) -> Counter[str]:
    """Return Locust's failure count per request name."""
    counts: Counter[str] = Counter()
    if not failures_csv.exists():
        return counts
    with open(failures_csv, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            counts[row["Name"]] += int(row["Occurrences"])
    return counts


def locust_exceptions(exceptions_csv: Path) -> int:
    """Return how many exceptions the Locust users raised outside a request."""
    if not exceptions_csv.exists():
        return 0
    with open(exceptions_csv, newline="", encoding="utf-8") as handle:
        return sum(int(row["Count"]) for row in csv.DictReader(handle))


_ACCESS_LINE = re.compile(r'^(\S+) "([^"]*)" (\d{3}) (\d+)$')


def server_statuses(access_log: Path) -> Counter[int]:
    """Count the status codes in gunicorn's access log (format set in stack.py)."""
    counts: Counter[int] = Counter()
    for line in access_log.read_text(errors="replace").splitlines():
        match = _ACCESS_LINE.match(line)
        if match:
            counts[int(match.group(3))] += 1
    return counts


def server_times(access_log: Path) -> list[PageLatency]:
    """Summarise gunicorn's own request times per method and route, in ms.

    gunicorn (27, gthread worker) starts the clock once a thread has parsed the
    request's headers and stops it when the response is written, so the time a
    request waited for a free thread is in the client's figure only.
    """
    times: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    for line in access_log.read_text(errors="replace").splitlines():
        match = _ACCESS_LINE.match(line)
        if not match:
            continue
        method, path, status, microseconds = match.groups()
        name = f"{method} {_ID_SEGMENT.sub('/[id]', path)}"
        times[name].append(int(microseconds) / 1000)
        errors[name] += int(status) >= 500
    return [
        PageLatency(
            name=name,
            requests=len(values),
            failures=errors[name],
            p50=percentile(sorted(values), 50),
            p95=percentile(sorted(values), 95),
            p99=percentile(sorted(values), 99),
        )
        for name, values in times.items()
    ]


_ID_SEGMENT = re.compile(r"/\d+")


def latency_table(pages: list[PageLatency]) -> str:
    """Render the latencies as Markdown, with each p95 as a multiple of /healthz's."""
    health = next((page for page in pages if page.name == HEALTHZ), None)
    lines = [
        "| request | count | failures | p50 ms | p95 ms | p99 ms | p95 / healthz p95 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for page in sorted(pages, key=lambda page: page.name == HEALTHZ):
        ratio = f"{page.p95 / health.p95:.1f}" if health and health.p95 else "n/a"
        lines.append(
            f"| `{page.name}` | {page.requests:,} | {page.failures} | "
            f"{_ms(page.p50)} | {_ms(page.p95)} | {_ms(page.p99)} | {ratio} |"
        )
    return "\n".join(lines)


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def logged_errors(log_path: Path) -> int:
    """Count the ERROR and CRITICAL records and the tracebacks in a process's log.

    The app logs `` ERROR ``, gunicorn ``[ERROR]`` and Celery ``: ERROR/``.
    """
    count = 0
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("Traceback") or _ERROR_RECORD.search(line):
            count += 1
    return count


_ERROR_RECORD = re.compile(r"( |\[|: )(ERROR|CRITICAL)( |\]|/)")
