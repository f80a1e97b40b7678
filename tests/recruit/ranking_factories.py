"""Builders of ranked applications: stage results stored directly, no assessments."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from app import db
from recruit.models import (
    Application,
    ApplicationLanguage,
    ApplicationStatus,
    Opening,
    Role,
    StageKind,
    StageResult,
    User,
)
from recruit.ranking import overrides_for, refresh_composite
from recruit.services import create_opening

BASE_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def opening_with_weights(
    title: str = "Chat agent", languages: list[str] | None = None
) -> Opening:
    """An opening with the default six stages and their default weights."""
    opening = create_opening(title, languages=languages or ["en"])
    db.session.commit()
    return opening


def candidate(email: str, name: str | None = None) -> User:
    user = User(email=email, name=name or email.split("@")[0], role=Role.CANDIDATE)
    user.set_password("correct horse battery")
    db.session.add(user)
    db.session.flush()
    return user


def scored_application(
    opening: Opening,
    email: str,
    scores: Mapping[StageKind, float | None],
    *,
    name: str | None = None,
    status: ApplicationStatus = ApplicationStatus.ACTIVE,
    applied_minutes: int = 0,
    stage: StageKind | None = None,
    languages: Mapping[str, tuple[float, str]] | None = None,
    user: User | None = None,
) -> Application:
    """An application with complete stage results and its composite computed.

    The application stands at ``stage``, by default at the furthest stage that
    ``scores`` names, because only reached stages count. ``languages`` maps a
    code to its tested (score, CEFR band); the language stage's score is then
    their mean, as the language stage computes it.
    """
    user = user or candidate(email, name)
    stages = {s.kind: s for s in opening.stages}
    furthest = max(
        [stages[StageKind.SCREENING], *(stages[kind] for kind in scores)],
        key=lambda s: s.position,
    )
    application = Application(
        candidate=user,
        opening=opening,
        status=status,
        current_stage=stages[stage] if stage else furthest,
        created_at=BASE_TIME + timedelta(minutes=applied_minutes),
    )
    db.session.add(application)
    db.session.flush()
    for kind, score in scores.items():
        details = {}
        if kind == StageKind.LANGUAGE and languages:
            details = {
                code: {"score": s, "cefr": band, "writing": s, "speaking": s}
                for code, (s, band) in languages.items()
            }
        db.session.add(
            StageResult(
                application=application,
                stage=stages[kind],
                score=score,
                complete=score is not None,
                details=details,
            )
        )
    for code, (score, band) in (languages or {}).items():
        db.session.add(
            ApplicationLanguage(
                application_id=application.id,
                language=code,
                tested_score=score,
                tested_cefr=band,
            )
        )
    language = scores.get(StageKind.LANGUAGE)
    application.language_score = language
    if languages:
        application.language_cefr = min(
            (band for _score, band in languages.values()),
            key=["A1", "A2", "B1", "B2", "C1", "C2"].index,
        )
    db.session.flush()
    enabled = [s for s in opening.stages if s.enabled]
    refresh_composite(application, enabled, overrides_for([application.id]))
    db.session.commit()
    return application


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Collect the SQL statements run on the app's engine inside the block."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
