"""Decode uploaded audio to 16 kHz mono float32 and measure its signal level.

PyAV (FFmpeg) reads every container and codec that browsers and phones record:
WebM or Ogg with Opus, MP4/M4A with AAC, MP3, WAV, FLAC. FFmpeg identifies the
format from the file's content, so a wrong file extension does not matter.
Decoding streams packet by packet and stops as soon as the audio passes the
caller's maximum duration, so an hour-long upload never sits in memory whole.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from scoring.errors import AudioDecodeError, AudioMissingError, AudioTooLongError

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
"""Sample rate in Hz of decoded audio, the rate Whisper models expect."""

CLIP_LEVEL = 0.99
"""Absolute sample value, relative to full scale, at or above which a sample
counts as clipped. Lossy codecs smear a clipped plateau, so exact full scale
would miss most clipped samples of an MP3, AAC or Opus recording."""

FRAME_S = 0.02
"""Length in seconds of the frames whose RMS levels give the speech level."""

SPEECH_LEVEL_PERCENTILE = 95.0
"""Percentile of the frame levels reported as the speech level. A high
percentile follows the loud, voiced parts and ignores the pauses between them."""

SILENCE_DBFS = -120.0
"""Level reported for digital silence, where the logarithm is undefined."""

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AudioProbe:
    """Container facts read from a file's header without decoding it.

    ``duration_s`` is None when the header states no duration, as in WebM files
    that a browser's MediaRecorder streams.
    """

    source_format: str
    source_codec: str
    source_sample_rate: int
    source_channels: int
    duration_s: float | None


@dataclass(frozen=True)
class DecodedAudio:
    """Audio decoded to mono float32 at SAMPLE_RATE, with facts about the source.

    ``peak`` and ``clipped_share`` are measured on every channel of the source
    at its own sample rate, before the mix-down and resampling that would
    smooth clipped plateaus.
    """

    samples: Samples
    source_format: str
    source_codec: str
    source_sample_rate: int
    source_channels: int
    peak: float
    clipped_share: float
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        """Duration of the decoded audio in seconds."""
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class SignalStats:
    """Signal measurements for the quality gate. Levels are in dBFS.

    0 dBFS is the RMS of a full-scale square wave, so a full-scale sine
    measures -3 dBFS.
    """

    duration_s: float
    rms_dbfs: float
    speech_level_dbfs: float
    peak_dbfs: float
    clipped_share: float

    def as_dict(self) -> dict[str, float]:
        """Return the measurements rounded for a JSON report."""
        return {
            "duration_s": round(self.duration_s, 3),
            "rms_dbfs": round(self.rms_dbfs, 1),
            "speech_level_dbfs": round(self.speech_level_dbfs, 1),
            "peak_dbfs": round(self.peak_dbfs, 1),
            "clipped_share": round(self.clipped_share, 5),
        }


def probe_audio(path: str | Path) -> AudioProbe:
    """Read the format, codec, sample rate, channels and stated duration of ``path``.

    Raises the same errors as decode_audio for a missing, empty or unreadable
    file. A file that probes well may still fail to decode.
    """
    path = Path(path)
    with _open_container(path) as container:
        stream = _audio_stream(container, path.name)
        return AudioProbe(
            source_format=container.format.name,
            source_codec=stream.codec_context.name,
            source_sample_rate=stream.rate,
            source_channels=stream.channels,
            duration_s=_stated_duration(container),
        )


def decode_audio(
    path: str | Path, *, max_duration_s: float | None = None
) -> DecodedAudio:
    """Decode the first audio stream of ``path`` to mono float32 at 16 kHz.

    Raises AudioMissingError if the file does not exist, is empty or contains
    no audio samples, AudioDecodeError if FFmpeg cannot read it, and
    AudioTooLongError if it is longer than ``max_duration_s`` seconds. The
    length check uses the container's stated duration first and the count of
    decoded samples otherwise, so decoding stops just past the limit.
    """
    path = Path(path)
    with _open_container(path) as container:
        return _decode_container(container, path.name, max_duration_s)


def measure_signal(audio: DecodedAudio) -> SignalStats:
    """Measure RMS level, speech level, peak and clipping of decoded audio."""
    samples = audio.samples.astype(np.float64)
    frame_length = max(1, int(FRAME_S * audio.sample_rate))
    frame_count = len(samples) // frame_length
    if frame_count:
        frames = samples[: frame_count * frame_length].reshape(frame_count, -1)
        frame_levels = _dbfs(np.sqrt(np.mean(frames**2, axis=1)))
        speech_level = float(np.percentile(frame_levels, SPEECH_LEVEL_PERCENTILE))
    else:
        speech_level = SILENCE_DBFS
    rms = float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0
    return SignalStats(
        duration_s=audio.duration_s,
        rms_dbfs=float(_dbfs(np.array(rms))),
        speech_level_dbfs=speech_level,
        peak_dbfs=float(_dbfs(np.array(audio.peak))),
        clipped_share=audio.clipped_share,
    )


def _dbfs(amplitude: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    floor = 10 ** (SILENCE_DBFS / 20)
    return 20 * np.log10(np.maximum(amplitude, floor))


@contextmanager
def _open_container(path: Path) -> Iterator[av.container.InputContainer]:
    """Open ``path`` with FFmpeg and turn FFmpeg's errors into AudioErrors."""
    _check_file(path)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            yield container
    except av.error.PermissionError:
        raise  # a server fault, not a fault of the upload
    except av.error.FileNotFoundError:
        raise AudioMissingError(f"audio file not found: {path.name}") from None
    except av.error.FFmpegError as exc:
        reason = exc.strerror or type(exc).__name__
        raise AudioDecodeError(
            f"cannot decode {path.name}: not a readable audio file ({reason})"
        ) from exc


