"""The servers under test: a new PostgreSQL database, a Redis database, gunicorn
and a Celery worker, each started and cleaned up by the load benchmark."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("bench.load")


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """Create a database named ``frontline_load_<random>`` and drop it on exit."""
    import psycopg

    name = f"frontline_load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        log.info("created database %s", name)
        try:
            yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            log.info("dropped database %s", name)


@contextmanager
def redis_database(server_url: str, number: int) -> Iterator[str]:
    """Yield the URL of Redis database ``number`` and delete its keys on exit.

    Raises RuntimeError when the database already contains keys, because they
    belong to someone else and would be deleted with the benchmark's own.
    """
    import redis

    url = f"{server_url.rstrip('/')}/{number}"
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        if client.dbsize():
            raise RuntimeError(
                f"Redis database {number} at {server_url} is not empty; choose an "
                "unused one with --redis-db"
            )
        yield url
    finally:
        keys = list(client.scan_iter(count=1000))
        if keys:
            client.delete(*keys)
        log.info("deleted %d Redis keys from database %d", len(keys), number)
        client.close()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_environment(settings: dict[str, str]) -> dict[str, str]:
    """Return this process's environment with the app's settings and import path."""
    environment = {**os.environ, **settings}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
    )
    return environment


def run_cli(arguments: list[str], environment: dict[str, str]) -> None:
    """Run ``frontline ARGUMENTS``, raising CalledProcessError on a non-zero exit."""
    command = [sys.executable, "-c", "import app; app.main()", *arguments]
    subprocess.run(command, env=environment, cwd=ROOT, check=True)  # noqa: S603


class Process:
    """A child process whose output goes to a log file, stopped with SIGTERM."""

    def __init__(
        self, name: str, command: list[str], environment: dict[str, str], log_path: Path
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._log: IO[bytes] = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(  # noqa: S603
            command,
            env=environment,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.info("started %s (pid %d), log %s", name, self.popen.pid, log_path)

    def running(self) -> bool:
        return self.popen.poll() is None

    def cpu_seconds(self) -> float:
        """Return the user and system CPU time of the process and its children."""
        import psutil

        try:
            root = psutil.Process(self.popen.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def stop(self, timeout_s: float = 30.0) -> int:
        """Send SIGTERM, wait up to ``timeout_s``, then SIGKILL. Return the exit code.

        The signal goes to the child's own process group, so gunicorn's and
        Celery's worker processes stop with it.
        """
        if self._log.closed:
            return self.popen.returncode
        if self.running():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                log.warning(
                    "%s did not stop in %.0f s; killing it", self.name, timeout_s
                )
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()
        log.info("stopped %s with exit code %s", self.name, self.popen.returncode)
        return self.popen.returncode


def start_gunicorn(
    port: int,
    workers: int,
    threads: int,
    keep_alive_s: int,
    environment: dict[str, str],
    folder: Path,
) -> Process:
    """Start gunicorn on 127.0.0.1:``port`` with gthread workers and an access log.

    The access log's last two fields are the status code and the time the
    request took in microseconds.
    """
    command = [
        sys.executable, "-m", "gunicorn",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--threads", str(threads),
        "--worker-class", "gthread",
        "--timeout", "120",
        "--keep-alive", str(keep_alive_s),
        "--access-logfile", str(folder / "access.log"),
        "--access-logformat", '%(m)s "%(U)s" %(s)s %(D)s',
        "app:create_app()",
    ]  # fmt: skip
    return Process("gunicorn", command, environment, folder / "gunicorn.log")


def start_worker(
    concurrency: int, environment: dict[str, str], folder: Path
) -> Process:
    """Start ``frontline worker`` and wait until Celery reports it ready."""
    command = [
        sys.executable, "-c", "import app; app.main()",
        "worker", f"--concurrency={concurrency}",
    ]  # fmt: skip
    worker = Process("celery worker", command, environment, folder / "worker.log")
    wait_for(
        lambda: " ready." in worker.log_path.read_text(errors="replace"),
        worker,
        timeout_s=120,
    )
    return worker


def wait_for_http(url: str, process: Process, timeout_s: float = 60) -> None:
    """Wait until ``url`` returns status 200 (see ``wait_for`` for the errors)."""

    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    wait_for(answers, process, timeout_s)


def wait_for(check: Callable[[], bool], process: Process, timeout_s: float) -> None:
    """Poll ``check()`` every 0.5 s until it returns true.

    Raises RuntimeError when ``process`` exits or ``timeout_s`` passes first.
    """
    deadline = time.monotonic() + timeout_s
    while not check():
        if not process.running():
            raise RuntimeError(
                f"{process.name} exited with code {process.popen.returncode}; "
                f"see {process.log_path}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{process.name} was not ready after {timeout_s:.0f} s; "
                f"see {process.log_path}"
            )
        time.sleep(0.5)


def machine_busy_seconds() -> float:
    """Return the CPU seconds all cores spent outside idle and I/O wait since boot."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(value) for value in fields]
    idle = ticks[3] + ticks[4]
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")
