"""Hostile question files, chat transcripts and text files, through the importers.

Question files go through the admin's web import and the ``frontline`` command.
A file with any problem gets a report with line numbers, and nothing of it is
stored. Commands run as separate processes and exit with status 2 and one line.
"""

from __future__ import annotations

import html
import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import db
from courses.models import Question, QuestionBank
from recruit.models import User
from tests.conftest import csrf_token, log_in, make_user
from tests.test_cli import assert_clean_error, frontline

GOOD_QUESTION = "::Sky:: What colour is the sky? {=blue ~green ~red}\n"
DEEP_JSON = "[" * 100_000 + "]" * 100_000

# name -> (file name, content, line of the first problem, part of its message)
BAD_QUESTION_FILES: dict[str, tuple[str, bytes, int, str]] = {
    "gift unclosed brace": (
        "q.gift",
        (GOOD_QUESTION + "\n::Two:: 2 + 2? {=4 ~3\n").encode(),
        3,
        "no closing '}'",
    ),
    "gift escaped closing brace": (
        "q.gift",
        (GOOD_QUESTION + "\n::Esc:: Pick {=a ~b\\}\n").encode(),
        3,
        "no closing '}'",
    ),
    "gift stray closing brace": (
        "q.gift",
        (GOOD_QUESTION + "\n::Stray:: x } y {=a ~b}\n").encode(),
        3,
        "unescaped '}' in the question text",
    ),
    "gift no right answer": (
        "q.gift",
        (GOOD_QUESTION + "\n::None:: Only wrong {~a ~b}\n").encode(),
        3,
        "must reach 100%",
    ),
    "gift not utf-8": (
        "q.gift",
        GOOD_QUESTION.encode() + "\n::Jos\xe9:: x {=a ~b}\n".encode("latin-1"),
        3,
        "not UTF-8",
    ),
    "gift deeply nested frontline note": (
        "q.gift",
        f"// frontline: {DEEP_JSON}\n{GOOD_QUESTION}".encode(),
        1,
        "not valid JSON",
    ),
    "gift frontline note of unknown type": (
        "q.gift",
        f'// frontline: {{"qtype": "shell"}}\n{GOOD_QUESTION}'.encode(),
        1,
        "unknown type 'shell'",
    ),
    "gift frontline note with bad data": (
        "q.gift",
        f'// frontline: {{"options": [1, 2]}}\n{GOOD_QUESTION}'.encode(),
        2,
        "invalid data",
    ),
    "xml unclosed tag": (
        "q.xml",
        b'<?xml version="1.0"?>\n<quiz>\n<question type="essay">\n</quiz>\n',
        4,
        "mismatched tag",
    ),
    "xml wrong root": (
        "q.xml",
        b'<?xml version="1.0"?>\n<html><body>quiz</body></html>\n',
        2,
        "not <quiz>",
    ),
    "xml unknown encoding": (
        "q.xml",
        b'<?xml version="1.0" encoding="klingon-8"?>\n<quiz></quiz>\n',
        1,
        "unknown encoding",
    ),
    "xml latin-1 declared utf-8": (
        "q.xml",
        '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>Jos\xe9</quiz>\n'.encode(
            "latin-1"
        ),
        2,
        "not well-formed",
    ),
    "xml frontline data not an object": (
        "q.xml",
        b'<quiz>\n<question type="essay"><name><text>n</text></name>\n'
        b'<questiontext format="html"><text>x</text></questiontext>\n'
        b"<frontline>[1]</frontline></question></quiz>\n",
        4,
        "not a JSON object",
    ),
    "xml billion laughs": (
        "q.xml",
        b'<?xml version="1.0"?>\n<!DOCTYPE quiz [\n<!ENTITY a "aaaaaaaaaa">\n'
        + b"".join(
            f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">\n'.encode()
            for n in range(8)
        )
        + b"]>\n<quiz><question type='essay'><name><text>&i;</text></name>"
        b"</question></quiz>\n",
        2,
        "not allowed",
    ),
    "xml external file entity": (
        "q.xml",
        b'<?xml version="1.0"?>\n'
        b'<!DOCTYPE quiz [<!ENTITY s SYSTEM "file:///etc/passwd">]>\n'
        b"<quiz><question type='essay'><name><text>&s;</text></name>"
        b"</question></quiz>\n",
        2,
        "not allowed",
    ),
}


