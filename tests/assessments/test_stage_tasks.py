"""The communication, attitude and troubleshooting tasks through the web client.

Tasks go to an in-memory broker, so these tests score answers by calling the
worker's ``score_response`` directly.
"""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import db
from assessments import grading
from assessments.models import (
    Assessment,
    Attempt,
    ItemSession,
    Response,
    ResponseStatus,
    SimulationMessage,
    SimulationRun,
)
from recruit.models import Application, AuditEvent
from tests.conftest import csrf_token, log_in, make_user
from tests.factories import funnel_opening


@pytest.fixture
def opening_id(app: Flask) -> int:
    with app.app_context():
        make_user("cand@example.com", "candidate", name="Cand One")
        make_user("other@example.com", "candidate", name="Cand Two")
        make_user("rec@example.com", "recruiter", name="Rita Recruiter")
        return funnel_opening(screening=False).id


def open_assessment(client: FlaskClient, opening_id: int, title: str) -> int:
    """Apply, move the application to the assessment's stage, start it."""
    token = csrf_token(client)
    applied = client.post(f"/openings/{opening_id}", data={"csrf_token": token})
    application_id = int(applied.location.rsplit("/", 1)[1])
    assessment = db.session.scalars(select(Assessment).filter_by(title=title)).one()
    application = db.session.get(Application, application_id)
    application.current_stage = assessment.stage
    db.session.commit()
    started = client.post(
        f"/me/applications/{application_id}/assessments/{assessment.id}",
        data={"csrf_token": token},
    )
    assert started.status_code == 302, started.get_data(as_text=True)
    return int(started.location.rsplit("/", 1)[1])


def items_of(attempt_id: int) -> list[int]:
    attempt = db.session.get(Attempt, attempt_id)
    return [item.id for item in attempt.assessment.items]


def score_submitted() -> None:
    ids = db.session.scalars(
        select(Response.id).where(Response.status == ResponseStatus.SUBMITTED)
    ).all()
    for response_id in ids:
        assert grading.score_response(response_id) == "scored"


def response_for(attempt_id: int, item_id: int) -> Response | None:
    return db.session.scalar(
        select(Response).filter_by(attempt_id=attempt_id, item_id=item_id)
    )


def choose(client: FlaskClient, attempt_id: int, item_id: int, **fields: str):
    data = {"csrf_token": csrf_token(client), **fields}
    return client.post(f"/attempts/{attempt_id}/items/{item_id}/choice", data=data)


