"""A hired trainee works through the default course in the browser's place.

A real Celery worker issues the certificate; its QR code leads to the public
verification page, which must say the certificate is genuine.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from app import db
from courses.demo import seed_course
from courses.models import Course, Question, QuizAttempt
from courses.services import attach_course, enrol_on_hire
from recruit.models import ApplicationStatus, Opening
from recruit.services import apply, create_opening
from tests.conftest import build_app, log_in, make_user
from tests.courses.conftest import right_form_fields
from tests.courses.test_certificates import qr_modules

GOOD_REPLIES = {
    "Dana": "Hi Dana, thank you for reaching out, and I'm sorry your blender has "
    "not arrived yet. I understand how stressful that is with the birthday on "
    "Saturday. I'm checking order 48213 with the carrier right now and will tell "
    "you in two minutes how we can get it to you in time.",
    "Marcus": "Hi Marcus, I'm sorry you have had to write three times, and I "
    "understand why you are frustrated. I'm looking at your refund now and will "
    "make sure it is sorted out today. I'll update you within five minutes.",
    "Priya": "Hi Priya, thank you for letting us know, and I'm sorry the parcel "
    "isn't at your door. I understand how worrying that is. I'm checking the "
    "tracking history and the delivery photo now, and I will come back to you in "
    "two minutes with the next step.",
}
WAIT_S = 60


@pytest.fixture
def worker_app(tmp_path: Path) -> Iterator[Flask]:
    app = build_app(
        tmp_path,
        CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        CELERY_RESULT_BACKEND=f"db+sqlite:///{tmp_path / 'results.sqlite'}",
        BASE_URL="http://frontline.test",
    )
    with start_worker(app.extensions["celery"], pool="solo", perform_ping_check=False):
        yield app
    with app.app_context():
        db.engine.dispose()


def hire(app: Flask) -> int:
    """Seed the course, link it to an opening and hire a candidate for it."""
    with app.app_context():
        seed_course()
        opening = create_opening("Chat agent")
        course = db.session.query(Course).one()
        attach_course(course, opening.id)
        user = make_user("zoe@example.com", "candidate", name="Zoë Ångström")
        application = apply(user, opening)
        application.status = ApplicationStatus.HIRED
        db.session.commit()
        enrolments = enrol_on_hire(user.id, db.session.get(Opening, opening.id).id)
        assert len(enrolments) == 1
        return enrolments[0].id


def form_csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "no CSRF field on the page"
    return match.group(1)


def answer_fields(app: Flask, page: str, attempt_id: int) -> dict[str, Any]:
    """Fill every question on an attempt page with a right answer."""
    ids = [int(i) for i in re.findall(r'id="question-(\d+)"', page)]
    assert ids
    fields: dict[str, Any] = {}
    with app.app_context():
        attempt = db.session.get_one(QuizAttempt, attempt_id)
        for question in db.session.query(Question).filter(Question.id.in_(ids)):
            name = f"q{question.id}"
            if question.qtype == "chat_reply":
                fields[name] = GOOD_REPLIES[question.data["customer_name"]]
                continue
            fields.update(right_form_fields(attempt, question))
    return fields


def take_quiz(app: Flask, client: FlaskClient, step_url: str) -> None:
    page = client.get(step_url).get_data(as_text=True)
    started = client.post(step_url + "/attempts", data={"csrf_token": form_csrf(page)})
    assert started.status_code == 302, started.get_data(as_text=True)[:300]
    attempt_url = started.headers["Location"]
    page = client.get(attempt_url).get_data(as_text=True)
    token = re.search(r'name="attempt_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    submitted = client.post(
        attempt_url.split("?")[0],
        data={
            "attempt_token": token,
            "action": "submit",
            **answer_fields(app, page, int(attempt_url.split("?")[0].split("/")[-1])),
        },
    )
    assert submitted.status_code == 302
    review = client.get(attempt_url).get_data(as_text=True)
    assert "passed" in review, review[:2000]
    assert "not passed" not in review


def test_trainee_completes_course_and_verifies_certificate(worker_app: Flask) -> None:
    app = worker_app
    enrolment_id = hire(app)
    client = app.test_client()
    log_in(client, "zoe@example.com")
    home = client.get("/learn/").get_data(as_text=True)
    assert "Live chat etiquette" in home
    course_url = f"/learn/courses/{enrolment_id}"
    outline = client.get(course_url).get_data(as_text=True)
    steps = re.findall(rf'href="({course_url}/steps/\d+)"', outline)
    assert len(steps) == 10
    for step_url in steps:
        page = client.get(step_url).get_data(as_text=True)
        if "Mark as read" in page:
            read = client.post(step_url + "/read", data={"csrf_token": form_csrf(page)})
            assert read.status_code == 302
        else:
            take_quiz(app, client, step_url)
    outline = client.get(course_url).get_data(as_text=True)
    assert outline.count('class="done"') == 10
    deadline = time.monotonic() + WAIT_S
    link = None
    while time.monotonic() < deadline:
        link = re.search(
            r'href="(/learn/certificates/[^"]+\.pdf)"',
            client.get(course_url).get_data(as_text=True),
        )
        if link:
            break
        time.sleep(0.5)
    assert link, "no certificate was issued"
    download = client.get(link.group(1))
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    pdf = download.get_data()
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Zoë Ångström" in text
    assert "Live chat etiquette" in text
    import zxingcpp
    from PIL import Image

    grid = qr_modules(pdf)
    image = Image.new("L", (len(grid) * 6, len(grid) * 6), 255)
    for row, cells in enumerate(grid):
        for column, dark in enumerate(cells):
            if dark:
                image.paste(0, (column * 6, row * 6, column * 6 + 6, row * 6 + 6))
    url = zxingcpp.read_barcodes(image)[0].text
    assert url.startswith("http://frontline.test/verify/FL-")
    anonymous = app.test_client()
    verdict = anonymous.get(url.removeprefix("http://frontline.test"))
    assert verdict.status_code == 200
    assert "Genuine certificate" in verdict.get_data(as_text=True)
