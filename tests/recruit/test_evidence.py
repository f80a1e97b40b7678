"""Evidence shown to recruiters: findings highlighted in the candidate's own text."""

from __future__ import annotations

from recruit.evidence import highlight_text, mark_transcript


def test_findings_marked_and_escaped() -> None:
    text = "Hi <b>you</b>, ur order is late"
    html = str(
        highlight_text(
            text,
            [
                {
                    "offset": 15,
                    "length": 2,
                    "rule": "chat_speak",
                    "message": 'chat "speak"',
                }
            ],
        )
    )
    assert "&lt;b&gt;you&lt;/b&gt;" in html
    assert 'title="chat &#34;speak&#34;" id="finding-1">ur</mark>' in html
    assert '<mark class="finding finding-chat_speak"' in html


def test_overlapping_and_outside_findings_skipped() -> None:
    findings = [
        {"offset": 0, "length": 5, "category": "grammar", "message": "a"},
        {"offset": 2, "length": 5, "category": "spelling", "message": "b"},
        {"offset": 40, "length": 5, "category": "spelling", "message": "c"},
    ]
    html = str(highlight_text("Hello world", findings))
    assert html.count("<mark") == 1
    assert html.endswith(" world")


def test_reordering_characters_shown() -> None:
    text = "I am \u202eyrros\u202c today\x07"
    html = str(
        highlight_text(
            text, [{"offset": 6, "length": 5, "category": "spelling", "message": "x"}]
        )
    )
    assert "\u202e" not in html
    assert '<span class="hidden-char">U+202E</span>' in html
    assert '<span class="hidden-char">U+202C</span>' in html
    assert '<span class="hidden-char">U+0007</span>' in html
    assert ">yrros</mark>" in html


def test_low_confidence_words_marked() -> None:
    html = str(
        mark_transcript(
            [
                {"word": "ask", "probability": 0.93},
                {"word": "<not>", "probability": 0.31},
            ]
        )
    )
    assert html.startswith("ask ")
    assert 'title="p = 0.31">&lt;not&gt;</span>' in html
