"""The hiring pipeline's state changes: applying, stage results, ranking."""

from __future__ import annotations

import logging
from collections.abc import Callable
from statistics import fmean

from sqlalchemy import nulls_last, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app import db, utcnow
from assessments.models import Attempt, Response, ResponseStatus
from assessments.services import response_finished
from recruit.models import (
    Application,
    ApplicationStatus,
    Opening,
    Stage,
    StageKind,
    StageResult,
    User,
)
from recruit.ranking import overrides_for, refresh_languages, stage_input
from scoring.composite import SkillScore, composite_score, language_result

log = logging.getLogger(__name__)

# The default six-step pipeline: kind, name, weight in the composite, pass mark.
# Screening is decided by knock-out questions, so its score carries no weight.
DEFAULT_PIPELINE: tuple[tuple[StageKind, str, float, float], ...] = (
    (StageKind.SCREENING, "Application and screening", 0.0, 0.0),
    (StageKind.LANGUAGE, "Language proficiency", 30.0, 50.0),
    (StageKind.COMMUNICATION, "Communication", 20.0, 50.0),
    (StageKind.ATTITUDE, "Service attitude", 15.0, 50.0),
    (StageKind.TROUBLESHOOTING, "Logical thinking and troubleshooting", 20.0, 50.0),
    (StageKind.INTERVIEW, "Interview and decision", 15.0, 50.0),
)


def create_opening(
    title: str,
    *,
    description: str = "",
    location: str = "",
    languages: list[str] | None = None,
) -> Opening:
    """Create an opening with the default pipeline of six stages."""
    opening = Opening(
        title=title,
        description=description,
        location=location,
        languages=languages or ["en"],
    )
    for position, (kind, name, weight, pass_mark) in enumerate(
        DEFAULT_PIPELINE, start=1
    ):
        opening.stages.append(
            Stage(
                kind=kind,
                name=name,
                position=position,
                weight=weight,
                pass_mark=pass_mark,
            )
        )
    db.session.add(opening)
    db.session.flush()
    return opening


def apply(candidate: User, opening: Opening) -> Application:
    """Create the candidate's application to ``opening``, or return the existing one."""
    existing = db.session.scalar(
        select(Application).filter_by(candidate_id=candidate.id, opening_id=opening.id)
    )
    if existing:
        return existing
    application = Application(
        candidate=candidate, opening=opening, current_stage=first_stage(opening)
    )
    db.session.add(application)
    try:
        db.session.commit()
    except IntegrityError:  # a double click applied twice at once
        db.session.rollback()
        existing = db.session.scalar(
            select(Application).filter_by(
                candidate_id=candidate.id, opening_id=opening.id
            )
        )
        assert existing is not None
        return existing
    log.info("user %s applied to opening %s", candidate.id, opening.id)
    return application


# Stages scored from something other than assessment attempts (the screening
# form, interview scorecards): kind -> function that updates the stage's result.
StageResultBuilder = Callable[[Application, Stage], "StageResult | None"]
STAGE_RESULT_BUILDERS: dict[StageKind, StageResultBuilder] = {}


def enabled_stages(opening: Opening) -> list[Stage]:
    return [stage for stage in opening.stages if stage.enabled]


def first_stage(opening: Opening) -> Stage | None:
    """Return the first enabled stage with candidate tasks, else the first enabled.

    Screening counts as a task, because the candidate fills in its form.
    """
    stages = enabled_stages(opening)
    with_tasks = [
        stage
        for stage in stages
        if stage.assessments or stage.kind == StageKind.SCREENING
    ]
    return (with_tasks or stages or [None])[0]


def stage_attempts(application: Application, stage: Stage) -> dict[int, Attempt]:
    """Return the application's attempts at the stage's assessments by assessment id."""
    ids = [assessment.id for assessment in stage.assessments]
    if not ids:
        return {}
    attempts = db.session.scalars(
        select(Attempt).where(
            Attempt.application_id == application.id, Attempt.assessment_id.in_(ids)
        )
    ).all()
    return {attempt.assessment_id: attempt for attempt in attempts}


