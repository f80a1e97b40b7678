"""Writing score of a written answer: accuracy, vocabulary, sentences, length.

``assess_writing`` checks a text with a ``GrammarChecker`` and the live-chat
style rules, measures it, and returns a JSON-ready result in which every match
and style finding carries its offsets into the text. Error weights, subscore
shapes, subscore weights and CEFR bands come from ``rules/writing.toml``.
"""

from __future__ import annotations

import functools
import math
import re
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring.cefr import BANDS, band_for_score
from scoring.grammar import CATEGORIES, GrammarChecker, GrammarMatch
from scoring.style import (
    ALL_CAPS,
    CHAT_SPEAK,
    REPEATED_EXCLAMATION,
    StyleFinding,
    StyleRules,
    find_style_issues,
    read_rule_file,
)
from scoring.withheld import withhold

SCORER = "writing"
# Version of the method. Bump it when the computation changes. A change of the
# rule file alone shows in rules_version.
VERSION = "1.2"
# At least this share of repeated sentences flags the answer "repetitive".
REPETITIVE_SHARE = 0.2
# An answer of at least min_evidence_words words is flagged "incoherent", and its
# score withheld, when more than this share of its words are unknown to the
# spelling dictionary, or when fewer than MIN_REAL_WORD_SHARE of its
# space-separated tokens are known words. On the 108 rated learner texts of the
# calibration the highest unknown share was 0.12 and the lowest real-word share
# 0.80 (docs/scoring.md), so only text that is mostly not English trips them.
MAX_UNKNOWN_WORD_SHARE = 0.2
MIN_REAL_WORD_SHARE = 0.6
DEFAULT_RULES_PATH = Path(__file__).resolve().parent / "rules" / "writing.toml"
WEIGHTED_SUBSCORES = ("accuracy", "vocabulary", "sentence_control")

# Words: letters or digits, with inner apostrophes or hyphens ("don't",
# "well-known", "7am"). Lexical words, for vocabulary measures, have no digits.
_WORD_RE = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_LEXICAL_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# A sentence ends at . ! ? or … followed by optional closing quotes or brackets
# and whitespace, or at a line break.
_SENTENCE_BREAK_RE = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n+")
_MTLD_THRESHOLD = 0.72
# MTLD is unstable on short texts, so it is reported only from this many words.
_MTLD_MIN_WORDS = 50


@dataclass(frozen=True, slots=True)
class WritingRules:
    """Settings of the writing score, as read from a rule file."""

    rules_version: str
    max_chars: int
    min_evidence_words: int
    category_weights: Mapping[str, float]
    style_weights: Mapping[str, float]
    accuracy_scale: float
    mattr_window: int
    mattr_floor: float
    mattr_ceiling: float
    word_length_floor: float
    word_length_ceiling: float
    sentence_floor: float
    sentence_ideal: float
    sentence_run_on: float
    sentence_run_on_zero: float
    subscore_weights: Mapping[str, float]
    cefr_lower_bounds: tuple[float, ...]


def load_writing_rules(path: str | Path | None = None) -> WritingRules:
    """Read and validate a writing rule file, by default ``rules/writing.toml``.

    Each file is read once per process. Raises ValueError naming the file and key
    of an invalid setting.
    """
    return _load_writing_rules(Path(path or DEFAULT_RULES_PATH).resolve())


@functools.lru_cache(maxsize=8)
def _load_writing_rules(path: Path) -> WritingRules:
    settings = read_rule_file(path)

    def weights(key: str, names: Sequence[str]) -> dict[str, float]:
        table = settings.table(key)
        if set(table) != set(names):
            raise ValueError(
                f"{path}: {key!r} must set exactly {', '.join(names)}; "
                f"got {', '.join(sorted(table))}"
            )
        return {name: settings.number(f"{key}.{name}", minimum=0) for name in names}

    rules = WritingRules(
        rules_version=settings.string("rules_version"),
        max_chars=settings.integer("max_chars", minimum=1000),
        min_evidence_words=settings.integer("min_evidence_words", minimum=1),
        category_weights=weights("category_weights", CATEGORIES),
        style_weights=weights(
            "style_weights", (ALL_CAPS, CHAT_SPEAK, REPEATED_EXCLAMATION)
        ),
        accuracy_scale=settings.number("accuracy.scale", minimum=0.1),
        mattr_window=settings.integer("vocabulary.mattr_window", minimum=10),
        mattr_floor=settings.number("vocabulary.mattr_floor"),
        mattr_ceiling=settings.number("vocabulary.mattr_ceiling"),
        word_length_floor=settings.number("vocabulary.word_length_floor"),
        word_length_ceiling=settings.number("vocabulary.word_length_ceiling"),
        sentence_floor=settings.number("sentence_control.floor", minimum=0),
        sentence_ideal=settings.number("sentence_control.ideal"),
        sentence_run_on=settings.number("sentence_control.run_on"),
        sentence_run_on_zero=settings.number("sentence_control.run_on_zero"),
        subscore_weights=weights("score.weights", WEIGHTED_SUBSCORES),
        cefr_lower_bounds=tuple(settings.numbers("cefr.lower_bounds")),
    )
    validate_writing_rules(rules, str(path))
    return rules


