"""English grammar and spelling checks with Harper, through harper-py.

Harper runs in process, offline, with no Java. ``harper.Linter`` is not
thread-safe, so each thread builds its own Linter on first use and keeps it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from importlib import metadata

import harper

from scoring.errors import UnsupportedLanguageError
from scoring.grammar import GrammarMatch, category_for_harper

logger = logging.getLogger(__name__)

# Runs of 40 or more non-space characters are not words but URLs, IDs or junk.
# Harper does not lint text that matches this mask. Harper 2.13 builds spelling
# suggestions in time and memory superlinear in word length. On a 2-core AMD EPYC
# VM a 3,000-letter word took 1 s, and a 10,000-letter word aborted the process
# when it reached a 4 GB memory limit.
LONG_RUN_MASK = r"\S{40,}"

# Maximum code points per Linter call. Harper slows down superlinearly on long
# sentences: a 100 KB text of "I I I ..." took 24 s in one call on the same VM.
# Longer text is linted in pieces cut at sentence ends, or failing that at spaces.
DEFAULT_CHUNK_CHARS = 1000

MAX_REPLACEMENTS = 5

# In each thread, the first spelling suggestion for a word far from every
# dictionary word (such as "Blorptastic" or "Oluwaseun") took 1.1-1.7 s on that
# VM, and later ones took milliseconds. Linting this text when a thread builds
# its Linter moves that cost out of the thread's first real request.
_WARM_UP_TEXT = "Blorptastic qwzxy recieve teh pacakge."

# Rules switched off because they flag the set phrases of customer service.
# MissingPreposition flags "am" in "I am sorry your order is late" and "are" in
# "We are sorry your parcel arrived damaged"; PossessiveYour flags "you" in
# "write to you tomorrow" (harper-py 0.2.0).
DISABLED_RULES: tuple[str, ...] = ("MissingPreposition", "PossessiveYour")

_DIALECTS: dict[str, harper.Dialect] = {
    "us": harper.Dialect.AMERICAN,
    "gb": harper.Dialect.BRITISH,
    "uk": harper.Dialect.BRITISH,
    "au": harper.Dialect.AUSTRALIAN,
    "ca": harper.Dialect.CANADIAN,
    "in": harper.Dialect.INDIAN,
}

_BREAK_RE = re.compile(r"[.!?…]+[\"'”’)\]]*\s+|\n\s*")
_SPACE_RE = re.compile(r"\s+")
_WORD_RE = re.compile(r"[^\W\d_]+")
_SENTENCE_END = frozenset(".!?…")
_OPENERS = frozenset("\"'“‘([«¿¡")


class HarperChecker:
    """Harper behind the ``GrammarChecker`` interface, for English only.

    With ``ignore_name_spelling`` (the default), spelling flags on words that look
    like names are dropped. These are capitalised words inside a sentence, words
    in capitals (acronyms, codes) and words with digits. A capitalised word at a
    sentence start is dropped only if the text also capitalises it inside a
    sentence. Harper's dictionary lacks most personal and brand names (it flags
    "Priya", "Siobhan", "Zalando"), and agents write customers' names all day.
    A contraction of "I" ("I'am") is not a name and stays flagged. A
    capitalised word for which Harper asks for all capitals ("Sam" as SAM) is
    taken for a name too. The cost is
    that misspelled names and capitalised words inside a sentence ("the Holday
    Inn", "on Facebbok") are not reported. Keeping flags on words one edit from
    a dictionary word would catch those, but it also flagged correct names in
    learner essays ("Thiers", "Málaga", "Aula Magna").

    With ``accept_other_dialect`` (the default), a word spelled as in the other
    main dialect (British for American text, American for British) is not a
    spelling error.
    """

    def __init__(
        self,
        *,
        ignore_name_spelling: bool = True,
        accept_other_dialect: bool = True,
        chunk_chars: int = DEFAULT_CHUNK_CHARS,
    ) -> None:
        if chunk_chars < 100:
            raise ValueError(f"chunk_chars must be at least 100, got {chunk_chars}")
        self.ignore_name_spelling = ignore_name_spelling
        self.accept_other_dialect = accept_other_dialect
        self.chunk_chars = chunk_chars
        self._local = threading.local()
        self._version = f"harper-py {metadata.version('harper-py')}"
        self._linter(harper.Dialect.AMERICAN)

    @property
    def name(self) -> str:
        """Backend name."""
        return "harper"

    @property
    def version(self) -> str:
        """Package and version of the Harper binding."""
        return self._version

    def supports(self, language: str) -> bool:
        """Return whether ``language`` is English (``en``, ``en-GB``, ``en_US`` ...)."""
        return _primary_subtag(language) == "en"

    def check(self, text: str, language: str = "en") -> list[GrammarMatch]:
        """Lint ``text`` as plain text and return its matches ordered by offset."""
        if not self.supports(language):
            raise UnsupportedLanguageError(
                f"Harper checks English only, not {language!r}; set "
                "FRONTLINE_GRAMMAR_BACKEND=languagetool and LANGUAGETOOL_URL "
                "to check other languages"
            )
        dialect = _dialect_for(language)
        linter = self._linter(dialect)
        matches: list[GrammarMatch] = []
        names = _NameIndex(text)
        for start, end in split_for_linting(text, self.chunk_chars):
            chunk = text[start:end]
            organized = linter.organized_lints(
                chunk, language="plaintext", regex_mask=LONG_RUN_MASK
            )
            chunk_matches = [
                _to_match(lint, rule, start)
                for rule, lints in organized.items()
                for lint in lints
            ]
            if self.ignore_name_spelling:
                chunk_matches = [
                    m
                    for m in chunk_matches
                    if not _is_name_spelling(m, names)
                    and not _is_name_as_acronym(m, names.text)
                ]
            if self.accept_other_dialect:
                chunk_matches = self._without_other_dialect_spelling(
                    chunk_matches, chunk, start, dialect
                )
            matches.extend(chunk_matches)
        matches.sort(key=lambda match: (match.offset, match.length))
        return matches

    def _without_other_dialect_spelling(
        self,
        matches: list[GrammarMatch],
        chunk: str,
        start: int,
        dialect: harper.Dialect,
    ) -> list[GrammarMatch]:
        """Drop spelling flags on words that the other main dialect spells so.

        American and British spellings ("apologize", "apologise") are both
        correct English, and a candidate is not marked down for either. The
        other dialect's linter runs only on chunks that have a spelling flag.
        """
        spelling = [m for m in matches if m.rule == "SpellCheck"]
        if not spelling:
            return matches
        other = (
            harper.Dialect.BRITISH
            if dialect == harper.Dialect.AMERICAN
            else harper.Dialect.AMERICAN
        )
        flagged_there = {
            (start + lint.span.start, lint.span.end - lint.span.start)
            for lint in self._linter(other).organized_lints(
                chunk, language="plaintext", regex_mask=LONG_RUN_MASK
            )["SpellCheck"]
        }
        return [
            m
            for m in matches
            if m.rule != "SpellCheck" or (m.offset, m.length) in flagged_there
        ]

    def _linter(self, dialect: harper.Dialect) -> harper.Linter:
        linters: dict[harper.Dialect, harper.Linter] | None = getattr(
            self._local, "linters", None
        )
        if linters is None:
            linters = {}
            self._local.linters = linters
        linter = linters.get(dialect)
        if linter is None:
            started = time.perf_counter()
            linter = harper.Linter(dialect)
            config = linter.get_lint_config()
            config.update(dict.fromkeys(DISABLED_RULES, False))
            linter.set_lint_config(config)
            linter.lint(_WARM_UP_TEXT, language="plaintext")
            linters[dialect] = linter
            logger.info(
                "built Harper linter (%s) for thread %s in %.2f s",
                dialect.name,
                threading.current_thread().name,
                time.perf_counter() - started,
            )
        return linter


def split_for_linting(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Cut ``text`` into ``(start, end)`` spans, mostly of at most ``max_chars``.

    A cut falls after the last sentence end or line break in the second half of
    the window, else after its last whitespace. If that half has no whitespace,
    the cut falls at the end of the non-space run that crosses the window end.
    The span is longer than ``max_chars`` then, but the run is masked as a whole
    (LONG_RUN_MASK), where a cut would leave its tail to be linted as a word.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    while len(text) - start > max_chars:
        window_end = start + max_chars
        cut = _last_break(text, start + max_chars // 2, window_end)
        if cut is None:
            space = _SPACE_RE.search(text, window_end)
            cut = space.start() if space else len(text)
        spans.append((start, cut))
        start = cut
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _last_break(text: str, low: int, high: int) -> int | None:
    for pattern in (_BREAK_RE, _SPACE_RE):
        ends = [found.end() for found in pattern.finditer(text, low, high)]
        if ends:
            return ends[-1]
    return None


def _to_match(lint: harper.Lint, rule: str, chunk_start: int) -> GrammarMatch:
    replacements: list[str] = []
    for suggestion in lint.suggestions[:MAX_REPLACEMENTS]:
        if suggestion.kind == harper.SuggestionKind.REMOVE:
            replacements.append("")
        elif suggestion.kind == harper.SuggestionKind.INSERT_AFTER:
            replacements.append(lint.problem_text + suggestion.replacement_text)
        else:
            replacements.append(suggestion.replacement_text)
    return GrammarMatch(
        offset=chunk_start + lint.span.start,
        length=lint.span.end - lint.span.start,
        category=category_for_harper(lint.lint_kind, rule),
        message=lint.message,
        replacements=tuple(replacements),
        rule=rule,
    )


class _NameIndex:
    """Words of a text and the capitalised words it uses inside sentences."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._inside: set[str] | None = None

    def capitalised_inside_sentences(self) -> set[str]:
        if self._inside is None:
            self._inside = {
                found.group()
                for found in _WORD_RE.finditer(self.text)
                if found.group()[0].isupper()
                and not _at_sentence_start(self.text, found.start())
            }
        return self._inside


def _is_name_spelling(match: GrammarMatch, names: _NameIndex) -> bool:
    if match.category != "spelling" or match.rule != "SpellCheck":
        return False
    word = names.text[match.offset : match.offset + match.length]
    letters = [char for char in word if char.isalpha()]
    if not letters:
        return False
    if any(char.isdigit() for char in word):
        return True
    if len(letters) >= 2 and all(char.isupper() for char in letters):
        return True
    if not word[0].isupper() or re.match(r"I['’]", word):
        return False
    if not _at_sentence_start(names.text, match.offset):
        return True
    return word in names.capitalised_inside_sentences()


def _is_name_as_acronym(match: GrammarMatch, text: str) -> bool:
    """Return whether Harper requests all capitals for a capitalised name.

    Harper's OrthographicConsistency rule flags "Sam" and "Mia" because its
    dictionary spells them SAM and MIA (acronyms), with the message "This
    word's canonical spelling is all-caps". A word written with one capital
    and then lower case is usually a name in running text. The rule's
    flags on mixed-case spellings ("Paypal" for "PayPal") stay.
    """
    if match.rule != "OrthographicConsistency" or not match.replacements:
        return False
    word = text[match.offset : match.offset + match.length]
    if not (word[:1].isupper() and word[1:].islower()):
        return False
    return all(
        replacement.isupper() and replacement.lower() == word.lower()
        for replacement in match.replacements
    )


def _at_sentence_start(text: str, index: int) -> bool:
    position = index - 1
    while position >= 0 and (text[position].isspace() or text[position] in _OPENERS):
        if text[position] == "\n":
            return True
        position -= 1
    return position < 0 or text[position] in _SENTENCE_END


def _primary_subtag(language: str) -> str:
    return language.strip().replace("_", "-").split("-")[0].lower()


def _dialect_for(language: str) -> harper.Dialect:
    subtags = language.strip().replace("_", "-").lower().split("-")
    for subtag in subtags[1:]:
        if subtag in _DIALECTS:
            return _DIALECTS[subtag]
    return harper.Dialect.AMERICAN
