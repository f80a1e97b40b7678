"""A candidate takes all six stages of the demo opening through the web client.

A real Celery worker thread scores every answer (Whisper for the two spoken
answers, Harper for the written ones), and the recruiter finishes with an
interview scorecard and sees the evidence of each stage.
"""

from __future__ import annotations

import io
import json
import random
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import db
from assessments.models import ItemSession
from recruit.models import Application, ApplicationStatus, KnockoutQuestion, StageKind
from tests.assessments.test_scenarios import GOOD_PATHS
from tests.conftest import build_app, csrf_token, log_in, make_user

pytestmark = pytest.mark.slow

WAIT_S = 240
REPLY = (
    "Dear customer,\n\nThank you for contacting us, and I am sorry that your "
    "blender has not arrived yet. I understand how stressful this is with the "
    "birthday this weekend. I have checked order 48213: the parcel is held at the "
    "regional depot because its address label was damaged. I have corrected the "
    "address and asked the carrier to deliver it by Friday. If it does not arrive "
    "by then, I will send a replacement by express shipping at no cost to you. "
    "Could you tell me whether this solves the problem?\n\nKind regards,\nAlex"
)
CHAT_REPLIES = (
    "Hi Olivia, I'm so sorry about the double charge; I understand how worrying "
    "that is. I have refunded the second payment for order 55120.",
    "Hi Tom, thanks for reaching out! Yes, we ship to Canada in 5 to 8 days.",
    "Hello Grace, I am so sorry for the wait, I understand how frustrating this "
    "is. Your refund was sent today and reaches your card within 5 days.",
)


@pytest.fixture
def worker_app(tmp_path: Path) -> Iterator[Flask]:
    app = build_app(
        tmp_path,
        CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        CELERY_RESULT_BACKEND=f"db+sqlite:///{tmp_path / 'results.sqlite'}",
    )
    with start_worker(
        app.extensions["celery"],
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=30,
    ):
        yield app
    with app.app_context():
        db.engine.dispose()


def post(client: FlaskClient, url: str, **data: object):
    return client.post(url, data={"csrf_token": csrf_token(client), **data})


def start(
    client: FlaskClient, application_id: int, title: str
) -> tuple[int, list[int]]:
    """Open the assessment ``title`` from the application page."""
    page = client.get(f"/me/applications/{application_id}").get_data(as_text=True)
    found = re.search(
        rf"<h3>{re.escape(title)}</h3>.*?action=\"([^\"]+)\"", page, re.DOTALL
    )
    assert found, f"{title} cannot be started:\n{page}"
    started = post(client, found.group(1))
    assert started.status_code == 302
    attempt_page = client.get(started.location).get_data(as_text=True)
    item_ids = [int(i) for i in re.findall(r'id="item-(\d+)"', attempt_page)]
    return int(started.location.rsplit("/", 1)[1]), item_ids


def wait_for_stage(app: Flask, application_id: int, kind: StageKind) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        with app.app_context():
            application = db.session.get(Application, application_id)
            current = application.current_stage.kind
            results = {
                r.stage.kind.value: (r.score, r.complete)
                for r in application.stage_results
            }
        if current == kind:
            return
        time.sleep(0.5)
    pytest.fail(f"application {application_id} stuck at {current}: {results}")


