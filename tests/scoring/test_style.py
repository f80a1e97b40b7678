"""Live-chat style findings: capitals, chat-speak, repeated exclamation marks."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.style import (
    DEFAULT_RULES_PATH,
    StyleFinding,
    find_style_issues,
    load_style_rules,
)


def found(text: str) -> list[tuple[str, str]]:
    return [(finding.rule, finding.text) for finding in find_style_issues(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PLEASE WAIT for the courier", [("all_caps", "PLEASE WAIT")]),
        ("I NEED HELP", [("all_caps", "NEED HELP")]),
        ("NEED MY ID NOW", [("all_caps", "NEED MY ID NOW")]),
        ("We ship to the USA. PLEASE wait", [("all_caps", "PLEASE")]),
        ("DON'T worry", [("all_caps", "DON'T")]),
        ("Send your ID, it is OK.", []),
        ("UPS, FAQ, USA and ID are fine", []),
        ("I am A person", []),
        ("Order ORD-2291 ships in size XL, model AB12.", []),
        ("Plan B works", []),
        ("ÉTÉ", [("all_caps", "ÉTÉ")]),
        ("HELP\nME", [("all_caps", "HELP"), ("all_caps", "ME")]),
    ],
)
def test_all_caps(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


# Acronyms that agents type in support chats every day.
SUPPORT_ACRONYMS = (
    "ID", "USA", "LAN", "WAN", "VPN", "PIN", "SMS", "URL", "PDF", "OK", "TV",
    "USB", "DNS", "ISP", "HDMI", "SSID", "WPS", "DSL", "SIM", "IP", "QR",
)  # fmt: skip


def test_support_acronyms_are_in_rules_file() -> None:
    allowed = load_style_rules().caps_allowed
    assert [word for word in SUPPORT_ACRONYMS if word not in allowed] == []


@pytest.mark.parametrize("acronym", SUPPORT_ACRONYMS)
def test_support_acronym_is_not_shouting(acronym: str) -> None:
    assert found(f"Please check the {acronym} settings for me.") == []


def test_support_chat_with_acronyms_passes() -> None:
    reply = (
        "Thanks! Restart the router, plug the LAN cable into the WAN port, turn "
        "the VPN off and open the URL in the SMS. Your PIN and the PDF are in "
        "the email, OK? The TV takes a USB stick."
    )
    assert found(reply) == []
    assert found("The VPN IS DOWN AGAIN") == [("all_caps", "IS DOWN AGAIN")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thx u r great", ["thx", "u"]),
        ("pls wait, PLS", ["pls", "PLS"]),
        ("Plz check ur inbox asap", ["Plz", "ur", "asap"]),
        ("idk, btw lol", ["idk", "btw", "lol"]),
        ("you, your, U-turn, you'll, uu, menu", []),
        ("np, ty!", ["np", "ty"]),
        ("omg imo brb", ["omg", "imo", "brb"]),
        ("b4 gr8", ["b4", "gr8"]),
    ],
)
def test_chat_speak(text: str, expected: list[str]) -> None:
    assert found(text) == [("chat_speak", word) for word in expected]


def test_chat_speak_exact_findings() -> None:
    assert find_style_issues("ok thx, ASAP lol") == [
        StyleFinding(
            "chat_speak", 3, 3, "thx", "Write 'thanks' in full instead of 'thx'."
        ),
        StyleFinding(
            "chat_speak",
            8,
            4,
            "ASAP",
            "Write 'as soon as possible' in full instead of 'ASAP'.",
        ),
        StyleFinding(
            "chat_speak", 13, 3, "lol", "Leave 'lol' out of a reply to a customer."
        ),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Great!", []),
        ("Really?", []),
        ("Really?!", []),
        ("Great!!", [("repeated_exclamation", "!!")]),
        ("Great!!!!", [("repeated_exclamation", "!!!!")]),
        ("Really?!?", [("repeated_exclamation", "?!?")]),
        ("What!??", [("repeated_exclamation", "!??")]),
        ("Why???", []),
        ("Wow‼", [("repeated_exclamation", "‼")]),
        ("Hi! Thanks! Bye!", []),
        ("Ｈｉ！！", [("repeated_exclamation", "！！")]),
    ],
)
def test_repeated_exclamation(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_findings_in_text_order() -> None:
    text = "PLEASE HELP!!! thx u"
    assert [finding.to_dict() for finding in find_style_issues(text)] == [
        {
            "rule": "all_caps",
            "offset": 0,
            "length": 11,
            "text": "PLEASE HELP",
            "message": "Avoid writing in capitals: 'PLEASE HELP' reads as shouting.",
        },
        {
            "rule": "repeated_exclamation",
            "offset": 11,
            "length": 3,
            "text": "!!!",
            "message": "Use one exclamation mark at most: '!!!'.",
        },
        {
            "rule": "chat_speak",
            "offset": 15,
            "length": 3,
            "text": "thx",
            "message": "Write 'thanks' in full instead of 'thx'.",
        },
        {
            "rule": "chat_speak",
            "offset": 19,
            "length": 1,
            "text": "u",
            "message": "Write 'you' in full instead of 'u'.",
        },
    ]


def test_offsets_slice_text() -> None:
    text = "😀👍🏽 Héllo, PLEASE sénd it ASAP!!! thx 🙏 u"
    findings = find_style_issues(text)
    assert len(findings) == 5
    for finding in findings:
        assert text[finding.offset : finding.offset + finding.length] == finding.text


def test_hostile_text_is_handled() -> None:
    unit = "\u202eRTL\u202c <script>alert(1)</script> '; DROP TABLE x;-- \x00\ud800 "
    text = unit * 2000 + "AB-" * 20_000
    findings = find_style_issues(text)
    for finding in findings:
        assert text[finding.offset : finding.offset + finding.length] == finding.text
    texts = [finding.text for finding in findings]
    assert texts.count("RTL") == 2000
    assert texts.count("DROP TABLE") == 2000
    assert texts[-1] == "AB-" * 19_999 + "AB"
    assert len(texts) == 4001


def rule_file(tmp_path: Path, replace: tuple[str, str]) -> Path:
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    assert replace[0] in text
    path = tmp_path / "style.toml"
    path.write_text(text.replace(*replace), encoding="utf-8")
    return path


def test_rules_file_is_tunable(tmp_path: Path) -> None:
    rules = load_style_rules(
        rule_file(tmp_path, ("min_letters = 2", "min_letters = 4"))
    )
    findings = find_style_issues("NO WAY, PLEASE", rules)
    assert [(f.rule, f.text) for f in findings] == [("all_caps", "PLEASE")]


def test_default_rules_are_cached() -> None:
    assert load_style_rules() is load_style_rules(DEFAULT_RULES_PATH)


@pytest.mark.parametrize(
    ("replace", "problem"),
    [
        (("min_letters = 2", "min_letters = 0"), "'all_caps.min_letters' must be at"),
        (("min_letters = 2", 'min_letters = "2"'), "must be an integer"),
        (("min_exclamation_marks = 2\n", ""), "is missing"),
        (("reads as shouting", "reads as {shout}"), "may use only the fields"),
        (('pls = "please"', "pls = 1"), "'chat_speak.words.pls' must be a string"),
        (("[all_caps]", "[all_caps"), "invalid TOML"),
    ],
)
def test_invalid_rules_raise(
    tmp_path: Path, replace: tuple[str, str], problem: str
) -> None:
    with pytest.raises(ValueError, match="style.toml") as caught:
        load_style_rules(rule_file(tmp_path, replace))
    assert problem in str(caught.value)
