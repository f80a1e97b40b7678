"""Builders for course tests: a bank from GIFT text, a quiz over it, a course."""

from __future__ import annotations

from typing import Any

import pytest

from app import db
from courses.banks import get_bank, get_category, import_questions
from courses.models import (
    Course,
    CourseStep,
    GradingMethod,
    Question,
    Quiz,
    QuizAttempt,
    QuizRule,
    StepKind,
)
from courses.qtypes import get_type
from courses.quizzes import response_to_page

SMALL_BANK = """
$CATEGORY: Basics

::Capital::What is the capital of France? {
=Paris#Right.
~Lyon#Lyon is the second city.
~Marseille#No.
}

::Sky::The sky is green. {FALSE#It is blue.#Right.}

::Two::What is one plus one? {#2}
"""


def make_quiz(
    bank_text: str = SMALL_BANK,
    *,
    bank: str = "Test bank",
    category: str = "Basics",
    count: int | None = None,
    **settings: Any,
) -> Quiz:
    """Import ``bank_text`` and build a quiz drawing from ``category``."""
    import_questions(bank_text.encode(), bank)
    question_bank = get_bank(bank)
    assert question_bank is not None
    quiz = Quiz(
        title=settings.pop("title", "Test quiz"),
        pass_mark=settings.pop("pass_mark", 60.0),
        grading_method=settings.pop("grading_method", GradingMethod.HIGHEST),
        **settings,
    )
    quiz.rules.append(
        QuizRule(category=get_category(question_bank, category), count=count)
    )
    db.session.add(quiz)
    db.session.commit()
    return quiz


def make_course(quiz: Quiz | None = None, title: str = "Test course") -> Course:
    """A course of two lessons and, when given, a quiz between them."""
    course = Course(title=title)
    course.steps.append(
        CourseStep(position=1, kind=StepKind.LESSON, title="One", body="# One")
    )
    if quiz is not None:
        course.steps.append(
            CourseStep(position=2, kind=StepKind.QUIZ, title="Quiz", quiz=quiz)
        )
    course.steps.append(
        CourseStep(position=3, kind=StepKind.LESSON, title="Two", body="Two")
    )
    db.session.add(course)
    db.session.commit()
    return course


def right_response(question: Question) -> dict[str, Any]:
    """A response that earns full marks on ``question``."""
    data = question.data
    if question.qtype == "single_choice":
        return {"choice": next(o["id"] for o in data["options"] if o["fraction"] >= 1)}
    if question.qtype == "multiple_choice":
        return {"choices": [o["id"] for o in data["options"] if o["fraction"] > 0]}
    if question.qtype == "true_false":
        return {"value": data["answer"]}
    if question.qtype == "short_answer":
        return {"text": next(a["text"] for a in data["answers"] if a["fraction"] >= 1)}
    if question.qtype == "numerical":
        return {"text": str(data["answers"][0]["value"])}
    if question.qtype == "matching":
        by_text = {}
        for pair in data["pairs"]:
            by_text.setdefault(pair["answer"], pair["id"])
        return {
            "matches": {
                p["id"]: by_text[p["answer"]] for p in data["pairs"] if p["prompt"]
            }
        }
    if question.qtype == "ordering":
        return {"order": [i["id"] for i in data["items"]]}
    raise AssertionError(f"no right response for {question.qtype}")


def right_form_fields(attempt: QuizAttempt, question: Question) -> dict[str, list[str]]:
    """The attempt page's form fields of a right answer to ``question``.

    The page names options by the attempt's tokens, not by their stored ids.
    """
    response = response_to_page(attempt, question, right_response(question))
    fields: dict[str, list[str]] = {}
    for name, value in get_type(question.qtype).form_fields(
        f"q{question.id}", response
    ):
        fields.setdefault(name, []).append(value)
    return fields


@pytest.fixture
def ctx(app: Any) -> Any:
    with app.app_context():
        yield app
