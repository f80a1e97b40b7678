"""Compare the speaking scorer with expert ratings of the speechocean762 clips.

Each clip is a Mandarin-speaking adult reading one English sentence, rated by
five experts on 0-10 scales. The script scores every clip as a read-aloud task,
with the reference sentence as the prompt. It prints a per-clip table with the
transcription WER against each reference, then the Spearman rank correlation
of the scorer with the experts' medians and its exact permutation p-value.

Usage: python tools/calibrate_speaking.py [--data DIR] [--markdown]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing it

from scoring.speech import assess_speaking  # noqa: E402
from scoring.text_normalize import word_errors  # noqa: E402

DEFAULT_DATA = ROOT / "tests" / "data" / "audio" / "speechocean762"
PAIRS = [  # (expert median, scorer output) compared by rank
    ("total", "score"),
    ("fluency", "fluency"),
    ("accuracy", "accuracy"),
]


def spearman(x: list[float], y: list[float]) -> float:
    """Return Spearman's rank correlation, with tied values given their mean rank."""
    rx, ry = _ranks(x), _ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def exact_p_value(x: list[float], y: list[float]) -> float:
    """Return the two-sided p-value of Spearman's rho over all orderings of ``y``.

    Enumerating n! orderings is exact and fast for the six clips here (720).
    """
    observed = abs(spearman(x, y))
    count = total = 0
    for order in itertools.permutations(y):
        total += 1
        if abs(spearman(x, list(order))) >= observed - 1e-12:
            count += 1
    return count / total


def _ranks(values: list[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    ranks = np.empty(len(array))
    ranks[np.argsort(array, kind="stable")] = np.arange(1, len(array) + 1)
    for value in np.unique(array):
        tied = array == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def score_clips(data: Path) -> list[dict[str, Any]]:
    """Run the speaking scorer on every clip listed in scores_5experts.jsonl."""
    rows = []
    for line in (data / "scores_5experts.jsonl").read_text().splitlines():
        clip = json.loads(line)
        reference = clip["reference_text"]
        result = assess_speaking(data / clip["file"], prompt_text=reference)
        rows.append(
            {
                "utt": clip["utt"],
                "experts": clip["sentence_scores_median"],
                "result": result,
                "wer": word_errors(reference, result["transcript"]).wer,
                "reference": reference,
            }
        )
    return rows


def print_report(rows: list[dict[str, Any]], markdown: bool) -> None:
    """Print the per-clip table, then one correlation line per compared pair."""
    header = (
        "| clip | experts total / fluency / accuracy / completeness "
        "| score / fluency / accuracy / confidence "
        "| CEFR | WPM | pauses | WER | review |"
    )
    print(header)
    print("|" + " --- |" * 8)
    for row in sorted(rows, key=lambda r: -r["experts"]["total"]):
        experts, result = row["experts"], row["result"]
        subscores = result["subscores"]
        codes = ", ".join(reason["code"] for reason in result["review_reasons"])
        print(
            f"| {row['utt']} | {experts['total']:.2f} / {experts['fluency']:g} / "
            f"{experts['accuracy']:g} / {experts['completeness']:g} "
            f"| {result['score']} / {subscores['fluency']} / "
            f"{subscores['accuracy']} / {subscores['confidence']} "
            f"| {result['cefr']} | {result['words_per_minute']} "
            f"| {result['pause_count']} | {row['wer']:.2f} | {codes or '-'} |"
        )
    print()
    for expert_key, scorer_key in PAIRS:
        x = [row["experts"][expert_key] for row in rows]
        y = [_output(row["result"], scorer_key) for row in rows]
        rho = spearman(x, y)
        p = exact_p_value(x, y)
        line = (
            f"expert {expert_key} vs scorer {scorer_key}: "
            f"rho = {rho:.2f}, exact p = {p:.2f}"
        )
        print(f"- {line}" if markdown else line)
    if not markdown:
        print()
        for row in rows:
            print(f"{row['utt']}: {row['result']['transcript']!r}")
            print(f"{'':9}  reference: {row['reference'].lower()!r}")


def _output(result: dict[str, Any], key: str) -> float:
    return float(result["score"] if key == "score" else result["subscores"][key])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder with the clips and scores_5experts.jsonl (default: %(default)s)",
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print correlations as a Markdown list and leave out the transcripts",
    )
    args = parser.parse_args()
    print_report(score_clips(args.data), args.markdown)


if __name__ == "__main__":
    main()
