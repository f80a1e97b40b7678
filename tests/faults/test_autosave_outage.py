"""The test page in Chromium while PostgreSQL is out of reach: the typed text
stays in localStorage and reaches the server after the outage without a key
press.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from app import RETRY_AFTER_S, db
from assessments.models import Response
from recruit.models import Opening
from tests.assessments.test_flow import start
from tests.conftest import PASSWORD, log_in
from tests.faults.conftest import proxied_app
from tests.faults.proxy import TcpProxy, free_port
from tests.faults.workers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
DRAFT = "Dear Ms Carter, thank you for your patience."
LONGER_DRAFT = DRAFT + " Your parcel is at the local depot."
WAIT_S = 60


@pytest.fixture
def live_server(
    tmp_path: Path, database_proxy: tuple[str, TcpProxy]
) -> Iterator[tuple[Flask, str, TcpProxy]]:
    """Serve an app on the proxied database over HTTP from a thread."""
    database_url, proxy = database_proxy
    app = proxied_app(tmp_path, database_url)
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}", proxy
    finally:
        server.shutdown()
        thread.join(timeout=30)
        with app.app_context():
            db.engine.dispose()


def draft_text(app: Flask) -> str | None:
    with app.app_context():
        return db.session.scalars(select(Response.text)).first()


def test_autosave_kept_and_sent_again(
    live_server: tuple[Flask, str, TcpProxy],
) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    app, base_url, proxy = live_server
    with app.app_context():
        client = app.test_client()
        log_in(client, "cand@example.com")
        opening_id = db.session.scalars(select(Opening.id)).one()
        attempt_id, items = start(client, opening_id)
    writing = items[0]
    storage_key = f"frontline-attempt-{attempt_id}-item-{writing}"
    area = f'textarea[name="item{writing}-answer"]'

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(WAIT_S * 1000)
            page.goto(f"{base_url}/login")
            page.fill('input[name="email"]', "cand@example.com")
            page.fill('input[name="password"]', PASSWORD)
            with page.expect_navigation():
                page.press('input[name="password"]', "Enter")
            page.goto(f"{base_url}/attempts/{attempt_id}")

            page.fill(area, DRAFT)
            wait_for(lambda: draft_text(app) == DRAFT, "the first autosave", WAIT_S)

            proxy.stop()
            try:
                page.fill(area, LONGER_DRAFT)
                state = page.locator(f"#item-{writing} .autosave-state")
                state.filter(has_text="kept in this browser").wait_for()
                kept = json.loads(
                    page.evaluate(f"localStorage.getItem({storage_key!r})")
                )
                assert kept == {"text": LONGER_DRAFT, "unsaved": True}
            finally:
                proxy.start()

            # No key is pressed: the script sends the text again after Retry-After.
            wait_for(
                lambda: draft_text(app) == LONGER_DRAFT,
                f"the autosave sent again after {RETRY_AFTER_S} s",
                WAIT_S,
                interval_s=0.5,
            )
            state.filter(has_text="Draft saved at").wait_for()
            kept = json.loads(page.evaluate(f"localStorage.getItem({storage_key!r})"))
            assert kept == {"text": LONGER_DRAFT, "unsaved": False}
        finally:
            browser.close()
