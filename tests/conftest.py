"""Fixtures shared by every test."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = Path(__file__).resolve().parent / "data"
SHARED_DATA = Path(os.environ.get("FRONTLINE_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def test_data() -> Path:
    """The folder of permissively licensed inputs copied into this repository."""
    return TEST_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real inputs kept beside the repository (non-commercial files too).

    Outside CI a clone without that folder skips these tests; in CI it is a failure.
    """
    if not SHARED_DATA.is_dir():
        message = (
            f"real input data not found at {SHARED_DATA}; "
            "set FRONTLINE_SHARED_DATA to its folder"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA
