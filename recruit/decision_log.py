"""Each candidate's decision log of automated scores and human decisions."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app import db
from assessments.models import Attempt, Response, Score
from recruit.exports import csv_cell
from recruit.models import (
    Application,
    AuditEvent,
    KnockoutQuestion,
    Scorecard,
    ScorecardRating,
    Screening,
    User,
)


def decision_log(user: User) -> dict[str, Any]:
    """Collect every automated score and human decision about ``user``, oldest first.

    Scores carry the scorer, its version and the inputs it read. Decisions
    carry their author and reason. The screening form's answers carry each
    knock-out outcome, and submitted interview scorecards carry their author,
    ratings and notes.
    """
    applications = db.session.scalars(
        select(Application)
        .where(Application.candidate_id == user.id)
        .options(joinedload(Application.opening))
        .order_by(Application.created_at)
    ).all()
    ids = [application.id for application in applications]
    scores = db.session.scalars(
        select(Score)
        .join(Response, Response.id == Score.response_id)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(Attempt.application_id.in_(ids))
        .options(
            selectinload(Score.response).joinedload(Response.item),
            selectinload(Score.response).joinedload(Response.attempt),
        )
        .order_by(Score.created_at, Score.id)
    ).all()
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.subject_user_id == user.id)
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ).all()
    entries = [_score_entry(score) for score in scores]
    entries += [_event_entry(event) for event in events]
    entries += _screening_entries(ids)
    entries += _scorecard_entries(ids)
    entries.sort(key=lambda entry: entry["at"])
    return {
        "candidate": {"id": user.id, "name": user.name, "email": user.email},
        "applications": [
            {
                "id": application.id,
                "opening": application.opening.title,
                "status": application.status.value,
                "composite": application.composite_score,
                "applied_at": application.created_at.isoformat(),
            }
            for application in applications
        ],
        "entries": entries,
    }


def _score_entry(score: Score) -> dict[str, Any]:
    response = score.response
    inputs: dict[str, Any] = {
        "item_id": response.item_id,
        "item_kind": response.item.kind,
        "prompt": response.item.prompt,
    }
    if response.text is not None:
        inputs["text"] = response.text
    if response.audio_key:
        inputs["audio_key"] = response.audio_key
    return {
        "at": score.created_at.isoformat(),
        "kind": "automated_score",
        "application_id": response.attempt.application_id,
        "author": f"{score.scorer} {score.scorer_version}",
        "scorer": score.scorer,
        "scorer_version": score.scorer_version,
        "score": score.score,
        "cefr": score.cefr,
        "subscores": score.subscores,
        "inputs": inputs,
        "evidence": score.evidence,
    }


def _event_entry(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": event.created_at.isoformat(),
        "kind": "human_decision" if event.actor_id else "system_change",
        "application_id": event.application_id,
        "action": event.action,
        "author": event.actor.email if event.actor else "system",
        "reason": event.reason,
        "before": event.before,
        "after": event.after,
    }


def _screening_entries(application_ids: list[int]) -> list[dict[str, Any]]:
    screenings = db.session.scalars(
        select(Screening)
        .where(Screening.application_id.in_(application_ids))
        .options(joinedload(Screening.application).joinedload(Application.candidate))
    ).all()
    opening_ids = {screening.application.opening_id for screening in screenings}
    questions = {
        str(question.id): question
        for question in db.session.scalars(
            select(KnockoutQuestion).where(KnockoutQuestion.opening_id.in_(opening_ids))
        )
    }
    entries = []
    for screening in screenings:
        answers = []
        # In the order the form asked them; deleted questions come last.
        order = sorted(
            screening.answers,
            key=lambda key: (key not in questions, _position(questions, key), key),
        )
        for question_id in order:
            answer = screening.answers[question_id]
            question = questions.get(question_id)
            answers.append(
                {
                    "question_id": int(question_id),
                    # A question deleted since the screening keeps only its id.
                    "question": question.text if question else None,
                    "answer": answer,
                    "accepted": answer in question.accepted if question else None,
                    "knock_out_reason": question.reason if question else None,
                }
            )
        entries.append(
            {
                "at": screening.submitted_at.isoformat(),
                "kind": "screening",
                "application_id": screening.application_id,
                "action": "submit_screening",
                "author": screening.application.candidate.email,
                "passed": screening.passed,
                "reason": screening.reason,
                "answers": answers,
            }
        )
    return entries


def _position(questions: dict[str, KnockoutQuestion], key: str) -> int:
    question = questions.get(key)
    return question.position if question is not None else 0


def _scorecard_entries(application_ids: list[int]) -> list[dict[str, Any]]:
    """List the submitted scorecards; drafts do not count, so they are left out."""
    cards = db.session.scalars(
        select(Scorecard)
        .where(
            Scorecard.application_id.in_(application_ids),
            Scorecard.submitted_at.is_not(None),
        )
        .options(
            joinedload(Scorecard.recruiter),
            selectinload(Scorecard.ratings).joinedload(ScorecardRating.competency),
        )
    ).all()
    entries = []
    for card in cards:
        assert card.submitted_at is not None
        ratings = sorted(card.ratings, key=lambda r: r.competency.position)
        entries.append(
            {
                "at": card.submitted_at.isoformat(),
                "kind": "interview_scorecard",
                "application_id": card.application_id,
                "action": "submit_scorecard",
                "author": card.recruiter.email,
                "notes": card.notes,
                "ratings": [
                    {
                        "competency": rating.competency.name,
                        "rating": rating.rating,
                        "note": rating.note,
                    }
                    for rating in ratings
                ],
            }
        )
    return entries


DECISION_LOG_COLUMNS = (
    "at",
    "kind",
    "application_id",
    "action",
    "author",
    "scorer",
    "scorer_version",
    "score",
    "cefr",
    "reason",
    "details",
)


def decision_log_csv(log: dict[str, Any]) -> str:
    """Write the decision log as CSV, one entry a row, with nested values as JSON."""
    import json

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(DECISION_LOG_COLUMNS)
    for entry in log["entries"]:
        details = {
            key: entry.get(key)
            for key in (
                "subscores",
                "inputs",
                "evidence",
                "before",
                "after",
                "passed",
                "answers",
                "notes",
                "ratings",
            )
            if key in entry
        }
        row = [entry.get(column, "") for column in DECISION_LOG_COLUMNS[:-1]]
        row.append(json.dumps(details, ensure_ascii=False, sort_keys=True))
        writer.writerow([csv_cell("" if v is None else v) for v in row])
    return buffer.getvalue()
