"""The typing test: plausibility checks and speed over the server's clock."""

from __future__ import annotations

import random

import pytest

from scoring.typing import TypingRejected, assess_typing, check_typing

PASSAGE = "Thanks for waiting. Your parcel left our warehouse this morning."


def human_intervals(count: int, seed: int = 3) -> list[float]:
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    return [rng.uniform(90, 260) for _ in range(count)]


def check(typed: str = PASSAGE, **overrides: object) -> None:
    settings: dict = {
        "keystrokes": len(typed),
        "pastes": 0,
        "server_seconds": 20.0,
        "client_seconds": 18.0,
    }
    settings.update(overrides)
    intervals = settings.pop("intervals", human_intervals(len(typed) - 1))
    check_typing(typed, intervals, **settings)


def rejection(**overrides: object) -> str:
    with pytest.raises(TypingRejected) as caught:
        check(**overrides)
    return caught.value.code


def test_human_typing_passes() -> None:
    check()


def test_paste_is_rejected() -> None:
    assert rejection(pastes=1) == "pasted"


def test_text_without_keystrokes_is_rejected() -> None:
    assert rejection(keystrokes=5, intervals=[]) == "no_keystrokes"


def test_impossible_speed_is_rejected() -> None:
    # 65 characters in 0.5 s on the server's clock is 1,560 words per minute.
    assert rejection(server_seconds=0.5, client_seconds=0.4) == "too_fast"


def test_tiny_key_gaps_are_rejected() -> None:
    assert rejection(intervals=[10.0] * 30 + [500.0] * 5) == "too_fast"


def test_machine_regular_keys_are_rejected() -> None:
    assert rejection(intervals=[120.0] * 64) == "too_regular"


def test_client_time_beyond_server_time_is_rejected() -> None:
    assert rejection(client_seconds=30.0) == "clock"


def test_speed_uses_server_time() -> None:
    # The page may claim a shorter time; only the server's 60 s counts.
    result = assess_typing(PASSAGE, PASSAGE, server_seconds=60.0, keystrokes=65)
    assert result["gross_wpm"] == pytest.approx(len(PASSAGE) / 5, abs=0.1)
    assert result["accuracy"] == 1.0
    assert result["net_wpm"] == result["gross_wpm"]


def test_errors_lower_accuracy_and_net_speed() -> None:
    typed = PASSAGE.replace("warehouse", "warehuose").replace("morning", "mornign")
    result = assess_typing(PASSAGE, typed, server_seconds=20.0, keystrokes=len(typed))
    assert 0.9 < result["accuracy"] < 1.0
    assert result["net_wpm"] < result["gross_wpm"]
    assert result["subscores"]["accuracy"] < 100


def test_score_rises_with_speed() -> None:
    slow = assess_typing(PASSAGE, PASSAGE, server_seconds=60.0, keystrokes=65)
    fast = assess_typing(PASSAGE, PASSAGE, server_seconds=10.0, keystrokes=65)
    assert slow["score"] < fast["score"]
    assert fast["subscores"]["speed"] == 100.0
