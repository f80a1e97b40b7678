"""Accounts: sign-up, log-in, roles, CSRF and the create-user command."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import PASSWORD, csrf_token, log_in, make_user


def register(
    client: FlaskClient,
    email: str,
    password: str = PASSWORD,
    name: str = "Ana Díaz",
    **extra: str,
) -> str:
    token = csrf_token(client, "/register")
    data = {
        "name": name,
        "email": email,
        "password": password,
        "confirm": password,
    }
    data.update(extra)
    data["csrf_token"] = token
    response = client.post("/register", data=data)
    return (
        response.get_data(as_text=True)
        if response.status_code == 200
        else response.location
    )


def test_register_creates_candidate(app: Flask, client: FlaskClient) -> None:
    register(client, "Ana@Example.com")
    with app.app_context():
        from recruit.auth import find_user

        user = find_user("ana@example.com")
        assert user is not None
        assert user.role.value == "candidate"
        assert user.email == "ana@example.com"
        assert PASSWORD not in user.password_hash
        assert user.check_password(PASSWORD)


def test_register_rejects_taken_email(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("ana@example.com", "candidate")
    page = register(client, "ANA@example.com")
    assert "already exists" in page


def test_register_rejects_short_password(client: FlaskClient) -> None:
    page = register(client, "ana@example.com", password="short")
    assert "at least 10" in page.lower() or "between 10" in page.lower()
    assert 'aria-invalid="true"' in page


def test_login_wrong_password_is_generic(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={
            "email": "rec@example.com",
            "password": "wrong one!",
            "csrf_token": token,
        },
    )
    assert response.status_code == 200
    assert "email or password is not correct" in response.get_data(as_text=True)


def test_login_ignores_offsite_next(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=https://evil.example/x",
        data={"email": "rec@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.location == "/recruit/openings"


def test_post_without_csrf_token_is_rejected(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("rec@example.com", "recruiter")
    response = client.post(
        "/login", data={"email": "rec@example.com", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)


def test_candidate_cannot_open_recruiter_pages(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("cand@example.com", "candidate")
    log_in(client, "cand@example.com")
    assert client.get("/recruit/openings").status_code == 403


def test_anonymous_is_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/recruit/openings")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_logout_needs_post(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        make_user("cand@example.com", "candidate")
    log_in(client, "cand@example.com")
    assert client.get("/logout").status_code == 405
    token = csrf_token(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/me/applications").status_code == 302


def test_create_user_command(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "--email", "boss@example.com",
            "--name", "Boss",
            "--role", "admin",
            "--password", "a long password",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "created admin boss@example.com" in result.output
    again = runner.invoke(
        args=[
            "create-user",
            "--email", "boss@example.com",
            "--name", "Boss",
            "--role", "admin",
            "--password", "a long password",
        ]
    )  # fmt: skip
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_security_headers(client: FlaskClient) -> None:
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_name_loses_reordering_characters(app: Flask, client: FlaskClient) -> None:
    register(client, "bob@example.com", name="Bob \u202eevil\u202c Smith\x00")
    with app.app_context():
        from recruit.auth import find_user

        assert find_user("bob@example.com").name == "Bob evil Smith"


def test_name_of_only_controls_rejected(client: FlaskClient) -> None:
    page = register(client, "ctl@example.com", name="\u202e\u202c\x07")
    assert "Enter your name in letters" in page


def _log_in_from(
    client: FlaskClient, address: str, email: str, password: str
) -> TestResponse:
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def test_login_blocked_after_failures(app: Flask) -> None:
    from recruit.auth import MAX_FAILURES_PER_EMAIL

    with app.app_context():
        make_user("rec@example.com", "recruiter")
    attacker = app.test_client()
    for _ in range(MAX_FAILURES_PER_EMAIL):
        wrong = _log_in_from(attacker, "192.0.2.10", "rec@example.com", "guess!")
        assert wrong.status_code == 200
    right = _log_in_from(attacker, "192.0.2.10", "REC@example.com", PASSWORD)
    assert right.status_code == 429
    assert "Too many failed log-ins" in right.get_data(as_text=True)
    owner = app.test_client()
    elsewhere = _log_in_from(owner, "198.51.100.7", "rec@example.com", PASSWORD)
    assert elsewhere.status_code == 302  # the owner is not locked out
    again = _log_in_from(attacker, "192.0.2.10", "rec@example.com", PASSWORD)
    assert again.status_code == 429  # the owner's log-in does not reset the pair
    other = app.test_client()
    with app.app_context():
        make_user("cand@example.com", "candidate")
    log_in(other, "cand@example.com")  # other accounts are not blocked


def test_login_blocked_per_address(app: Flask) -> None:
    from recruit.auth import MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_EMAIL

    with app.app_context():
        make_user("rec@example.com", "recruiter")
    attacker = app.test_client()
    for number in range(MAX_FAILURES_PER_ADDRESS):
        email = f"guess{number % 10}@example.com"
        wrong = _log_in_from(attacker, "192.0.2.20", email, "guess!")
        assert wrong.status_code == 200
    assert MAX_FAILURES_PER_ADDRESS // 10 < MAX_FAILURES_PER_EMAIL
    blocked = _log_in_from(attacker, "192.0.2.20", "rec@example.com", PASSWORD)
    assert blocked.status_code == 429
    owner = app.test_client()
    elsewhere = _log_in_from(owner, "198.51.100.8", "rec@example.com", PASSWORD)
    assert elsewhere.status_code == 302


def test_create_user_rejects_bad_email(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "create-user",
            "--email", "notanemail",
            "--name", "X",
            "--role", "recruiter",
            "--password", "a long password",
        ]
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--email" in result.output
