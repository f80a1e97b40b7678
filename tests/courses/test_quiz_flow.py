"""Quiz attempts on the server: order, resume, limits, deadlines and autosave."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from app import db, utcnow
from courses.models import AttemptState, QuizAttempt
from courses.quizzes import (
    AttemptClosed,
    AttemptLimitReached,
    close_expired_attempts,
    questions_of,
    save_answers,
    start_attempt,
    submit_attempt,
)
from tests.conftest import log_in, make_user
from tests.courses.conftest import make_quiz, right_response

CHOICES = "\n\n".join(
    f"::Q{n}::Pick option A of question {n}. {{=Right {n}#Yes {n} ~Wrong {n}a "
    f"~Wrong {n}b ~Wrong {n}c}}"
    for n in range(1, 9)
)


def test_draw_count_and_stored_order(ctx: Any) -> None:
    user = make_user("t@example.com", "trainee")
    quiz = make_quiz(CHOICES, category="", count=5)
    attempt = start_attempt(user.id, quiz)
    assert len(attempt.layout) == 5
    assert len({entry["question_id"] for entry in attempt.layout}) == 5
    again = start_attempt(user.id, quiz)
    assert again.id == attempt.id
    assert again.layout == attempt.layout


def test_shuffles_questions_and_options(ctx: Any) -> None:
    quiz = make_quiz(CHOICES, category="")
    orders, option_orders = set(), set()
    for n in range(8):
        user = make_user(f"t{n}@example.com", "trainee")
        layout = start_attempt(user.id, quiz).layout
        orders.add(tuple(e["question_id"] for e in layout))
        option_orders.add(tuple(layout[0]["options"]))
    # 8 questions and 4 options: identical orders 8 times in a row are
    # vanishingly unlikely unless shuffling is broken.
    assert len(orders) > 1
    assert len(option_orders) > 1


def test_attempt_page_keeps_order_on_reload(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        user = make_user("t@example.com", "trainee")
        quiz = make_quiz(CHOICES, category="")
        attempt = start_attempt(user.id, quiz)
        attempt_id = attempt.id
    log_in(client, "t@example.com")
    first = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
    second = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
    order = re.findall(r"Pick option A of question (\d)", first)
    assert len(order) == 8
    assert order == re.findall(r"Pick option A of question (\d)", second)
    assert re.findall(r'value="(o\d)"', first) == re.findall(r'value="(o\d)"', second)


def test_attempt_limit_enforced(ctx: Any) -> None:
    user = make_user("t@example.com", "trainee")
    quiz = make_quiz(max_attempts=2)
    for _ in range(2):
        submit_attempt(start_attempt(user.id, quiz))
    with pytest.raises(AttemptLimitReached):
        start_attempt(user.id, quiz)


def test_attempt_limit_in_web_flow(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        from courses.models import EnrolmentSource
        from courses.services import enrol
        from tests.courses.conftest import make_course

        user = make_user("t@example.com", "trainee")
        quiz = make_quiz(max_attempts=1)
        course = make_course(quiz)
        enrolment = enrol(user.id, course, EnrolmentSource.ADMIN)
        step_id = course.steps[1].id
        path = f"/learn/courses/{enrolment.id}/steps/{step_id}"
    log_in(client, "t@example.com")
    token = _page_csrf(client, path)
    first = client.post(path + "/attempts", data={"csrf_token": token})
    assert first.status_code == 302
    attempt_url = first.headers["Location"]
    page = client.get(attempt_url).get_data(as_text=True)
    client.post(attempt_url.split("?")[0], data={**_token(page), "action": "submit"})
    refused = client.post(path + "/attempts", data={"csrf_token": token})
    assert refused.status_code == 302
    assert "/attempts/" not in refused.headers["Location"]
    with app.app_context():
        assert db.session.query(QuizAttempt).count() == 1


def test_review_links_back_to_course(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        from courses.models import EnrolmentSource
        from courses.services import enrol
        from tests.courses.conftest import make_course

        user = make_user("t@example.com", "trainee")
        course = make_course(make_quiz())
        enrolment = enrol(user.id, course, EnrolmentSource.ADMIN)
        enrolment_id = enrolment.id
        path = f"/learn/courses/{enrolment_id}/steps/{course.steps[1].id}"
    log_in(client, "t@example.com")
    started = client.post(
        path + "/attempts", data={"csrf_token": _page_csrf(client, path)}
    )
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    action = re.search(r'id="quiz" class="quiz"\s+action="([^"]+)"', page)
    assert action, "no quiz form on the page"
    assert action.group(1).endswith(f"?enrolment={enrolment_id}")

    submitted = client.post(action.group(1), data={**_token(page), "action": "submit"})
    assert submitted.status_code == 302
    review = client.get(submitted.headers["Location"]).get_data(as_text=True)
    assert "Review: Test quiz" in review
    assert f'href="/learn/courses/{enrolment_id}"' in review


def _page_csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _token(page: str) -> dict[str, str]:
    match = re.search(r'name="attempt_token" value="([^"]+)"', page)
    assert match, "no attempt token on the page"
    return {"attempt_token": match.group(1)}


def test_save_rejected_after_deadline(ctx: Any) -> None:
    user = make_user("t@example.com", "trainee")
    quiz = make_quiz(time_limit_s=60)
    attempt = start_attempt(user.id, quiz)
    questions = questions_of(attempt)
    save_answers(attempt, {questions[0].id: right_response(questions[0])})
    late = attempt.deadline + timedelta(seconds=1)
    with pytest.raises(AttemptClosed):
        save_answers(attempt, {questions[1].id: right_response(questions[1])}, now=late)
    assert attempt.state == AttemptState.GRADED
    assert attempt.auto_submitted
    saved = {a.question_id: a for a in attempt.answers}
    assert saved[questions[0].id].fraction == 1.0
    assert saved[questions[1].id].response == {}
    assert saved[questions[1].id].fraction == 0.0
    assert attempt.submitted_at == attempt.deadline


def test_expired_attempt_closed_on_next_access(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        user = make_user("t@example.com", "trainee")
        quiz = make_quiz(time_limit_s=60)
        attempt = start_attempt(user.id, quiz)
        question = questions_of(attempt)[0]
        save_answers(attempt, {question.id: right_response(question)})
        attempt.started_at -= timedelta(minutes=5)
        attempt.deadline -= timedelta(minutes=5)
        db.session.commit()
        attempt_id = attempt.id
    log_in(client, "t@example.com")
    page = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
    assert "Submitted automatically when the time ran out" in page
    with app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        assert attempt.state == AttemptState.GRADED
        assert attempt.score == pytest.approx(100 / 3, abs=0.01)


def test_sweep_closes_abandoned_attempts(ctx: Any) -> None:
    user = make_user("t@example.com", "trainee")
    quiz = make_quiz(time_limit_s=60)
    attempt = start_attempt(user.id, quiz)
    other = make_user("u@example.com", "trainee")
    open_attempt = start_attempt(other.id, quiz)
    assert close_expired_attempts(now=utcnow()) == 0
    attempt.deadline = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert close_expired_attempts() == 1
    assert attempt.state == AttemptState.GRADED
    assert open_attempt.state == AttemptState.IN_PROGRESS


def test_deadline_task_closes_attempt(ctx: Any) -> None:
    from courses.tasks import close_attempt_at_deadline

    user = make_user("t@example.com", "trainee")
    attempt = start_attempt(user.id, make_quiz(time_limit_s=60))
    assert close_attempt_at_deadline.run(attempt.id) == "open or done"
    attempt.deadline = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert close_attempt_at_deadline.run(attempt.id) == "closed"
    assert close_attempt_at_deadline.run(attempt.id) == "open or done"


def test_resume_after_interruption(app: Any) -> None:
    """A second client (a new tab after a crash) sees every saved answer."""
    with app.app_context():
        make_user("t@example.com", "trainee")
        quiz = make_quiz()
        quiz_id = quiz.id
    first = app.test_client()
    log_in(first, "t@example.com")
    with app.app_context():
        from courses.models import Quiz

        user_id = db.session.query(QuizAttempt).count() + 1
        attempt = start_attempt(user_id, db.session.get(Quiz, quiz_id))
        attempt_id = attempt.id
        questions = {q.qtype: q for q in questions_of(attempt)}
    page = first.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
    tf = questions["true_false"]
    numeric = questions["numerical"]
    reply = first.post(
        f"/learn/attempts/{attempt_id}",
        data={**_token(page), f"q{tf.id}": "false", f"q{numeric.id}": "2"},
        headers={"Accept": "application/json"},
    )
    assert reply.status_code == 200
    assert reply.get_json()["saved"] is True
    del first  # the tab is gone
    second = app.test_client()
    log_in(second, "t@example.com")
    resumed = second.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
    assert re.search(rf'name="q{tf.id}" value="false" checked', resumed)
    assert f'name="q{numeric.id}" value="2"' in resumed


def test_autosave_survives_expired_session(app: Any) -> None:
    with app.app_context():
        user = make_user("t@example.com", "trainee")
        attempt = start_attempt(user.id, make_quiz())
        attempt_id = attempt.id
        numeric = next(q for q in questions_of(attempt) if q.qtype == "numerical")
    client = app.test_client()
    log_in(client, "t@example.com")
    page = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": _meta_csrf(page)})
    # Logged out: no session and no valid CSRF token, but the page's token.
    reply = client.post(
        f"/learn/attempts/{attempt_id}",
        data={**_token(page), f"q{numeric.id}": "2", "csrf_token": "stale"},
    )
    assert reply.status_code == 302
    assert "/login" in reply.headers["Location"]
    with app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        assert attempt.answer_for(numeric.id).response == {"text": "2"}
        assert attempt.state == AttemptState.IN_PROGRESS
    # Submitting needs the login again; the text stays saved meanwhile.
    refused = client.post(
        f"/learn/attempts/{attempt_id}",
        data={**_token(page), f"q{numeric.id}": "2", "action": "submit"},
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.get(QuizAttempt, attempt_id).state == AttemptState.IN_PROGRESS


def _meta_csrf(page: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_save_without_token_rejected(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        user = make_user("t@example.com", "trainee")
        attempt_id = start_attempt(user.id, make_quiz()).id
    log_in(client, "t@example.com")
    reply = client.post(
        f"/learn/attempts/{attempt_id}",
        data={"attempt_token": "forged"},
        headers={"Accept": "application/json"},
    )
    assert reply.status_code == 400


def test_web_save_after_deadline_rejected(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        user = make_user("t@example.com", "trainee")
        attempt = start_attempt(user.id, make_quiz(time_limit_s=60))
        attempt_id = attempt.id
        numeric = next(q for q in questions_of(attempt) if q.qtype == "numerical")
    log_in(client, "t@example.com")
    page = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
    with app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        attempt.deadline = utcnow() - timedelta(seconds=1)
        db.session.commit()
    reply = client.post(
        f"/learn/attempts/{attempt_id}",
        data={**_token(page), f"q{numeric.id}": "2"},
        headers={"Accept": "application/json"},
    )
    assert reply.status_code == 409
    with app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        assert attempt.state == AttemptState.GRADED
        assert attempt.answer_for(numeric.id).response == {}


ALL_TYPES = """
::Single::Pick the capital of France. {=Paris#Yes ~Lyon#No-Lyon-fb}

::Multi::Pick the even numbers. {~%50%Two#Even-two-fb ~%50%Four ~%-100%Three#Odd-fb}

::TF::The sky is green. {FALSE#Sky-wrong-fb#Sky-right-fb}

::Short::Name the red planet. {=Mars#Mars-fb}

::Num::One plus one? {#2:0#Two-fb}

::Match::Match the capitals. {=Canada -> Ottawa =Italy -> Rome =Japan -> Tokyo}

// frontline: {"qtype": "ordering"}
::Order::Order the steps. {=Greet =Listen =Solve =Close}
"""


def test_correct_answers_never_reach_the_browser(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        user = make_user("t@example.com", "trainee")
        attempt = start_attempt(user.id, make_quiz(ALL_TYPES, category=""))
        attempt_id = attempt.id
        questions = questions_of(attempt)
    log_in(client, "t@example.com")
    page = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
    secrets = ["fb", "fraction", "Mars", ">2<", "feedback_correct", '"answer"']
    for secret in secrets:
        assert secret not in page, secret
    ordering = next(q for q in questions if q.qtype == "ordering")
    shown = [
        text for text in re.findall(r"<span>(Greet|Listen|Solve|Close)</span>", page)
    ]
    assert sorted(shown) == ["Close", "Greet", "Listen", "Solve"]
    assert ordering.id
    reply = client.post(
        f"/learn/attempts/{attempt_id}",
        data={**_token(page)},
        headers={"Accept": "application/json"},
    )
    body = json.dumps(reply.get_json())
    for secret in secrets:
        assert secret not in body
    # After submission the review shows answers and feedback.
    client.post(
        f"/learn/attempts/{attempt_id}", data={**_token(page), "action": "submit"}
    )
    review = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
    assert "Mars" in review
    assert "Right answer" in review


def test_full_marks_through_the_form(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        user = make_user("t@example.com", "trainee")
        attempt = start_attempt(user.id, make_quiz(ALL_TYPES, category=""))
        attempt_id = attempt.id
        form: dict[str, Any] = {}
        for question in questions_of(attempt):
            name = f"q{question.id}"
            response = right_response(question)
            if "choice" in response:
                form[name] = response["choice"]
            elif "choices" in response:
                form[name] = response["choices"]
            elif "value" in response:
                form[name] = "true" if response["value"] else "false"
            elif "text" in response:
                form[name] = response["text"]
            elif "matches" in response:
                for prompt, answer in response["matches"].items():
                    form[f"{name}-{prompt}"] = answer
            else:
                for position, item in enumerate(response["order"], start=1):
                    form[f"{name}-{item}"] = str(position)
    log_in(client, "t@example.com")
    page = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
    reply = client.post(
        f"/learn/attempts/{attempt_id}",
        data={**_token(page), **form, "action": "submit"},
    )
    assert reply.status_code == 302
    with app.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        assert attempt.state == AttemptState.GRADED
        assert {a.fraction for a in attempt.answers} == {1.0}
        assert attempt.score == 100.0


def test_manual_essay_waits_then_counts(ctx: Any) -> None:
    from courses.quizzes import grade_by_hand

    user = make_user("t@example.com", "trainee")
    grader = make_user("a@example.com", "admin")
    quiz = make_quiz(
        "::Essay::Why reply fast? {}\n\n::TF::Chat is fast. {T}", category=""
    )
    attempt = start_attempt(user.id, quiz)
    essay = next(q for q in questions_of(attempt) if q.qtype == "essay")
    tf = next(q for q in questions_of(attempt) if q.qtype == "true_false")
    save_answers(
        attempt,
        {essay.id: {"text": "Because customers leave."}, tf.id: {"value": True}},
    )
    submit_attempt(attempt)
    assert attempt.state == AttemptState.NEEDS_GRADING
    assert attempt.score is None
    grade_by_hand(attempt.answer_for(essay.id), 0.5, "Good start.", grader.id)
    assert attempt.state == AttemptState.GRADED
    assert attempt.score == 75.0


def test_review_shows_every_type(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        user = make_user("t@example.com", "trainee")
        attempt = start_attempt(user.id, make_quiz(ALL_TYPES, category=""))
        questions = questions_of(attempt)
        save_answers(attempt, {q.id: right_response(q) for q in questions})
        submit_attempt(attempt)
        attempt_id = attempt.id
    log_in(client, "t@example.com")
    review = client.get(f"/learn/attempts/{attempt_id}")
    assert review.status_code == 200
    text = review.get_data(as_text=True)
    assert "Greet → Listen → Solve → Close" in text
    assert "Canada → Ottawa" in text
    assert "Score: 100.0%" in text


def test_autosave_script_posts_to_form_url() -> None:
    """The buttons named "action" shadow ``form.action`` in the browser."""
    from tests.conftest import ROOT

    template = (ROOT / "templates/courses/attempt.html").read_text()
    script = (ROOT / "static/js/quiz.js").read_text()
    assert 'name="action"' in template
    assert "form.action" not in script.replace('form.getAttribute("action")', "")
    assert 'fetch(form.getAttribute("action")' in script
