"""Time ``score_chat`` with Harper on a live chat of 20 messages.

Usage: python bench/bench_etiquette.py [--runs N]

Run it in a fresh process: the cold figures include importing the scorer,
building the Harper checker and the first call. Warm figures are over
``--runs`` further calls on the same chat.
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

from bench.bench_writing import cpu_model, percentile  # noqa: E402

# A 20-message chat about a late parcel (10 from each side), with slips that
# the rules and Harper find: capitals, chat-speak, a misspelling, negative
# wording and a slow reply.
TURNS = (
    ("customer", "Hi, my order 48213 still hasn't arrived and I'm really annoyed."),
    ("agent", "Hi Dana, thanks for reaching out. I'm sorry about the delay."),
    ("customer", "It was supposed to come last Friday."),
    ("agent", "I understand how frustrating that is. Let me check the tracking."),
    ("customer", "OK."),
    ("agent", "The parcel is held at the Springfield depot, the label was damaged."),
    ("customer", "So is it lost?"),
    ("agent", "Unfortunately we can't send the same parcel on. PLS bear with me."),
    ("customer", "What does that mean for me?"),
    ("agent", "What I can do is send you a new mixer today by express shiping."),
    ("customer", "Will it arrive before Saturday?"),
    ("agent", "Yes, it will arrive by Friday. I'll email you the tracking link."),
    ("customer", "Can I keep the old one if it turns up?"),
    ("agent", "If it turns up, just refuse the delivery and it comes back to us."),
    ("customer", "Fine. And the birthday is saved then!!"),
    ("agent", "Great! I've also added a $10 voucher for the trouble."),
    ("customer", "That's kind, thank you."),
    ("agent", "You're welcome, Dana. Is there anything else I can help with?"),
    ("customer", "No, that's all."),
    ("agent", "Thanks for chatting with us today. How did I do? Your feedback helps."),
)
SECONDS = (0, 9, 25, 38, 50, 70, 85, 101, 120, 140, 160, 171, 190, 260, 280, 290,
           310, 318, 330, 341)  # fmt: skip


def transcript() -> list[dict[str, str]]:
    return [
        {
            "role": role,
            "text": text,
            "at": f"2026-03-02T10:{second // 60:02d}:{second % 60:02d}Z",
        }
        for (role, text), second in zip(TURNS, SECONDS, strict=True)
    ]


def main() -> int:
    """Run the benchmark and print the figures in milliseconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=300, help="number of warm calls (default: 300)"
    )
    args = parser.parse_args()
    chat = transcript()

    started = time.perf_counter()
    from scoring.etiquette import score_chat
    from scoring.grammar import get_checker

    imported = time.perf_counter()
    checker = get_checker("harper")
    built = time.perf_counter()
    result = score_chat(chat, checker=checker, customer_name="Dana Whitfield")
    first = time.perf_counter()

    timings = []
    for _ in range(args.runs):
        call_started = time.perf_counter()
        score_chat(chat, checker=checker, customer_name="Dana Whitfield")
        timings.append((time.perf_counter() - call_started) * 1000)

    print(f"machine: {len(os.sched_getaffinity(0))} CPUs (nproc), {cpu_model()}")
    print(
        f"python {platform.python_version()}, harper-py {metadata.version('harper-py')}"
    )
    rules = sorted({finding["rule"] for finding in result["findings"]})
    print(
        f"chat: {len(chat)} messages, score {result['score']}, "
        f"{len(result['findings'])} findings ({', '.join(rules)})"
    )
    print(
        f"cold: import {(imported - started) * 1000:.0f} ms, "
        f"checker {(built - imported) * 1000:.0f} ms, "
        f"first call {(first - built) * 1000:.1f} ms"
    )
    print(
        f"warm over {args.runs} calls: median {statistics.median(timings):.2f} ms, "
        f"p95 {percentile(timings, 0.95):.2f} ms, max {max(timings):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
