"""Read and write Moodle XML question files.

Parsing goes through defusedxml's SAX parser with DTDs forbidden, so entity
expansion ("billion laughs") and external entities are rejected before any is
resolved. Each element keeps its line number for the import report.

Read and written: multichoice (single or multiple answers), truefalse,
shortanswer, numerical, matching, essay, description, ordering (the Moodle
ordering plugin, an answer's fraction being its position) and categories.
A chat-reply question is written as an essay with a ``<frontline>`` element
holding its type and data as JSON; Moodle ignores that element.
"""

from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass, field
from typing import Any
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler
from xml.sax.saxutils import escape, quoteattr

import defusedxml.sax
from defusedxml import DefusedXmlException

from courses.interchange import (
    ParsedQuestion,
    ParseResult,
    parse_frontline_note,
    sanitise_html,
    valid_grade,
)

FORMATS_IN = {
    "html": "html",
    "moodle_auto_format": "moodle",
    "plain_text": "plain",
    "markdown": "markdown",
}
FORMATS_OUT = {value: key for key, value in FORMATS_IN.items()}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list[Node]:
        return [c for c in self.children if c.tag == tag]

    def value(self, tag: str, default: str = "") -> str:
        child = self.find(tag)
        return child.text.strip() if child is not None else default

    def text_of(self, tag: str) -> str:
        """Return the ``<text>`` inside child ``tag``, as Moodle nests it."""
        child = self.find(tag)
        if child is None:
            return ""
        inner = child.find("text")
        return (inner.text if inner is not None else child.text).strip()


