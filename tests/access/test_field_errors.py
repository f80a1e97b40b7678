"""Forms sent with errors show each error beside its field and tied to it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from flask import Flask

from tests.access.conftest import client_for
from tests.conftest import csrf_token

VOID_TAGS = {"input", "br", "img", "hr", "meta", "link", "source", "wbr", "col"}
CONTROL_TAGS = {"input", "select", "textarea"}


class ErrorParser(HTMLParser):
    """Record form controls and elements with an id, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.order = 0
        self.controls: list[tuple[int, dict[str, str]]] = []
        self.elements: dict[str, dict[str, Any]] = {}
        self._open: list[tuple[str, str | None]] = []
        self._live_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.order += 1
        values = {name: value or "" for name, value in attrs}
        if tag in CONTROL_TAGS and values.get("type") != "hidden":
            self.controls.append((self.order, values))
        live = values.get("aria-live") in ("polite", "assertive")
        if "id" in values:
            self.elements[values["id"]] = {
                "order": self.order,
                "attrs": values,
                "text": "",
                "in_live_region": self._live_depth > 0 or live,
            }
        if tag not in VOID_TAGS:
            self._open.append((tag, values.get("id")))
            self._live_depth += live

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, element_id = self._open.pop()
            if element_id and self.elements[element_id]["attrs"].get("aria-live"):
                self._live_depth -= 1
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for _tag, element_id in self._open:
            if element_id:
                self.elements[element_id]["text"] += data


def assert_error_tied(html: str, name: str, words: str) -> None:
    """Assert that the control ``name`` shows an error containing ``words``.

    The error must follow the control and come before the next control of
    another name. The control must be aria-invalid, and its aria-describedby
    must name the error and an announced error (role=alert or inside an
    aria-live region), which may be the same element or a form summary.
    """
    parser = ErrorParser()
    parser.feed(html)
    positions = [
        i for i, (_o, a) in enumerate(parser.controls) if a.get("name") == name
    ]
    assert positions, f"no control named {name}"
    index = positions[0]
    order, attrs = parser.controls[index]
    assert attrs.get("aria-invalid") == "true", name
    described = attrs.get("aria-describedby", "").split()
    described_errors = [
        parser.elements[i]
        for i in described
        if i in parser.elements
        and "error" in parser.elements[i]["attrs"].get("class", "").split()
    ]
    announced = [
        element
        for element in described_errors
        if element["attrs"].get("role") == "alert" or element["in_live_region"]
    ]
    assert announced, f"{name}: no alert or live region in aria-describedby"
    errors = [element for element in described_errors if words in element["text"]]
    assert errors, f"{name}: no error in aria-describedby says {words!r}"
    error = errors[0]
    assert error["order"] > order, name
    # The next control of another name; a radio group shares one error.
    later = [o for o, a in parser.controls[index + 1 :] if a.get("name") != name]
    if later:
        assert error["order"] < later[0], name


