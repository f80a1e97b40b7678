"""Hostile text in every place a person types it, checked on the pages that show it.

Markup arrives escaped or sanitised on the recruiter's, admin's and trainee's
pages; hidden characters are removed from names and shown as visible codes in
answers; SQL and LIKE wildcards are plain data; scorers count Unicode sanely.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import db
from assessments import grading
from assessments.models import Response, ResponseStatus
from recruit.models import Application, Opening, StageKind, User
from tests.assessments.test_flow import post_text, start
from tests.assessments.test_stage_tasks import (
    backdate_typing,
    items_of,
    open_assessment,
    passage_of,
    send_typing,
    start_typing,
)
from tests.conftest import csrf_token, log_in, make_user
from tests.factories import funnel_opening, language_opening

SCRIPT = "<script>alert(1)</script>"
IMAGE = '<img src=x onerror="alert(2)">'
LINK = '<a href="javascript:alert(3)">click</a>'
MARKUP = f"{SCRIPT} {IMAGE} {LINK}"
SQL = "'; DROP TABLE users; --"
RLO, PDF = "\u202e", "\u202c"


# A tag with an event handler attribute, such as <img onerror=...>.
EVENT_HANDLER = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.IGNORECASE)


def assert_inert(page: str) -> None:
    """Check that no hostile tag, handler or script URL survives into a page."""
    assert "<script>alert" not in page
    assert EVENT_HANDLER.search(page) is None
    assert 'href="javascript:' not in page
    assert "href='javascript:" not in page
    assert RLO not in page


def score_submitted() -> None:
    ids = db.session.scalars(
        select(Response.id).where(Response.status == ResponseStatus.SUBMITTED)
    ).all()
    for response_id in ids:
        grading.score_response(response_id)


def move_to_interview(application_id: int) -> None:
    """Place an application at the interview stage, where scorecards are taken."""
    application = db.session.get(Application, application_id)
    application.current_stage = application.opening.stage(StageKind.INTERVIEW)
    db.session.commit()


def test_recruiter_pages_escape_hostile_text(app: Flask, client: FlaskClient) -> None:
    """An answer, a name and scorecard notes full of markup reach recruiters inert."""
    with app.app_context():
        make_user("cand@example.com", "candidate", name=f"Eve {MARKUP} {RLO}live{PDF}")
        make_user("rec@example.com", "recruiter")
        opening_id = language_opening().id
    log_in(client, "cand@example.com")
    answer = (
        f"Dear customer, {MARKUP} {RLO}yrros{PDF} {SQL}\x00 "
        "thank you for waiting, your parcel ships today 👍🏽 and the café is open."
    )
    with app.app_context():
        attempt_id, items = start(client, opening_id)
        assert (
            post_text(client, attempt_id, items[0], answer, final=True).status_code
            == 302
        )
        score_submitted()
        stored = db.session.scalars(select(Response)).one()
        assert stored.status == ResponseStatus.SCORED
        assert "\x00" not in stored.text
        assert SQL in stored.text  # kept verbatim, as data
        application_id = db.session.scalar(select(Application.id))
        name = db.session.scalar(select(User.name).filter_by(email="cand@example.com"))
        assert name == f"Eve {MARKUP} live"  # reordering characters removed
        move_to_interview(application_id)

    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    scorecard_url = f"/recruit/applications/{application_id}/scorecard"
    form = recruiter.get(scorecard_url).get_data(as_text=True)
    rating = re.search(r'name="(rating_\d+)" type="radio" value="4"', form)
    assert rating, "no rating field on the scorecard"
    note_field = re.search(r'name="(note_\d+)"', form).group(1)
    saved = recruiter.post(
        scorecard_url,
        data={
            "csrf_token": csrf_token(recruiter, scorecard_url),
            rating.group(1): "4",
            note_field: f"Competency note {MARKUP}",
            "notes": f"Overall {MARKUP} {SQL}",
            "submit": "Submit scorecard",
        },
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]

    pages = {
        "application": f"/recruit/applications/{application_id}",
        "ranking": f"/recruit/openings/{opening_id}",
        "board": f"/recruit/openings/{opening_id}/board",
        "scorecard": scorecard_url,
    }
    for label, url in pages.items():
        page = recruiter.get(url)
        assert page.status_code == 200, label
        assert_inert(page.get_data(as_text=True))
    evidence = recruiter.get(pages["application"]).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in evidence
    assert '<span class="hidden-char">U+202E</span>' in evidence
    assert '<span class="hidden-char">U+202C</span>' in evidence
    assert "Overall &lt;script&gt;" in evidence
    assert "Competency note &lt;script&gt;" in evidence
    assert "&#39;; DROP TABLE users; --" in evidence


def test_long_answer_rejected_with_limit(app: Flask, client: FlaskClient) -> None:
    """A 100 KB answer is rejected with the MAX_TEXT_CHARS limit; nothing is stored."""
    with app.app_context():
        make_user("cand@example.com", "candidate")
        opening_id = language_opening().id
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, items = start(client, opening_id)
    text = ("Thank you for waiting. " * 5000)[: 100 * 1024]
    for final in (False, True):
        response = post_text(client, attempt_id, items[0], text, final=final)
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "The answer is 102,400 characters long; the limit is 20,000." in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 0


def import_rows(client: FlaskClient, rows: list[tuple[str, str, str, int]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name", "email", "languages", "opening"])
    writer.writerows(rows)
    result = client.post(
        "/recruit/import",
        data={
            "csrf_token": csrf_token(client, "/recruit/import"),
            "file": (io.BytesIO(buffer.getvalue().encode()), "people.csv"),
        },
        content_type="multipart/form-data",
    )
    assert result.status_code == 200
    return result.get_data(as_text=True)


def test_imported_names_cleaned_and_exported_safely(
    app: Flask, client: FlaskClient
) -> None:
    """Names from a CSV lose hidden characters; the export neutralises formulas."""
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening_id = language_opening().id
    log_in(client, "rec@example.com")
    rows = [
        (f"Ana {RLO}evil{PDF}\x00 Smith", "ana@example.com", "en", opening_id),
        ("=cmd|' /C calc'!A0", "cmd@example.com", "en", opening_id),
        ("@SUM(A1:A9)", "at@example.com", "en", opening_id),
        ("+1 555 0100", "plus@example.com", "en", opening_id),
        ("-2+3", "minus@example.com", "en", opening_id),
        (f"Robert{SQL}", "bobby@example.com", "en", opening_id),
        (f"Mallory {SCRIPT}", "mallory@example.com", "en", opening_id),
    ]
    report = import_rows(client, rows)
    assert "7 rows imported." in report
    assert_inert(report)
    with app.app_context():
        names = dict(db.session.execute(select(User.email, User.name)).all())
    assert names["ana@example.com"] == "Ana evil Smith"
    assert names["bobby@example.com"] == f"Robert{SQL}"

    ranking = client.get(f"/recruit/openings/{opening_id}")
    assert ranking.status_code == 200
    assert_inert(ranking.get_data(as_text=True))
    exported = client.get(f"/recruit/openings/{opening_id}/ranking.csv")
    text = exported.get_data(as_text=True).lstrip("\ufeff")
    by_email = {r["email"]: r["name"] for r in csv.DictReader(io.StringIO(text))}
    assert by_email["cmd@example.com"] == "'=cmd|' /C calc'!A0"
    assert by_email["at@example.com"] == "'@SUM(A1:A9)"
    assert by_email["plus@example.com"] == "'+1 555 0100"
    assert by_email["minus@example.com"] == "'-2+3"
    assert by_email["mallory@example.com"] == f"Mallory {SCRIPT}"


@pytest.mark.parametrize("value", [SQL, "%", "_", "%' OR '1'='1", "\x00", "é" * 300])
def test_filters_treat_sql_as_data(app: Flask, client: FlaskClient, value: str) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening_id = language_opening().id
    log_in(client, "rec@example.com")
    query = {
        "language": value,
        "cefr_min": value,
        "status": value,
        "sort": value,
        "composite_min": value,
        "applied_from": value,
        "page": value,
    }
    page = client.get(f"/recruit/openings/{opening_id}", query_string=query)
    assert page.status_code == 200
    # An export with invalid filters redirects to the page that names them.
    exported = client.get(
        f"/recruit/openings/{opening_id}/ranking.csv", query_string=query
    )
    exported.close()  # a streamed export keeps its request context until closed
    assert exported.status_code in (200, 303)
    if exported.status_code == 303:
        assert exported.location.startswith(f"/recruit/openings/{opening_id}?")
    verify = client.get("/verify", query_string={"code": value}, follow_redirects=True)
    assert verify.status_code in (200, 404)
    if verify.status_code == 404 and value != "\x00":
        assert "It is not genuine." in verify.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1
        assert db.session.scalar(select(func.count(Opening.id))) == 1


def test_trainee_sees_lessons_and_feedback_sanitised(
    app: Flask, client: FlaskClient
) -> None:
    """Lesson Markdown and quiz feedback written with markup reach trainees clean."""
    from courses.models import EnrolmentSource
    from courses.quizzes import (
        questions_of,
        save_answers,
        start_attempt,
        submit_attempt,
    )
    from courses.services import enrol
    from tests.courses.conftest import make_course, make_quiz, right_response

    bank = (
        '::Hostile::[html]<p>Pick one <img src\\=x onerror\\="alert(2)"></p> {\n'
        '=Right#Well done <a href\\="javascript:alert(3)">click</a>'
        "<script>alert(1)</script>\n"
        '~Wrong#<b onclick\\="alert(4)">No</b>\n}\n'
    )
    with app.app_context():
        user = make_user("t@example.com", "trainee")
        quiz = make_quiz(bank, category="")
        course = make_course(quiz)
        lesson = course.steps[0]
        lesson.body = (
            f"# Welcome\n\n{SCRIPT}\n\n{IMAGE}\n\n[click me](javascript:alert(5)) "
            f"and <a href='javascript:alert(6)'>this</a>"
        )
        db.session.commit()
        enrolment = enrol(user.id, course, EnrolmentSource.ADMIN)
        attempt = start_attempt(user.id, quiz)
        save_answers(attempt, {q.id: right_response(q) for q in questions_of(attempt)})
        submit_attempt(attempt)
        urls = {
            "lesson": f"/learn/courses/{enrolment.id}/steps/{lesson.id}",
            "review": f"/learn/attempts/{attempt.id}",
        }
    log_in(client, "t@example.com")
    for label, url in urls.items():
        page = client.get(url)
        assert page.status_code == 200, label
        text = page.get_data(as_text=True)
        assert_inert(text)
        assert "javascript:" not in text, label
    review = client.get(urls["review"]).get_data(as_text=True)
    assert "Well done" in review


def test_forged_typing_measurements_rejected(app: Flask, client: FlaskClient) -> None:
    """A measurements field nested 100,000 deep is unreadable data, not a 500."""
    with app.app_context():
        make_user("cand@example.com", "candidate")
        opening_id = funnel_opening(screening=False).id
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Typing test")
        item_id = items_of(attempt_id)[0]
        text = passage_of(attempt_id)
        for payload in ("[" * 100_000 + "]" * 100_000, '{"intervals": ' * 3000):
            # A rejected test starts its clock again.
            start_typing(client, attempt_id, item_id)
            backdate_typing(attempt_id, item_id, 60)
            page = send_typing(client, attempt_id, item_id, text, payload)
            assert page.status_code == 200
            assert "appeared without keystrokes" in page.get_data(as_text=True)
        assert db.session.scalar(select(func.count(Response.id))) == 0


def test_scorers_count_unicode_sanely() -> None:
    from scoring.grammar import get_checker
    from scoring.typing import assess_typing
    from scoring.writing import assess_writing

    checker = get_checker("harper")
    plain = "The café is open today and we thank you for waiting."
    variants = {
        "combining accent": plain.replace("é", "e\u0301"),
        "emoji with skin tone": plain + " 👍🏽",
        "family emoji joined by ZWJ": plain + " 👨\u200d👩\u200d👧",
        "flag": plain + " 🇺🇸",
    }
    words = assess_writing(plain, checker=checker)["words"]
    for label, text in variants.items():
        result: dict[str, Any] = assess_writing(text, checker=checker)
        assert result["words"] == words, label
        json.dumps(result)

    passage = "The café is open today."
    decomposed = passage.replace("é", "e\u0301")
    typed = assess_typing(passage, decomposed, server_seconds=60, keystrokes=24)
    assert typed["accuracy"] == 1.0
    assert typed["characters"] == len(passage)


@pytest.mark.postgres
def test_nul_in_any_field_on_postgresql(tmp_path: Path) -> None:
    """PostgreSQL rejects NUL in text, so no form field or query may pass one on."""
    from recruit.services import apply
    from tests.conftest import build_app, postgres_database

    with postgres_database() as database_url:
        app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=database_url)
        with app.app_context():
            candidate = make_user("cand@example.com", "candidate")
            make_user("admin@example.com", "admin")
            opening = language_opening()
            opening_id = opening.id
            application_id = apply(candidate, opening).id
            move_to_interview(application_id)
        client = app.test_client()
        log_in(client, "admin@example.com")
        scorecard_url = f"/recruit/applications/{application_id}/scorecard"
        saved = client.post(
            scorecard_url,
            data={
                "csrf_token": csrf_token(client, scorecard_url),
                "notes": "Calm\x00 and clear",
                "save": "Save draft",
            },
        )
        assert saved.status_code == 302
        decided = client.post(
            f"/recruit/applications/{application_id}/decide",
            data={
                "decision-csrf_token": csrf_token(client, scorecard_url),
                "decision-action": "hold",
                "decision-reason": "Waiting\x00 for references",
            },
        )
        assert decided.status_code == 302
        for url, query in (
            ("/recruit/audit", {"action": "hold\x00"}),
            (f"/recruit/openings/{opening_id}", {"language": "e\x00n"}),
            ("/verify", {"code": "AB\x00CD"}),
        ):
            page = client.get(url, query_string=query, follow_redirects=True)
            assert page.status_code in (200, 404), url
        with app.app_context():
            from recruit.interview import Scorecard

            assert db.session.scalar(select(Scorecard.notes)) == "Calm and clear"
            db.engine.dispose()


HUGE = "9" * 40


def test_out_of_range_numbers_in_urls(app: Flask, client: FlaskClient) -> None:
    """Ids, pages and dates past what a column holds are 404 or ignored, never 500."""
    with app.app_context():
        make_user("admin@example.com", "admin")
        opening_id = language_opening().id
    log_in(client, "admin@example.com")
    expected = {
        f"/recruit/openings/{HUGE}": 404,
        f"/recruit/applications/{HUGE}": 404,
        f"/recruit/candidates/{HUGE}/decision-log.csv": 404,
        f"/attempts/{HUGE}": 404,
        f"/learn/attempts/{HUGE}": 404,
        f"/recruit/openings/{opening_id}?page={HUGE}": 200,
        f"/recruit/openings/{opening_id}?page=999999999999999999": 200,
        f"/recruit/openings/{opening_id}/ranking.csv?page={HUGE}": 200,
        f"/recruit/openings/{opening_id}?applied_to=9999-12-31": 200,
        f"/recruit/openings/{opening_id}?sort=stage:{HUGE}": 200,
        f"/recruit/audit?before={HUGE}": 200,
    }
    for url, status in expected.items():
        response = client.get(url)
        response.close()
        assert response.status_code == status, url


@pytest.mark.parametrize("value", ["sNaN", "NaN", "Infinity", "-Infinity", "1e999999"])
def test_override_score_not_a_number(
    app: Flask, client: FlaskClient, value: str
) -> None:
    """Decimal accepts NaN and infinities; the override form must reject them."""
    from recruit.models_ranking import StageOverride
    from recruit.services import apply

    with app.app_context():
        candidate = make_user("cand@example.com", "candidate")
        make_user("rec@example.com", "recruiter")
        opening = language_opening()
        application_id = apply(candidate, opening).id
        stage_id = opening.stages[1].id
    log_in(client, "rec@example.com")
    decide_url = f"/recruit/applications/{application_id}/decide"
    page = client.post(
        f"/recruit/applications/{application_id}/override",
        data={
            "override-csrf_token": csrf_token(client, decide_url),
            "override-stage_id": str(stage_id),
            "override-score": value,
            "override-reason": "Strong interview",
        },
    )
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Not a valid decimal value." in text or "Number must be between" in text
    with app.app_context():
        assert db.session.scalar(select(func.count(StageOverride.id))) == 0
