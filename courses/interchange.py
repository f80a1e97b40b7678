"""Questions in transit between files and the database, and their import report.

The GIFT and Moodle XML readers produce ``ParsedQuestion`` values and a list of
``ImportIssue`` (each with the line it concerns); the writers take the same
values. Nothing here touches the database.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

import nh3

from courses.qtypes import REGISTRY, QuestionDataError, get_type

# Tags and attributes kept in imported HTML; everything else is removed,
# including scripts, event handlers and style attributes.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol",
    "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "*": {"dir", "lang"},
}

# The grades Moodle offers for an answer, in percent; an imported fraction
# must be one of them (or its negative), within 0.00001.
MOODLE_GRADES = (
    100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20,
    16.66667, 14.28571, 12.5, 11.11111, 10, 5, 0,
)  # fmt: skip

TEXT_FORMATS = ("moodle", "html", "plain", "markdown")


def sanitise_html(markup: str) -> str:
    """Remove every tag and attribute that is not on the allow list."""
    return nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def render_text(text: str, text_format: str) -> str:
    """Turn a stored text into safe HTML for a page."""
    if text_format == "html":
        return sanitise_html(text)
    if text_format == "markdown":
        import markdown

        return sanitise_html(markdown.markdown(text, extensions=["sane_lists"]))
    return html.escape(text).replace("\n", "<br>")


def count_of(count: int, noun: str) -> str:
    """Write a count with its English noun, e.g. "1 question", "2 questions"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def parse_frontline_note(text: str) -> dict[str, Any]:
    """Read the JSON object that Frontline's writers store beside a question.

    Raises ValueError for text that is not a JSON object, is nested too deeply
    for the parser, or names a question type that Frontline does not have.
    """
    try:
        note = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise ValueError("unreadable frontline data: not valid JSON") from None
    if not isinstance(note, dict):
        raise ValueError("unreadable frontline data: not a JSON object")
    qtype = note.get("qtype")
    if qtype is not None and qtype not in REGISTRY:
        raise ValueError(f"unreadable frontline data: unknown type {qtype!r}")
    return note


def data_problem(question: ParsedQuestion) -> str | None:
    """Return why a question's data cannot be graded, or None if it can.

    The validators expect the shapes that the readers build. A frontline note
    may hold any JSON, so a value of the wrong type is reported, not raised.
    """
    try:
        get_type(question.qtype).validate(question.data)
    except QuestionDataError as error:
        return f"{question.qtype} question: {error}"
    except (TypeError, AttributeError, KeyError, ValueError) as error:
        return f"{question.qtype} question: invalid data ({type(error).__name__})"
    return None


def valid_grade(percent: float) -> bool:
    return any(abs(abs(percent) - grade) < 1e-5 for grade in MOODLE_GRADES)


@dataclass
class ImportIssue:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ParsedQuestion:
    qtype: str
    text: str
    data: dict[str, Any]
    name: str = ""
    text_format: str = "moodle"
    general_feedback: str = ""
    category: str = ""
    line: int = 0
    id_number: str | None = None
    tags: list[str] = field(default_factory=list)
    default_grade: float = 1.0


@dataclass
class ParseResult:
    questions: list[ParsedQuestion] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)
    # Categories named in the file, including those without questions.
    categories: list[str] = field(default_factory=list)

    def add_issue(self, line: int, message: str) -> None:
        self.issues.append(ImportIssue(line, message))

    def accept(self, question: ParsedQuestion) -> None:
        """Keep ``question`` if its data is gradable, else record why not.

        HTML text is sanitised here, so that no reader can store it unsafe.
        """
        if question.text_format == "html":
            question.text = sanitise_html(question.text)
            question.general_feedback = sanitise_html(question.general_feedback)
            data = question.data
            entries = data.get("options", data.get("answers", []))
            # A frontline note may give any JSON here; data_problem reports it.
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and isinstance(entry.get("feedback"), str):
                    entry["feedback"] = sanitise_html(entry["feedback"])
            for key in ("feedback_correct", "feedback_incorrect", "wrong_feedback"):
                if isinstance(data.get(key), str):
                    data[key] = sanitise_html(data[key])
        problem = data_problem(question)
        if problem:
            self.add_issue(question.line, problem)
            return
        self.questions.append(question)


class ImportFailed(Exception):
    """A question file with errors; nothing was imported."""

    def __init__(self, path: str, issues: list[ImportIssue]) -> None:
        self.path = path
        self.issues = issues
        super().__init__(
            f"{path}: {count_of(len(issues), 'invalid question')}; nothing was imported"
        )

    def report(self) -> str:
        return "\n".join(f"{self.path}:{issue}" for issue in self.issues)


class NoQuestionsFound(ImportFailed):
    """A question file without questions or categories, e.g. only comments."""

    def __init__(self, path: str) -> None:
        super().__init__(path, [])
        self.args = (f"{path}: no questions found; nothing was imported",)
