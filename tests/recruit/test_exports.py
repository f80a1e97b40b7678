"""CSV export of the ranking, the import of candidates and its report of bad rows."""

from __future__ import annotations

import csv
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import db
from recruit.exports import csv_cell
from recruit.imports import import_candidates, parse_languages
from recruit.models import Application, ApplicationLanguage, Notification, StageKind
from tests.conftest import csrf_token, log_in, make_user
from tests.recruit.ranking_factories import opening_with_weights, scored_application

HEADER = "name,email,languages,opening\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 555", "'+1 555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("María", "María"),
        (72.5, 72.5),
    ],
)
def test_csv_cell_escapes_formulas(value: object, expected: object) -> None:
    assert csv_cell(value) == expected


def test_import_then_export_round_trip(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening = opening_with_weights(languages=["en", "es"])
        opening_id = opening.id
    rows = [
        ("María José O'Neil", "maria@example.com", "en:C1; es", opening_id),
        ('Li "Lee", Wei', "li.wei@example.com", "en zh", opening_id),
        ("=cmd|' /C calc'!A0", "evil@example.com", "en", opening_id),
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name", "email", "languages", "opening"])
    writer.writerows(rows)
    log_in(client, "rec@example.com")
    token = csrf_token(client, "/recruit/import")
    result = client.post(
        "/recruit/import",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(buffer.getvalue().encode()), "people.csv"),
            "send_invitations": "y",
        },
        content_type="multipart/form-data",
    )
    page = result.get_data(as_text=True)
    assert "3 rows imported." in page
    with app.app_context():
        languages = db.session.scalars(
            select(ApplicationLanguage).order_by(ApplicationLanguage.id)
        ).all()
        assert [(r.language, r.claimed_level) for r in languages[:2]] == [
            ("en", "C1"),
            ("es", None),
        ]
        invitations = db.session.scalars(
            select(Notification).filter_by(template="invitation")
        ).all()
        assert len(invitations) == 3
        assert "/invitation/" in invitations[0].context["link"]
    exported = client.get(f"/recruit/openings/{opening_id}/ranking.csv")
    assert exported.status_code == 200
    assert exported.mimetype == "text/csv"
    assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = exported.get_data(as_text=True).lstrip("\ufeff")
    records = list(csv.DictReader(io.StringIO(text)))
    by_email = {record["email"]: record for record in records}
    assert by_email["maria@example.com"]["name"] == "María José O'Neil"
    assert by_email["li.wei@example.com"]["name"] == 'Li "Lee", Wei'
    assert by_email["evil@example.com"]["name"] == "'=cmd|' /C calc'!A0"
    assert "stage_language" in records[0]
    assert "es_cefr" in records[0]


def test_export_follows_filters(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening = opening_with_weights()
        scored_application(
            opening, "hi@example.com", {StageKind.LANGUAGE: 90}, name="High"
        )
        scored_application(
            opening, "lo@example.com", {StageKind.LANGUAGE: 55}, name="Low"
        )
        opening_id = opening.id
    log_in(client, "rec@example.com")
    text = client.get(
        f"/recruit/openings/{opening_id}/ranking.csv?composite_min=80"
    ).get_data(as_text=True)
    records = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["name"] for r in records] == ["High"]
    assert records[0]["stage_language"] == "90.0"
    assert records[0]["rank"] == "1"


def test_import_reports_bad_rows(app: Flask) -> None:
    with app.app_context():
        recruiter = make_user("rec@example.com", "recruiter")
        opening = opening_with_weights()
        scored_application(opening, "taken@example.com", {})
        oid = opening.id
        data = (
            HEADER
            + f"Ana,ana@example.com,en,{oid}\n"  # line 2: fine
            + f"Bad Mail,not-an-email,en,{oid}\n"  # line 3
            + "Nowhere,now@example.com,en,9999\n"  # line 4
            + f"Ana again,ANA@example.com,en,{oid}\n"  # line 5: duplicate of 2
            + f"Klingon,kl@example.com,xx,{oid}\n"  # line 6
            + f"Short,short@example.com,{oid}\n"  # line 7: three columns
            + f"Taken,taken@example.com,en,{oid}\n"  # line 8: already applied
            + f"Level,lvl@example.com,en:Z9,{oid}\n"  # line 9
            + "\n"  # line 10: blank, skipped
            + f'"Multi\nLine",ml@example.com,es,{oid}\n'  # lines 11-12: fine
        ).encode()
        report = import_candidates(data, recruiter)
        assert [row.line for row in report.imported] == [2, 12]
        rejected = dict(report.rejected)
        assert sorted(rejected) == [3, 4, 5, 6, 7, 8, 9]
        assert "invalid email" in rejected[3]
        assert "unknown opening 9999" in rejected[4]
        assert "duplicate" in rejected[5]
        assert "xx is not an ISO 639-1" in rejected[6]
        assert "expected 4 columns, found 3" in rejected[7]
        assert "already applied" in rejected[8]
        assert "Z9 is not a CEFR level" in rejected[9]
        count = db.session.scalar(
            select(db.func.count(Application.id)).where(Application.opening_id == oid)
        )
        assert count == 3


def test_import_rejects_bad_files(app: Flask) -> None:
    with app.app_context():
        recruiter = make_user("rec@example.com", "recruiter")
        opening = opening_with_weights()
        latin1 = (HEADER + f"José,jose@example.com,es,{opening.id}\n").encode("latin-1")
        report = import_candidates(latin1, recruiter)
        assert report.imported == []
        assert report.rejected[0][0] == 0
        assert "line 2 is not valid UTF-8" in report.rejected[0][1]
        wrong = import_candidates(b"email,name\nx@example.com,X\n", recruiter)
        assert wrong.rejected[0][0] == 1
        assert "header must be name,email,languages,opening" in wrong.rejected[0][1]
        empty = import_candidates(b"", recruiter)
        assert empty.rejected and empty.imported == []
        bom = import_candidates(
            ("\ufeff" + HEADER + f"Zoë,zoe@example.com,en,{opening.id}\n").encode(),
            recruiter,
        )
        assert [row.line for row in bom.imported] == [2]


def test_parse_languages() -> None:
    assert parse_languages("EN:c1 | es") == [("en", "C1"), ("es", None)]
    assert parse_languages("en, en") == [("en", None)]
    with pytest.raises(ValueError, match="no language"):
        parse_languages("  ")


def test_imported_candidate_starts_at_screening(app: Flask) -> None:
    with app.app_context():
        recruiter = make_user("rec@example.com", "recruiter")
        opening = opening_with_weights()
        assert any(stage.kind == StageKind.SCREENING for stage in opening.stages)
        data = (HEADER + f"Ana,ana@example.com,en,{opening.id}\n").encode()
        report = import_candidates(data, recruiter)
        assert [row.line for row in report.imported] == [2]
        application = db.session.scalar(select(Application))
        assert application.current_stage.kind == StageKind.SCREENING


def test_decision_log_csv_charset_once(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening = opening_with_weights()
        application = scored_application(
            opening, "ana@example.com", {StageKind.LANGUAGE: 70}, name="Ana"
        )
        candidate_id = application.candidate_id
    log_in(client, "rec@example.com")
    exported = client.get(f"/recruit/candidates/{candidate_id}/decision-log.csv")
    assert exported.status_code == 200
    assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert exported.get_data(as_text=True).startswith("at,kind,application_id,")
