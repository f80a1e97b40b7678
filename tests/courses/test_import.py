"""Importing the real question files in the shared data, and malformed ones."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from courses.banks import (
    export_questions,
    get_bank,
    import_questions,
    parse_file,
    to_parsed,
)
from courses.gift import read_gift, write_gift
from courses.interchange import NoQuestionsFound, sanitise_html
from courses.moodle_xml import read_moodle_xml, write_moodle_xml

GIFT_TYPES = {
    "MC": {"single_choice", "multiple_choice"},
    "TF": {"true_false"},
    "Short": {"short_answer"},
    "Numerical": {"numerical"},
    "Essay": {"essay"},
    "Matching": {"matching"},
    "Description": {"description"},
}
# Error cases of the reference grammar that Moodle's importer, and so this one,
# accepts: unescaped colons inside answers are plain text, a blank line
# between questions is the separator, and an escaped brace is literal.
ACCEPTED_ERROR_CASES = {"unescapedLink", "emptyLines", "escapeBracket"}


def words(text: str | None) -> str:
    return " ".join((text or "").split()).replace("_____ .", "_____.")


def gift_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.gift"))


@pytest.fixture(scope="module")
def mocks(shared_data: Path) -> Path:
    return shared_data / "quiz" / "gift" / "gift-parser-ide_mocks"


def check_choices(expected: dict[str, Any], items: list[dict[str, Any]]) -> None:
    assert len(expected["choices"]) == len(items)
    for choice, item in zip(expected["choices"], items, strict=True):
        assert words(choice["text"]["text"]) == words(item["text"])
        assert words((choice.get("feedback") or {}).get("text")) == words(
            item["feedback"]
        )
        if choice["weight"] is not None:
            assert choice["weight"] == pytest.approx(item["fraction"] * 100, abs=1e-3)
        else:
            assert choice["isCorrect"] == (item["fraction"] >= 1)


def check_question(expected: dict[str, Any], question: Any) -> None:
    assert question.qtype in GIFT_TYPES[expected["type"]]
    assert words(expected.get("title")) == words(question.name)
    stem = expected["stem"]["text"]
    if question.text_format == "html":
        stem = sanitise_html(stem)
    assert words(stem) == words(question.text)
    assert expected["stem"]["format"] == question.text_format
    feedback = (expected.get("globalFeedback") or {}).get("text") or ""
    if question.text_format == "html":
        feedback = sanitise_html(feedback)
    assert words(feedback) == words(question.general_feedback)
    data = question.data
    if expected["type"] == "MC":
        check_choices(expected, data["options"])
    elif expected["type"] == "Short":
        check_choices(expected, data["answers"])
    elif expected["type"] == "TF":
        assert expected["isTrue"] == data["answer"]
        for key, ours in (
            ("correctFeedback", "feedback_correct"),
            ("incorrectFeedback", "feedback_incorrect"),
        ):
            assert words((expected.get(key) or {}).get("text")) == words(data[ours])
    elif expected["type"] == "Matching":
        pairs = [
            (p["subquestion"]["text"], p["subanswer"]) for p in expected["matchPairs"]
        ]
        assert pairs == [(p["prompt"], p["answer"]) for p in data["pairs"]]
    elif expected["type"] == "Numerical":
        check_numerical(expected["choices"], data)


def check_numerical(expected: Any, data: dict[str, Any]) -> None:
    if isinstance(expected, dict):
        expected = [{"text": expected, "weight": None}]
    wrong = [c for c in expected if c["text"].get("text") == "*"]
    if wrong:
        assert data["wrong_feedback"] == wrong[0]["feedback"]["text"]
    expected = [c for c in expected if c not in wrong]
    answers = data["answers"]
    assert len(expected) == len(answers)
    for choice, answer in zip(expected, answers, strict=True):
        spec = choice["text"]
        if spec["type"] == "high-low":
            low, high = spec["numberLow"], spec["numberHigh"]
            assert answer["value"] - answer["tolerance"] == pytest.approx(low)
            assert answer["value"] + answer["tolerance"] == pytest.approx(high)
        else:
            assert answer["value"] == pytest.approx(spec["number"])
            assert answer["tolerance"] == pytest.approx(spec.get("range", 0))
        if choice.get("weight") is not None:
            assert answer["fraction"] * 100 == pytest.approx(choice["weight"])


def test_gift_pass_cases_match_expected_json(mocks: Path) -> None:
    files = gift_files(mocks / "pass")
    assert len(files) == 48
    for path in files:
        result = read_gift(path.read_text(encoding="utf-8"))
        assert result.issues == [], path.name
        expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        categories = [q["title"] for q in expected if q["type"] == "Category"]
        questions = [q for q in expected if q["type"] != "Category"]
        assert result.categories == categories, path.name
        assert len(result.questions) == len(questions), path.name
        for wanted, question in zip(questions, result.questions, strict=True):
            try:
                check_question(wanted, question)
            except AssertionError as error:
                raise AssertionError(f"{path.name}: {question.name!r}") from error


def test_gift_tags_and_id_from_comments(mocks: Path) -> None:
    question = read_gift((mocks / "pass" / "tag_id_and_two_tags.gift").read_text())
    assert question.questions[0].id_number == "393"
    assert question.questions[0].tags == ["fred", "barney-wilma"]


def test_gift_error_cases_report_first_line(mocks: Path) -> None:
    files = gift_files(mocks / "error")
    assert len(files) == 10
    for path in files:
        expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        result = read_gift(path.read_text(encoding="utf-8"))
        if path.stem in ACCEPTED_ERROR_CASES:
            assert result.issues == [], path.name
            continue
        assert expected, path.name
        assert result.issues, path.name
        lines = [issue.line for issue in result.issues]
        assert lines[0] == expected[0]["location"]["start"]["line"], path.name
        assert set(lines) <= {e["location"]["start"]["line"] for e in expected} | {
            lines[-1]
        }, path.name


@pytest.mark.parametrize(
    ("name", "count", "issues"),
    [
        ("questions.gift.txt", 9, []),
        ("questions_in_category.gift.txt", 4, []),
    ],
)
def test_gift_moodle_fixtures(
    shared_data: Path, name: str, count: int, issues: list[int]
) -> None:
    source = (shared_data / "quiz" / "gift" / "moodle_core" / name).read_text()
    result = read_gift(source)
    assert [issue.line for issue in result.issues] == issues
    assert len(result.questions) == count


def test_gift_moodle_fixture_types(shared_data: Path) -> None:
    source = shared_data / "quiz" / "gift" / "moodle_core" / "questions.gift.txt"
    questions = read_gift(source.read_text()).questions
    by_name = {q.name: q for q in questions}
    assert by_name["Q8"].qtype == "essay"
    assert by_name["Moodle activities"].qtype == "matching"
    assert by_name["Moodle activities"].data["pairs"][-1] == {
        "id": "p5",
        "prompt": "",
        "answer": "Chat",
    }
    assert by_name["colours"].qtype == "multiple_choice"
    assert by_name["Q5"].data["wrong_feedback"] == "Completely wrong"
    assert by_name["Q1"].data["feedback_correct"] == "You gave the right answer."
    assert by_name["Q1"].general_feedback.startswith("This is, of course")
    category = read_gift(
        (
            shared_data / "quiz/gift/moodle_core/questions_in_category.gift.txt"
        ).read_text()
    )
    assert {q.category for q in category.questions} == {
        "$course$/Default for New Features"
    }
    greeting = next(q for q in category.questions if q.name == "Greeting")
    assert greeting.text_format == "html"
    assert 'href="http://demo.moodle.net/file.php/5/media/bonjour.mp3"' in greeting.text


def test_gift_pygiftparser_files(shared_data: Path) -> None:
    folder = shared_data / "quiz" / "gift" / "pygiftparser_mtommasi"
    counts = {}
    for path in sorted(folder.glob("*.gift")):
        result = read_gift(path.read_text(encoding="utf-8"))
        assert result.issues == [], path.name
        counts[path.stem] = len(result.questions)
    assert counts["categories"] == 6
    assert counts["numerical"] == 4
    markdown = read_gift((folder / "markdow.gift").read_text())
    assert {q.text_format for q in markdown.questions} == {"markdown"}
    assert "\n- allo" in markdown.questions[0].text


def test_gift_escapes_from_issue_reports(shared_data: Path) -> None:
    path = shared_data / "repro" / "gift_edge_cases_from_issues.gift"
    result = read_gift(path.read_text(encoding="utf-8"))
    assert [issue.line for issue in result.issues] == [6]
    assert "'='" in result.issues[0].message
    texts = [q.text for q in result.questions]
    assert texts[0] == "Es 1+1:=2"
    assert texts[1] == "1+1=2"
    assert texts[2] == (
        "Here's a question that has symbols inside, such as "
        "`-=\\[\\];',./~!@#$%^&*()_+{}|:\"<>?"
    )


def test_gift_invalid_and_valid_questions_counted() -> None:
    source = "Good {T}\n\nBad text = here {T}\n\nAlso good {=yes}\n"
    result = read_gift(source)
    assert [q.text for q in result.questions] == ["Good", "Also good"]
    assert [issue.line for issue in result.issues] == [3]


def test_gift_unicode_and_html_sanitised() -> None:
    source = (
        '::Ünïcödé::[html]<p onclick\\="x()">Привет <script>alert(1)</script>'
        "مرحبا 漢字</p>{=да}"
    )
    question = read_gift(source).questions[0]
    assert question.name == "Ünïcödé"
    from courses.interchange import render_text

    shown = render_text(question.text, question.text_format)
    assert "Привет" in shown
    assert "مرحبا" in shown
    assert "漢字" in shown
    assert "script" not in shown
    assert "onclick" not in shown
    assert question.data["answers"][0]["text"] == "да"


def test_gift_not_utf8_reports_line() -> None:
    result = parse_file(b"Good {T}\n\n\xff\xfe bad {T}\n", "gift")
    assert [issue.line for issue in result.issues] == [3]
    assert "UTF-8" in result.issues[0].message


XML_EXPECTED = {
    "moodle-tools_tu-berlin/description.xml": (["description"], []),
    "moodle-tools_tu-berlin/essayRef.xml": (["essay", "essay"], []),
    "moodle-tools_tu-berlin/multiple-choiceRef.xml": (["single_choice"] * 2, []),
    "moodle-tools_tu-berlin/shortanswerRef.xml": (["short_answer"] * 3, []),
    "moodle-tools_tu-berlin/true-falseRef.xml": (["true_false"] * 3, []),
    "moodle-tools_tu-berlin/dragdrop_missing-wordsRef.xml": ([], [3, 62]),
    "moodle-tools_tu-berlin/missing-wordsRef.xml": ([], [3, 61, 104, 147, 190, 243]),
    "moodle-tools_tu-berlin/multiple-true-falseRef.xml": ([], [3, 73, 181]),
    "moodle_core/broken_cloze_questions.xml": ([], [4, 20, 36, 52, 68]),
    "moodle_core/error_invalid_grades.xml": ([], [38]),
    "moodle_core/html_chars_in_idnumbers.xml": (["true_false"], []),
    "moodle_core/nested_categories_with_questions.xml": (
        ["true_false", "essay", "true_false", "true_false", "true_false"],
        [],
    ),
}


def test_moodle_xml_every_shared_file(shared_data: Path) -> None:
    folder = shared_data / "quiz" / "moodle_xml"
    found = sorted(str(p.relative_to(folder)) for p in folder.glob("*/*.xml"))
    assert found == sorted(XML_EXPECTED)
    for name, (types, lines) in XML_EXPECTED.items():
        result = read_moodle_xml((folder / name).read_bytes())
        assert [q.qtype for q in result.questions] == types, name
        assert [issue.line for issue in result.issues] == lines, name


def test_moodle_xml_details(shared_data: Path) -> None:
    folder = shared_data / "quiz" / "moodle_xml"
    nested = read_moodle_xml(
        (folder / "moodle_core/nested_categories_with_questions.xml").read_bytes()
    )
    assert nested.categories[:2] == ["$course$/Iota", "$course$/Iota/Kappa"]
    assert nested.questions[0].category == "$course$/Iota"
    idnumbers = read_moodle_xml(
        (folder / "moodle_core/html_chars_in_idnumbers.xml").read_bytes()
    )
    assert idnumbers.questions[0].id_number == "T & F"
    grades = read_moodle_xml(
        (folder / "moodle_core/error_invalid_grades.xml").read_bytes()
    )
    assert "33% is not a valid answer grade" in grades.issues[0].message
    short = read_moodle_xml(
        (folder / "moodle-tools_tu-berlin/shortanswerRef.xml").read_bytes()
    )
    answers = short.questions[0].data["answers"]
    assert [(a["text"], a["fraction"]) for a in answers] == [
        ("SELECT", 1.0),
        ("WITH", 0.5),
    ]


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<quiz><question type="essay"><name><text>&d;</text></name></question></quiz>
"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<quiz><question type="essay"><name><text>&secret;</text></name>
<questiontext format="html"><text>x</text></questiontext></question></quiz>
"""


