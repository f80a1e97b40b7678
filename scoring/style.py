"""Live-chat style findings: words in capitals, chat-speak, repeated "!".

The word lists and thresholds come from a TOML rule file (``rules/style.toml``
by default) that an admin can read and tune. The writing scorer and the
etiquette scorer both call ``find_style_issues``.
"""

from __future__ import annotations

import bisect
import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_RULES_PATH = Path(__file__).resolve().parent / "rules" / "style.toml"

ALL_CAPS = "all_caps"
CHAT_SPEAK = "chat_speak"
REPEATED_EXCLAMATION = "repeated_exclamation"

# Letters with inner apostrophes ("DON'T"). Digits are not part of a word.
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_NON_SPACE_RE = re.compile(r"\S+")
_MARK_RUN_RE = re.compile(r"[!?！？‼⁉⁈]+")
# Number of "!" in each mark. Other marks of _MARK_RUN_RE count 0.
_EXCLAMATIONS = {"!": 1, "！": 1, "‼": 2, "⁉": 1, "⁈": 1}
# Number of marks in each character: "‼", "⁉" and "⁈" are two marks in one.
_MARKS = {"‼": 2, "⁉": 2, "⁈": 2}


@dataclass(frozen=True, slots=True)
class StyleFinding:
    """One style problem; ``text`` is ``source[offset:offset + length]``."""

    rule: str
    offset: int
    length: int
    text: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as a JSON-ready dict."""
        return {
            "rule": self.rule,
            "offset": self.offset,
            "length": self.length,
            "text": self.text,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class StyleRules:
    """Settings of the style rules, as read from a rule file."""

    caps_min_letters: int
    caps_allowed: frozenset[str]
    caps_message: str
    chat_words: Mapping[str, str]
    chat_message: str
    chat_omit_message: str
    exclamation_min: int
    exclamation_mixed_min: int
    exclamation_message: str
    chat_pattern: re.Pattern[str]


def load_style_rules(path: str | Path | None = None) -> StyleRules:
    """Read and validate a style rule file, by default ``rules/style.toml``.

    Each file is read once per process. Raises ValueError naming the file and key
    when a setting is missing or has the wrong type.
    """
    return _load_style_rules(Path(path or DEFAULT_RULES_PATH).resolve())


@functools.lru_cache(maxsize=8)
def _load_style_rules(path: Path) -> StyleRules:
    settings = read_rule_file(path)
    chat_words = {
        word.lower(): settings.string(f"chat_speak.words.{word}")
        for word in settings.table("chat_speak.words")
    }
    return StyleRules(
        caps_min_letters=settings.integer("all_caps.min_letters", minimum=1),
        caps_allowed=frozenset(
            word.upper() for word in settings.strings("all_caps.allowed")
        ),
        caps_message=settings.message("all_caps.message", "text"),
        chat_words=chat_words,
        chat_message=settings.message("chat_speak.message", "text", "expansion"),
        chat_omit_message=settings.message("chat_speak.omit_message", "text"),
        exclamation_min=settings.integer(
            "repeated_exclamation.min_exclamation_marks", minimum=2
        ),
        exclamation_mixed_min=settings.integer(
            "repeated_exclamation.min_mixed_marks", minimum=2
        ),
        exclamation_message=settings.message("repeated_exclamation.message", "text"),
        chat_pattern=_whole_words_pattern(chat_words),
    )


def find_style_issues(text: str, rules: StyleRules | None = None) -> list[StyleFinding]:
    """Find capitals, chat-speak and repeated exclamation marks in ``text``.

    Returns the findings ordered by offset. Offsets are code points of ``text``.
    """
    rules = rules or load_style_rules()
    findings = [
        *_find_all_caps(text, rules),
        *_find_chat_speak(text, rules),
        *_find_repeated_exclamations(text, rules),
    ]
    findings.sort(key=lambda finding: (finding.offset, finding.rule))
    return findings


def _find_all_caps(text: str, rules: StyleRules) -> list[StyleFinding]:
    code_spans = [
        found.span()
        for found in _NON_SPACE_RE.finditer(text)
        if any(char.isdigit() for char in found.group())
    ]
    code_starts = [start for start, _ in code_spans]
    findings: list[StyleFinding] = []
    run: list[re.Match[str]] = []
    for found in _WORD_RE.finditer(text):
        word = found.group()
        in_code = _inside(found.start(), code_spans, code_starts)
        if not word.isupper() or in_code:
            findings.extend(_caps_finding(text, run, rules))
            run = []
            continue
        if run and _breaks_run(text[run[-1].end() : found.start()]):
            findings.extend(_caps_finding(text, run, rules))
            run = []
        run.append(found)
    findings.extend(_caps_finding(text, run, rules))
    return findings


def _inside(offset: int, spans: list[tuple[int, int]], starts: list[int]) -> bool:
    index = bisect.bisect_right(starts, offset) - 1
    return index >= 0 and spans[index][0] <= offset < spans[index][1]


def _breaks_run(gap: str) -> bool:
    return "\n" in gap or any(char.isdigit() for char in gap)


def _is_shouting(word: str, rules: StyleRules) -> bool:
    letters = sum(char.isalpha() for char in word)
    return (
        letters >= rules.caps_min_letters
        and word not in rules.caps_allowed
        and word.lower() not in rules.chat_words
    )


def _caps_finding(
    text: str, run: list[re.Match[str]], rules: StyleRules
) -> list[StyleFinding]:
    shouting = [found for found in run if _is_shouting(found.group(), rules)]
    if not shouting:
        return []
    start, end = shouting[0].start(), shouting[-1].end()
    flagged = text[start:end]
    return [
        StyleFinding(
            rule=ALL_CAPS,
            offset=start,
            length=end - start,
            text=flagged,
            message=rules.caps_message.format(text=flagged),
        )
    ]


def _find_chat_speak(text: str, rules: StyleRules) -> list[StyleFinding]:
    findings: list[StyleFinding] = []
    for found in rules.chat_pattern.finditer(text):
        flagged = found.group()
        expansion = rules.chat_words[flagged.lower()]
        if expansion:
            message = rules.chat_message.format(text=flagged, expansion=expansion)
        else:
            message = rules.chat_omit_message.format(text=flagged)
        findings.append(
            StyleFinding(CHAT_SPEAK, found.start(), len(flagged), flagged, message)
        )
    return findings


def _find_repeated_exclamations(text: str, rules: StyleRules) -> list[StyleFinding]:
    findings: list[StyleFinding] = []
    for found in _MARK_RUN_RE.finditer(text):
        run = found.group()
        exclamations = sum(_EXCLAMATIONS.get(mark, 0) for mark in run)
        marks = sum(_MARKS.get(mark, 1) for mark in run)
        repeated = exclamations >= rules.exclamation_min or (
            exclamations >= 1 and marks >= rules.exclamation_mixed_min
        )
        if repeated:
            message = rules.exclamation_message.format(text=run)
            findings.append(
                StyleFinding(
                    REPEATED_EXCLAMATION, found.start(), len(run), run, message
                )
            )
    return findings


def _whole_words_pattern(words: Mapping[str, str]) -> re.Pattern[str]:
    if not words:
        return re.compile(r"(?!)")
    alternatives = "|".join(
        re.escape(word) for word in sorted(words, key=len, reverse=True)
    )
    # A word character, apostrophe or hyphen next to the match means it is part
    # of a longer word ("you", "U-turn", "u'll"), not the abbreviation.
    return re.compile(rf"(?<![\w'’-])(?:{alternatives})(?![\w'’-])", re.IGNORECASE)


def read_rule_file(path: Path) -> RuleSettings:
    """Parse a TOML rule file, or raise ValueError naming the file if it is invalid."""
    try:
        with path.open("rb") as file:
            return RuleSettings(tomllib.load(file), path)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: invalid TOML: {error}") from error


class RuleSettings:
    """Settings of a parsed rule file, read by dotted key with type checks.

    Each getter raises ValueError naming the file and the key when the setting
    is missing or has the wrong type.
    """

    def __init__(self, data: dict[str, Any], path: Path) -> None:
        self.data = data
        self.path = path

    def value(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ValueError(f"{self.path}: setting {key!r} is missing")
            node = node[part]
        return node

    def _typed(self, key: str, kind: type | tuple[type, ...], name: str) -> Any:
        value = self.value(key)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ValueError(
                f"{self.path}: setting {key!r} must be {name}, got {value!r}"
            )
        return value

    def table(self, key: str) -> dict[str, Any]:
        return dict(self._typed(key, dict, "a table"))

    def string(self, key: str) -> str:
        return str(self._typed(key, str, "a string"))

    def integer(self, key: str, *, minimum: int) -> int:
        value = int(self._typed(key, int, "an integer"))
        if value < minimum:
            raise ValueError(
                f"{self.path}: setting {key!r} must be at least {minimum}, got {value}"
            )
        return value

    def number(self, key: str, *, minimum: float | None = None) -> float:
        value = float(self._typed(key, (int, float), "a number"))
        if minimum is not None and value < minimum:
            raise ValueError(
                f"{self.path}: setting {key!r} must be at least {minimum}, got {value}"
            )
        return value

    def numbers(self, key: str) -> list[float]:
        values = self._typed(key, list, "a list of numbers")
        if not all(
            isinstance(value, int | float) and not isinstance(value, bool)
            for value in values
        ):
            raise ValueError(f"{self.path}: setting {key!r} must list only numbers")
        return [float(value) for value in values]

    def strings(self, key: str) -> list[str]:
        values = self._typed(key, list, "a list of strings")
        if not all(isinstance(value, str) for value in values):
            raise ValueError(f"{self.path}: setting {key!r} must list only strings")
        return list(values)

    def message(self, key: str, *fields: str) -> str:
        template = self.string(key)
        try:
            template.format(**{field: field for field in fields})
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                f"{self.path}: message {key!r} may use only the fields "
                f"{', '.join('{' + field + '}' for field in fields)}: {error!r}"
            ) from error
        return template
