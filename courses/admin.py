"""Administration of courses, question banks, certificates and quiz grading."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select

from app import db
from courses.banks import detect_format, export_questions, import_questions
from courses.forms import (
    BulkIssueForm,
    ConfirmForm,
    EnrolForm,
    GradeForm,
    ImportForm,
    OpeningForm,
    ReissueForm,
    RevokeForm,
)
from courses.interchange import ImportFailed
from courses.issuing import (
    cohort_without_certificate,
    reissue_certificate,
    revoke_certificate,
)
from courses.models import (
    AttemptState,
    Certificate,
    Course,
    CourseOpening,
    Enrolment,
    EnrolmentSource,
    Question,
    QuestionBank,
    QuestionCategory,
    Quiz,
    QuizAnswer,
    QuizAttempt,
)
from courses.quizzes import QuizError, grade_by_hand
from courses.services import attach_course, detach_course, enrol, progress_percent
from courses.tasks import queue_certificate
from recruit.auth import find_user, roles_required
from recruit.models import Opening, Role
from scoring.item_stats import AttemptRow, item_statistics

bp = Blueprint("learn_admin", __name__, url_prefix="/admin/learning")
log = logging.getLogger(__name__)
admin_only = roles_required(Role.ADMIN)


@bp.route("/")
@admin_only
def index() -> Any:
    courses = db.session.scalars(select(Course).order_by(Course.title)).all()
    banks = db.session.execute(
        select(QuestionBank, func.count(Question.id))
        .outerjoin(QuestionCategory, QuestionCategory.bank_id == QuestionBank.id)
        .outerjoin(Question, Question.category_id == QuestionCategory.id)
        .group_by(QuestionBank.id)
        .order_by(QuestionBank.name)
    ).all()
    quizzes = db.session.scalars(select(Quiz).order_by(Quiz.title)).all()
    pending = db.session.scalars(
        select(QuizAttempt).where(QuizAttempt.state == AttemptState.NEEDS_GRADING)
    ).all()
    return render_template(
        "courses/admin/index.html",
        courses=courses,
        banks=banks,
        quizzes=quizzes,
        pending=pending,
        import_form=ImportForm(),
    )


@bp.route("/progress")
@admin_only
def progress() -> Any:
    """Every enrolment with its progress and certificate."""
    enrolments = db.session.scalars(
        select(Enrolment).order_by(Enrolment.course_id, Enrolment.enrolled_at)
    ).all()
    rows = [(e, progress_percent(e)) for e in enrolments]
    return render_template(
        "courses/admin/progress.html", rows=rows, revoke_form=RevokeForm()
    )


def _opening_choices() -> list[tuple[int, str]]:
    openings = db.session.scalars(select(Opening).order_by(Opening.title)).all()
    return [(o.id, o.title) for o in openings]


@bp.route("/courses/<int:course_id>", methods=["GET", "POST"])
@admin_only
def course(course_id: int) -> Any:
    course = db.get_or_404(Course, course_id)
    enrol_form = EnrolForm(prefix="enrol")
    opening_form = OpeningForm(prefix="opening")
    opening_form.opening.choices = _opening_choices()
    issue_form = BulkIssueForm(prefix="issue")
    issue_form.opening.choices = [(0, _("Everyone enrolled"))] + _opening_choices()
    if enrol_form.submit.data and enrol_form.validate_on_submit():
        user = find_user(enrol_form.email.data or "")
        if user is None:
            flash(_("No account has that email."), "error")
        else:
            enrol(user.id, course, EnrolmentSource.ADMIN)
            flash(_("%(name)s is enrolled.", name=user.name), "success")
        return redirect(url_for(".course", course_id=course.id))
    if opening_form.submit.data and opening_form.validate_on_submit():
        attach_course(course, opening_form.opening.data)
        flash(_("Hires for that opening are now enrolled in this course."), "success")
        return redirect(url_for(".course", course_id=course.id))
    if issue_form.submit.data and issue_form.validate_on_submit():
        return _bulk_issue(course, issue_form.opening.data or None)
    links = db.session.scalars(
        select(CourseOpening).filter_by(course_id=course.id)
    ).all()
    openings = {o.id: o for o in db.session.scalars(select(Opening))}
    return render_template(
        "courses/admin/course.html",
        course=course,
        links=[(link, openings.get(link.opening_id)) for link in links],
        enrol_form=enrol_form,
        opening_form=opening_form,
        issue_form=issue_form,
        confirm_form=ConfirmForm(),
    )


def _bulk_issue(course: Course, opening_id: int | None) -> Any:
    """Queue a certificate for each completed enrolment of the cohort without one."""
    cohort = cohort_without_certificate(course, opening_id)
    queued = sum(queue_certificate(enrolment.id) for enrolment in cohort)
    log.info(
        "bulk issue for course %s (opening %s) by user %s: %d queued",
        course.id,
        opening_id,
        current_user.id,
        queued,
    )
    flash(
        ngettext(
            "%(queued)d of %(num)d certificate queued. It is issued only if "
            "the course is still complete.",
            "%(queued)d of %(num)d certificates queued. Each is issued only if "
            "the course is still complete.",
            len(cohort),
            queued=queued,
        ),
        "success",
    )
    return redirect(url_for(".course", course_id=course.id))


@bp.route("/courses/<int:course_id>/openings/<int:opening_id>/detach", methods=["POST"])
@admin_only
def detach(course_id: int, opening_id: int) -> Any:
    course = db.get_or_404(Course, course_id)
    if ConfirmForm().validate_on_submit():
        detach_course(course, opening_id)
    return redirect(url_for(".course", course_id=course.id))


@bp.route("/certificates/<int:certificate_id>/revoke", methods=["POST"])
@admin_only
def revoke(certificate_id: int) -> Any:
    certificate = db.get_or_404(Certificate, certificate_id)
    form = RevokeForm()
    if form.validate_on_submit() and (form.reason.data or "").strip():
        revoke_certificate(certificate, form.reason.data or "", current_user.id)
        flash(_("Certificate %(code)s is revoked.", code=certificate.code), "success")
    else:
        flash(_("Give a reason for revoking the certificate."), "error")
    return redirect(url_for(".progress"))


@bp.route("/enrolments/<int:enrolment_id>/reissue", methods=["POST"])
@admin_only
def reissue(enrolment_id: int) -> Any:
    enrolment = db.get_or_404(Enrolment, enrolment_id)
    form = ReissueForm()
    if not form.validate_on_submit() or not (form.reason.data or "").strip():
        flash(_("Give a reason for issuing the certificate."), "error")
    else:
        certificate = reissue_certificate(
            enrolment, current_user.id, form.reason.data or ""
        )
        if certificate is None:
            flash(
                _("The course is not complete, so no certificate was issued."), "error"
            )
        else:
            flash(
                _("Certificate %(code)s is issued.", code=certificate.code), "success"
            )
    return redirect(url_for(".progress"))


@bp.route("/banks/import", methods=["POST"])
@admin_only
def import_bank() -> Any:
    form = ImportForm()
    if not form.validate_on_submit():
        flash(_("Choose a file and name the question bank."), "error")
        return redirect(url_for(".index"))
    upload = form.file.data
    name = upload.filename or "upload"
    try:
        summary = import_questions(
            upload.read(),
            form.bank.data or "",
            file_format=detect_format(name),
            source=name,
            skip_invalid=bool(form.skip_invalid.data),
        )
    except ImportFailed as error:
        return render_template("courses/admin/import_report.html", error=error), 400
    return render_template("courses/admin/import_report.html", summary=summary)


@bp.route("/banks/<int:bank_id>/export.<file_format>")
@admin_only
def export_bank(bank_id: int, file_format: str) -> Any:
    bank = db.get_or_404(QuestionBank, bank_id)
    if file_format not in ("gift", "xml"):
        abort(404)
    text = export_questions(bank.name, file_format)
    extension = "xml" if file_format == "xml" else "gift.txt"
    return Response(
        text,
        mimetype="application/xml" if file_format == "xml" else "text/plain",
        headers={
            "Content-Disposition": f'attachment; filename="bank-{bank.id}.{extension}"'
        },
    )


@bp.route("/quizzes/<int:quiz_id>/statistics")
@admin_only
def statistics(quiz_id: int) -> Any:
    """Facility and discrimination of each question over the graded attempts."""
    quiz = db.get_or_404(Quiz, quiz_id)
    attempts = db.session.scalars(
        select(QuizAttempt).filter_by(quiz_id=quiz.id, state=AttemptState.GRADED)
    ).all()
    rows = [
        AttemptRow(
            total=attempt.score or 0.0,
            fractions={a.question_id: a.fraction or 0.0 for a in attempt.answers},
        )
        for attempt in attempts
    ]
    stats = item_statistics(rows)
    questions = {
        q.id: q
        for q in db.session.scalars(
            select(Question).where(Question.id.in_([s.question_id for s in stats]))
        )
    }
    return render_template(
        "courses/admin/statistics.html",
        quiz=quiz,
        stats=stats,
        questions=questions,
        attempts=len(attempts),
    )


@bp.route("/answers/<int:answer_id>/grade", methods=["GET", "POST"])
@admin_only
def grade(answer_id: int) -> Any:
    answer = db.get_or_404(QuizAnswer, answer_id)
    form = GradeForm()
    if form.validate_on_submit():
        try:
            grade_by_hand(
                answer,
                float(form.percent.data or 0) / 100,
                form.feedback.data or "",
                current_user.id,
            )
        except QuizError as error:
            flash(str(error), "error")
        else:
            flash(_("The mark is saved."), "success")
            return redirect(url_for(".index"))
    return render_template("courses/admin/grade.html", answer=answer, form=form)
