"""Every route of the app, visited by every role: status, headers and inline code."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

from flask import Flask

from tests.access.conftest import Visit
from tests.access.routes import ROUTES, route_rules
from tests.access.world import ROLES
from tests.conftest import csrf_token


def expected(visit: Visit) -> str:
    route = ROUTES[visit.rule]
    row = route.get if visit.method == "GET" else route.post
    assert row is not None
    return row.split()[ROLES.index(visit.role)]


def outcome(visit: Visit) -> str:
    if visit.status == 302 and (visit.location or "").startswith("/login"):
        return "login"
    return str(visit.status)


def test_table_lists_every_route(access_app: Flask) -> None:
    rules = route_rules(access_app)
    assert sorted(set(rules) - set(ROUTES)) == [], "routes missing from the table"
    assert sorted(set(ROUTES) - set(rules)) == [], "table rows with no route"
    for rule, methods in rules.items():
        route = ROUTES[rule]
        assert (route.get is not None) == ("GET" in methods), rule
        assert (route.post is not None) == ("POST" in methods), rule
        for row in (route.get, route.post):
            assert row is None or len(row.split()) == len(ROLES), rule


def test_each_role_gets_its_status(crawl: list[Visit]) -> None:
    wrong = [
        f"{v.method} {v.path} as {v.role}: {outcome(v)}, expected {expected(v)}"
        for v in crawl
        if outcome(v) != expected(v)
    ]
    assert wrong == []


def test_crawl_covers_table(crawl: list[Visit]) -> None:
    cells = sum(
        len(ROLES) * ((route.get is not None) + (route.post is not None))
        for route in ROUTES.values()
    )
    assert len(crawl) == cells


def test_no_server_error(crawl: list[Visit]) -> None:
    failed = [f"{v.method} {v.path} as {v.role}" for v in crawl if v.status >= 500]
    assert failed == []


def test_login_redirect_returns_to_page(crawl: list[Visit]) -> None:
    """A GET comes back to its page after the login; a POST never to its URL."""
    redirects = [v for v in crawl if v.role == "anonymous" and outcome(v) == "login"]
    assert redirects
    for visit in redirects:
        query = parse_qs(urlsplit(visit.location or "").query)
        if visit.method == "GET":
            assert query.get("next") == [visit.path], visit.path
        else:
            assert "next" not in query, visit.path


def test_denials_never_show_the_object(crawl: list[Visit], world: dict) -> None:
    secrets = [
        "Dear customer, I am sorry your parcel is late.",
        "I am sorry, and here is why.",
        str(world["certificate_code"]),
    ]
    for visit in crawl:
        if visit.status in (401, 403, 404):
            for secret in secrets:
                assert secret not in visit.body, (visit.path, visit.role)


def script_policy(policy: str) -> str:
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part
    )
    return directives.get("script-src", directives.get("default-src", ""))


def test_security_headers_everywhere(crawl: list[Visit]) -> None:
    for visit in crawl:
        where = f"{visit.method} {visit.path} as {visit.role}"
        headers = visit.headers
        policy = headers.get("Content-Security-Policy", "")
        assert policy, where
        assert script_policy(policy), where
        assert "'unsafe-inline'" not in script_policy(policy), where
        assert "'unsafe-eval'" not in script_policy(policy), where
        framing = headers.get("X-Frame-Options") == "DENY"
        assert framing or "frame-ancestors 'none'" in policy, where
        assert headers.get("X-Content-Type-Options") == "nosniff", where
        assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer"), where


class InlineCodeFinder(HTMLParser):
    """Collect inline script bodies, event-handler attributes and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"<script>{data.strip()[:40]}…</script>")


def test_no_inline_script_or_handler(crawl: list[Visit]) -> None:
    pages = [visit for visit in crawl if visit.mimetype == "text/html"]
    assert len(pages) > 100
    for visit in pages:
        finder = InlineCodeFinder()
        finder.feed(visit.body)
        assert finder.found == [], f"{visit.method} {visit.path} as {visit.role}"


def test_fetch_without_login_gets_json_401(
    access_app: Flask, crawl: list[Visit]
) -> None:
    """Each route that sends a page to the login sends a script a 401 in JSON."""
    client = access_app.test_client()
    token = csrf_token(client, "/")
    redirected = [v for v in crawl if v.role == "anonymous" and outcome(v) == "login"]
    assert len(redirected) > 50
    for visit in redirected:
        headers = {"Accept": "application/json"}
        if visit.method == "GET":
            response = client.get(visit.path, headers=headers)
        else:
            response = client.post(
                visit.path, data={"csrf_token": token}, headers=headers
            )
        assert response.status_code == 401, visit.path
        assert response.is_json, visit.path
        assert response.json["session_expired"] is False, visit.path
