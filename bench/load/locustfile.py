"""Simulated candidates taking the language stage, and a probe of ``/healthz``.

``bench/load/run.py`` seeds the accounts, starts the servers and runs this file
with ``locust --headless``. Two environment variables connect them:

- ``FRONTLINE_LOAD_ACCOUNTS``: a JSON file with ``password``, ``opening_id`` and
  the candidates' ``emails``, written by the runner.
- ``FRONTLINE_LOAD_RECORDS``: a JSON-lines file to which each candidate appends
  one line per answer that the server acknowledged, and one per failed journey.
- ``FRONTLINE_LOAD_TIMINGS``: a CSV file that receives every request's name,
  status code and response time in milliseconds when Locust quits, so that the
  runner computes exact percentiles (Locust's own round above 100 ms).

Each candidate logs in, applies, opens the language stage, autosaves a written
reply twice, submits it, uploads the JFK clip as its recording, and then polls
the status endpoint every 2 s while an answer waits for its score, as the test
page's script does. It sends the CSRF token that the page's
``<meta name="csrf-token">`` holds: as the ``csrf_token`` form field for plain
forms, and in the ``X-CSRFToken`` header for the script's requests. A candidate
stops once no answer is waiting, or when the run time ends. Once every candidate
has stopped, Locust quits before the run time ends.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent
from locust import FastHttpUser, constant, constant_pacing, events, task
from locust.exception import StopUser

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "tests" / "data" / "audio" / "jfk_streamed_no_duration.webm"
# Seconds between the steps of a journey, multiplied by FRONTLINE_LOAD_PAUSE_SCALE.
THINK_TIME_S = (1.0, 3.0)
# The test page autosaves 2 s after the last keystroke and polls every 2 s.
AUTOSAVE_DELAY_S = 2.0
POLL_INTERVAL_S = 2.0
WAITING = {"submitted", "processing"}

_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_START_FORM = re.compile(r'action="(/me/applications/\d+/assessments/\d+)"')
_TEXT_FORM = re.compile(
    r'class="text-answer"[^>]*?action="(/attempts/\d+/items/(\d+)/text)"', re.S
)
_UPLOAD_URL = re.compile(r'data-upload-url="(/attempts/\d+/items/(\d+)/audio)"')
_STATUS_URL = re.compile(r'data-status-url="(/attempts/\d+/status)"')

REPLY_SENTENCES = (
    "Thank you for contacting us, and I am sorry that your parcel is late.",
    "I understand how frustrating it is to wait without any news.",
    "I have checked order #48213 and the carrier scanned it at the regional depot "
    "on Wednesday.",
    "The depot reports a damaged address label, so I have sent them the correct "
    "address.",
    "The carrier has promised to deliver the parcel by Friday afternoon.",
    "If it does not arrive by then, I will send a replacement by express shipping "
    "at no cost to you.",
    "I will also refund the shipping fee you paid for this order today.",
    "You will receive an email with the new tracking link within the hour.",
    "Is there anything else I can help you with while I follow this up?",
    "Could you let me know whether this solves the problem for you?",
)


# (name, status code, response time in ms) of every request, written at quit.
TIMINGS: list[tuple[str, int, float]] = []


@events.request.add_listener
def keep_timing(
    name: str, response_time: float, response: Any = None, **kwargs: Any
) -> None:
    status = getattr(response, "status_code", 0) or 0
    TIMINGS.append((name, int(status), response_time))


@events.quitting.add_listener
def write_timings(**kwargs: Any) -> None:
    path = os.environ.get("FRONTLINE_LOAD_TIMINGS")
    if not path:
        return
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("name", "status", "response_time_ms"))
        writer.writerows(TIMINGS)


class JourneyFailed(Exception):
    """A step of the journey got an unexpected response; the user stops."""


def _load_accounts() -> dict[str, Any]:
    path = os.environ.get("FRONTLINE_LOAD_ACCOUNTS")
    if not path:
        raise RuntimeError(
            "FRONTLINE_LOAD_ACCOUNTS is not set; run this file through "
            "bench/load/run.py, which seeds the accounts"
        )
    return json.loads(Path(path).read_text())


ACCOUNTS = _load_accounts()
_emails: Iterator[str] = iter(ACCOUNTS["emails"])
_numbers = itertools.count(1)
_stopped_candidates = 0
PAUSE_SCALE = float(os.environ.get("FRONTLINE_LOAD_PAUSE_SCALE", "1"))
CLIP_BYTES = CLIP.read_bytes()


def record(entry: dict[str, Any]) -> None:
    """Append one line to the records file that the runner checks afterwards."""
    path = os.environ["FRONTLINE_LOAD_RECORDS"]
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def written_reply(rng: random.Random, number: int) -> str:
    """Return a reply of about 100 words that differs between candidates."""
    sentences = list(REPLY_SENTENCES)
    rng.shuffle(sentences)
    body = " ".join(sentences[:7])
    return f"Dear customer,\n\n{body}\n\nKind regards,\nAgent {number}"


def location_path(response: Any) -> str:
    """Return the path of a redirect's Location header, absolute or relative."""
    return urlsplit(response.headers.get("Location", "")).path


def pause(low: float, high: float | None = None) -> None:
    time.sleep(PAUSE_SCALE * (low if high is None else random.uniform(low, high)))


