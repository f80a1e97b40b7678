"""The ``frontline rank`` command: an opening's ranking as CSV or JSON."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from app import MAX_DATABASE_INT, db
from recruit.api import application_json
from recruit.exports import ranking_csv_rows
from recruit.models import Opening
from recruit.ranking import RankingFilter, ordered_query, with_page_rows


@click.command("rank")
@with_appcontext
@click.argument("opening_id", type=int)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=MAX_DATABASE_INT),
    default=None,
    help="Print the top N only.",
)
def rank_command(opening_id: int, output_format: str, limit: int | None) -> None:
    """Print the ranking of OPENING_ID: composite, then language, then earliest."""
    in_range = abs(opening_id) <= MAX_DATABASE_INT
    opening = db.session.get(Opening, opening_id) if in_range else None
    if opening is None:
        click.echo(f"error: opening {opening_id} not found", err=True)
        sys.exit(2)
    if output_format == "csv":
        for line in ranking_csv_rows(
            opening.id, RankingFilter(), limit=limit, bom=False
        ):
            sys.stdout.write(line)
        return
    stages = [stage for stage in opening.stages if stage.enabled]
    query = with_page_rows(ordered_query(opening.id, RankingFilter()))
    if limit is not None:
        query = query.limit(limit)
    items = [
        application_json(application, stages, rank)
        for rank, application in enumerate(db.session.scalars(query).unique(), 1)
    ]
    click.echo(json.dumps({"opening_id": opening.id, "items": items}, indent=2))
