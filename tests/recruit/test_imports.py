"""Candidate CSV imports: accounts without passwords, large files in the background."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import db
from recruit.auth import find_user
from recruit.imports import import_candidates
from recruit.invitations import invitation_token
from recruit.models import Application, CandidateImport, ImportStatus
from tests.conftest import build_app, csrf_token, log_in, make_user
from tests.recruit.ranking_factories import opening_with_weights

ROWS = 5000


def csv_file(rows: list[tuple[str, str, str, object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["name", "email", "languages", "opening"])
    writer.writerows(rows)
    return buffer.getvalue().encode()


def test_imported_account_has_no_password(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        recruiter = make_user("rec@example.com", "recruiter")
        opening_id = opening_with_weights().id
        data = csv_file([("Ana Ruiz", "ana@example.com", "en", opening_id)])
        report = import_candidates(data, recruiter)
        assert [row.line for row in report.imported] == [2]
        user = find_user("ana@example.com")
        assert user.has_password is False
        assert user.check_password("") is False
        assert user.check_password(user.password_hash) is False
        token = invitation_token(user)
    page = client.get(f"/invitation/{token}")
    assert page.status_code == 200
    password = "a fresh password"
    sent = client.post(
        f"/invitation/{token}",
        data={
            "csrf_token": csrf_token(client, f"/invitation/{token}"),
            "password": password,
            "confirm": password,
        },
    )
    assert sent.status_code == 302
    with app.app_context():
        user = find_user("ana@example.com")
        assert user.has_password is True
        assert user.check_password(password) is True
    # The link is single-use: the new password changed what it signed.
    assert client.get(f"/invitation/{token}").status_code == 410


@pytest.fixture
def worker_app(tmp_path: Path) -> Iterator[Flask]:
    app = build_app(
        tmp_path,
        CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        CELERY_RESULT_BACKEND=f"db+sqlite:///{tmp_path / 'results.sqlite'}",
    )
    with start_worker(
        app.extensions["celery"],
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=60,
    ):
        yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.slow
def test_large_import_runs_in_background(worker_app: Flask) -> None:
    with worker_app.app_context():
        make_user("rec@example.com", "recruiter")
        opening_id = opening_with_weights().id
    rows: list[tuple[str, str, str, object]] = [
        (f"Person {index}", f"person{index}@example.com", "en:B2; es", opening_id)
        for index in range(ROWS)
    ]
    # Bad rows at file lines 3, 2502 and 5004 (line 1 is the header).
    rows.insert(1, ("No Email", "not-an-email", "en", opening_id))
    rows.insert(2500, ("Lost", "lost@example.com", "en", 999999))
    rows.append(("Again", "person0@example.com", "en", opening_id))
    client = worker_app.test_client()
    log_in(client, "rec@example.com")
    posted = client.post(
        "/recruit/import",
        data={
            "csrf_token": csrf_token(client, "/recruit/import"),
            "file": (io.BytesIO(csv_file(rows)), "people.csv"),
        },
        content_type="multipart/form-data",
    )
    assert posted.status_code == 303
    assert re.fullmatch(r".*/recruit/import/\d+", posted.location)
    deadline = time.monotonic() + 600
    page = client.get(posted.location).get_data(as_text=True)
    while "rows imported" not in page and time.monotonic() < deadline:
        assert "The import failed" not in page
        time.sleep(1)
        page = client.get(posted.location).get_data(as_text=True)
    assert f"{ROWS} rows imported." in page
    assert "3 rows rejected." in page
    rejected = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td></tr>', page)
    assert [int(line) for line, _message in rejected] == [3, 2502, ROWS + 4]
    assert "invalid email not-an-email" in rejected[0][1]
    assert "unknown opening 999999" in rejected[1][1]
    assert "duplicate" in rejected[2][1]
    with worker_app.app_context():
        assert (
            db.session.query(Application).filter_by(opening_id=opening_id).count()
            == ROWS
        )
        job = db.session.scalar(select(CandidateImport))
        assert job.status == ImportStatus.DONE
        assert job.imported == ROWS
        assert job.new_accounts == ROWS
        assert job.data == b""
        assert find_user("person4999@example.com").has_password is False
    # Someone else's import is not theirs to read.
    with worker_app.app_context():
        make_user("rec2@example.com", "recruiter")
    other = worker_app.test_client()
    log_in(other, "rec2@example.com")
    assert other.get(posted.location).status_code == 404
