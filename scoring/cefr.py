"""CEFR bands (A1 to C2) and their mapping from 0-100 scores."""

from collections.abc import Sequence

BANDS: tuple[str, ...] = ("A1", "A2", "B1", "B2", "C1", "C2")


def band_for_score(score: float, lower_bounds: Sequence[float]) -> str:
    """Map a 0-100 score to a CEFR band.

    ``lower_bounds`` holds the lowest score of A2, B1, B2, C1 and C2, in that
    order; anything below the first bound is A1.
    """
    if len(lower_bounds) != len(BANDS) - 1:
        raise ValueError(f"expected {len(BANDS) - 1} bounds, got {len(lower_bounds)}")
    if list(lower_bounds) != sorted(lower_bounds):
        raise ValueError(f"band bounds must increase: {list(lower_bounds)}")
    band = BANDS[0]
    for name, bound in zip(BANDS[1:], lower_bounds, strict=True):
        if score >= bound:
            band = name
    return band


def band_index(band: str) -> int:
    """Return the position of ``band`` in A1..C2, from 0 to 5."""
    try:
        return BANDS.index(band.upper())
    except ValueError:
        raise ValueError(
            f"unknown CEFR band {band!r}; expected one of {BANDS}"
        ) from None
