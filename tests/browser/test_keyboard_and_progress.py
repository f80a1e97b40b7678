"""Keyboard-only use and the announced scoring progress, in Chromium.

The module's server starts without its Celery worker, so a submitted answer
stays in scoring until a test starts the worker.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from app import db
from assessments.services import start_attempt
from recruit.models import StageKind, User
from recruit.services import apply
from tests.browser.conftest import (
    SCORING_TIMEOUT_MS,
    LiveServer,
    Screenshots,
    in_app,
)
from tests.browser.steps import SCORED, task
from tests.conftest import PASSWORD, make_user
from tests.factories import language_opening

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ANSWER = (
    "Hello Ms Carter, thank you for your message, and I am sorry that your parcel "
    "is late. I have checked your order: the carrier will deliver it tomorrow "
    "morning, and I will email you the tracking link today."
)
MAX_TABS = 60


@pytest.fixture(scope="module")
def worker_at_start() -> bool:
    return False


def candidate_attempt(server: LiveServer, email: str, name: str) -> str:
    """Create a candidate who has started the language test; return its URL."""

    def seed() -> str:
        opening = language_opening(title=f"Chat agent for {email}")
        make_user(email, "candidate", name=name)
        user = db.session.query(User).filter_by(email=email).one()
        application = apply(user, opening)
        stage = opening.stage(StageKind.LANGUAGE)
        assert stage is not None
        attempt = start_attempt(application.id, stage.assessments[0])
        return f"/attempts/{attempt.id}"

    return in_app(server, seed)


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until ``target`` has the focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    pytest.fail(f"{MAX_TABS} presses of Tab never reached {target}")


def test_keyboard_only_login_and_answer(
    live_server: LiveServer, open_page: Callable[[], Page], screenshots: Screenshots
) -> None:
    attempt_url = candidate_attempt(live_server, "kim.keys@example.com", "Kim Keys")
    page = open_page()
    page.goto("/login")
    expect(page.get_by_label("Email")).to_have_attribute("autocomplete", "email")
    expect(page.get_by_label("Password")).to_have_attribute(
        "autocomplete", "current-password"
    )
    tab_to(page, page.get_by_label("Email"))
    page.keyboard.type("kim.keys@example.com")
    tab_to(page, page.get_by_label("Password"))
    page.keyboard.type(PASSWORD)
    screenshots.take(page, "login-by-keyboard")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Log out Kim Keys")).to_be_visible()

    page.goto(attempt_url)
    writing = task(page, 1)
    tab_to(page, writing.get_by_label("Your answer"))
    page.keyboard.type(ANSWER)
    expect(writing.locator(".word-count")).to_have_text(re.compile(r"^\d+ words$"))
    submit = writing.get_by_role("button", name="Submit answer")
    tab_to(page, submit)
    screenshots.take(page, "answer-by-keyboard")
    page.keyboard.press("Space")

    expect(page.get_by_text("Answer submitted.")).to_be_visible()
    expect(task(page, 1).locator(".answer-text")).to_have_text(ANSWER)
    screenshots.take(page, "answer-submitted")
    screenshots.assert_saved(
        "login-by-keyboard", "answer-by-keyboard", "answer-submitted"
    )


def test_scoring_progress_is_announced(
    live_server: LiveServer, open_page: Callable[[], Page], screenshots: Screenshots
) -> None:
    attempt_url = candidate_attempt(
        live_server, "pat.progress@example.com", "Pat Progress"
    )
    page = open_page()
    page.goto("/login")
    page.get_by_label("Email").fill("pat.progress@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(attempt_url)
    writing = task(page, 1)
    writing.get_by_label("Your answer").fill(ANSWER)
    # The page requests the scores as soon as it shows a waiting answer,
    # then every two seconds. By the second reply the page has handled the first.
    status_url = re.compile(r"/attempts/\d+/status$")
    with page.expect_response(status_url):
        writing.get_by_role("button", name="Submit answer").click()
    with page.expect_response(status_url) as polled:
        pass
    assert polled.value.json()["items"]

    status = task(page, 1).get_by_role("status")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_have_text("Submitted. Scoring in progress…")
    # The spinner is decoration: the text in the live region is what is read out.
    expect(status.locator(".spinner")).to_have_attribute("aria-hidden", "true")
    screenshots.take(page, "scoring-in-progress")

    live_server.start_worker()
    # The page polls for the score and updates the live region in place.
    expect(status).to_have_text(f"✓ {SCORED}", timeout=SCORING_TIMEOUT_MS)
    expect(status.locator(".spinner")).to_have_count(0)
    screenshots.take(page, "scoring-done")
    screenshots.assert_saved("scoring-in-progress", "scoring-done")
