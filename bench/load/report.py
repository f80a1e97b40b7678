"""The load run's figures: CPU use by part, the machine, the verdict, the report."""

from __future__ import annotations

import os
import platform
import resource
import time
from pathlib import Path
from typing import Any

from bench.load import check, stack


def cpu_sample(web: stack.Process, worker: stack.Process) -> dict[str, Any]:
    """Read the wall clock and the CPU seconds used so far by each part."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": time.monotonic(),
        "machine": stack.machine_busy_seconds(),
        "gunicorn": web.cpu_seconds(),
        "worker": worker.cpu_seconds(),
        # Finished children: Locust, once it has exited.
        "locust": children.ru_utime + children.ru_stime,
        "postgres": database_backend_cpu(),
    }


def database_backend_cpu() -> dict[int, float]:
    """Return the CPU seconds of each PostgreSQL backend of this run's database.

    Reading another user's process times needs root or the postgres user, so
    this returns an empty dict otherwise.
    """
    import psutil
    from sqlalchemy import text

    from app import db

    pids = db.session.scalars(
        text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    ).all()
    db.session.remove()
    seconds = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        seconds[pid] = times.user + times.system
    return seconds


def cpu_during(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """Return the CPU seconds of each part between two samples, and the rest.

    "postgres" counts the backends of this run's database that were open at
    the second sample, so it is a lower bound. "other" is every other process
    on the machine: Redis, the kernel, and any work that shared the machine.
    """
    keys = ("wall", "machine", "gunicorn", "worker", "locust")
    used = {key: round(after[key] - before[key], 1) for key in keys}
    used["postgres"] = round(
        sum(
            seconds - before["postgres"].get(pid, 0.0)
            for pid, seconds in after["postgres"].items()
        ),
        1,
    )
    parts = sum(used[key] for key in ("gunicorn", "worker", "locust", "postgres"))
    used["other"] = round(used["machine"] - parts, 1)
    return used


def machine_facts(redis_url: str) -> dict[str, Any]:
    """Return the machine's CPU, memory and load, and the software versions."""
    from importlib.metadata import version

    import redis
    from sqlalchemy import text

    from app import db

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=5)
    redis_version = client.info("server")["redis_version"]
    client.close()
    return {
        "cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_gib": round(pages / 2**30, 1),
        "load_average_at_end": os.getloadavg(),
        "python": platform.python_version(),
        "postgresql": db.session.scalar(text("SHOW server_version")),
        "redis": redis_version,
        "gunicorn": version("gunicorn"),
        "locust": version("locust"),
    }


def passed(summary: dict[str, Any]) -> bool:
    """Return whether the run passed.

    It passes with no failed request, no exception in the users, no 5xx, and
    every acknowledged answer stored intact and queued.
    """
    answers = summary["answers"]
    server_errors = sum(
        count for status, count in summary["server_statuses"].items() if status >= 500
    )
    request_failures = sum(page["failures"] for page in summary["pages"])
    return (
        server_errors == 0
        and request_failures == 0
        and summary["locust_exceptions"] == 0
        and not answers["journeys_failed"]
        and not answers["lost"]
        and not answers["unqueued"]
        and answers["acknowledged"] > 0
    )


def render_report(summary: dict[str, Any]) -> str:
    """Render the run's figures as Markdown."""
    pages = [check.PageLatency(**page) for page in summary["pages"]]
    answers = summary["answers"]
    scoring = summary["scoring"]
    server_errors = {s: n for s, n in summary["server_statuses"].items() if s >= 500}
    lines = [
        f"settings: {summary['settings']}",
        f"machine: {summary['machine']}",
        "",
        check.latency_table(pages),
        "",
        "gunicorn's own time per request, without the wait for a free thread "
        "(the failures column counts 5xx):",
        "",
        check.latency_table(
            [check.PageLatency(**page) for page in summary["server_times"]]
        ),
        "",
        f"requests in gunicorn's access log by status: {summary['server_statuses']}",
        f"server errors (5xx): {sum(server_errors.values())}",
        f"ERROR lines and tracebacks logged: {summary['logged_errors']}",
        f"CPU seconds during the load: {summary['cpu_during_load']}",
        f"answers acknowledged: {answers['acknowledged']}, "
        f"stored intact: {answers['stored']}, queued: {answers['queued']}, "
        f"lost: {len(answers['lost'])}",
        f"submitted rows without an acknowledgement: {answers['unacknowledged_rows']}",
        f"candidates whose stored count differs from their acknowledged count: "
        f"{answers['candidates_with_other_counts']}",
        f"journeys failed: {len(answers['journeys_failed'])}",
        f"exceptions in the Locust users: {summary['locust_exceptions']}",
        f"scoring: {scoring['scored']} scored, {scoring['failed']} failed, "
        f"{scoring['waiting']} waiting after {scoring['waited_s']} s of waiting",
    ]
    if scoring.get("all_done"):
        lines.append(
            "time to score all: "
            f"{scoring.get('first_submission_to_last_score_s')} s from the first "
            f"submission, {scoring.get('last_submission_to_last_score_s')} s from "
            "the last"
        )
    for email, item_id, reason in answers["lost"][:20]:
        lines.append(f"LOST: {email} item {item_id}: {reason}")
    for failure in answers["journeys_failed"][:20]:
        lines.append(f"JOURNEY FAILED: {failure}")
    lines.append("PASSED" if summary["passed"] else "FAILED")
    return "\n".join(lines)
