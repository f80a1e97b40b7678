"""The ``frontline rank`` command."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from flask import Flask

from recruit.models import StageKind
from tests.recruit.ranking_factories import opening_with_weights, scored_application
from tests.test_cli import assert_clean_error, frontline

L = StageKind.LANGUAGE


def test_rank_csv_json_and_limit(app: Flask) -> None:
    with app.app_context():
        opening = opening_with_weights()
        scored_application(opening, "low@example.com", {L: 55}, name="Low")
        scored_application(opening, "top@example.com", {L: 95}, name="=Top")
        scored_application(opening, "mid@example.com", {L: 75}, name="Mid")
        opening_id = opening.id
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rank", str(opening_id)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [row["name"] for row in rows] == ["'=Top", "Mid", "Low"]
    assert rows[0]["rank"] == "1"
    limited = runner.invoke(
        args=["rank", str(opening_id), "--format", "json", "--limit", "2"]
    )
    assert limited.exit_code == 0, limited.output
    items = json.loads(limited.output)["items"]
    assert [item["candidate"]["email"] for item in items] == [
        "top@example.com",
        "mid@example.com",
    ]
    assert items[0]["composite_score"] == 95.0


def test_rank_unknown_opening(tmp_path: Path) -> None:
    result = frontline(tmp_path, "rank", "4242")
    assert_clean_error(result, "opening 4242 not found")
