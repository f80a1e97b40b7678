"""Commands that score a file directly, and the sweep that requeues waiting answers.

Scoring commands print one JSON object on stdout. A missing, empty or unreadable
input exits with status 2 and a one-line message on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from scoring.errors import ScoringError

WRITING_KEYS = (
    "language",
    "words",
    "score",
    "cefr",
    "matches",
    "style",
    "subscores",
    "flags",
    "needs_review",
    "review_reasons",
    "withheld",
)
SPEAKING_KEYS = (
    "transcript",
    "duration_s",
    "words",
    "words_per_minute",
    "pause_count",
    "pause_share",
    "filler_count",
    "mean_word_probability",
    "read_aloud_accuracy",
    "no_speech",
    "needs_review",
    "review_reasons",
    "score",
    "cefr",
    "withheld",
    "subscores",
)


def fail(message: str) -> NoReturn:
    """Print ``message`` as one line on stderr and exit with status 2."""
    click.echo(f"error: {' '.join(message.split())}", err=True)
    sys.exit(2)


def print_json(result: dict[str, Any], keys: tuple[str, ...]) -> None:
    click.echo(json.dumps({key: result.get(key) for key in keys}, ensure_ascii=False))


# The largest chat transcript that score-chat reads: about 5,000 messages.
MAX_TRANSCRIPT_BYTES = 1024 * 1024


def read_text_file(path: str, max_bytes: int) -> str:
    """Read a UTF-8 file of at most ``max_bytes``; exit with status 2 if it fails."""
    file = Path(path)
    if file.is_dir():
        fail(f"{path}: is a folder, not a text file")
    if not file.is_file():
        fail(f"{path}: file not found")
    size = file.stat().st_size
    if size > max_bytes:
        fail(f"{path}: the file is {size:,} bytes; the limit is {max_bytes:,} bytes")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{path}: not UTF-8 text; save the file as UTF-8 and try again")
    except OSError as error:
        fail(f"{path}: cannot be read ({error.strerror})")
    if not text.strip():
        fail(f"{path}: the file is empty")
    return text


@click.command("check-writing")
@with_appcontext
@click.argument("path")
@click.option("--language", default="en", show_default=True, help="ISO 639-1 code.")
@click.option(
    "--backend",
    type=click.Choice(["harper", "languagetool"]),
    default=None,
    help="Grammar checker; defaults to FRONTLINE_GRAMMAR_BACKEND or harper.",
)
@click.option("--min-words", type=int, default=0, help="The task's minimum length.")
def check_writing_command(
    path: str, language: str, backend: str | None, min_words: int
) -> None:
    """Check and score the written answer in the UTF-8 text file PATH."""
    from scoring.grammar import get_checker
    from scoring.writing import assess_writing

    config = current_app.config
    # A character takes at most 4 bytes in UTF-8; the length check follows.
    text = read_text_file(path, 4 * config["MAX_TEXT_CHARS"])
    if len(text) > config["MAX_TEXT_CHARS"]:
        fail(
            f"{path}: the text is {len(text):,} characters long; "
            f"the limit is {config['MAX_TEXT_CHARS']:,}"
        )
    try:
        checker = get_checker(
            backend or config["GRAMMAR_BACKEND"],
            languagetool_url=config["LANGUAGETOOL_URL"],
        )
        result = assess_writing(
            text, checker=checker, language=language, min_words=min_words
        )
    except ScoringError as error:
        fail(str(error))
    print_json(result, WRITING_KEYS)


@click.command("score-speaking")
@with_appcontext
@click.argument("audio")
@click.option(
    "--prompt-text", default=None, help="The text read aloud, to score accuracy."
)
@click.option(
    "--min-seconds",
    type=float,
    default=None,
    help="Speaking time the task asks for at least, in seconds.",
)
def score_speaking_command(
    audio: str, prompt_text: str | None, min_seconds: float | None
) -> None:
    """Transcribe and score the spoken answer in the audio file AUDIO."""
    from scoring.adapters.whisper import get_model
    from scoring.speech import assess_speaking

    file = Path(audio)
    if file.is_dir():
        fail(f"{audio}: is a folder, not an audio file")
    if not file.is_file():
        fail(f"{audio}: file not found")
    if file.stat().st_size == 0:
        fail(f"{audio}: the file is empty")
    if prompt_text is not None and not any(ch.isalnum() for ch in prompt_text):
        fail("--prompt-text has no words to compare the transcript with")
    config = current_app.config
    try:
        result = assess_speaking(
            file,
            prompt_text=prompt_text,
            model=get_model(config["WHISPER_MODEL"], config["WHISPER_COMPUTE_TYPE"]),
            max_duration_s=float(config["MAX_AUDIO_SECONDS"]),
            min_answer_s=min_seconds,
        )
    except ScoringError as error:
        fail(f"{audio}: {error}")
    except ValueError as error:
        fail(str(error))
    print_json(result, SPEAKING_KEYS)


CHAT_KEYS = ("score", "first_response_s", "mean_response_s", "findings")


@click.command("score-chat")
@with_appcontext
@click.argument("path")
@click.option(
    "--customer-name", default=None, help="The customer's name, if the agent knew it."
)
def score_chat_command(path: str, customer_name: str | None) -> None:
    """Score the live-chat etiquette of the JSON transcript in PATH.

    The file holds a JSON list of messages, each with ``role`` (``customer`` or
    ``agent``), ``text`` and ``at`` (an ISO 8601 time with a UTC offset).
    """
    from scoring.etiquette import TranscriptError, parse_messages, score_chat
    from scoring.grammar import get_checker

    try:
        raw = json.loads(read_text_file(path, MAX_TRANSCRIPT_BYTES))
    except json.JSONDecodeError as error:
        fail(f"{path}: invalid JSON: {error}")
    except RecursionError:
        fail(f"{path}: invalid transcript: the JSON is nested too deeply")
    config = current_app.config
    try:
        messages = parse_messages(raw)
        checker = get_checker(
            config["GRAMMAR_BACKEND"], languagetool_url=config["LANGUAGETOOL_URL"]
        )
        result = score_chat(messages, checker=checker, customer_name=customer_name)
    except TranscriptError as error:
        fail(f"{path}: {error}")
    except ScoringError as error:
        fail(str(error))
    print_json(result, CHAT_KEYS)


@click.command("requeue")
@with_appcontext
@click.option(
    "--stale-minutes",
    type=float,
    default=15.0,
    show_default=True,
    help="Requeue answers queued longer ago than this without a result.",
)
def requeue_command(stale_minutes: float) -> None:
    """Close timed-out attempts, then queue answers never sent to the broker."""
    from datetime import timedelta

    from assessments.deadlines import close_expired_attempts
    from assessments.services import requeue_unqueued

    closed = close_expired_attempts()
    count = requeue_unqueued(timedelta(minutes=stale_minutes))
    click.echo(f"closed {closed} timed-out attempts")
    click.echo(f"queued {count} answers")


def register(app: Flask) -> None:
    app.cli.add_command(check_writing_command)
    app.cli.add_command(score_speaking_command)
    app.cli.add_command(score_chat_command)
    app.cli.add_command(requeue_command)
