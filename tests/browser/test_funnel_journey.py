"""Every stage of the demo opening in Chromium, and the simulated customer chat.

The candidate fills in each form and chat by hand in the browser, a Celery
worker thread scores the answers, and the recruiter closes with the interview
scorecard and reads the chat transcript in the evidence.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from app import db, utcnow
from assessments.scenario import get_scenario
from recruit.demo import DEMO_OPENING, ensure_demo_opening
from recruit.demo_stages import (
    JUDGEMENT_ITEMS,
    REASONING_ITEMS,
    STATEMENTS,
    TYPING_PASSAGE,
)
from recruit.models import Application, StageKind, User
from recruit.services import apply
from tests.assessments.test_scenarios import GOOD_PATHS
from tests.browser.conftest import (
    RECRUITER,
    LiveServer,
    Screenshots,
    in_app,
    log_in,
    wait_until,
)
from tests.browser.steps import (
    apply_to,
    fill_screening,
    start_assessment,
    take_language_stage,
    task,
    wait_until_scored,
    write_answer,
)
from tests.conftest import make_user
from tests.test_funnel_end_to_end import CHAT_REPLIES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCENARIO = "order_not_arrived"
# Keystroke gaps of a quick typist, in milliseconds. They vary from word to word,
# because the typing test rejects keys that arrive at machine-regular intervals.
KEY_DELAYS_MS = (50, 130)


def wait_until_open(page: Page, title: str) -> None:
    """Reload the application page until the assessment ``title`` can be started.

    The next stage opens when the worker has scored the last answer of the
    current one.
    """
    block = page.locator(".assessment").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )
    start = block.get_by_role("button", name="Start")
    wait_until(page, start.is_visible, f"{title} did not open", reload=True)


def back_to_application(page: Page) -> None:
    page.get_by_role("link", name=f"← {DEMO_OPENING}").click()


def take_communication(page: Page, shots: Screenshots) -> None:
    wait_until_open(page, "Chat replies")
    start_assessment(page, "Chat replies")
    for number, reply in enumerate(CHAT_REPLIES, start=1):
        write_answer(task(page, number), reply)
        expect(task(page, number).locator(".answer-text")).to_have_text(reply)
    shots.take(page, "chat-replies")
    back_to_application(page)

    start_assessment(page, "Typing test")
    page.get_by_role("button", name="Start the typing test").click()
    typed = page.get_by_label("Type the passage here")
    expect(typed).to_be_focused()
    rng = random.Random(7)  # noqa: S311 - typing rhythm, not a secret
    for word in re.findall(r"\S+\s*", TYPING_PASSAGE):
        page.keyboard.type(word, delay=rng.randint(*KEY_DELAYS_MS))
    expect(typed).to_have_value(TYPING_PASSAGE)
    shots.take(page, "typing-test")
    page.get_by_role("button", name="Finish the typing test").click()
    expect(page.get_by_text("Your typing test was received.")).to_be_visible()
    back_to_application(page)


def take_attitude(page: Page, shots: Screenshots) -> None:
    wait_until_open(page, "Situational judgement")
    start_assessment(page, "Situational judgement")
    for number, (_prompt, config) in enumerate(JUDGEMENT_ITEMS, start=1):
        section = task(page, number)
        options = config["options"]
        if config["mode"] == "best":
            best = max(range(len(options)), key=lambda i: config["credits"][i])
            section.get_by_label(options[best]).check()
            section.get_by_role("button", name="Submit answer").click()
        else:
            for place, option in enumerate(config["key"], start=1):
                section.get_by_label(options[option]).select_option(str(place))
            section.get_by_role("button", name="Submit ranking").click()
        expect(
            task(page, number).get_by_text("Your answer was received.")
        ).to_be_visible()
    shots.take(page, "judgement")
    back_to_application(page)

    start_assessment(page, "Work style questionnaire")
    for _key, text, reverse in STATEMENTS:
        group = page.get_by_role("group", name=re.compile(re.escape(text)))
        group.get_by_label("Disagree" if reverse else "Agree", exact=True).check()
    shots.take(page, "questionnaire")
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_text("Your answers were received.")).to_be_visible()
    back_to_application(page)


def chat_with_customer(page: Page) -> None:
    """Start the simulated chat and send the good path's messages with Enter."""
    page.get_by_role("button", name="Start the chat").click()
    customer = get_scenario(SCENARIO).persona_name
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Chat with {customer}")
    log = page.locator("#chat-log")
    for sent, message in enumerate(GOOD_PATHS[SCENARIO], start=1):
        reply = page.get_by_label("Your reply")
        expect(reply).to_be_focused()
        reply.fill(message)
        reply.press("Enter")
        expect(log.locator(".bubble.agent")).to_have_count(sent)
        expect(log.locator(".bubble.agent").last).to_contain_text(message)
    expect(page.get_by_text("This chat has ended. Thank you.")).to_be_visible()


def take_troubleshooting(page: Page, shots: Screenshots) -> None:
    wait_until_open(page, "Reasoning")
    start_assessment(page, "Reasoning")
    for number, (_prompt, options, answer) in enumerate(REASONING_ITEMS, start=1):
        section = task(page, number)
        section.get_by_label(options[answer]).check()
        section.get_by_role("button", name="Submit answer").click()
        expect(
            task(page, number).get_by_text("Your answer was received.")
        ).to_be_visible()
    back_to_application(page)

    start_assessment(page, "Customer chat simulation")
    chat_with_customer(page)
    shots.take(page, "customer-chat")
    page.get_by_role("link", name="Back to the tasks").click()
    back_to_application(page)


