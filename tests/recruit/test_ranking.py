"""The ranking: composite, knock-outs, overrides, ties, filters, pages, re-ranking."""

from __future__ import annotations

import re

import pytest
from celery.signals import before_task_publish
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import db
from assessments.models import Assessment, Attempt, Item, Response, Score
from recruit.decisions import DecisionError, override_stage
from recruit.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    Opening,
    StageKind,
)
from recruit.ranking import RankingFilter, ranking_page, rerank_opening
from tests.conftest import csrf_token, log_in, make_user
from tests.recruit.ranking_factories import (
    count_queries,
    opening_with_weights,
    scored_application,
)

L, C, A = StageKind.LANGUAGE, StageKind.COMMUNICATION, StageKind.ATTITUDE


def names(applications: list[Application]) -> list[str]:
    return [application.candidate.name for application in applications]


def ranked(opening, **filters) -> list[str]:  # noqa: ANN001
    return names(ranking_page(opening, RankingFilter(**filters)).rows)


def test_composite_weighted_mean_and_knock_out(app: Flask) -> None:
    with app.app_context():
        opening = opening_with_weights()
        # Default weights: language 30, communication 20, attitude 15.
        good = scored_application(opening, "good@example.com", {L: 80, C: 60})
        out = scored_application(opening, "out@example.com", {L: 90, C: 40})
        assert good.composite_score == 72.0  # (30*80 + 20*60) / 50
        assert good.knocked_out is False
        assert out.composite_score == 70.0  # (30*90 + 20*40) / 50
        assert out.knocked_out is True
        assert ranked(opening) == ["good", "out"]


def test_ties_break_on_language_then_time(app: Flask) -> None:
    with app.app_context():
        opening = opening_with_weights()
        # Equal composites of 70; the language score and then the time decide.
        scored_application(
            opening, "late@example.com", {L: 70, C: 70}, applied_minutes=5
        )
        scored_application(opening, "early@example.com", {L: 70, C: 70})
        scored_application(opening, "lang@example.com", {L: 80, C: 55})
        scored_application(opening, "none@example.com", {})
        assert ranked(opening) == ["lang", "early", "late", "none"]


def test_override_lets_knock_out_through(app: Flask) -> None:
    with app.app_context():
        recruiter = make_user("rec@example.com", "recruiter")
        opening = opening_with_weights()
        out = scored_application(opening, "out@example.com", {L: 90, C: 40})
        scored_application(opening, "mid@example.com", {L: 60, C: 60})
        assert ranked(opening) == ["mid", "out"]
        communication = opening.stage(C)
        with pytest.raises(DecisionError):
            override_stage(
                out, communication, recruiter, reason=" ", waive_pass_mark=True
            )
        override_stage(
            out,
            communication,
            recruiter,
            reason="Strong interview",
            waive_pass_mark=True,
        )
        assert out.knocked_out is False
        assert out.composite_score == 70.0
        assert ranked(opening) == ["out", "mid"]
        event = db.session.scalar(select(AuditEvent).filter_by(action="override"))
        assert event.actor_id == recruiter.id
        assert event.reason == "Strong interview"
        assert event.before["knocked_out"] is True
        assert event.after["knocked_out"] is False
        assert event.created_at is not None


def test_score_override_changes_composite(app: Flask) -> None:
    with app.app_context():
        recruiter = make_user("rec@example.com", "recruiter")
        opening = opening_with_weights()
        application = scored_application(opening, "a@example.com", {L: 80, C: 60})
        override_stage(
            application,
            opening.stage(C),
            recruiter,
            reason="Rescored by hand",
            score=80,
        )
        assert application.composite_score == 80.0
        event = db.session.scalar(select(AuditEvent).filter_by(action="override"))
        assert event.before["composite"] == 72.0
        assert event.after["composite"] == 80.0
        # Clearing the override restores the computed score.
        override_stage(application, opening.stage(C), recruiter, reason="Undo")
        assert application.composite_score == 72.0


