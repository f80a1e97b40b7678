"""Every path through each shipped scenario, walked with realistic agent messages.

For each scenario the agent has one realistic message per intent. Every path
without repeated states from the opening to a resolved state is played, and
each turn's intents, state and customer reply are checked, as are the steps
covered, the fallback of every state and messages that must not catch an
intent.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assessments.scenario import Scenario, Transition, get_scenario, scenario_names

# One realistic agent message per intent; each matches that intent only.
AGENT_MESSAGES = {
    "order_not_arrived": {
        "ask_order_number": (
            "Hi Dana, I'm sorry your mixer is late. Could you give me your order "
            "number?"
        ),
        "verify_identity": "Thanks. Could you confirm the email address on the order?",
        "check_tracking": "Thank you. Let me check the tracking with the carrier.",
        "explain_status": (
            "I see it now: the parcel is held at the Springfield depot because its "
            "address label was damaged."
        ),
        "offer_reship": (
            "What I can do is send you a new mixer today by express shipping."
        ),
        "offer_refund": "If you prefer, I can refund the order in full instead.",
        "confirm_delivery": "It will arrive by Friday, in time for the birthday.",
    },
    "damaged_item_refund": {
        "ask_order_number": (
            "Hello Marcus, I'm so sorry the lamp arrived cracked. What is your "
            "order number?"
        ),
        "ask_photo": "Could you send me a photo of the crack?",
        "ask_damage_details": "Could you tell me more about the damage?",
        "offer_refund": "Thank you. I have issued a full refund of $64 to your card.",
        "offer_replacement": "I can also send you a new lamp by express delivery.",
        "no_return_needed": "You don't need to return the lamp; please recycle it.",
        "refund_timeline": "The money will be back on your card in 3-5 business days.",
    },
    "earbuds_will_not_pair": {
        "ask_device": "Hi Aisha, sorry to hear that. Which phone do you use?",
        "ask_charged": "Is the case charged? You should see a light on the case.",
        "check_bluetooth": (
            "Could you open your phone's Bluetooth settings and tell me what you see?"
        ),
        "forget_device": (
            "Please tap SoundPod Air in the list and choose Forget This Device."
        ),
        "reset": (
            "Now put them in the case and hold the button for 10 seconds until the "
            "light flashes white."
        ),
        "pair_again": "Great. Now try pairing them again from your phone's list.",
        "offer_replacement": "If nothing helps, I can send you a new pair.",
    },
}

# Off-topic messages that match no intent, so the customer sends the fallback.
OFF_TOPIC = [
    "Thanks for your patience, one moment please.",
    "Hello, how are you today?",
]


def simple_paths(scenario: Scenario) -> Iterator[list[Transition]]:
    """Yield every path of transitions from the start to a resolved state.

    A path visits each state at most once, so self-loops and cycles are left
    out; ``test_self_loops_keep_state`` covers the self-loops.
    """

    def extend(state: str, path: list[Transition], seen: set[str]):
        if scenario.states[state].resolved:
            yield list(path)
            return
        for transition in scenario.states[state].transitions:
            if transition.target in seen:
                continue
            path.append(transition)
            seen.add(transition.target)
            yield from extend(transition.target, path, seen)
            seen.discard(transition.target)
            path.pop()

    yield from extend(scenario.start, [], {scenario.start})


def all_paths() -> list[tuple[str, list[Transition]]]:
    return [
        (name, path)
        for name in sorted(AGENT_MESSAGES)
        for path in simple_paths(get_scenario(name))
    ]


def path_id(case: tuple[str, list[Transition]]) -> str:
    name, path = case
    return f"{name}:" + ">".join(t.target for t in path)


def test_every_shipped_scenario_has_messages() -> None:
    assert sorted(AGENT_MESSAGES) == scenario_names()
    for name, messages in AGENT_MESSAGES.items():
        assert sorted(messages) == sorted(get_scenario(name).intents), name


@pytest.mark.parametrize(
    ("name", "intent"),
    [(name, intent) for name in AGENT_MESSAGES for intent in AGENT_MESSAGES[name]],
)
def test_agent_message_matches_its_intent_only(name: str, intent: str) -> None:
    scenario = get_scenario(name)
    assert scenario.match_intents(AGENT_MESSAGES[name][intent]) == (intent,)


def test_paths_cover_every_transition() -> None:
    for name in AGENT_MESSAGES:
        scenario = get_scenario(name)
        walked = {(t.intent, t.target) for path in simple_paths(scenario) for t in path}
        for state in scenario.states.values():
            for transition in state.transitions:
                if transition.target == state.name:
                    continue
                assert (transition.intent, transition.target) in walked, (
                    name,
                    state.name,
                    transition.intent,
                )


@pytest.mark.parametrize("case", all_paths(), ids=path_id)
def test_path_reaches_resolution(case: tuple[str, list[Transition]]) -> None:
    name, path = case
    scenario = get_scenario(name)
    state = scenario.start
    used: list[list[str]] = []
    for transition in path:
        text = AGENT_MESSAGES[name][transition.intent]
        turn = scenario.respond(state, text)
        assert turn.intents == (transition.intent,), (state, text)
        assert turn.state == transition.target, (state, text)
        assert turn.reply == transition.reply
        assert turn.ends is False
        assert turn.resolved is scenario.states[transition.target].resolved
        used.append(list(turn.intents))
        state = turn.state
    assert scenario.states[state].resolved
    expected_steps = [
        step.name
        for step in scenario.steps
        if set(step.intents) & {t.intent for t in path}
    ]
    assert scenario.steps_covered(used) == expected_steps
    goodbye = scenario.respond(state, "Glad I could help. Have a lovely day!")
    assert goodbye.ends is True
    assert goodbye.reply == scenario.closing


@pytest.mark.parametrize("name", sorted(AGENT_MESSAGES))
def test_every_state_can_still_resolve(name: str) -> None:
    scenario = get_scenario(name)
    resolvable = {n for n, s in scenario.states.items() if s.resolved}
    changed = True
    while changed:
        changed = False
        for state in scenario.states.values():
            if state.name in resolvable:
                continue
            if any(t.target in resolvable for t in state.transitions):
                resolvable.add(state.name)
                changed = True
    assert set(scenario.states) == resolvable


@pytest.mark.parametrize("name", sorted(AGENT_MESSAGES))
def test_off_topic_message_gets_state_fallback(name: str) -> None:
    scenario = get_scenario(name)
    for state in scenario.states.values():
        if state.resolved:
            continue
        for text in OFF_TOPIC:
            turn = scenario.respond(state.name, text)
            assert turn.intents == (), text
            assert turn.state == state.name
            assert turn.reply == state.fallback
            assert turn.ends is False


@pytest.mark.parametrize("name", sorted(AGENT_MESSAGES))
def test_self_loops_keep_state(name: str) -> None:
    scenario = get_scenario(name)
    for state in scenario.states.values():
        for transition in state.transitions:
            if transition.target != state.name:
                continue
            turn = scenario.respond(state.name, AGENT_MESSAGES[name][transition.intent])
            assert turn.state == state.name
            assert turn.reply == transition.reply


@pytest.mark.parametrize(
    ("name", "state", "text", "intents", "target"),
    [
        # Promising to email the tracking number later verifies nobody and
        # checks no tracking.
        (
            "order_not_arrived",
            "reship_offered",
            "I'll email you the tracking number tonight.",
            (),
            "reship_offered",
        ),
        # "order not" is no request for the order number.
        (
            "order_not_arrived",
            "start",
            "I'm so sorry about the order not arriving.",
            (),
            "start",
        ),
        (
            "order_not_arrived",
            "start",
            "Could you give me the order no. please?",
            ("ask_order_number",),
            "order_given",
        ),
        # Sympathy for what happened asks nothing about the damage.
        (
            "damaged_item_refund",
            "order_given",
            "I'm so sorry about what happened to your lamp.",
            (),
            "order_given",
        ),
        (
            "damaged_item_refund",
            "order_given",
            "Could you tell me what happened to the lamp?",
            ("ask_damage_details",),
            "details_given",
        ),
        # "Free of charge" is not a question about the battery.
        (
            "earbuds_will_not_pair",
            "start",
            "We can send a replacement free of charge.",
            ("offer_replacement",),
            "start",
        ),
        # Forgetting the earbuds in the Bluetooth settings is the forget step,
        # even though the message names Bluetooth.
        (
            "earbuds_will_not_pair",
            "charged",
            "Please open your Bluetooth settings and tap Forget This Device.",
            ("check_bluetooth", "forget_device"),
            "forgotten",
        ),
    ],
)
def test_keywords_catch_the_right_intent(
    name: str, state: str, text: str, intents: tuple[str, ...], target: str
) -> None:
    turn = get_scenario(name).respond(state, text)
    assert turn.intents == intents
    assert turn.state == target
