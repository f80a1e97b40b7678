"""Demo content of every stage after the language one, written for Frontline.

``add_stage_content`` fills the knock-out questions, assessments and interview
competencies of an opening's stages that have none yet, so it is safe to run
on an opening seeded before this content existed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app import db
from assessments.models import Assessment, Item
from recruit.interview import add_default_competencies
from recruit.models import KnockoutQuestion, Opening, Stage, StageKind

KNOCKOUT_QUESTIONS: tuple[dict[str, Any], ...] = (
    {
        "text": "Do you have the right to work in the country you live in?",
        "kind": "yes_no",
        "accepted": ["yes"],
        "reason": "No right to work in the country of residence.",
    },
    {
        "text": "The rota includes one week of night shifts (00:00-08:00) each "
        "month. Can you work them?",
        "kind": "yes_no",
        "accepted": ["yes"],
        "reason": "Cannot work the monthly night-shift week.",
    },
    {
        "text": "Which best describes the internet connection where you will work?",
        "kind": "choice",
        "options": [
            "Fibre, cable or DSL at 10 Mbit/s or faster",
            "Mobile data only",
            "Slower than 10 Mbit/s",
        ],
        "accepted": ["Fibre, cable or DSL at 10 Mbit/s or faster"],
        "reason": "No fixed internet connection of 10 Mbit/s or faster.",
    },
)

CHAT_REPLIES = (
    (
        "Olivia",
        "Hi, I was charged twice for my order 55120!! I only bought one pair of "
        "shoes. Can you fix this?",
    ),
    ("Tom", "do you ship to canada? and how long does it take"),
    (
        "Grace",
        "This is the third time I'm writing. My return was picked up two weeks "
        "ago and I still haven't got my refund. I'm really fed up.",
    ),
)

TYPING_PASSAGE = (
    "Thanks for waiting, Jordan. I have checked your order and the parcel left "
    "our warehouse this morning. You will get an email with the tracking link "
    "within the hour, and the courier expects to deliver it on Thursday between "
    "9 am and 1 pm."
)

JUDGEMENT_ITEMS: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "A customer writes in capitals that their parcel was left at the wrong "
        "address and demands a refund now. The carrier's photo shows the parcel at "
        "a neighbour's door.",
        {
            "mode": "best",
            "options": [
                "Tell the customer the carrier's photo proves delivery, so the "
                "order is complete.",
                "Apologise, share the photo, and offer to chase the carrier; if the "
                "parcel is not found within two days, refund the order.",
                "Refund at once without looking into it, to end the chat quickly.",
                "Ask the customer to stop writing in capitals before you help.",
            ],
            "credits": [0, 100, 40, 10],
        },
    ),
    (
        "Ten minutes into a chat you notice that the delivery date you gave the "
        "customer was wrong: the item ships a week later.",
        {
            "mode": "best",
            "options": [
                "Say nothing; the customer may not notice.",
                "Pass the chat to a colleague so that they can correct it.",
                "Mention it at the end of the chat.",
                "Tell the customer now, apologise, give the right date and offer "
                "a similar item that is in stock.",
            ],
            "credits": [0, 20, 30, 100],
        },
    ),
    (
        "A customer asks for a discount because the jacket they bought yesterday "
        "is on sale today. The shop refunds a price difference within 14 days of "
        "purchase. Rank the responses from best to worst.",
        {
            "mode": "rank",
            "options": [
                "Tell them sale prices apply only to new orders.",
                "Refund the difference and tell them when it will reach their card.",
                "Suggest they return the jacket and buy it again at the sale price.",
                "Explain the 14-day price promise and offer to refund the difference.",
            ],
            "key": [1, 3, 2, 0],
        },
    ),
)

STATEMENTS = (
    ("calm", "I stay calm when a customer is rude to me.", False),
    ("patience", "I lose patience when I have to explain something twice.", True),
    ("solving", "I enjoy solving other people's problems.", False),
    ("avoid", "Helping customers tires me, and I avoid it when I can.", True),
    ("steady", "When a customer is angry, I keep a polite and steady tone.", False),
    ("procedure", "I follow procedures even when nobody is checking.", False),
    ("corners", "I cut corners on procedures when I am busy.", True),
    ("needs", "I like finding out what a customer really needs.", False),
    ("mistakes", "I admit my mistakes to customers and colleagues.", False),
    ("apologise", "I find it hard to apologise for a problem I did not cause.", True),
)
PAIRS = (
    ("calm", "steady", "similar"),
    ("procedure", "corners", "opposite"),
    ("solving", "needs", "similar"),
    ("solving", "avoid", "opposite"),
)

REASONING_ITEMS: tuple[tuple[str, list[str], int], ...] = (
    (
        "An order placed on Monday ships after 2 working days, and delivery takes "
        "3 working days after shipping. Saturday and Sunday are not working days. "
        "On which day does the order arrive?",
        ["Thursday", "Friday", "Monday", "Tuesday"],
        2,
    ),
    (
        "A customer buys 3 T-shirts at $12 each with a 25% discount code on the "
        "items. Shipping of $5 is added after the discount. How much do they pay?",
        ["$32.00", "$27.00", "$35.75", "$31.00"],
        0,
    ),
    (
        "Only orders over $50 ship free. Some orders that ship free are "
        "gift-wrapped. Which statement must be true?",
        [
            "Every gift-wrapped order ships free.",
            "Some gift-wrapped orders are over $50.",
            "Every order over $50 is gift-wrapped.",
            "No order under $50 is gift-wrapped.",
        ],
        1,
    ),
    (
        "A customer's earbuds connect to their laptop but not to their phone. "
        "Another pair of earbuds connects to the same phone without trouble. "
        "Where is the fault most likely?",
        [
            "The phone's Bluetooth",
            "The laptop",
            "The pairing between the first earbuds and the phone",
            "The earbuds' battery",
        ],
        2,
    ),
)


def add_stage_content(opening: Opening) -> list[str]:
    """Fill every empty stage of ``opening`` with the demo content; return what."""
    added = []
    if _add_knockout_questions(opening):
        added.append("knock-out questions")
    builders = {
        StageKind.COMMUNICATION: _communication,
        StageKind.ATTITUDE: _attitude,
        StageKind.TROUBLESHOOTING: _troubleshooting,
    }
    for kind, build in builders.items():
        stage = opening.stage(kind)
        if stage is not None and not stage.assessments:
            build(stage)
            added.append(f"{kind.value} assessments")
    db.session.commit()
    interview = opening.stage(StageKind.INTERVIEW)
    if interview is not None:
        add_default_competencies(interview)
    return added


def _add_knockout_questions(opening: Opening) -> bool:
    exists = db.session.scalar(
        select(KnockoutQuestion).filter_by(opening_id=opening.id)
    )
    if exists is not None:
        return False
    for position, spec in enumerate(KNOCKOUT_QUESTIONS, start=1):
        db.session.add(
            KnockoutQuestion(
                opening_id=opening.id,
                position=position,
                text=spec["text"],
                kind=spec["kind"],
                options=spec.get("options", []),
                accepted=spec["accepted"],
                reason=spec["reason"],
            )
        )
    return True


def _communication(stage: Stage) -> None:
    replies = Assessment(
        stage=stage,
        title="Chat replies",
        position=1,
        instructions=(
            "Three customers write to the shop's live chat. Reply to each as you "
            "would at work: clear, correct and friendly. Your drafts are saved as "
            "you type."
        ),
        time_limit_s=20 * 60,
    )
    replies.items = [
        Item(
            kind="chat_reply",
            position=position,
            prompt="Write your reply in the chat.",
            config={"customer_name": name, "customer_message": message},
        )
        for position, (name, message) in enumerate(CHAT_REPLIES, start=1)
    ]
    typing_test = Assessment(
        stage=stage,
        title="Typing test",
        position=2,
        instructions="Copy a short chat message as quickly and accurately as you can.",
        time_limit_s=10 * 60,
    )
    typing_test.items = [
        Item(
            kind="typing",
            position=1,
            prompt="Type the passage exactly as shown.",
            config={"passage": TYPING_PASSAGE, "max_retries": 2},
        )
    ]
    db.session.add_all([replies, typing_test])


def _attitude(stage: Stage) -> None:
    judgement = Assessment(
        stage=stage,
        title="Situational judgement",
        position=1,
        instructions=(
            "Each task describes a situation at work. Choose the best response, "
            "or rank the responses, as the task asks."
        ),
        time_limit_s=20 * 60,
    )
    judgement.items = [
        Item(kind="sjt", position=position, prompt=prompt, config=config)
        for position, (prompt, config) in enumerate(JUDGEMENT_ITEMS, start=1)
    ]
    questionnaire = Assessment(
        stage=stage,
        title="Work style questionnaire",
        position=2,
        instructions=(
            "Say how far you agree with each statement. There are no right or "
            "wrong answers; answer as you are, not as you think you should be."
        ),
    )
    questionnaire.items = [
        Item(
            kind="likert",
            position=1,
            prompt="How far do you agree with each statement?",
            config={
                "points": 5,
                "statements": [
                    {"id": key, "text": text, "reverse": reverse}
                    for key, text, reverse in STATEMENTS
                ],
                "pairs": [
                    {"first": first, "second": second, "relation": relation}
                    for first, second, relation in PAIRS
                ],
            },
        )
    ]
    db.session.add_all([judgement, questionnaire])


def _troubleshooting(stage: Stage) -> None:
    reasoning = Assessment(
        stage=stage,
        title="Reasoning",
        position=1,
        instructions="Four short questions. Choose one answer for each.",
        time_limit_s=15 * 60,
    )
    reasoning.items = [
        Item(
            kind="choice",
            position=position,
            prompt=prompt,
            config={"options": options, "answer": answer},
        )
        for position, (prompt, options, answer) in enumerate(REASONING_ITEMS, start=1)
    ]
    chat = Assessment(
        stage=stage,
        title="Customer chat simulation",
        position=2,
        instructions=(
            "Help a customer in a live chat. The panel beside the chat shows what "
            "your order system says about the customer."
        ),
    )
    chat.items = [
        Item(
            kind="simulation",
            position=1,
            prompt="Find out what went wrong and put it right.",
            config={"scenario": "order_not_arrived"},
        )
    ]
    db.session.add_all([reasoning, chat])