def test_filters(app: Flask) -> None:
    with app.app_context():
        opening = opening_with_weights(languages=["en", "es"])
        stages = {s.kind: s for s in opening.stages}
        scored_application(
            opening,
            "ana@example.com",
            {L: 85, C: 70},
            languages={"en": (85, "C1"), "es": (85, "C2")},
            stage=C,
        )
        scored_application(
            opening,
            "ben@example.com",
            {L: 60, C: 90},
            languages={"en": (60, "B1")},
            status=ApplicationStatus.HOLD,
            applied_minutes=60 * 24 * 3,
        )
        scored_application(opening, "cai@example.com", {L: 40}, stage=L)
        assert ranked(opening, language="es") == ["ana"]
        assert ranked(opening, cefr_min="B2") == ["ana"]
        assert ranked(opening, statuses=["hold"]) == ["ben"]
        assert ranked(opening, stage_id=stages[L].id) == ["cai"]
        assert ranked(opening, score_ranges={stages[C].id: (80.0, None)}) == ["ben"]
        assert ranked(opening, score_ranges={stages[L].id: (50.0, 86.0)}) == [
            "ana",
            "ben",
        ]
        from datetime import date

        assert ranked(opening, applied_from=date(2026, 3, 4)) == ["ben"]
        assert ranked(opening, applied_to=date(2026, 3, 2)) == ["ana", "cai"]
        assert ranked(opening, sort=f"stage:{stages[C].id}") == ["ben", "ana", "cai"]
        with_range = ranked(
            opening,
            sort=f"stage:{stages[C].id}",
            descending=False,
            score_ranges={stages[L].id: (30.0, None)},
        )
        assert with_range == ["ana", "ben", "cai"]
        second_page = ranked(opening, sort=f"stage:{stages[C].id}", page=2, per_page=1)
        assert second_page == ["ana"]
        third_page = ranked(opening, sort=f"stage:{stages[C].id}", page=3, per_page=1)
        assert third_page == ["cai"]
        assert ranked(opening, sort="name", descending=False) == ["ana", "ben", "cai"]


