"""The simulation engine on each shipped scenario, and malformed scenario files.

Each scenario is walked along a good and a poor path and scored.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assessments.scenario import (
    SCENARIO_DIR,
    ScenarioError,
    get_scenario,
    load_scenario,
    scenario_names,
)
from scoring.etiquette import Message, score_chat
from scoring.simulation import score_simulation

GOOD_PATHS = {
    "order_not_arrived": [
        "Hi Dana, thanks for reaching out, and I'm sorry your mixer hasn't arrived. "
        "I understand how frustrating that is. Could you give me your order number?",
        "Thank you. Could you confirm the email address on the order?",
        "Thanks Dana. Let me check the tracking with the carrier.",
        "The parcel is held at the Springfield depot because its address label was "
        "damaged.",
        "What I can do is send you a new mixer today by express shipping.",
        "It will arrive by Friday, and I'll email you the tracking number.",
        "Is there anything else I can help with? How did I do today?",
    ],
    "damaged_item_refund": [
        "Hello Marcus, I'm so sorry the lamp arrived broken. I understand how "
        "disappointing that is with a gift. What is your order number?",
        "Thank you. Could you send me a photo of the damage?",
        "Thanks for the photo. I have issued a full refund of $64.",
        "You don't need to return the lamp; please recycle it.",
        "The refund reaches your card in 3-5 business days.",
        "Is there anything else? I'd love your feedback on this chat.",
    ],
    "earbuds_will_not_pair": [
        "Hi Aisha, I'm sorry they stopped connecting, I understand how annoying "
        "that is. Which phone do you use?",
        "Thanks. Is the case charged? There should be a light on the case.",
        "Could you open the Bluetooth settings on your phone?",
        "Please tap the earbuds in the list and choose Forget This Device.",
        "Now put them in the case and hold the button for 10 seconds until the "
        "light flashes white.",
        "Great. Now try pairing them again from the Bluetooth list.",
        "Wonderful! How did I do today? Your feedback helps us.",
    ],
}

POOR_PATH = [
    "hi",
    "pls wait",
    "we cant do anything about that",
    "ok",
]


def walk(name: str, texts: list[str]) -> tuple[list[Message], list[list[str]], bool]:
    """Play the agent's messages; return transcript, intents and whether it ended."""
    scenario = get_scenario(name)
    state = scenario.start
    messages = [Message("customer", scenario.opening)]
    intents: list[list[str]] = []
    ended = False
    for text in texts:
        assert not ended, f"{name}: the chat ended before {text!r}"
        turn = scenario.respond(state, text)
        state = turn.state
        messages += [Message("agent", text), Message("customer", turn.reply)]
        intents.append(list(turn.intents))
        ended = turn.ends
    return messages, intents, ended


def score(name: str, texts: list[str]) -> dict:
    scenario = get_scenario(name)
    messages, intents, ended = walk(name, texts)
    return score_simulation(
        steps={step.name: step.label for step in scenario.steps},
        steps_covered=scenario.steps_covered(intents),
        resolved=ended,
        agent_turns=len(texts),
        ideal_turns=scenario.ideal_agent_turns,
        max_turns=scenario.max_agent_turns,
        etiquette=score_chat(messages, customer_name=scenario.persona_name),
    )


def test_three_scenarios_are_shipped() -> None:
    assert set(GOOD_PATHS) <= set(scenario_names())


@pytest.mark.parametrize("name", sorted(GOOD_PATHS))
def test_good_path_resolves(name: str) -> None:
    _messages, _intents, ended = walk(name, GOOD_PATHS[name])
    assert ended
    result = score(name, GOOD_PATHS[name])
    assert result["resolved"] is True
    assert all(step["covered"] for step in result["steps"])
    assert result["subscores"]["steps"] == 100.0
    assert result["subscores"]["efficiency"] == 100.0
    assert result["score"] >= 90


@pytest.mark.parametrize("name", sorted(GOOD_PATHS))
def test_poor_path_scores_low(name: str) -> None:
    scenario = get_scenario(name)
    _messages, intents, ended = walk(name, POOR_PATH)
    assert not ended
    assert scenario.steps_covered(intents) == []
    result = score(name, POOR_PATH)
    assert result["resolved"] is False
    assert result["subscores"]["resolution"] == 0.0
    assert result["subscores"]["steps"] == 0.0
    assert result["subscores"]["etiquette"] <= 85
    assert result["score"] < 40


def test_unmatched_message_gets_fallback() -> None:
    scenario = get_scenario("order_not_arrived")
    turn = scenario.respond("order_given", "The weather is nice today.")
    assert turn.state == "order_given"
    assert turn.reply == scenario.states["order_given"].fallback
    assert turn.intents == ()


def test_message_after_resolution_ends_chat() -> None:
    scenario = get_scenario("order_not_arrived")
    turn = scenario.respond("resolved", "Have a nice day.")
    assert turn.ends is True
    assert turn.reply == scenario.closing


SOURCE = SCENARIO_DIR / "order_not_arrived.toml"


def broken(tmp_path: Path, old: str, new: str) -> Path:
    text = SOURCE.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ('to = "order_given"', 'to = "nowhere"', "unknown state 'nowhere'"),
        (
            'intent = "ask_order_number"',
            'intent = "sing"',
            "unknown intent 'sing'",
        ),
        (
            "patterns = ['\\border\\s*(#|no\\b\\.?|num\\b)']",
            "patterns = ['(unclosed']",
            "invalid regular expression",
        ),
        ('start = "start"', 'start = "middle"', "start names unknown state"),
        ('title = "An order', 'title = ["An order', "invalid TOML"),
        (
            '{ intent = "confirm_delivery", to = "resolved",',
            '{ intent = "confirm_delivery", to = "reship_offered",',
            "resolved state 'resolved' cannot be reached",
        ),
        ("[states.resolved]\nresolved = true", "[states.resolved]", "resolved = true"),
        ('intents = ["confirm_delivery"]', 'intents = ["fly"]', "unknown intent 'fly'"),
        ("ideal_agent_turns = 7", "ideal_agent_turns = 30", "ideal_agent_turns"),
        # Refund offered, the customer is stuck: no way leads on to resolved.
        (
            '{ intent = "offer_reship", to = "reship_offered", reply = "That would',
            '{ intent = "offer_reship", to = "refund_offered", reply = "That would',
            "state 'refund_offered' cannot reach a resolved state",
        ),
    ],
)
def test_malformed_scenario_is_rejected(
    tmp_path: Path, old: str, new: str, fragment: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(broken(tmp_path, old, new))
    assert fragment in str(caught.value)
    assert "broken.toml" in str(caught.value)


def test_missing_scenario_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path / "nothing.toml")


def test_scenario_name_is_checked() -> None:
    with pytest.raises(ScenarioError, match="invalid scenario name"):
        get_scenario("../secrets")