def upload(client: FlaskClient, attempt_id: int, item_id: int, path: Path) -> None:
    sent = client.post(
        f"/attempts/{attempt_id}/items/{item_id}/audio",
        data={"audio": (io.BytesIO(path.read_bytes()), path.name)},
        headers={"X-CSRFToken": csrf_token(client), "Accept": "application/json"},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 201, sent.get_data(as_text=True)


def take_screening(app: Flask, client: FlaskClient, application_id: int) -> None:
    with app.app_context():
        answers = {
            f"question_{q.id}": q.accepted[0]
            for q in db.session.scalars(select(KnockoutQuestion))
        }
    sent = post(
        client,
        f"/me/applications/{application_id}/screening",
        country="CA",
        time_zone="America/Toronto",
        **{"language_1-code": "en", "language_1-level": "C1"},
        shifts=["evening", "night"],
        **answers,
    )
    assert sent.status_code == 302


def take_language(client: FlaskClient, application_id: int, test_data: Path) -> None:
    attempt_id, (writing, read_aloud, open_answer) = start(
        client, application_id, "English: writing and speaking"
    )
    sent = post(
        client,
        f"/attempts/{attempt_id}/items/{writing}/text",
        **{f"item{writing}-answer": REPLY, f"item{writing}-submit": "Submit answer"},
    )
    assert sent.status_code == 302
    audio = test_data / "audio"
    upload(client, attempt_id, read_aloud, audio / "speechocean762/011560068.wav")
    upload(client, attempt_id, open_answer, audio / "whisper_jfk.flac")


def take_communication(app: Flask, client: FlaskClient, application_id: int) -> None:
    attempt_id, item_ids = start(client, application_id, "Chat replies")
    for item_id, text in zip(item_ids, CHAT_REPLIES, strict=True):
        sent = post(
            client,
            f"/attempts/{attempt_id}/items/{item_id}/text",
            **{f"item{item_id}-answer": text, f"item{item_id}-submit": "Submit"},
        )
        assert sent.status_code == 302
    attempt_id, (typing_item,) = start(client, application_id, "Typing test")
    post(client, f"/attempts/{attempt_id}/items/{typing_item}/typing/start")
    page = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    passage = re.search(r'<blockquote class="passage"[^>]*>(.*?)</blockquote>', page)
    text = passage.group(1).replace("&#39;", "'")
    with app.app_context():
        session = db.session.scalar(select(ItemSession))
        session.started_at -= timedelta(seconds=70)
        db.session.commit()
    rng = random.Random(5)  # noqa: S311 - test data, not secrets
    measurements = {
        "keystrokes": len(text),
        "pastes": 0,
        "intervals": [round(rng.uniform(80, 300)) for _ in text[1:]],
        "duration_ms": 65_000,
    }
    sent = post(
        client,
        f"/attempts/{attempt_id}/items/{typing_item}/typing",
        **{
            f"item{typing_item}-typed": text,
            f"item{typing_item}-measurements": json.dumps(measurements),
        },
    )
    assert sent.status_code == 302


def take_attitude(client: FlaskClient, application_id: int) -> None:
    attempt_id, (first, second, ranking) = start(
        client, application_id, "Situational judgement"
    )
    for item_id, choice in ((first, "1"), (second, "3")):
        choice_url = f"/attempts/{attempt_id}/items/{item_id}/choice"
        assert post(client, choice_url, choice=choice).status_code == 302
    places = {"rank-0": "4", "rank-1": "1", "rank-2": "3", "rank-3": "2"}
    ranking_url = f"/attempts/{attempt_id}/items/{ranking}/choice"
    assert post(client, ranking_url, **places).status_code == 302
    attempt_id, (questionnaire,) = start(
        client, application_id, "Work style questionnaire"
    )
    page = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    names = sorted(set(re.findall(r'name="(s-[a-z]+)"', page)))
    reverse = {"s-patience", "s-avoid", "s-corners", "s-apologise"}
    answers = {name: "2" if name in reverse else "4" for name in names}
    questionnaire_url = f"/attempts/{attempt_id}/items/{questionnaire}/choice"
    assert post(client, questionnaire_url, **answers).status_code == 302


def take_troubleshooting(client: FlaskClient, application_id: int) -> None:
    attempt_id, item_ids = start(client, application_id, "Reasoning")
    for item_id, choice in zip(item_ids, ("2", "0", "1", "2"), strict=True):
        choice_url = f"/attempts/{attempt_id}/items/{item_id}/choice"
        assert post(client, choice_url, choice=choice).status_code == 302
    attempt_id, (chat_item,) = start(client, application_id, "Customer chat simulation")
    chat = f"/attempts/{attempt_id}/items/{chat_item}/chat"
    assert post(client, chat + "/start").status_code == 302
    for text in GOOD_PATHS["order_not_arrived"]:
        assert post(client, chat, message=text).status_code == 302
    assert "This chat has ended" in client.get(chat).get_data(as_text=True)


def test_candidate_takes_every_stage(worker_app: Flask, test_data: Path) -> None:
    app = worker_app
    with app.app_context():
        from recruit.demo import ensure_demo_opening

        opening_id = ensure_demo_opening()[0].id
        make_user("alex@example.com", "candidate", name="Alex Doe")
        make_user("rec@example.com", "recruiter", name="Rita Recruiter")

    candidate = app.test_client()
    log_in(candidate, "alex@example.com")
    applied = post(candidate, f"/openings/{opening_id}")
    application_id = int(applied.location.rsplit("/", 1)[1])

    take_screening(app, candidate, application_id)
    wait_for_stage(app, application_id, StageKind.LANGUAGE)
    take_language(candidate, application_id, test_data)
    wait_for_stage(app, application_id, StageKind.COMMUNICATION)
    take_communication(app, candidate, application_id)
    wait_for_stage(app, application_id, StageKind.ATTITUDE)
    take_attitude(candidate, application_id)
    wait_for_stage(app, application_id, StageKind.TROUBLESHOOTING)
    take_troubleshooting(candidate, application_id)
    wait_for_stage(app, application_id, StageKind.INTERVIEW)

    own_page = candidate.get(f"/me/applications/{application_id}").get_data(
        as_text=True
    )
    assert "Interview and decision" in own_page
    assert "Stage score" not in own_page

    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    form = recruiter.get(f"/recruit/applications/{application_id}/scorecard")
    ids = sorted(set(re.findall(r'name="rating_(\d+)"', form.get_data(as_text=True))))
    ratings = {f"rating_{i}": "4" for i in ids}
    sent = post(
        recruiter,
        f"/recruit/applications/{application_id}/scorecard",
        notes="Calm, structured answers.",
        submit="Submit scorecard",
        **ratings,
    )
    assert sent.status_code == 302

    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.status == ApplicationStatus.ACTIVE
        results = {r.stage.kind: r for r in application.stage_results}
        assert set(results) == set(StageKind)
        for kind, result in results.items():
            assert result.complete, kind
            assert 0 <= result.score <= 100, kind
        assert results[StageKind.SCREENING].score == 100.0
        assert results[StageKind.INTERVIEW].score == 75.0
        assert results[StageKind.TROUBLESHOOTING].score >= 90
        assert application.composite_score is not None

    page = recruiter.get(f"/recruit/applications/{application_id}").get_data(
        as_text=True
    )
    for evidence in (
        "America/Toronto",  # screening
        "fellow Americans",  # the spoken answer's transcript
        "Net speed",  # typing
        "Best response against the expert credit",  # judgement
        "Consistency pairs",  # questionnaire
        "Said when the new mixer will arrive",  # simulation steps
        "Ratings by competency",  # scorecards
    ):
        assert evidence in page, evidence
