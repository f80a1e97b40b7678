"""The autosave script in Chromium, with one attempt open in two tabs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from app import db
from courses.models import QuizAttempt
from courses.quizzes import questions_of, start_attempt
from tests.conftest import PASSWORD, build_app, make_user
from tests.courses.conftest import make_quiz

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    """Serve a new app on a free loopback port; yield it and its base URL."""
    app = build_app(tmp_path)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_stale_tab_shows_newer_answer(served: tuple[Any, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    app, base = served
    with app.app_context():
        user = make_user("t@example.com", "trainee")
        quiz = make_quiz("::Greeting::Name a greeting. {=Hello =Hi}", category="")
        attempt = start_attempt(user.id, quiz)
        attempt_id = attempt.id
        field = f"#q{questions_of(attempt)[0].id}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
            ],
        )
        try:
            context = browser.new_context()
            login = context.new_page()
            login.goto(f"{base}/login")
            login.fill("input[name=email]", "t@example.com")
            login.fill("input[name=password]", PASSWORD)
            login.click("form button[type=submit], form input[type=submit]")
            login.wait_for_load_state()
            url = f"{base}/learn/attempts/{attempt_id}"
            stale = context.new_page()
            stale.goto(url)
            fresh = context.new_page()
            fresh.goto(url)
            # The second tab saves an answer that the first tab has not seen.
            fresh.fill(field, "Hi")
            expect(fresh.locator(".autosave-state")).to_contain_text(
                "All answers saved", timeout=15_000
            )
            stale.fill(field, "Hello")
            status = stale.locator(".autosave-state")
            expect(status).to_contain_text("Another tab or window", timeout=15_000)
            expect(stale.locator(field)).to_have_value("Hi")
            # Typing again in the first tab now saves, on the newer revision.
            stale.fill(field, "Hello there")
            expect(status).to_contain_text("All answers saved", timeout=15_000)
        finally:
            browser.close()
    with app.app_context():
        attempt = db.session.get_one(QuizAttempt, attempt_id)
        assert attempt.answers[0].response == {"text": "Hello there"}
