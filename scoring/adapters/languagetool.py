"""Grammar checks with LanguageTool, through language-tool-python.

The checker talks to a LanguageTool HTTP server: a remote one given by URL, or
a local one that language-tool-python starts from an installed LanguageTool
(this needs Java 17 or later). It never downloads LanguageTool, because the
download is about 260 MB and would stall the first request.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import threading
import urllib.parse
from collections.abc import Mapping
from importlib import metadata
from typing import Any

import language_tool_python
import requests
from language_tool_python.download_lt import LocalLanguageTool
from language_tool_python.exceptions import LanguageToolError
from language_tool_python.utils import get_language_tool_download_path

from scoring.errors import GrammarBackendError, UnsupportedLanguageError
from scoring.grammar import GrammarMatch, category_for_languagetool

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 20.0
MAX_REPLACEMENTS = 5

# LanguageTool spell-checks only a regional variant (en-US, not en), so a bare
# language code is sent as this variant. US English matches the shoppers that
# the live-chat standard describes; Brazilian Portuguese has the most speakers.
DEFAULT_VARIANTS: Mapping[str, str] = {
    "en": "en-US",
    "de": "de-DE",
    "pt": "pt-BR",
    "ca": "ca-ES",
}

# language-tool-python 3.4 converts each match offset from UTF-16 code units to
# code points with a cache kept on the Match class, shared by all threads. This
# lock keeps two checks from mixing up each other's conversion.
_CHECK_LOCK = threading.Lock()

# A Python str may hold unpaired surrogates (json.loads accepts "\ud800"), which
# cannot be encoded for the request. Each becomes U+FFFD, so offsets stay valid.
_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")

_SETUP_ERRORS = (
    LanguageToolError,
    OSError,
    # language-tool-python runs "java -version" first, which can exit non-zero
    # when the JVM cannot start, for example for want of memory.
    subprocess.CalledProcessError,
    SystemError,
    ModuleNotFoundError,
    ValueError,
)


class _Client(language_tool_python.LanguageTool):
    """language-tool-python's client with a bounded time per HTTP request."""

    def __init__(self, *, timeout: float, **kwargs: Any) -> None:
        # language-tool-python 3.4 has no timeout parameter: every request waits
        # up to the class attribute _TIMEOUT, 300 s, and a check is tried twice.
        self._TIMEOUT = timeout  # type: ignore[assignment]
        super().__init__(**kwargs)

    def _start_server_on_free_port(self) -> None:
        # language-tool-python 3.4 moves on to the next of 918 ports each time a
        # local server fails to start, which takes minutes when Java or the
        # installation is broken. Three ports are enough to step over ports in use.
        self._available_ports = self._available_ports[:2]
        super()._start_server_on_free_port()


