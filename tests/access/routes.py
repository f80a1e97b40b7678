"""The authorisation table: every route of the app, its URL and who gets what.

Each expectation lists the status for, in order: anonymous, candidate (the
owner of the objects in the URL), other candidate, trainee (the owner of the
learning objects in the URL), other trainee, recruiter, admin. ``login`` is a
302 to the login page; ``302`` is any other redirect.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

LOGOUT_RULE = "/logout"


@dataclass(frozen=True)
class Route:
    path: str
    get: str | None = None
    post: str | None = None


ROUTES: dict[str, Route] = {
    "/": Route("/", get="200 200 200 200 200 200 200"),
    "/admin/learning/": Route("/admin/learning/", get="login 403 403 403 403 403 200"),
    "/admin/learning/answers/<int:answer_id>/grade": Route(
        "/admin/learning/answers/{quiz_answer}/grade",
        get="login 403 403 403 403 403 200",
        post="login 403 403 403 403 403 200",
    ),
    "/admin/learning/banks/<int:bank_id>/export.<file_format>": Route(
        "/admin/learning/banks/{bank}/export.gift", get="login 403 403 403 403 403 200"
    ),
    "/admin/learning/banks/import": Route(
        "/admin/learning/banks/import", post="login 403 403 403 403 403 302"
    ),
    "/admin/learning/certificates/<int:certificate_id>/revoke": Route(
        "/admin/learning/certificates/{certificate}/revoke",
        post="login 403 403 403 403 403 302",
    ),
    "/admin/learning/courses/<int:course_id>": Route(
        "/admin/learning/courses/{course}",
        get="login 403 403 403 403 403 200",
        post="login 403 403 403 403 403 200",
    ),
    "/admin/learning/courses/<int:course_id>/openings/<int:opening_id>/detach": Route(
        "/admin/learning/courses/{course}/openings/{opening}/detach",
        post="login 403 403 403 403 403 302",
    ),
    "/admin/learning/enrolments/<int:enrolment_id>/reissue": Route(
        "/admin/learning/enrolments/{enrolment}/reissue",
        post="login 403 403 403 403 403 302",
    ),
    "/admin/learning/progress": Route(
        "/admin/learning/progress", get="login 403 403 403 403 403 200"
    ),
    "/admin/learning/quizzes/<int:quiz_id>/statistics": Route(
        "/admin/learning/quizzes/{quiz}/statistics", get="login 403 403 403 403 403 200"
    ),
    "/api/v1/applications/<int:application_id>": Route(
        "/api/v1/applications/{application}", get="401 401 401 401 401 200 200"
    ),
    "/api/v1/openings": Route("/api/v1/openings", get="401 401 401 401 401 200 200"),
    "/api/v1/openings/<int:opening_id>": Route(
        "/api/v1/openings/{opening}", get="401 401 401 401 401 200 200"
    ),
    "/api/v1/openings/<int:opening_id>/applications": Route(
        "/api/v1/openings/{opening}/applications", get="401 401 401 401 401 200 200"
    ),
    "/api/v1/stage-changes": Route(
        "/api/v1/stage-changes", get="401 401 401 401 401 200 200"
    ),
    "/attempts/<int:attempt_id>": Route(
        "/attempts/{attempt}", get="login 200 404 404 404 404 404"
    ),
    "/attempts/<int:attempt_id>/items/<int:item_id>/audio": Route(
        "/attempts/{attempt}/items/{audio_item}/audio",
        post="login 302 404 404 404 404 404",
    ),
    "/attempts/<int:attempt_id>/items/<int:item_id>/chat": Route(
        "/attempts/{chat_attempt}/items/{chat_item}/chat",
        get="login 200 404 404 404 404 404",
        post="login 404 404 404 404 404 404",
    ),
    "/attempts/<int:attempt_id>/items/<int:item_id>/chat/end": Route(
        "/attempts/{chat_attempt}/items/{chat_item}/chat/end",
        post="login 404 404 404 404 404 404",
    ),
    "/attempts/<int:attempt_id>/items/<int:item_id>/chat/start": Route(
        "/attempts/{chat_attempt}/items/{chat_item}/chat/start",
        post="login 302 404 404 404 404 404",
    ),
    "/attempts/<int:attempt_id>/items/<int:item_id>/choice": Route(
        "/attempts/{choice_attempt}/items/{choice_item}/choice",
        post="login 400 404 404 404 404 404",
    ),
    "/attempts/<int:attempt_id>/items/<int:item_id>/text": Route(
        "/attempts/{attempt}/items/{writing_item}/text",
        post="login 302 404 404 404 404 404",
    ),
    "/attempts/<int:attempt_id>/items/<int:item_id>/typing": Route(
        "/attempts/{typing_attempt}/items/{typing_item}/typing",
        post="login 302 404 404 404 404 404",
    ),
    "/attempts/<int:attempt_id>/items/<int:item_id>/typing/start": Route(
        "/attempts/{typing_attempt}/items/{typing_item}/typing/start",
        post="login 302 404 404 404 404 404",
    ),
    "/attempts/<int:attempt_id>/status": Route(
        "/attempts/{attempt}/status", get="login 200 404 404 404 404 404"
    ),
    "/favicon.ico": Route("/favicon.ico", get="301 301 301 301 301 301 301"),
    "/healthz": Route("/healthz", get="200 200 200 200 200 200 200"),
    "/invitation/<token>": Route(
        "/invitation/{invitation}",
        get="200 200 200 200 200 200 200",
        post="200 200 200 200 200 200 200",
    ),
    "/learn/": Route("/learn/", get="login 200 200 200 200 200 200"),
    "/learn/attempts/<int:attempt_id>": Route(
        "/learn/attempts/{quiz_attempt}",
        get="login 404 404 200 404 404 404",
        post="302 302 302 302 302 302 302",
    ),
    "/learn/certificates/<code>.pdf": Route(
        "/learn/certificates/{certificate_code}.pdf",
        get="login 404 404 200 404 404 200",
    ),
    "/learn/courses/<int:enrolment_id>": Route(
        "/learn/courses/{enrolment}", get="login 404 404 200 404 404 404"
    ),
    "/learn/courses/<int:enrolment_id>/steps/<int:step_id>": Route(
        "/learn/courses/{enrolment}/steps/{lesson_step}",
        get="login 404 404 200 404 404 404",
    ),
    "/learn/courses/<int:enrolment_id>/steps/<int:step_id>/attempts": Route(
        "/learn/courses/{enrolment}/steps/{quiz_step}/attempts",
        post="login 404 404 302 404 404 404",
    ),
    "/learn/courses/<int:enrolment_id>/steps/<int:step_id>/read": Route(
        "/learn/courses/{enrolment}/steps/{lesson_step}/read",
        post="login 404 404 302 404 404 404",
    ),
    "/login": Route(
        "/login", get="200 302 302 302 302 302 302", post="200 302 302 302 302 302 302"
    ),
    LOGOUT_RULE: Route(LOGOUT_RULE, post="login 302 302 302 302 302 302"),
    "/me/applications": Route("/me/applications", get="login 200 200 200 200 403 403"),
    "/me/applications/<int:application_id>": Route(
        "/me/applications/{application}", get="login 200 404 404 404 403 403"
    ),
    "/me/applications/<int:application_id>/assessments/<int:assessment_id>": Route(
        "/me/applications/{application}/assessments/{assessment}",
        post="login 302 404 403 403 403 403",
    ),
    "/me/applications/<int:application_id>/screening": Route(
        "/me/applications/{application}/screening",
        get="login 200 404 403 403 403 403",
        post="login 200 404 403 403 403 403",
    ),
    "/me/equal-opportunity": Route(
        "/me/equal-opportunity",
        get="login 200 200 403 403 403 403",
        post="login 302 302 403 403 403 403",
    ),
    "/openings/<int:opening_id>": Route(
        "/openings/{opening}",
        get="200 200 200 200 200 200 200",
        post="302 302 302 302 302 302 302",
    ),
    "/recruit/analytics": Route(
        "/recruit/analytics", get="login 403 403 403 403 200 200"
    ),
    "/recruit/analytics.pdf": Route(
        "/recruit/analytics.pdf", get="login 403 403 403 403 200 200"
    ),
    "/recruit/applications/<int:application_id>": Route(
        "/recruit/applications/{application}", get="login 403 403 403 403 200 200"
    ),
    "/recruit/applications/<int:application_id>/decide": Route(
        "/recruit/applications/{application}/decide",
        get="login 403 403 403 403 200 200",
        post="login 403 403 403 403 200 200",
    ),
    "/recruit/applications/<int:application_id>/override": Route(
        "/recruit/applications/{application}/override",
        post="login 403 403 403 403 200 200",
    ),
    "/recruit/applications/<int:application_id>/scorecard": Route(
        "/recruit/applications/{application}/scorecard",
        get="login 403 403 403 403 200 200",
        # 409: the application has not reached the interview stage.
        post="login 403 403 403 403 409 409",
    ),
    "/recruit/audit": Route("/recruit/audit", get="login 403 403 403 403 403 200"),
    "/recruit/candidates/<int:user_id>/decision-log.<fmt>": Route(
        "/recruit/candidates/{candidate}/decision-log.json",
        get="login 403 403 403 403 200 200",
    ),
    "/recruit/fairness": Route(
        "/recruit/fairness", get="login 403 403 403 403 403 200"
    ),
    "/recruit/import": Route(
        "/recruit/import",
        get="login 403 403 403 403 200 200",
        post="login 403 403 403 403 200 200",
    ),
    "/recruit/import/<int:import_id>": Route(
        "/recruit/import/{candidate_import}", get="login 403 403 403 403 404 200"
    ),
    "/recruit/openings": Route(
        "/recruit/openings", get="login 403 403 403 403 200 200"
    ),
    "/recruit/openings/<int:opening_id>": Route(
        "/recruit/openings/{opening}", get="login 403 403 403 403 200 200"
    ),
    "/recruit/openings/<int:opening_id>/analytics": Route(
        "/recruit/openings/{opening}/analytics", get="login 403 403 403 403 200 200"
    ),
    "/recruit/openings/<int:opening_id>/analytics.pdf": Route(
        "/recruit/openings/{opening}/analytics.pdf", get="login 403 403 403 403 200 200"
    ),
    "/recruit/openings/<int:opening_id>/board": Route(
        "/recruit/openings/{opening}/board", get="login 403 403 403 403 200 200"
    ),
    "/recruit/openings/<int:opening_id>/decisions": Route(
        "/recruit/openings/{opening}/decisions", post="login 403 403 403 403 302 302"
    ),
    "/recruit/openings/<int:opening_id>/fairness": Route(
        "/recruit/openings/{opening}/fairness", get="login 403 403 403 403 403 200"
    ),
    "/recruit/openings/<int:opening_id>/ranking.csv": Route(
        "/recruit/openings/{opening}/ranking.csv", get="login 403 403 403 403 200 200"
    ),
    "/recruit/openings/<int:opening_id>/settings": Route(
        "/recruit/openings/{opening}/settings",
        get="login 403 403 403 403 200 200",
        post="login 403 403 403 403 200 200",
    ),
    "/recruit/responses/<int:response_id>/audio": Route(
        "/recruit/responses/{response}/audio", get="login 403 403 403 403 200 200"
    ),
    "/recruit/responses/<int:response_id>/review": Route(
        "/recruit/responses/{response}/review", post="login 403 403 403 403 302 302"
    ),
    "/recruit/tokens": Route(
        "/recruit/tokens",
        get="login 403 403 403 403 200 200",
        post="login 403 403 403 403 200 200",
    ),
    "/recruit/tokens/<int:token_id>/revoke": Route(
        "/recruit/tokens/{admin_token_id}/revoke", post="login 403 403 403 403 404 302"
    ),
    "/recruit/webhooks": Route(
        "/recruit/webhooks",
        get="login 403 403 403 403 403 200",
        post="login 403 403 403 403 403 200",
    ),
    "/recruit/webhooks/<int:webhook_id>/delete": Route(
        "/recruit/webhooks/{spare_webhook}/delete",
        get="login 403 403 403 403 403 200",
        post="login 403 403 403 403 403 302",
    ),
    "/recruit/webhooks/<int:webhook_id>/toggle": Route(
        "/recruit/webhooks/{webhook}/toggle", post="login 403 403 403 403 403 302"
    ),
    "/register": Route(
        "/register",
        get="200 302 302 302 302 302 302",
        post="200 302 302 302 302 302 302",
    ),
    "/static/<path:filename>": Route(
        "/static/style.css", get="200 200 200 200 200 200 200"
    ),
    "/verify": Route("/verify", get="200 200 200 200 200 200 200"),
    "/verify/<code>": Route(
        "/verify/{certificate_code}", get="200 200 200 200 200 200 200"
    ),
}


def route_rules(app: Flask) -> dict[str, set[str]]:
    """Map each URL rule of ``app`` to its methods other than HEAD and OPTIONS."""
    rules: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
        rules.setdefault(rule.rule, set()).update(methods)
    return rules
