"""Registration of the ranking, decision, analytics and integration parts."""

from __future__ import annotations

from flask import Flask


def register_ranking(app: Flask) -> None:
    """Attach the blueprints and commands of ranking and decisions to ``app``."""
    from app import csrf
    from recruit import (
        analytics_views,
        api,
        decision_views,
        demographics,
        integrations,
        invitations,
        ranking_views,
    )
    from recruit.ranking_cli import rank_command

    for blueprint in (
        ranking_views.bp,
        decision_views.bp,
        analytics_views.bp,
        integrations.bp,
        invitations.bp,
        demographics.bp,
        api.bp,
    ):
        app.register_blueprint(blueprint)
    # Token-authenticated and read-only: no cookie, so no cross-site forgery.
    csrf.exempt(api.bp)
    app.cli.add_command(rank_command)
