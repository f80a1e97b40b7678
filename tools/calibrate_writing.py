"""Calibrate the writing score on rated learner English and measure the checker.

Usage: python tools/calibrate_writing.py [--data DIR] [--rules FILE]

The data folder (default: $FRONTLINE_SHARED_DATA, else ../shared/data beside the
repository) must contain learner_text/ with:

- cefr_asag_labelled_sample120.csv: short answers rated A1-C2 (majority of
  three examiners). It fits the accuracy scale, the subscore weights and the
  CEFR bounds, and leave-one-out cross-validation estimates their agreement.
- ellipse_test_sample_40.csv: essays with human scores 1-5, used only to check
  the fitted score (Spearman correlation), never to fit it.
- conll2014_test_first100.m2 and jfleg_dev_first150.*: sentences with human
  corrections, to measure how many erroneous sentences the checker flags.

The files carry non-commercial licences, so they are read in place and never
copied into the repository. The script prints a report and a TOML snippet of the
fitted values, to be pasted into scoring/rules/writing.toml by hand.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scoring.cefr import BANDS, band_for_score, band_index  # noqa: E402
from scoring.grammar import GrammarChecker, get_checker  # noqa: E402
from scoring.style import find_style_issues  # noqa: E402
from scoring.writing import (  # noqa: E402
    WritingRules,
    is_incoherent,
    load_writing_rules,
    measure_writing,
    score_writing,
)

ACCURACY_SCALES = (3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0)
WEIGHT_STEP = 0.1

# Match categories that count as language errors when measuring detection.
LANGUAGE_ERROR_CATEGORIES = frozenset(
    {"grammar", "spelling", "punctuation", "capitalization", "word_choice"}
    | {"repetition", "other"}
)
# No space goes before these tokens when a tokenized sentence is rebuilt.
_ATTACHED_TOKENS = frozenset(
    {",", ".", "?", "!", ";", ":", ")", "]", "%", "n't", "'s", "'re", "'ve", "'ll"}
    | {"'d", "'m"}
)


@dataclasses.dataclass(frozen=True)
class CorrectedSentence:
    """A learner sentence, whether annotators corrected it, and its edit spans."""

    text: str
    erroneous: bool
    edits: tuple[tuple[int, int, str], ...] = ()


def ranks(values: Sequence[float]) -> list[float]:
    """Return 1-based ranks, with tied values sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            result[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(first: Sequence[float], second: Sequence[float]) -> float:
    """Return Spearman's rank correlation, or 0 when either side is constant."""
    x, y = ranks(first), ranks(second)
    mean_x, mean_y = sum(x) / len(x), sum(y) / len(y)
    covariance = sum((a - mean_x) * (b - mean_y) for a, b in zip(x, y, strict=True))
    spread_x = sum((a - mean_x) ** 2 for a in x)
    spread_y = sum((b - mean_y) ** 2 for b in y)
    if not spread_x or not spread_y:
        return 0.0
    return float(covariance / (spread_x * spread_y) ** 0.5)


def quadratic_weighted_kappa(
    predicted: Sequence[int], actual: Sequence[int], categories: int
) -> float:
    """Return Cohen's kappa with quadratic weights for ordinal labels 0..n-1."""
    observed = [[0.0] * categories for _ in range(categories)]
    for p, a in zip(predicted, actual, strict=True):
        observed[p][a] += 1
    total = len(actual)
    row_sums = [sum(row) for row in observed]
    column_sums = [sum(row[j] for row in observed) for j in range(categories)]
    disagreement = expected = 0.0
    for i, j in itertools.product(range(categories), repeat=2):
        weight = (i - j) ** 2 / (categories - 1) ** 2
        disagreement += weight * observed[i][j]
        expected += weight * row_sums[i] * column_sums[j] / total
    return 1 - disagreement / expected if expected else 0.0


def fit_band_bounds(
    scores: Sequence[float], labels: Sequence[int], bands: int = len(BANDS)
) -> list[float]:
    """Fit rising band bounds that minimise the summed absolute band error.

    Equal scores must share a band, so the fit assigns bands to groups of equal
    scores, in score order, by dynamic programming. Every band keeps at least one
    group, so that no band becomes unreachable when it has few answers (C2 has 4
    here). Each bound lies midway between the groups it separates.
    """
    groups: dict[float, list[int]] = {}
    for score, label in zip(scores, labels, strict=True):
        groups.setdefault(score, []).append(label)
    keys = sorted(groups)
    if len(keys) < bands:
        raise ValueError(f"need {bands} distinct scores to fit bounds, got {len(keys)}")
    # cost[band][i] is the least error when group i - 1 is in ``band`` and every
    # band up to it is used. came_from[band][i] is the band of group i - 2 then.
    inf = float("inf")
    cost = [[inf] * (len(keys) + 1) for _ in range(bands)]
    came_from = [[0] * (len(keys) + 1) for _ in range(bands)]
    for i in range(1, len(keys) + 1):
        for band in range(min(i, bands)):
            error = sum(abs(band - label) for label in groups[keys[i - 1]])
            if i == 1:
                cost[band][i] = error if band == 0 else inf
                continue
            previous = min((cost[b][i - 1], b) for b in (band, band - 1) if b >= 0)
            cost[band][i] = previous[0] + error
            came_from[band][i] = previous[1]
    assigned = [0] * len(keys)
    band = bands - 1
    for i in range(len(keys), 0, -1):
        assigned[i - 1] = band
        band = came_from[band][i]
    return [
        round(
            (
                max(k for k, b in zip(keys, assigned, strict=True) if b < lower)
                + min(k for k, b in zip(keys, assigned, strict=True) if b >= lower)
            )
            / 2,
            1,
        )
        for lower in range(1, bands)
    ]


def detokenize(tokens: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join tokens without spaces before punctuation, and return text and spans."""
    text = ""
    spans = []
    for token in tokens:
        if text and token not in _ATTACHED_TOKENS and not text.endswith(("(", "[")):
            text += " "
        spans.append((len(text), len(text) + len(token)))
        text += token
    return text, spans


def read_conll_m2(path: Path) -> list[CorrectedSentence]:
    """Read an M2 file. A sentence is erroneous if any annotator edited it.

    Edit spans are in characters of the rebuilt text and come from annotator 0.
    An insertion spans the tokens on both sides of its position.
    """
    sentences = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        lines = block.splitlines()
        tokens = lines[0][2:].split()
        text, spans = detokenize(tokens)
        edits = []
        erroneous = False
        for line in lines[1:]:
            fields = line[2:].split("|||")
            start, end = (int(value) for value in fields[0].split())
            if fields[1] == "noop" or start < 0:
                continue
            erroneous = True
            if fields[-1] != "0":
                continue
            first = spans[max(start - 1, 0) if start == end else start][0]
            last = spans[min(max(end, start + 1), len(spans)) - 1][1]
            edits.append((first, last, fields[1]))
        sentences.append(CorrectedSentence(text, erroneous, tuple(edits)))
    return sentences


def read_jfleg(folder: Path, stem: str) -> list[CorrectedSentence]:
    """Read JFLEG sources. A sentence is erroneous if 2 of its 4 references differ."""
    sources = (folder / f"{stem}.src").read_text(encoding="utf-8").splitlines()
    references = [
        (folder / f"{stem}.ref{n}").read_text(encoding="utf-8").splitlines()
        for n in range(4)
    ]
    sentences = []
    for index, source in enumerate(sources):
        changed = sum(
            " ".join(ref[index].split()) != " ".join(source.split())
            for ref in references
        )
        text, _ = detokenize(source.split())
        sentences.append(CorrectedSentence(text, changed >= 2))
    return sentences


def checker_detection_report(
    name: str, sentences: Sequence[CorrectedSentence], checker: GrammarChecker
) -> str:
    """Return sentence-level precision and recall, and edit recall by error type."""
    flagged = []
    found_by_type: dict[str, list[bool]] = {}
    for sentence in sentences:
        matches = [
            match
            for match in checker.check(sentence.text, "en")
            if match.category in LANGUAGE_ERROR_CATEGORIES
        ]
        flagged.append(bool(matches))
        for start, end, kind in sentence.edits:
            hit = any(
                m.offset < end and start < m.offset + max(m.length, 1) for m in matches
            )
            found_by_type.setdefault(kind, []).append(hit)
    erroneous = [sentence.erroneous for sentence in sentences]
    hits = sum(f and e for f, e in zip(flagged, erroneous, strict=True))
    precision = hits / sum(flagged) if any(flagged) else 0.0
    recall = hits / sum(erroneous) if any(erroneous) else 0.0
    lines = [
        f"{name}: {len(sentences)} sentences, {sum(erroneous)} corrected by "
        f"annotators, {sum(flagged)} flagged by the checker",
        f"  sentence precision {precision:.2f}  recall {recall:.2f}",
    ]
    if found_by_type:
        total = [hit for hits_of_type in found_by_type.values() for hit in hits_of_type]
        lines.append(f"  edit recall (annotator 0): {sum(total)}/{len(total)}")
        ranked = sorted(found_by_type.items(), key=lambda item: -len(item[1]))
        for kind, hits_of_type in ranked[:8]:
            lines.append(f"    {kind:<8} {sum(hits_of_type):>3}/{len(hits_of_type)}")
    return "\n".join(lines)


def default_data_dir() -> Path:
    """Return $FRONTLINE_SHARED_DATA, else the shared data folder beside the repo."""
    configured = os.environ.get("FRONTLINE_SHARED_DATA")
    return Path(configured) if configured else ROOT.parent / "shared" / "data"


def measure_texts(
    texts: Sequence[str], checker: GrammarChecker, rules: WritingRules
) -> list[dict[str, Any]]:
    """Check and measure each text once, so that scoring needs no checker."""
    measured = []
    for text in texts:
        findings = find_style_issues(text)
        matches = checker.check(text, "en")
        measured.append(measure_writing(text, matches, findings, rules))
    return measured


def candidate_rules(base: WritingRules) -> list[WritingRules]:
    """Return the grid of accuracy scales and subscore weights to search."""
    steps = round(1 / WEIGHT_STEP)
    weight_sets = [
        (a / steps, v / steps, round(1 - (a + v) / steps, 10))
        for a, v in itertools.product(range(1, steps), repeat=2)
        if a + v < steps
    ]
    return [
        dataclasses.replace(
            base,
            accuracy_scale=scale,
            subscore_weights={
                "accuracy": accuracy,
                "vocabulary": vocabulary,
                "sentence_control": sentence,
            },
        )
        for scale in ACCURACY_SCALES
        for accuracy, vocabulary, sentence in weight_sets
    ]


def scores_for(measured: Sequence[dict[str, Any]], rules: WritingRules) -> list[float]:
    return [score_writing(metrics, rules)[1] for metrics in measured]


def fit(
    measured: Sequence[dict[str, Any]],
    labels: Sequence[int],
    candidates: Sequence[WritingRules],
) -> WritingRules:
    """Pick the candidate with the best Spearman correlation, then fit CEFR bounds."""
    best = max(
        candidates, key=lambda rules: spearman(scores_for(measured, rules), labels)
    )
    bounds = fit_band_bounds(scores_for(measured, best), labels)
    return dataclasses.replace(best, cefr_lower_bounds=tuple(bounds))


def band_agreement(predicted: Sequence[int], actual: Sequence[int]) -> dict[str, float]:
    """Return exact and adjacent agreement, mean absolute error and QWK of bands."""
    pairs = list(zip(predicted, actual, strict=True))
    return {
        "exact": sum(p == a for p, a in pairs) / len(pairs),
        "adjacent": sum(abs(p - a) <= 1 for p, a in pairs) / len(pairs),
        "mae": sum(abs(p - a) for p, a in pairs) / len(pairs),
        "qwk": quadratic_weighted_kappa(predicted, actual, len(BANDS)),
    }


def predict_bands(scores: Sequence[float], rules: WritingRules) -> list[int]:
    return [band_index(band_for_score(s, rules.cefr_lower_bounds)) for s in scores]


def leave_one_out(
    measured: Sequence[dict[str, Any]],
    labels: Sequence[int],
    candidates: Sequence[WritingRules],
) -> tuple[list[int], Counter[str]]:
    """Predict each answer's band from rules fitted on all the other answers.

    Also returns how often each accuracy scale and weight set was picked.
    """
    predicted = []
    picks: Counter[str] = Counter()
    for held_out in range(len(measured)):
        train = [m for i, m in enumerate(measured) if i != held_out]
        train_labels = [y for i, y in enumerate(labels) if i != held_out]
        rules = fit(train, train_labels, candidates)
        score = score_writing(measured[held_out], rules)[1]
        predicted.append(band_index(band_for_score(score, rules.cefr_lower_bounds)))
        picks[describe_weights(rules)] += 1
    return predicted, picks


def describe_weights(rules: WritingRules) -> str:
    weights = "/".join(f"{value:g}" for value in rules.subscore_weights.values())
    return f"scale {rules.accuracy_scale:g}, weights {weights}"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def examiner_agreement(rows: Sequence[dict[str, str]]) -> dict[str, float]:
    """Return how often pairs of examiners give the same or an adjacent band.

    A rating of "NA" (no band given) leaves its pairs out.
    """
    pairs = [("examiner1", "examiner2"), ("examiner1", "examiner3")]
    pairs.append(("examiner2", "examiner3"))
    same = adjacent = total = 0
    for row in rows:
        for first, second in pairs:
            if row[first] not in BANDS or row[second] not in BANDS:
                continue
            gap = abs(band_index(row[first]) - band_index(row[second]))
            same += gap == 0
            adjacent += gap <= 1
            total += 1
    return {"exact": same / total, "adjacent": adjacent / total}


def format_agreement(name: str, agreement: dict[str, float]) -> str:
    return (
        f"{name:<34} exact {agreement['exact']:.2f}  adjacent "
        f"{agreement['adjacent']:.2f}  MAE {agreement['mae']:.2f}  "
        f"QWK {agreement['qwk']:.2f}"
    )


def calibrate_cefr(
    data: Path, checker: GrammarChecker, base: WritingRules, search_weights: bool
) -> WritingRules:
    """Print CEFR agreement of the current and refitted rules and return the fit.

    Two procedures are cross-validated: fitting only the band bounds, and also
    searching the accuracy scale and subscore weights. ``search_weights`` picks
    the one whose fit is returned.
    """
    rows = read_csv(data / "learner_text" / "cefr_asag_labelled_sample120.csv")
    labels = [band_index(row["majority"]) for row in rows]
    measured = measure_texts([row["answer"] for row in rows], checker, base)
    counts = {band: labels.count(i) for i, band in enumerate(BANDS)}
    print(f"CEFR answers: {len(rows)} {counts}")
    print(coherence_report(measured, [row["majority"] for row in rows], base))
    humans = examiner_agreement(rows)
    print(
        f"{'examiner vs examiner':<34} exact {humans['exact']:.2f}  "
        f"adjacent {humans['adjacent']:.2f}"
    )
    current = scores_for(measured, base)
    print(f"{'rule file: Spearman':<34} {spearman(current, labels):.3f}")
    print(
        format_agreement(
            "rule file (in sample)",
            band_agreement(predict_bands(current, base), labels),
        )
    )
    procedures = {"bounds only": [base], "weights and bounds": candidate_rules(base)}
    fits = {}
    for name, candidates in procedures.items():
        fitted = fit(measured, labels, candidates)
        scores = scores_for(measured, fitted)
        in_sample = band_agreement(predict_bands(scores, fitted), labels)
        predicted, picks = leave_one_out(measured, labels, candidates)
        loo = band_agreement(predicted, labels)
        print(f"{name + ': Spearman':<34} {spearman(scores, labels):.3f}")
        print(format_agreement(f"{name} (in sample)", in_sample))
        print(format_agreement(f"{name} (leave-one-out)", loo))
        if len(candidates) > 1:
            choice, times = picks.most_common(1)[0]
            print(f"  {describe_weights(fitted)} fitted on all answers")
            print(f"  {choice} picked in {times} of {len(measured)} folds")
        fits[name] = fitted
    return fits["weights and bounds" if search_weights else "bounds only"]


def check_ellipse(data: Path, checker: GrammarChecker, rules: WritingRules) -> None:
    rows = read_csv(data / "learner_text" / "ellipse_test_sample_40.csv")
    measured = measure_texts([row["full_text"] for row in rows], checker, rules)
    results = [score_writing(metrics, rules) for metrics in measured]
    print(f"ELLIPSE essays: {len(rows)} (held out, not used for fitting)")
    print(coherence_report(measured, [row["Overall"] for row in rows], rules))
    comparisons = [
        ("score", "Overall"),
        ("accuracy", "Grammar"),
        ("accuracy", "Conventions"),
        ("vocabulary", "Vocabulary"),
        ("sentence_control", "Syntax"),
    ]
    for ours, theirs in comparisons:
        values = [
            score if ours == "score" else subscores[ours]
            for subscores, score in results
        ]
        human = [float(row[theirs]) for row in rows]
        print(
            f"  Spearman {ours:<17} vs human {theirs:<12} {spearman(values, human):.3f}"
        )


def coherence_report(
    measured: Sequence[dict[str, Any]], ratings: Sequence[str], rules: WritingRules
) -> str:
    """Summarise the word shares behind the "incoherent" flag over rated texts."""
    unknown = max(range(len(measured)), key=lambda i: measured[i]["unknown_word_share"])
    real = min(range(len(measured)), key=lambda i: measured[i]["real_word_share"])
    flagged = [
        ratings[i]
        for i, metrics in enumerate(measured)
        if is_incoherent(metrics, rules)
    ]
    return (
        f"  incoherent flag: {len(flagged)} of {len(measured)} texts {flagged}; "
        f"largest unknown-word share {measured[unknown]['unknown_word_share']:.3f} "
        f"(rated {ratings[unknown]}), lowest real-word share "
        f"{measured[real]['real_word_share']:.3f} (rated {ratings[real]})"
    )


def print_snippet(rules: WritingRules) -> None:
    weights = ", ".join(
        f"{name} = {value:g}" for name, value in rules.subscore_weights.items()
    )
    bounds = ", ".join(f"{bound:.1f}" for bound in rules.cefr_lower_bounds)
    print("Fitted values for scoring/rules/writing.toml:")
    print(f"  [accuracy] scale = {rules.accuracy_scale:g}")
    print(f"  [score] weights = {{ {weights} }}")
    print(f"  [cefr] lower_bounds = [{bounds}]")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the calibration and print the report; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=default_data_dir(),
        help="folder that contains learner_text/ (default: %(default)s)",
    )
    parser.add_argument(
        "--rules",
        type=Path,
        default=None,
        help="writing rule file to measure and refit (default: "
        "scoring/rules/writing.toml)",
    )
    parser.add_argument(
        "--search-weights",
        action="store_true",
        help="print the searched accuracy scale and subscore weights in the "
        "snippet, not those of the rule file",
    )
    args = parser.parse_args(argv)

    if not (args.data / "learner_text").is_dir():
        parser.error(
            f"learner_text/ not found in {args.data}; pass --data or set "
            "FRONTLINE_SHARED_DATA"
        )

    checker = get_checker("harper")
    base = load_writing_rules(args.rules)
    print(
        f"checker: {checker.name} {checker.version}; rules_version {base.rules_version}"
    )
    fitted = calibrate_cefr(args.data, checker, base, args.search_weights)
    print()
    check_ellipse(args.data, checker, fitted)
    print()
    text_dir = args.data / "learner_text"
    conll = read_conll_m2(text_dir / "conll2014_test_first100.m2")
    jfleg = read_jfleg(text_dir, "jfleg_dev_first150")
    for name, sentences in (("CoNLL-2014", conll), ("JFLEG", jfleg)):
        print(checker_detection_report(name, sentences, checker))
    print()
    print_snippet(fitted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
