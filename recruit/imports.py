"""Importing candidates from CSV, with a line-numbered report of rejected rows."""

from __future__ import annotations

import csv
import io
import logging
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select

from app import db
from recruit import audit
from recruit.auth import clean_name, find_user
from recruit.models import (
    Application,
    ApplicationLanguage,
    Opening,
    Role,
    User,
)
from scoring.cefr import BANDS

log = logging.getLogger(__name__)

COLUMNS = ("name", "email", "languages", "opening")
MAX_ROWS = 10_000
LANGUAGE_SEPARATORS = re.compile(r"[\s;,|]+")


@dataclass
class ImportedRow:
    line: int
    email: str
    opening_id: int
    application_id: int
    new_account: bool


@dataclass
class ImportReport:
    imported: list[ImportedRow] = field(default_factory=list)
    # (line number, message); line 0 concerns the whole file.
    rejected: list[tuple[int, str]] = field(default_factory=list)


@cache
def iso_639_1_codes() -> frozenset[str]:
    """Two-letter ISO 639-1 language codes, from the CLDR data that Babel ships."""
    return frozenset(code for code in Locale("en").languages if len(code) == 2)


def parse_languages(value: str) -> list[tuple[str, str | None]]:
    """Parse "en:C1; es" into [("en", "C1"), ("es", None)]; raise ValueError."""
    languages: list[tuple[str, str | None]] = []
    for part in LANGUAGE_SEPARATORS.split(value.strip()):
        if not part:
            continue
        code, _sep, level = part.partition(":")
        code = code.strip().lower()
        level = level.strip().upper() or None
        if code not in iso_639_1_codes():
            raise ValueError(_("%(code)s is not an ISO 639-1 language code", code=code))
        if level is not None and level not in BANDS:
            raise ValueError(_("%(level)s is not a CEFR level (A1 to C2)", level=level))
        if code not in {c for c, _level in languages}:
            languages.append((code, level))
    if not languages:
        raise ValueError(_("no language given"))
    return languages


def decode(data: bytes) -> str:
    """Decode UTF-8 (with or without a BOM); raise ValueError naming the bad line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            _(
                "line %(line)d is not valid UTF-8 (byte %(byte)d); save the file "
                "as UTF-8 and import it again",
                line=line,
                byte=error.start + 1,
            )
        ) from error


def import_candidates(data: bytes, actor: User) -> ImportReport:
    """Create accounts and applications from CSV rows; commit the valid ones."""
    report = ImportReport()
    try:
        text = decode(data)
    except ValueError as error:
        report.rejected.append((0, str(error)))
        return report
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = _read_rows(reader, report)
    header = [cell.strip().lower() for cell in next(rows, [])]
    if report.rejected:  # the header line itself could not be read
        return report
    if tuple(header) != COLUMNS:
        report.rejected.append(
            (
                1,
                _(
                    "the header must be %(expected)s, not %(found)s",
                    expected=",".join(COLUMNS),
                    found=",".join(header) or _("empty"),
                ),
            )
        )
        return report
    openings = {o.id: o for o in db.session.scalars(select(Opening))}
    seen: set[tuple[str, int]] = set()
    for row in rows:
        line = reader.line_num
        if len(report.imported) + len(report.rejected) >= MAX_ROWS:
            report.rejected.append(
                (line, _("stopped: at most %(n)d rows per file", n=MAX_ROWS))
            )
            break
        if not any(cell.strip() for cell in row):
            continue
        try:
            imported = _import_row(row, line, openings, seen, actor)
        except ValueError as error:
            report.rejected.append((line, str(error)))
        else:
            report.imported.append(imported)
    db.session.commit()
    log.info(
        "user %s imported %d candidates, %d rows rejected",
        actor.id,
        len(report.imported),
        len(report.rejected),
    )
    return report


def _read_rows(reader: Any, report: ImportReport) -> Iterator[list[str]]:
    """Yield the CSV rows; a line the csv module cannot parse ends the file.

    The csv module rejects, for example, a field over its 128 KiB limit, and
    its position in the file is not reliable after that.
    """
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            report.rejected.append(
                (
                    reader.line_num,
                    _(
                        "unreadable CSV (%(error)s); the rest of the file was not read",
                        error=str(error),
                    ),
                )
            )
            return
        yield row


def _import_row(
    row: list[str],
    line: int,
    openings: dict[int, Opening],
    seen: set[tuple[str, int]],
    actor: User,
) -> ImportedRow:
    if len(row) != len(COLUMNS):
        raise ValueError(
            _(
                "expected %(expected)d columns, found %(found)d",
                expected=len(COLUMNS),
                found=len(row),
            )
        )
    name, email, languages_text, opening_text = (cell.strip() for cell in row)
    name = clean_name(name)
    if not name or len(name) > 200:
        raise ValueError(_("the name is missing or longer than 200 characters"))
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValueError(
            _("invalid email %(email)s: %(error)s", email=email, error=str(error))
        ) from error
    languages = parse_languages(languages_text)
    opening_id = int(opening_text) if opening_text.isdigit() else None
    opening = openings.get(opening_id) if opening_id is not None else None
    if opening is None:
        raise ValueError(_("unknown opening %(opening)s", opening=opening_text))
    if (email, opening.id) in seen:
        raise ValueError(_("duplicate of an earlier row: %(email)s", email=email))
    seen.add((email, opening.id))
    user = find_user(email)
    new_account = user is None
    if user is None:
        user = User(email=email, name=name, role=Role.CANDIDATE)
        # A random password that is never shown; the invitation sets a real one.
        user.set_password(secrets.token_urlsafe(32))
        db.session.add(user)
        db.session.flush()
    elif user.role != Role.CANDIDATE:
        raise ValueError(
            _("%(email)s belongs to an account that is not a candidate", email=email)
        )
    elif db.session.scalar(
        select(Application.id).filter_by(candidate_id=user.id, opening_id=opening.id)
    ):
        raise ValueError(
            _("duplicate: %(email)s has already applied to this opening", email=email)
        )
    application = _create_application(user, opening, languages)
    audit.record(
        "import_candidate",
        actor=actor,
        application=application,
        after={"email": email, "languages": [c for c, _level in languages]},
        reason=_("CSV import, line %(line)d", line=line),
    )
    return ImportedRow(line, email, opening.id, application.id, new_account)


def _create_application(
    user: User, opening: Opening, languages: list[tuple[str, str | None]]
) -> Application:
    enabled = [stage for stage in opening.stages if stage.enabled]
    with_tasks = [stage for stage in enabled if stage.assessments]
    first = (with_tasks or enabled or [None])[0]
    application = Application(candidate=user, opening=opening, current_stage=first)
    db.session.add(application)
    db.session.flush()
    for code, level in languages:
        db.session.add(
            ApplicationLanguage(
                application_id=application.id, language=code, claimed_level=level
            )
        )
    return application
