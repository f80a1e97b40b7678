"""LanguageTool backend against a protocol fixture.

No LanguageTool server can run on the test machines (it needs a 260 MB download
that they cannot fetch), so these tests start ``LanguageToolFixture``: a small
HTTP server on 127.0.0.1 that speaks LanguageTool's ``/v2`` protocol as
language-tool-python 3.4 uses it. The client sends ``GET /v2/languages`` (to
normalise the language tag) and ``POST /v2/check`` with a form-encoded body of
``language`` and ``text``. The fixture responds with LanguageTool's JSON shape
and, as LanguageTool does, counts offsets and lengths in UTF-16 code units.
Its rules are a few fixed patterns, not LanguageTool's rules.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from scoring.adapters.languagetool import (
    LanguageToolChecker,
    utf16_units_to_code_points,
)
from scoring.errors import GrammarBackendError, UnsupportedLanguageError
from scoring.grammar import clear_checkers, get_checker
from scoring.writing import assess_writing

LANGUAGES = [
    {"name": "English", "code": "en", "longCode": "en"},
    {"name": "English (US)", "code": "en", "longCode": "en-US"},
    {"name": "English (GB)", "code": "en", "longCode": "en-GB"},
    {"name": "German", "code": "de", "longCode": "de"},
    {"name": "German (Germany)", "code": "de", "longCode": "de-DE"},
    {"name": "French", "code": "fr", "longCode": "fr"},
]

# pattern, rule id, category id, issue type, message, replacements
FIXTURE_RULES = [
    (r"\bteh\b", "MORFOLOGIK_RULE_EN_US", "TYPOS", "misspelling", "Typo", ["the"]),
    (r"\bFehlr\b", "GERMAN_SPELLER_RULE", "TYPOS", "misspelling", "Typo", ["Fehler"]),
    (r"smile😀", "EMOJI_GLUED", "TYPOGRAPHY", "typographical", "Add a space", []),
    (r"\bi\b", "I_LOWERCASE", "CASING", "typographical", "Use 'I'", ["I"]),
    (r"\bis is\b", "ENGLISH_WORD_REPEAT_RULE", "MISC", "duplication", "Twice", []),
]


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fixture_matches(text: str) -> list[dict[str, Any]]:
    matches = []
    for pattern, rule_id, category, issue_type, message, values in FIXTURE_RULES:
        for found in re.finditer(pattern, text):
            offset = utf16_units(text[: found.start()])
            length = utf16_units(found.group())
            matches.append(
                {
                    "message": message,
                    "shortMessage": message,
                    "replacements": [{"value": value} for value in values],
                    "offset": offset,
                    "length": length,
                    "context": {"text": text[:80], "offset": offset, "length": length},
                    "sentence": text,
                    "type": {"typeName": "Other"},
                    "rule": {
                        "id": rule_id,
                        "description": message,
                        "issueType": issue_type,
                        "category": {"id": category, "name": category.title()},
                    },
                    "ignoreForIncompleteSentence": False,
                    "contextForSureMatch": 0,
                }
            )
    return sorted(matches, key=lambda match: match["offset"])


class LanguageToolFixture(ThreadingHTTPServer):
    """LanguageTool /v2 protocol fixture; ``mode`` selects the check response."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FixtureHandler)
        self.mode = "ok"
        self.delay_seconds = 0.0
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def check_requests(self) -> list[dict[str, list[str]]]:
        return [form for method, path, form in self.requests if path == "/v2/check"]


