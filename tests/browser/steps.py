"""Steps that several browser journeys share: applying, screening, language."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from recruit.screening import knockout_questions
from tests.browser.conftest import SCORING_TIMEOUT_MS, LiveServer, Screenshots, in_app
from tests.conftest import TEST_DATA

AUDIO = TEST_DATA / "audio"
READ_ALOUD_CLIP = AUDIO / "speechocean762" / "011560068.wav"
OPEN_CLIP = AUDIO / "whisper_jfk.flac"
# A reply to the demo opening's writing task, over its 80-word minimum.
EMAIL_REPLY = (
    "Dear customer,\n\nThank you for contacting us, and I am sorry that your "
    "blender has not arrived yet. I understand how stressful this is with your "
    "daughter's birthday this weekend. I have checked order 48213: the parcel is "
    "held at the regional depot because its address label was damaged. I have "
    "corrected the address and asked the carrier to deliver it by Friday. If it "
    "does not arrive by then, I will send a replacement by express shipping at no "
    "cost to you. Could you tell me whether this solves the problem?\n\n"
    "Kind regards,\nAlex"
)
SCORED = "Submitted and assessed."


def task(page: Page, number: int) -> Locator:
    """The numbered task section of an attempt page."""
    return page.get_by_role("region", name=re.compile(rf"^{number}\. "))


def apply_to(page: Page, opening_title: str) -> None:
    """Open the opening from the home page and apply to it."""
    page.goto("/")
    page.get_by_role("link", name=opening_title).click()
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(opening_title)


def start_assessment(page: Page, title: str) -> None:
    """Start or continue the assessment ``title`` from the application page."""
    block = page.locator(".assessment").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )
    block.get_by_role("button", name=re.compile("^(Start|Continue)$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def fill_screening(
    page: Page, server: LiveServer, opening_id: int, shots: Screenshots
) -> None:
    """Fill in the screening form with answers that pass every knock-out question."""
    page.get_by_role("link", name="Fill in the screening form").click()
    page.get_by_label("Country you live in").select_option("CA")
    page.get_by_label("Your time zone").select_option("America/Toronto")
    first = page.get_by_role("group", name="First language you speak")
    first.get_by_label("Language").select_option("en")
    first.get_by_label("Level").select_option("C1")
    shifts = page.get_by_role("group", name="Shifts you can work")
    shifts.get_by_label("Evening").check()
    shifts.get_by_label("Night").check()
    questions = in_app(
        server,
        lambda: [(q.text, q.accepted[0]) for q in knockout_questions(opening_id)],
    )
    for text, accepted in questions:
        label = {"yes": "Yes", "no": "No"}.get(accepted, accepted)
        page.get_by_role("group", name=text).get_by_label(label, exact=True).check()
    shots.take(page, "screening")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Done. Thank you for your answers.")).to_be_visible()


def write_answer(section: Locator, text: str) -> None:
    """Type a written answer and submit it."""
    section.get_by_label("Your answer").fill(text)
    section.get_by_role("button", name="Submit answer").click()


def upload_recording(section: Locator, path: str) -> None:
    """Send a recording through the upload form, the fallback to the microphone."""
    section.get_by_label("Or upload a recording").set_input_files(path)
    section.get_by_role("button", name="Upload recording").click()


def record_answer(section: Locator, seconds: int) -> None:
    """Record through the microphone for ``seconds`` by the page's timer, then send."""
    section.get_by_role("button", name="Start recording").click()
    expect(section.locator(".recorder-state")).to_have_text(re.compile("^Recording"))
    minutes, rest = divmod(seconds, 60)
    expect(section.locator(".timer")).to_have_text(f"{minutes}:{rest:02d}")
    section.get_by_role("button", name="Stop").click()
    expect(section.locator("audio.preview")).to_be_visible()
    section.get_by_role("button", name="Send this recording").click()


def wait_until_scored(page: Page, count: int) -> None:
    """Wait until the page reports ``count`` answers as assessed."""
    for number in range(1, count + 1):
        expect(task(page, number).locator(".response-status")).to_have_text(
            re.compile(re.escape(SCORED)), timeout=SCORING_TIMEOUT_MS
        )


def take_language_stage(
    page: Page, shots: Screenshots, *, record_seconds: int | None
) -> None:
    """Take the demo opening's language stage from the application page.

    With ``record_seconds`` the open answer is recorded through the microphone;
    without it, both spoken answers are uploaded as files.
    """
    start_assessment(page, "English: writing and speaking")
    write_answer(task(page, 1), EMAIL_REPLY)
    expect(task(page, 1).locator(".answer-text")).to_contain_text("Dear customer")
    upload_recording(task(page, 2), str(READ_ALOUD_CLIP))
    expect(task(page, 2).get_by_text("Your recording was received.")).to_be_visible()
    if record_seconds is None:
        upload_recording(task(page, 3), str(OPEN_CLIP))
    else:
        record_answer(task(page, 3), record_seconds)
    shots.take(page, "language-submitted")
