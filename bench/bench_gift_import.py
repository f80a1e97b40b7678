"""Time the import of a generated GIFT bank of 10,000 questions.

Usage: python bench/bench_gift_import.py [--questions N] [--runs R]

The bank mixes every GIFT question type with titles, feedback, escapes,
Unicode and ten categories. Two figures are timed: parsing alone
(``read_gift``), and the whole import into a fresh SQLite database through
``import_questions``, as ``frontline import-questions`` runs it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TEMPLATES = (
    "::Choice {n}::Which reply is best for customer {n} (Zoë)? {{\n"
    "\t=Hi, thanks for waiting\\: I'm checking now.#Right.\n"
    "\t~pls wait#Chat-speak.\n\t~WAIT!!!#Shouting.\n}}\n",
    "::Multiple {n}::Which are good habits? {{\n\t~%50%Greet\n\t~%50%Apologise once\n"
    "\t~%-100%Blame#No.\n}}\n",
    "::TF {n}::Capitals read as shouting \\= true? {{TRUE#Wrong.#Right.}}\n",
    '::Short {n}::Write the word for "pls". {{=please#Yes. =%50%plz#Half.}}\n',
    "::Number {n}::First reply limit in seconds? {{#60:5#Under a minute.}}\n",
    "::Match {n}::Match them. {{\n\t=thx -> thank you\n\t=u -> you\n"
    "\t=asap -> as soon as possible\n}}\n",
    "::Essay {n}::[markdown]Describe **a good chat** № {n}. {{}}\n",
    "::Привет {n}::Γειά σου κόσμε — مرحبا — 漢字 {n}? {{=да ~нет}}\n",
)


def generated_bank(count: int) -> str:
    chunks = []
    for n in range(count):
        if n % 1000 == 0:
            chunks.append(f"$CATEGORY: Bench/Part {n // 1000}\n")
        chunks.append(TEMPLATES[n % len(TEMPLATES)].format(n=n))
    return "\n".join(chunks)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def time_import(source: bytes) -> tuple[float, int]:
    from flask_migrate import upgrade

    from app import create_app, db
    from courses.banks import import_questions

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite",
                "LOG_LEVEL": "WARNING",
                "CELERY_BROKER_URL": "memory://",
            },
            instance_path=folder,
        )
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            summary = import_questions(source, "Bench", source="bench.gift")
            elapsed = time.perf_counter() - started
            db.engine.dispose()
    return elapsed, summary.total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import logging

    from courses.gift import read_gift

    logging.disable(logging.WARNING)
    text = generated_bank(args.questions)
    source = text.encode()
    parse_times, import_times = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        result = read_gift(text)
        parse_times.append(time.perf_counter() - started)
        assert not result.issues, result.issues[:3]
        assert len(result.questions) == args.questions
        elapsed, total = time_import(source)
        assert total == args.questions
        import_times.append(elapsed)
    python = platform.python_version()
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, Python {python}")
    print(f"bank: {args.questions} questions, {len(source) / 1024:.0f} KiB")
    print("parse only, s: " + ", ".join(f"{t:.2f}" for t in parse_times))
    print("full import, s: " + ", ".join(f"{t:.2f}" for t in import_times))
    print(f"full import median: {statistics.median(import_times):.2f} s")


if __name__ == "__main__":
    main()
