"""Screening and interview stages: knock-outs, progression and scorecards."""

from __future__ import annotations

import email
from email import policy
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import db
from recruit.models import (
    Application,
    ApplicationLanguage,
    ApplicationStatus,
    InterviewCompetency,
    KnockoutQuestion,
    Notification,
    Opening,
    Screening,
    StageKind,
    User,
)
from recruit.notifications import outbox_dir
from recruit.ranking import rerank_opening
from recruit.services import ranking
from recruit.tasks import notify_stage_finished, send_notification
from tests.conftest import csrf_token, log_in, make_user
from tests.factories import funnel_opening
from tests.recruit.ranking_factories import scored_application

GOOD_FORM = {
    "country": "US",
    "time_zone": "America/Chicago",
    "language_1-code": "en",
    "language_1-level": "C1",
    "language_2-code": "es",
    "language_2-level": "B1",
    "shifts": ["day", "night"],
}


@pytest.fixture
def opening_id(app: Flask) -> int:
    with app.app_context():
        make_user("cand@example.com", "candidate", name="Cand One")
        make_user("rec@example.com", "recruiter", name="Rita Recruiter")
        make_user("rec2@example.com", "recruiter", name="Sam Second")
        return funnel_opening().id


def apply(client: FlaskClient, opening_id: int) -> int:
    applied = client.post(
        f"/openings/{opening_id}", data={"csrf_token": csrf_token(client)}
    )
    return int(applied.location.rsplit("/", 1)[1])


def knockout_answers(accept: bool = True) -> dict[str, str]:
    answers = {}
    for question in db.session.scalars(select(KnockoutQuestion)):
        options = question.options or ["yes", "no"]
        rejected = [option for option in options if option not in question.accepted]
        answers[f"question_{question.id}"] = (
            question.accepted[0] if accept else rejected[0]
        )
    return answers


def send_screening(client: FlaskClient, application_id: int, form: dict[str, Any]):
    return client.post(
        f"/me/applications/{application_id}/screening",
        data={"csrf_token": csrf_token(client), **form},
    )