class FixtureHandler(BaseHTTPRequestHandler):
    server: LanguageToolFixture

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output clean."""

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        self.server.requests.append(("GET", path, {}))
        if path == "/v2/languages":
            self._send(200, json.dumps(LANGUAGES), "application/json")
        else:
            self._send(404, "Error: not found", "text/plain")

    def do_POST(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        form = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True)
        self.server.requests.append(("POST", path, form))
        if path != "/v2/check":
            self._send(404, "Error: not found", "text/plain")
            return
        time.sleep(self.server.delay_seconds)
        mode = self.server.mode
        if mode == "error":
            # LanguageTool reports internal errors as plain text, not JSON.
            self._send(500, "Error: Internal Server Error: boom", "text/plain")
        elif mode == "malformed":
            self._send(200, json.dumps({"unexpected": True}), "application/json")
        else:
            text = form["text"][0]
            response = {
                "software": {"name": "LanguageTool", "version": "6.8", "apiVersion": 1},
                "warnings": {"incompleteResults": False},
                "language": {"name": "fixture", "code": form["language"][0]},
                "matches": fixture_matches(text),
            }
            self._send(200, json.dumps(response), "application/json")

    def _send(self, status: int, body: str, content_type: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def languagetool_server() -> Iterator[LanguageToolFixture]:
    """A LanguageTool protocol fixture on a random loopback port."""
    server = LanguageToolFixture()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def checker(languagetool_server: LanguageToolFixture) -> LanguageToolChecker:
    return LanguageToolChecker(languagetool_server.url, timeout=5)


def flagged(text: str, checker: LanguageToolChecker, language: str = "en") -> list:
    return [
        (text[m.offset : m.offset + m.length], m.rule)
        for m in checker.check(text, language)
    ]


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_check_maps_offsets_past_emoji(checker: LanguageToolChecker) -> None:
    text = "Hi 😀😀, teh parcel 👍🏽 is is late smile😀 ok"
    assert flagged(text, checker) == [
        ("teh", "MORFOLOGIK_RULE_EN_US"),
        ("is is", "ENGLISH_WORD_REPEAT_RULE"),
        ("smile😀", "EMOJI_GLUED"),
    ]


def test_fixture_offsets_are_utf16(checker: LanguageToolChecker) -> None:
    # Guards the test above: the fixture must send offsets that differ from
    # code point offsets, or the conversion would go untested.
    text = "Hi 😀😀, teh parcel"
    assert fixture_matches(text)[0]["offset"] == text.index("teh") + 2


def test_check_reports_categories(checker: LanguageToolChecker) -> None:
    text = "i think teh smile😀 is is fine"
    categories = {match.rule: match.category for match in checker.check(text, "en")}
    assert categories["I_LOWERCASE"] == "capitalization"
    assert categories["MORFOLOGIK_RULE_EN_US"] == "spelling"
    assert categories["EMOJI_GLUED"] == "typography"
    # MISC is "other" by category; the issue type is used only for unknown ids.
    assert categories["ENGLISH_WORD_REPEAT_RULE"] == "other"


def test_check_returns_replacements(checker: LanguageToolChecker) -> None:
    (match,) = checker.check("so teh end", "en")
    assert match.replacements == ("the",)
    assert match.to_dict()["replacements"] == ["the"]


def test_bare_codes_sent_as_variants(
    checker: LanguageToolChecker, languagetool_server: LanguageToolFixture
) -> None:
    checker.check("teh", "en")
    checker.check("Ein Fehlr", "de")
    checker.check("teh", "en-GB")
    checker.check("Bonjour", "fr")
    sent = [form["language"][0] for form in languagetool_server.check_requests()]
    assert sent == ["en-US", "de-DE", "en-GB", "fr"]


def test_other_language_is_checked(checker: LanguageToolChecker) -> None:
    assert flagged("Ein Fehlr 😀 hier", checker, "de") == [
        ("Fehlr", "GERMAN_SPELLER_RULE")
    ]


def test_unlisted_language_is_unsupported(checker: LanguageToolChecker) -> None:
    assert checker.supports("fr")
    assert not checker.supports("xx")
    with pytest.raises(UnsupportedLanguageError, match="'xx'"):
        checker.check("text", "xx")


def test_blank_text_sends_nothing(
    checker: LanguageToolChecker, languagetool_server: LanguageToolFixture
) -> None:
    assert checker.check(" \n\t", "en") == []
    assert languagetool_server.check_requests() == []


def test_lone_surrogate_is_sent(checker: LanguageToolChecker) -> None:
    text = "bad \ud800 teh"
    assert flagged(text, checker) == [("teh", "MORFOLOGIK_RULE_EN_US")]


def test_server_error_raises_backend_error(
    checker: LanguageToolChecker, languagetool_server: LanguageToolFixture
) -> None:
    languagetool_server.mode = "error"
    with pytest.raises(GrammarBackendError) as caught:
        checker.check("teh", "en")
    message = str(caught.value)
    assert languagetool_server.url in message
    assert "Internal Server Error" in message
    assert "LANGUAGETOOL_URL" in message


def test_malformed_response_raises_backend_error(
    checker: LanguageToolChecker, languagetool_server: LanguageToolFixture
) -> None:
    languagetool_server.mode = "malformed"
    with pytest.raises(GrammarBackendError, match="expected fields"):
        checker.check("teh", "en")


def test_slow_server_raises_timeout(languagetool_server: LanguageToolFixture) -> None:
    checker = LanguageToolChecker(languagetool_server.url, timeout=0.2)
    languagetool_server.delay_seconds = 1.0
    with pytest.raises(GrammarBackendError, match="did not respond within 0.2 s"):
        checker.check("teh", "en")


def test_unreachable_server_raises_backend_error() -> None:
    url = f"http://127.0.0.1:{free_loopback_port()}/"
    with pytest.raises(GrammarBackendError) as caught:
        LanguageToolChecker(url, timeout=5)
    message = str(caught.value)
    assert "unreachable" in message
    assert url in message
    assert "FRONTLINE_GRAMMAR_BACKEND=harper" in message


def test_invalid_url_raises_backend_error() -> None:
    with pytest.raises(GrammarBackendError, match="invalid LanguageTool URL"):
        LanguageToolChecker("ftp://127.0.0.1/", timeout=5)


def test_url_path_keeps_last_segment(languagetool_server: LanguageToolFixture) -> None:
    # Without the added slash, "v2/" would replace "lt" instead of following it.
    url = languagetool_server.url + "lt"
    with pytest.raises(GrammarBackendError):
        LanguageToolChecker(url, timeout=5)
    paths = [path for method, path, form in languagetool_server.requests]
    assert paths == ["/lt/v2/languages"]


def test_registry_caches_checker(languagetool_server: LanguageToolFixture) -> None:
    clear_checkers()
    try:
        first = get_checker("languagetool", languagetool_url=languagetool_server.url)
        second = get_checker("languagetool", languagetool_url=languagetool_server.url)
        assert first is second
        assert first.name == "languagetool"
        assert first.version.startswith("language-tool-python ")
    finally:
        clear_checkers()


def test_utf16_units_to_code_points() -> None:
    text = "a😀b👍🏽c"
    assert utf16_units_to_code_points(text, 0, 1) == 1
    assert utf16_units_to_code_points(text, 0, 3) == 2
    assert utf16_units_to_code_points(text, 1, 3) == 2
    assert utf16_units_to_code_points(text, 3, 4) == 2
    assert utf16_units_to_code_points(text, 5, 99) == 1


def test_local_server_needs_installation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LTP_PATH", str(tmp_path))
    monkeypatch.delenv("LTP_JAR_DIR_PATH", raising=False)
    with pytest.raises(GrammarBackendError) as caught:
        LanguageToolChecker(None)
    message = str(caught.value)
    if "Java" in message:
        pytest.skip("no Java on this machine; the Java test covers that case")
    assert "no LanguageTool installation found" in message
    assert str(tmp_path) in message
    assert "LANGUAGETOOL_URL" in message


def test_local_server_needs_java(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GrammarBackendError, match="needs Java 17 or later"):
        LanguageToolChecker(None)


def test_broken_local_installation_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    installation = tmp_path / "LanguageTool-6.8"
    installation.mkdir()
    (installation / "languagetool-server.jar").write_bytes(b"not a jar")
    monkeypatch.setenv("LTP_PATH", str(tmp_path))
    monkeypatch.delenv("LTP_JAR_DIR_PATH", raising=False)
    with pytest.raises(GrammarBackendError) as caught:
        LanguageToolChecker(None)
    message = str(caught.value)
    if "Java" in message and "failed to start" not in message:
        pytest.skip("no Java on this machine; the Java test covers that case")
    assert "failed to start" in message
    assert "LANGUAGETOOL_URL" in message


def test_writing_score_with_languagetool(checker: LanguageToolChecker) -> None:
    text = "Vielen Dank für Ihre Nachricht 😀. Ein Fehlr ist passiert, thx!!"
    result = assess_writing(text, checker=checker, language="de")
    assert result["checker"]["name"] == "languagetool"
    assert "uncalibrated_language" in result["flags"]
    (match,) = result["matches"]
    assert text[match["offset"] : match["offset"] + match["length"]] == "Fehlr"
    assert match["category"] == "spelling"
    assert [finding["text"] for finding in result["style"]] == ["thx", "!!"]