@pytest.mark.parametrize("source", [BOMB, EXTERNAL], ids=["bomb", "external"])
def test_moodle_xml_rejects_entities(source: bytes) -> None:
    result = read_moodle_xml(source)
    assert result.questions == []
    assert len(result.issues) == 1
    assert result.issues[0].line == 2
    assert "not allowed" in result.issues[0].message


def test_moodle_xml_malformed_reports_line() -> None:
    result = read_moodle_xml(b"<quiz>\n<question type='essay'>\n</quiz>\n")
    assert [issue.line for issue in result.issues] == [3]


def comparable(questions: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            q.qtype,
            q.name,
            words(q.text),
            q.text_format,
            words(q.general_feedback),
            q.category,
            q.id_number,
            q.tags,
            json.dumps(q.data, sort_keys=True),
        )
        for q in questions
    ]


def all_shared_questions(shared_data: Path) -> list[Any]:
    questions = []
    for path in sorted((shared_data / "quiz" / "gift").rglob("*.gift*")):
        questions += read_gift(path.read_text(encoding="utf-8")).questions
    for path in sorted((shared_data / "quiz" / "moodle_xml").rglob("*.xml")):
        questions += read_moodle_xml(path.read_bytes()).questions
    return questions


def test_round_trip_keeps_every_question(shared_data: Path) -> None:
    from courses.demo import CONTENT

    questions = all_shared_questions(shared_data)
    questions += read_gift((CONTENT / "etiquette.gift").read_text()).questions
    assert len(questions) > 200
    assert {q.qtype for q in questions} >= {
        "single_choice", "multiple_choice", "true_false", "short_answer",
        "numerical", "matching", "ordering", "essay", "chat_reply", "description",
    }  # fmt: skip
    # Moodle XML carries every field as written.
    via_xml = read_moodle_xml(write_moodle_xml(questions).encode())
    assert via_xml.issues == []
    assert comparable(via_xml.questions) == comparable(questions)
    # GIFT has no name for line breaks in non-Markdown text, so compare words.
    via_gift = read_gift(write_gift(questions))
    assert via_gift.issues == []
    assert comparable(via_gift.questions) == comparable(questions)


