"""Every hostile test also checks the logs: no request ended in a 500 and no
scoring task failed on an exception that the product did not expect."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# Messages that app.py and assessments/tasks.py log for unexpected exceptions.
UNEXPECTED = ("unhandled error on ", "failed unexpectedly")


@pytest.fixture(autouse=True)
def no_unexpected_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield
    unexpected = [
        record.getMessage()
        for record in caplog.records
        if any(fragment in record.getMessage() for fragment in UNEXPECTED)
    ]
    assert unexpected == []
