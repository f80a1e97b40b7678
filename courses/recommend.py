"""Lessons recommended from a person's funnel scores.

The scores come from the ``score`` rows of the person's applications (writing,
speaking, etiquette ...). Each lesson's ``topic`` lists the signals it treats,
comma-separated: a scorer name (``writing``) for its overall score, or
``scorer.subscore`` (``writing.accuracy``). A lesson not yet read is
recommended when any of its signals is below ``RECOMMEND_BELOW`` (default 60).
The tables are read by name, so this package needs no import of the pipeline.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app import db
from courses.models import CourseStep, Enrolment, StepKind

DEFAULT_THRESHOLD = 60.0


def funnel_signals(user_id: int) -> dict[str, float]:
    """The lowest score per scorer and per ``scorer.subscore`` over all applications."""
    tables = db.metadata.tables
    application, attempt = tables["application"], tables["attempt"]
    response, score = tables["response"], tables["score"]
    rows = db.session.execute(
        select(score.c.scorer, score.c.score, score.c.subscores)
        .join(response, response.c.id == score.c.response_id)
        .join(attempt, attempt.c.id == response.c.attempt_id)
        .join(application, application.c.id == attempt.c.application_id)
        .where(application.c.candidate_id == user_id)
    ).all()
    signals: dict[str, float] = {}

    def keep(key: str, value: object) -> None:
        if isinstance(value, int | float):
            signals[key] = min(float(value), signals.get(key, float("inf")))

    for scorer, overall, subscores in rows:
        keep(scorer, overall)
        for name, value in (subscores or {}).items():
            keep(f"{scorer}.{name}", value)
    return signals


def recommended_steps(user_id: int) -> list[CourseStep]:
    """Unread lessons of the person's courses that their weak scores point to."""
    threshold = float(current_app.config.get("RECOMMEND_BELOW", DEFAULT_THRESHOLD))
    signals = funnel_signals(user_id)
    weak = {key for key, value in signals.items() if value < threshold}
    if not weak:
        return []
    steps = []
    for enrolment in db.session.scalars(select(Enrolment).filter_by(user_id=user_id)):
        read = {p.step_id for p in enrolment.progress}
        for step in enrolment.course.steps:
            topics = {t.strip() for t in (step.topic or "").split(",") if t.strip()}
            if step.kind == StepKind.LESSON and step.id not in read and topics & weak:
                steps.append(step)
    return steps