def validate_writing_rules(rules: WritingRules, source: str = "writing rules") -> None:
    """Raise ValueError if the ranges, weights or CEFR bounds are inconsistent."""
    problems = []
    if not rules.mattr_floor < rules.mattr_ceiling:
        problems.append("vocabulary.mattr_floor must be below mattr_ceiling")
    if not rules.word_length_floor < rules.word_length_ceiling:
        problems.append("vocabulary.word_length_floor must be below the ceiling")
    sentence = (
        rules.sentence_floor,
        rules.sentence_ideal,
        rules.sentence_run_on,
        rules.sentence_run_on_zero,
    )
    if not sentence[0] < sentence[1] <= sentence[2] < sentence[3]:
        problems.append("sentence_control needs floor < ideal <= run_on < run_on_zero")
    if not math.isclose(sum(rules.subscore_weights.values()), 1.0, abs_tol=1e-6):
        problems.append("score.weights must sum to 1")
    bounds = list(rules.cefr_lower_bounds)
    if len(bounds) != len(BANDS) - 1 or bounds != sorted(bounds):
        problems.append(f"cefr.lower_bounds must be {len(BANDS) - 1} rising scores")
    if problems:
        raise ValueError(f"{source}: " + "; ".join(problems))


def assess_writing(
    text: str,
    *,
    checker: GrammarChecker,
    language: str = "en",
    min_words: int = 0,
    rules: WritingRules | None = None,
    style_rules: StyleRules | None = None,
) -> dict[str, Any]:
    """Check and score a written answer and return a JSON-ready result.

    ``min_words`` is the task's minimum length (0 for none). Empty text scores 0
    with the flag "empty". Languages other than English are scored with the
    English calibration and flagged "uncalibrated_language". Raises
    UnsupportedLanguageError if ``checker`` does not check ``language`` and
    GrammarBackendError if the checker fails.
    """
    if min_words < 0:
        raise ValueError(f"min_words must be 0 or more, got {min_words}")
    rules = rules or load_writing_rules()
    checked = _checked_part(text, rules.max_chars)
    matches = checker.check(checked, language)
    findings = find_style_issues(checked, style_rules)
    matches = _without_chat_speak_spelling(matches, findings)
    metrics = measure_writing(checked, matches, findings, rules)
    subscores, score = score_writing(metrics, rules, min_words)
    flags = _flags(text, language, metrics, min_words, rules)
    reasons = _review_reasons(metrics, flags)
    result = {
        "scorer": SCORER,
        "version": VERSION,
        "rules_version": rules.rules_version,
        "checker": {"name": checker.name, "version": checker.version},
        "language": language,
        "words": metrics["words"],
        "min_words": min_words,
        "score": score,
        "cefr": band_for_score(score, rules.cefr_lower_bounds),
        "subscores": subscores,
        "metrics": metrics,
        "matches": [match.to_dict() for match in matches],
        "style": [finding.to_dict() for finding in findings],
        "flags": flags,
        "needs_review": bool(reasons),
        "review_reasons": reasons,
    }
    if reasons:
        withhold(result, [reason["code"] for reason in reasons])
    return result


