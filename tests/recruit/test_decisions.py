"""Decisions: bulk advance, hold and reject; hiring once; history and notifications."""

from __future__ import annotations

import contextlib
import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app import db
from recruit.decisions import DecisionError, application_hired, bulk_decide, hire
from recruit.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    Notification,
    Role,
    StageKind,
    StageTransition,
    User,
    Webhook,
    WebhookDelivery,
)
from recruit.tasks import dispatch_transitions
from tests.conftest import csrf_token, log_in, make_user
from tests.recruit.ranking_factories import (
    candidate,
    opening_with_weights,
    scored_application,
)

L, C = StageKind.LANGUAGE, StageKind.COMMUNICATION


def test_bulk_advance_hold_reject(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening = opening_with_weights()
        ids = [
            scored_application(opening, f"c{i}@example.com", {L: 70}, stage=L).id
            for i in range(3)
        ]
        opening_id = opening.id
    log_in(client, "rec@example.com")
    token = csrf_token(client, f"/recruit/openings/{opening_id}")
    url = f"/recruit/openings/{opening_id}/decisions"
    advanced = client.post(
        url,
        data={"csrf_token": token, "action": "advance", "application_id": ids[:2]},
    )
    assert advanced.status_code == 302
    no_reason = client.post(
        url, data={"csrf_token": token, "action": "reject", "application_id": ids[2]}
    )
    assert no_reason.status_code == 302
    client.post(
        url,
        data={"csrf_token": token, "action": "hold", "application_id": ids[1]},
    )
    client.post(
        url,
        data={
            "csrf_token": token,
            "action": "reject",
            "reason": "Writing below the bar for this client",
            "message": "Thank you; we encourage you to apply again next year.",
            "application_id": ids[2],
        },
    )
    with app.app_context():
        rows = {a.id: a for a in db.session.scalars(select(Application))}
        assert rows[ids[0]].current_stage.kind == StageKind.COMMUNICATION
        assert rows[ids[0]].status == ApplicationStatus.ACTIVE
        assert rows[ids[1]].status == ApplicationStatus.HOLD
        assert rows[ids[2]].status == ApplicationStatus.REJECTED
        actions = [e.action for e in db.session.scalars(select(AuditEvent))]
        assert actions.count("advance") == 2
        assert actions.count("reject") == 1
        rejection = db.session.scalar(
            select(Notification).filter_by(template="rejected")
        )
        assert "apply again next year" in rejection.context["message"]
        advances = db.session.scalars(
            select(Notification).filter_by(template="advanced")
        )
        assert len(list(advances)) == 2
        moves = db.session.scalars(
            select(StageTransition).where(StageTransition.application_id == ids[0])
        ).all()
        assert [m.to_stage.kind for m in moves][-1] == StageKind.COMMUNICATION
        assert moves[-1].from_stage.kind == StageKind.LANGUAGE


def test_history_of_application_made_by_ids(app: Flask) -> None:
    with app.app_context():
        opening = opening_with_weights()
        person = candidate("ids@example.com")
        stage_id = opening.stage(L).id
        db.session.add(
            Application(
                candidate_id=person.id, opening_id=opening.id, current_stage_id=stage_id
            )
        )
        db.session.commit()
        transition = db.session.scalar(select(StageTransition))
        assert transition.opening_id == opening.id
        assert transition.to_stage_id == stage_id
        assert transition.to_status == "active"
        assert transition.from_stage_id is None


def test_bulk_skips_closed_applications(app: Flask) -> None:
    with app.app_context():
        recruiter = make_user("rec@example.com", "recruiter")
        opening = opening_with_weights()
        open_one = scored_application(opening, "a@example.com", {L: 70})
        closed = scored_application(
            opening, "b@example.com", {L: 70}, status=ApplicationStatus.REJECTED
        )
        outcome = bulk_decide(opening.id, [open_one.id, closed.id], "hold", recruiter)
        assert outcome.done == [open_one.id]
        assert closed.id in outcome.skipped
        with pytest.raises(DecisionError):
            bulk_decide(opening.id, [open_one.id], "reject", recruiter, reason="  ")


def test_hire_makes_trainee_and_sends_signal(app: Flask) -> None:
    received: list[tuple[int, int]] = []

    def on_hired(application: Application) -> None:
        received.append((application.candidate_id, application.opening_id))

    application_hired.connect(on_hired)
    try:
        with app.app_context():
            recruiter = make_user("rec@example.com", "recruiter")
            first = opening_with_weights("First")
            second = opening_with_weights("Second")
            person = candidate("pat@example.com")
            chosen = scored_application(first, "", {L: 80}, user=person)
            other = scored_application(second, "", {L: 75}, user=person)
            hire(chosen, recruiter, "Best chat sample")
            assert db.session.get(User, person.id).role == Role.TRAINEE
            assert chosen.status == ApplicationStatus.HIRED
            assert received == [(person.id, first.id)]
            with pytest.raises(DecisionError, match="already hired"):
                hire(other, recruiter)
            event = db.session.scalar(select(AuditEvent).filter_by(action="hire"))
            assert event.before["role"] == "candidate"
            assert event.after["role"] == "trainee"
            assert db.session.scalar(select(Notification).filter_by(template="hired"))
    finally:
        application_hired.disconnect(on_hired)


def test_database_rejects_second_hire(app: Flask) -> None:
    with app.app_context():
        first = opening_with_weights("First")
        second = opening_with_weights("Second")
        person = candidate("pat@example.com")
        one = scored_application(first, "", {L: 80}, user=person)
        two = scored_application(second, "", {L: 75}, user=person)
        ids = one.id, two.id
        db.session.execute(
            update(Application)
            .where(Application.id == ids[0])
            .values(status=ApplicationStatus.HIRED)
        )
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.execute(
                update(Application)
                .where(Application.id == ids[1])
                .values(status=ApplicationStatus.HIRED)
            )
            db.session.commit()
        db.session.rollback()


def test_hire_page_shows_other_applications(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        first = opening_with_weights("Night shift chat")
        second = opening_with_weights("Weekend email desk")
        person = candidate("pat@example.com", "Pat Doe")
        chosen = scored_application(first, "", {L: 80}, user=person)
        scored_application(second, "", {L: 70}, user=person)
        chosen_id = chosen.id
    log_in(client, "rec@example.com")
    page = client.get(f"/recruit/applications/{chosen_id}/decide")
    body = page.get_data(as_text=True)
    assert "Weekend email desk" in body
    assert 'for="decision-reason"' in body
    assert "data-submit-once" in body
    assert "/static/js/submit-once.js" in body
    token = csrf_token(client, f"/recruit/applications/{chosen_id}/decide")
    unconfirmed = client.post(
        f"/recruit/applications/{chosen_id}/decide",
        data={"csrf_token": token, "decision-action": "hire"},
    )
    assert "Tick the box" in unconfirmed.get_data(as_text=True)
    confirmed = client.post(
        f"/recruit/applications/{chosen_id}/decide",
        data={
            "csrf_token": token,
            "decision-action": "hire",
            "decision-confirm_hire": "y",
            "decision-reason": "Top of the ranking",
        },
    )
    assert confirmed.status_code == 302
    with app.app_context():
        assert db.session.get(Application, chosen_id).status == ApplicationStatus.HIRED


@pytest.mark.postgres
def test_concurrent_hires_postgres(tmp_path) -> None:  # noqa: ANN001
    """Two transactions hiring one person: the second waits, then fails."""
    import threading

    import psycopg

    from tests.conftest import build_app, postgres_database

    with postgres_database() as url:
        app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            first = opening_with_weights("First")
            second = opening_with_weights("Second")
            person = candidate("pat@example.com")
            ids = [
                scored_application(first, "", {L: 80}, user=person).id,
                scored_application(second, "", {L: 75}, user=person).id,
            ]
            db.engine.dispose()
        hire_sql = "UPDATE application SET status = 'hired' WHERE id = %s"
        errors: list[Exception] = []
        with psycopg.connect(url) as one, psycopg.connect(url) as two:
            one.execute(hire_sql, (ids[0],))

            def second_hire() -> None:
                try:
                    two.execute(hire_sql, (ids[1],))
                    two.commit()
                except psycopg.errors.UniqueViolation as error:
                    errors.append(error)
                    two.rollback()

            thread = threading.Thread(target=second_hire)
            thread.start()
            thread.join(timeout=1)
            assert thread.is_alive()  # blocked on the first transaction's index entry
            one.commit()
            thread.join(timeout=10)
            assert not thread.is_alive()
            assert len(errors) == 1
            hired = one.execute(
                "SELECT id FROM application WHERE status = 'hired'"
            ).fetchall()
            assert hired == [(ids[0],)]


def test_bulk_form_ignores_offsite_next(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening_id = opening_with_weights().id
    log_in(client, "rec@example.com")
    response = client.post(
        f"/recruit/openings/{opening_id}/decisions",
        data={
            "csrf_token": csrf_token(client),
            "action": "hold",
            "next": "//evil.example/phish",
        },
    )
    assert response.status_code == 302
    assert response.location == f"/recruit/openings/{opening_id}"


def _post_together(posts: list[tuple[FlaskClient, str, dict]]) -> list[str]:
    """Send each (client, url, form) POST in its own thread; return the pages."""
    pages: list[str] = []
    errors: list[BaseException] = []

    def post(client: FlaskClient, url: str, data: dict) -> None:
        try:
            response = client.post(url, data=data, follow_redirects=True)
            pages.append(response.get_data(as_text=True))
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=post, args=args) for args in posts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(pages) == len(posts)
    return pages


def _read_together(monkeypatch: pytest.MonkeyPatch, parties: int) -> None:
    """Hold each request after its first status check until every request made it.

    Every request has then seen the application open before any of them
    writes, as when a button is clicked several times in a row.
    """
    import recruit.decisions

    require_open = recruit.decisions._require_open
    all_read = threading.Barrier(parties)
    waited = threading.local()

    def require_open_together(application: Application) -> None:
        require_open(application)
        if not getattr(waited, "done", False):
            waited.done = True
            with contextlib.suppress(threading.BrokenBarrierError):
                all_read.wait(timeout=5)

    monkeypatch.setattr(recruit.decisions, "_require_open", require_open_together)


def _logged_in_clients(app: Flask, count: int, url: str) -> list[tuple]:
    clients = []
    for _ in range(count):
        client = app.test_client()
        log_in(client, "rec@example.com")
        clients.append((client, csrf_token(client, url)))
    return clients


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("hire", ApplicationStatus.HIRED),
        ("advance", ApplicationStatus.ACTIVE),
        ("reject", ApplicationStatus.REJECTED),
        ("hold", ApplicationStatus.HOLD),
    ],
)
def test_repeated_decision_recorded_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch, action: str, status: ApplicationStatus
) -> None:
    _decide_three_times(app, monkeypatch, action, status)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("action", "status"),
    [("hire", ApplicationStatus.HIRED), ("advance", ApplicationStatus.ACTIVE)],
)
def test_repeated_decision_recorded_once_postgres(
    tmp_path, monkeypatch: pytest.MonkeyPatch, action: str, status: ApplicationStatus
) -> None:  # noqa: ANN001
    from tests.conftest import build_app, postgres_database

    with postgres_database() as url:
        app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=url)
        try:
            _decide_three_times(app, monkeypatch, action, status)
        finally:
            with app.app_context():
                db.engine.dispose()


