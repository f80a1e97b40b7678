"""The quiz autosave script with one attempt open in two tabs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from app import db
from courses.models import QuizAttempt
from courses.quizzes import questions_of, start_attempt
from tests.browser.conftest import LiveServer, in_app, log_in
from tests.conftest import make_user
from tests.courses.conftest import make_quiz

pytestmark = [pytest.mark.browser]

TRAINEE = "tabs.trainee@example.com"


@pytest.fixture(scope="module")
def worker_at_start() -> bool:
    """Autosave needs no Celery worker."""
    return False


def test_stale_tab_shows_newer_answer(
    live_server: LiveServer, open_page: Callable[[], Page]
) -> None:
    def seed() -> tuple[int, str]:
        user = make_user(TRAINEE, "trainee")
        quiz = make_quiz("::Greeting::Name a greeting. {=Hello =Hi}", category="")
        attempt = start_attempt(user.id, quiz)
        return attempt.id, f"#q{questions_of(attempt)[0].id}"

    attempt_id, field = in_app(live_server, seed)
    stale = open_page()
    log_in(stale, TRAINEE)
    # A second tab of the same browser session.
    fresh = stale.context.new_page()
    url = f"/learn/attempts/{attempt_id}"
    stale.goto(url)
    fresh.goto(url)
    # The second tab saves an answer that the first tab has not seen.
    fresh.fill(field, "Hi")
    expect(fresh.locator(".autosave-state")).to_contain_text("All answers saved")
    stale.fill(field, "Hello")
    status = stale.locator(".autosave-state")
    expect(status).to_contain_text("Another tab or window saved a newer answer")
    expect(stale.locator(field)).to_have_value("Hi")
    # Typing again in the first tab now saves, on the newer revision.
    stale.fill(field, "Hello there")
    expect(status).to_contain_text("All answers saved")

    def saved_response() -> dict[str, str]:
        return db.session.get_one(QuizAttempt, attempt_id).answers[0].response

    assert in_app(live_server, saved_response) == {"text": "Hello there"}
