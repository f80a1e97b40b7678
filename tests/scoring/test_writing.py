"""Writing score with real Harper, on hand-made and real learner English."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest

from scoring.cefr import band_index
from scoring.errors import UnsupportedLanguageError
from scoring.grammar import CATEGORIES, GrammarChecker, get_checker
from scoring.writing import (
    DEFAULT_RULES_PATH,
    SCORER,
    VERSION,
    assess_writing,
    load_writing_rules,
    mattr,
    mtld,
)

CLEAN_REPLY = (
    "Thank you for contacting us about your order. I have checked the tracking "
    "details, and the parcel left our warehouse yesterday afternoon. It should "
    "arrive within two working days. If it has not arrived by Friday, please "
    "reply to this message and I will arrange a replacement at no extra cost."
)
FAULTY_REPLY = (
    "Thank you for contact us about you order. I has checked the traking "
    "details, and the parcel leaved our warehose yesterday afternon. It should "
    "arive within two working days. If it has not arrived by friday, please "
    "reply to this mesage and i will arrange a replacment at no extra cost."
)


@pytest.fixture(scope="module")
def harper() -> GrammarChecker:
    return get_checker("harper")


def assess(text: str, checker: GrammarChecker, **options: int) -> dict:
    return assess_writing(text, checker=checker, **options)


def test_result_shape(harper: GrammarChecker) -> None:
    result = assess(FAULTY_REPLY + " thx!!", harper)
    json.dumps(result)

    assert result["scorer"] == SCORER == "writing"
    assert result["version"] == VERSION
    assert result["language"] == "en"
    assert result["checker"]["name"] == "harper"
    assert result["words"] == 52
    assert 0 <= result["score"] <= 100
    assert result["cefr"] in ("A1", "A2", "B1", "B2", "C1", "C2")
    assert result["needs_review"] is False
    assert result["review_reasons"] == []
    assert set(result["subscores"]) == {
        "accuracy",
        "vocabulary",
        "sentence_control",
        "length",
    }
    for value in result["subscores"].values():
        assert 0 <= value <= 100
    assert set(result["metrics"]["category_counts"]) == set(CATEGORIES)

    assert result["matches"]
    assert set(result["matches"][0]) == {
        "offset",
        "length",
        "category",
        "message",
        "replacements",
        "rule",
    }
    assert [finding["rule"] for finding in result["style"]] == [
        "chat_speak",
        "repeated_exclamation",
    ]


def test_metrics_of_known_text(harper: GrammarChecker) -> None:
    metrics = assess(CLEAN_REPLY, harper)["metrics"]
    assert metrics["words"] == 51
    assert metrics["sentences"] == 4
    assert metrics["error_count"] == 0
    assert metrics["weighted_errors_per_100_words"] == 0
    assert metrics["mean_sentence_length"] == 12.75
    assert metrics["longest_sentence"] == 22
    assert 0.8 < metrics["mattr"] <= 1.0
    assert metrics["mtld"] is not None


def test_errors_lower_accuracy(harper: GrammarChecker) -> None:
    clean = assess(CLEAN_REPLY, harper)
    faulty = assess(FAULTY_REPLY, harper)
    assert clean["subscores"]["accuracy"] == 100
    assert faulty["subscores"]["accuracy"] < 50
    assert faulty["score"] < clean["score"]
    assert faulty["metrics"]["category_counts"]["spelling"] >= 6


def test_matches_slice_flagged_text(harper: GrammarChecker) -> None:
    text = "😀 Héllo! " + FAULTY_REPLY
    result = assess(text, harper)
    flagged = {text[m["offset"] : m["offset"] + m["length"]] for m in result["matches"]}
    assert {"traking", "warehose", "afternon", "mesage", "i"} <= flagged


def test_chat_speak_counted_once(harper: GrammarChecker) -> None:
    result = assess("Hi, thx for waiting, ur parcel is here.", harper)
    assert [finding["text"] for finding in result["style"]] == ["thx", "ur"]
    flagged = [match["rule"] for match in result["matches"]]
    assert "SpellCheck" not in flagged


@pytest.mark.parametrize("text", ["", "   ", "\n\t \u200b", "!!! ... ???"])
def test_empty_text_scores_zero(harper: GrammarChecker, text: str) -> None:
    result = assess(text, harper)
    assert result["score"] == 0
    assert result["words"] == 0
    assert result["cefr"] == "A1"
    assert "empty" in result["flags"]
    assert all(value == 0 for value in result["subscores"].values())


def test_min_words_penalty(harper: GrammarChecker) -> None:
    free = assess(CLEAN_REPLY, harper)
    short = assess(CLEAN_REPLY, harper, min_words=102)
    assert free["subscores"]["length"] == 100
    assert short["subscores"]["length"] == 50
    assert short["score"] == pytest.approx(free["score"] / 2, abs=0.1)
    assert "below_min_words" in short["flags"]
    assert "below_min_words" not in free["flags"]
    met = assess(CLEAN_REPLY, harper, min_words=51)
    assert met["score"] == free["score"]


def test_few_words_flagged(harper: GrammarChecker) -> None:
    result = assess("Thank you, your parcel is on its way.", harper)
    assert result["flags"] == ["too_short"]
    assert result["subscores"]["length"] == 32


def test_negative_min_words_rejected(harper: GrammarChecker) -> None:
    with pytest.raises(ValueError, match="min_words"):
        assess(CLEAN_REPLY, harper, min_words=-1)


FRENCH_REPLY = (
    "Bonjour madame, je vous remercie pour votre message. Votre colis est parti "
    "hier de notre entrepôt et il arrivera demain matin chez vous. Si vous avez "
    "d'autres questions, n'hésitez pas à nous contacter par téléphone ou par "
    "courriel. Cordialement, l'équipe du service client."
)


def test_foreign_text_score_withheld(harper: GrammarChecker) -> None:
    result = assess(FRENCH_REPLY, harper)
    assert "incoherent" in result["flags"]
    assert result["metrics"]["unknown_word_share"] > 0.5
    assert result["score"] is None
    assert result["cefr"] is None
    assert result["needs_review"] is True
    assert [reason["code"] for reason in result["review_reasons"]] == ["incoherent"]
    assert result["withheld"]["score"] is not None


def test_keyboard_mash_score_withheld(harper: GrammarChecker) -> None:
    mash = " ".join(["asdf jkl qwer tyu zxcv bnm ghjk sdfg wert yuio"] * 3)
    result = assess(mash, harper)
    assert result["metrics"]["real_word_share"] < 0.2
    assert result["score"] is None
    assert result["withheld"]["reasons"] == ["incoherent"]


def test_short_foreign_reply_not_judged(harper: GrammarChecker) -> None:
    # Below min_evidence_words the shares say too little.
    result = assess("Merci beaucoup, à demain.", harper)
    assert "incoherent" not in result["flags"]
    assert result["score"] is not None


def test_rated_learner_texts_keep_scores(
    shared_data: Path, harper: GrammarChecker
) -> None:
    folder = shared_data / "learner_text"
    texts = []
    for name, column in (
        ("cefr_asag_labelled_sample120.csv", "answer"),
        ("ellipse_test_sample_40.csv", "full_text"),
    ):
        with (folder / name).open(encoding="utf-8", newline="") as file:
            texts += [row[column] for row in csv.DictReader(file)]
    assert len(texts) == 108
    withheld = [text[:40] for text in texts if "withheld" in assess(text, harper)]
    assert withheld == []


def test_non_english_with_harper(harper: GrammarChecker) -> None:
    with pytest.raises(UnsupportedLanguageError, match="languagetool"):
        assess_writing("Vielen Dank für Ihre Nachricht.", checker=harper, language="de")


def test_hostile_text(harper: GrammarChecker) -> None:
    unit = (
        "Dear \u202ecustomer\u202c, <script>alert('x')</script> <b onclick=x>teh</b> "
        "'; DROP TABLE users; -- \x00\x1b[31m \u200f\u2066 😀👍🏽 \ud800 "
        "I has a apple. "
    )
    text = (unit * 2000)[:100_000]
    result = assess(text, harper)
    json.dumps(result)
    checked = load_writing_rules().max_chars
    assert "truncated" in result["flags"]
    assert result["metrics"]["characters_checked"] <= checked
    assert result["matches"]
    for item in result["matches"] + result["style"]:
        assert item["offset"] >= 0
        assert item["offset"] + item["length"] <= checked
    for finding in result["style"]:
        start = finding["offset"]
        assert text[start : start + finding["length"]] == finding["text"]
    flagged = {text[m["offset"] : m["offset"] + m["length"]] for m in result["matches"]}
    assert {"teh", "has", "a"} <= flagged


def test_unbroken_junk_text(harper: GrammarChecker) -> None:
    for text in ("a" * 100_000, "x1" * 50_000, "I " * 50_000, "😀 " * 50_000):
        result = assess(text, harper)
        assert "truncated" in result["flags"]
        assert result["score"] < 40


def cefr_scores(shared_data: Path, harper: GrammarChecker) -> dict[str, list[float]]:
    path = shared_data / "learner_text" / "cefr_asag_labelled_sample120.csv"
    scores: dict[str, list[float]] = {}
    with path.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            result = assess(row["answer"], harper)
            scores.setdefault(row["majority"], []).append(result["score"])
    return scores


def test_real_a1_below_c_levels(shared_data: Path, harper: GrammarChecker) -> None:
    """Answers rated A1 by examiners score below answers rated C1 or C2."""
    scores = cefr_scores(shared_data, harper)
    beginners = scores["A1"]
    advanced = scores["C1"] + scores["C2"]
    ordered = sum(low < high for low in beginners for high in advanced)
    assert ordered / (len(beginners) * len(advanced)) >= 0.95
    assert statistics.median(beginners) + 20 < statistics.median(advanced)


def test_real_levels_rise_in_order(shared_data: Path, harper: GrammarChecker) -> None:
    scores = cefr_scores(shared_data, harper)
    medians = [statistics.median(scores[band]) for band in ("A1", "A2", "B1", "B2")]
    assert medians == sorted(medians)
    advanced = scores["C1"] + scores["C2"]
    assert statistics.median(advanced) > medians[-1]


def test_real_bands_mostly_adjacent(shared_data: Path, harper: GrammarChecker) -> None:
    path = shared_data / "learner_text" / "cefr_asag_labelled_sample120.csv"
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    gaps = [
        abs(
            band_index(assess(row["answer"], harper)["cefr"])
            - band_index(row["majority"])
        )
        for row in rows
    ]
    assert sum(gap <= 1 for gap in gaps) / len(gaps) >= 0.85


def test_lexical_measures() -> None:
    assert mattr([], 50) == 0
    assert mattr(["a", "b", "a", "b"], 50) == 0.5
    assert mattr(["a", "b", "c", "a", "b", "c"], 3) == 1.0
    assert mattr(["a", "a", "b", "b"], 2) == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert mtld(["the"] * 100) < 5
    assert mtld([f"word{i}" for i in range(100)]) == 100


def rule_file(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "writing.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_rules_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must sum to 1"):
        load_writing_rules(rule_file(tmp_path, "accuracy = 0.4,", "accuracy = 0.6,"))
    with pytest.raises(ValueError, match="5 rising scores"):
        load_writing_rules(rule_file(tmp_path, "[39.7, 52.0", "[52.0, 39.7"))
    with pytest.raises(ValueError, match="must set exactly"):
        load_writing_rules(rule_file(tmp_path, "typography = 0.1\n", ""))


def test_rules_change_the_score(tmp_path: Path, harper: GrammarChecker) -> None:
    strict = load_writing_rules(rule_file(tmp_path, "scale = 6.0", "scale = 1.0"))
    default = assess(FAULTY_REPLY, harper)
    harsher = assess_writing(FAULTY_REPLY, checker=harper, rules=strict)
    assert harsher["subscores"]["accuracy"] < default["subscores"]["accuracy"]


def test_repeated_sentences_lose_score(harper: GrammarChecker) -> None:
    sentence = "Thank you for your message about the delayed order. "
    varied = (
        "Thank you for your message about the delayed order. I checked the parcel "
        "with the carrier this morning. It will arrive on Friday before noon. I "
        "will send you the tracking link by email today. Please tell me if the "
        "delivery time does not suit you. We are sorry for the wait."
    )
    repeated = assess_writing(sentence * 20, checker=harper, min_words=40)
    original = assess_writing(varied, checker=harper, min_words=40)
    assert repeated["metrics"]["repeated_sentence_share"] == 0.95
    assert "repetitive" in repeated["flags"]
    assert "repetitive" not in original["flags"]
    assert repeated["score"] < 10
    assert original["score"] > 40