class Candidate(FastHttpUser):
    """One candidate's journey through the language stage, then status polling."""

    wait_time = constant(POLL_INTERVAL_S * PAUSE_SCALE)
    network_timeout = 60.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        email = next(_emails, None)
        if email is None:  # more users than seeded accounts
            raise StopUser()
        self.email = email
        self.number = next(_numbers)
        self.status_url = ""
        try:
            self.take_language_stage()
        except JourneyFailed as error:
            record(
                {"email": self.email, "event": "journey_failed", "error": str(error)}
            )
            self.finish()

    def finish(self) -> None:
        """Stop this candidate, and quit Locust once every candidate has stopped."""
        global _stopped_candidates
        _stopped_candidates += 1
        if _stopped_candidates >= len(ACCOUNTS["emails"]):
            # Quitting from a user's own greenlet would kill it halfway.
            gevent.spawn_later(0.5, self.environment.runner.quit)
        raise StopUser()

    def send(
        self, method: str, url: str, name: str, expected: int, **kwargs: Any
    ) -> Any:
        """Send one request and mark it failed unless its status is ``expected``."""
        with self.client.request(
            method,
            url,
            name=name,
            allow_redirects=False,
            catch_response=True,
            **kwargs,
        ) as response:
            if response.status_code != expected:
                message = f"{name}: expected {expected}, got {response.status_code}"
                if getattr(response, "error", None) is not None:
                    message += f" ({response.error!r})"
                response.failure(message)
                raise JourneyFailed(message)
            response.success()
            return response

    def page(self, url: str, name: str) -> tuple[str, str]:
        """GET a page and return its HTML and the CSRF token from its meta tag."""
        html = self.send("GET", url, name, 200).text
        match = _CSRF_META.search(html)
        if match is None:
            raise JourneyFailed(f"{name}: no CSRF token on the page")
        return html, match.group(1)

    def take_language_stage(self) -> None:
        opening = f"/openings/{ACCOUNTS['opening_id']}"
        _html, token = self.page("/login", "GET /login")
        login = self.send(
            "POST",
            "/login",
            "POST /login",
            302,
            data={
                "email": self.email,
                "password": ACCOUNTS["password"],
                "csrf_token": token,
            },
        )
        self.page(location_path(login), "GET /me/applications")
        pause(*THINK_TIME_S)

        _html, token = self.page(opening, "GET /openings/[id]")
        applied = self.send(
            "POST",
            opening,
            "POST /openings/[id] (apply)",
            302,
            data={"csrf_token": token, "submit": "Apply"},
        )
        html, token = self.page(location_path(applied), "GET /me/applications/[id]")
        start = _START_FORM.search(html)
        if start is None:
            raise JourneyFailed("the application page shows no Start button")
        pause(*THINK_TIME_S)

        started = self.send(
            "POST",
            start.group(1),
            "POST /me/applications/[id]/assessments/[id] (start)",
            302,
            data={"csrf_token": token},
        )
        attempt_url = location_path(started)
        html, token = self.page(attempt_url, "GET /attempts/[id]")
        self.answer_in_writing(html, token, attempt_url)
        pause(*THINK_TIME_S)
        self.upload_recording(html, token)

    def answer_in_writing(self, html: str, token: str, attempt_url: str) -> None:
        """Autosave the reply twice as it is typed, then submit it with the form."""
        form = _TEXT_FORM.search(html)
        status = _STATUS_URL.search(html)
        if form is None or status is None:
            raise JourneyFailed("the attempt page shows no text form or status URL")
        self.status_url = status.group(1)
        action, item_id = form.group(1), form.group(2)
        field = f"item{item_id}-answer"
        reply = written_reply(random.Random(self.email), self.number)
        script_headers = {"X-CSRFToken": token, "Accept": "application/json"}
        for typed in (reply[: len(reply) // 2], reply):
            pause(*THINK_TIME_S)
            pause(AUTOSAVE_DELAY_S)
            self.send(
                "POST",
                action,
                "POST /attempts/[id]/items/[id]/text (autosave)",
                200,
                data={field: typed},
                headers=script_headers,
            )
        pause(*THINK_TIME_S)
        self.send(
            "POST",
            action,
            "POST /attempts/[id]/items/[id]/text (submit)",
            302,
            data={
                "csrf_token": token,
                field: reply,
                f"item{item_id}-submit": "Submit answer",
            },
        )
        record(
            {
                "email": self.email,
                "event": "submitted",
                "item_id": int(item_id),
                "kind": "text",
                "sha256": hashlib.sha256(reply.encode()).hexdigest(),
            }
        )
        self.page(attempt_url, "GET /attempts/[id]")

    def upload_recording(self, html: str, token: str) -> None:
        """Send the clip as the recorder script does: one file part named audio."""
        upload = _UPLOAD_URL.search(html)
        if upload is None:
            raise JourneyFailed("the attempt page shows no recorder")
        self.send(
            "POST",
            upload.group(1),
            "POST /attempts/[id]/items/[id]/audio",
            201,
            files={"audio": ("answer.webm", CLIP_BYTES, "audio/webm;codecs=opus")},
            headers={"X-CSRFToken": token, "Accept": "application/json"},
        )
        record(
            {
                "email": self.email,
                "event": "submitted",
                "item_id": int(upload.group(2)),
                "kind": "audio",
                "bytes": len(CLIP_BYTES),
            }
        )

    @task
    def poll_status(self) -> None:
        """Poll the answers' status, and stop once none is waiting for a score."""
        try:
            response = self.send(
                "GET",
                self.status_url,
                "GET /attempts/[id]/status",
                200,
                headers={"Accept": "application/json"},
            )
        except JourneyFailed:
            return
        items = response.json()["items"].values()
        if not any(item["status"] in WAITING for item in items):
            self.finish()


class HealthProbe(FastHttpUser):
    """One client that asks ``/healthz`` twice a second for the baseline latency."""

    fixed_count = 1
    wait_time = constant_pacing(0.5)

    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="GET /healthz")