def test_keys_never_reach_the_page(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        for title in ("Reasoning", "Situational judgement", "Work style questionnaire"):
            attempt_id = open_assessment(client, opening_id, title)
            page = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
            assert "credits" not in page
            assert "reverse" not in page
            assert '"key"' not in page
            assert "checked" not in page  # no option is chosen in advance


def test_choice_without_selection_shows_error(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Reasoning")
        first = items_of(attempt_id)[0]
        rejected = choose(client, attempt_id, first)
        assert rejected.status_code == 400
        page = rejected.get_data(as_text=True)
        section = page.split(f'id="item-{first}"')[1].split('class="item"')[0]
        assert "Choose one of the options." in section
        assert response_for(attempt_id, first) is None


def test_reasoning_scored_against_key(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Reasoning")
        first, second, *_rest = items_of(attempt_id)
        assert choose(client, attempt_id, first, choice="2").status_code == 302
        assert choose(client, attempt_id, second, choice="1").status_code == 302
        again = choose(client, attempt_id, first, choice="0")
        assert again.status_code == 409
        score_submitted()
        assert response_for(attempt_id, first).score.score == 100.0
        assert response_for(attempt_id, second).score.score == 0.0
        assert json.loads(response_for(attempt_id, first).text) == {"choice": 2}


def test_ranking_needs_distinct_places(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Situational judgement")
        rank_item = items_of(attempt_id)[2]
        places = {"rank-0": "1", "rank-1": "1", "rank-2": "3", "rank-3": "4"}
        rejected = choose(client, attempt_id, rank_item, **places)
        assert rejected.status_code == 400
        assert "different place" in rejected.get_data(as_text=True)
        # The key is [1, 3, 2, 0]; this order swaps the last two.
        places = {"rank-0": "3", "rank-1": "1", "rank-2": "4", "rank-3": "2"}
        assert choose(client, attempt_id, rank_item, **places).status_code == 302
        score_submitted()
        score = response_for(attempt_id, rank_item).score
        assert score.evidence["ranking"] == [1, 3, 0, 2]
        assert score.score == 75.0


def test_partial_questionnaire_keeps_choices(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Work style questionnaire")
        item_id = items_of(attempt_id)[0]
        rejected = choose(client, attempt_id, item_id, **{"s-calm": "4"})
        assert rejected.status_code == 400
        page = rejected.get_data(as_text=True)
        assert "Answer every statement" in page
        assert re.search(r'name="s-calm" value="4" checked', page)


def test_straight_lined_questionnaire_is_flagged(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Work style questionnaire")
        item_id = items_of(attempt_id)[0]
        statements = db.session.get(Attempt, attempt_id).assessment.items[0]
        answers = {f"s-{s['id']}": "5" for s in statements.config["statements"]}
        assert choose(client, attempt_id, item_id, **answers).status_code == 302
        score_submitted()
        response = response_for(attempt_id, item_id)
        assert "straight_lining" in response.score.evidence["flags"]
        assert "inconsistent" in response.score.evidence["flags"]
        assert response.needs_review is True


def typing_payload(text: str, **overrides: object) -> str:
    rng = random.Random(11)  # noqa: S311 - test data, not secrets
    data = {
        "keystrokes": len(text),
        "pastes": 0,
        "intervals": [round(rng.uniform(90, 260)) for _ in range(len(text) - 1)],
        "duration_ms": 30_000,
    }
    data.update(overrides)
    return json.dumps(data)


def start_typing(client: FlaskClient, attempt_id: int, item_id: int) -> None:
    started = client.post(
        f"/attempts/{attempt_id}/items/{item_id}/typing/start",
        data={"csrf_token": csrf_token(client)},
    )
    assert started.status_code == 302
    # The page opens on the typing box, which a browser focuses.
    assert started.location.endswith(f"#item{item_id}-typed")


def send_typing(client: FlaskClient, attempt_id: int, item_id: int, text: str, payload):
    return client.post(
        f"/attempts/{attempt_id}/items/{item_id}/typing",
        data={
            "csrf_token": csrf_token(client),
            f"item{item_id}-typed": text,
            f"item{item_id}-measurements": payload,
        },
        follow_redirects=True,
    )


def passage_of(attempt_id: int) -> str:
    return db.session.get(Attempt, attempt_id).assessment.items[0].config["passage"]


def backdate_typing(attempt_id: int, item_id: int, seconds: float) -> None:
    session = db.session.scalar(
        select(ItemSession).filter_by(attempt_id=attempt_id, item_id=item_id)
    )
    session.started_at = session.started_at - timedelta(seconds=seconds)
    db.session.commit()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"pastes": 1}, "Pasted text is not accepted"),
        ({"keystrokes": 0, "intervals": []}, "appeared without keystrokes"),
        ({"intervals": [120] * 200}, "machine-regular"),
    ],
)
def test_typing_test_rejects_faked_typing(
    app: Flask, client: FlaskClient, opening_id: int, overrides: dict, message: str
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Typing test")
        item_id = items_of(attempt_id)[0]
        start_typing(client, attempt_id, item_id)
        backdate_typing(attempt_id, item_id, 60)
        text = passage_of(attempt_id)
        page = send_typing(
            client, attempt_id, item_id, text, typing_payload(text, **overrides)
        )
        assert message in page.get_data(as_text=True)
        assert response_for(attempt_id, item_id) is None
        # The clock stops, and starts again with the next try at the test.
        session = db.session.scalar(select(ItemSession))
        assert session.data["running"] is False
        assert [t["outcome"] for t in session.data["tries"]] == ["rejected"]


def test_typing_at_impossible_speed_is_rejected(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Typing test")
        item_id = items_of(attempt_id)[0]
        start_typing(client, attempt_id, item_id)
        text = passage_of(attempt_id)
        # Sent at once: well over 200 words per minute on the server's clock,
        # whatever the page claims.
        page = send_typing(
            client, attempt_id, item_id, text, typing_payload(text, duration_ms=50)
        )
        assert "faster than anyone can type" in page.get_data(as_text=True)
        assert response_for(attempt_id, item_id) is None


def test_typing_speed_uses_server_clock(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Typing test")
        item_id = items_of(attempt_id)[0]
        start_typing(client, attempt_id, item_id)
        backdate_typing(attempt_id, item_id, 120)
        text = passage_of(attempt_id)
        # The page claims 10 s; the server saw 120 s pass.
        payload = typing_payload(text, duration_ms=10_000)
        page = send_typing(client, attempt_id, item_id, text, payload)
        assert "Typing test submitted." in page.get_data(as_text=True)
        score_submitted()
        evidence = response_for(attempt_id, item_id).score.evidence
        assert evidence["seconds"] >= 120
        assert evidence["gross_wpm"] == pytest.approx(len(text) / 5 / 2, abs=0.5)
        assert evidence["accuracy"] == 1.0


def recruiter_page(app: Flask, application_id: int) -> str:
    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    page = recruiter.get(f"/recruit/applications/{application_id}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def typing_session_of(attempt_id: int, item_id: int) -> ItemSession:
    db.session.expire_all()
    return db.session.scalars(
        select(ItemSession).filter_by(attempt_id=attempt_id, item_id=item_id)
    ).one()


def test_typing_retries_are_limited_and_recorded(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Typing test")
        item_id = items_of(attempt_id)[0]
        assert (
            db.session.get(Attempt, attempt_id)
            .assessment.items[0]
            .config["max_retries"]
            == 2
        )
        text = passage_of(attempt_id)
        pasted = typing_payload(text, pastes=1)
        expected_pages = [
            "You can start the test again 2 more times.",
            "You can start the test again 1 more time.",
            "You have used all 3 tries at the typing test",
        ]
        for number, expected in enumerate(expected_pages, start=1):
            start_typing(client, attempt_id, item_id)
            backdate_typing(attempt_id, item_id, 60)
            page = send_typing(client, attempt_id, item_id, text, pasted)
            assert expected in page.get_data(as_text=True), number
            tries = typing_session_of(attempt_id, item_id).data["tries"]
            assert len(tries) == number
            assert tries[-1]["outcome"] == "rejected"
            assert tries[-1]["reason"] == "pasted"
            assert tries[-1]["pastes"] == 1
            assert tries[-1]["server_seconds"] >= 60

        # The last rejection closes the test with a score of 0 for review.
        response = response_for(attempt_id, item_id)
        assert response.status == ResponseStatus.SUBMITTED
        started_before = typing_session_of(attempt_id, item_id).started_at
        refused = client.post(
            f"/attempts/{attempt_id}/items/{item_id}/typing/start",
            data={"csrf_token": csrf_token(client)},
            follow_redirects=True,
        )
        assert "already submitted" in refused.get_data(as_text=True)
        assert typing_session_of(attempt_id, item_id).started_at == started_before
        score_submitted()
        response = response_for(attempt_id, item_id)
        assert response.score.score == 0.0
        assert response.needs_review is True
        assert len(response.score.evidence["tries"]) == 3
        assert response.score.evidence["rejected"] is True


def test_typing_accepted_after_a_retry(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Typing test")
        item_id = items_of(attempt_id)[0]
        text = passage_of(attempt_id)
        start_typing(client, attempt_id, item_id)
        backdate_typing(attempt_id, item_id, 60)
        send_typing(client, attempt_id, item_id, text, typing_payload(text, pastes=2))
        start_typing(client, attempt_id, item_id)
        backdate_typing(attempt_id, item_id, 90)
        page = send_typing(client, attempt_id, item_id, text, typing_payload(text))
        assert "Typing test submitted." in page.get_data(as_text=True)
        tries = typing_session_of(attempt_id, item_id).data["tries"]
        assert [t["outcome"] for t in tries] == ["rejected", "accepted"]
        assert tries[1]["server_seconds"] >= 90
        score_submitted()
        evidence = response_for(attempt_id, item_id).score.evidence
        assert evidence["seconds"] >= 90
        assert [t["outcome"] for t in evidence["tries"]] == ["rejected", "accepted"]
        application_id = db.session.get(Attempt, attempt_id).application_id
    html = recruiter_page(app, application_id)
    section = html.split(f'id="typing-tries-{item_id}"')[1].split("</table>")[0]
    assert section.count("<tr") == 3  # the heading row and two tries
    assert "rejected" in section
    assert "pasted" in section
    assert "accepted" in section


def test_typing_tries_show_before_submission(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Typing test")
        item_id = items_of(attempt_id)[0]
        text = passage_of(attempt_id)
        start_typing(client, attempt_id, item_id)
        send_typing(client, attempt_id, item_id, text, typing_payload(text, pastes=1))
        application_id = db.session.get(Attempt, attempt_id).application_id
    html = recruiter_page(app, application_id)
    section = html.split(f'id="typing-tries-{item_id}"')[1].split("</table>")[0]
    assert "pasted" in section
    assert "Tries at the typing test: 1 of 3 allowed" in html


def chat_url(attempt_id: int, item_id: int, suffix: str = "") -> str:
    return f"/attempts/{attempt_id}/items/{item_id}/chat{suffix}"


def start_chat(client: FlaskClient, opening_id: int) -> tuple[int, int]:
    attempt_id = open_assessment(client, opening_id, "Customer chat simulation")
    item_id = items_of(attempt_id)[0]
    started = client.post(
        chat_url(attempt_id, item_id, "/start"), data={"csrf_token": csrf_token(client)}
    )
    assert started.status_code == 302
    return attempt_id, item_id


def say(client: FlaskClient, attempt_id: int, item_id: int, text: str):
    return client.post(
        chat_url(attempt_id, item_id),
        data={"csrf_token": csrf_token(client), "message": text},
    )


def test_chat_resumes_after_reload(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, item_id = start_chat(client, opening_id)
        assert (
            say(
                client, attempt_id, item_id, "Hi Dana, what is your order number?"
            ).status_code
            == 302
        )
        again = client.post(
            chat_url(attempt_id, item_id, "/start"),
            data={"csrf_token": csrf_token(client)},
        )
        assert again.status_code == 302
        page = client.get(chat_url(attempt_id, item_id)).get_data(as_text=True)
        assert "what is your order number?" in page
        assert "it&#39;s order 48213" in page
        assert db.session.query(SimulationRun).count() == 1
        times = [m.at for m in db.session.scalars(select(SimulationMessage))]
        assert times == sorted(times)


def test_chat_rejects_empty_and_long_messages(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, item_id = start_chat(client, opening_id)
        empty = say(client, attempt_id, item_id, "   ")
        assert empty.status_code == 400
        assert "The message is empty" in empty.get_data(as_text=True)
        long = say(client, attempt_id, item_id, "word " * 300)
        assert long.status_code == 400
        assert "under 1,000 characters" in long.get_data(as_text=True)
        assert db.session.query(SimulationMessage).count() == 1


def test_message_after_chat_ended_is_rejected(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, item_id = start_chat(client, opening_id)
        say(client, attempt_id, item_id, "Hello Dana, may I have the order number?")
        ended = client.post(
            chat_url(attempt_id, item_id, "/end"),
            data={"csrf_token": csrf_token(client)},
        )
        assert ended.status_code == 302
        late = say(client, attempt_id, item_id, "One more thing: LATE MESSAGE")
        assert late.status_code == 409
        assert "This chat has ended" in late.get_data(as_text=True)
        texts = db.session.scalars(select(SimulationMessage.text)).all()
        assert not any("LATE MESSAGE" in text for text in texts)
        run = db.session.scalar(select(SimulationRun))
        assert run.end_reason == "ended_by_agent"
        score_submitted()
        score = response_for(attempt_id, item_id).score
        assert score.evidence["resolved"] is False
        assert len(score.evidence["transcript"]) == 3
        assert not any("LATE" in m["text"] for m in score.evidence["transcript"])


def test_resolved_chat_is_scored(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    from tests.assessments.test_scenarios import GOOD_PATHS

    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, item_id = start_chat(client, opening_id)
        for text in GOOD_PATHS["order_not_arrived"]:
            assert say(client, attempt_id, item_id, text).status_code == 302
        run = db.session.scalar(select(SimulationRun))
        assert run.end_reason == "resolved"
        score_submitted()
        score = response_for(attempt_id, item_id).score
        assert score.evidence["resolved"] is True
        assert score.subscores["steps"] == 100.0
        assert score.evidence["etiquette"]["first_response_s"] is not None
        assert score.score >= 90


def test_other_candidate_gets_404(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id, chat_item = start_chat(client, opening_id)
        typing_attempt = open_assessment(client, opening_id, "Typing test")
        typing_item = items_of(typing_attempt)[0]
        reasoning = open_assessment(client, opening_id, "Reasoning")
        choice_item = items_of(reasoning)[0]
    other = app.test_client()
    log_in(other, "other@example.com")
    token = csrf_token(other)
    with app.app_context():
        assert other.get(chat_url(attempt_id, chat_item)).status_code == 404
        for path in (
            chat_url(attempt_id, chat_item),
            chat_url(attempt_id, chat_item, "/start"),
            chat_url(attempt_id, chat_item, "/end"),
            f"/attempts/{typing_attempt}/items/{typing_item}/typing/start",
            f"/attempts/{typing_attempt}/items/{typing_item}/typing",
            f"/attempts/{reasoning}/items/{choice_item}/choice",
        ):
            answered = other.post(path, data={"csrf_token": token, "message": "hi"})
            assert answered.status_code == 404, path
        assert db.session.query(SimulationMessage).count() == 1
        assert db.session.query(Response).count() == 0


def test_chat_reply_bad_inputs(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Chat replies")
        item_id = items_of(attempt_id)[0]

        def submit(text: str):
            return client.post(
                f"/attempts/{attempt_id}/items/{item_id}/text",
                data={
                    "csrf_token": csrf_token(client),
                    f"item{item_id}-answer": text,
                    f"item{item_id}-submit": "Submit answer",
                },
            )

        empty = submit("  ")
        assert empty.status_code == 400
        assert "The answer is empty" in empty.get_data(as_text=True)
        huge = submit("Hello there. " * 8000)
        assert huge.status_code == 400
        assert "the limit is 20,000" in huge.get_data(as_text=True)
        assert response_for(attempt_id, item_id) is None


def test_hostile_text_is_escaped_for_recruiters(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    log_in(client, "cand@example.com")
    with app.app_context():
        attempt_id = open_assessment(client, opening_id, "Chat replies")
        item_id = items_of(attempt_id)[0]
        client.post(
            f"/attempts/{attempt_id}/items/{item_id}/text",
            data={
                "csrf_token": csrf_token(client),
                f"item{item_id}-answer": f"Hi Olivia, {hostile} PLS WAIT",
                f"item{item_id}-submit": "Submit answer",
            },
        )
        chat_attempt, chat_item = start_chat(client, opening_id)
        say(client, chat_attempt, chat_item, f"Hello {hostile}")
        client.post(
            chat_url(chat_attempt, chat_item, "/end"),
            data={"csrf_token": csrf_token(client)},
        )
        score_submitted()
        application_id = db.session.scalar(select(Application.id))
    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    page = recruiter.get(f"/recruit/applications/{application_id}").get_data(
        as_text=True
    )
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert page.count("&lt;script&gt;alert(") >= 2
    assert "chat_speak" in page
    candidate_page = client.get(f"/attempts/{attempt_id}/status").get_json()
    assert '"score"' not in json.dumps(candidate_page)


def straight_line_attitude(client: FlaskClient, opening_id: int) -> int:
    """Answer the judgement tasks and agree with every statement.

    Returns the id of the questionnaire response.
    """
    judgement = open_assessment(client, opening_id, "Situational judgement")
    best_first, best_second, rank_item = items_of(judgement)
    choose(client, judgement, best_first, choice="0")
    choose(client, judgement, best_second, choice="0")
    places = {"rank-0": "1", "rank-1": "2", "rank-2": "3", "rank-3": "4"}
    choose(client, judgement, rank_item, **places)
    questionnaire = open_assessment(client, opening_id, "Work style questionnaire")
    item = db.session.get(Attempt, questionnaire).assessment.items[0]
    answers = {f"s-{s['id']}": "5" for s in item.config["statements"]}
    assert choose(client, questionnaire, item.id, **answers).status_code == 302
    score_submitted()
    response = response_for(questionnaire, item.id)
    assert response is not None
    return response.id


def review(client: FlaskClient, response_id: int, **fields: str):
    data = {"csrf_token": csrf_token(client), **fields}
    return client.post(f"/recruit/responses/{response_id}/review", data=data)


def test_straight_lined_score_withheld_until_review(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        response_id = straight_line_attitude(client, opening_id)
        response = db.session.get(Response, response_id)
        assert response.score.score is None
        assert response.awaiting_review is True
        computed = response.score.evidence["withheld"]["score"]
        application = response.attempt.application
        stage = response.item.assessment.stage
        result = application.result_for(stage)
        judgement_score = result.score
        assert judgement_score is not None  # the judgement tasks alone
        assert result.complete is False
        assert result.passed is None
        application_id = application.id

    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    page = recruiter.get(f"/recruit/applications/{application_id}")
    assert "Accept the computed score" in page.get_data(as_text=True)
    missing_reason = review(recruiter, response_id, action="accept", reason="")
    assert missing_reason.status_code == 302
    accepted = review(
        recruiter, response_id, action="accept", reason="Asked her; she misread"
    )
    assert accepted.status_code == 302
    with app.app_context():
        response = db.session.get(Response, response_id)
        assert response.score.score == computed
        assert response.needs_review is False
        assert response.awaiting_review is False
        result = response.attempt.application.result_for(response.item.assessment.stage)
        assert result.complete is True
        assert result.score == round((judgement_score + computed) / 2, 1)
        events = db.session.scalars(
            select(AuditEvent).filter_by(action="review_score")
        ).all()
        assert len(events) == 1
        assert events[0].reason == "Asked her; she misread"
        assert events[0].before["computed_score"] == computed
        assert events[0].after["score"] == computed
    again = review(recruiter, response_id, action="replace", score="10", reason="x")
    assert again.status_code == 302
    with app.app_context():
        assert db.session.get(Response, response_id).score.score == computed
    page = recruiter.get(f"/recruit/applications/{application_id}")
    assert "Asked her; she misread" in page.get_data(as_text=True)


def test_recruiter_enters_score_for_withheld_answer(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        response_id = straight_line_attitude(client, opening_id)
    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    no_score = review(recruiter, response_id, action="replace", reason="Retested")
    assert no_score.status_code == 302
    out_of_range = review(
        recruiter, response_id, action="replace", score="120", reason="Retested"
    )
    assert out_of_range.status_code == 302
    with app.app_context():
        assert db.session.get(Response, response_id).awaiting_review is True
    entered = review(
        recruiter, response_id, action="replace", score="35", reason="Retested"
    )
    assert entered.status_code == 302
    with app.app_context():
        response = db.session.get(Response, response_id)
        assert response.score.score == 35.0
        assert response.score.cefr is None
        assert response.score.evidence["review"]["accepted_computed"] is False
        event = db.session.scalars(
            select(AuditEvent).filter_by(action="review_score")
        ).one()
        assert event.after["score"] == 35.0
