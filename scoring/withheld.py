"""Withheld scores: a computed score that no stage counts until a person reviews it.

A scorer withholds its score when its own evidence shows that the number cannot
be trusted, such as speech that was mostly not transcribed or questionnaire
answers that contradict themselves. The result then has no ``score`` and no
``cefr``, ``needs_review`` is true, and ``withheld`` keeps the computed score,
band and reason codes for the recruiter, who accepts that score or enters
another (``recruit.decisions.review_withheld_score``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def withhold(result: dict[str, Any], codes: Sequence[str]) -> dict[str, Any]:
    """Move ``score`` and ``cefr`` of a scorer's result into ``withheld``.

    ``codes`` name the checks that failed. Returns the changed ``result``.
    """
    result["withheld"] = {
        "score": result.get("score"),
        "cefr": result.get("cefr"),
        "reasons": list(codes),
    }
    result["score"] = None
    if "cefr" in result:
        result["cefr"] = None
    result["needs_review"] = True
    return result


def band_for_scorer(scorer: str, score: float) -> str | None:
    """Return the CEFR band that ``scorer`` gives ``score``; None if it gives none."""
    from scoring.cefr import band_for_score

    if scorer == "speaking":
        from scoring.speech import default_rules

        return band_for_score(score, default_rules().cefr_lower_bounds)
    if scorer == "writing":
        from scoring.writing import load_writing_rules

        return band_for_score(score, load_writing_rules().cefr_lower_bounds)
    return None
