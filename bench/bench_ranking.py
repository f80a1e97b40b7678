"""Time the ranking page and ``frontline rank`` on 100,000 generated applications.

Runs on SQLite (a file in a temporary folder) and on PostgreSQL (a database it
creates and drops). For the filtered, sorted first page it reports the time of
the whole request through the Flask test client beside the time of its bare SQL
(the count and the page query, run on a raw connection), and their ratio.

    python bench/bench_ranking.py [--rows 100000] [--runs 20] [--backend both]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get(
    "FRONTLINE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "bench password"  # noqa: S105 - a throwaway account in a throwaway database
BANDS = ("A1", "A2", "B1", "B2", "C1", "C2")
BATCH = 10_000


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'bench.sqlite'}"
        return
    import psycopg

    name = f"frontline_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def generate(rows: int, rng: random.Random) -> dict[str, Any]:
    """Insert an opening, a recruiter and ``rows`` scored applications."""
    from app import db
    from recruit.models import (
        Application,
        ApplicationLanguage,
        Role,
        StageKind,
        StageResult,
        User,
    )
    from recruit.services import create_opening

    opening = create_opening("Benchmark opening", languages=["en", "es"])
    recruiter = User(
        email="rec@example.com",
        name="Rec",
        role=Role.RECRUITER,
        password_hash=generate_password_hash(PASSWORD),
    )
    db.session.add(recruiter)
    db.session.commit()
    stages = {stage.kind: stage for stage in opening.stages}
    ordered = list(opening.stages)
    password_hash = generate_password_hash("not used")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    scored = (
        StageKind.LANGUAGE,
        StageKind.COMMUNICATION,
        StageKind.ATTITUDE,
        StageKind.TROUBLESHOOTING,
    )
    for offset in range(0, rows, BATCH):
        count = min(BATCH, rows - offset)
        users, applications, results, languages = [], [], [], []
        for index in range(offset, offset + count):
            user_id = index + 2  # the recruiter is user 1
            users.append(
                {
                    "id": user_id,
                    "email": f"c{index}@example.com",
                    "name": f"Candidate {index:06d}",
                    "password_hash": password_hash,
                    "role": "candidate",
                    "active": True,
                    "created_at": now,
                }
            )
            depth = rng.randint(1, 5)
            ability = rng.gauss(62, 14)
            language = max(0.0, min(100.0, round(ability + rng.gauss(0, 8), 1)))
            composite = max(0.0, min(100.0, round(ability + rng.gauss(0, 5), 2)))
            applied = start + timedelta(minutes=rng.randint(0, 400_000))
            band = BANDS[min(5, int(language // 17))]
            applications.append(
                {
                    "id": index + 1,
                    "candidate_id": user_id,
                    "opening_id": opening.id,
                    "current_stage_id": ordered[depth].id,
                    "status": rng.choice(
                        ("active", "active", "active", "hold", "rejected")
                    ),
                    "composite_score": composite,
                    "language_score": language,
                    "language_cefr": band,
                    "knocked_out": rng.random() < 0.15,
                    "needs_review": False,
                    "created_at": applied,
                    "updated_at": applied,
                    "stage_entered_at": applied + timedelta(days=rng.uniform(0, 20)),
                }
            )
            for kind in scored[:depth]:
                score = max(0.0, min(100.0, round(ability + rng.gauss(0, 10), 1)))
                results.append(
                    {
                        "application_id": index + 1,
                        "stage_id": stages[kind].id,
                        "score": score,
                        "passed": score >= 50,
                        "complete": True,
                        "needs_review": False,
                        "details": {},
                        "updated_at": now,
                    }
                )
            for code in ("en", "es") if index % 3 == 0 else ("en",):
                languages.append(
                    {
                        "application_id": index + 1,
                        "language": code,
                        "tested_score": language,
                        "tested_cefr": band,
                    }
                )
        db.session.execute(insert(User), users)
        db.session.execute(insert(Application), applications)
        db.session.execute(insert(StageResult), results)
        db.session.execute(insert(ApplicationLanguage), languages)
        db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text("SELECT setval('user_id_seq', (SELECT max(id) FROM \"user\"))")
        )
        db.session.execute(
            text(
                "SELECT setval('application_id_seq', (SELECT max(id) FROM application))"
            )
        )
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return {
        "opening_id": opening.id,
        "language_stage": stages[StageKind.LANGUAGE].id,
        "communication_stage": stages[StageKind.COMMUNICATION].id,
    }


def timed(function: Callable[[], Any], runs: int) -> list[float]:
    function()  # warm caches and the query plan
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms"


def bare_sql(app: Any, opening_id: int, args: dict[str, str]) -> Callable[[], None]:
    """Replay the statements that one ``ranking_page`` call runs, on a raw connection.

    That is the count, the page query and the eager loads of candidates and
    stage results, without the ORM, Flask or the template.
    """
    from sqlalchemy import event
    from werkzeug.datastructures import MultiDict

    from app import db
    from recruit.models import Opening
    from recruit.ranking import parse_filter, ranking_page

    statements: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        statements.append((statement, parameters))

    with app.test_request_context():
        opening = db.session.get(Opening, opening_id)
        stages = [stage for stage in opening.stages if stage.enabled]
        flt = parse_filter(MultiDict(args), stages)
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            ranking_page(opening, flt)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    engine = db.engine

    def run() -> None:
        with engine.connect() as connection:
            for statement, parameters in statements:
                connection.exec_driver_sql(statement, parameters).fetchall()

    return run


def run_cli(database_url: str, folder: Path, *args: str) -> float:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FRONTLINE_INSTANCE_DIR": str(folder / "instance"),
        "FRONTLINE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    started = time.perf_counter()
    subprocess.run(  # noqa: S603
        [str(Path(sys.executable).parent / "frontline"), *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    return (time.perf_counter() - started) * 1000


def bench(backend: str, rows: int, runs: int) -> None:
    from flask_migrate import upgrade

    from app import create_app, db

    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
        folder = Path(tmp)
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "bench",
                "CELERY_BROKER_URL": "memory://",
                "CELERY_RESULT_BACKEND": "cache+memory://",
                "LOG_LEVEL": "WARNING",
                "WTF_CSRF_ENABLED": False,
            },
            instance_path=str(folder / "instance"),
        )
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            ids = generate(rows, random.Random(7))
            generated = time.perf_counter() - started
        print(f"\n## {backend}: {rows:,} applications generated in {generated:.1f} s")
        client = app.test_client()
        client.post("/login", data={"email": "rec@example.com", "password": PASSWORD})
        opening_id = ids["opening_id"]
        views = {
            "default ranking, first page": {"per_page": "50"},
            "filtered and sorted, first page": {
                "status": "active",
                "cefr_min": "B2",
                f"min_{ids['language_stage']}": "60",
                "sort": f"stage:{ids['communication_stage']}",
                "per_page": "50",
            },
            "filtered by language, page 100": {
                "language": "es",
                "sort": "composite",
                "page": "100",
                "per_page": "50",
            },
        }
        for label, args in views.items():
            query = "&".join(f"{key}={value}" for key, value in args.items())
            path = f"/recruit/openings/{opening_id}?{query}"

            def page(path: str = path) -> None:
                response = client.get(path)
                assert response.status_code == 200, response.status_code

            with app.app_context():
                page_times = timed(page, runs)
                sql_times = timed(bare_sql(app, opening_id, args), runs)
            ratio = statistics.median(page_times) / statistics.median(sql_times)
            print(
                f"- {label}: page {summary(page_times)}; bare SQL "
                f"{summary(sql_times)}; ratio {ratio:.1f}"
            )
        top = [run_cli(url, folder, "rank", str(opening_id), "--limit", "50")]
        top += [run_cli(url, folder, "rank", str(opening_id), "--limit", "50")]
        full = run_cli(url, folder, "rank", str(opening_id))
        print(
            f"- frontline rank --limit 50: {min(top):.0f} ms (best of 2, whole "
            f"process); all {rows:,} rows as CSV: {full:.0f} ms"
        )
        with app.app_context():
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per view")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both"
    )
    options = parser.parse_args()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(
        f"machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"{platform.system()}"
    )
    backends = (
        ["sqlite", "postgresql"] if options.backend == "both" else [options.backend]
    )
    for backend in backends:
        bench(backend, options.rows, options.runs)


if __name__ == "__main__":
    main()
