"""Load benchmark: simulated candidates take the language stage at the same time.

Usage, from the repository root:

    python bench/load/run.py [--users 200] [--spawn-rate 10] [--run-time 180]

The run creates a PostgreSQL database and brings its schema up with
``frontline db upgrade``. It seeds an opening and the candidate accounts in this
process, then starts ``frontline worker`` and gunicorn on 127.0.0.1, both with
Celery's broker on a Redis database. Locust runs ``locustfile.py`` headless for
the run time. Then gunicorn stops, the worker gets up to ``--score-timeout``
seconds to score the answers, and the checks run. The database, the Redis keys
and the uploads are removed at the end; the logs, Locust's CSV files and the
report stay in ``--out``.

The exit status is 0 when no request failed, gunicorn logged no 5xx, and every
answer that the server acknowledged was stored intact and queued for scoring.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.load import check, report, stack  # noqa: E402
from bench.load.seed import seed_load_opening  # noqa: E402

HERE = Path(__file__).resolve().parent
log = logging.getLogger("bench.load")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="simulated candidates")
    parser.add_argument(
        "--spawn-rate", type=float, default=10, help="candidates started per second"
    )
    parser.add_argument(
        "--run-time",
        type=int,
        default=180,
        help="seconds of load, after which users stop",
    )
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn processes")
    parser.add_argument(
        "--threads", type=int, default=4, help="gunicorn threads per process"
    )
    parser.add_argument(
        "--keep-alive",
        type=int,
        default=20,
        help="seconds that gunicorn keeps an idle connection open (its default "
        "is 2); above the candidates' longest pause, so that no request races "
        "the closing of its connection",
    )
    parser.add_argument(
        "--worker-concurrency", type=int, default=1, help="Celery worker processes"
    )
    parser.add_argument(
        "--score-timeout",
        type=int,
        default=900,
        help="seconds to wait after the load for the worker to score every answer",
    )
    parser.add_argument(
        "--pause-scale",
        type=float,
        default=1.0,
        help="factor on the candidates' pauses between steps (1 = 1-3 s)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="gunicorn port (0: a free one)"
    )
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="URL of a PostgreSQL database with the right to create databases",
    )
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379", help="Redis server"
    )
    parser.add_argument(
        "--redis-db", type=int, default=12, help="an empty Redis database number"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for logs and results (default: a new temp folder)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM then unwinds like Ctrl-C: the servers stop and the database and
    # the Redis keys are removed. Only SIGKILL leaves them behind.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log.setLevel(logging.INFO)
    out = args.out or Path(tempfile.mkdtemp(prefix="frontline-load-"))
    out.mkdir(parents=True, exist_ok=True)
    summary = run(args, out)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    text = report.render_report(summary)
    (out / "report.md").write_text(text)
    print(text)
    print(f"\nlogs and results: {out}")
    return 0 if summary["passed"] else 1


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Set up the servers, run the load, check the results and clean up.

    Returns the figures of the run.
    """
    load_average_at_start = os.getloadavg()
    port = args.port or stack.free_port()
    password = secrets.token_urlsafe(12)
    with ExitStack() as cleanup:
        database_url = cleanup.enter_context(stack.postgres_database(args.postgres))
        broker_url = cleanup.enter_context(
            stack.redis_database(args.redis, args.redis_db)
        )
        workdir = Path(tempfile.mkdtemp(prefix="frontline-load-files-"))
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        settings = {
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_RESULT_BACKEND": broker_url,
            "FRONTLINE_INSTANCE_DIR": str(workdir / "instance"),
            "FRONTLINE_UPLOAD_DIR": str(workdir / "uploads"),
            "FRONTLINE_SECRET_KEY": secrets.token_hex(32),
        }
        environment = stack.child_environment(settings)
        stack.run_cli(["db", "upgrade"], environment)

        flask_app = _local_app(settings)
        context = flask_app.app_context()
        context.push()
        cleanup.callback(_close_app, context)
        started = time.monotonic()
        seeded = seed_load_opening(args.users, password)
        log.info(
            "seeded %d candidates in %.1f s", args.users, time.monotonic() - started
        )
        accounts = out / "accounts.json"
        accounts.write_text(
            json.dumps(
                {
                    "password": password,
                    "opening_id": seeded.opening_id,
                    "emails": seeded.emails,
                }
            )
        )

        worker = stack.start_worker(args.worker_concurrency, environment, out)
        cleanup.callback(worker.stop)
        web = stack.start_gunicorn(
            port, args.web_workers, args.threads, args.keep_alive, environment, out
        )
        cleanup.callback(web.stop)
        stack.wait_for_http(f"http://127.0.0.1:{port}/healthz", web)

        records_path = out / "records.jsonl"
        records_path.unlink(missing_ok=True)
        before = report.cpu_sample(web, worker)
        locust_exit = run_locust(args, port, out, accounts, records_path)
        cpu = report.cpu_during(before, report.cpu_sample(web, worker))
        web.stop()
        scoring = wait_for_scoring(args.score_timeout)
        worker.stop()

        answers = check.check_answers(check.read_records(records_path))
        failures = check.locust_failures(out / "locust_failures.csv")
        pages = check.page_latencies(out / "timings.csv", failures)
        statuses = check.server_statuses(out / "access.log")
        summary = {
            "machine": {
                **report.machine_facts(args.redis),
                "load_average_at_start": load_average_at_start,
            },
            "settings": {key: str(value) for key, value in vars(args).items()},
            "locust_exit_code": locust_exit,
            "locust_exceptions": check.locust_exceptions(out / "locust_exceptions.csv"),
            "cpu_during_load": cpu,
            "pages": [asdict(page) for page in pages],
            "server_statuses": dict(sorted(statuses.items())),
            "server_times": [
                asdict(page) for page in check.server_times(out / "access.log")
            ],
            "logged_errors": {
                name: check.logged_errors(out / f"{name}.log")
                for name in ("gunicorn", "worker")
            },
            "answers": asdict(answers),
            "scoring": scoring,
        }
    summary["passed"] = report.passed(summary)
    return summary


