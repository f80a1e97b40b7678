"""Importing candidates from CSV, with a line-numbered report of rejected rows.

Imported accounts get no password: the invitation email carries a signed link
to set one, so an import hashes no password at all. Files of more than
``BACKGROUND_ROWS`` lines are stored and imported by a Celery task, and the
report waits on the import's page.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select

from app import db, utcnow
from recruit import audit
from recruit.auth import clean_name, find_user
from recruit.invitations import send_invitation
from recruit.models import (
    Application,
    ApplicationLanguage,
    CandidateImport,
    ImportStatus,
    Opening,
    Role,
    User,
)
from recruit.services import first_stage
from scoring.cefr import BANDS

log = logging.getLogger(__name__)

COLUMNS = ("name", "email", "languages", "opening")
MAX_ROWS = 10_000
# Files with more lines than this are imported by a Celery task.
BACKGROUND_ROWS = 1000
# Emails looked up per query when matching rows to existing accounts, and rows
# written per flush: a flush per row costs more than the rest of the import.
LOOKUP_BATCH = 500
FLUSH_BATCH = 500
LANGUAGE_SEPARATORS = re.compile(r"[\s;,|]+")


@dataclass
class ImportedRow:
    line: int
    email: str
    opening_id: int
    application_id: int
    new_account: bool


@dataclass
class _PendingRow:
    """A valid row whose application waits for the next flush to get its id."""

    line: int
    email: str
    application: Application
    languages: list[tuple[str, str | None]]
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
    rows = [(reader.line_num, row) for row in _read_rows(reader, report)]
    users, looked_up = _existing_users(rows)
    pending: list[_PendingRow] = []
    for line, row in rows:
        if len(pending) >= FLUSH_BATCH:
            _write_pending(pending, actor, report)
        if len(report.imported) + len(pending) + len(report.rejected) >= MAX_ROWS:
            report.rejected.append(
                (line, _("stopped: at most %(n)d rows per file", n=MAX_ROWS))
            )
            break
        if not any(cell.strip() for cell in row):
            continue
        try:
            pending.append(_import_row(row, line, openings, seen, users, looked_up))
        except ValueError as error:
            report.rejected.append((line, str(error)))
    _write_pending(pending, actor, report)
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


def _existing_users(
    rows: list[tuple[int, list[str]]],
) -> tuple[dict[str, User], set[str]]:
    """Find the accounts that the rows' emails already have, a batch per query.

    Returns the accounts by lowercase email and the set of emails looked up.
    """
    emails = sorted(
        {row[1].strip().lower() for _line, row in rows if len(row) == len(COLUMNS)}
    )
    users: dict[str, User] = {}
    for start in range(0, len(emails), LOOKUP_BATCH):
        batch = emails[start : start + LOOKUP_BATCH]
        for user in db.session.scalars(
            select(User).where(func.lower(User.email).in_(batch))
        ):
            users[user.email.lower()] = user
    return users, set(emails)


def _import_row(
    row: list[str],
    line: int,
    openings: dict[int, Opening],
    seen: set[tuple[str, int]],
    users: dict[str, User],
    looked_up: set[str],
) -> _PendingRow:
    """Check one row and add its account and application, without a flush."""
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
    user = users.get(email)
    if user is None and email not in looked_up:
        # Normalising changed the email, so the batch lookup did not cover it.
        user = find_user(email)
    new_account = user is None
    if user is None:
        user = User(email=email, name=name, role=Role.CANDIDATE)
        user.set_unusable_password()
        db.session.add(user)
        users[email] = user
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
    # An imported candidate starts where one who applies does: at screening,
    # so the opening's knock-out questions are still asked.
    application = Application(
        candidate=user, opening=opening, current_stage=first_stage(opening)
    )
    db.session.add(application)
    return _PendingRow(line, email, application, languages, new_account)


def _write_pending(
    pending: list[_PendingRow], actor: User, report: ImportReport
) -> None:
    """Flush the pending rows, then add their languages and audit events."""
    db.session.flush()
    for row in pending:
        application = row.application
        for code, level in row.languages:
            db.session.add(
                ApplicationLanguage(
                    application_id=application.id, language=code, claimed_level=level
                )
            )
        audit.record(
            "import_candidate",
            actor=actor,
            application=application,
            after={"email": row.email, "languages": [c for c, _lv in row.languages]},
            reason=_("CSV import, line %(line)d", line=row.line),
        )
        report.imported.append(
            ImportedRow(
                row.line,
                row.email,
                application.opening_id,
                application.id,
                row.new_account,
            )
        )
    pending.clear()


def send_invitations(report: ImportReport) -> None:
    """Add the invitation email of every new account of the report; commit them."""
    for row in report.imported:
        if row.new_account:
            send_invitation(db.session.get(Application, row.application_id))
    db.session.commit()


def queue_import(
    data: bytes, filename: str, invite: bool, actor: User
) -> CandidateImport:
    """Store a file for the Celery task that imports it after the commit."""
    from recruit.events import queue_after_commit
    from recruit.tasks import import_candidate_file

    job = CandidateImport(
        created_by_id=actor.id,
        filename=filename[:255],
        data=data,
        send_invitations=invite,
    )
    db.session.add(job)
    db.session.flush()
    queue_after_commit(db.session, import_candidate_file, job.id)
    db.session.commit()
    log.info("user %s queued candidate import %s", actor.id, job.id)
    return job


def run_import(import_id: int) -> str:
    """Import a stored file and keep its report on the row; return the status.

    NOTE: a task that is run again after a crash mid-import rejects the rows
    imported the first time as duplicates, so its report counts only the rest.
    """
    job = db.session.get(CandidateImport, import_id)
    if job is None:
        log.warning("candidate import %s no longer exists", import_id)
        return "missing"
    if job.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return job.status
    actor = job.created_by
    if actor is None:
        return _fail(job, _("The account that started the import was deleted."))
    job.status = ImportStatus.RUNNING
    db.session.commit()
    try:
        report = import_candidates(job.data, actor)
        if job.send_invitations:
            send_invitations(report)
    except Exception as error:  # noqa: BLE001 - the report must say it failed
        db.session.rollback()
        log.exception("candidate import %s failed", import_id)
        return _fail(job, str(error))
    job.imported = len(report.imported)
    job.new_accounts = sum(1 for row in report.imported if row.new_account)
    job.rejected = [[line, message] for line, message in report.rejected]
    job.status = ImportStatus.DONE
    job.data = b""
    job.finished_at = utcnow()
    db.session.commit()
    return job.status


def _fail(job: CandidateImport, message: str) -> str:
    job.status = ImportStatus.FAILED
    job.error = message[:2000]
    job.finished_at = utcnow()
    db.session.commit()
    return job.status
