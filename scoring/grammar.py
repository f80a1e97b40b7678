"""Grammar checking behind one interface, with Harper and LanguageTool backends.

Both backends report ``GrammarMatch`` objects whose offsets are Python ``str``
indices (code points) into the checked text, and whose ``category`` is one of
``CATEGORIES``, so a scorer can weight errors without knowing the backend.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from scoring.errors import GrammarBackendError

logger = logging.getLogger(__name__)

CATEGORIES: tuple[str, ...] = (
    "grammar",
    "spelling",
    "punctuation",
    "capitalization",
    "word_choice",
    "style",
    "typography",
    "repetition",
    "other",
)

BACKENDS: tuple[str, ...] = ("harper", "languagetool")

# Harper's LintKind keys (harper-core 2.13, as ``Lint.lint_kind``).
HARPER_KIND_CATEGORIES: Mapping[str, str] = {
    "Agreement": "grammar",
    "BoundaryError": "spelling",
    "Capitalization": "capitalization",
    "Eggcorn": "word_choice",
    "Enhancement": "style",
    "Formatting": "typography",
    "Grammar": "grammar",
    "Malapropism": "word_choice",
    "Miscellaneous": "other",
    "Nonstandard": "word_choice",
    "Preposition": "grammar",
    "Punctuation": "punctuation",
    "Readability": "style",
    "Redundancy": "style",
    "Regionalism": "style",
    "Repetition": "repetition",
    "Spelling": "spelling",
    "Style": "style",
    "Typo": "spelling",
    "Usage": "word_choice",
    "WordChoice": "word_choice",
}

# Harper rules whose LintKind is too broad for scoring. AnA ("a apple") is an
# article error but Harper files it under Miscellaneous.
HARPER_RULE_CATEGORIES: Mapping[str, str] = {
    "AnA": "grammar",
}

# LanguageTool category ids. Most are the built-in ids of
# org.languagetool.rules.Categories. COLLOCATIONS, CREATIVE_WRITING,
# NONSTANDARD_PHRASES, PROPER_NOUNS and TEXT_ANALYSIS are ids of categories that
# English XML rules define, listed from memory and not checked against a release.
# An id missing here falls back to the rule's issue type.
LANGUAGETOOL_CATEGORY_CATEGORIES: Mapping[str, str] = {
    "CASING": "capitalization",
    "COLLOCATIONS": "word_choice",
    "COLLOQUIALISMS": "style",
    "COMPOUNDING": "spelling",
    "CONFUSED_WORDS": "word_choice",
    "CREATIVE_WRITING": "style",
    "FALSE_FRIENDS": "word_choice",
    "GENDER_NEUTRALITY": "style",
    "GRAMMAR": "grammar",
    "MISC": "other",
    "NONSTANDARD_PHRASES": "word_choice",
    "PLAIN_ENGLISH": "style",
    "PROPER_NOUNS": "spelling",
    "PUNCTUATION": "punctuation",
    "REDUNDANCY": "style",
    "REGIONALISMS": "style",
    "REPETITIONS": "repetition",
    "REPETITIONS_STYLE": "style",
    "SEMANTICS": "word_choice",
    "STYLE": "style",
    "TEXT_ANALYSIS": "style",
    "TYPOGRAPHY": "typography",
    "TYPOS": "spelling",
    "WIKIPEDIA": "style",
}

# LanguageTool's rule issueType (a subset of the Localization Quality Issue
# Type vocabulary), used when the category id is not in the table above.
LANGUAGETOOL_ISSUE_TYPE_CATEGORIES: Mapping[str, str] = {
    "misspelling": "spelling",
    "grammar": "grammar",
    "typographical": "typography",
    "whitespace": "typography",
    "style": "style",
    "register": "style",
    "duplication": "repetition",
    "terminology": "word_choice",
    "locale-violation": "style",
}


@dataclass(frozen=True, slots=True)
class GrammarMatch:
    """One problem found in a text.

    ``offset`` and ``length`` are in code points, so ``text[offset:offset + length]``
    is the flagged text. ``replacements`` are whole replacements for that span; an
    empty string means "delete it".
    """

    offset: int
    length: int
    category: str
    message: str
    replacements: tuple[str, ...]
    rule: str

    def to_dict(self) -> dict[str, Any]:
        """Return the match as a JSON-ready dict."""
        return {
            "offset": self.offset,
            "length": self.length,
            "category": self.category,
            "message": self.message,
            "replacements": list(self.replacements),
            "rule": self.rule,
        }


@runtime_checkable
class GrammarChecker(Protocol):
    """A grammar and spelling checker for one or more languages."""

    @property
    def name(self) -> str:
        """Backend name, one of ``BACKENDS``."""
        ...

    @property
    def version(self) -> str:
        """Backend package and version, stored with every score."""
        ...

    def supports(self, language: str) -> bool:
        """Return whether ``language`` (an ISO 639-1 code or BCP 47 tag) is checked."""
        ...

    def check(self, text: str, language: str) -> list[GrammarMatch]:
        """Check ``text`` and return its matches ordered by offset.

        Raises UnsupportedLanguageError for a language the backend does not check
        and GrammarBackendError when the backend fails.
        """
        ...


def category_for_harper(lint_kind: str, rule: str) -> str:
    """Map a Harper lint kind and rule name to a category of ``CATEGORIES``."""
    if rule in HARPER_RULE_CATEGORIES:
        return HARPER_RULE_CATEGORIES[rule]
    return HARPER_KIND_CATEGORIES.get(lint_kind, "other")


def category_for_languagetool(category_id: str, issue_type: str = "") -> str:
    """Map a LanguageTool category id and rule issue type to ``CATEGORIES``."""
    if category_id in LANGUAGETOOL_CATEGORY_CATEGORIES:
        return LANGUAGETOOL_CATEGORY_CATEGORIES[category_id]
    return LANGUAGETOOL_ISSUE_TYPE_CATEGORIES.get(issue_type, "other")


_checkers: dict[tuple[str, str | None], GrammarChecker] = {}
_checkers_lock = threading.Lock()


def get_checker(
    backend: str = "harper", *, languagetool_url: str | None = None
) -> GrammarChecker:
    """Return this process's checker for ``backend``, creating it on first use.

    ``languagetool_url`` is the base URL of a LanguageTool server, the part before
    ``/v2/``. Without it, the LanguageTool backend starts a local server from an
    installed LanguageTool. Raises GrammarBackendError for an unknown backend, a
    missing package or an unreachable server. A failed creation is not cached.
    """
    key = (backend, languagetool_url if backend == "languagetool" else None)
    with _checkers_lock:
        checker = _checkers.get(key)
        if checker is None:
            checker = _create_checker(backend, languagetool_url)
            _checkers[key] = checker
            logger.info("grammar checker ready: %s %s", checker.name, checker.version)
        return checker


def clear_checkers() -> None:
    """Close and forget the cached checkers, so that ``get_checker`` makes new ones."""
    with _checkers_lock:
        for checker in _checkers.values():
            close = getattr(checker, "close", None)
            if callable(close):
                close()
        _checkers.clear()


def _create_checker(backend: str, languagetool_url: str | None) -> GrammarChecker:
    if backend == "harper":
        try:
            from scoring.adapters.harper import HarperChecker
        except ImportError as error:
            raise GrammarBackendError(
                f"the Harper backend needs the harper-py package ({error}); install "
                "it with 'pip install harper-py', or set "
                "FRONTLINE_GRAMMAR_BACKEND=languagetool"
            ) from error
        return HarperChecker()
    if backend == "languagetool":
        try:
            from scoring.adapters.languagetool import LanguageToolChecker
        except ImportError as error:
            raise GrammarBackendError(
                "the LanguageTool backend needs the language-tool-python package "
                f"({error}); install it with 'pip install language-tool-python', "
                "or set FRONTLINE_GRAMMAR_BACKEND=harper"
            ) from error
        return LanguageToolChecker(languagetool_url)
    raise GrammarBackendError(
        f"unknown grammar backend {backend!r}; set FRONTLINE_GRAMMAR_BACKEND to one "
        f"of {', '.join(BACKENDS)}"
    )