def test_registration_errors_tied(access_app: Flask) -> None:
    client = access_app.test_client()
    page = client.post(
        "/register",
        data={
            "name": "Ana",
            "email": "not an email",
            "password": "short",
            "confirm": "other",
            "csrf_token": csrf_token(client, "/register"),
        },
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert_error_tied(html, "email", "email")
    assert_error_tied(html, "password", "10")


def test_login_errors_tied(access_app: Flask) -> None:
    client = access_app.test_client()
    page = client.post(
        "/login",
        data={
            "email": "nobody-here@example.com",
            "password": "wrong password",
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert page.status_code == 200
    assert_error_tied(page.get_data(as_text=True), "password", "not correct")
    empty = client.post(
        "/login", data={"email": "", "csrf_token": csrf_token(client, "/login")}
    )
    assert_error_tied(empty.get_data(as_text=True), "email", "")


def test_opening_settings_errors_tied(access_app: Flask, world: dict[str, Any]) -> None:
    client = client_for(access_app, "recruiter")
    path = f"/recruit/openings/{world['opening']}/settings"
    form = client.get(path).get_data(as_text=True)
    parser = ErrorParser()
    parser.feed(form)
    data = {
        a["name"]: a.get("value", "")
        for _o, a in parser.controls
        if a.get("name") and a.get("type") != "checkbox"
    }
    data.update({"stages-0-weight": "500", "reason": "", "csrf_token": ""})
    data["csrf_token"] = csrf_token(client, path)
    page = client.post(path, data=data)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert_error_tied(html, "stages-0-weight", "100")
    assert_error_tied(html, "reason", "")


def test_long_written_answer_error_tied(
    access_app: Flask, world: dict[str, Any]
) -> None:
    client = client_for(access_app, "candidate")
    item = world["writing_item"]
    page = client.post(
        f"/attempts/{world['attempt']}/items/{item}/text",
        data={
            f"item{item}-answer": "word " * 5000,
            f"item{item}-submit": "Submit answer",
            "csrf_token": csrf_token(client, f"/attempts/{world['attempt']}"),
        },
    )
    assert page.status_code == 400
    assert_error_tied(page.get_data(as_text=True), f"item{item}-answer", "20,000")


def test_choice_without_answer_error_tied(
    access_app: Flask, world: dict[str, Any]
) -> None:
    client = client_for(access_app, "candidate")
    attempt, item = world["choice_attempt"], world["choice_item"]
    page = client.post(
        f"/attempts/{attempt}/items/{item}/choice",
        data={"csrf_token": csrf_token(client, f"/attempts/{attempt}")},
    )
    assert page.status_code == 400
    assert_error_tied(page.get_data(as_text=True), "choice", "")


def test_questionnaire_gap_error_tied(access_app: Flask, world: dict[str, Any]) -> None:
    client = client_for(access_app, "candidate")
    attempt, item = world["likert_attempt"], world["likert_item"]
    form = client.get(f"/attempts/{attempt}").get_data(as_text=True)
    names = sorted(set(re.findall(r'name="(s-[^"]+)"', form)))
    assert len(names) > 2
    answered = {name: "3" for name in names[1:]}
    page = client.post(
        f"/attempts/{attempt}/items/{item}/choice",
        data={"csrf_token": csrf_token(client, f"/attempts/{attempt}"), **answered},
    )
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert_error_tied(html, names[0], "Choose an answer")
    assert f'name="{names[1]}" value="3" checked' in html


def test_long_quiz_answer_error_tied(access_app: Flask, world: dict[str, Any]) -> None:
    client = client_for(access_app, "trainee")
    path = f"/learn/attempts/{world['quiz_attempt']}"
    form = client.get(path).get_data(as_text=True)
    token = re.search(r'name="attempt_token" value="([^"]+)"', form)
    assert token is not None
    essay = re.search(r'<textarea id="(q\d+)"', form)
    true_false = re.search(r'name="(q\d+)" value="true"', form)
    assert essay is not None
    assert true_false is not None
    long_text = "sorry " * 3334 + "tail"
    data = {
        "attempt_token": token.group(1),
        essay.group(1): long_text,
        true_false.group(1): "true",
    }

    page = client.post(path, data=data)
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert_error_tied(html, essay.group(1), "the limit is 20,000")
    assert "sorry sorry" in html
    assert "tail</textarea>" in html

    fetched = client.post(path, data=data, headers={"Accept": "application/json"})
    assert fetched.status_code == 400
    assert fetched.json["questions"] == [int(essay.group(1)[1:])]
    with access_app.app_context():
        from app import db
        from courses.models import QuizAttempt

        stored = db.session.get(QuizAttempt, world["quiz_attempt"])
        essay_answer = stored.answer_for(int(essay.group(1)[1:]))
        assert essay_answer.response == {"text": "I am sorry, and here is why."}
        tf_answer = stored.answer_for(int(true_false.group(1)[1:]))
        assert tf_answer.response == {"value": True}