def test_application_starts_at_screening(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        application_id = apply(client, opening_id)
        application = db.session.get(Application, application_id)
        assert application.current_stage.kind == StageKind.SCREENING
        page = client.get(f"/me/applications/{application_id}").get_data(as_text=True)
        assert "Fill in the screening form" in page


def test_screening_errors_sit_next_to_fields(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        application_id = apply(client, opening_id)
        form = {
            **GOOD_FORM,
            "time_zone": "Mars/Olympus_Mons",
            "language_1-code": "xx",
            "shifts": [],
            "phone": "call me maybe",
        }
        sent = send_screening(client, application_id, form)
        assert sent.status_code == 200
        page = sent.get_data(as_text=True)
        for field_id, message in (
            ("time_zone", "Choose a time zone from the list."),
            ("language_1-code", "Choose a language from the list."),
            ("phone", "Use digits, spaces and + ( ) - only."),
        ):
            assert f'id="{field_id}-error"' in page, field_id
            assert message in page
        assert "Choose at least one shift." in page
        assert page.count("Answer this question.") == 3
        assert db.session.query(Screening).count() == 0


# Territory codes of CLDR that are not ISO 3166-1 countries: Ascension Island,
# Clipperton, Sark, Diego Garcia, Ceuta and Melilla, the European Union, the
# Eurozone, the Canary Islands, Outlying Oceania, Tristan da Cunha, the United
# Nations, two pseudo-locales, Kosovo (user-assigned XK) and the unknown ZZ.
NOT_ISO_3166 = (
    "AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA",
    "XB", "XK", "ZZ",
)  # fmt: skip


def test_country_choices_are_iso_3166() -> None:
    from recruit.screening import country_codes

    codes = country_codes()
    assert len(codes) == 249
    assert [code for code in NOT_ISO_3166 if code in codes] == []
    assert codes["US"] == "United States"
    assert codes["CI"] == "Côte d’Ivoire"
    for code in ("AQ", "BV", "PS"):
        assert code in codes, code


def test_time_zone_choices_are_iana_zones() -> None:
    from recruit.screening import time_zones, valid_time_zone

    zones = time_zones()
    assert "America/Chicago" in zones
    assert "Europe/Kyiv" in zones
    assert "Asia/Kolkata" in zones
    for legacy in ("Europe/Kiev", "Asia/Calcutta", "US/Eastern", "Etc/GMT+5"):
        assert legacy not in zones, legacy
    for text in (
        "Cuba",
        "EST",
        "Factory",
        "localtime",
        "posixrules",
        "Europe/Kiev",
        "America/Chicago ",
        "../etc/passwd",
        "",
    ):
        assert not valid_time_zone(text), text
    assert valid_time_zone("America/Chicago")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("country", "EU", "Choose your country from the list."),
        ("country", "XK", "Choose your country from the list."),
        ("country", "Narnia", "Choose your country from the list."),
        ("time_zone", "localtime", "Choose a time zone from the list."),
        ("time_zone", "Cuba", "Choose a time zone from the list."),
        ("time_zone", "GMT+3", "Choose a time zone from the list."),
    ],
)
def test_screening_rejects_free_text_places(
    app: Flask,
    client: FlaskClient,
    opening_id: int,
    field: str,
    value: str,
    message: str,
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        application_id = apply(client, opening_id)
        form = {**GOOD_FORM, **knockout_answers(), field: value}
        sent = send_screening(client, application_id, form)
        assert sent.status_code == 200
        page = sent.get_data(as_text=True)
        assert f'id="{field}-error"' in page
        assert message in page
        assert db.session.query(Screening).count() == 0


def test_submit_screening_rejects_unknown_country(app: Flask, opening_id: int) -> None:
    from recruit.screening import ScreeningError, submit_screening
    from recruit.services import apply as apply_to

    with app.app_context():
        candidate = db.session.scalar(select(User).filter_by(email="cand@example.com"))
        application = apply_to(candidate, db.session.get(Opening, opening_id))
        with pytest.raises(ScreeningError, match="Unknown country"):
            submit_screening(
                application,
                phone=None,
                country="EU",
                time_zone="Europe/Berlin",
                languages=[{"code": "de", "level": "C2"}],
                shifts=["day"],
                answers={},
            )
        assert db.session.query(Screening).count() == 0


def test_passed_screening_advances_to_language(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        application_id = apply(client, opening_id)
        sent = send_screening(
            client, application_id, {**GOOD_FORM, **knockout_answers()}
        )
        assert sent.status_code == 302
        application = db.session.get(Application, application_id)
        assert application.status == ApplicationStatus.ACTIVE
        assert application.current_stage.kind == StageKind.LANGUAGE
        result = application.result_for(application.opening.stage(StageKind.SCREENING))
        assert result.score == 100.0
        assert result.passed is True
        # A passed screening of weight 0 is a verdict, not a composite of 100.
        assert application.composite_score is None
        assert application.knocked_out is False
        screening = db.session.scalar(select(Screening))
        assert screening.languages == [
            {"code": "en", "level": "C1"},
            {"code": "es", "level": "B1"},
        ]
        assert screening.shifts == ["day", "night"]
        claimed = {
            row.language: row.claimed_level
            for row in db.session.scalars(select(ApplicationLanguage))
        }
        assert claimed == {"en": "C1", "es": "B1"}
        again = send_screening(
            client, application_id, {**GOOD_FORM, **knockout_answers()}
        )
        assert again.status_code == 302
        assert db.session.query(Screening).count() == 1


def fail_night_shift_question(
    client: FlaskClient, opening_id: int
) -> tuple[int, KnockoutQuestion]:
    """Apply and answer "no" to the night-shift knock-out question."""
    application_id = apply(client, opening_id)
    answers = knockout_answers()
    night = db.session.scalar(select(KnockoutQuestion).filter_by(position=2))
    answers[f"question_{night.id}"] = "no"
    sent = send_screening(client, application_id, {**GOOD_FORM, **answers})
    assert sent.status_code == 302
    return application_id, night


def test_failed_knockout_closes_application(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        application_id, night = fail_night_shift_question(client, opening_id)
        application = db.session.get(Application, application_id)
        assert application.status == ApplicationStatus.REJECTED
        assert application.current_stage.kind == StageKind.SCREENING
        screening = db.session.scalar(select(Screening))
        assert screening.passed is False
        assert screening.reason == night.reason
        page = client.get(f"/me/applications/{application_id}").get_data(as_text=True)
        assert (
            "You did not pass the stage “Application and screening”. Your application "
            "is closed." in (" ".join(page.split()))
        )
        stage = page.split('id="stage-screening"')[1].split("</li>")[0]
        assert "Not passed: this role needs something your screening answers" in stage
        assert "What happens next:" in stage
        assert "Your application for this opening is closed" in stage

        result = application.result_for(application.current_stage)
        assert notify_stage_finished.apply(args=[result.id]).get() == 2
        knocked_out = db.session.scalars(
            select(Notification).filter_by(template="knocked_out")
        ).one()
        assert knocked_out.recipient == "cand@example.com"
        assert send_notification.apply(args=[knocked_out.id]).get() == "sent"
        eml = next(outbox_dir().glob("*-knocked_out.eml")).read_bytes()
        message = email.message_from_bytes(eml, policy=policy.default)
        assert message["Subject"] == "Your application for Chat agent"
        body = message.get_body(("plain",)).get_content()
        assert "your application is closed and no more tests can be taken" in body
        assert f"/me/applications/{application_id}" in body
        assert night.reason not in body
    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    page = recruiter.get(f"/recruit/applications/{application_id}").get_data(
        as_text=True
    )
    assert "Closed by a knock-out question" in page
    assert "Cannot work the monthly night-shift week." in page


def test_knockout_has_no_composite_and_ranks_last(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        application_id, night = fail_night_shift_question(client, opening_id)
        opening = db.session.get(Opening, opening_id)
        low = scored_application(
            opening, "low@example.com", {StageKind.LANGUAGE: 55.0}, name="Low Scorer"
        )
        unscored = scored_application(opening, "new@example.com", {}, name="Not Yet")
        # Below the language pass mark: knocked out, but with a real composite.
        failing = scored_application(
            opening, "fail@example.com", {StageKind.LANGUAGE: 12.0}, name="Below Mark"
        )
        expected = [low.id, unscored.id, failing.id, application_id]
        for rerun in (False, True):
            if rerun:
                rerank_opening(opening_id)
            application = db.session.get(Application, application_id)
            db.session.refresh(application)
            result = application.result_for(opening.stage(StageKind.SCREENING))
            assert result.complete is True
            assert result.passed is False
            assert result.score is None
            assert result.details["knocked_out_by"] == night.reason
            assert application.knocked_out is True
            assert application.composite_score is None
        assert [a.id for a in ranking(opening)] == expected
    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    page = recruiter.get(f"/recruit/openings/{opening_id}").get_data(as_text=True)
    row = page[page.index("Cand One") :]
    row = row[: row.index("</tr>")]
    assert "knocked out" in row
    assert night.reason in row
    # The composite column shows the verdict, with no number in bold.
    assert "<strong>" not in row
    assert page.index("Below Mark") < page.index("Cand One")
    by_composite = recruiter.get(
        f"/recruit/openings/{opening_id}?sort=composite&dir=asc"
    ).get_data(as_text=True)
    assert by_composite.index("Below Mark") < by_composite.index("Cand One")
    assert by_composite.index("Low Scorer") < by_composite.index("Cand One")


def rate(client: FlaskClient, application_id: int, ratings: dict[int, int], **extra):
    data = {"csrf_token": csrf_token(client), "notes": "Structured interview."}
    data.update({f"rating_{key}": str(value) for key, value in ratings.items()})
    data.update(extra)
    data.setdefault("submit", "Submit scorecard")
    return client.post(f"/recruit/applications/{application_id}/scorecard", data=data)


@pytest.fixture
def interviewed(app: Flask, client: FlaskClient, opening_id: int) -> int:
    log_in(client, "cand@example.com")
    with app.app_context():
        application_id = apply(client, opening_id)
        application = db.session.get(Application, application_id)
        application.current_stage = application.opening.stage(StageKind.INTERVIEW)
        db.session.commit()
        return application_id


def competency_ids() -> list[int]:
    return list(
        db.session.scalars(
            select(InterviewCompetency.id).order_by(InterviewCompetency.position)
        )
    )


def test_scorecards_score_and_flag_disagreement(app: Flask, interviewed: int) -> None:
    first, second = app.test_client(), app.test_client()
    log_in(first, "rec@example.com")
    log_in(second, "rec2@example.com")
    with app.app_context():
        ids = competency_ids()
    assert len(ids) == 5
    # The fifth competency stays unrated by both: it is missing, not zero.
    ratings = {ids[0]: 5, ids[1]: 4, ids[2]: 3, ids[3]: 4}
    assert rate(first, interviewed, ratings).status_code == 302
    ratings = {ids[0]: 3, ids[1]: 4, ids[2]: 3, ids[3]: 5}
    assert rate(second, interviewed, ratings).status_code == 302
    with app.app_context():
        application = db.session.get(Application, interviewed)
        result = application.result_for(application.opening.stage(StageKind.INTERVIEW))
        # Means 4, 4, 3, 4.5: mean 3.875, mapped (3.875 - 1) / 4 * 100.
        assert result.score == pytest.approx(71.9)
        rows = result.details["competencies"]
        assert [row["id"] for row in rows] == ids
        flags = [row["disagreement"] for row in rows]
        assert flags == [True, False, False, False, False]
        assert rows[4]["mean"] is None
        assert result.needs_review is True
        assert application.composite_score is not None
    page = first.get(f"/recruit/applications/{interviewed}").get_data(as_text=True)
    assert "recruiters differ by more than one point" in page
    assert page.index("Customer focus") < page.index("Problem solving")


def test_draft_scorecard_does_not_count(app: Flask, interviewed: int) -> None:
    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    with app.app_context():
        ids = competency_ids()
        saved = rate(recruiter, interviewed, {ids[0]: 2}, submit="", save="Save draft")
        assert saved.status_code == 302
        application = db.session.get(Application, interviewed)
        stage = application.opening.stage(StageKind.INTERVIEW)
        assert application.result_for(stage) is None


def test_recruiter_edits_only_own_scorecard(app: Flask, interviewed: int) -> None:
    from recruit.models import Scorecard

    first, second = app.test_client(), app.test_client()
    log_in(first, "rec@example.com")
    log_in(second, "rec2@example.com")
    with app.app_context():
        ids = competency_ids()
    rate(first, interviewed, {ids[0]: 5})
    form = second.get(f"/recruit/applications/{interviewed}/scorecard")
    assert 'value="5" checked' not in form.get_data(as_text=True)
    rate(second, interviewed, {ids[0]: 1})
    with app.app_context():
        cards = {
            card.recruiter.email: [r.rating for r in card.ratings]
            for card in db.session.scalars(select(Scorecard))
        }
    assert cards == {"rec@example.com": [5], "rec2@example.com": [1]}


def test_submit_needs_a_rating(app: Flask, interviewed: int) -> None:
    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    with app.app_context():
        refused = rate(recruiter, interviewed, {})
        assert refused.status_code == 200
        assert "Rate at least one competency" in refused.get_data(as_text=True)


def test_candidate_cannot_open_scorecards(
    app: Flask, client: FlaskClient, interviewed: int
) -> None:
    assert (
        client.get(f"/recruit/applications/{interviewed}/scorecard").status_code == 403
    )
    posted = client.post(
        f"/recruit/applications/{interviewed}/scorecard",
        data={"csrf_token": csrf_token(client), "rating_1": "5", "submit": "Submit"},
    )
    assert posted.status_code == 403
    with app.app_context():
        from recruit.models import Scorecard

        assert db.session.query(Scorecard).count() == 0


def test_decision_log_has_scorecards_and_screening(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        application_id = apply(client, opening_id)
        sent = send_screening(
            client, application_id, {**GOOD_FORM, **knockout_answers()}
        )
        assert sent.status_code == 302
        application = db.session.get(Application, application_id)
        application.current_stage = application.opening.stage(StageKind.INTERVIEW)
        db.session.commit()
        candidate_id = application.candidate_id
        ids = competency_ids()
        questions = db.session.scalars(
            select(KnockoutQuestion).order_by(KnockoutQuestion.position)
        ).all()
        question_texts = [question.text for question in questions]
    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    rated = rate(
        recruiter,
        application_id,
        {ids[0]: 4, ids[1]: 2},
        notes="Calm with the angry caller.",
        **{f"note_{ids[1]}": "Missed the refund step."},
    )
    assert rated.status_code == 302
    exported = recruiter.get(f"/recruit/candidates/{candidate_id}/decision-log.json")
    assert exported.status_code == 200
    entries = exported.get_json()["entries"]
    kinds = [entry["kind"] for entry in entries]
    assert "screening" in kinds
    assert "interview_scorecard" in kinds
    screening = next(e for e in entries if e["kind"] == "screening")
    assert screening["passed"] is True
    assert screening["author"] == "cand@example.com"
    assert [a["question"] for a in screening["answers"]] == question_texts
    assert all(answer["accepted"] for answer in screening["answers"])
    card = next(e for e in entries if e["kind"] == "interview_scorecard")
    assert card["author"] == "rec@example.com"
    assert card["notes"] == "Calm with the angry caller."
    assert [r["rating"] for r in card["ratings"]] == [4, 2]
    assert card["ratings"][0]["competency"] == "Customer focus"
    assert card["ratings"][1]["note"] == "Missed the refund step."
    text = recruiter.get(
        f"/recruit/candidates/{candidate_id}/decision-log.csv"
    ).get_data(as_text=True)
    assert "interview_scorecard" in text
    assert "Missed the refund step." in text
    assert question_texts[0] in text


def test_decision_log_has_knockout_outcome(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    log_in(client, "cand@example.com")
    with app.app_context():
        application_id, night = fail_night_shift_question(client, opening_id)
        candidate_id = db.session.get(Application, application_id).candidate_id
        night_text, night_reason = night.text, night.reason
    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    entries = recruiter.get(
        f"/recruit/candidates/{candidate_id}/decision-log.json"
    ).get_json()["entries"]
    screening = next(e for e in entries if e["kind"] == "screening")
    assert screening["passed"] is False
    assert screening["reason"] == night_reason
    outcomes = {a["question"]: a["accepted"] for a in screening["answers"]}
    assert outcomes[night_text] is False
    assert sum(1 for accepted in outcomes.values() if not accepted) == 1
    failed = next(a for a in screening["answers"] if a["question"] == night_text)
    assert failed["answer"] == "no"


def test_scorecard_refused_before_interview(
    app: Flask, client: FlaskClient, opening_id: int
) -> None:
    from recruit.models import Scorecard

    log_in(client, "cand@example.com")
    with app.app_context():
        application_id = apply(client, opening_id)
        ids = competency_ids_of(application_id)
    recruiter = app.test_client()
    log_in(recruiter, "rec@example.com")
    url = f"/recruit/applications/{application_id}/scorecard"
    page = recruiter.get(url)
    assert page.status_code == 200
    assert "has not reached the interview stage" in page.get_data(as_text=True)
    refused = rate(recruiter, application_id, dict.fromkeys(ids, 5))
    assert refused.status_code == 409
    assert "has not reached the interview stage" in refused.get_data(as_text=True)
    as_json = recruiter.post(
        url,
        data={
            "csrf_token": csrf_token(recruiter),
            f"rating_{ids[0]}": "5",
            "submit": "Submit scorecard",
        },
        headers={"Accept": "application/json"},
    )
    assert as_json.status_code == 409
    assert "interview stage" in as_json.get_json()["error"]
    with app.app_context():
        assert db.session.query(Scorecard).count() == 0
        application = db.session.get(Application, application_id)
        stage = application.opening.stage(StageKind.INTERVIEW)
        assert application.result_for(stage) is None


def competency_ids_of(application_id: int) -> list[int]:
    from recruit.interview import add_default_competencies

    application = db.session.get(Application, application_id)
    stage = application.opening.stage(StageKind.INTERVIEW)
    ids = [competency.id for competency in add_default_competencies(stage)]
    db.session.commit()
    return ids


@pytest.mark.parametrize(
    ("stage", "status", "composite"),
    [
        (StageKind.LANGUAGE, ApplicationStatus.ACTIVE, 60.0),
        (StageKind.INTERVIEW, ApplicationStatus.ACTIVE, None),
        (StageKind.LANGUAGE, ApplicationStatus.HIRED, None),
    ],
)
def test_unreached_stage_not_in_composite(
    app: Flask, stage: StageKind, status: ApplicationStatus, composite: float | None
) -> None:
    from tests.recruit.ranking_factories import (
        opening_with_weights,
        scored_application,
    )

    with app.app_context():
        opening = opening_with_weights()
        scores = {StageKind.LANGUAGE: 60.0, StageKind.INTERVIEW: 100.0}
        both = scored_application(opening, "both@example.com", scores)
        application = scored_application(
            opening, "ana@example.com", scores, stage=stage, status=status
        )
        expected = composite if composite is not None else both.composite_score
        assert both.composite_score > 60.0
        assert application.composite_score == pytest.approx(expected)
