"""Demo data for the ranking and analytics: a second opening with a worked funnel.

The candidates are synthetic: stage scores are drawn from a seeded generator
and stored as stage results, so no assessment runs. The history is backdated
over six weeks, so the board and the analytics have waits and durations.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import delete, select
from werkzeug.security import generate_password_hash

from app import db, utcnow
from recruit.models import (
    Application,
    ApplicationLanguage,
    ApplicationStatus,
    DemographicResponse,
    Opening,
    RaceEthnicity,
    Role,
    Sex,
    Stage,
    StageKind,
    StageResult,
    StageTransition,
    User,
)
from recruit.ranking import overrides_for, refresh_composite
from recruit.services import create_opening
from scoring.cefr import band_for_score, band_index

FUNNEL_OPENING = "Live chat agent, English and Spanish (demo funnel)"
CANDIDATES = 80
SEED = 144
FIRST_NAMES = [
    "Aisha",
    "Bruno",
    "Chen",
    "Dana",
    "Elif",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kemi",
    "Luis",
    "Mina",
    "Noah",
    "Olga",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Vera",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Adeyemi",
    "Berg",
    "Castillo",
    "Dubois",
    "Esposito",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nguyen",
    "Okafor",
    "Petrov",
    "Rossi",
    "Silva",
    "Tanaka",
    "Weber",
]
# The speaking scorer's band bounds (A2, B1, B2, C1, C2), used for the demo bands.
DEMO_BAND_BOUNDS = (20.0, 40.0, 55.0, 70.0, 85.0)
SCORED_KINDS = (
    StageKind.LANGUAGE,
    StageKind.COMMUNICATION,
    StageKind.ATTITUDE,
    StageKind.TROUBLESHOOTING,
    StageKind.INTERVIEW,
)


def seed_funnel_demo(password: str) -> list[str]:
    """Add the demo funnel opening once; return what was added."""
    if db.session.scalar(select(Opening.id).filter_by(title=FUNNEL_OPENING)):
        return []
    opening = create_opening(
        FUNNEL_OPENING,
        description="Bilingual live chat for online shops; demo data for analytics.",
        location="Remote",
        languages=["en", "es"],
    )
    stages = [stage for stage in opening.stages if stage.enabled]
    password_hash = generate_password_hash(password)
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not secrets
    now = utcnow()
    for index in range(CANDIDATES):
        _demo_candidate(opening, stages, index, rng, password_hash, now)
    db.session.commit()
    return [f"opening {FUNNEL_OPENING!r} with {CANDIDATES} synthetic candidates"]


def _demo_candidate(
    opening: Opening,
    stages: list[Stage],
    index: int,
    rng: random.Random,
    password_hash: str,
    now: object,
) -> None:
    name = (
        f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {LAST_NAMES[index % len(LAST_NAMES)]}"
    )
    user = User(
        email=f"funnel.{index:03d}@example.com",
        name=name,
        role=Role.CANDIDATE,
        password_hash=password_hash,
        demo=True,
    )
    db.session.add(user)
    ability = rng.gauss(65, 12)
    applied = now - timedelta(days=rng.uniform(10, 42))  # type: ignore[operator]
    # How far the application got: 0 is screening, 5 the interview.
    depth = rng.choices(range(6), weights=[8, 20, 22, 18, 14, 18])[0]
    application = Application(
        candidate=user, opening=opening, current_stage=stages[depth], created_at=applied
    )
    db.session.add(application)
    db.session.flush()
    moments = [applied]
    for _step in range(depth):
        later = moments[-1] + timedelta(days=rng.uniform(0.5, 6))
        moments.append(min(later, now - timedelta(hours=1)))  # type: ignore[operator]
    for step, stage in enumerate(stages[: depth + 1]):
        if stage.kind not in SCORED_KINDS or (step == depth and rng.random() < 0.4):
            continue
        score = round(min(100, max(0, ability + rng.gauss(0, 10))), 1)
        details = {}
        if stage.kind == StageKind.LANGUAGE:
            details = _languages(application, score, rng)
        db.session.add(
            StageResult(
                application=application,
                stage=stage,
                score=score,
                complete=True,
                details=details,
            )
        )
    application.stage_entered_at = moments[-1]
    application.status = _status(depth, ability, rng)
    if application.status == ApplicationStatus.HIRED:
        user.role = Role.TRAINEE
    if rng.random() < 0.7:
        db.session.add(
            DemographicResponse(
                user_id=user.id,
                sex=rng.choice(
                    [Sex.FEMALE, Sex.MALE, Sex.FEMALE, Sex.MALE, Sex.DECLINED]
                ),
                race_ethnicity=rng.choice(list(RaceEthnicity)),
            )
        )
    db.session.flush()
    refresh_composite(application, stages, overrides_for([]))
    _history(application, stages[: depth + 1], moments)


def _languages(application: Application, score: float, rng: random.Random) -> dict:
    details = {}
    for code in ("en", "es") if rng.random() < 0.5 else ("en",):
        value = round(min(100, max(0, score + rng.gauss(0, 6))), 1)
        band = band_for_score(value, DEMO_BAND_BOUNDS)
        details[code] = {
            "score": value,
            "cefr": band,
            "writing": value,
            "speaking": value,
        }
        db.session.add(
            ApplicationLanguage(
                application_id=application.id,
                language=code,
                tested_score=value,
                tested_cefr=band,
            )
        )
    application.language_score = score
    bands = [part["cefr"] for part in details.values()]
    application.language_cefr = min(bands, key=band_index)
    return details


def _status(depth: int, ability: float, rng: random.Random) -> ApplicationStatus:
    if depth == 5 and ability > 60 and rng.random() < 0.8:
        return ApplicationStatus.HIRED
    if rng.random() < (0.6 if ability < 58 else 0.1):
        return ApplicationStatus.REJECTED
    return ApplicationStatus.HOLD if rng.random() < 0.1 else ApplicationStatus.ACTIVE


def _history(application: Application, stages: list[Stage], moments: list) -> None:
    """Replace the history the session recorded with the backdated one."""
    db.session.flush()
    db.session.execute(
        delete(StageTransition).where(StageTransition.application_id == application.id)
    )
    previous = None
    for stage, moment in zip(stages, moments, strict=True):
        db.session.add(
            StageTransition(
                application_id=application.id,
                opening_id=application.opening_id,
                from_stage_id=previous,
                to_stage_id=stage.id,
                from_status="active" if previous else None,
                to_status="active",
                at=moment,
            )
        )
        previous = stage.id
