"""The troubleshooting simulation's score: steps, resolution, turns, etiquette.

The engine that plays the customer lives in ``assessments.scenario``; this
module scores a finished chat from plain values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

VERSION = "1.0"
WEIGHTS = {"steps": 0.35, "resolution": 0.30, "efficiency": 0.10, "etiquette": 0.25}


def score_simulation(
    *,
    steps: Mapping[str, str],
    steps_covered: Sequence[str],
    resolved: bool,
    agent_turns: int,
    ideal_turns: int,
    max_turns: int,
    etiquette: Mapping[str, Any],
) -> dict[str, Any]:
    """Combine the parts of a simulated chat into a 0-100 score.

    ``steps`` maps each diagnostic step to its label. Efficiency is 100 up to
    ``ideal_turns`` agent messages and falls linearly to 0 at ``max_turns``.
    ``etiquette`` is the result of ``scoring.etiquette.score_chat`` over the
    whole transcript, with the server's times, so it includes response times.
    """
    covered = [name for name in steps if name in set(steps_covered)]
    if agent_turns <= ideal_turns:
        efficiency = 100.0
    else:
        efficiency = 100.0 * max(
            0.0, 1 - (agent_turns - ideal_turns) / (max_turns - ideal_turns)
        )
    subscores = {
        "steps": round(100.0 * len(covered) / len(steps), 1) if steps else 100.0,
        "resolution": 100.0 if resolved else 0.0,
        "efficiency": round(efficiency, 1),
        "etiquette": float(etiquette["score"]),
    }
    score = sum(WEIGHTS[name] * value for name, value in subscores.items())
    return {
        "score": round(score, 1),
        "subscores": subscores,
        "steps": [
            {"name": name, "label": label, "covered": name in covered}
            for name, label in steps.items()
        ],
        "resolved": resolved,
        "agent_turns": agent_turns,
        "ideal_turns": ideal_turns,
    }