def recompute_stage(application: Application, stage: Stage) -> StageResult | None:
    """Rebuild the stage's result from its attempts; None if none was started."""
    builder = STAGE_RESULT_BUILDERS.get(stage.kind)
    if builder is not None:
        return builder(application, stage)
    attempts = stage_attempts(application, stage)
    if not attempts:
        return None
    responses = [r for attempt in attempts.values() for r in attempt.responses]
    # Complete once every item has a scored answer; a failed answer keeps the
    # stage open, because the candidate may record it again or a recruiter acts.
    scored = {r.item_id for r in responses if r.status == ResponseStatus.SCORED}
    # A withheld score keeps the stage open too, until a recruiter reviews it.
    complete = all(
        item.id in scored
        for assessment in stage.assessments
        for item in assessment.items
    ) and not any(r.awaiting_review for r in responses)
    needs_review = any(
        r.needs_review or r.status == ResponseStatus.FAILED for r in responses
    )
    if stage.kind == StageKind.LANGUAGE:
        score, details = _language_stage(stage, attempts)
    else:
        scores = [a.score for a in attempts.values() if a.score is not None]
        score = round(fmean(scores), 1) if scores else None
        details = {}

    result = application.result_for(stage)
    if result is None:
        result = StageResult(application=application, stage=stage)
        db.session.add(result)
    result.score = score
    result.complete = complete
    result.passed = None if score is None or not complete else score >= stage.pass_mark
    result.needs_review = needs_review
    result.details = details
    return result


def _language_stage(
    stage: Stage, attempts: dict[int, Attempt]
) -> tuple[float | None, dict]:
    """Score each language from its writing and speaking answers, then average."""
    details: dict[str, dict] = {}
    for assessment in stage.assessments:
        attempt = attempts.get(assessment.id)
        if attempt is None:
            continue
        writing: list[SkillScore] = []
        speaking: list[SkillScore] = []
        for response in attempt.responses:
            skill = _skill_score(response)
            if skill is None:
                continue
            (speaking if response.item.kind == "speaking" else writing).append(skill)
        result = language_result(writing, speaking)
        details[assessment.language or "en"] = {
            "score": result.score,
            "cefr": result.cefr,
            "writing": result.writing,
            "speaking": result.speaking,
        }
    scores = [d["score"] for d in details.values() if d["score"] is not None]
    return (round(fmean(scores), 1) if scores else None), details


def _skill_score(response: Response) -> SkillScore | None:
    if response.status != ResponseStatus.SCORED or response.score is None:
        return None
    return SkillScore(response.score.score, response.score.cefr)


def recompute_application(application: Application) -> None:
    """Refresh every stage result, the composite and the ranking keys, then advance."""
    inputs = []
    overrides = overrides_for([application.id])
    for stage in enabled_stages(application.opening):
        result = recompute_stage(application, stage)
        override = overrides.get((application.id, stage.id))
        inputs.append(stage_input(stage, result, override))
    composite = composite_score(inputs)
    application.composite_score = composite.score
    application.knocked_out = composite.knocked_out
    application.needs_review = any(r.needs_review for r in application.stage_results)

    language_stage = application.opening.stage(StageKind.LANGUAGE)
    language = application.result_for(language_stage) if language_stage else None
    application.language_score = language.score if language else None
    application.language_cefr = _lowest_band(language.details) if language else None
    if language is not None:
        refresh_languages(application, language.details)
    _advance_if_passed(application)
    db.session.commit()


def _lowest_band(details: dict) -> str | None:
    from scoring.cefr import BANDS, band_index

    bands = [d["cefr"] for d in details.values() if d.get("cefr")]
    return BANDS[min(band_index(b) for b in bands)] if bands else None


def _advance_if_passed(application: Application) -> None:
    """Move an active application past a completed, passed stage."""
    stage = application.current_stage
    if application.status != ApplicationStatus.ACTIVE or stage is None:
        return
    result = application.result_for(stage)
    if result is None or not result.complete or not result.passed:
        return
    stages = enabled_stages(application.opening)
    later = [s for s in stages if s.position > stage.position]
    if later:
        application.current_stage = later[0]
        application.stage_entered_at = utcnow()
        log.info("application %s advanced to stage %s", application.id, later[0].kind)


def _on_response_finished(response: Response) -> None:
    application = db.session.get(Application, response.attempt.application_id)
    if application is not None:
        recompute_application(application)


def connect_signals() -> None:
    """Recompute an application whenever one of its answers is scored or fails."""
    response_finished.connect(_on_response_finished, weak=False)


def ranking(opening: Opening) -> list[Application]:
    """Return the opening's applications by composite, language score, then age."""
    query = (
        select(Application)
        .where(Application.opening_id == opening.id)
        .options(
            joinedload(Application.candidate),
            joinedload(Application.current_stage),
            selectinload(Application.stage_results),
        )
        .order_by(
            Application.knocked_out,
            nulls_last(Application.composite_score.desc()),
            nulls_last(Application.language_score.desc()),
            Application.created_at,
            Application.id,
        )
    )
    return list(db.session.scalars(query))