@pytest.fixture
def admin(app: Flask, client: FlaskClient) -> FlaskClient:
    with app.app_context():
        make_user("admin@example.com", "admin")
    log_in(client, "admin@example.com")
    return client


def web_import(client: FlaskClient, name: str, data: bytes, bank: str = "Hostile"):
    return client.post(
        "/admin/learning/banks/import",
        data={
            "csrf_token": csrf_token(client, "/admin/learning/"),
            "file": (io.BytesIO(data), name),
            "bank": bank,
        },
        content_type="multipart/form-data",
    )


def assert_nothing_imported(app: Flask) -> None:
    with app.app_context():
        assert db.session.scalar(select(func.count(Question.id))) == 0
        assert db.session.scalar(select(func.count(QuestionBank.id))) == 0


@pytest.mark.parametrize("case", BAD_QUESTION_FILES)
def test_bad_question_file_imports_nothing(
    app: Flask, admin: FlaskClient, case: str
) -> None:
    name, data, line, fragment = BAD_QUESTION_FILES[case]
    report = web_import(admin, name, data)
    page = html.unescape(report.get_data(as_text=True))
    assert report.status_code == 400
    assert "nothing was imported" in page
    assert f'<td class="num">{line}</td>' in page
    assert fragment in page
    assert "root:" not in page  # no line of /etc/passwd
    assert_nothing_imported(app)


@pytest.mark.parametrize(
    "data", [b"", b"  \n\n", b"// nothing here\n\n"], ids=["empty", "blank", "comments"]
)
def test_question_file_without_questions(
    app: Flask, admin: FlaskClient, data: bytes
) -> None:
    report = web_import(admin, "q.gift", data)
    page = html.unescape(report.get_data(as_text=True))
    assert report.status_code == 400
    assert "No questions found in q.gift; nothing was imported" in page
    assert_nothing_imported(app)


