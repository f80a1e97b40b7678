"""Trainee pages: my courses, lessons, quizzes and certificates; public verification."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from app import csrf, db
from courses.forms import ConfirmForm
from courses.interchange import render_text
from courses.issuing import active_certificate, verify
from courses.models import (
    AttemptState,
    Certificate,
    CourseStep,
    Enrolment,
    QuizAttempt,
    StepKind,
)
from courses.qtypes import MAX_TEXT, get_type
from courses.quizzes import (
    QuizError,
    attempt_token,
    check_attempt_token,
    close_if_expired,
    overall_feedback,
    questions_of,
    save_answers,
    start_attempt,
    submit_attempt,
)
from courses.recommend import recommended_steps
from courses.services import (
    CourseError,
    mark_read,
    outline,
    progress_percent,
    quiz_standing,
)

bp = Blueprint("learn", __name__)


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.app_template_filter("rendered")
def rendered(text: str, text_format: str = "markdown") -> Markup:
    return Markup(render_text(text or "", text_format))  # noqa: S704 - sanitised by nh3


def own_enrolment(enrolment_id: int) -> Enrolment:
    enrolment = db.get_or_404(Enrolment, enrolment_id)
    if enrolment.user_id != current_user.id:
        abort(404)
    return enrolment


def enrolment_step(enrolment: Enrolment, step_id: int) -> CourseStep:
    step = db.get_or_404(CourseStep, step_id)
    if step.course_id != enrolment.course_id:
        abort(404)
    return step


@bp.route("/learn/")
@login_required
def my_courses() -> Any:
    enrolments = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.user_id == current_user.id)
        .order_by(Enrolment.enrolled_at)
    ).all()
    rows = [(e, progress_percent(e), active_certificate(e)) for e in enrolments]
    return render_template(
        "courses/my_courses.html",
        rows=rows,
        recommended=recommended_steps(current_user.id),
    )


@bp.route("/learn/courses/<int:enrolment_id>")
@login_required
def course(enrolment_id: int) -> Any:
    enrolment = own_enrolment(enrolment_id)
    return render_template(
        "courses/course.html",
        enrolment=enrolment,
        states=outline(enrolment),
        certificate=active_certificate(enrolment),
        recommended={s.id for s in recommended_steps(current_user.id)},
    )


@bp.route("/learn/courses/<int:enrolment_id>/steps/<int:step_id>")
@login_required
def step(enrolment_id: int, step_id: int) -> Any:
    enrolment = own_enrolment(enrolment_id)
    current = enrolment_step(enrolment, step_id)
    states = outline(enrolment)
    index = next(i for i, s in enumerate(states) if s.step.id == current.id)
    following = states[index + 1].step if index + 1 < len(states) else None
    standing = None
    if current.kind != StepKind.LESSON:
        assert current.quiz is not None
        standing = quiz_standing(current_user.id, current.quiz)
    return render_template(
        "courses/step.html",
        enrolment=enrolment,
        step=current,
        state=states[index],
        following=following,
        standing=standing,
        form=ConfirmForm(),
    )


@bp.route(
    "/learn/courses/<int:enrolment_id>/steps/<int:step_id>/read", methods=["POST"]
)
@login_required
def read(enrolment_id: int, step_id: int) -> Any:
    enrolment = own_enrolment(enrolment_id)
    current = enrolment_step(enrolment, step_id)
    if ConfirmForm().validate_on_submit():
        try:
            mark_read(enrolment, current)
        except CourseError as error:
            flash(str(error), "error")
    return redirect(url_for(".course", enrolment_id=enrolment.id))


@bp.route(
    "/learn/courses/<int:enrolment_id>/steps/<int:step_id>/attempts", methods=["POST"]
)
@login_required
def start(enrolment_id: int, step_id: int) -> Any:
    enrolment = own_enrolment(enrolment_id)
    current = enrolment_step(enrolment, step_id)
    if current.quiz is None or not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        attempt = start_attempt(current_user.id, current.quiz)
    except QuizError as error:
        flash(str(error), "error")
        return redirect(url_for(".step", enrolment_id=enrolment.id, step_id=current.id))
    return redirect(url_for(".attempt", attempt_id=attempt.id, enrolment=enrolment.id))


def own_attempt(attempt_id: int) -> QuizAttempt:
    attempt = db.get_or_404(QuizAttempt, attempt_id)
    if attempt.user_id != current_user.id:
        abort(404)
    return attempt


def attempt_rows(attempt: QuizAttempt) -> list[dict[str, Any]]:
    """What the attempt page shows per question, in the attempt's order.

    Before submission only ``public_data`` is passed, so no answer, fraction or
    option feedback can reach the page.
    """
    layout = {entry["question_id"]: entry["options"] for entry in attempt.layout}
    rows = []
    for question in questions_of(attempt):
        qtype = get_type(question.qtype)
        public = qtype.public_data(question.data)
        order = layout.get(question.id) or []
        for key in ("options", "answers", "items"):
            if key in public and order:
                by_id = {str(entry["id"]): entry for entry in public[key]}
                public[key] = [by_id[i] for i in order if i in by_id]
        answer = attempt.answer_for(question.id)
        rows.append(
            {
                "question": question,
                "type": qtype,
                "public": public,
                "response": answer.response if answer else {},
                "answer": answer,
            }
        )
    return rows


@bp.route("/learn/attempts/<int:attempt_id>")
@login_required
def attempt(attempt_id: int) -> Any:
    attempt = own_attempt(attempt_id)
    close_if_expired(attempt)
    rows = attempt_rows(attempt)
    if attempt.state != AttemptState.IN_PROGRESS:
        for row in rows:
            row["correct"] = row["type"].correct_answer(row["question"].data)
        return render_template(
            "courses/review.html",
            attempt=attempt,
            rows=rows,
            overall=overall_feedback(attempt.quiz, attempt.score),
            enrolment_id=request.args.get("enrolment", type=int),
        )
    return render_template(
        "courses/attempt.html",
        attempt=attempt,
        rows=rows,
        token=attempt_token(attempt),
        enrolment_id=request.args.get("enrolment", type=int),
    )


@bp.route("/learn/attempts/<int:attempt_id>", methods=["POST"])
@csrf.exempt
def save(attempt_id: int) -> Any:
    """Save (or submit) the answers of an attempt page, with or without JavaScript.

    The page's attempt token replaces the CSRF token here, and no login session
    is needed, so answers typed before a session expired are still stored. The
    deadline check in ``save_answers`` applies either way.
    """
    attempt = db.get_or_404(QuizAttempt, attempt_id)
    if not check_attempt_token(attempt, request.form.get("attempt_token")):
        return _reply(attempt, _("This page is out of date. Reload it."), 400)
    logged_in = current_user.is_authenticated and current_user.id == attempt.user_id
    rows = attempt_rows(attempt)
    too_long = _too_long_answers(rows)
    responses = {
        row["question"].id: row["type"].read_form(
            f"q{row['question'].id}", request.form
        )
        for row in rows
        if row["type"].gradable and row["question"].id not in too_long
    }
    try:
        save_answers(attempt, responses)
        if too_long:
            return _reject_too_long(attempt, rows, too_long)
        if request.form.get("action") == "submit":
            if not logged_in:
                raise QuizError(_("Log in again to submit; your answers are saved."))
            submit_attempt(attempt)
    except QuizError as error:
        db.session.rollback()
        return _reply(attempt, str(error), error.status_code)
    if wants_json():
        return jsonify(saved=True, logged_in=logged_in, state=attempt.state.value)
    if not logged_in:
        flash(_("Your answers are saved. Log in again to continue."), "info")
        return redirect(
            url_for("auth.login", next=url_for(".attempt", attempt_id=attempt.id))
        )
    if attempt.state == AttemptState.IN_PROGRESS:
        flash(_("Your answers are saved."), "success")
    # The course the attempt was started from, for the review's link back to it.
    enrolment_id = request.args.get("enrolment", type=int)
    return redirect(url_for(".attempt", attempt_id=attempt.id, enrolment=enrolment_id))


def _too_long_answers(rows: list[dict[str, Any]]) -> dict[int, str]:
    """Map each question whose posted answer exceeds ``MAX_TEXT`` to its error.

    Such an answer is not saved: storing a cut copy would lose the end of
    the text without a word to the trainee.
    """
    errors = {}
    for row in rows:
        question_id = row["question"].id
        length = len(request.form.get(f"q{question_id}", ""))
        if row["type"].gradable and length > MAX_TEXT:
            errors[question_id] = _(
                "This answer has %(length)s characters; the limit is %(limit)s. "
                "Shorten it and save again.",
                length=f"{length:,}",
                limit=f"{MAX_TEXT:,}",
            )
    return errors


def _reject_too_long(
    attempt: QuizAttempt, rows: list[dict[str, Any]], errors: dict[int, str]
) -> Any:
    """Show the attempt again with the rejected text in place and its error beside it.

    The other answers of the same post are saved already.
    """
    if wants_json():
        return jsonify(
            error=" ".join(errors.values()),
            questions=sorted(errors),
            state=attempt.state.value,
        ), 400
    for row in rows:
        question_id = row["question"].id
        if question_id in errors:
            row["response"] = {"text": request.form.get(f"q{question_id}", "")}
            row["error"] = errors[question_id]
    page = render_template(
        "courses/attempt.html",
        attempt=attempt,
        rows=rows,
        token=attempt_token(attempt),
        enrolment_id=request.args.get("enrolment", type=int),
    )
    return page, 400


def _reply(attempt: QuizAttempt, message: str, status: int) -> Any:
    if wants_json():
        return jsonify(error=message, state=attempt.state.value), status
    flash(message, "error")
    return redirect(url_for(".attempt", attempt_id=attempt.id))


@bp.route("/learn/certificates/<code>.pdf")
@login_required
def certificate_pdf(code: str) -> Any:
    certificate = db.session.scalar(select(Certificate).filter_by(code=code.upper()))
    if certificate is None:
        abort(404)
    is_admin = current_user.role.value == "admin"
    if certificate.enrolment.user_id != current_user.id and not is_admin:
        abort(404)
    return Response(
        certificate.pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{certificate.code}.pdf"'
        },
    )


@bp.route("/verify/<code>")
def verify_page(code: str) -> Any:
    """Public: whether a certificate ID is genuine, revoked, or not ours."""
    result = verify(code[:64])
    status = 200 if result.status != "invalid" else 404
    return render_template("courses/verify.html", result=result, code=code[:64]), status


@bp.route("/verify", methods=["GET"])
def verify_form() -> Any:
    code = request.args.get("code", "").strip()
    if code:
        return redirect(url_for(".verify_page", code=code))
    return render_template("courses/verify.html", result=None, code="")
