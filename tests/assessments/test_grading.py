"""Worker-side scoring: idempotence, failures, and answers that finish together."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app import db
from assessments import grading
from assessments.items import ScoreOutcome
from assessments.models import Attempt, Response, ResponseStatus, Score
from assessments.services import start_attempt, submit_text
from recruit.models import Application, StageKind, StageResult, User
from recruit.services import apply
from tests.conftest import build_app, make_user
from tests.factories import language_opening


def scored_attempt(app: Flask, *, submitted: bool = True) -> tuple[int, list[int]]:
    """An attempt whose three answers are stored as scored, before ``finish`` runs.

    With ``submitted`` false the attempt stays in progress, so closing an answer
    writes nothing before the stage is recomputed.
    """
    with app.app_context():
        user = make_user("cand@example.com", "candidate")
        opening = language_opening()
        application = apply(db.session.get(User, user.id), opening)
        assessment = opening.stage(StageKind.LANGUAGE).assessments[0]
        attempt = start_attempt(application.id, assessment)
        ids = []
        for number, item in enumerate(assessment.items):
            response = Response(
                attempt=attempt,
                item=item,
                status=ResponseStatus.SUBMITTED,
                text="reply" if item.kind == "writing" else None,
                submitted_at=attempt.started_at,
            )
            db.session.add(response)
            db.session.flush()
            outcome = ScoreOutcome("writing", "1", 60.0 + 10 * number, "B2")
            grading.store_score(response, outcome)
            ids.append(response.id)
        if submitted:
            attempt.status = attempt.status.SUBMITTED
            attempt.submitted_at = attempt.started_at
        db.session.commit()
        return attempt.id, ids


def test_score_twice_stores_one(app: Flask) -> None:
    with app.app_context():
        make_user("cand@example.com", "candidate")
        opening = language_opening()
        application = apply(db.session.get(User, 1), opening)
        assessment = opening.stage(StageKind.LANGUAGE).assessments[0]
        attempt = start_attempt(application.id, assessment)
        response = submit_text(attempt, assessment.items[0], "Thank you for waiting.")
        assert grading.score_response(response.id) == "scored"
        assert grading.score_response(response.id) == "done"
        scores = db.session.scalars(select(Score)).all()
        assert len(scores) == 1
        assert db.session.get(Response, response.id).scoring_runs == 1


def test_missing_and_draft_responses(app: Flask) -> None:
    with app.app_context():
        assert grading.score_response(999) == "missing"


def test_finish_together_one_stage_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers closing answers of one application at once agree on one result.

    Each recomputation waits up to 3 s for the other inside the stage's
    recomputation. Without the lock on the application both would insert the
    stage's result and one would fail on the unique constraint.
    """
    import recruit.services

    app = build_app(tmp_path)
    attempt_id, response_ids = scored_attempt(app, submitted=False)
    recompute = recruit.services.recompute_stage
    both_inside = threading.Barrier(2)

    def recompute_together(*args: object) -> object:
        with contextlib.suppress(threading.BrokenBarrierError):
            both_inside.wait(timeout=3)
        return recompute(*args)

    monkeypatch.setattr(recruit.services, "recompute_stage", recompute_together)
    errors: list[BaseException] = []

    def close(response_id: int) -> None:
        with app.app_context():
            try:
                grading.finish(db.session.get(Response, response_id))
            except BaseException as error:  # noqa: BLE001 - reported by the test
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=close, args=(i,)) for i in response_ids[1:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with app.app_context():
        results = db.session.scalars(select(StageResult)).all()
        assert len(results) == 1
        assert results[0].complete is True
        assert results[0].details["en"]["writing"] == 60.0
        assert results[0].details["en"]["speaking"] == 75.0
        assert db.session.get(Application, 1).language_score == 67.5


def test_failed_answer_keeps_stage_open(app: Flask) -> None:
    attempt_id, response_ids = scored_attempt(app)
    with app.app_context():
        response = db.session.get(Response, response_ids[2])
        db.session.delete(response.scores[0])
        db.session.commit()
        grading.mark_failed(db.session.get(Response, response_ids[2]), "unreadable")
        result = db.session.scalars(select(StageResult)).one()
        assert result.complete is False
        assert result.needs_review is True
        assert db.session.get(Attempt, attempt_id).status.value == "submitted"
        assert db.session.get(Response, response_ids[2]).error == "unreadable"
