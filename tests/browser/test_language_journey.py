"""The language stage in Chromium: a new candidate records through the microphone,
and a recruiter finds the scored answer in the ranking and its evidence."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from app import db
from recruit.demo import DEMO_OPENING
from recruit.models import Application, User
from tests.browser.conftest import RECRUITER, LiveServer, Screenshots, in_app, log_in
from tests.browser.steps import (
    apply_to,
    fill_screening,
    take_language_stage,
    wait_until_scored,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def register(page: Page, name: str, email: str) -> None:
    page.goto("/")
    page.get_by_role("link", name="Create account").click()
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email").fill(email)
    for label in ("Password", "Repeat the password"):
        password = page.get_by_label(label, exact=True)
        # Password managers offer a new password here, not a saved one.
        expect(password).to_have_attribute("autocomplete", "new-password")
        password.fill("a long password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("button", name=f"Log out {name}")).to_be_visible()


def test_recorded_answer_reaches_ranking(
    live_server: LiveServer,
    demo_opening: int,
    open_page: Callable[[], Page],
    screenshots: Screenshots,
) -> None:
    candidate = open_page()
    register(candidate, "Noor Haddad", "noor@example.com")
    apply_to(candidate, DEMO_OPENING)
    screenshots.take(candidate, "applied")
    fill_screening(candidate, live_server, demo_opening, screenshots)
    take_language_stage(candidate, screenshots, record_seconds=12)
    wait_until_scored(candidate, 3)
    screenshots.take(candidate, "language-scored")

    def composite() -> float | None:
        user = db.session.query(User).filter_by(email="noor@example.com").one()
        application = db.session.query(Application).filter_by(candidate=user).one()
        return application.composite_score

    assert in_app(live_server, composite) is not None

    recruiter = open_page()
    log_in(recruiter, RECRUITER)
    recruiter.get_by_role("link", name="Openings").click()
    recruiter.get_by_role("link", name=DEMO_OPENING).click()
    row = recruiter.get_by_role("row").filter(
        has=recruiter.get_by_role("link", name="Noor Haddad")
    )
    expect(row).to_have_count(1)
    composite_cell = row.get_by_title("Sub-scores and evidence")
    expect(composite_cell).to_have_text(re.compile(r"^\d+\.\d$"))
    screenshots.take(recruiter, "ranking")
    row.get_by_role("link", name="Noor Haddad").click()
    expect(recruiter.get_by_role("heading", level=1)).to_have_text("Noor Haddad")
    transcripts = recruiter.locator(".transcript")
    expect(transcripts).to_have_count(2)
    # The microphone played the JFK recording; Whisper's words are in the evidence.
    spoken = transcripts.nth(1)
    expect(spoken).to_contain_text(re.compile("ask not what your country", re.I))
    expect(spoken).to_contain_text(re.compile("what you can do for your country", re.I))
    expect(transcripts.nth(0)).to_contain_text(re.compile("cooperate", re.I))
    screenshots.take(recruiter, "evidence")
    screenshots.assert_saved(
        "applied",
        "screening",
        "language-submitted",
        "language-scored",
        "ranking",
        "evidence",
    )