def measure_writing(
    text: str,
    matches: Sequence[GrammarMatch],
    findings: Sequence[StyleFinding],
    rules: WritingRules,
) -> dict[str, Any]:
    """Return the raw measures behind the subscores, as a JSON-ready dict."""
    words = len(_WORD_RE.findall(text))
    lexical = [word.lower() for word in _LEXICAL_RE.findall(text)]
    unknown = sum(1 for match in matches if match.category == "spelling")
    tokens = len(text.split())
    sentence_lengths = [
        count
        for count in (len(_WORD_RE.findall(part)) for part in _sentences(text))
        if count
    ]
    category_counts = Counter(match.category for match in matches)
    weighted_errors = sum(
        rules.category_weights.get(match.category, rules.category_weights["other"])
        for match in matches
    ) + sum(rules.style_weights.get(finding.rule, 0.0) for finding in findings)
    per_100 = 100 / words if words else 0.0
    return {
        "words": words,
        "sentences": len(sentence_lengths),
        "characters_checked": len(text),
        "error_count": len(matches),
        "style_count": len(findings),
        "category_counts": {name: category_counts[name] for name in CATEGORIES},
        "weighted_errors": round(weighted_errors, 2),
        "errors_per_100_words": round(len(matches) * per_100, 2),
        "weighted_errors_per_100_words": round(weighted_errors * per_100, 2),
        "mattr": round(mattr(lexical, rules.mattr_window), 4),
        "mtld": round(mtld(lexical), 2) if len(lexical) >= _MTLD_MIN_WORDS else None,
        "mean_word_length": round(_mean([len(word) for word in lexical]), 2),
        "mean_sentence_length": round(_mean(sentence_lengths), 2),
        "sentence_length_sd": round(
            statistics.pstdev(sentence_lengths) if sentence_lengths else 0.0, 2
        ),
        "longest_sentence": max(sentence_lengths, default=0),
        "repeated_sentence_share": round(_repeated_sentence_share(text), 4),
        "unknown_word_share": round(unknown / len(lexical), 4) if lexical else 0.0,
        "real_word_share": (
            round(max(0, len(lexical) - unknown) / tokens, 4) if tokens else 0.0
        ),
    }


def score_writing(
    metrics: Mapping[str, Any], rules: WritingRules, min_words: int = 0
) -> tuple[dict[str, float], float]:
    """Turn ``measure_writing`` output into subscores and a score, each 0-100.

    The score is the weighted mean of accuracy, vocabulary and sentence control,
    times length / 100, times the share of sentences that are not repeats of an
    earlier one. Length is the share of the larger of ``min_words`` and
    ``rules.min_evidence_words`` that the text reaches.
    """
    words = int(metrics["words"])
    if words == 0:
        return dict.fromkeys((*WEIGHTED_SUBSCORES, "length"), 0.0), 0.0
    accuracy = 100 * math.exp(
        -float(metrics["weighted_errors_per_100_words"]) / rules.accuracy_scale
    )
    vocabulary = (
        _ramp(float(metrics["mattr"]), rules.mattr_floor, rules.mattr_ceiling)
        + _ramp(
            float(metrics["mean_word_length"]),
            rules.word_length_floor,
            rules.word_length_ceiling,
        )
    ) / 2
    subscores = {
        "accuracy": accuracy,
        "vocabulary": vocabulary,
        "sentence_control": _sentence_control(
            float(metrics["mean_sentence_length"]), rules
        ),
        "length": 100 * min(1.0, words / max(min_words, rules.min_evidence_words)),
    }
    weighted = sum(
        rules.subscore_weights[name] * subscores[name] for name in WEIGHTED_SUBSCORES
    )
    originality = 1.0 - float(metrics.get("repeated_sentence_share", 0.0))
    score = weighted * subscores["length"] / 100 * originality
    return {name: round(value, 1) for name, value in subscores.items()}, round(score, 1)


def mattr(tokens: Sequence[str], window: int) -> float:
    """Return the moving-average type-token ratio; plain TTR below ``window``."""
    if not tokens:
        return 0.0
    if len(tokens) <= window:
        return len(set(tokens)) / len(tokens)
    counts = Counter(tokens[:window])
    total = len(counts)
    for index in range(window, len(tokens)):
        counts[tokens[index]] += 1
        leaving = tokens[index - window]
        counts[leaving] -= 1
        if counts[leaving] == 0:
            del counts[leaving]
        total += len(counts)
    return total / window / (len(tokens) - window + 1)


def mtld(tokens: Sequence[str]) -> float:
    """Return MTLD, the measure of textual lexical diversity.

    MTLD is the mean length of word runs whose type-token ratio stays above 0.72,
    averaged over a forward and a backward pass.
    """
    return (_mtld_pass(tokens) + _mtld_pass(tokens[::-1])) / 2


