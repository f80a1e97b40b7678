"""Funnel analytics and the fairness report on hand-computed examples; page and PDF."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import delete, select

from app import db
from recruit.analytics import funnel_report
from recruit.fairness import fairness_report
from recruit.models import (
    ApplicationStatus,
    DemographicResponse,
    Opening,
    RaceEthnicity,
    Sex,
    StageKind,
    StageTransition,
)
from tests.conftest import log_in, make_user
from tests.recruit.ranking_factories import (
    BASE_TIME,
    opening_with_weights,
    scored_application,
)

L, C = StageKind.LANGUAGE, StageKind.COMMUNICATION
HIRED, REJECTED = ApplicationStatus.HIRED, ApplicationStatus.REJECTED


def funnel_example():  # noqa: ANN201
    """Five applications whose numbers are worked out by hand in the tests."""
    opening = opening_with_weights()
    a = scored_application(
        opening,
        "a@example.com",
        {L: 80, C: 70},
        status=HIRED,
        stage=StageKind.INTERVIEW,
        languages={"en": (80, "C1")},
    )
    b = scored_application(
        opening,
        "b@example.com",
        {L: 60, C: 40},
        status=REJECTED,
        stage=C,
        languages={"en": (60, "B2")},
    )
    scored_application(opening, "c@example.com", {L: 45}, stage=L)
    scored_application(opening, "d@example.com", {})
    scored_application(
        opening,
        "e@example.com",
        {L: 90, C: 30},
        status=REJECTED,
        stage=C,
        languages={"es": (90, "C2")},
    )
    return opening, a, b


def test_funnel_by_hand(app: Flask) -> None:
    with app.app_context():
        opening, a, b = funnel_example()
        stages = {s.kind: s for s in opening.stages}
        db.session.execute(delete(StageTransition))
        day = timedelta(days=1)
        for application, moves in (
            (
                a,
                [
                    (None, StageKind.SCREENING, 0),
                    (StageKind.SCREENING, L, 1),
                    (L, C, 3),
                ],
            ),
            (
                b,
                [
                    (None, StageKind.SCREENING, 0),
                    (StageKind.SCREENING, L, 2),
                    (L, C, 2.5),
                ],
            ),
        ):
            for source, target, days in moves:
                db.session.add(
                    StageTransition(
                        application_id=application.id,
                        opening_id=opening.id,
                        from_stage_id=stages[source].id if source else None,
                        to_stage_id=stages[target].id,
                        to_status="active",
                        at=BASE_TIME + days * day,
                    )
                )
        db.session.commit()
        report = funnel_report([opening], opening.title)
        by_kind = {s.kind: s for s in report.stages}
        assert report.total == 5
        assert report.statuses == {"hired": 1, "rejected": 2, "active": 2}
        assert [s.reached for s in report.stages] == [5, 4, 3, 1, 1, 1]
        conversions = [s.conversion for s in report.stages]
        assert conversions[:3] == [0.8, 0.75, pytest.approx(1 / 3)]
        assert conversions[5] is None
        assert by_kind["language"].pass_rate == 0.75
        assert by_kind["communication"].pass_rate == pytest.approx(1 / 3)
        assert by_kind["screening"].median_days == 1.5
        assert by_kind["language"].median_days == 1.25
        assert by_kind["language"].agreement_n == 3
        assert by_kind["language"].agreement_auc == 0.5
        assert by_kind["language"].agreement_r == pytest.approx(0.18898, abs=1e-5)
        assert by_kind["communication"].agreement_auc == 1.0
        assert by_kind["communication"].agreement_r == pytest.approx(0.97073, abs=1e-5)
        assert by_kind["language"].histogram[4] == 1  # 45 lies in 40-50
        languages = {lang.language: lang for lang in report.languages}
        assert languages["en"].mean == 70.0
        assert languages["es"].median == 90.0
        assert report.outcomes_recorded == 0
        assert all(not s.validity for s in report.stages)


def test_validity_with_outcomes(app: Flask) -> None:
    with app.app_context():
        opening = opening_with_weights()
        ids = [
            scored_application(opening, f"p{i}@example.com", {L: 40 + 5 * i}).id
            for i in range(12)
        ]
        scores = {app_id: 40 + 5 * i for i, app_id in enumerate(ids)}

        def provider(application_ids):  # noqa: ANN001, ANN202
            return {
                app_id: ("2026-03" if i < 10 else "2026-04", scores[app_id] / 10)
                for i, app_id in enumerate(ids)
            }

        report = funnel_report([opening], "x", provider=provider)
        language = next(s for s in report.stages if s.kind == "language")
        cohorts = dict(language.validity)
        assert cohorts["2026-03"].r == pytest.approx(1.0)
        assert cohorts["2026-04"].enough_data is False
        assert report.outcomes_recorded == 12


def test_fairness_by_hand(app: Flask) -> None:
    app.config["FAIRNESS_MIN_SHOWN"] = 1  # the ratios of a handful of people
    with app.app_context():
        opening = opening_with_weights()
        people = [
            ("f1", Sex.FEMALE, RaceEthnicity.ASIAN, HIRED, 80),
            ("f2", Sex.FEMALE, RaceEthnicity.WHITE, REJECTED, 40),
            ("m1", Sex.MALE, RaceEthnicity.WHITE, HIRED, 70),
            ("m2", Sex.MALE, RaceEthnicity.ASIAN, HIRED, 60),
            ("u1", None, None, REJECTED, 50),
        ]
        for name, sex, race, status, score in people:
            application = scored_application(
                opening, f"{name}@example.com", {L: score}, status=status
            )
            if sex is not None:
                db.session.add(
                    DemographicResponse(
                        user_id=application.candidate_id, sex=sex, race_ethnicity=race
                    )
                )
        db.session.commit()
        sections = {s.title: s for s in fairness_report([opening.id])}
        hired = {r.category: r for r in sections["hired"].tables["sex"]}
        assert hired["female"].rate == 0.5
        assert hired["male"].rate == 1.0
        assert hired["female"].impact_ratio == 0.5
        assert hired["female"].flagged is True
        assert hired["unknown"].total == 1
        assert hired["unknown"].impact_ratio is None
        both = {r.category: r for r in sections["hired"].tables["intersection"]}
        assert both["female × asian"].rate == 1.0
        composite = sections["composite"]
        assert composite.median == 60.0
        scored = {r.category: r for r in composite.tables["sex"]}
        # Above 60: f1 (80) and m1 (70).
        assert (scored["female"].selected, scored["female"].total) == (1, 2)
        assert scored["male"].impact_ratio == 1.0
        passed = {r.category: r for r in sections["passed:language"].tables["sex"]}
        assert passed["female"].rate == 0.5  # 40 is below the pass mark of 50


def test_fairness_ratio_of_exactly_four_fifths(app: Flask, client: FlaskClient) -> None:
    app.config["FAIRNESS_MIN_SHOWN"] = 1  # the ratios of a handful of people
    with app.app_context():
        make_user("admin@example.com", "admin")
        opening = opening_with_weights()
        # Women: 5 of 6 hired. Men: 2 of 3 hired, a ratio of exactly 0.8.
        people = [(Sex.FEMALE, index < 5) for index in range(6)]
        people += [(Sex.MALE, index < 2) for index in range(3)]
        for index, (sex, hired) in enumerate(people):
            application = scored_application(
                opening,
                f"p{index}@example.com",
                {L: 70},
                status=HIRED if hired else REJECTED,
            )
            db.session.add(
                DemographicResponse(
                    user_id=application.candidate_id,
                    sex=sex,
                    race_ethnicity=RaceEthnicity.WHITE,
                )
            )
        db.session.commit()
        opening_id = opening.id
        sections = {s.title: s for s in fairness_report([opening_id])}
        by_sex = {r.category: r for r in sections["hired"].tables["sex"]}
        assert by_sex["male"].impact_ratio == pytest.approx(0.8)
        assert by_sex["male"].flagged is False
    log_in(client, "admin@example.com")
    page = client.get(f"/recruit/openings/{opening_id}/fairness").get_data(as_text=True)
    hired_by_sex = page[page.index("By sex") : page.index("</table>")]
    assert "0.80" in hired_by_sex
    assert "under 0.8" not in hired_by_sex


def test_pages_and_pdf(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening, _a, _b = funnel_example()
        opening_id = opening.id
    log_in(client, "rec@example.com")
    page = client.get(f"/recruit/openings/{opening_id}/analytics").get_data(
        as_text=True
    )
    assert page.count("<svg") >= 5
    assert '<title id="funnel-title">Applications reaching each stage</title>' in page
    assert "<desc id=" in page
    assert "75%" in page  # language to communication, also in the table
    assert "Not enough data" in page
    overall = client.get("/recruit/analytics")
    assert overall.status_code == 200
    pdf = client.get(f"/recruit/openings/{opening_id}/analytics.pdf")
    assert pdf.mimetype == "application/pdf"
    text = "\n".join(
        page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages
    )
    assert "Funnel analytics" in text
    assert "Language proficiency" in text
    assert "75%" in text
    assert "Not enough data" in text
    # The score histograms: a heading, both axis titles and every band label.
    assert "Scores of Language proficiency" in text
    assert "Language scores: en" in text
    assert "Score (bands of 10 points)" in text
    assert "Number of applications" in text
    for low in range(0, 100, 10):
        assert f"{low}–{low + 10}" in text, low


def test_pdf_histogram_shows_small_counts() -> None:
    from reportlab.graphics.shapes import Rect, String

    from recruit.reports import MIN_BAR_HEIGHT, histogram_drawing

    counts = [0, 1, 0, 2, 0, 0, 0, 0, 0, 500]
    drawing = histogram_drawing(counts)
    bars = [shape for shape in drawing.contents if isinstance(shape, Rect)]
    # One bar per non-empty band; a single application among 500 is still seen.
    assert len(bars) == 3
    heights = sorted(bar.height for bar in bars)
    assert heights[0] >= MIN_BAR_HEIGHT
    assert heights[2] > heights[1]
    texts = [shape.text for shape in drawing.contents if isinstance(shape, String)]
    assert "1" in texts
    assert "2" in texts
    assert "500" in texts
    assert "0" in texts  # the value axis starts at 0


def test_demo_funnel_seeds_once(app: Flask, client: FlaskClient) -> None:
    from recruit.demo_funnel import CANDIDATES, FUNNEL_OPENING, seed_funnel_demo

    with app.app_context():
        make_user("rec@example.com", "recruiter")
        assert seed_funnel_demo("a long password")
        assert seed_funnel_demo("a long password") == []
        report = funnel_report(
            list(db.session.scalars(select(Opening).filter_by(title=FUNNEL_OPENING))),
            "demo",
        )
        assert report.total == CANDIDATES
        assert report.statuses.get("hired", 0) >= 1
        assert all(s.median_days is not None for s in report.stages[:3])
    log_in(client, "rec@example.com")
    assert client.get("/recruit/analytics").status_code == 200


def test_fairness_page_withholds_few_people(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("admin@example.com", "admin")
        opening = opening_with_weights()
        # Six women and one man who reported a sex and race.
        for index in range(7):
            application = scored_application(
                opening, f"p{index}@example.com", {L: 70}, status=HIRED
            )
            db.session.add(
                DemographicResponse(
                    user_id=application.candidate_id,
                    sex=Sex.FEMALE if index < 6 else Sex.MALE,
                    race_ethnicity=RaceEthnicity.WHITE,
                )
            )
        db.session.commit()
        opening_id = opening.id
        sections = {s.title: s for s in fairness_report([opening_id])}
        by_sex = {r.category: r for r in sections["hired"].tables["sex"]}
        assert by_sex["male"].withheld is True
        assert by_sex["male"].selected is None
        assert by_sex["male"].rate is None
        assert by_sex["female"].rate == 1.0
    log_in(client, "admin@example.com")
    page = client.get(f"/recruit/openings/{opening_id}/fairness").get_data(as_text=True)
    hired_by_sex = page[page.index("By sex") : page.index("</table>")]
    male_row = hired_by_sex[hired_by_sex.index(">Male<") :].split("</tr>")[0]
    assert "fewer than 5 people: outcomes withheld" in male_row
    assert "100%" not in male_row
