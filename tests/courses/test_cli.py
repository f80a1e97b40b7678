"""The question bank and certificate commands, run as separate processes."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader

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
    assert "2 invalid question(s); nothing was imported" in lines[0]
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