class TreeBuilder(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[Node] = []
        self.root: Node | None = None
        self.locator: Any = None

    def setDocumentLocator(self, locator: Any) -> None:  # noqa: N802 - SAX API
        self.locator = locator

    def startElement(self, name: str, attrs: Any) -> None:  # noqa: N802 - SAX API
        line = self.locator.getLineNumber() if self.locator else 0
        node = Node(name, dict(attrs), line)
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def endElement(self, name: str) -> None:  # noqa: N802 - SAX API
        self.stack.pop()

    def characters(self, content: str) -> None:
        if self.stack:
            self.stack[-1].text += content


def parse_tree(source: bytes) -> Node:
    """Parse XML safely; raise ValueError with a line number when it is not."""
    builder = TreeBuilder()
    parser = defusedxml.sax.make_parser()
    parser.forbid_dtd = True
    parser.forbid_entities = True
    parser.forbid_external = True
    parser.setContentHandler(builder)
    try:
        parser.parse(io.BytesIO(source))
    except LookupError as error:  # expat knows no such encoding
        raise ValueError(
            f"line 1: the XML declaration names an unknown encoding ({error}); "
            "save the file as UTF-8"
        ) from None
    except SAXParseException as error:
        raise ValueError(
            f"line {error.getLineNumber()}: {error.getMessage()}"
        ) from None
    except DefusedXmlException as error:
        line = builder.locator.getLineNumber() if builder.locator else 1
        raise ValueError(
            f"line {line}: rejected unsafe XML ({type(error).__name__}): "
            "DTDs, entity declarations and external entities are not allowed"
        ) from None
    if builder.root is None:
        raise ValueError("line 1: the file has no root element")
    return builder.root


def read_moodle_xml(source: bytes) -> ParseResult:
    result = ParseResult()
    try:
        root = parse_tree(source)
    except ValueError as error:
        line_text, _sep, message = str(error).partition(": ")
        result.add_issue(int(line_text.split()[-1]), message)
        return result
    if root.tag != "quiz":
        result.add_issue(root.line, f"the root element is <{root.tag}>, not <quiz>")
        return result
    category = ""
    for node in root.findall("question"):
        qtype = node.attrs.get("type", "")
        if qtype == "category":
            category = node.text_of("category")
            result.categories.append(category)
            continue
        reader = READERS.get(qtype)
        if reader is None:
            result.add_issue(node.line, f"question type {qtype!r} is not supported")
            continue
        try:
            question = reader(node)
        except ValueError as error:
            result.add_issue(getattr(error, "line", node.line), str(error))
            continue
        question.category = category
        question.line = node.line
        try:
            _apply_frontline(node, question)
        except ValueError as error:
            result.add_issue(getattr(error, "line", node.line), str(error))
            continue
        result.accept(question)
    return result


def _text(node: Node, tag: str = "questiontext") -> tuple[str, str]:
    child = node.find(tag)
    text_format = FORMATS_IN.get(child.attrs.get("format", "html") if child else "html")
    text = node.text_of(tag)
    if text_format is None:
        text_format = "html"
    if text_format == "html":
        text = sanitise_html(text)
    return text, text_format


def _base(node: Node, qtype: str, data: dict[str, Any]) -> ParsedQuestion:
    text, text_format = _text(node)
    feedback, _feedback_format = _text(node, "generalfeedback")
    grade = node.value("defaultgrade", "1") or "1"
    tags = [
        t.value("text") for t in (node.find("tags") or Node("", {}, 0)).findall("tag")
    ]
    return ParsedQuestion(
        qtype,
        text,
        data,
        name=node.text_of("name"),
        text_format=text_format,
        general_feedback=feedback,
        id_number=node.value("idnumber") or None,
        tags=[t for t in tags if t],
        default_grade=float(grade),
    )


class GradeError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(message)


def _answers(node: Node) -> list[dict[str, Any]]:
    answers = []
    for answer in node.findall("answer"):
        try:
            percent = float(answer.attrs.get("fraction", "0"))
        except ValueError:
            raise GradeError(
                answer.line, "the answer's fraction is not a number"
            ) from None
        if not valid_grade(percent):
            raise GradeError(answer.line, f"{percent:g}% is not a valid answer grade")
        text_format = FORMATS_IN.get(answer.attrs.get("format", ""), "moodle")
        text = answer.value("text")
        feedback, _f = _text(answer, "feedback")
        answers.append(
            {
                "text": sanitise_html(text) if text_format == "html" else text,
                "format": text_format,
                "fraction": percent / 100,
                "feedback": feedback,
                "node": answer,
            }
        )
    return answers


def read_multichoice(node: Node) -> ParsedQuestion:
    answers = _answers(node)
    single = node.value("single", "true").lower() in ("true", "1")
    options = [
        {
            "id": f"o{number}",
            "text": a["text"],
            "fraction": a["fraction"],
            "feedback": a["feedback"],
        }
        for number, a in enumerate(answers, start=1)
    ]
    data: dict[str, Any] = {"options": options}
    if any(a["format"] == "html" for a in answers):
        data["answer_format"] = "html"
    return _base(node, "single_choice" if single else "multiple_choice", data)


def read_truefalse(node: Node) -> ParsedQuestion:
    answers = _answers(node)
    by_value = {a["text"].strip().lower(): a for a in answers}
    true, false = by_value.get("true"), by_value.get("false")
    if true is None or false is None:
        raise ValueError("a truefalse question needs a 'true' and a 'false' answer")
    answer = true["fraction"] >= 1
    right, wrong = (true, false) if answer else (false, true)
    data = {
        "answer": answer,
        "feedback_correct": right["feedback"],
        "feedback_incorrect": wrong["feedback"],
    }
    return _base(node, "true_false", data)


def read_shortanswer(node: Node) -> ParsedQuestion:
    answers = _answers(node)
    exact = node.value("usecase", "0") == "1"
    data = {
        "match": "exact" if exact else "ignore_case",
        "answers": [
            {"text": a["text"], "fraction": a["fraction"], "feedback": a["feedback"]}
            for a in answers
        ],
    }
    return _base(node, "short_answer", data)


def read_numerical(node: Node) -> ParsedQuestion:
    answers, wrong = [], ""
    for answer in _answers(node):
        if answer["text"].strip() == "*" and answer["fraction"] == 0:
            wrong = answer["feedback"]
            continue
        try:
            value = float(answer["text"])
            tolerance = float(answer["node"].value("tolerance", "0") or 0)
        except ValueError:
            raise GradeError(
                answer["node"].line, f"{answer['text']!r} is not a number"
            ) from None
        answers.append(
            {
                "value": value,
                "tolerance": tolerance,
                "fraction": answer["fraction"],
                "feedback": answer["feedback"],
            }
        )
    return _base(node, "numerical", {"answers": answers, "wrong_feedback": wrong})


def read_matching(node: Node) -> ParsedQuestion:
    pairs = []
    for number, sub in enumerate(node.findall("subquestion"), start=1):
        prompt = sub.value("text")
        if sub.attrs.get("format") == "html":
            prompt = sanitise_html(prompt)
        answer = sub.find("answer")
        pairs.append(
            {
                "id": f"p{number}",
                "prompt": prompt,
                "answer": answer.value("text") if answer else "",
            }
        )
    return _base(node, "matching", {"pairs": pairs})


def read_essay(node: Node) -> ParsedQuestion:
    return _base(node, "essay", {"grader": "manual"})


def read_description(node: Node) -> ParsedQuestion:
    return _base(node, "description", {})


def read_ordering(node: Node) -> ParsedQuestion:
    answers = sorted(_ordering_answers(node), key=lambda a: a[0])
    items = [{"id": f"i{n}", "text": text} for n, (_pos, text) in enumerate(answers, 1)]
    return _base(node, "ordering", {"items": items})


def _ordering_answers(node: Node) -> list[tuple[float, str]]:
    answers = []
    for answer in node.findall("answer"):
        try:
            position = float(answer.attrs.get("fraction", "0"))
        except ValueError:
            raise GradeError(
                answer.line, "the item's position is not a number"
            ) from None
        text = answer.value("text")
        if answer.attrs.get("format") == "html":
            text = sanitise_html(text)
        answers.append((position, text))
    return answers


READERS = {
    "multichoice": read_multichoice,
    "truefalse": read_truefalse,
    "shortanswer": read_shortanswer,
    "numerical": read_numerical,
    "matching": read_matching,
    "essay": read_essay,
    "description": read_description,
    "ordering": read_ordering,
}


def _apply_frontline(node: Node, question: ParsedQuestion) -> None:
    extra = node.find("frontline")
    if extra is None:
        return
    try:
        note = parse_frontline_note(extra.text)
    except ValueError as error:
        error.line = extra.line  # type: ignore[attr-defined]
        raise
    qtype = note.pop("qtype", question.qtype)
    if qtype != question.qtype:
        question.data = {}
    question.qtype = qtype
    question.data.update(note)


# Writing


def _text_element(
    tag: str, text: str, text_format: str | None = None, indent: str = "    "
) -> str:
    attribute = (
        f" format={quoteattr(FORMATS_OUT.get(text_format, 'html'))}"
        if text_format
        else ""
    )
    return f"{indent}<{tag}{attribute}><text>{escape(text)}</text></{tag}>\n"


def write_moodle_xml(questions: list[ParsedQuestion]) -> str:
    """Write questions as Moodle XML, adding a category entry where it changes."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n']
    category = None
    for question in questions:
        if question.category != category and (question.category or category):
            out.append(
                '  <question type="category">\n'
                f"    <category><text>{escape(question.category)}</text></category>\n"
                "  </question>\n"
            )
        category = question.category
        out.append(write_question(question))
    out.append("</quiz>\n")
    return "".join(out)


MOODLE_TYPES = {
    "single_choice": "multichoice",
    "multiple_choice": "multichoice",
    "true_false": "truefalse",
    "short_answer": "shortanswer",
    "numerical": "numerical",
    "matching": "matching",
    "essay": "essay",
    "description": "description",
    "ordering": "ordering",
    "chat_reply": "essay",
}


def write_question(question: ParsedQuestion) -> str:
    qtype = MOODLE_TYPES[question.qtype]
    parts = [f"  <question type={quoteattr(qtype)}>\n"]
    parts.append(_text_element("name", question.name))
    parts.append(_text_element("questiontext", question.text, question.text_format))
    parts.append(
        _text_element(
            "generalfeedback", question.general_feedback, question.text_format
        )
    )
    parts.append(f"    <defaultgrade>{question.default_grade!r}</defaultgrade>\n")
    parts.append(f"    <idnumber>{escape(question.id_number or '')}</idnumber>\n")
    if question.tags:
        tags = "".join(f"<tag><text>{escape(t)}</text></tag>" for t in question.tags)
        parts.append(f"    <tags>{tags}</tags>\n")
    parts.extend(_write_body(question))
    extra = _frontline_data(question)
    if extra:
        parts.append(
            "    <frontline>"
            + escape(json.dumps(extra, ensure_ascii=False))
            + "</frontline>\n"
        )
    parts.append("  </question>\n")
    return "".join(parts)


def _frontline_data(question: ParsedQuestion) -> dict[str, Any]:
    data = question.data
    if question.qtype == "chat_reply":
        return {"qtype": "chat_reply", **data}
    if question.qtype == "essay" and data != {"grader": "manual"}:
        return dict(data)
    if question.qtype == "short_answer" and data.get("match") == "pattern":
        return {"match": "pattern"}
    return {}


def _answer(
    fraction: float,
    text: str,
    feedback: str,
    extra: str = "",
    text_format: str = "moodle_auto_format",
    feedback_format: str = "moodle_auto_format",
) -> str:
    percent = f"{fraction * 100:.5f}".rstrip("0").rstrip(".")
    return (
        f"    <answer fraction={quoteattr(percent)} format={quoteattr(text_format)}>"
        f"<text>{escape(text)}</text>"
        f"<feedback format={quoteattr(feedback_format)}>"
        f"<text>{escape(feedback)}</text></feedback>"
        f"{extra}</answer>\n"
    )


def _write_body(question: ParsedQuestion) -> list[str]:
    data, qtype = question.data, question.qtype
    answer = functools.partial(
        _answer,
        feedback_format=FORMATS_OUT.get(question.text_format, "moodle_auto_format"),
    )
    if qtype in ("single_choice", "multiple_choice"):
        answer_format = FORMATS_OUT.get(
            data.get("answer_format", "moodle"), "moodle_auto_format"
        )
        single = "true" if qtype == "single_choice" else "false"
        return [f"    <single>{single}</single>\n"] + [
            answer(
                o["fraction"],
                o["text"],
                o.get("feedback", ""),
                text_format=answer_format,
            )
            for o in data["options"]
        ]
    if qtype == "true_false":
        true = data["answer"]
        right = data.get("feedback_correct", "")
        wrong = data.get("feedback_incorrect", "")
        return [
            answer(1.0 if true else 0.0, "true", right if true else wrong),
            answer(0.0 if true else 1.0, "false", wrong if true else right),
        ]
    if qtype == "short_answer":
        usecase = "1" if data.get("match") == "exact" else "0"
        return [f"    <usecase>{usecase}</usecase>\n"] + [
            answer(a["fraction"], a["text"], a.get("feedback", ""))
            for a in data["answers"]
        ]
    if qtype == "numerical":
        parts = [
            answer(
                a["fraction"],
                repr(float(a["value"])),
                a.get("feedback", ""),
                f"<tolerance>{float(a.get('tolerance', 0))!r}</tolerance>",
            )
            for a in data["answers"]
        ]
        if data.get("wrong_feedback"):
            parts.append(answer(0.0, "*", data["wrong_feedback"]))
        return parts
    if qtype == "matching":
        return [
            '    <subquestion format="moodle_auto_format">'
            f"<text>{escape(p['prompt'])}</text>"
            f"<answer><text>{escape(p['answer'])}</text></answer></subquestion>\n"
            for p in data["pairs"]
        ]
    if qtype == "ordering":
        return [
            f'    <answer fraction="{n}" format="moodle_auto_format">'
            f"<text>{escape(i['text'])}</text></answer>\n"
            for n, i in enumerate(data["items"], start=1)
        ]
    return []
