"""A hired trainee's onboarding course in Chromium, up to the certificate PDF."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from app import db
from courses.models import Course, CourseStep, StepKind
from courses.services import attach_course, enrol_on_hire
from recruit.models import ApplicationStatus
from recruit.services import apply, create_opening
from tests.browser.conftest import LiveServer, Screenshots, in_app, log_in, wait_until
from tests.conftest import make_user
from tests.courses.conftest import make_quiz

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRAINEE = ("zoe.trainee@example.com", "Zoë Ångström")
COURSE = "Greeting customers in chat"
LESSONS = (
    ("Open with their name", "Greet the customer **by name** in your first reply."),
    ("Say what happens next", "End each reply with the next step and its time."),
)
# The right answers to the questions of the small test bank, by question name.
RIGHT_CHOICES = {"Capital": "Paris", "Sky": "False"}
RIGHT_TEXTS = {"Two": "2"}


@pytest.fixture(scope="module")
def enrolment(live_server: LiveServer) -> int:
    """Hire the trainee for an opening whose onboarding course has a quiz."""

    def seed() -> int:
        quiz = make_quiz(title="Check: greetings", pass_mark=60.0)
        course = Course(title=COURSE, description="Two short lessons and a quiz.")
        for position, (title, body) in enumerate(LESSONS, start=1):
            course.steps.append(
                CourseStep(
                    position=position,
                    kind=StepKind.LESSON,
                    title=title,
                    body=body,
                    minutes=2,
                )
            )
        course.steps.append(
            CourseStep(
                position=len(LESSONS) + 1,
                kind=StepKind.QUIZ,
                title=quiz.title,
                quiz=quiz,
            )
        )
        db.session.add(course)

        opening = create_opening("Chat agent, onboarding")
        attach_course(course, opening.id)

        email, name = TRAINEE
        user = make_user(email, "candidate", name=name)
        application = apply(user, opening)
        application.status = ApplicationStatus.HIRED
        db.session.commit()
        (enrolled,) = enrol_on_hire(user.id, opening.id)
        return enrolled.id

    return in_app(live_server, seed)


def take_quiz(page: Page, shots: Screenshots) -> None:
    page.get_by_role("button", name="Start an attempt").click()
    questions = page.locator("fieldset.question")
    expect(questions).to_have_count(len(RIGHT_CHOICES) + len(RIGHT_TEXTS))
    for name, choice in RIGHT_CHOICES.items():
        question = page.get_by_role("group", name=re.compile(rf": {name}$"))
        question.get_by_label(choice, exact=True).check()
    for name, text in RIGHT_TEXTS.items():
        question = page.get_by_role("group", name=re.compile(rf": {name}$"))
        question.get_by_label("Your answer").fill(text)
    shots.take(page, "quiz")
    page.get_by_role("button", name="Submit for grading").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Review: "))
    expect(page.get_by_text("Score: 100.0%")).to_be_visible()
    expect(page.locator("strong.ok")).to_have_text("passed")
    shots.take(page, "quiz-review")
    page.get_by_role("link", name="← Back to the course").click()


def test_trainee_completes_course_with_certificate(
    live_server: LiveServer,
    enrolment: int,
    open_page: Callable[[], Page],
    screenshots: Screenshots,
) -> None:
    email, name = TRAINEE
    page = open_page()
    log_in(page, email)
    page.get_by_role("link", name="My learning").click()
    page.get_by_role("link", name=COURSE).click()
    outline = page.locator("ol.outline > li")
    expect(outline).to_have_count(3)
    screenshots.take(page, "course-outline")

    for number, (title, body) in enumerate(LESSONS, start=1):
        page.get_by_role("link", name=title).click()
        expect(page.locator("article.lesson")).to_contain_text(body.replace("**", ""))
        screenshots.take(page, f"lesson-{number}")
        page.get_by_role("button", name="Mark as read").click()
        done = outline.filter(has=page.get_by_role("link", name=title))
        expect(done).to_have_class("done")

    page.get_by_role("link", name="Check: greetings").click()
    take_quiz(page, screenshots)
    expect(outline.filter(has_text="Done")).to_have_count(3)

    # A Celery task issues the certificate after the last step.
    certificate = page.get_by_role("link", name="Download the certificate")
    wait_until(page, certificate.is_visible, "no certificate was issued", reload=True)
    expect(page.get_by_text("Course complete.")).to_be_visible()
    screenshots.take(page, "course-complete")
    with page.expect_download() as download_info:
        certificate.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    pdf = (screenshots.folder / download.suggested_filename).resolve()
    download.save_as(pdf)

    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    text = reader.pages[0].extract_text()
    assert name in text
    assert COURSE in text
    assert download.suggested_filename.removesuffix(".pdf") in text
    screenshots.assert_saved(
        "course-outline",
        "lesson-1",
        "lesson-2",
        "quiz",
        "quiz-review",
        "course-complete",
    )