def _audio_stream(container: av.container.InputContainer, name: str) -> av.AudioStream:
    if not container.streams.audio:
        raise AudioDecodeError(f"cannot decode {name}: it contains no audio stream")
    return container.streams.audio[0]


def _stated_duration(container: av.container.InputContainer) -> float | None:
    if not container.duration or container.duration < 0:
        return None
    return container.duration / av.time_base


def _check_file(path: Path) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise AudioMissingError(f"audio file not found: {path.name}") from None
    if not path.is_file():
        raise AudioMissingError(f"audio path is not a regular file: {path.name}")
    if size == 0:
        raise AudioMissingError(f"audio file is empty (0 bytes): {path.name}")


def _decode_container(
    container: av.container.InputContainer, name: str, max_duration_s: float | None
) -> DecodedAudio:
    stream = _audio_stream(container, name)
    stated_s = _stated_duration(container)
    # NOTE: for an MP3 without a Xing/Info header FFmpeg estimates the stated
    # duration from the bit rate, so such a file close to the limit may be
    # rejected on the estimate.
    if (
        max_duration_s is not None
        and stated_s is not None
        and stated_s > max_duration_s
    ):
        raise AudioTooLongError(
            f"{name} is {stated_s:.1f} s long; the maximum is {max_duration_s:g} s"
        )

    decoder = _StreamDecoder()
    bad_packets = 0
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            bad_packets += 1  # a damaged packet; the codec resyncs on the next one
            continue
        for frame in frames:
            decoder.add(frame)
        if max_duration_s is not None and decoder.source_seconds > max_duration_s:
            raise AudioTooLongError(
                f"{name} is longer than the maximum of {max_duration_s:g} s "
                f"(decoding stopped at {decoder.source_seconds:.1f} s)"
            )
    if bad_packets:
        logger.warning("skipped %d undecodable packets in %s", bad_packets, name)
    if decoder.source_samples == 0:
        if bad_packets:
            raise AudioDecodeError(
                f"cannot decode {name}: none of its {bad_packets} audio packets "
                "could be decoded"
            )
        raise AudioMissingError(f"{name} contains no audio samples")
    return decoder.result(
        source_format=container.format.name,
        source_codec=stream.codec_context.name,
    )