def _decide_three_times(
    app: Flask, monkeypatch: pytest.MonkeyPatch, action: str, status: ApplicationStatus
) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        db.session.add(
            Webhook(url="http://127.0.0.1:9/", secret="s", events=["stage_changed"])
        )
        opening = opening_with_weights()
        application_id = scored_application(
            opening, "ana@example.com", {L: 80}, stage=L
        ).id
    url = f"/recruit/applications/{application_id}/decide"
    clients = _logged_in_clients(app, 3, url)
    form = {
        "decision-action": action,
        "decision-reason": "Strong interview",
        "decision-confirm_hire": "y",
    }
    _read_together(monkeypatch, len(clients))
    pages = _post_together(
        [(client, url, {**form, "csrf_token": token}) for client, token in clients]
    )
    assert sum("Decision recorded." in page for page in pages) == 1
    assert sum("already decided" in page for page in pages) == 2
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.status == status
        if action == "advance":
            assert application.current_stage.kind == C
        events = db.session.scalars(select(AuditEvent).filter_by(action=action)).all()
        assert len(events) == 1
        moves = db.session.scalars(
            select(StageTransition.id).where(
                StageTransition.application_id == application_id
            )
        ).all()
        assert len(moves) == 2  # the application's entry, then this decision
        dispatch_transitions.apply(args=[moves])
        events_sent = db.session.scalars(select(WebhookDelivery.event_key)).all()
        assert sorted(events_sent) == sorted(f"transition:{i}" for i in moves)


def test_repeated_bulk_action_recorded_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
        opening = opening_with_weights()
        ids = [
            scored_application(opening, f"c{i}@example.com", {L: 70}, stage=L).id
            for i in range(2)
        ]
        opening_id = opening.id
    url = f"/recruit/openings/{opening_id}/decisions"
    clients = _logged_in_clients(app, 2, f"/recruit/openings/{opening_id}")
    form = {"action": "advance", "application_id": ids}
    _read_together(monkeypatch, len(clients))
    pages = _post_together(
        [(client, url, {**form, "csrf_token": token}) for client, token in clients]
    )
    assert sum("2 applications updated." in page for page in pages) == 1
    assert sum("0 applications updated." in page for page in pages) == 1
    assert sum(page.count("already decided") == 2 for page in pages) == 1
    with app.app_context():
        for application_id in ids:
            application = db.session.get(Application, application_id)
            assert application.current_stage.kind == C
        events = db.session.scalars(select(AuditEvent).filter_by(action="advance"))
        assert len(events.all()) == 2
        moves = db.session.scalars(select(StageTransition)).all()
        assert len(moves) == 4  # two entries, then one advance each
