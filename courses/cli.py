"""Commands for question banks, certificates and quiz deadlines."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from courses.banks import detect_format, export_questions, import_questions
from courses.interchange import ImportFailed

TEXT_MAX_CHARS = 200


def fail(message: str, report: str = "") -> None:
    """Print a one-line error (and a report) on stderr and exit with status 2."""
    click.echo(message, err=True)
    if report:
        click.echo(report, err=True)
    sys.exit(2)


@click.command("import-questions")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--bank", required=True, help="Question bank to import into; created if new."
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["gift", "xml"]),
    default=None,
    help="File format; by default .xml files are Moodle XML and others GIFT.",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the valid questions of a file with errors and list the rest.",
)
def import_questions_command(
    path: Path, bank: str, file_format: str | None, skip_invalid: bool
) -> None:
    """Import a GIFT or Moodle XML file and print the count imported per type."""
    try:
        data = path.read_bytes()
    except OSError as error:
        fail(f"error: cannot read {path}: {error.strerror or error}")
    try:
        summary = import_questions(
            data,
            bank,
            file_format=file_format or detect_format(path),
            source=str(path),
            skip_invalid=skip_invalid,
        )
    except ImportFailed as error:
        fail(
            f"error: {path} has {len(error.issues)} invalid question(s); "
            "nothing was imported (--skip-invalid imports the valid ones)",
            error.report(),
        )
    for qtype, count in sorted(summary.counts.items()):
        click.echo(f"{qtype}\t{count}")
    click.echo(f"total\t{summary.total} into bank {summary.bank!r}")
    for issue in summary.skipped:
        click.echo(f"skipped {path}:{issue}", err=True)


@click.command("export-questions")
@with_appcontext
@click.option("--bank", required=True, help="Question bank to export.")
@click.option(
    "--format", "file_format", type=click.Choice(["gift", "xml"]), default="gift"
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write; standard output when omitted.",
)
def export_questions_command(bank: str, file_format: str, out: Path | None) -> None:
    """Export every question of a bank as GIFT or Moodle XML."""
    try:
        text = export_questions(bank, file_format)
    except LookupError as error:
        fail(f"error: {error}")
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")


@click.command("certificate")
@with_appcontext
@click.option("--name", required=True, help="Name printed on the certificate.")
@click.option("--course", required=True, help="Course title printed on it.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--id", "certificate_id", default=None, help="Certificate ID; a new one by default."
)
def certificate_command(
    name: str, course: str, out: Path, certificate_id: str | None
) -> None:
    """Render a certificate PDF (a sample; nothing is stored or registered)."""
    from courses.certificates import render_certificate
    from courses.issuing import new_certificate_id, verify_url

    if not name.strip():
        fail("error: --name is empty")
    # Stored names and course titles contain at most 200 characters. The layout
    # fits a name of that length on the page, and a longer one would run off it.
    for option, value in (("--name", name), ("--course", course)):
        if len(value) > TEXT_MAX_CHARS:
            fail(
                f"error: {option} has {len(value)} characters; "
                f"the maximum is {TEXT_MAX_CHARS}"
            )
    code = certificate_id or new_certificate_id()
    pdf = render_certificate(
        name=name,
        course=course,
        issued_on=date.today(),
        certificate_id=code,
        verify_url=verify_url(code),
    )
    try:
        out.write_bytes(pdf)
    except OSError as error:
        fail(f"error: cannot write {out}: {error.strerror or error}")
    click.echo(f"wrote {out} ({len(pdf):,} bytes, ID {code})")


@click.command("close-expired-attempts")
@with_appcontext
def close_expired_attempts_command() -> None:
    """Submit every quiz attempt whose time limit has passed."""
    from courses.quizzes import close_expired_attempts

    click.echo(f"closed {close_expired_attempts()} attempt(s)")


def register(app: Flask) -> None:
    for command in (
        import_questions_command,
        export_questions_command,
        certificate_command,
        close_expired_attempts_command,
    ):
        app.cli.add_command(command)
