"""The question bank and certificate commands, run as separate processes."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from courses.interchange import ImportFailed, ImportIssue
from tests.conftest import ROOT
from tests.test_cli import frontline


def test_import_prints_counts_per_type(tmp_path: Path, shared_data: Path) -> None:
    path = (
        shared_data / "quiz/gift/gift-parser-ide_mocks/pass/giftFormatPhpExamples.gift"
    )
    result = frontline(tmp_path, "import-questions", str(path), "--bank", "Moodle")
    assert result.returncode == 0, result.stderr
    lines = dict(line.split("\t") for line in result.stdout.strip().splitlines())
    assert lines["single_choice"] == "4"
    assert lines["numerical"] == "2"
    assert lines["total"] == "10 into bank 'Moodle'"


def test_import_bad_file_exits_2_with_report(tmp_path: Path, shared_data: Path) -> None:
    path = (
        shared_data / "quiz/gift/gift-parser-ide_mocks/error/unescapedCharacters2.gift"
    )
    result = frontline(tmp_path, "import-questions", str(path), "--bank", "Bad")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert "2 invalid questions; nothing was imported" in lines[0]
    assert lines[1] == f"{path}:line 2: unescaped '=' in the question text; write \\="
    assert lines[2].startswith(f"{path}:line 18:")
    assert "Traceback" not in result.stderr
    exported = frontline(tmp_path, "export-questions", "--bank", "Bad")
    assert exported.returncode == 2
    assert "no question bank named 'Bad'" in exported.stderr


def test_import_skip_invalid(tmp_path: Path, shared_data: Path) -> None:
    path = shared_data / "quiz/moodle_xml/moodle_core/error_invalid_grades.xml"
    failed = frontline(tmp_path, "import-questions", str(path), "--bank", "X")
    assert failed.returncode == 2
    assert ":line 38: 33% is not a valid answer grade" in failed.stderr
    gift = (
        shared_data / "quiz/gift/gift-parser-ide_mocks/error/unescapedCharacters2.gift"
    )
    result = frontline(
        tmp_path, "import-questions", str(gift), "--bank", "X", "--skip-invalid"
    )
    assert result.returncode == 0, result.stderr
    assert "total\t7 into bank 'X'" in result.stdout
    assert result.stderr.count("skipped ") == 2


def test_import_bomb_and_missing_file(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_bytes(
        b'<?xml version="1.0"?>\n<!DOCTYPE q [<!ENTITY a "aaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;">]>\n<quiz>&b;</quiz>\n'
    )
    result = frontline(tmp_path, "import-questions", str(bomb), "--bank", "X")
    assert result.returncode == 2
    assert "not allowed" in result.stderr
    missing = frontline(
        tmp_path, "import-questions", str(tmp_path / "no.gift"), "--bank", "X"
    )
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr


def test_export_round_trip(tmp_path: Path, shared_data: Path) -> None:
    path = shared_data / "quiz/gift/moodle_core/questions.gift.txt"
    assert (
        frontline(tmp_path, "import-questions", str(path), "--bank", "M").returncode
        == 0
    )
    for file_format in ("gift", "xml"):
        out = tmp_path / f"bank.{file_format}"
        result = frontline(
            tmp_path, "export-questions", "--bank", "M", "--format", file_format,
            "--out", str(out),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        again = frontline(
            tmp_path, "import-questions", str(out), "--bank", f"M-{file_format}"
        )
        assert again.returncode == 0, again.stderr
        assert "total\t9 into bank" in again.stdout


def test_certificate_command(tmp_path: Path) -> None:
    out = tmp_path / "c.pdf"
    result = frontline(
        tmp_path, "certificate", "--name", "Αλέξανδρος Παπαδόπουλος",
        "--course", "Live chat etiquette", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = PdfReader(io.BytesIO(out.read_bytes())).pages[0].extract_text()
    assert "Αλέξανδρος Παπαδόπουλος" in text
    assert "http://127.0.0.1:5000/verify/FL-" in text


def test_certificate_name_too_long(tmp_path: Path) -> None:
    out = tmp_path / "c.pdf"
    result = frontline(
        tmp_path, "certificate", "--name", "W" * 201,
        "--course", "Live chat etiquette", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: --name has 201 characters; the maximum is 200"
    )
    assert not out.exists()


def test_certificate_longest_name_fits() -> None:
    from courses.certificates import MAX_NAME_LINES, MIN_WRAPPED_SIZE, fit_lines

    size, lines = fit_lines("W" * 200)
    assert len(lines) <= MAX_NAME_LINES
    assert size > MIN_WRAPPED_SIZE


def test_import_empty_file_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.gift"
    empty.write_bytes(b"")
    comments = tmp_path / "comments.gift"
    comments.write_text("// questions follow later\n\n", encoding="utf-8")
    for path in (empty, comments):
        result = frontline(tmp_path, "import-questions", str(path), "--bank", "E")
        assert result.returncode == 2, result.stdout
        assert result.stdout == ""
        assert result.stderr == (
            f"error: {path}: no questions found; nothing was imported\n"
        )
    exported = frontline(tmp_path, "export-questions", "--bank", "E")
    assert exported.returncode == 2
    assert "no question bank named 'E'" in exported.stderr


def test_counted_nouns_agree(runner: Any, tmp_path: Path) -> None:
    one_bad = tmp_path / "one.gift"
    one_bad.write_text("::Q::Pick. {=A ~B}\n\n::Bad::Is 1 = 1? {T}\n")
    result = runner.invoke(args=["import-questions", str(one_bad), "--bank", "B"])
    assert result.exit_code == 2
    assert f"error: {one_bad} has 1 invalid question; nothing was" in result.output
    closed = runner.invoke(args=["close-expired-attempts"])
    assert closed.output == "closed 0 attempts\n"
    failed = ImportFailed("x.gift", [ImportIssue(1, "a"), ImportIssue(2, "b")])
    assert str(failed) == "x.gift: 2 invalid questions; nothing was imported"
    assert str(ImportFailed("x.gift", [ImportIssue(1, "a")])) == (
        "x.gift: 1 invalid question; nothing was imported"
    )


# A translated message with a number before a plural noun, e.g. "%(count)d steps",
# reads "1 steps"; such messages go through ngettext.
BARE_PLURAL = re.compile(r"\b_\(\s*'[^']*(%\(\w+\)d [a-z ]*?[a-z]+s\b|\(s\))")


def test_course_templates_use_ngettext_for_counts() -> None:
    offenders = []
    for template in sorted((ROOT / "templates/courses").rglob("*.html")):
        for number, line in enumerate(template.read_text().splitlines(), start=1):
            if BARE_PLURAL.search(line):
                offenders.append(f"{template.relative_to(ROOT)}:{number}")
    assert offenders == []


@pytest.mark.parametrize(
    ("template", "context", "expected"),
    [
        (
            "courses/questions/essay.html",
            {"row": {"public": {"min_words": 1}, "response": {}}},
            "Write at least 1 word.",
        ),
        (
            "courses/questions/essay.html",
            {"row": {"public": {"min_words": 50}, "response": {}}},
            "Write at least 50 words.",
        ),
    ],
)
def test_count_messages_render(
    app: Any, template: str, context: dict[str, Any], expected: str
) -> None:
    from flask import render_template

    with app.test_request_context():
        assert expected in render_template(template, name="q1", **context)
