"""Grading of each question type, and the combination of attempts per method."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from courses.models import AttemptState, GradingMethod
from courses.qtypes import QuestionDataError, get_type
from courses.quizzes import final_grade

CHOICES = {
    "options": [
        {"id": "o1", "text": "Paris", "fraction": 1.0, "feedback": "Right."},
        {"id": "o2", "text": "Lyon", "fraction": 0.0, "feedback": "No."},
    ]
}
MULTIPLE = {
    "options": [
        {"id": "o1", "text": "A", "fraction": 0.5, "feedback": ""},
        {"id": "o2", "text": "B", "fraction": 0.5, "feedback": ""},
        {"id": "o3", "text": "C", "fraction": -1.0, "feedback": "C is wrong."},
    ]
}


def grade(qtype: str, data: dict[str, Any], response: dict[str, Any]) -> Any:
    return get_type(qtype).grade(data, response)


def test_single_choice_grades_option_fraction() -> None:
    right = grade("single_choice", CHOICES, {"choice": "o1"})
    wrong = grade("single_choice", CHOICES, {"choice": "o2"})
    assert right.fraction == 1.0
    assert right.feedback == ["Right."]
    assert wrong.fraction == 0.0
    assert wrong.feedback == ["No."]
    assert grade("single_choice", CHOICES, {}).fraction == 0.0


@pytest.mark.parametrize(
    ("choices", "expected"),
    [(["o1"], 0.5), (["o1", "o2"], 1.0), (["o1", "o2", "o3"], 0.0), (["o3"], 0.0)],
)
def test_multiple_choice_partial_credit(choices: list[str], expected: float) -> None:
    assert grade("multiple_choice", MULTIPLE, {"choices": choices}).fraction == expected


def test_true_false_feedback_by_outcome() -> None:
    data = {"answer": False, "feedback_correct": "Yes.", "feedback_incorrect": "No."}
    right = grade("true_false", data, {"value": False})
    wrong = grade("true_false", data, {"value": True})
    assert (right.fraction, right.feedback) == (1.0, ["Yes."])
    assert (wrong.fraction, wrong.feedback) == (0.0, ["No."])
    assert grade("true_false", data, {"value": None}).fraction == 0.0


@pytest.mark.parametrize(
    ("match", "answer", "given", "expected"),
    [
        ("exact", "Paris", "Paris", 1.0),
        ("exact", "Paris", "paris", 0.0),
        ("ignore_case", "Paris", "  PARIS ", 1.0),
        ("ignore_case", "new  york", "New York", 0.0),
        ("ignore_case", "colo*r", "colour", 1.0),
        ("ignore_case", "a\\*b", "a*b", 1.0),
        ("ignore_case", "a\\*b", "axb", 0.0),
        ("pattern", r"ord(er)? ?#?\d{5}", "order 48213", 1.0),
        ("pattern", r"\d{5}", "4821", 0.0),
    ],
)
def test_short_answer_modes(
    match: str, answer: str, given: str, expected: float
) -> None:
    data = {"match": match, "answers": [{"text": answer, "fraction": 1.0}]}
    get_type("short_answer").validate(data)
    assert grade("short_answer", data, {"text": given}).fraction == expected


def test_short_answer_best_match_wins() -> None:
    data = {
        "answers": [
            {"text": "*", "fraction": 0.0, "feedback": "Anything else"},
            {"text": "cat", "fraction": 0.5, "feedback": "Half"},
            {"text": "frog", "fraction": 1.0, "feedback": "Good"},
        ]
    }
    assert grade("short_answer", data, {"text": "Cat"}).feedback == ["Half"]
    assert grade("short_answer", data, {"text": "dog"}).feedback == ["Anything else"]


def test_short_answer_rejects_bad_pattern() -> None:
    data = {"match": "pattern", "answers": [{"text": "(", "fraction": 1.0}]}
    with pytest.raises(QuestionDataError, match="invalid pattern"):
        get_type("short_answer").validate(data)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("3.1416", 1.0),
        ("3,1414", 1.0),
        ("3.2", 0.5),
        ("4", 0.0),
        ("pi", 0.0),
        ("", 0.0),
    ],
)
def test_numerical_tolerance(given: str, expected: float) -> None:
    data = {
        "answers": [
            {"value": 3.1415, "tolerance": 0.0005, "fraction": 1.0},
            {"value": 3.14, "tolerance": 0.1, "fraction": 0.5},
        ]
    }
    assert grade("numerical", data, {"text": given}).fraction == expected


def test_numerical_rejects_infinity() -> None:
    data = {"answers": [{"value": 1.0, "tolerance": 1e308, "fraction": 1.0}]}
    assert grade("numerical", data, {"text": "inf"}).fraction == 0.0


def test_matching_share_per_pair() -> None:
    data = {
        "pairs": [
            {"id": "p1", "prompt": "Canada", "answer": "Ottawa"},
            {"id": "p2", "prompt": "Italy", "answer": "Rome"},
            {"id": "p3", "prompt": "", "answer": "Paris"},
        ]
    }
    public = get_type("matching").public_data(data)
    assert [p["id"] for p in public["prompts"]] == ["p1", "p2"]
    assert {a["text"] for a in public["answers"]} == {"Ottawa", "Rome", "Paris"}
    half = grade("matching", data, {"matches": {"p1": "p1", "p2": "p3"}})
    assert half.fraction == 0.5
    assert grade("matching", data, {"matches": {"p1": "p1", "p2": "p2"}}).fraction == 1


def test_ordering_share_per_position() -> None:
    data = {"items": [{"id": f"i{n}", "text": str(n)} for n in range(1, 5)]}
    assert grade("ordering", data, {"order": ["i1", "i2", "i3", "i4"]}).fraction == 1
    assert grade("ordering", data, {"order": ["i1", "i2", "i4", "i3"]}).fraction == 0.5
    assert grade("ordering", data, {"order": []}).fraction == 0


def test_ordering_reads_typed_positions() -> None:
    form = {"q1-i1": "3", "q1-i2": "1", "q1-i3": "2", "q2-i1": "1"}
    assert get_type("ordering").read_form("q1", form) == {"order": ["i2", "i3", "i1"]}


def test_essay_by_hand_waits_for_grader() -> None:
    assert grade("essay", {"grader": "manual"}, {"text": "My answer"}).fraction is None
    assert grade("essay", {"grader": "manual"}, {"text": " "}).fraction == 0.0


def test_essay_by_writing_scorer(app: Any) -> None:
    text = (
        "Last year I wrote to an online shop because my headphones arrived broken. "
        "The agent answered within a minute, apologised, and asked for a photo. "
        "She sent a replacement the same day and checked that the tracking worked. "
        "I would do the same: answer quickly, say sorry once, and confirm the "
        "solution before closing the chat."
    )
    with app.app_context():
        result = grade("essay", {"grader": "writing", "min_words": 40}, {"text": text})
    assert result.fraction is not None
    assert 0.3 < result.fraction <= 1.0
    assert result.details["scorer"] == "writing"


def test_essay_not_in_english_waits_for_grader(app: Any) -> None:
    text = (
        "Bonjour madame, je vous remercie pour votre message. Votre colis est parti "
        "hier de notre entrepôt et il arrivera demain matin chez vous. Si vous "
        "avez d'autres questions, n'hésitez pas à nous contacter par téléphone."
    )
    with app.app_context():
        result = grade("essay", {"grader": "writing", "min_words": 20}, {"text": text})
    assert result.fraction is None
    assert result.details["withheld"]["reasons"] == ["incoherent"]
    assert result.details["review_reasons"][0]["code"] == "incoherent"


def test_chat_reply_by_etiquette_scorer(app: Any) -> None:
    data = {
        "customer_message": "My order 48213 has not arrived and I am upset!",
        "customer_name": "Dana",
    }
    good_reply = (
        "Hi Dana, thank you for reaching out. I am sorry your order is late; I "
        "understand how frustrating that is. I have checked order 48213: it ships "
        "today and arrives on Friday."
    )
    with app.app_context():
        good = grade("chat_reply", data, {"text": good_reply})
        poor = grade("chat_reply", data, {"text": "pls wait u will get it asap!!!"})
    assert good.fraction is not None and poor.fraction is not None
    assert good.fraction > poor.fraction
    assert poor.details["scorer"] == "etiquette"
    assert any("please" in message for message in poor.feedback)


def test_public_data_hides_answers() -> None:
    for qtype, data in (("single_choice", CHOICES), ("multiple_choice", MULTIPLE)):
        public = get_type(qtype).public_data(data)
        for option in public["options"]:
            assert set(option) == {"id", "text"}
    assert get_type("true_false").public_data({"answer": True}) == {}


def attempts(*scores: float) -> list[Any]:
    return [
        SimpleNamespace(number=n, score=s, state=AttemptState.GRADED)
        for n, s in enumerate(scores, start=1)
    ]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        (GradingMethod.HIGHEST, 90.0),
        (GradingMethod.LAST, 60.0),
        (GradingMethod.AVERAGE, 70.0),
    ],
)
def test_grading_methods(method: GradingMethod, expected: float) -> None:
    quiz = SimpleNamespace(grading_method=method)
    assert final_grade(quiz, attempts(60.0, 90.0, 60.0)) == expected  # type: ignore[arg-type]


def test_grading_ignores_open_attempts() -> None:
    quiz = SimpleNamespace(grading_method=GradingMethod.LAST)
    rows = attempts(80.0, 40.0)
    rows[1].state = AttemptState.IN_PROGRESS
    assert final_grade(quiz, rows) == 80.0  # type: ignore[arg-type]
    assert final_grade(quiz, []) is None  # type: ignore[arg-type]


def test_chat_reply_shows_customer_name_it_grades() -> None:
    data = {"customer_message": "Where is my parcel?", "customer_name": "Priya Nair"}
    public = get_type("chat_reply").public_data(data)
    assert public == {
        "customer_message": "Where is my parcel?",
        "customer_name": "Priya Nair",
    }
    unnamed = get_type("chat_reply").public_data({"customer_message": "Hi"})
    assert unnamed == {"customer_message": "Hi", "customer_name": None}


def test_chat_reply_feedback_names_this_customer(app: Any) -> None:
    data = {"customer_message": "Where is my parcel?", "customer_name": "Priya"}
    with app.app_context():
        result = grade("chat_reply", data, {"text": "It arrives on Friday."})
    assert "Open with a greeting, such as 'Hi Priya, thanks for reaching out.'" in (
        result.feedback
    )
    assert "Address the customer by name (Priya) at least once." in result.feedback
    assert not any("Dana" in message for message in result.feedback)
