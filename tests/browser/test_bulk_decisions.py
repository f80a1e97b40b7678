"""The recruiter's bulk decisions on the ranking, in Chromium."""

from __future__ import annotations

from collections.abc import Callable
from email import policy
from email.parser import BytesParser

import pytest
from playwright.sync_api import Page, expect

from app import db
from recruit.demo import DEMO_OPENING
from recruit.models import Application, ApplicationStatus, Opening, StageKind
from recruit.models_ranking import AuditEvent, Notification, NotificationStatus
from recruit.services import apply
from tests.browser.conftest import (
    RECRUITER,
    LiveServer,
    Screenshots,
    in_app,
    log_in,
    wait_until,
)
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CANDIDATES = {
    "Ana Advance": "ana@example.com",
    "Ben Advance": "ben@example.com",
    "Hal Hold": "hal@example.com",
    "Rae Reject": "rae@example.com",
    "Rob Reject": "rob@example.com",
    "Una Untouched": "una@example.com",
}
REASON = "Needs evening shifts only; the rota is full."
MESSAGE = "We will keep your details for the next opening."


@pytest.fixture(scope="module")
def applications(live_server: LiveServer, demo_opening: int) -> dict[str, int]:
    """Apply to the demo opening as each candidate; return ids by name."""

    def seed() -> dict[str, int]:
        opening = db.session.get(Opening, demo_opening)
        ids = {}
        for name, email in CANDIDATES.items():
            ids[name] = apply(make_user(email, "candidate", name=name), opening).id
        return ids

    return in_app(live_server, seed)


def decide(page: Page, names: list[str], action: str, reason: str = "") -> None:
    """Select the rows of ``names`` and fill in the bulk form for ``action``."""
    for name in names:
        page.get_by_label(f"Select {name}", exact=True).check()
    page.get_by_label("Action for the selected applications").select_option(
        label=action
    )
    page.get_by_label("Reason", exact=True).fill(reason)
    if action == "Reject":
        page.get_by_label("Message to the candidates").fill(MESSAGE)


def test_bulk_advance_hold_and_reject(
    live_server: LiveServer,
    applications: dict[str, int],
    open_page: Callable[[], Page],
    screenshots: Screenshots,
) -> None:
    page = open_page()
    log_in(page, RECRUITER)
    page.get_by_role("link", name="Openings").click()
    page.get_by_role("link", name=DEMO_OPENING).click()
    expect(page.get_by_text("6 applications match.")).to_be_visible()
    screenshots.take(page, "ranking-before")

    decide(page, ["Ana Advance", "Ben Advance"], "Advance to the next stage")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("2 applications updated.")).to_be_visible()

    decide(page, ["Hal Hold"], "Put on hold")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("1 application updated.")).to_be_visible()

    # A rejection without a reason is rejected, and nothing changes.
    decide(page, ["Rae Reject", "Rob Reject"], "Reject")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("A rejection needs a reason.")).to_be_visible()

    decide(page, ["Rae Reject", "Rob Reject"], "Reject", REASON)
    screenshots.take(page, "reject-selected")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_text("2 applications updated.")).to_be_visible()
    screenshots.take(page, "ranking-after")

    for name, status in (
        ("Ana Advance", "active"),
        ("Hal Hold", "hold"),
        ("Rae Reject", "rejected"),
        ("Una Untouched", "active"),
    ):
        row = page.get_by_role("row").filter(
            has=page.get_by_role("link", name=name, exact=True)
        )
        expect(row.get_by_role("cell").nth(4)).to_have_text(status)

    def states() -> dict[str, tuple[ApplicationStatus, StageKind]]:
        found = {}
        for name, application_id in applications.items():
            application = db.session.get(Application, application_id)
            found[name] = (application.status, application.current_stage.kind)
        return found

    found = in_app(live_server, states)
    assert found["Ana Advance"] == (ApplicationStatus.ACTIVE, StageKind.LANGUAGE)
    assert found["Ben Advance"] == (ApplicationStatus.ACTIVE, StageKind.LANGUAGE)
    assert found["Hal Hold"] == (ApplicationStatus.HOLD, StageKind.SCREENING)
    assert found["Rae Reject"] == (ApplicationStatus.REJECTED, StageKind.SCREENING)
    assert found["Rob Reject"] == (ApplicationStatus.REJECTED, StageKind.SCREENING)
    assert found["Una Untouched"] == (ApplicationStatus.ACTIVE, StageKind.SCREENING)

    def reject_reasons() -> set[str]:
        events = db.session.query(AuditEvent).filter_by(action="reject")
        return {event.reason for event in events}

    assert in_app(live_server, reject_reasons) == {REASON}

    # The worker sends each rejection email after the commit.
    def rejections_sent() -> bool:
        notifications = db.session.query(Notification).filter_by(template="rejected")
        return [n.status for n in notifications] == [NotificationStatus.SENT] * 2

    wait_until(
        page, lambda: in_app(live_server, rejections_sent), "no rejection was sent"
    )
    emails = {}
    for path in live_server.outbox.glob("*-rejected.eml"):
        with open(path, "rb") as handle:
            email = BytesParser(policy=policy.default).parse(handle)
        emails[email["To"]] = email.get_body(preferencelist=("plain",)).get_content()
    assert set(emails) == {CANDIDATES["Rae Reject"], CANDIDATES["Rob Reject"]}
    for body in emails.values():
        assert MESSAGE in body
        assert DEMO_OPENING in body
        assert REASON not in body
    assert "Hello Rae Reject," in emails[CANDIDATES["Rae Reject"]]
    screenshots.assert_saved("ranking-before", "reject-selected", "ranking-after")
