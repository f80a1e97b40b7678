"""Stage 1, application and screening: the candidate's form and its knock-outs.

A failed knock-out question closes the application (status ``rejected``) and
knocks it out with the question's reason recorded for recruiters, and no
composite score. A passed screening scores the stage 100 and moves the
application on to the next stage.
"""

from __future__ import annotations

import logging
import zoneinfo
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from babel import Locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import db
from recruit.models import (
    Application,
    ApplicationLanguage,
    ApplicationStatus,
    KnockoutQuestion,
    Screening,
    Stage,
    StageKind,
    StageResult,
)
from recruit.services import STAGE_RESULT_BUILDERS, recompute_application

log = logging.getLogger(__name__)
audit = logging.getLogger("frontline.audit")

SHIFTS = ("day", "evening", "night", "weekend")
CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")
YES_NO = ("yes", "no")


class ScreeningError(Exception):
    """A screening the pipeline rejects, with a message for the candidate."""


@cache
def language_codes() -> dict[str, str]:
    """ISO 639-1 codes with their English names, from the CLDR data of Babel."""
    names = Locale("en").languages
    return {
        code: name
        for code, name in sorted(names.items(), key=lambda item: item[1])
        if len(code) == 2 and code.isalpha() and code.islower()
    }


@cache
def _time_zone_table(name: str) -> tuple[tuple[str, ...], ...]:
    """Read a table of the IANA time zone database, such as ``zone.tab``.

    The table comes from the first folder of ``zoneinfo.TZPATH`` that has it,
    else from the ``tzdata`` package, the two places zoneinfo reads zones from.
    """
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            break
    else:
        try:
            text = resources.files("tzdata.zoneinfo").joinpath(name).read_text("utf-8")
        except (ModuleNotFoundError, FileNotFoundError) as error:
            raise RuntimeError(
                f"{name} of the IANA time zone database was not found in "
                f"{', '.join(zoneinfo.TZPATH)} or the tzdata package; install "
                "the system's tzdata or the tzdata Python package"
            ) from error
    return tuple(
        tuple(line.split("\t"))
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


@cache
def country_codes() -> dict[str, str]:
    """ISO 3166-1 alpha-2 country codes with their English names.

    The codes are those of ``iso3166.tab`` in the time zone database, which
    lists every ISO 3166-1 code, so CLDR's extra territories (the European
    Union, Ascension Island, Kosovo's XK ...) are left out. Names come from
    CLDR through Babel.
    """
    cldr = Locale("en").territories
    names = {
        row[0]: cldr.get(row[0], row[1]) for row in _time_zone_table("iso3166.tab")
    }
    return dict(sorted(names.items(), key=lambda item: item[1]))


@cache
def time_zones() -> list[str]:
    """IANA time zones of ``zone.tab`` (one or more per country) that zoneinfo loads.

    Links kept for old names (``Europe/Kiev``, ``US/Eastern``) and the ``Etc``
    zones are not in ``zone.tab``.
    """
    zones = []
    for row in _time_zone_table("zone.tab"):
        try:
            zoneinfo.ZoneInfo(row[2])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
        zones.append(row[2])
    return sorted(zones)


@cache
def _time_zone_set() -> frozenset[str]:
    return frozenset(time_zones())


def valid_time_zone(name: str) -> bool:
    """Return whether ``name`` is one of the listed IANA time zones."""
    return name in _time_zone_set()


def knockout_questions(opening_id: int) -> list[KnockoutQuestion]:
    return list(
        db.session.scalars(
            select(KnockoutQuestion)
            .filter_by(opening_id=opening_id)
            .order_by(KnockoutQuestion.position)
        )
    )


def question_options(question: KnockoutQuestion) -> list[str]:
    return list(YES_NO) if question.kind == "yes_no" else list(question.options)


def find_screening(application: Application) -> Screening | None:
    return db.session.scalar(select(Screening).filter_by(application_id=application.id))


def submit_screening(
    application: Application,
    *,
    phone: str | None,
    country: str,
    time_zone: str,
    languages: list[dict[str, str]],
    shifts: list[str],
    answers: dict[int, str],
) -> Screening:
    """Store the screening form, close the application on a failed knock-out.

    Raises ScreeningError when the application is not at the screening stage,
    was screened already, or an answer is missing or not an option.
    """
    stage = application.current_stage
    if application.status != ApplicationStatus.ACTIVE or stage is None:
        raise ScreeningError(_("This application is closed."))
    if stage.kind != StageKind.SCREENING or find_screening(application):
        raise ScreeningError(_("The screening form was already sent."))
    if country not in country_codes():
        raise ScreeningError(
            _("Unknown country %(code)s. Choose one from the list.", code=country)
        )
    if not valid_time_zone(time_zone):
        raise ScreeningError(
            _("Unknown time zone %(name)s. Choose one from the list.", name=time_zone)
        )
    failed = []
    for question in knockout_questions(application.opening_id):
        answer = answers.get(question.id)
        if answer not in question_options(question):
            raise ScreeningError(_("Answer the question: %(text)s", text=question.text))
        if answer not in question.accepted:
            failed.append(question.reason or question.text)
    screening = Screening(
        application_id=application.id,
        phone=phone or None,
        country=country,
        time_zone=time_zone,
        languages=languages,
        shifts=[shift for shift in SHIFTS if shift in shifts],
        answers={str(key): value for key, value in answers.items()},
        passed=not failed,
        reason="; ".join(failed) or None,
    )
    db.session.add(screening)
    record_claimed_languages(application, languages)
    if failed:
        application.status = ApplicationStatus.REJECTED
    try:
        db.session.commit()
    except IntegrityError:  # sent twice at once
        db.session.rollback()
        raise ScreeningError(_("The screening form was already sent.")) from None
    if failed:
        audit.info(
            "application %s closed by knock-out: %s", application.id, screening.reason
        )
    else:
        log.info("application %s passed screening", application.id)
    recompute_application(application)
    return screening


def record_claimed_languages(
    application: Application, languages: list[dict[str, str]]
) -> None:
    """Keep the claimed languages and levels where the ranking's filters read them."""
    existing = {
        row.language: row
        for row in db.session.scalars(
            select(ApplicationLanguage).where(
                ApplicationLanguage.application_id == application.id
            )
        )
    }
    for entry in languages:
        row = existing.get(entry["code"])
        if row is None:
            row = ApplicationLanguage(
                application_id=application.id, language=entry["code"]
            )
            db.session.add(row)
        row.claimed_level = entry.get("level") or None


def screening_result(application: Application, stage: Stage) -> StageResult | None:
    """Score the screening stage: 100 when every knock-out passed.

    A failed knock-out leaves the stage failed with no score, so the application
    gets no composite and ranks after every scored one.
    """
    screening = find_screening(application)
    if screening is None:
        return None
    result = application.result_for(stage)
    if result is None:
        result = StageResult(application=application, stage=stage)
        db.session.add(result)
    result.score = 100.0 if screening.passed else None
    result.complete = True
    result.passed = screening.passed
    result.needs_review = False
    result.details = {"screening": screening.id, "knocked_out_by": screening.reason}
    return result


def screening_summary(screening: Screening) -> dict[str, Any]:
    """The screening's answers with readable names, for the recruiter's page."""
    questions = {
        str(question.id): question
        for question in knockout_questions(screening.application.opening_id)
    }
    return {
        "country": country_codes().get(screening.country, screening.country),
        "languages": [
            (language_codes().get(entry["code"], entry["code"]), entry["level"])
            for entry in screening.languages
        ],
        "answers": [
            (
                questions[key].text if key in questions else key,
                value,
                key in questions and value in questions[key].accepted,
            )
            for key, value in screening.answers.items()
        ],
    }


STAGE_RESULT_BUILDERS[StageKind.SCREENING] = screening_result
