"""Time ``assess_writing`` with Harper on an answer of about 150 words.

Usage: python bench/bench_writing.py [--runs N]

Run it in a fresh process: the cold figures include building the Harper linter
and the first check. Warm figures are over ``--runs`` further calls.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# A chat-support email reply of 153 words with slips that learners make:
# misspellings, a verb that does not agree and comma splices.
ANSWER = (
    "Dear Mrs Johnson,\n\n"
    "Thank you for contacting us about your order 48213. I am sorry to hear that "
    "the parcel has not arrived yet, I understand how frustrating this must be. "
    "I have checked the tracking details and I can see that the courier tryed to "
    "deliver it on Tuesday, but nobody was at home. The parcel are now waiting at "
    "the local depot, which is open from 8 am to 6 pm every day exept Sunday. "
    "You can pick it up with your ID, or you can book a new delivery on the "
    "courier website at no extra cost. If you prefer, I can also arrange a refund "
    "today, the money will be back on your card within five working days. Please "
    "let me know which option you would like and I will take care of it right "
    "away. Thanks again for your patience and for shopping with us.\n\n"
    "Kind regards,\nDaniel"
)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(share * (len(ordered) - 1)))
    return ordered[index]


def main() -> int:
    """Run the benchmark and print the figures in milliseconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=200, help="number of warm calls (default: 200)"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    from scoring.grammar import get_checker
    from scoring.writing import assess_writing

    imported = time.perf_counter()
    checker = get_checker("harper")
    built = time.perf_counter()
    result = assess_writing(ANSWER, checker=checker, min_words=120)
    first = time.perf_counter()

    timings = []
    for _ in range(args.runs):
        call_started = time.perf_counter()
        assess_writing(ANSWER, checker=checker, min_words=120)
        timings.append((time.perf_counter() - call_started) * 1000)

    print(f"machine: {os.cpu_count()} CPUs, {cpu_model()}")
    print(
        f"python {platform.python_version()}, harper-py {metadata.version('harper-py')}"
    )
    print(
        f"answer: {result['words']} words, {len(result['matches'])} matches, "
        f"score {result['score']} ({result['cefr']})"
    )
    cold = (
        f"import {(imported - started) * 1000:.0f} ms, "
        f"checker {(built - imported) * 1000:.0f} ms, "
        f"first call {(first - built) * 1000:.1f} ms"
    )
    print(f"cold: {cold}")
    print(
        f"warm over {args.runs} calls: median {statistics.median(timings):.2f} ms, "
        f"p95 {percentile(timings, 0.95):.2f} ms, mean {statistics.fmean(timings):.2f} "
        f"ms, max {max(timings):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