EMPTY_FILES = [
    (b"", "gift"),
    (b"  \n\n\t \n", "gift"),
    (b"// only a comment\n// and another\n", "gift"),
    (b"", "xml"),
    (b"\n  \n", "xml"),
    (b'<?xml version="1.0"?>\n<!-- none yet -->\n<quiz>\n</quiz>\n', "xml"),
]


@pytest.mark.parametrize(("data", "file_format"), EMPTY_FILES)
def test_empty_file_imports_nothing(ctx: Any, data: bytes, file_format: str) -> None:
    with pytest.raises(NoQuestionsFound) as raised:
        import_questions(data, "Empty", file_format=file_format, source="empty")
    assert str(raised.value) == "empty: no questions found; nothing was imported"
    assert get_bank("Empty") is None


def test_empty_file_upload_reported(app: Any, client: Any) -> None:
    import io

    from tests.conftest import log_in, make_user

    with app.app_context():
        make_user("a@example.com", "admin")
    log_in(client, "a@example.com")
    page = client.get("/admin/learning/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    reply = client.post(
        "/admin/learning/banks/import",
        data={
            "csrf_token": token.group(1),
            "bank": "Empty",
            "file": (io.BytesIO(b"// nothing\n"), "empty.gift"),
        },
        content_type="multipart/form-data",
    )
    assert reply.status_code == 400
    assert "No questions found in empty.gift" in reply.get_data(as_text=True)
    with app.app_context():
        assert get_bank("Empty") is None


