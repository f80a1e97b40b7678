"""Trainee pages: my courses, lessons, quizzes and certificates; public verification."""

from __future__ import annotations

import logging
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
from flask_babel import ngettext
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from app import bounded_int, csrf, db
from courses.forms import ConfirmForm
from courses.interchange import render_text
from courses.issuing import active_certificate, verify
from courses.models import (
    AttemptState,
    Certificate,
    CourseStep,
    Enrolment,
    QuizAnswer,
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
    response_from_page,
    response_to_page,
    save_answers,
    start_attempt,
    submit_attempt,
    tokenise_public,
)
from courses.recommend import recommended_steps
from courses.services import (
    CourseError,
    mark_read,
    outline,
    progress_percent,
    quiz_standing,
    review_shows_answers,
)

bp = Blueprint("learn", __name__)
log = logging.getLogger(__name__)


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
    option feedback can reach the page. While the attempt is open, options and
    prompts are named by the attempt's tokens, in ``public`` and in ``response``
    alike; the review of a submitted attempt reads the stored ids.
    """
    page_tokens = attempt.state == AttemptState.IN_PROGRESS
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
        response = answer.response if answer else {}
        if page_tokens:
            public = tokenise_public(attempt, question.id, public)
            response = response_to_page(attempt, question, response)
        rows.append(
            {
                "question": question,
                "type": qtype,
                "public": public,
                "response": response,
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
        show_answers = review_shows_answers(attempt)
        for row in rows:
            qtype = row["type"]
            row["correct"] = (
                qtype.correct_answer(row["question"].data) if show_answers else ""
            )
            row["show_feedback"] = show_answers or not qtype.feedback_reveals_key
        return render_template(
            "courses/review.html",
            attempt=attempt,
            rows=rows,
            show_answers=show_answers,
            overall=overall_feedback(attempt.quiz, attempt.score),
            enrolment_id=request.args.get("enrolment", type=bounded_int),
        )
    return render_template(
        "courses/attempt.html",
        attempt=attempt,
        rows=rows,
        token=attempt_token(attempt),
        enrolment_id=request.args.get("enrolment", type=bounded_int),
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
        row["question"].id: response_from_page(
            attempt,
            row["question"],
            row["type"].read_form(f"q{row['question'].id}", request.form),
        )
        for row in rows
        if row["type"].gradable and row["question"].id not in too_long
    }
    try:
        conflicts = save_answers(
            attempt, responses, revisions=_posted_revisions(responses)
        )
        if too_long:
            return _reject_too_long(attempt, too_long)
        if conflicts:
            return _conflict_reply(attempt, conflicts)
        if request.form.get("action") == "submit":
            if not logged_in:
                raise QuizError(_("Log in again to submit; your answers are saved."))
            submit_attempt(attempt)
    except QuizError as error:
        db.session.rollback()
        return _reply(attempt, str(error), error.status_code)
    except StaleDataError:
        # Another tab saved an answer while this request graded the attempt.
        db.session.rollback()
        log.info("attempt %s changed by another request while saving", attempt.id)
        message = _("Answers were changed in another tab or window. Reload the page.")
        return _reply(attempt, message, 409)
    if wants_json():
        return jsonify(
            saved=True,
            logged_in=logged_in,
            state=attempt.state.value,
            revisions=_revisions(attempt),
        )
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


def _reject_too_long(attempt: QuizAttempt, errors: dict[int, str]) -> Any:
    """Show the attempt again with the rejected text in place and its error beside it.

    The other answers of the same post are saved already, and the page is built
    after that save so that it shows them with their new revisions.
    """
    if wants_json():
        return jsonify(
            error=" ".join(errors.values()),
            questions=sorted(errors),
            state=attempt.state.value,
            revisions=_revisions(attempt),
        ), 400
    rows = attempt_rows(attempt)
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


def _posted_revisions(responses: dict[int, Any]) -> dict[int, int]:
    """Read the answer revision the page showed for each question; 0 if none."""
    revisions = {}
    for question_id in responses:
        value = request.form.get(f"rev-q{question_id}", "")
        revisions[question_id] = int(value) if value.isdigit() else 0
    return revisions


def _revisions(attempt: QuizAttempt) -> dict[str, int]:
    return {str(a.question_id): a.revision for a in attempt.answers}


def _conflict_reply(attempt: QuizAttempt, conflicts: list[QuizAnswer]) -> Any:
    """Reply 409 with the newer answers that this page must not overwrite.

    The other responses of the request are stored. A form post without
    JavaScript returns to the attempt page, which shows the newer answers.
    """
    log.info(
        "attempt %s: save from a stale page kept newer answers to questions %s",
        attempt.id,
        [a.question_id for a in conflicts],
    )
    numbers = {e["question_id"]: n for n, e in enumerate(attempt.layout, start=1)}
    listed = ", ".join(str(numbers[a.question_id]) for a in conflicts)
    message = ngettext(
        "Another tab or window saved a newer answer to question %(numbers)s. "
        "This page now shows it; check it and change it if you need to.",
        "Another tab or window saved newer answers to questions %(numbers)s. "
        "This page now shows them; check them and change them if you need to.",
        len(conflicts),
        numbers=listed,
    )
    if not wants_json():
        flash(message, "error")
        return redirect(url_for(".attempt", attempt_id=attempt.id))
    details = []
    for answer in conflicts:
        question = answer.question
        shown = response_to_page(attempt, question, answer.response)
        details.append(
            {
                "question_id": question.id,
                "number": numbers[question.id],
                "revision": answer.revision,
                "fields": get_type(question.qtype).form_fields(
                    f"q{question.id}", shown
                ),
            }
        )
    body = {
        "error": message,
        "state": attempt.state.value,
        "conflicts": details,
        "revisions": _revisions(attempt),
    }
    return jsonify(body), 409


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
    # The PDF carries no revocation mark, so a revoked one is kept from its
    # holder. Admins can still download it for their records.
    if certificate.revoked_at is not None and not is_admin:
        abort(
            410,
            description=_(
                "Certificate %(code)s was revoked on %(date)s. "
                "Its verification page shows the same.",
                code=certificate.code,
                date=certificate.revoked_at.date().isoformat(),
            ),
        )
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