def _local_app(settings: dict[str, str]) -> Any:
    """Create the app in this process, for seeding and for the checks."""
    from app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": settings["DATABASE_URL"],
            "CELERY_BROKER_URL": settings["CELERY_BROKER_URL"],
            "CELERY_RESULT_BACKEND": settings["CELERY_RESULT_BACKEND"],
            "UPLOAD_DIR": settings["FRONTLINE_UPLOAD_DIR"],
            "SECRET_KEY": settings["FRONTLINE_SECRET_KEY"],
            "LOG_LEVEL": "WARNING",
        },
        instance_path=settings["FRONTLINE_INSTANCE_DIR"],
    )


def _close_app(context: Any) -> None:
    from app import db

    db.session.remove()
    db.engine.dispose()
    context.pop()


def run_locust(
    args: argparse.Namespace, port: int, out: Path, accounts: Path, records: Path
) -> int:
    """Run Locust headless for the run time, plus one /healthz probe user."""
    command = [
        sys.executable, "-m", "locust",
        "--locustfile", str(HERE / "locustfile.py"),
        "--headless",
        "--host", f"http://127.0.0.1:{port}",
        "--users", str(args.users + 1),
        "--spawn-rate", str(args.spawn_rate),
        "--run-time", f"{args.run_time}s",
        "--stop-timeout", "10",
        "--csv", str(out / "locust"),
        "--only-summary",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    environment = {
        **os.environ,
        "FRONTLINE_LOAD_ACCOUNTS": str(accounts),
        "FRONTLINE_LOAD_RECORDS": str(records),
        "FRONTLINE_LOAD_TIMINGS": str(out / "timings.csv"),
        "FRONTLINE_LOAD_PAUSE_SCALE": str(args.pause_scale),
    }
    log.info(
        "running %d users for %d s against port %d", args.users, args.run_time, port
    )
    with open(out / "locust.log", "wb") as output:
        finished = subprocess.run(  # noqa: S603
            command,
            env=environment,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=args.run_time + 180,
            check=False,
        )
    log.info("locust exited with code %d", finished.returncode)
    return finished.returncode


def wait_for_scoring(timeout_s: int) -> dict[str, Any]:
    """Poll the database until no answer waits for its score, or until the timeout."""
    from app import db

    deadline = time.monotonic() + timeout_s
    started = time.monotonic()
    next_report = started
    while True:
        progress = check.scoring_progress()
        db.session.remove()
        done = progress.waiting == 0
        if done or time.monotonic() >= deadline:
            break
        if time.monotonic() >= next_report:
            log.info(
                "scoring: %d scored, %d failed, %d waiting",
                progress.scored, progress.failed, progress.waiting,
            )  # fmt: skip
            next_report += 30
        time.sleep(5)
    figures: dict[str, Any] = asdict(progress)
    figures["waited_s"] = round(time.monotonic() - started, 1)
    figures["all_done"] = done
    if done and progress.first_submitted and progress.last_scored:
        figures["first_submission_to_last_score_s"] = round(
            (progress.last_scored - progress.first_submitted).total_seconds(), 1
        )
        assert progress.last_submitted is not None
        figures["last_submission_to_last_score_s"] = round(
            (progress.last_scored - progress.last_submitted).total_seconds(), 1
        )
    return figures


if __name__ == "__main__":
    sys.exit(main())