def test_page_filters_by_query_string(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening = opening_with_weights()
        for index in range(30):
            scored_application(
                opening, f"c{index:02d}@example.com", {L: 40 + index, C: 50}
            )
        opening_id = opening.id
        language_stage = opening.stage(L).id
    log_in(client, "rec@example.com")
    page = client.get(
        f"/recruit/openings/{opening_id}?per_page=25&min_{language_stage}=60"
    ).get_data(as_text=True)
    assert "10 applications match." in page
    assert "c29" in page
    assert "c19" not in page
    second = client.get(f"/recruit/openings/{opening_id}?per_page=25&page=2")
    body = second.get_data(as_text=True)
    assert "Page 2 of 2" in body
    assert len(re.findall(r'name="application_id"', body)) == 5
    assert 'for="f-stage"' in body  # every filter has a label


def test_bad_filters_show_messages(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening = opening_with_weights()
        scored_application(opening, "ana@example.com", {L: 85})
        opening_id = opening.id
        language_stage = opening.stage(L).id
    log_in(client, "rec@example.com")
    cases = [
        ("composite_min=abc", "f-cmin", "“abc” is not a number from 0 to 100."),
        ("composite_max=150", "f-cmax", "“150” is not a number from 0 to 100."),
        (
            "composite_min=80&composite_max=20",
            "f-cmax",
            "The maximum (20) is below the minimum (80).",
        ),
        (
            f"min_{language_stage}=90&max_{language_stage}=10",
            f"f-max-{language_stage}",
            "The maximum (10) is below the minimum (90).",
        ),
        (f"min_{language_stage}=x", f"f-min-{language_stage}", "“x” is not a number"),
        ("cefr_min=D9", "f-cefr", "“D9” is not a CEFR band (A1 to C2)."),
        ("applied_from=2026-13-45", "f-from", "“2026-13-45” is not a date"),
        (
            "applied_from=2026-03-05&applied_to=2026-03-01",
            "f-to",
            "This date is before the “Applied from” date.",
        ),
        ("language=english", "f-language", "“english” is not an ISO 639-1 code"),
        ("stage=99999", "f-stage", "Unknown stage 99999."),
        ("status=lost", "f-status", "Unknown status “lost”."),
        ("sort=salary", "f-sort", "Unknown sort order “salary”."),
    ]
    unfiltered = client.get(f"/recruit/openings/{opening_id}").get_data(as_text=True)
    assert "<bdi>ana</bdi>" in unfiltered
    assert 'class="error"' not in unfiltered
    for query, field_id, message in cases:
        response = client.get(f"/recruit/openings/{opening_id}?{query}")
        assert response.status_code == 200, query
        page = response.get_data(as_text=True)
        assert f'id="{field_id}-error"' in page, query
        assert message in page, query
        assert f'aria-describedby="{field_id}-error"' in page, query
        # A list that ignores a filter would mislead, so none is shown.
        assert "<bdi>ana</bdi>" not in page, query
        assert "Correct the filters marked below" in page, query
        export = client.get(f"/recruit/openings/{opening_id}/ranking.csv?{query}")
        assert export.status_code == 303, query
        assert "/ranking.csv" not in export.location, query


def test_page_query_count_is_flat(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        small = opening_with_weights("Small")
        large = opening_with_weights("Large")
        for index in range(3):
            scored_application(small, f"s{index}@example.com", {L: 70, C: 60})
        for index in range(60):
            scored_application(large, f"l{index}@example.com", {L: 70, C: 60})
        ids = small.id, large.id
    log_in(client, "rec@example.com")
    counts = []
    for opening_id in ids:
        with app.app_context(), count_queries() as statements:
            response = client.get(f"/recruit/openings/{opening_id}?per_page=50")
            assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 10, counts


def test_settings_change_reranks_without_rescoring(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening = opening_with_weights()
        lang_first = scored_application(opening, "lang@example.com", {L: 90, C: 50})
        comm_first = scored_application(opening, "comm@example.com", {L: 60, C: 95})
        # A stored score of an answer, which re-ranking must leave alone.
        assessment = Assessment(stage=opening.stage(L), title="English")
        item = Item(assessment=assessment, kind="writing", prompt="Reply.")
        attempt = Attempt(application=lang_first, assessment=assessment)
        response = Response(attempt=attempt, item=item, text="Hello")
        db.session.add_all([assessment, item, attempt, response])
        db.session.flush()
        db.session.add(
            Score(
                response_id=response.id, scorer="writing", scorer_version="1", score=90
            )
        )
        db.session.commit()
        scores_before = [
            (s.id, s.score, s.scorer_version) for s in db.session.scalars(select(Score))
        ]
        opening_id = opening.id
        stages = list(opening.stages)
        assert ranked(opening) == ["lang", "comm"]
        ids = lang_first.id, comm_first.id
    log_in(client, "rec@example.com")
    form = {"csrf_token": csrf_token(client), "reason": "Chat matters more"}
    for index, stage in enumerate(stages):
        form[f"stages-{index}-stage_id"] = str(stage.id)
        weight = {"language": "10", "communication": "60"}.get(stage.kind.value, "0")
        form[f"stages-{index}-weight"] = weight
        form[f"stages-{index}-pass_mark"] = "50"
        form[f"stages-{index}-enabled"] = "y"
    published: list[str] = []

    def record(sender: str | None = None, **kwargs: object) -> None:
        published.append(str(sender))

    before_task_publish.connect(record)
    try:
        saved = client.post(f"/recruit/openings/{opening_id}/settings", data=form)
    finally:
        before_task_publish.disconnect(record)
    assert saved.status_code == 302
    assert "recruit.tasks.rerank_opening" in published
    assert not [name for name in published if "score_response" in name]
    with app.app_context():
        assert rerank_opening(opening_id) == 2
        opening = db.session.get(Opening, opening_id)
        assert ranked(opening) == ["comm", "lang"]
        comm = db.session.get(Application, ids[1])
        assert comm.composite_score == pytest.approx((10 * 60 + 60 * 95) / 70, abs=0.01)
        scores_after = [
            (s.id, s.score, s.scorer_version) for s in db.session.scalars(select(Score))
        ]
        assert scores_after == scores_before
        event = db.session.scalar(select(AuditEvent).filter_by(action="change_weights"))
        assert event.before["communication"]["weight"] == 20.0
        assert event.after["communication"]["weight"] == 60.0
        assert event.reason == "Chat matters more"


def test_settings_reject_invalid_weights(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening = opening_with_weights()
        stages = list(opening.stages)
        opening_id = opening.id
    log_in(client, "rec@example.com")
    form = {"csrf_token": csrf_token(client), "reason": "typo"}
    for index, stage in enumerate(stages):
        form[f"stages-{index}-stage_id"] = str(stage.id)
        form[f"stages-{index}-weight"] = "150"
        form[f"stages-{index}-pass_mark"] = "-1"
    page = client.post(f"/recruit/openings/{opening_id}/settings", data=form)
    assert page.status_code == 200
    assert 'aria-invalid="true"' in page.get_data(as_text=True)
    with app.app_context():
        assert {s.weight for s in db.session.get(Opening, opening_id).stages} != {150.0}
    without_token = client.post(f"/recruit/openings/{opening_id}/settings", data={})
    assert without_token.status_code == 400
