"""Speaking assessment: transcribe an answer, measure fluency and score it 0-100.

``assess_speaking`` decodes and transcribes a recording. ``score_speaking`` is
the pure part, which turns timed words and signal statistics into metrics, a
quality gate, subscores, a score and a CEFR band, using the thresholds and
weights in ``scoring/rules/speaking.toml``.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from scoring.audio import SignalStats, decode_audio, measure_signal
from scoring.cefr import band_for_score
from scoring.text_normalize import word_errors
from scoring.withheld import withhold

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

logger = logging.getLogger(__name__)

SCORER = "speaking"
CODE_VERSION = "1.2"
RULES_PATH = Path(__file__).parent / "rules" / "speaking.toml"
WORD_MARGIN_S = 0.3
"""Seconds around each word within which VAD speech counts as transcribed."""
METRICS = frozenset(
    """
    word_count filler_count repetition_count speaking_time_s leading_silence_s
    pause_count long_pause_count pause_time_s pause_share
    mean_pause_s words_per_minute articulation_rate_wpm pauses_per_minute
    long_pauses_per_minute fillers_per_minute mean_word_probability
    low_confidence_share untranscribed_speech_s untranscribed_share vad_speech_s
    unknown_word_share read_aloud_accuracy read_aloud_wer
    task_length_share duration_s rms_dbfs speech_level_dbfs peak_dbfs clipped_share
    """.split()  # noqa: SIM905 - reads better than one quoted name per line
)
"""Names of the metrics that rules components may score."""
REQUIRED_KEYS = {
    "pauses": {
        "min_pause_s",
        "long_pause_s",
        "vad_min_silence_ms",
        "vad_speech_pad_ms",
    },
    "quality": {
        "min_words",
        "min_speech_s",
        "min_speech_level_dbfs",
        "max_clipped_share",
        "low_confidence_probability",
        "max_low_confidence_share",
        "max_untranscribed_s",
        "max_untranscribed_share",
        "min_mean_word_probability",
        "max_unknown_word_share",
    },
    "task": {"read_aloud_gate", "off_prompt_accuracy", "short_of_task_share"},
}
# Review reasons that show the transcript cannot carry a score, so the score
# and band are withheld until a recruiter reviews the answer.
WITHHOLDING_CODES = frozenset(
    {"mostly_untranscribed", "unreliable_transcript", "likely_not_english"}
)


class TimedWord(Protocol):
    """A transcribed word with its times in seconds and Whisper's probability."""

    @property
    def word(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def probability(self) -> float: ...


@dataclass(frozen=True)
class Component:
    """One metric's contribution to a subscore: its weight and 0-100 scale."""

    weight: float
    xs: tuple[float, ...]
    ys: tuple[float, ...]

    def score(self, value: float) -> float:
        return float(np.interp(value, self.xs, self.ys))


@dataclass(frozen=True)
class SpeakingRules:
    """The parsed contents of a speaking rules file."""

    version: int
    pauses: Mapping[str, float]
    fillers: frozenset[str]
    quality: Mapping[str, float]
    task: Mapping[str, float]
    subscores: Mapping[str, Mapping[str, Component]]
    weights: Mapping[str, float]
    cefr_lower_bounds: tuple[float, ...]


def load_rules(path: str | Path = RULES_PATH) -> SpeakingRules:
    """Read and check a speaking rules file. Raises ValueError naming the bad entry."""
    with Path(path).open("rb") as file:
        data = tomllib.load(file)
    try:
        subscores = {
            name: {
                metric: _component(f"{name}.{metric}", spec)
                for metric, spec in table["components"].items()
            }
            for name, table in data["subscores"].items()
        }
        rules = SpeakingRules(
            version=int(data["version"]),
            pauses={k: float(v) for k, v in data["pauses"].items()},
            fillers=frozenset(data["fillers"]["words"]),
            quality={k: float(v) for k, v in data["quality"].items()},
            task={k: float(v) for k, v in data["task"].items()},
            subscores=subscores,
            weights={k: float(v) for k, v in data["score"]["weights"].items()},
            cefr_lower_bounds=tuple(data["score"]["cefr_lower_bounds"]),
        )
    except KeyError as exc:
        raise ValueError(f"speaking rules {path}: missing entry {exc}") from None
    unknown = set(rules.weights) - set(rules.subscores)
    if unknown:
        raise ValueError(
            f"speaking rules {path}: weights for unknown subscores {unknown}"
        )
    unknown = {m for parts in subscores.values() for m in parts} - METRICS
    if unknown:
        raise ValueError(
            f"speaking rules {path}: components for unknown metrics {unknown}"
        )
    for table, keys in REQUIRED_KEYS.items():
        missing = keys - set(getattr(rules, table))
        if missing:
            raise ValueError(
                f"speaking rules {path}: [{table}] lacks {sorted(missing)}"
            )
    band_for_score(0.0, rules.cefr_lower_bounds)  # raises ValueError if malformed
    return rules


def _component(name: str, spec: Mapping[str, Any]) -> Component:
    points = spec["points"]
    xs = tuple(float(x) for x, _ in points)
    if len(xs) < 2 or any(b <= a for a, b in pairwise(xs)):
        raise ValueError(f"component {name}: points must be 2+ and sorted by value")
    return Component(float(spec["weight"]), xs, tuple(float(y) for _, y in points))


@cache
def default_rules() -> SpeakingRules:
    """Return the rules in scoring/rules/speaking.toml, read once per process."""
    return load_rules()


def assess_speaking(
    path: str | Path,
    *,
    prompt_text: str | None = None,
    model: WhisperModel | None = None,
    max_duration_s: float = 300.0,
    min_answer_s: float | None = None,
    rules: SpeakingRules | None = None,
) -> dict[str, Any]:
    """Transcribe and score one spoken answer (English).

    ``prompt_text`` is the passage of a read-aloud task and None for an open
    answer. ``min_answer_s`` is the speaking time the task asks for at least.
    ``model`` defaults to the process's cached bundled model. Raises
    AudioMissingError, AudioDecodeError or AudioTooLongError for unusable
    audio, and ValueError for a prompt without words. Silence and noise are not
    errors, and give ``no_speech: true``.
    """
    from scoring.adapters import whisper  # loads faster-whisper only when needed

    rules = rules or default_rules()
    audio = decode_audio(path, max_duration_s=max_duration_s)
    transcription = whisper.transcribe(model or whisper.get_model(), audio.samples)
    regions = whisper.detect_speech(
        audio.samples,
        min_silence_ms=int(rules.pauses["vad_min_silence_ms"]),
        speech_pad_ms=int(rules.pauses["vad_speech_pad_ms"]),
    )
    result = score_speaking(
        transcription.words,
        measure_signal(audio),
        transcript=transcription.text,
        prompt_text=prompt_text,
        speech_regions=regions,
        min_answer_s=min_answer_s,
        unknown_words=count_unknown_words(transcription.text, rules.fillers),
        rules=rules,
    )
    result["metrics"]["mean_segment_avg_logprob"] = _round(
        transcription.mean_avg_logprob, 3
    )
    result["metrics"]["dropped_segments"] = transcription.dropped_segments
    return result


def score_speaking(
    words: Sequence[TimedWord],
    signal: SignalStats,
    *,
    transcript: str | None = None,
    prompt_text: str | None = None,
    speech_regions: Sequence[tuple[float, float]] | None = None,
    min_answer_s: float | None = None,
    unknown_words: int | None = None,
    rules: SpeakingRules | None = None,
) -> dict[str, Any]:
    """Score a transcribed answer from its timed words and signal statistics.

    ``speech_regions`` are VAD speech times in seconds. When given, they add
    the silences inside word spans to the pauses, because Whisper's word times
    often stretch across pauses. They also trim the speaking time and measure
    speech that got no transcript.

    Two task checks scale the weighted score down. A read-aloud score is
    multiplied by ``1 - gate + gate * accuracy``, so reading something other
    than the prompt cannot pass on fluency alone. An answer shorter than
    ``min_answer_s`` is multiplied by its share of that time.

    ``unknown_words`` is the number of transcript words that an English
    spelling dictionary lacks (``count_unknown_words``). When a review reason
    in WITHHOLDING_CODES fires, ``score`` and ``cefr`` are null and
    ``withheld`` holds them (``scoring.withheld``).
    """
    rules = rules or default_rules()
    if transcript is None:
        transcript = " ".join(w.word for w in words)
    metrics, pauses = measure_speech(words, speech_regions, rules)
    metrics.update(signal.as_dict())
    metrics["unknown_word_share"] = (
        round(unknown_words / metrics["word_count"], 4)
        if unknown_words is not None and metrics["word_count"]
        else None
    )
    reading = None
    metrics["read_aloud_accuracy"] = metrics["read_aloud_wer"] = None
    if prompt_text is not None:
        reading = word_errors(prompt_text, transcript, drop=rules.fillers)
        metrics["read_aloud_accuracy"] = round(max(0.0, min(1.0, 1.0 - reading.wer)), 4)
        metrics["read_aloud_wer"] = round(reading.wer, 4)
    metrics["task_length_share"] = (
        round(min(1.0, metrics["speaking_time_s"] / min_answer_s), 4)
        if min_answer_s
        else None
    )
    no_speech = not words
    subscores = {
        name: None if no_speech else _subscore(parts, metrics)
        for name, parts in rules.subscores.items()
    }
    score = None if no_speech else _weighted_mean(subscores, rules.weights)
    if score is not None:
        score = _apply_task_checks(score, metrics, rules)
    cefr = None if score is None else band_for_score(score, rules.cefr_lower_bounds)
    reasons = review_reasons(metrics, signal, no_speech, rules)
    reasons += task_reasons(metrics, no_speech, min_answer_s, rules)
    result = {
        "transcript": transcript.strip(),
        "duration_s": round(signal.duration_s, 3),
        "words": [
            {
                "word": w.word,
                "start": round(w.start, 3),
                "end": round(w.end, 3),
                "probability": round(w.probability, 4),
            }
            for w in words
        ],
        "pauses": [{"start": round(s, 3), "end": round(e, 3)} for s, e in pauses],
        "words_per_minute": metrics["words_per_minute"],
        "pause_count": metrics["pause_count"],
        "pause_share": metrics["pause_share"],
        "filler_count": metrics["filler_count"],
        "mean_word_probability": metrics["mean_word_probability"],
        "read_aloud_accuracy": metrics["read_aloud_accuracy"],
        "read_aloud_errors": reading.edits if reading else None,
        "no_speech": no_speech,
        "needs_review": bool(reasons),
        "review_reasons": reasons,
        "score": score,
        "cefr": cefr,
        "subscores": subscores,
        "metrics": metrics,
        "scorer": SCORER,
        "version": f"{CODE_VERSION}+r{rules.version}",
    }
    withholding = [r["code"] for r in reasons if r["code"] in WITHHOLDING_CODES]
    if withholding and score is not None:
        withhold(result, withholding)
    return result


def measure_speech(
    words: Sequence[TimedWord],
    speech_regions: Sequence[tuple[float, float]] | None,
    rules: SpeakingRules,
) -> tuple[dict[str, Any], list[tuple[float, float]]]:
    """Compute rate, pause, filler and confidence metrics, and list the pauses.

    The speaking time runs from the first to the last word, clipped to the VAD
    speech regions when they are given, so silence before and after the answer
    does not count.
    """
    plain = [_plain(w.word) for w in words]
    content = [p for p in plain if p not in rules.fillers]
    filler_count = len(plain) - len(content)
    start, end = _speaking_span(words, speech_regions)
    pauses = find_pauses(words, speech_regions, rules.pauses["min_pause_s"], start, end)
    speaking_s = end - start
    pause_s = sum(e - s for s, e in pauses)
    long_count = sum(1 for s, e in pauses if e - s >= rules.pauses["long_pause_s"])
    minutes = speaking_s / 60
    probabilities = [w.probability for w in words]
    low = rules.quality["low_confidence_probability"]

    def per_minute(count: int) -> float | None:
        return round(count / minutes, 2) if minutes > 0 else None

    metrics: dict[str, Any] = {
        "word_count": len(content),
        "filler_count": filler_count,
        "repetition_count": sum(1 for a, b in pairwise(content) if a == b),
        "speaking_time_s": round(speaking_s, 3),
        "leading_silence_s": round(start, 3) if words else None,
        "pause_count": len(pauses),
        "long_pause_count": long_count,
        "pause_time_s": round(pause_s, 3),
        "pause_share": round(pause_s / speaking_s, 4) if speaking_s > 0 else None,
        "mean_pause_s": round(pause_s / len(pauses), 3) if pauses else None,
        "words_per_minute": per_minute(len(content)),
        "articulation_rate_wpm": (
            round(len(content) / ((speaking_s - pause_s) / 60), 2)
            if speaking_s - pause_s > 0
            else None
        ),
        "pauses_per_minute": per_minute(len(pauses)),
        "long_pauses_per_minute": per_minute(long_count),
        "fillers_per_minute": per_minute(filler_count),
        "mean_word_probability": (
            round(float(np.mean(probabilities)), 4) if probabilities else None
        ),
        "low_confidence_share": (
            round(sum(1 for p in probabilities if p < low) / len(probabilities), 4)
            if probabilities
            else None
        ),
        "untranscribed_speech_s": None,
        "untranscribed_share": None,
        "vad_speech_s": None,
    }
    if speech_regions is not None:
        voiced_s = sum(end - start for start, end in speech_regions)
        untranscribed_s = untranscribed_speech(words, speech_regions)
        metrics["vad_speech_s"] = round(voiced_s, 3)
        metrics["untranscribed_speech_s"] = round(untranscribed_s, 3)
        metrics["untranscribed_share"] = (
            round(untranscribed_s / voiced_s, 4) if voiced_s > 0 else None
        )
    return metrics, pauses


def count_unknown_words(transcript: str, fillers: frozenset[str]) -> int:
    """Count the transcript words, fillers aside, that Harper's dictionary flags.

    ``tiny.en`` cannot detect a language: it writes other languages as
    English-looking words and invented ones ("La pahol ita madam Anilu will" for
    a French sentence). Capitalised words inside a sentence count as names and
    are not flagged (``HarperChecker``). Harper flags fillers such as "erm" and
    "umm", which ``fillers`` lists.
    """
    from scoring.grammar import get_checker  # loads Harper only when needed

    unknown = [
        transcript[match.offset : match.offset + match.length]
        for match in get_checker("harper").check(transcript, "en")
        if match.category == "spelling"
    ]
    return sum(1 for word in unknown if _plain(word) not in fillers)


def untranscribed_speech(
    words: Sequence[TimedWord], speech_regions: Sequence[tuple[float, float]]
) -> float:
    """Return the seconds of VAD speech that lie away from every transcribed word.

    Speech within WORD_MARGIN_S of a word counts as transcribed, to absorb the
    jitter of Whisper's word times. A large remainder means Whisper dropped
    part of the answer, for example speech in another language.
    """
    covered = [(w.start - WORD_MARGIN_S, w.end + WORD_MARGIN_S) for w in words]
    total = 0.0
    for start, end in speech_regions:
        overlaps = sorted(
            (max(a, start), min(b, end)) for a, b in covered if a < end and b > start
        )
        covered_s, reach = 0.0, start
        for a, b in overlaps:
            covered_s += max(0.0, b - max(a, reach))
            reach = max(reach, b)
        total += (end - start) - covered_s
    return max(0.0, total)  # float rounding can leave -0.0


def find_pauses(
    words: Sequence[TimedWord],
    speech_regions: Sequence[tuple[float, float]] | None,
    min_pause_s: float,
    start: float,
    end: float,
) -> list[tuple[float, float]]:
    """Return the silent stretches of at least ``min_pause_s`` between start and end.

    Silence is any time between two words, and any time outside the VAD speech
    regions. Overlapping or touching stretches merge into one pause.
    """
    gaps = [(a.end, b.start) for a, b in pairwise(words) if b.start > a.end]
    if speech_regions is not None:
        edges = [start, *(t for region in speech_regions for t in region), end]
        gaps += list(zip(edges[0::2], edges[1::2], strict=True))
    clipped = sorted((max(s, start), min(e, end)) for s, e in gaps)
    merged: list[tuple[float, float]] = []
    for s, e in clipped:
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return [(s, e) for s, e in merged if e - s >= min_pause_s - 1e-9]


def review_reasons(
    metrics: Mapping[str, Any],
    signal: SignalStats,
    no_speech: bool,
    rules: SpeakingRules,
) -> list[dict[str, str]]:
    """Run the quality gate and return a code and a message per failed check."""
    q = rules.quality
    reasons: list[dict[str, str]] = []

    def flag(code: str, message: str) -> None:
        reasons.append({"code": code, "message": message})

    untranscribed = metrics["untranscribed_speech_s"]
    untranscribed_share = metrics["untranscribed_share"]
    if untranscribed is not None and untranscribed > q["max_untranscribed_s"]:
        flag(
            "untranscribed_speech",
            f"{untranscribed:.1f} s of speech produced no transcript. The answer "
            "may be partly in another language or unclear, so listen to it.",
        )
        if untranscribed_share > q["max_untranscribed_share"]:
            flag(
                "mostly_untranscribed",
                f"{untranscribed_share:.0%} of the speech produced no transcript "
                f"(maximum {q['max_untranscribed_share']:.0%}), so the score "
                "rests on part of the answer only.",
            )
    if no_speech:
        flag(
            "no_speech",
            "No speech was transcribed. Listen to the recording and "
            "check that the candidate's microphone works.",
        )
    elif metrics["word_count"] < q["min_words"] or (
        metrics["speaking_time_s"] < q["min_speech_s"]
    ):
        flag(
            "too_short",
            f"The answer is too short to score reliably: "
            f"{metrics['word_count']} words in {metrics['speaking_time_s']:.1f} s "
            f"(minimum {q['min_words']:g} words and {q['min_speech_s']:g} s).",
        )
    if not no_speech:
        reasons.extend(_transcript_reasons(metrics, q))
    if (
        not no_speech
        and metrics["low_confidence_share"] > q["max_low_confidence_share"]
    ):
        flag(
            "low_confidence",
            f"{metrics['low_confidence_share']:.0%} of the words "
            "were recognised with low confidence, so the transcript may be wrong.",
        )
    if signal.speech_level_dbfs < q["min_speech_level_dbfs"]:
        flag(
            "too_quiet",
            f"The recording is very quiet: speech level "
            f"{signal.speech_level_dbfs:.0f} dBFS (minimum "
            f"{q['min_speech_level_dbfs']:g} dBFS).",
        )
    if signal.clipped_share > q["max_clipped_share"]:
        flag(
            "clipped",
            f"{signal.clipped_share:.1%} of the samples are clipped "
            f"(maximum {q['max_clipped_share']:.1%}), so the recording is distorted.",
        )
    return reasons


def _transcript_reasons(
    metrics: Mapping[str, Any], q: Mapping[str, float]
) -> list[dict[str, str]]:
    """Flag a transcript too uncertain, or too foreign, to carry a score."""
    reasons = []
    probability = metrics["mean_word_probability"]
    if probability < q["min_mean_word_probability"]:
        reasons.append(
            {
                "code": "unreliable_transcript",
                "message": f"The mean word probability is {probability:.2f} "
                f"(minimum {q['min_mean_word_probability']:g}), so the "
                "transcript is mostly guesswork.",
            }
        )
    unknown = metrics["unknown_word_share"]
    if unknown is not None and unknown > q["max_unknown_word_share"]:
        reasons.append(
            {
                "code": "likely_not_english",
                "message": f"{unknown:.0%} of the transcribed words are not "
                "English words, so the answer may be in another language.",
            }
        )
    return reasons


def _apply_task_checks(
    score: float, metrics: Mapping[str, Any], rules: SpeakingRules
) -> float:
    accuracy = metrics["read_aloud_accuracy"]
    if accuracy is not None:
        gate = rules.task["read_aloud_gate"]
        score *= 1 - gate + gate * accuracy
    share = metrics["task_length_share"]
    if share is not None:
        score *= share
    return round(score, 1)


def task_reasons(
    metrics: Mapping[str, Any],
    no_speech: bool,
    min_answer_s: float | None,
    rules: SpeakingRules,
) -> list[dict[str, str]]:
    """Flag an answer that reads another text or falls well short of the task."""
    reasons: list[dict[str, str]] = []
    if no_speech:
        return reasons
    accuracy = metrics["read_aloud_accuracy"]
    if accuracy is not None and accuracy < rules.task["off_prompt_accuracy"]:
        reasons.append(
            {
                "code": "off_prompt",
                "message": f"Only {accuracy:.0%} of the passage was read as written; "
                "the candidate may have read something else.",
            }
        )
    share = metrics["task_length_share"]
    if min_answer_s and share is not None and share < rules.task["short_of_task_share"]:
        reasons.append(
            {
                "code": "shorter_than_task",
                "message": f"The answer lasts {metrics['speaking_time_s']:.0f} s; "
                f"the task asks for at least {min_answer_s:.0f} s.",
            }
        )
    return reasons


def _speaking_span(
    words: Sequence[TimedWord], speech_regions: Sequence[tuple[float, float]] | None
) -> tuple[float, float]:
    if not words:
        return 0.0, 0.0
    start, end = words[0].start, words[-1].end
    if speech_regions:
        # Whisper often starts the first word early and ends the last one late.
        start = min(max(start, speech_regions[0][0]), end)
        end = max(min(end, speech_regions[-1][1]), start)
    return start, end


def _subscore(
    components: Mapping[str, Component], metrics: Mapping[str, Any]
) -> float | None:
    parts = [
        (component.weight, component.score(metrics[name]))
        for name, component in components.items()
        if metrics.get(name) is not None
    ]
    total = sum(weight for weight, _ in parts)
    if total <= 0:
        return None
    return round(sum(weight * value for weight, value in parts) / total, 1)


def _weighted_mean(
    values: Mapping[str, float | None], weights: Mapping[str, float]
) -> float | None:
    parts = [(weights.get(k, 0.0), v) for k, v in values.items() if v is not None]
    total = sum(weight for weight, _ in parts)
    if total <= 0:
        return None
    return round(sum(weight * value for weight, value in parts) / total, 1)


def _plain(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum() or ch == "'")


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
