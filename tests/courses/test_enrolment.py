"""Enrolment on hire, completion, certificate issuing, verification, statistics."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app import db
from courses.issuing import (
    CertificateError,
    cohort_without_certificate,
    issue_certificate,
    reissue_certificate,
    revoke_certificate,
    verify,
)
from courses.models import Certificate, CourseStep, Enrolment, EnrolmentSource, StepKind
from courses.quizzes import questions_of, save_answers, start_attempt, submit_attempt
from courses.recommend import recommended_steps
from courses.services import (
    attach_course,
    enrol,
    enrol_on_hire,
    is_complete,
    mark_read,
)
from courses.tasks import issue_certificate_task
from recruit.models import AuditEvent, Role, User
from recruit.services import create_opening
from scoring.item_stats import AttemptRow, item_statistics
from tests.conftest import log_in, make_user
from tests.courses.conftest import make_course, make_quiz, right_response


def test_enrol_on_hire_idempotent(ctx: Any) -> None:
    user = make_user("hire@example.com", "candidate")
    opening = create_opening("Chat agent")
    first, second = make_course(title="First"), make_course(title="Second")
    make_course(title="Not linked")
    attach_course(first, opening.id)
    attach_course(second, opening.id)
    assert not attach_course(second, opening.id)
    enrolments = enrol_on_hire(user.id, opening.id)
    assert sorted(e.course.title for e in enrolments) == ["First", "Second"]
    assert {e.source for e in enrolments} == {EnrolmentSource.HIRE}
    assert {e.opening_id for e in enrolments} == {opening.id}
    again = enrol_on_hire(user.id, opening.id)
    assert [e.id for e in again] == [e.id for e in enrolments]
    assert db.session.query(Enrolment).count() == 2
    assert db.session.get(User, user.id).role == Role.TRAINEE


def test_enrol_on_hire_without_courses(ctx: Any) -> None:
    user = make_user("hire@example.com", "candidate")
    opening = create_opening("Chat agent")
    assert enrol_on_hire(user.id, opening.id) == []


def complete(user_id: int, enrolment: Enrolment) -> None:
    for step in enrolment.course.steps:
        if step.kind == StepKind.LESSON:
            mark_read(enrolment, step)
        else:
            attempt = start_attempt(user_id, step.quiz)
            save_answers(
                attempt, {q.id: right_response(q) for q in questions_of(attempt)}
            )
            submit_attempt(attempt)


def test_completion_needs_lessons_and_passed_quizzes(ctx: Any) -> None:
    user = make_user("t@example.com", "trainee")
    course = make_course(make_quiz())
    enrolment = enrol(user.id, course, EnrolmentSource.ADMIN)
    lessons = [s for s in course.steps if s.kind == StepKind.LESSON]
    for lesson in lessons:
        mark_read(enrolment, lesson)
    assert not is_complete(enrolment)
    quiz = course.steps[1].quiz
    failed = start_attempt(user.id, quiz)
    submit_attempt(failed)
    assert failed.score == 0.0
    assert not is_complete(enrolment)
    assert enrolment.completed_at is None
    passed = start_attempt(user.id, quiz)
    save_answers(passed, {q.id: right_response(q) for q in questions_of(passed)})
    submit_attempt(passed)
    assert is_complete(enrolment)
    assert enrolment.completed_at is not None


def test_certificate_issued_once_and_rechecked(ctx: Any) -> None:
    user = make_user("t@example.com", "trainee", name="Zoë Ångström")
    course = make_course(make_quiz())
    enrolment = enrol(user.id, course, EnrolmentSource.ADMIN)
    assert issue_certificate_task.run(enrolment.id) == "not complete"
    assert issue_certificate(enrolment) is None
    complete(user.id, enrolment)
    code = issue_certificate_task.run(enrolment.id)
    assert code.startswith("FL-")
    assert issue_certificate_task.run(enrolment.id) == code
    assert db.session.query(Certificate).count() == 1
    certificate = db.session.scalar(select(Certificate).filter_by(code=code))
    assert certificate.name == "Zoë Ångström"
    assert certificate.pdf.startswith(b"%PDF")


def test_course_edit_issues_nothing(ctx: Any) -> None:
    """A lesson added after completion makes the rules fail: no certificate."""
    user = make_user("t@example.com", "trainee")
    course = make_course(make_quiz())
    enrolment = enrol(user.id, course, EnrolmentSource.ADMIN)
    complete(user.id, enrolment)
    issued = issue_certificate(enrolment)
    assert issued is not None
    course.steps.append(CourseStep(position=9, kind=StepKind.LESSON, title="New"))
    db.session.commit()
    # The issued certificate stays valid; nothing was revoked in bulk.
    assert verify(issued.code).status == "genuine"
    other = make_user("u@example.com", "trainee")
    late = enrol(other.id, course, EnrolmentSource.ADMIN)
    assert issue_certificate(late) is None


def test_verify_genuine_revoked_forged(ctx: Any) -> None:
    user = make_user("t@example.com", "trainee")
    admin = make_user("a@example.com", "admin")
    course = make_course(make_quiz())
    enrolment = enrol(user.id, course, EnrolmentSource.ADMIN)
    complete(user.id, enrolment)
    certificate = issue_certificate(enrolment)
    assert verify(certificate.code).status == "genuine"
    assert verify(certificate.code.lower()).status == "genuine"
    prefix, serial, signature = certificate.code.split("-")
    forged_signature = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert verify(f"{prefix}-{serial}-{forged_signature}").status == "invalid"
    other_serial = ("B" if serial[0] != "B" else "C") + serial[1:]
    assert verify(f"{prefix}-{other_serial}-{signature}").status == "invalid"
    assert verify("not-an-id").status == "invalid"
    reissued = reissue_certificate(enrolment, admin.id, "name misspelled")
    assert reissued is not None and reissued.code != certificate.code
    assert verify(certificate.code).status == "revoked"
    assert verify(reissued.code).status == "genuine"
    revoke_certificate(reissued, "issued in error", admin.id)
    assert verify(reissued.code).status == "revoked"
    assert cohort_without_certificate(course) == [enrolment]


def test_verify_page_public(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        user = make_user("t@example.com", "trainee", name="Zoë Ångström")
        course = make_course(make_quiz())
        enrolment = enrol(user.id, course, EnrolmentSource.ADMIN)
        complete(user.id, enrolment)
        code = issue_certificate(enrolment).code
    page = client.get(f"/verify/{code}")
    assert page.status_code == 200
    assert "Genuine certificate" in page.get_data(as_text=True)
    assert "Zoë Ångström" in page.get_data(as_text=True)
    forged = client.get(f"/verify/{code[:-2]}XX")
    assert forged.status_code == 404
    assert "not genuine" in forged.get_data(as_text=True)


def test_bulk_issue_for_cohort(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        make_user("a@example.com", "admin")
        user = make_user("t@example.com", "trainee")
        course = make_course(make_quiz())
        enrolment = enrol(user.id, course, EnrolmentSource.ADMIN)
        complete(user.id, enrolment)
        course_id = course.id
    log_in(client, "a@example.com")
    page = client.get(f"/admin/learning/courses/{course_id}").get_data(as_text=True)
    import re

    token = re.search(
        r'id="issue-csrf_token" name="issue-csrf_token" type="hidden" value="([^"]+)"',
        page,
    )
    assert token
    reply = client.post(
        f"/admin/learning/courses/{course_id}",
        data={
            "issue-csrf_token": token.group(1),
            "issue-opening": "0",
            "issue-submit": "1",
        },
        follow_redirects=True,
    )
    assert "1 of 1 certificate queued" in reply.get_data(as_text=True)


def test_recommendations_from_funnel_scores(ctx: Any) -> None:
    from assessments.models import Assessment, Attempt, Item, Response, Score
    from recruit.services import apply

    user = make_user("t@example.com", "candidate")
    opening = create_opening("Chat agent")
    application = apply(user, opening)
    stage = opening.stages[1]
    assessment = Assessment(stage=stage, title="English", language="en")
    item = Item(assessment=assessment, kind="writing", prompt="Write")
    attempt = Attempt(application=application, assessment=assessment)
    response = Response(attempt=attempt, item=item, text="hi")
    response.scores.append(
        Score(
            scorer="writing",
            scorer_version="1",
            score=72.0,
            subscores={"accuracy": 41.0, "vocabulary": 80.0},
        )
    )
    db.session.add_all([assessment, attempt, response])
    db.session.commit()
    course = make_course()
    course.steps[0].topic = "writing.accuracy"
    course.steps[1].topic = "writing.vocabulary"
    db.session.commit()
    attach_course(course, opening.id)
    enrol_on_hire(user.id, opening.id)
    assert [s.title for s in recommended_steps(user.id)] == ["One"]
    enrolment = db.session.scalar(select(Enrolment).filter_by(user_id=user.id))
    mark_read(enrolment, course.steps[0])
    assert recommended_steps(user.id) == []


def test_item_statistics_flags() -> None:
    rows = []
    for n in range(20):
        strong = n >= 10
        rows.append(
            AttemptRow(
                total=50.0 + n,
                fractions={
                    1: 1.0,  # everyone right: too easy
                    2: 1.0 if strong else 0.0,  # separates strong from weak
                    3: 0.0 if strong else 1.0,  # the weak get it right
                    4: 1.0 if n == 19 else 0.0,  # nearly nobody: too hard
                    # The rest of the quiz, which the strong mostly get right.
                    **{q: 1.0 if n >= q + 2 else 0.0 for q in range(5, 10)},
                },
            )
        )
    stats = {s.question_id: s for s in item_statistics(rows)}
    assert stats[1].facility == 1.0
    assert stats[1].flags == ["too_easy"]
    assert stats[1].point_biserial is None
    assert stats[2].discrimination == 1.0
    assert stats[2].point_biserial > 0.5
    assert stats[2].flags == []
    assert stats[3].discrimination == -1.0
    assert "negative_discrimination" in stats[3].flags
    assert stats[4].facility == 0.05
    assert "too_hard" in stats[4].flags


def test_item_statistics_need_enough_attempts() -> None:
    rows = [
        AttemptRow(total=10.0, fractions={1: 0.0}),
        AttemptRow(total=90.0, fractions={1: 1.0}),
    ]
    assert item_statistics(rows)[0].flags == []


def test_statistics_page(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        make_user("a@example.com", "admin")
        quiz = make_quiz()
        for n in range(6):
            user = make_user(f"t{n}@example.com", "trainee")
            attempt = start_attempt(user.id, quiz)
            if n % 2:
                save_answers(
                    attempt, {q.id: right_response(q) for q in questions_of(attempt)}
                )
            submit_attempt(attempt)
        quiz_id = quiz.id
    log_in(client, "a@example.com")
    page = client.get(f"/admin/learning/quizzes/{quiz_id}/statistics")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Capital" in text
    assert "0.50" in text


def test_admin_pages_need_admin(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        make_user("t@example.com", "trainee")
    log_in(client, "t@example.com")
    assert client.get("/admin/learning/").status_code == 403
    assert client.get("/admin/learning/progress").status_code == 403


def completed_enrolment() -> tuple[Enrolment, User, Certificate]:
    """A trainee who completed a course and holds its certificate, and an admin."""
    user = make_user("t@example.com", "trainee")
    admin = make_user("a@example.com", "admin")
    enrolment = enrol(user.id, make_course(make_quiz()), EnrolmentSource.ADMIN)
    complete(user.id, enrolment)
    certificate = issue_certificate(enrolment)
    assert certificate is not None
    return enrolment, admin, certificate


def audit_events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).filter_by(action=action)))


def test_reissue_needs_reason_and_is_audited(ctx: Any) -> None:
    enrolment, admin, old = completed_enrolment()
    for blank in ("", "   "):
        with pytest.raises(CertificateError):
            reissue_certificate(enrolment, admin.id, blank)
    assert verify(old.code).status == "genuine"
    assert audit_events("reissue_certificate") == []
    new = reissue_certificate(enrolment, admin.id, "name misspelled")
    assert new is not None
    (event,) = audit_events("reissue_certificate")
    assert event.actor_id == admin.id
    assert event.subject_user_id == enrolment.user_id
    assert event.reason == "name misspelled"
    assert event.before == {"certificate": old.code}
    assert event.after == {"certificate": new.code}
    assert event.created_at is not None
    # The old certificate's revocation is audited with the same reason.
    (revoked,) = audit_events("revoke_certificate")
    assert revoked.before == {"certificate": old.code}
    assert revoked.reason == "re-issued: name misspelled"
    assert old.revoked_reason == "re-issued: name misspelled"


def test_revoke_needs_reason_and_is_audited(ctx: Any) -> None:
    enrolment, admin, certificate = completed_enrolment()
    with pytest.raises(CertificateError):
        revoke_certificate(certificate, " ", admin.id)
    assert verify(certificate.code).status == "genuine"
    revoke_certificate(certificate, "issued in error", admin.id)
    (event,) = audit_events("revoke_certificate")
    assert event.actor_id == admin.id
    assert event.subject_user_id == enrolment.user_id
    assert event.reason == "issued in error"
    assert event.before == {"certificate": certificate.code}
    assert event.after == {"certificate": None}


def test_admin_reissue_form_needs_reason(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        enrolment, _admin, old = completed_enrolment()
        enrolment_id, old_code = enrolment.id, old.code
    log_in(client, "a@example.com")
    page = client.get("/admin/learning/progress").get_data(as_text=True)
    assert 'name="reason"' in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    url = f"/admin/learning/enrolments/{enrolment_id}/reissue"
    refused = client.post(url, data={"csrf_token": token.group(1)})
    assert refused.status_code == 302
    with app.app_context():
        assert verify(old_code).status == "genuine"
    client.post(url, data={"csrf_token": token.group(1), "reason": "wrong name"})
    with app.app_context():
        assert verify(old_code).status == "revoked"
        (event,) = audit_events("reissue_certificate")
        assert event.reason == "wrong name"
        assert event.before == {"certificate": old_code}


def test_revoked_pdf_kept_from_holder(app: Any, client: FlaskClient) -> None:
    with app.app_context():
        _enrolment, admin, certificate = completed_enrolment()
        code, admin_id = certificate.code, admin.id
        url = f"/learn/certificates/{code}.pdf"
    log_in(client, "t@example.com")
    assert client.get(url).status_code == 200
    with app.app_context():
        certificate = db.session.scalar(select(Certificate).filter_by(code=code))
        revoke_certificate(certificate, "issued in error", admin_id)
    refused = client.get(url)
    assert refused.status_code == 410
    assert f"Certificate {code} was revoked" in refused.get_data(as_text=True)
    admin_client = app.test_client()
    log_in(admin_client, "a@example.com")
    kept = admin_client.get(url)
    assert kept.status_code == 200
    assert kept.data.startswith(b"%PDF")
