"""English text normalisation and word error rate for comparing transcripts.

Normalisation uses Whisper's English text normaliser (the whisper-normalizer
package): lower case, no punctuation, British spellings and number words
mapped to one form, so "twenty-five dollars" and "$25" compare equal.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cache

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer


@dataclass(frozen=True)
class WordErrors:
    """Word error rate of a hypothesis against a reference, with the differences.

    ``edits`` lists each substituted, deleted or inserted stretch of words as
    ``{"type", "reference", "hypothesis"}``, where a deletion has an empty
    hypothesis and an insertion an empty reference.
    """

    wer: float
    reference_words: int
    substitutions: int
    deletions: int
    insertions: int
    edits: list[dict[str, str]]


@cache
def _normalizer() -> EnglishTextNormalizer:
    return EnglishTextNormalizer()


def normalize_english(text: str, *, drop: Collection[str] = ()) -> list[str]:
    """Normalise ``text`` with Whisper's English normaliser and split it into words.

    Words in ``drop`` (already normalised, such as fillers) are removed, and so
    are tokens without a letter or digit, such as the "." that the normaliser
    leaves of an ellipsis.
    """
    words = _normalizer()(text).split()
    return [
        word for word in words if word not in drop and any(ch.isalnum() for ch in word)
    ]


def word_errors(
    reference: str, hypothesis: str, *, drop: Collection[str] = ()
) -> WordErrors:
    """Align the normalised hypothesis with the normalised reference.

    Raises ValueError if the reference has no words after normalisation.
    """
    reference_words = normalize_english(reference, drop=drop)
    if not reference_words:
        raise ValueError(f"reference text has no words to compare: {reference!r}")
    hypothesis_words = normalize_english(hypothesis, drop=drop)
    if not hypothesis_words:
        return WordErrors(
            wer=1.0,
            reference_words=len(reference_words),
            substitutions=0,
            deletions=len(reference_words),
            insertions=0,
            edits=[_edit("delete", reference_words, [])],
        )
    output = jiwer.process_words(" ".join(reference_words), " ".join(hypothesis_words))
    edits = [
        _edit(
            chunk.type,
            reference_words[chunk.ref_start_idx : chunk.ref_end_idx],
            hypothesis_words[chunk.hyp_start_idx : chunk.hyp_end_idx],
        )
        for chunk in output.alignments[0]
        if chunk.type != "equal"
    ]
    return WordErrors(
        wer=float(output.wer),
        reference_words=len(reference_words),
        substitutions=output.substitutions,
        deletions=output.deletions,
        insertions=output.insertions,
        edits=edits,
    )


def _edit(kind: str, reference: list[str], hypothesis: list[str]) -> dict[str, str]:
    return {
        "type": kind,
        "reference": " ".join(reference),
        "hypothesis": " ".join(hypothesis),
    }