class _StreamDecoder:
    """Accumulator that mixes decoded frames down to mono and resamples them.

    Mixing down in NumPy, as the mean of the channels, works for any channel
    count. FFmpeg's resampler rejects layouts it cannot name, such as nine
    unlabelled channels.
    """

    def __init__(self) -> None:
        self.chunks: list[Samples] = []
        self.source_samples = 0
        self.source_seconds = 0.0
        self.source_rate = 0
        self.source_channels = 0
        self.peak = 0.0
        self.clipped = 0
        self.values = 0
        self._resampler: av.AudioResampler | None = None
        self._resampler_rate = 0

    def add(self, frame: av.AudioFrame) -> None:
        rate = frame.sample_rate
        if rate <= 0:
            raise AudioDecodeError(f"invalid sample rate {rate} Hz in the audio stream")
        channels = _frame_channels(frame)
        magnitude = np.abs(channels)
        if magnitude.size:
            self.peak = max(self.peak, float(magnitude.max()))
        self.clipped += int(np.count_nonzero(magnitude >= CLIP_LEVEL))
        self.values += magnitude.size
        self.source_samples += channels.shape[1]
        self.source_seconds += channels.shape[1] / rate
        self.source_rate = rate
        self.source_channels = channels.shape[0]
        mono = channels.mean(axis=0, dtype=np.float32)
        self.chunks.extend(self._resample(mono, rate))

    def result(self, source_format: str, source_codec: str) -> DecodedAudio:
        if self._resampler is not None:
            self.chunks.extend(
                _frame_samples(f) for f in self._resampler.resample(None)
            )
        samples = (
            np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)
        )
        return DecodedAudio(
            samples=samples,
            source_format=source_format,
            source_codec=source_codec,
            source_sample_rate=self.source_rate,
            source_channels=self.source_channels,
            peak=self.peak,
            clipped_share=self.clipped / self.values if self.values else 0.0,
        )

    def _resample(self, mono: Samples, rate: int) -> list[Samples]:
        if rate == SAMPLE_RATE and self._resampler is None:
            return [mono]
        flushed: list[Samples] = []
        if self._resampler is None or rate != self._resampler_rate:
            # A chained Ogg file or a broken stream can change rate midway.
            if self._resampler is not None:
                flushed = [_frame_samples(f) for f in self._resampler.resample(None)]
            self._resampler = av.AudioResampler(
                format="flt", layout="mono", rate=SAMPLE_RATE
            )
            self._resampler_rate = rate
        frame = av.AudioFrame.from_ndarray(
            mono[np.newaxis, :], format="flt", layout="mono"
        )
        frame.sample_rate = rate
        return flushed + [_frame_samples(f) for f in self._resampler.resample(frame)]


def _frame_channels(frame: av.AudioFrame) -> npt.NDArray[np.float32]:
    """Return the frame's samples as float32, one row per channel, full scale 1.0."""
    array = frame.to_ndarray()
    channel_count = frame.layout.nb_channels
    if not frame.format.is_planar:
        array = array.reshape(-1, channel_count).T
    if array.dtype.kind == "f":
        return array.astype(np.float32, copy=False)
    bits = array.dtype.itemsize * 8
    scaled: Samples
    if array.dtype.kind == "u":  # unsigned PCM is centred on half the range
        offset = 2 ** (bits - 1)
        scaled = ((array.astype(np.float64) - offset) / offset).astype(np.float32)
    else:
        scaled = (array.astype(np.float64) / 2 ** (bits - 1)).astype(np.float32)
    return scaled


def _frame_samples(frame: av.AudioFrame) -> Samples:
    return np.asarray(frame.to_ndarray()[0], dtype=np.float32)