def _mtld_pass(tokens: Sequence[str]) -> float:
    factors = 0.0
    types: set[str] = set()
    count = 0
    for token in tokens:
        count += 1
        types.add(token)
        if len(types) / count <= _MTLD_THRESHOLD:
            factors += 1
            types = set()
            count = 0
    if count:
        factors += (1 - len(types) / count) / (1 - _MTLD_THRESHOLD)
    return len(tokens) / factors if factors else float(len(tokens))


def _sentence_control(mean_length: float, rules: WritingRules) -> float:
    if mean_length <= rules.sentence_run_on:
        return _ramp(mean_length, rules.sentence_floor, rules.sentence_ideal)
    return 100 - _ramp(mean_length, rules.sentence_run_on, rules.sentence_run_on_zero)


def _ramp(value: float, floor: float, ceiling: float) -> float:
    return 100 * min(1.0, max(0.0, (value - floor) / (ceiling - floor)))


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def _sentences(text: str) -> list[str]:
    return _SENTENCE_BREAK_RE.split(text)


def _repeated_sentence_share(text: str) -> float:
    """Return the share of sentences of 3+ words that repeat an earlier sentence.

    Pasting one sentence many times would otherwise reach any minimum length
    with few errors.
    """
    seen: set[str] = set()
    repeats = total = 0
    for sentence in _sentences(text):
        words = [word.lower() for word in _WORD_RE.findall(sentence)]
        if len(words) < 3:
            continue
        total += 1
        key = " ".join(words)
        if key in seen:
            repeats += 1
        seen.add(key)
    return repeats / total if total else 0.0


def _checked_part(text: str, max_chars: int) -> str:
    """Return the prefix of ``text`` that is scored, cut at a space if one is near."""
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", max_chars - 200, max_chars)
    return text[: cut if cut > 0 else max_chars]


def _without_chat_speak_spelling(
    matches: Sequence[GrammarMatch], findings: Sequence[StyleFinding]
) -> list[GrammarMatch]:
    """Drop spelling matches on chat-speak, which the style finding already reports."""
    spans = {
        (finding.offset, finding.length)
        for finding in findings
        if finding.rule == CHAT_SPEAK
    }
    return [
        match
        for match in matches
        if not (match.category == "spelling" and (match.offset, match.length) in spans)
    ]


def _flags(
    text: str,
    language: str,
    metrics: Mapping[str, Any],
    min_words: int,
    rules: WritingRules,
) -> list[str]:
    words = int(metrics["words"])
    flags = []
    if words == 0:
        flags.append("empty")
    elif words < rules.min_evidence_words:
        flags.append("too_short")
    if words < min_words:
        flags.append("below_min_words")
    if len(text) > rules.max_chars:
        flags.append("truncated")
    if _repeated_sentence_share(text[: rules.max_chars]) >= REPETITIVE_SHARE:
        flags.append("repetitive")
    # The weights, word-length range and CEFR bounds were fitted on English.
    if language.strip().replace("_", "-").split("-")[0].lower() != "en":
        flags.append("uncalibrated_language")
    if is_incoherent(metrics, rules):
        flags.append("incoherent")
    return flags


def is_incoherent(metrics: Mapping[str, Any], rules: WritingRules) -> bool:
    """Return whether ``measure_writing`` output shows text mostly not in English.

    Texts shorter than ``rules.min_evidence_words`` are never incoherent, because
    one unknown word in a short reply would weigh too much.
    """
    return int(metrics["words"]) >= rules.min_evidence_words and (
        metrics["unknown_word_share"] > MAX_UNKNOWN_WORD_SHARE
        or metrics["real_word_share"] < MIN_REAL_WORD_SHARE
    )


def _review_reasons(
    metrics: Mapping[str, Any], flags: Sequence[str]
) -> list[dict[str, str]]:
    """Explain the flags that withhold the score, for the reviewing recruiter."""
    if "incoherent" not in flags:
        return []
    return [
        {
            "code": "incoherent",
            "message": f"{metrics['unknown_word_share']:.0%} of the words are not in "
            f"the English dictionary, and {metrics['real_word_share']:.0%} of the "
            "text is known words, so the text may be gibberish or another "
            "language. Read it before trusting the score.",
        }
    ]
