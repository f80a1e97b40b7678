"""The text of the default course "Live chat etiquette"."""

from __future__ import annotations

import re

from courses.demo import CONTENT

# British spellings and their US forms; the product is written in US English.
BRITISH = re.compile(
    r"\b\w*(?:apologis|recognis|realis|organis|prioritis|personalis|summaris|"
    r"emphasis(?:e|ing|ed)|minimis|customis|colour|behaviour|favour|honour|"
    r"centre|cancell|travell|labell|modell|licence|judgement|enquir|catalogue|"
    r"programme|learnt|spelt|whilst|amongst)\w*",
    re.IGNORECASE,
)


def test_course_text_uses_us_spelling() -> None:
    files = sorted(CONTENT.glob("*.md")) + sorted(CONTENT.glob("*.gift"))
    assert len(files) == 8
    found = []
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            found += [f"{path.name}:{number}: {m}" for m in BRITISH.findall(line)]
    assert found == []


def test_course_text_keeps_us_forms() -> None:
    lesson = (CONTENT / "05-staying-calm.md").read_text()
    bank = (CONTENT / "etiquette.gift").read_text()
    assert "Apologize for the experience" in lesson
    assert "=Apologize for the experience" in bank
    assert "The color of the shop's logo" in bank