class LanguageToolChecker:
    """LanguageTool behind the ``GrammarChecker`` interface, for 30+ languages.

    With ``url``, requests go to that server (the base URL, without ``/v2/``).
    Without it, a local server is started from an installed LanguageTool, and
    GrammarBackendError is raised at once if Java or LanguageTool is missing.
    Creating the checker fetches the server's language list, so an unreachable
    server fails here and not on the first check.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        variants: Mapping[str, str] = DEFAULT_VARIANTS,
    ) -> None:
        self._timeout = timeout
        self._variants = {code.lower(): tag for code, tag in variants.items()}
        self._clients: dict[str, _Client] = {}
        self._unsupported: set[str] = set()
        self._clients_lock = threading.Lock()
        self._local_server: _Client | None = None
        self._version = (
            f"language-tool-python {metadata.version('language-tool-python')}"
        )
        if url is None:
            self._local_server = _start_local_server(timeout)
            self._url = f"http://{self._local_server.host}:{self._local_server.port}/"
            self._clients[str(self._local_server.language)] = self._local_server
        else:
            self._url = _validated_url(url)
            self._client(self.language_tag("en"))

    @property
    def name(self) -> str:
        """Backend name."""
        return "languagetool"

    @property
    def version(self) -> str:
        """Package and version of the LanguageTool client."""
        return self._version

    @property
    def url(self) -> str:
        """Base URL of the LanguageTool server in use."""
        return self._url

    def language_tag(self, language: str) -> str:
        """Return the LanguageTool tag for ``language``: ``en`` gives ``en-US``."""
        tag = language.strip().replace("_", "-")
        if "-" in tag:
            return tag
        return self._variants.get(tag.lower(), tag.lower())

    def supports(self, language: str) -> bool:
        """Return whether the server lists ``language``, querying it if needed."""
        try:
            self._client(self.language_tag(language))
        except UnsupportedLanguageError:
            return False
        return True

    def check(self, text: str, language: str = "en") -> list[GrammarMatch]:
        """Send ``text`` to LanguageTool and return its matches ordered by offset."""
        client = self._client(self.language_tag(language))
        if not text.strip():
            return []
        text = _LONE_SURROGATE_RE.sub("\ufffd", text)
        try:
            with _CHECK_LOCK:
                raw_matches = client.check(text)
            matches = [_to_match(text, raw) for raw in raw_matches]
        except LanguageToolError as error:
            raise self._backend_error(error) from error
        except (KeyError, TypeError, AttributeError) as error:
            raise GrammarBackendError(
                f"LanguageTool server at {self._url} returned a response without "
                f"the expected fields ({error!r}); check that the URL points at a "
                "LanguageTool /v2 API"
            ) from error
        matches.sort(key=lambda match: (match.offset, match.length))
        return matches

    def close(self) -> None:
        """Stop the local LanguageTool server, if this checker started one."""
        if self._local_server is not None:
            self._local_server.close()
            self._local_server = None

    def _client(self, tag: str) -> _Client:
        with self._clients_lock:
            client = self._clients.get(tag)
            if client is not None:
                return client
            if tag in self._unsupported:
                raise self._unsupported_error(tag)
            try:
                client = _Client(
                    timeout=self._timeout, language=tag, remote_server=self._url
                )
            except ValueError as error:
                self._unsupported.add(tag)
                raise self._unsupported_error(tag) from error
            except LanguageToolError as error:
                raise self._backend_error(error) from error
            self._clients[tag] = client
            return client

    def _unsupported_error(self, tag: str) -> UnsupportedLanguageError:
        return UnsupportedLanguageError(
            f"the LanguageTool server at {self._url} does not check language "
            f"{tag!r}; see its /v2/languages list for the languages it supports"
        )

    def _backend_error(self, error: LanguageToolError) -> GrammarBackendError:
        cause = error.__cause__
        if isinstance(cause, requests.Timeout):
            reason = f"did not respond within {self._timeout:g} s"
        elif isinstance(cause, requests.ConnectionError):
            reason = "is unreachable (connection failed)"
        else:
            reason = f"failed: {str(error).strip()[:300]}"
        logger.warning("LanguageTool request to %s failed: %s", self._url, error)
        return GrammarBackendError(
            f"LanguageTool server at {self._url} {reason}; check that the server "
            "runs and LANGUAGETOOL_URL points at it, or set "
            "FRONTLINE_GRAMMAR_BACKEND=harper to check English offline"
        )


def _validated_url(url: str) -> str:
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise GrammarBackendError(
            f"invalid LanguageTool URL {url!r}; set LANGUAGETOOL_URL to "
            "the server's base URL, such as http://127.0.0.1:8081/"
        )
    # language-tool-python appends "v2/" with urljoin, which drops the last path
    # segment unless the base URL ends with a slash.
    path = parsed.path if parsed.path.endswith("/") else parsed.path + "/"
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, path, "", ""))


def _start_local_server(timeout: float) -> _Client:
    """Start LanguageTool from a local installation, or raise GrammarBackendError."""
    remedy = (
        "set LANGUAGETOOL_URL to a running LanguageTool server, or set "
        "FRONTLINE_GRAMMAR_BACKEND=harper to check English offline"
    )
    if shutil.which("java") is None:
        raise GrammarBackendError(
            f"a local LanguageTool server needs Java 17 or later on PATH; {remedy}"
        )
    version_kwargs: dict[str, str] = {}
    if not os.environ.get("LTP_JAR_DIR_PATH"):
        installed = LocalLanguageTool.get_latest_installed_version()
        if installed is None:
            raise GrammarBackendError(
                "no LanguageTool installation found in "
                f"{get_language_tool_download_path()} and LTP_JAR_DIR_PATH is not "
                f"set (Frontline never downloads LanguageTool); {remedy}"
            )
        version_kwargs["language_tool_download_version"] = installed.version_name
    try:
        client = _Client(timeout=timeout, language="en-US", **version_kwargs)
    except _SETUP_ERRORS as error:
        raise GrammarBackendError(
            f"the local LanguageTool server failed to start ({error}); {remedy}"
        ) from error
    logger.info("started local LanguageTool server on port %s", client.port)
    return client


def _to_match(text: str, raw: language_tool_python.Match) -> GrammarMatch:
    # language-tool-python 3.4 has already converted raw.offset to code points,
    # but raw.error_length is still in UTF-16 code units, as LanguageTool (Java)
    # counts them.
    offset = min(max(raw.offset, 0), len(text))
    return GrammarMatch(
        offset=offset,
        length=utf16_units_to_code_points(text, offset, raw.error_length),
        category=category_for_languagetool(raw.category, raw.rule_issue_type),
        message=raw.message,
        replacements=tuple(raw.replacements[:MAX_REPLACEMENTS]),
        rule=raw.rule_id,
    )


def utf16_units_to_code_points(text: str, offset: int, units: int) -> int:
    """Return how many code points of ``text`` from ``offset`` span ``units``.

    A code point above U+FFFF (most emoji) is two UTF-16 code units.
    """
    position = offset
    while units > 0 and position < len(text):
        units -= 2 if ord(text[position]) > 0xFFFF else 1
        position += 1
    return position - offset
