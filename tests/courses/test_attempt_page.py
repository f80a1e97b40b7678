"""The attempt page in the browser: what it reveals, and saves from two tabs."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app import db
from courses.models import AttemptState, Quiz, QuizAttempt, ReviewAnswers
from courses.quizzes import questions_of, save_answers, start_attempt, submit_attempt
from tests.conftest import log_in, make_user
from tests.courses.conftest import make_quiz, right_response

# One question of each gradable type; every feedback text and every key
# contains the word "SECRET", so the attempt page must never show that word.
EVERY_TYPE = """
$CATEGORY: Mixed

::Capital::What is the capital of France? {
~Lyon#SECRET-lyon
=Paris#SECRET-paris
~Marseille#SECRET-marseille
~Nice#SECRET-nice
}

::Greetings::Which greetings suit a chat? {
~%50%Hello#SECRET-hello
~%50%Good morning#SECRET-morning
~%-100%Yo#SECRET-yo
~%-100%Oi#SECRET-oi
}

::Sky::The sky is green. {FALSE#SECRET-wrong#SECRET-right}

::Apology::Type the word for an apology. {=SECRETsorry#SECRET-sorry =SECRETapologies}

::Sum::What is one plus one? {#4177:13}

::Pairs::Match each customer need with a channel. {
=Refund status -> Order page
=Angry caller -> Phone callback
=Password reset -> Self-service link
=Billing dispute -> Billing team
}

// frontline: {"qtype": "ordering"}
::Steps::Order the steps of a chat. {=Greet =Listen =Solve =Close}
"""


class FormReader(HTMLParser):
    """Collect the attempt form's fields: inputs, selects and textareas."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str]] = []
        self.select_options: dict[str, list[str]] = {}
        self.labels: dict[str, str] = {}
        self._select: str | None = None
        self._label_value: str | None = None
        self._label_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        fields = {key: value or "" for key, value in attrs}
        if tag == "input":
            self.inputs.append(fields)
            if self._label_text is not None and fields.get("type") in (
                "radio",
                "checkbox",
            ):
                self._label_value = fields.get("value")
        elif tag == "select":
            self._select = fields["name"]
            self.select_options[self._select] = []
        elif tag == "option" and self._select is not None:
            self.select_options[self._select].append(fields.get("value", ""))
        elif tag == "label":
            self._label_text = []
            self._label_value = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "label" and self._label_value is not None:
            self.labels["".join(self._label_text).strip()] = self._label_value
            self._label_value = None

    def handle_data(self, data: str) -> None:
        self._label_text.append(data)


def read_form(page: str) -> FormReader:
    reader = FormReader()
    reader.feed(page)
    return reader


def open_attempt(app: Flask, email: str, quiz_id: int) -> tuple[FlaskClient, int]:
    """Log a new trainee in on a client of their own and start an attempt."""
    with app.app_context():
        user = make_user(email, "trainee")
        attempt = start_attempt(user.id, db.session.get_one(Quiz, quiz_id))
        attempt_id = attempt.id
    client = app.test_client()
    log_in(client, email)
    return client, attempt_id


def test_open_attempt_reveals_no_key(app: Flask) -> None:
    with app.app_context():
        quiz = make_quiz(EVERY_TYPE, category="Mixed")
        quiz_id = quiz.id
        internal_ids = {
            str(entry["id"])
            for question in quiz.rules[0].category.questions
            for key in ("options", "pairs", "items")
            for entry in question.data.get(key, [])
        }
    client, attempt_id = open_attempt(app, "t@example.com", quiz_id)
    page = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
    assert "What is the capital of France?" in page
    assert "SECRET" not in page
    # The numerical answer and its tolerance.
    assert "4177" not in page
    assert ":13" not in page
    form = read_form(page)
    values = {i.get("value", "") for i in form.inputs}
    names = {i.get("name", "") for i in form.inputs} | set(form.select_options)
    select_values = {v for vs in form.select_options.values() for v in vs if v}
    for internal in internal_ids:
        assert internal not in values, f"option id {internal} is on the page"
        assert internal not in select_values, f"answer id {internal} is on the page"
        assert not any(name.endswith("-" + internal) for name in names), internal
    # Matching: no answer choice carries the id of the prompt it belongs to.
    for name, options in form.select_options.items():
        prompt = name.split("-", 1)[1]
        assert prompt not in options


def test_option_ids_differ_per_attempt(app: Flask) -> None:
    with app.app_context():
        quiz_id = make_quiz(EVERY_TYPE, category="Mixed").id
    labels = []
    for n in range(2):
        client, attempt_id = open_attempt(app, f"t{n}@example.com", quiz_id)
        page = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
        labels.append(read_form(page).labels)
        # The identifiers stay the same when the page is reloaded.
        again = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
        assert read_form(again).labels == labels[-1]
    assert labels[0]["Paris"] != labels[1]["Paris"]
    tokens = [
        {v for k, v in page_labels.items() if k not in ("True", "False")}
        for page_labels in labels
    ]
    assert len(tokens[0]) == 8
    assert tokens[0].isdisjoint(tokens[1])


def test_choice_and_ordering_shuffled(app: Flask) -> None:
    with app.app_context():
        quiz_id = make_quiz(EVERY_TYPE, category="Mixed").id
    option_orders, item_orders, answer_orders = set(), set(), set()
    for n in range(8):
        client, attempt_id = open_attempt(app, f"t{n}@example.com", quiz_id)
        page = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
        option_orders.add(tuple(re.findall(r"(Lyon|Paris|Marseille|Nice)", page)))
        item_orders.add(tuple(re.findall(r"<span>(Greet|Listen|Solve|Close)<", page)))
        answer_orders.add(
            tuple(re.findall(r">(Order page|Phone callback|Self-service link)<", page))
        )
    # Four options in the same order eight times in a row is vanishingly
    # unlikely unless shuffling is broken.
    assert len(option_orders) > 1
    assert len(item_orders) > 1
    assert len(answer_orders) > 1


def test_matching_answers_shuffled_without_option_shuffle(app: Flask) -> None:
    with app.app_context():
        quiz_id = make_quiz(EVERY_TYPE, category="Mixed", shuffle_options=False).id
    answer_orders = set()
    for n in range(8):
        client, attempt_id = open_attempt(app, f"t{n}@example.com", quiz_id)
        page = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
        first_select = page.split("<select", 2)[1]
        answer_orders.add(
            tuple(
                re.findall(
                    r">(Order page|Phone callback|Self-service link|Billing team)<",
                    first_select,
                )
            )
        )
    # Matching answers in the order of the prompts would give the key away.
    assert len(answer_orders) > 1


def test_page_tokens_grade_right_answers(app: Flask) -> None:
    with app.app_context():
        quiz_id = make_quiz(EVERY_TYPE, category="Mixed").id
    client, attempt_id = open_attempt(app, "t@example.com", quiz_id)
    page = client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
    form = read_form(page)
    with app.app_context():
        attempt = db.session.get_one(QuizAttempt, attempt_id)
        by_name = {q.name: q.id for q in questions_of(attempt)}
    data: dict[str, Any] = {
        i["name"]: i["value"]
        for i in form.inputs
        if i.get("type") == "hidden" and i.get("name")
    }
    data[f"q{by_name['Capital']}"] = form.labels["Paris"]
    data[f"q{by_name['Greetings']}"] = [
        form.labels["Hello"],
        form.labels["Good morning"],
    ]
    data[f"q{by_name['Sky']}"] = "false"
    data[f"q{by_name['Apology']}"] = "SECRETsorry"
    data[f"q{by_name['Sum']}"] = "4180"
    pair_answer = {
        "Refund status": "Order page",
        "Angry caller": "Phone callback",
        "Password reset": "Self-service link",
        "Billing dispute": "Billing team",
    }
    answer_tokens = _option_texts(page)
    for prompt, answer in pair_answer.items():
        field = _field_for_label(page, prompt)
        data[field] = answer_tokens[answer]
    for position, step in enumerate(["Greet", "Listen", "Solve", "Close"], start=1):
        data[_field_for_label(page, f"Position of: {step}")] = str(position)
    data["action"] = "submit"
    response = client.post(f"/learn/attempts/{attempt_id}", data=data)
    assert response.status_code == 302
    with app.app_context():
        attempt = db.session.get_one(QuizAttempt, attempt_id)
        fractions = {a.question.name: a.fraction for a in attempt.answers}
        assert fractions == {
            "Capital": 1.0,
            "Greetings": 1.0,
            "Sky": 1.0,
            "Apology": 1.0,
            "Sum": 1.0,
            "Pairs": 1.0,
            "Steps": 1.0,
        }
        assert attempt.score == 100.0


def _option_texts(page: str) -> dict[str, str]:
    return dict(
        (text, value)
        for value, text in re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)<', page)
    )


def _field_for_label(page: str, label: str) -> str:
    match = re.search(r'<label for="([^"]+)"[^>]*>' + re.escape(label) + "<", page)
    assert match, f"no field labelled {label!r}"
    return match.group(1)


REVIEWED = """
$CATEGORY: Review

::Capital::What is the capital of France? {
~Lyon#SECRET-lyon
=Paris#SECRET-paris
~Marseille#SECRET-marseille
####SECRET-general
}

::Sum::What is one plus one? {#2#SECRET-two}
"""


def submit_review(app: Flask, email: str, quiz_id: int, right: bool) -> str:
    """Submit an attempt with right or wrong answers; return its review page."""
    with app.app_context():
        user = _user(email)
        quiz = db.session.get_one(Quiz, quiz_id)
        attempt = start_attempt(user.id, quiz)
        questions = questions_of(attempt)
        responses = {
            q.id: right_response(q) if right else wrong_response(q) for q in questions
        }
        save_answers(attempt, responses)
        submit_attempt(attempt)
        attempt_id = attempt.id
    client = app.test_client()
    log_in(client, email)
    return client.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)


def _user(email: str) -> Any:
    from recruit.auth import find_user

    return find_user(email) or make_user(email, "trainee")


def wrong_response(question: Any) -> dict[str, Any]:
    if question.qtype == "single_choice":
        options = question.data["options"]
        return {"choice": next(o["id"] for o in options if o["text"] == "Lyon")}
    return {"text": "3"}


def assert_answers_hidden(review: str) -> None:
    assert "Score:" in review
    assert "Right answer:" not in review
    assert "SECRET" not in review
    # The trainee still sees their own answer.
    assert "Lyon" in review


def assert_answers_shown(review: str) -> None:
    assert "Right answer:" in review
    assert "Paris" in review
    assert "SECRET-general" in review


def test_review_hides_answers_until_last_attempt(app: Flask) -> None:
    with app.app_context():
        quiz_id = make_quiz(REVIEWED, category="Review", max_attempts=2).id
    first = submit_review(app, "t@example.com", quiz_id, right=False)
    assert_answers_hidden(first)
    last = submit_review(app, "t@example.com", quiz_id, right=False)
    assert_answers_shown(last)
    assert "SECRET-lyon" in last


def test_review_shows_answers_after_a_pass(app: Flask) -> None:
    with app.app_context():
        quiz_id = make_quiz(REVIEWED, category="Review").id
    failed = submit_review(app, "t@example.com", quiz_id, right=False)
    assert_answers_hidden(failed)
    passed = submit_review(app, "t@example.com", quiz_id, right=True)
    assert_answers_shown(passed)


def test_review_setting_each_attempt_and_never(app: Flask) -> None:
    with app.app_context():
        each = make_quiz(
            REVIEWED,
            bank="Each",
            category="Review",
            max_attempts=3,
            review_answers=ReviewAnswers.EACH_ATTEMPT,
        ).id
        never = make_quiz(
            REVIEWED,
            bank="Never",
            category="Review",
            max_attempts=1,
            review_answers=ReviewAnswers.NEVER,
        ).id
    assert_answers_shown(submit_review(app, "a@example.com", each, right=False))
    hidden = submit_review(app, "b@example.com", never, right=False)
    assert_answers_hidden(hidden)
    assert "not shown" in hidden


def test_quiz_review_default_is_last_or_pass(app: Flask) -> None:
    with app.app_context():
        quiz = make_quiz(REVIEWED, category="Review")
        assert quiz.review_answers == ReviewAnswers.LAST_OR_PASS


TWO_TEXTS = """
$CATEGORY: Texts

::First::Name a greeting. {=Hello =Hi}

::Second::Name a farewell. {=Goodbye =Bye}
"""


def page_fields(page: str) -> dict[str, str]:
    """The hidden fields of an attempt page: its token and answer revisions."""
    return {
        i["name"]: i.get("value", "")
        for i in read_form(page).inputs
        if i.get("type") == "hidden" and i.get("name")
    }


def two_tabs(app: Flask) -> tuple[FlaskClient, FlaskClient, int, dict[str, int]]:
    """Start an attempt at two text questions and log in on two clients."""
    with app.app_context():
        quiz_id = make_quiz(TWO_TEXTS, category="Texts").id
    first_tab, attempt_id = open_attempt(app, "t@example.com", quiz_id)
    second_tab = app.test_client()
    log_in(second_tab, "t@example.com")
    with app.app_context():
        attempt = db.session.get_one(QuizAttempt, attempt_id)
        ids = {q.name: q.id for q in questions_of(attempt)}
    return first_tab, second_tab, attempt_id, ids


def test_stale_tab_cannot_overwrite_newer_answer(app: Flask) -> None:
    first_tab, second_tab, attempt_id, ids = two_tabs(app)
    url = f"/learn/attempts/{attempt_id}"
    first, second = f"q{ids['First']}", f"q{ids['Second']}"
    json_reply = {"Accept": "application/json"}
    # Both tabs show the attempt before anything is saved.
    stale = page_fields(first_tab.get(url).get_data(as_text=True))
    fresh = page_fields(second_tab.get(url).get_data(as_text=True))
    # The first tab saves an answer, then the second tab saves a newer one.
    saved = first_tab.post(
        url, data={**stale, first: "Hello", second: ""}, headers=json_reply
    )
    assert saved.status_code == 200, saved.get_data(as_text=True)
    fresh = page_fields(second_tab.get(url).get_data(as_text=True))
    newer = second_tab.post(
        url, data={**fresh, first: "Hi", second: ""}, headers=json_reply
    )
    assert newer.status_code == 200, newer.get_data(as_text=True)
    # The first tab, still on the revisions of its own save, autosaves its old
    # text and a new answer to the second question.
    revisions = saved.get_json()["revisions"]
    conflict = first_tab.post(
        url,
        data={
            **stale,
            f"rev-{first}": revisions[str(ids["First"])],
            f"rev-{second}": revisions[str(ids["Second"])],
            first: "Hello",
            second: "Goodbye",
        },
        headers=json_reply,
    )
    assert conflict.status_code == 409
    body = conflict.get_json()
    assert "Another tab or window saved a newer answer" in body["error"]
    assert [c["question_id"] for c in body["conflicts"]] == [ids["First"]]
    assert body["conflicts"][0]["fields"] == [[first, "Hi"]]
    assert body["conflicts"][0]["number"] in (1, 2)
    with app.app_context():
        attempt = db.session.get_one(QuizAttempt, attempt_id)
        assert attempt.answer_for(ids["First"]).response == {"text": "Hi"}
        # The answer that did not conflict is saved.
        assert attempt.answer_for(ids["Second"]).response == {"text": "Goodbye"}
        revision = attempt.answer_for(ids["First"]).revision
    assert body["revisions"][str(ids["First"])] == revision
    # Saving the value it was just sent is accepted.
    resolved = first_tab.post(
        url,
        data={
            **stale,
            f"rev-{first}": str(revision),
            f"rev-{second}": body["revisions"][str(ids["Second"])],
            first: "Hi",
            second: "Goodbye",
        },
        headers=json_reply,
    )
    assert resolved.status_code == 200, resolved.get_data(as_text=True)


def test_stale_form_post_does_not_submit(app: Flask) -> None:
    first_tab, second_tab, attempt_id, ids = two_tabs(app)
    url = f"/learn/attempts/{attempt_id}"
    first = f"q{ids['First']}"
    stale = page_fields(first_tab.get(url).get_data(as_text=True))
    fresh = page_fields(second_tab.get(url).get_data(as_text=True))
    second_tab.post(url, data={**fresh, first: "Hi"})
    # Without JavaScript the stale tab posts the whole form to submit.
    reply = first_tab.post(url, data={**stale, first: "Hello", "action": "submit"})
    assert reply.status_code == 302
    page = first_tab.get(reply.headers["Location"]).get_data(as_text=True)
    assert "Another tab or window saved a newer answer" in page
    assert 'value="Hi"' in page
    with app.app_context():
        attempt = db.session.get_one(QuizAttempt, attempt_id)
        assert attempt.state == AttemptState.IN_PROGRESS
        assert attempt.answer_for(ids["First"]).response == {"text": "Hi"}


ATTACK = (
    "<script>alert(1)</script>"
    '<img src="x" onerror="alert(2)">'
    '<a href="javascript:alert(3)">click</a>'
)


def assert_no_active_markup(page: str) -> None:
    """No script, event handler or javascript: link made it into the page."""
    assert "<script>alert" not in page
    assert "<img src=x onerror" not in page
    assert 'onerror="alert' not in page
    assert 'href="javascript:' not in page
    assert "href=javascript:" not in page


def test_typed_answers_escaped_in_review_and_grading(app: Flask) -> None:
    with app.app_context():
        quiz = make_quiz(
            "::Essay::Why reply fast? {}\n\n::Word::Type a word. {=hello}",
            category="",
            review_answers=ReviewAnswers.EACH_ATTEMPT,
        )
        user = make_user("t@example.com", "trainee")
        make_user("a@example.com", "admin")
        attempt = start_attempt(user.id, quiz)
        save_answers(attempt, {q.id: {"text": ATTACK} for q in questions_of(attempt)})
        submit_attempt(attempt)
        attempt_id = attempt.id
        essay = next(a for a in attempt.answers if a.question.qtype == "essay")
        essay_id = essay.id
    trainee = app.test_client()
    log_in(trainee, "t@example.com")
    review = trainee.get(f"/learn/attempts/{attempt_id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in review
    assert_no_active_markup(review)
    admin = app.test_client()
    log_in(admin, "a@example.com")
    grading = admin.get(f"/admin/learning/answers/{essay_id}/grade")
    assert grading.status_code == 200
    text = grading.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert_no_active_markup(text)


HTML_QUESTION = f"""<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="multichoice">
    <name><text>Html</text></name>
    <questiontext format="html">
      <text><![CDATA[<p>Pick one.</p>{ATTACK}]]></text>
    </questiontext>
    <generalfeedback format="html">
      <text><![CDATA[<p>General.</p>{ATTACK}]]></text>
    </generalfeedback>
    <single>true</single>
    <answer fraction="100" format="html">
      <text><![CDATA[<b>Right</b>{ATTACK}]]></text>
      <feedback format="html"><text><![CDATA[<i>Yes</i>{ATTACK}]]></text></feedback>
    </answer>
    <answer fraction="0" format="html">
      <text><![CDATA[<b>Wrong</b>]]></text>
      <feedback format="html"><text><![CDATA[No{ATTACK}]]></text></feedback>
    </answer>
  </question>
  <question type="essay">
    <name><text>Essay</text></name>
    <questiontext format="html">
      <text><![CDATA[<p>Explain.</p>{ATTACK}]]></text>
    </questiontext>
  </question>
</quiz>
"""


def test_imported_html_sanitised_when_shown(app: Flask) -> None:
    from courses.banks import get_bank, import_questions
    from courses.models import QuizRule

    with app.app_context():
        import_questions(HTML_QUESTION.encode(), "Html", file_format="xml")
        bank = get_bank("Html")
        quiz = Quiz(title="Html quiz", review_answers=ReviewAnswers.EACH_ATTEMPT)
        assert bank is not None
        quiz.rules.append(QuizRule(category=bank.categories[0], count=None))
        db.session.add(quiz)
        db.session.commit()
        quiz_id = quiz.id
        make_user("a@example.com", "admin")
    client, attempt_id = open_attempt(app, "t@example.com", quiz_id)
    url = f"/learn/attempts/{attempt_id}"
    page = client.get(url).get_data(as_text=True)
    assert "<p>Pick one.</p>" in page
    assert "<b>Right</b>" in page
    assert_no_active_markup(page)
    with app.app_context():
        attempt = db.session.get_one(QuizAttempt, attempt_id)
        for question in questions_of(attempt):
            if question.qtype == "single_choice":
                save_answers(attempt, {question.id: right_response(question)})
            else:
                save_answers(attempt, {question.id: {"text": ATTACK}})
        submit_attempt(attempt)
        essay_id = next(a.id for a in attempt.answers if a.question.qtype == "essay")
    review = client.get(url).get_data(as_text=True)
    assert "General." in review
    assert "Yes" in review
    assert_no_active_markup(review)
    admin = app.test_client()
    log_in(admin, "a@example.com")
    grading = admin.get(f"/admin/learning/answers/{essay_id}/grade")
    text = grading.get_data(as_text=True)
    assert "<p>Explain.</p>" in text
    assert_no_active_markup(text)