def test_categories_only_file_creates_categories(ctx: Any) -> None:
    data = b"// categories first, questions later\n$CATEGORY: top/Greetings\n"
    summary = import_questions(data, "Later", source="categories.gift")
    assert summary.total == 0
    bank = get_bank("Later")
    assert bank is not None
    assert [c.path for c in bank.categories] == ["top/Greetings"]


def bank_contents(name: str) -> list[tuple[Any, ...]]:
    bank = get_bank(name)
    assert bank is not None
    return comparable([to_parsed(q) for c in bank.categories for q in c.questions])


def test_database_round_trip_of_shared_files(ctx: Any, shared_data: Path) -> None:
    """Import each shared file, export the bank as GIFT and XML, import again."""
    quiz = shared_data / "quiz"
    files = [
        *sorted(
            p for p in (quiz / "gift").rglob("*.gift*") if p.parent.name != "error"
        ),
        *sorted((quiz / "moodle_xml").rglob("*.xml")),
    ]
    assert len(files) > 70
    round_trips = 0
    for number, path in enumerate(files):
        file_format = "xml" if path.suffix == ".xml" else "gift"
        data = path.read_bytes()
        parsed = parse_file(data, file_format)
        if file_format == "xml":
            # Every question of the file is imported or reported, none dropped.
            written = len(re.findall(rb'<question type="(?!category")', data))
            assert written == len(parsed.questions) + len(parsed.issues), path
        summary = import_questions(
            data, f"b{number}", file_format=file_format, skip_invalid=True
        )
        assert summary.total == len(parsed.questions), path
        if not summary.total:
            continue
        original = bank_contents(f"b{number}")
        assert len(original) == summary.total
        for out in ("gift", "xml"):
            exported = export_questions(f"b{number}", out)
            again = import_questions(
                exported.encode(), f"b{number}-{out}", file_format=out
            )
            assert again.skipped == [], (path, out)
            assert bank_contents(f"b{number}-{out}") == original, (path, out)
            round_trips += 1
    assert round_trips > 130
