"""The etiquette scorer on hand-made chats, with the real Harper checker."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.etiquette import (
    TranscriptError,
    load_etiquette_rules,
    parse_messages,
    score_chat,
    score_reply,
)
from scoring.grammar import GrammarChecker, get_checker

RULES = load_etiquette_rules()


@pytest.fixture(scope="module")
def harper() -> GrammarChecker:
    return get_checker("harper")


def at(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"2026-03-02T09:{int(minutes):02d}:{rest:06.3f}+00:00"


def chat(*turns: tuple[str, str, float]) -> list[dict[str, str]]:
    return [{"role": role, "text": text, "at": at(s)} for role, text, s in turns]


def rules_of(result: dict) -> list[str]:
    return [finding["rule"] for finding in result["findings"]]


GOOD_CHAT = chat(
    ("customer", "Hi, I'd like to know where my order 48213 is.", 0),
    ("agent", "Hi Dana, thanks for reaching out. Let me check that for you.", 9),
    ("customer", "Thanks.", 20),
    ("agent", "Your parcel is with the carrier and arrives tomorrow.", 40),
    ("agent", "Is there anything else? How did I do today?", 50),
)


def test_good_chat_loses_nothing(harper: GrammarChecker) -> None:
    result = score_chat(GOOD_CHAT, checker=harper, customer_name="Dana Reyes")
    assert result["findings"] == []
    assert result["score"] == 100.0
    assert result["first_response_s"] == 9.0
    assert result["mean_response_s"] == 14.5
    assert result["checker"]["name"] == "harper"


def test_caps_and_chat_speak_cost_their_points(harper: GrammarChecker) -> None:
    result = score_reply("Where is my order?", "HELLO PLS WAIT ASAP", checker=harper)
    points = RULES.style_points
    assert rules_of(result) == ["all_caps", "chat_speak", "chat_speak"]
    assert result["deductions"] == {
        "all_caps": points["all_caps"],
        "chat_speak": 2 * points["chat_speak"],
    }
    assert result["score"] == 100 - points["all_caps"] - 2 * points["chat_speak"]
    caps = result["findings"][0]
    assert caps["text"] == "HELLO PLS WAIT"
    assert (caps["offset"], caps["length"]) == (0, 14)


def test_grammar_inside_chat_speak_counts_once(harper: GrammarChecker) -> None:
    # Harper flags "ASAP" itself; the style finding already charges it.
    result = score_reply("Hi", "Hello, I will send it asap.", checker=harper)
    assert rules_of(result) == ["chat_speak"]


def test_grammar_matches_point_at_words(harper: GrammarChecker) -> None:
    reply = "Hello, I will recieve the pacakge tomorow."
    result = score_reply("Hi", reply, checker=harper)
    grammar = [f for f in result["findings"] if f["rule"] == "grammar"]
    assert [f["text"] for f in grammar] == ["recieve", "pacakge", "tomorow"]
    assert all(
        reply[f["offset"] : f["offset"] + f["length"]] == f["text"] for f in grammar
    )
    assert result["deductions"]["grammar"] == 3 * RULES.grammar_points["spelling"]


def test_grammar_deductions_stop_at_cap(harper: GrammarChecker) -> None:
    reply = "Hello, " + " ".join(["teh pacakge recieved"] * 6) + "."
    result = score_reply("Hi", reply, checker=harper)
    assert result["deductions"]["grammar"] == RULES.grammar_cap
    charged = sum(f["points"] for f in result["findings"])
    assert charged == pytest.approx(100 - result["score"])


def test_missing_greeting_costs_points() -> None:
    result = score_reply("Where is my order?", "Your order arrives on Friday.")
    assert rules_of(result) == ["greeting"]
    assert result["score"] == 100 - RULES.greeting.points
    assert result["findings"][0]["message"] == (
        "Open with a greeting, such as 'Hi, thanks for reaching out.'"
    )


def test_greeting_hint_names_this_customer() -> None:
    result = score_reply(
        "Where is my order?", "Priya, it arrives on Friday.", customer_name="Priya Nair"
    )
    assert rules_of(result) == ["greeting"]
    message = result["findings"][0]["message"]
    assert (
        message == "Open with a greeting, such as 'Hi Priya, thanks for reaching out.'"
    )
    assert "Dana" not in message


def test_customer_name_unused_costs_points() -> None:
    result = score_reply("Hi", "Hello, it ships today.", customer_name="Priya Nair")
    assert rules_of(result) == ["customer_name"]
    assert "Priya" in result["findings"][0]["message"]
    used = score_reply("Hi", "Hello priya, it ships today.", customer_name="Priya Nair")
    assert used["findings"] == []


def test_upset_customer_needs_empathy() -> None:
    complaint = "This is ridiculous, my parcel still hasn't arrived!!"
    cold = score_reply(complaint, "Hello. The parcel arrives on Friday.")
    assert rules_of(cold) == ["acknowledge_feelings", "apology"]
    assert cold["customer_upset"] is True
    first = cold["findings"][0]
    assert first["message_index"] == 0
    assert complaint[first["offset"] : first["offset"] + first["length"]] == (
        "ridiculous"
    )
    assert cold["score"] == 100 - RULES.acknowledge.points - RULES.apology.points

    warm = score_reply(
        complaint,
        "Hello, I'm so sorry. I understand how annoying a late parcel is. It "
        "arrives on Friday.",
    )
    assert warm["findings"] == []


def test_calm_customer_needs_no_apology() -> None:
    result = score_reply("Where is my order?", "Hello, it arrives on Friday.")
    assert result["customer_upset"] is False
    assert result["findings"] == []


def test_negative_wording_is_found_and_capped() -> None:
    reply = (
        "Hello. Unfortunately we can't refund it. You have to keep the receipt. "
        "It is not possible. There is nothing we can do."
    )
    result = score_reply("Can I get a refund?", reply)
    negative = [f for f in result["findings"] if f["rule"] == "negative_wording"]
    assert [f["text"] for f in negative][:3] == [
        "Unfortunately",
        "we can't",
        "You have to",
    ]
    assert result["deductions"]["negative_wording"] == RULES.negative.cap
    assert negative[-1]["points"] == 0


@pytest.mark.parametrize(
    ("reply", "rude_words"),
    [
        ("Hello. That's not my problem, ask the courier.", "That's not my problem"),
        ("Hello, calm down. It arrives on Friday.", "calm down"),
        (
            "Hello. You should have read the manual before pairing it.",
            "You should have read",
        ),
        (
            "Hello. If you had read the instructions, you would know.",
            "If you had read the instructions",
        ),
        ("Hello. Whatever, it ships on Friday.", "Whatever"),
        ("Hello. It ships on Friday, whatever.", "whatever"),
        ("Hello. As I already said, it ships on Friday.", "As I already said"),
        ("Hello. Like I said, the courier has it.", "Like I said"),
        ("Hello. That is your problem.", "your problem"),
    ],
)
def test_rudeness_costs_eight_points(reply: str, rude_words: str) -> None:
    result = score_reply("Where is my order?", reply)
    # The ceiling is charged at the start of the first rude message.
    assert [(f["rule"], f["text"]) for f in result["findings"]] == [
        ("rudeness_ceiling", ""),
        ("rudeness", rude_words),
    ]
    finding = result["findings"][1]
    assert reply[finding["offset"] : finding["offset"] + finding["length"]] == (
        rude_words
    )
    assert finding["points"] == 8
    assert "rude" in finding["message"]
    # 92 after the rude words, then brought down to the ceiling of 40.
    assert result["deductions"] == {"rudeness": 8, "rudeness_ceiling": 52}
    assert result["score"] == 40.0
    assert result["subscores"]["courtesy"] == 40.0


def test_rudeness_is_capped_at_24_points() -> None:
    reply = (
        "Hello. Calm down. As I already said, that's not my problem. You should "
        "have read the manual. Whatever."
    )
    result = score_reply("My earbuds will not pair!", reply)
    rude = [f for f in result["findings"] if f["rule"] == "rudeness"]
    assert [f["text"] for f in rude] == [
        "Calm down",
        "As I already said",
        "that's not my problem",
        "You should have read",
        "Whatever",
    ]
    assert [f["points"] for f in rude] == [8, 8, 8, 0, 0]
    assert result["deductions"] == {"rudeness": 24, "rudeness_ceiling": 36}
    assert result["score"] == 40.0


def test_rude_words_cost_once_not_also_as_negative() -> None:
    reply = "Hello. Unfortunately that's not my problem."
    result = score_reply("Where is my order?", reply)
    assert [(f["rule"], f["text"]) for f in result["findings"]] == [
        ("rudeness_ceiling", ""),
        ("negative_wording", "Unfortunately"),
        ("rudeness", "that's not my problem"),
    ]
    assert result["deductions"] == {
        "negative_wording": 3,
        "rudeness": 8,
        "rudeness_ceiling": 49,
    }
    assert result["score"] == 40.0


def test_rude_reply_scores_under_pass_mark() -> None:
    customer = "Hi, my order 55120 was charged twice!! I want my money back."
    result = score_reply(customer, "not my problem. wait like everyone else.")
    assert result["score"] == 40.0
    ceiling = [f for f in result["findings"] if f["rule"] == "rudeness_ceiling"]
    assert len(ceiling) == 1
    assert ceiling[0]["message"] == "A reply with rude words scores at most 40."
    assert sum(result["deductions"].values()) == 60


def test_rude_chat_already_low_not_raised() -> None:
    turns = [
        {
            "role": "customer",
            "text": "Where is my order?",
            "at": "2026-01-01T09:00:00Z",
        },
        {
            "role": "agent",
            "text": "CALM DOWN!!! NOT MY PROBLEM, U SHOULD HAVE READ THE MANUAL "
            "LOL. ur order is l8r, whatever",
            "at": "2026-01-01T09:03:00Z",
        },
    ]
    result = score_chat(turns)
    # 100 - 12 - 5 - 2 - 12 - 5 - 24 - 6: already under the ceiling of 40.
    assert result["score"] == 34.0
    assert "rudeness_ceiling" not in result["deductions"]


@pytest.mark.parametrize(
    "reply",
    [
        "Hello, I'll do whatever I can to help.",
        "Hello, you should have received a confirmation email.",
        "Hello, whatever colour you choose ships today.",
        "Hello, I understand, and I'm sorry. As you said, it should be here.",
        "Hello, I've read the manual for that model and can help.",
    ],
)
def test_polite_replies_are_not_rude(reply: str) -> None:
    result = score_reply("Where is my order?", reply)
    assert result["findings"] == []


def test_positive_wording_passes() -> None:
    reply = "Hello! What I can do is send a replacement today."
    assert score_reply("It broke.", reply)["findings"] == []


def test_closing_without_feedback_request() -> None:
    turns = [*GOOD_CHAT[:-1], {**GOOD_CHAT[-1], "text": "Have a nice day."}]
    result = score_chat(turns, customer_name="Dana")
    assert rules_of(result) == ["feedback_request"]
    assert result["findings"][0]["message_index"] == 4


def test_slow_first_reply_costs_in_proportion() -> None:
    slow = chat(
        ("customer", "Hi, is the blender in stock?", 0),
        ("agent", "Hello, yes it is. How did I do?", 37.5),
    )
    result = score_chat(slow)
    timing = RULES.first_response
    share = (37.5 - timing.ideal_max_s) / (timing.limit_s - timing.ideal_max_s)
    assert rules_of(result) == ["first_response"]
    assert result["findings"][0]["seconds"] == 37.5
    assert result["deductions"]["first_response"] == pytest.approx(
        timing.slow_points * share, abs=0.01
    )


def test_first_reply_over_limit() -> None:
    late = chat(
        ("customer", "Hi, is the blender in stock?", 0),
        ("agent", "Hello, yes it is. How did I do?", 61),
    )
    result = score_chat(late)
    assert result["first_response_s"] == 61
    assert result["deductions"] == {
        "first_response": RULES.first_response.over_limit_points
    }


def test_later_reply_timed_from_first_unanswered() -> None:
    turns = chat(
        ("customer", "Hi.", 0),
        ("agent", "Hello, how can I help?", 5),
        ("customer", "My order is late.", 10),
        ("customer", "Order 48213.", 100),
        ("agent", "Let me check. How did I do so far?", 130),
    )
    result = score_chat(turns)
    assert result["response_times"] == [
        {"message_index": 1, "seconds": 5.0},
        {"message_index": 4, "seconds": 120.0},
    ]
    assert result["deductions"] == {
        "later_response": RULES.later_responses.over_limit_points
    }


def test_empty_reply_scores_zero() -> None:
    result = score_reply("Hi", "   ")
    assert result["score"] == 0
    assert "empty" in result["flags"]


def test_long_reply_is_truncated(harper: GrammarChecker) -> None:
    reply = "Hello, thank you. " * 6000
    result = score_reply("Hi", reply, checker=harper)
    assert "truncated" in result["flags"]
    assert result["score"] == 100.0


def test_transcript_without_agent_is_rejected() -> None:
    with pytest.raises(TranscriptError, match="no agent message"):
        score_chat(chat(("customer", "Hello?", 0)))


def test_times_going_backwards_are_rejected() -> None:
    turns = chat(("customer", "Hi", 10), ("agent", "Hello", 5))
    with pytest.raises(TranscriptError, match="earlier"):
        score_chat(turns)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"role": "agent"}, "JSON list"),
        (["hello"], "not an object"),
        ([{"role": "bot", "text": "x"}], "role must be"),
        ([{"role": "agent", "text": 5}], "text must be"),
        ([{"role": "agent", "text": "x", "at": "noon"}], "ISO 8601"),
        ([{"role": "agent", "text": "x", "at": "2026-01-01T10:00:00"}], "UTC offset"),
        (
            [
                {"role": "customer", "text": "x", "at": "2026-01-01T10:00:00Z"},
                {"role": "agent", "text": "y"},
            ],
            "every message or none",
        ),
    ],
)
def test_parse_messages_rejects_bad_shapes(raw: object, fragment: str) -> None:
    with pytest.raises(TranscriptError, match=fragment):
        parse_messages(raw)


def test_rule_file_with_bad_regex_is_rejected(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "scoring/rules/etiquette.toml"
    text = source.read_text(encoding="utf-8").replace(
        "patterns = ['!{2,}'", "patterns = ['(unclosed'"
    )
    broken = tmp_path / "etiquette.toml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="invalid regular expression"):
        load_etiquette_rules(broken)


def test_rule_file_points_are_read(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "scoring/rules/etiquette.toml"
    text = source.read_text(encoding="utf-8")
    tuned = tmp_path / "etiquette.toml"
    tuned.write_text(text.replace("all_caps = 5", "all_caps = 20"), encoding="utf-8")
    rules = load_etiquette_rules(tuned)
    result = score_reply("Hi", "Hello, I WILL CHECK.", rules=rules)
    assert result["deductions"] == {"all_caps": 15.0}  # the cap stays 15


def test_grammar_offsets_map_to_each_message(harper: GrammarChecker) -> None:
    turns = chat(
        ("customer", "Hi, where is my parcel?", 0),
        ("agent", "Hello, I will check teh tracking now.", 8),
        ("customer", "Thanks.", 12),
        ("agent", "It arrives tomorow. How did I do?", 20),
    )
    result = score_chat(turns, checker=harper)
    grammar = [f for f in result["findings"] if f["rule"] == "grammar"]
    assert [(f["message_index"], f["text"]) for f in grammar] == [
        (1, "teh"),
        (3, "tomorow"),
    ]
    second = turns[3]["text"]
    offset = grammar[1]["offset"]
    assert second[offset : offset + grammar[1]["length"]] == "tomorow"


def test_support_acronyms_cost_nothing() -> None:
    reply = (
        "Hello, please check the VPN and the LAN cable, then enter the PIN from "
        "the SMS. The USB adapter for the TV is OK to use."
    )
    result = score_reply("My internet is down.", reply)
    assert result["findings"] == []
    assert result["score"] == 100.0