def fill_scorecard(page: Page, application_id: int, shots: Screenshots) -> None:
    page.goto(f"/recruit/applications/{application_id}")
    page.get_by_role("link", name="Fill in your scorecard").click()
    competencies = page.locator("fieldset.competency")
    expect(competencies.first).to_be_visible()
    for index in range(competencies.count()):
        competencies.nth(index).get_by_label(re.compile(r"^4 – ")).check()
    page.get_by_label("Overall notes").fill("Calm, structured answers.")
    shots.take(page, "scorecard")
    page.get_by_role("button", name="Submit scorecard").click()


def application_of(email: str) -> Callable[[], Application]:
    def find() -> Application:
        user = db.session.query(User).filter_by(email=email).one()
        return db.session.query(Application).filter_by(candidate=user).one()

    return find


def test_candidate_passes_every_stage(
    live_server: LiveServer,
    demo_opening: int,
    open_page: Callable[[], Page],
    screenshots: Screenshots,
) -> None:
    email = "alex.doe@example.com"
    in_app(live_server, lambda: make_user(email, "candidate", name="Alex Doe"))
    candidate = open_page()
    log_in(candidate, email)
    apply_to(candidate, DEMO_OPENING)
    fill_screening(candidate, live_server, demo_opening, screenshots)
    take_language_stage(candidate, screenshots, record_seconds=None)
    wait_until_scored(candidate, 3)
    back_to_application(candidate)
    take_communication(candidate, screenshots)
    take_attitude(candidate, screenshots)
    take_troubleshooting(candidate, screenshots)
    expect(candidate.get_by_text("Nothing to do here yourself.")).to_be_visible()
    screenshots.take(candidate, "application-overview")

    application_id = in_app(live_server, lambda: application_of(email)().id)

    def reached_interview() -> bool:
        return application_of(email)().current_stage.kind == StageKind.INTERVIEW

    recruiter = open_page()
    log_in(recruiter, RECRUITER)
    wait_until(
        recruiter,
        lambda: in_app(live_server, reached_interview),
        "the interview stage never opened",
    )
    fill_scorecard(recruiter, application_id, screenshots)
    expect(recruiter.get_by_role("heading", level=1)).to_have_text("Alex Doe")
    screenshots.take(recruiter, "evidence")

    def stage_scores() -> dict[StageKind, tuple[float | None, bool]]:
        application = application_of(email)()
        return {r.stage.kind: (r.score, r.complete) for r in application.stage_results}

    results = in_app(live_server, stage_scores)
    assert set(results) == set(StageKind)
    for kind, (score, complete) in results.items():
        assert complete, kind
        assert score is not None, kind
        assert 0 <= score <= 100, kind
    composite = in_app(live_server, lambda: application_of(email)().composite_score)
    assert composite is not None

    recruiter.get_by_role("link", name=f"← {DEMO_OPENING}").click()
    row = recruiter.get_by_role("row").filter(
        has=recruiter.get_by_role("link", name="Alex Doe")
    )
    expect(row.get_by_title("Sub-scores and evidence")).to_have_text(f"{composite:.1f}")
    for kind in StageKind:
        stage_cell = row.locator(f'a[href$="#stage-{kind.value}"]')
        expect(stage_cell).to_have_text(re.compile(r"^\d+\.\d$"))
    screenshots.take(recruiter, "ranking")
    screenshots.assert_saved(
        "screening",
        "language-submitted",
        "chat-replies",
        "typing-test",
        "judgement",
        "questionnaire",
        "customer-chat",
        "application-overview",
        "scorecard",
        "evidence",
        "ranking",
    )


def test_customer_chat_resolved_for_recruiter(
    live_server: LiveServer,
    demo_opening: int,
    open_page: Callable[[], Page],
    screenshots: Screenshots,
) -> None:
    email = "sam.chat@example.com"

    def at_troubleshooting() -> int:
        """Apply and move straight to the troubleshooting stage."""
        user = make_user(email, "candidate", name="Sam Chat")
        opening = ensure_demo_opening()[0]
        application = apply(user, opening)
        application.current_stage = opening.stage(StageKind.TROUBLESHOOTING)
        application.stage_entered_at = utcnow()
        db.session.commit()
        return application.id

    application_id = in_app(live_server, at_troubleshooting)
    candidate = open_page()
    log_in(candidate, email)
    candidate.goto(f"/me/applications/{application_id}")
    start_assessment(candidate, "Customer chat simulation")
    chat_with_customer(candidate)
    screenshots.take(candidate, "chat-ended")

    recruiter = open_page()
    log_in(recruiter, RECRUITER)
    recruiter.goto(f"/recruit/applications/{application_id}")
    chat = recruiter.locator("article.response").filter(
        has=recruiter.locator(".transcript-log")
    )
    wait_until(recruiter, chat.is_visible, "the chat was never scored", reload=True)
    badges = chat.locator(".badge")
    expect(badges.filter(has_text=re.compile("^resolved$"))).to_have_count(1)
    expect(badges.filter(has_text="not resolved")).to_have_count(0)
    customer = chat.locator(".transcript-log .bubble.customer")
    expect(customer.first).to_contain_text("stand mixer")
    agent = chat.locator(".transcript-log .bubble.agent .text")
    expect(agent).to_have_count(len(GOOD_PATHS[SCENARIO]))
    for index, message in enumerate(GOOD_PATHS[SCENARIO]):
        expect(agent.nth(index)).to_have_text(message)
    expect(chat.locator(".steps li").first).to_contain_text("✓")
    expect(chat.locator(".steps li").filter(has_text="✗")).to_have_count(0)
    screenshots.take(recruiter, "chat-evidence")
    screenshots.assert_saved("chat-ended", "chat-evidence")
