"""Question banks: importing GIFT and Moodle XML files, exporting them back."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import insert, select

from app import db, utcnow
from courses.gift import read_gift, write_gift
from courses.interchange import (
    ImportFailed,
    ImportIssue,
    NoQuestionsFound,
    ParsedQuestion,
    ParseResult,
)
from courses.models import Question, QuestionBank, QuestionCategory
from courses.moodle_xml import read_moodle_xml, write_moodle_xml

log = logging.getLogger(__name__)

DEFAULT_CATEGORY = "Default"
FORMATS = ("gift", "xml")


@dataclass
class ImportSummary:
    bank: str
    counts: Counter[str] = field(default_factory=Counter)
    skipped: list[ImportIssue] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def detect_format(path: str | Path) -> str:
    """Return ``xml`` for a .xml file and ``gift`` otherwise (.gift, .txt)."""
    return "xml" if str(path).lower().endswith(".xml") else "gift"


def size_problem(size: int) -> str | None:
    """Return why a question file of ``size`` bytes is rejected, or None.

    Parsing holds every question in memory several times over: a 20 MB GIFT
    file of 338,000 questions took 1.3 GB. ``MAX_QUESTION_FILE_MB`` bounds that.
    """
    limit_mb = float(current_app.config["MAX_QUESTION_FILE_MB"])
    if size > limit_mb * 1024 * 1024:
        return (
            f"the file is {size / 1024 / 1024:.1f} MB; the limit for a question "
            f"file is {limit_mb:g} MB, so split it into smaller files"
        )
    return None


def parse_file(data: bytes, file_format: str) -> ParseResult:
    """Parse a question file's bytes; bad encoding is an issue like any other."""
    if file_format == "xml":
        return read_moodle_xml(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        result = ParseResult()
        result.add_issue(line, "the file is not UTF-8 text; save it as UTF-8")
        return result
    return read_gift(text)


def get_bank(name: str, create: bool = False) -> QuestionBank | None:
    bank = db.session.scalar(select(QuestionBank).filter_by(name=name))
    if bank is None and create:
        bank = QuestionBank(name=name)
        db.session.add(bank)
        db.session.flush()
    return bank


def get_category(bank: QuestionBank, path: str) -> QuestionCategory:
    path = path.strip() or DEFAULT_CATEGORY
    category = db.session.scalar(
        select(QuestionCategory).filter_by(bank_id=bank.id, path=path)
    )
    if category is None:
        category = QuestionCategory(bank=bank, path=path)
        db.session.add(category)
        db.session.flush()
    return category


def import_questions(
    data: bytes,
    bank_name: str,
    *,
    file_format: str = "gift",
    source: str = "upload",
    skip_invalid: bool = False,
) -> ImportSummary:
    """Import every question of a file into a bank, or nothing.

    A file with issues raises ImportFailed and stores nothing, unless
    ``skip_invalid`` is set: then the valid questions are stored and the issues
    are returned in ``skipped``. A file without questions or categories (empty,
    blank or only comments) raises NoQuestionsFound and creates no bank; a file
    of categories alone creates them.
    """
    if file_format not in FORMATS:
        raise ValueError(f"unknown format {file_format!r}; use gift or xml")
    problem = size_problem(len(data))
    if problem:
        raise ImportFailed(source, [ImportIssue(1, problem)])
    if not data.strip():
        raise NoQuestionsFound(source)
    result = parse_file(data, file_format)
    if not (result.questions or result.issues or result.categories):
        raise NoQuestionsFound(source)
    if result.issues and not skip_invalid:
        raise ImportFailed(source, result.issues)
    bank = get_bank(bank_name, create=True)
    assert bank is not None
    summary = ImportSummary(bank.name, skipped=list(result.issues))
    categories = {
        path: get_category(bank, path).id
        for path in {*result.categories, *(q.category for q in result.questions)}
    }
    rows = []
    for parsed in result.questions:
        rows.append(question_row(categories[parsed.category], parsed))
        summary.counts[parsed.qtype] += 1
    if rows:
        # One INSERT with many parameter sets: 10,000 questions in well under 5 s.
        db.session.execute(insert(Question), rows)
    db.session.commit()
    log.info(
        "imported %d questions from %s into bank %s (%d skipped)",
        summary.total,
        source,
        bank.name,
        len(summary.skipped),
    )
    return summary


def question_row(category_id: int, parsed: ParsedQuestion) -> dict[str, Any]:
    """Build the column values of a new Question row."""
    return {
        "category_id": category_id,
        "qtype": parsed.qtype,
        "name": parsed.name[:255],
        "text": parsed.text,
        "text_format": parsed.text_format,
        "general_feedback": parsed.general_feedback,
        "data": parsed.data,
        "default_grade": parsed.default_grade,
        "id_number": parsed.id_number[:100] if parsed.id_number else None,
        "tags": parsed.tags,
        "created_at": utcnow(),
    }


def to_parsed(question: Question) -> ParsedQuestion:
    return ParsedQuestion(
        question.qtype,
        question.text,
        dict(question.data),
        name=question.name,
        text_format=question.text_format,
        general_feedback=question.general_feedback,
        category=question.category.path,
        id_number=question.id_number,
        tags=list(question.tags),
        default_grade=question.default_grade,
    )


def export_questions(bank_name: str, file_format: str) -> str:
    """Write every question of a bank, category by category."""
    bank = get_bank(bank_name)
    if bank is None:
        raise LookupError(f"no question bank named {bank_name!r}")
    questions = [
        to_parsed(question)
        for category in bank.categories
        for question in category.questions
    ]
    if file_format == "xml":
        return write_moodle_xml(questions)
    return write_gift(questions)