def test_question_file_over_limit_rejected(tmp_path: Path) -> None:
    """MAX_QUESTION_FILE_MB bounds the file before any of it is parsed."""
    from tests.conftest import build_app

    app = build_app(tmp_path, MAX_QUESTION_FILE_MB=1)
    client = app.test_client()
    with app.app_context():
        make_user("admin@example.com", "admin")
    log_in(client, "admin@example.com")
    data = GOOD_QUESTION.encode() * (1024 * 1024 // len(GOOD_QUESTION) + 1)
    report = web_import(client, "big.gift", data)
    assert report.status_code == 400
    assert "the limit for a question file is 1 MB" in report.get_data(as_text=True)
    assert_nothing_imported(app)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback TCP socket that records whether anything connected to it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    yield server
    server.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_never_contacted(server: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        server.accept()


def test_question_files_from_command(tmp_path: Path, listener: socket.socket) -> None:
    """Empty, 20 MB and unsafe files: one line, status 2, nothing fetched or stored."""
    port = listener.getsockname()[1]
    empty = tmp_path / "empty.gift"
    empty.write_bytes(b"")
    assert_clean_error(
        frontline(tmp_path, "import-questions", str(empty), "--bank", "B"),
        "no questions found; nothing was imported",
    )

    big = tmp_path / "big.gift"
    with big.open("w") as out:
        for number in range(20 * 1024 * 1024 // len(GOOD_QUESTION) + 1):
            out.write(GOOD_QUESTION.replace("Sky", f"Sky {number}"))
    assert_clean_error(
        frontline(tmp_path, "import-questions", str(big), "--bank", "B"),
        "the limit for a question file is 10 MB",
    )

    unsafe = tmp_path / "remote.xml"
    unsafe.write_text(
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE quiz SYSTEM "http://127.0.0.1:{port}/quiz.dtd" [\n'
        f'<!ENTITY e SYSTEM "http://127.0.0.1:{free_port()}/x">]>\n'
        "<quiz><question type='essay'><name><text>&e;</text></name>"
        "</question></quiz>\n"
    )
    result = frontline(tmp_path, "import-questions", str(unsafe), "--bank", "B")
    assert result.returncode == 2
    assert f"{unsafe}:line 2: rejected unsafe XML" in result.stderr
    assert "Traceback" not in result.stderr
    assert_never_contacted(listener)

    exported = frontline(tmp_path, "export-questions", "--bank", "B")
    assert exported.returncode == 2
    assert "no question bank named 'B'" in exported.stderr


def write_chat(tmp_path: Path, messages: object) -> Path:
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(messages) if not isinstance(messages, str) else messages)
    return path


def chat_message(role: str, text: str, second: int) -> dict[str, str]:
    return {"role": role, "text": text, "at": f"2026-01-01T10:00:{second:02d}Z"}


HUGE_CHAT = [
    chat_message(role, "Thank you for waiting, your parcel ships today. " * 5, 1)
    for role in ("customer", "agent") * 2_500
]

# name -> (transcript, part of the one-line message)
BAD_CHATS: dict[str, tuple[object, str]] = {
    "deeply nested": (DEEP_JSON, "nested too deeply"),
    "object nested in a list": (
        "[" + '{"a":' * 5_000 + "1" + "}" * 5_000 + "]",
        "nested too deeply",
    ),
    "over 1 MB": (HUGE_CHAT, "the limit is 1,048,576 bytes"),
    "month 13": (
        [{"role": "agent", "text": "hi", "at": "2026-13-01T10:00:00Z"}],
        "not an ISO 8601 time",
    ),
    "no time zone": (
        [{"role": "agent", "text": "hi", "at": "2026-01-01T10:00:00"}],
        "no UTC offset",
    ),
    "time as a number": (
        [{"role": "agent", "text": "hi", "at": 1767261600}],
        "must be an ISO 8601 string",
    ),
    "time going backwards": (
        [chat_message("customer", "hi", 30), chat_message("agent", "hello", 10)],
        "earlier than the message before it",
    ),
    "text as an object": (
        [{"role": "agent", "text": {"html": "<b>hi</b>"}}],
        "text must be a string",
    ),
    "only customer messages": ([chat_message("customer", "hi", 1)], "no agent"),
}


def test_score_chat_rejects_hostile_transcripts(tmp_path: Path) -> None:
    for case, (transcript, fragment) in BAD_CHATS.items():
        path = write_chat(tmp_path, transcript)
        result = frontline(tmp_path, "score-chat", str(path))
        assert result.returncode == 2, f"{case}: {result.stderr}"
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, f"{case}: {result.stderr}"
        assert fragment in lines[0], f"{case}: {lines[0]}"


def test_check_writing_rejects_100_kb(tmp_path: Path) -> None:
    path = tmp_path / "answer.txt"
    path.write_text("Dear customer, thanks. " * (100 * 1024 // 23 + 1))
    assert_clean_error(
        frontline(tmp_path, "check-writing", str(path)),
        "the limit is 80,000 bytes",  # 4 bytes for each of 20,000 characters
    )
    # Under the byte limit but over MAX_TEXT_CHARS: 25,000 two-byte characters.
    path.write_text("é" * 25_000)
    assert_clean_error(
        frontline(tmp_path, "check-writing", str(path)),
        "the text is 25,000 characters long; the limit is 20,000",
    )


def test_candidate_csv_bad_files_reported(app: Flask, client: FlaskClient) -> None:
    """Unreadable CSV files get a line-numbered report and import nobody."""
    from tests.factories import language_opening

    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening_id = language_opening().id
    log_in(client, "rec@example.com")
    header = "name,email,languages,opening\n"
    files = {
        "field over the csv limit": (
            (header + "A" * 200_000 + f",a@example.com,en,{opening_id}\n").encode(),
            "unreadable CSV (field larger than field limit",
        ),
        "UTF-16": (
            (header + f"Ana,a@example.com,en,{opening_id}\n").encode("utf-16"),
            "is not valid UTF-8",
        ),
        "unclosed quote": (
            (header + f'"Ana,a@example.com,en,{opening_id}\n').encode(),
            "expected 4 columns, found 1",
        ),
        "formula in the opening column": (
            (header + "Ana,a@example.com,en,=1+1\n").encode(),
            "unknown opening =1+1",
        ),
    }
    for case, (data, fragment) in files.items():
        result = client.post(
            "/recruit/import",
            data={
                "csrf_token": csrf_token(client, "/recruit/import"),
                "file": (io.BytesIO(data), "people.csv"),
            },
            content_type="multipart/form-data",
        )
        page = html.unescape(result.get_data(as_text=True))
        assert result.status_code == 200, case
        assert fragment in page, case
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_rank_unknown_huge_opening(tmp_path: Path) -> None:
    result = frontline(tmp_path, "rank", "9" * 40)
    assert_clean_error(result, f"opening {'9' * 40} not found")
