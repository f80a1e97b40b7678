"""Measure certificates rendered per second per core with ``render_certificate``.

Usage: python bench/bench_certificates.py [--seconds S] [--processes N]

Each process renders certificates for ``--seconds`` seconds, cycling through
names in every supported script (Latin with diacritics, Cyrillic, Greek,
Arabic, Hebrew, Chinese, Japanese, Korean, and a long name that wraps). With N
processes on N cores, the rate per core is the total rate divided by N. Fonts
are registered before the clock starts, as in a long-lived worker.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import sys
import time
from datetime import date
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NAMES = (
    "Zoë Ångström-Łukasiewicz",
    "Привет мир",
    "Γειά σου κόσμε",
    "مرحبا بالعالم",
    "שלום עולם",
    "王小明",
    "グーリンダイのポンポコピーのポンポコナーの",
    "김민준",
    "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z AA BB CC DD EE FF GG HH "
    "II JJ KK LL MM NN OO PP QQ RR SS TT UU VV WW XX YY ZZ",
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


def render_for(seconds: float) -> tuple[int, int, float]:
    """Render certificates for ``seconds``; return the count, bytes and CPU time.

    CPU time is this process's own, so the rate per CPU second holds even when
    other programs share the cores.
    """
    from courses.certificates import registered_fonts, render_certificate

    registered_fonts()
    count = size = 0
    cpu_start = time.process_time()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        name = NAMES[count % len(NAMES)]
        code = f"FL-BENCH{count:06d}-SIGNATURE"
        pdf = render_certificate(
            name=name,
            course="Live chat etiquette",
            issued_on=date(2026, 12, 4),
            certificate_id=code,
            verify_url=f"http://127.0.0.1:5000/verify/{code}",
        )
        count += 1
        size += len(pdf)
    return count, size, time.process_time() - cpu_start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        started = time.perf_counter()
        results = pool.map(render_for, [args.seconds] * args.processes)
        wall = time.perf_counter() - started
    total = sum(count for count, _size, _cpu in results)
    size = sum(size for _count, size, _cpu in results)
    cpu = sum(cpu for _count, _size, cpu in results)
    python = platform.python_version()
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, Python {python}")
    versions = {name: metadata.version(name) for name in ("reportlab", "qrcode")}
    print(", ".join(f"{name} {version}" for name, version in versions.items()))
    print(f"processes: {args.processes}, {args.seconds:g} s each (wall {wall:.1f} s)")
    print(f"certificates: {total}, mean size {size / max(total, 1) / 1024:.1f} KiB")
    rate = total / args.seconds
    print(
        f"wall-clock rate: {rate:.1f} per second, {rate / args.processes:.1f} per core"
    )
    print(f"CPU time: {cpu:.1f} s, {total / cpu:.1f} certificates per CPU second")


if __name__ == "__main__":
    main()
