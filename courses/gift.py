"""Read and write Moodle GIFT question files.

A file is a sequence of blocks separated by blank lines. Lines starting with
``//`` are comments; ``// [id:X]`` and ``// [tag:Y]`` set a question's ID
number and tags, as Moodle 4 writes them. ``$CATEGORY: path`` switches the
category of the questions that follow. The characters ``~ = # { } :`` are
escaped with a backslash, ``\\n`` is a line break and ``\\\\`` a backslash; any
other backslash is kept as typed, so ``\\[`` stays ``\\[``.

The reader follows Moodle's importer with one difference: an unescaped ``=``,
``~``, ``#``, ``{`` or ``}`` in a question's text is an error, as in the GIFT
grammar, instead of being read in whatever way the importer happens to split it.
Types that GIFT cannot express (ordering, chat reply) are written with a
``// frontline:`` comment that this reader uses to restore them; Moodle reads
them as a short-answer and an essay question.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from courses.interchange import (
    ParsedQuestion,
    ParseResult,
    data_problem,
    parse_frontline_note,
    valid_grade,
)

SPECIALS = "~=#{}:"
FORMAT_RE = re.compile(r"\[(moodle|html|plain|markdown)\]")
META_RE = re.compile(r"\[(id|tag):([^\]]*)\]")
EMBEDDED_BLANK = "_____"


class GiftError(Exception):
    def __init__(self, offset: int, message: str) -> None:
        self.offset = offset
        super().__init__(message)


class Block:
    """The lines of one question without comments, and their line numbers."""

    def __init__(self, lines: list[tuple[int, str]], meta: dict[str, Any]) -> None:
        self.text = "\n".join(line for _n, line in lines)
        self.numbers = [n for n, _line in lines]
        self.starts: list[int] = []
        offset = 0
        for _n, line in lines:
            self.starts.append(offset)
            offset += len(line) + 1
        self.meta = meta

    def line_at(self, offset: int) -> int:
        index = 0
        for i, start in enumerate(self.starts):
            if start <= offset:
                index = i
        return self.numbers[index]


def split_blocks(source: str) -> Iterator[Block]:
    lines: list[tuple[int, str]] = []
    meta: dict[str, Any] = {"tags": []}
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("//"):
            for kind, value in META_RE.findall(stripped):
                if kind == "id":
                    meta["id"] = value.strip()
                else:
                    meta["tags"].append(value.strip())
            continue
        if stripped:
            lines.append((number, line))
        elif lines:
            yield Block(lines, meta)
            lines, meta = [], {"tags": []}
    if lines:
        yield Block(lines, meta)


def find_unescaped(text: str, targets: str, start: int = 0) -> int:
    """Index of the first character of ``targets`` not preceded by a backslash."""
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char in targets:
            return i
        i += 1
    return -1


def find_sequence(text: str, sequence: str, start: int = 0) -> int:
    """Index of the first unescaped occurrence of ``sequence``."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(sequence, i):
            return i
        i += 1
    return -1


def split_unescaped(text: str, separator: str) -> list[str]:
    parts, start, i = [], 0, 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            following = text[i + 1]
            if following in SPECIALS or following == "\\":
                out.append(following)
                i += 2
                continue
            if following == "n":
                out.append("\n")
                i += 2
                continue
        out.append(char)
        i += 1
    return "".join(out)


def clean_text(raw: str, text_format: str) -> str:
    """Unescape a text; lines of non-Markdown text are joined with spaces."""
    if text_format != "markdown":
        raw = " ".join(part.strip() for part in raw.split("\n"))
        raw = re.sub(r"[ \t]+", " ", raw)
    else:
        raw = "\n".join(part.rstrip() for part in raw.split("\n"))
    return unescape(raw).strip()


def read_format(text: str, default: str = "moodle") -> tuple[str, str]:
    stripped = text.lstrip()
    match = FORMAT_RE.match(stripped)
    if match:
        return match.group(1), stripped[match.end() :]
    return default, text


def parse_gift(source: str) -> ParseResult:
    """Parse GIFT text into questions and line-numbered issues."""
    result = ParseResult()
    category = ""
    for block in split_blocks(source.lstrip("\ufeff")):
        text = block.text
        if text.lstrip().startswith("$CATEGORY:"):
            first, _sep, rest = text.lstrip().partition("\n")
            category = first[len("$CATEGORY:") :].strip()
            result.categories.append(category)
            if not rest.strip():
                continue
            text = " " * (len(text) - len(rest)) + rest
        try:
            question = parse_question(text, block)
        except GiftError as error:
            result.add_issue(block.line_at(error.offset), str(error))
            continue
        question.category = category
        question.line = block.numbers[0]
        question.id_number = block.meta.get("id")
        question.tags = list(block.meta["tags"])
        result.accept(question)
    return result


def parse_question(text: str, block: Block) -> ParsedQuestion:
    title, position = "", 0
    stripped = text.lstrip()
    if stripped.startswith("::"):
        start = len(text) - len(stripped) + 2
        end = find_sequence(text, "::", start)
        if end == -1:
            raise GiftError(start - 2, "the title has no closing '::'")
        title = unescape(text[start:end]).strip()
        position = end + 2
    text_format, _rest = read_format(text[position:])
    if text_format != "moodle" or FORMAT_RE.match(text[position:].lstrip()):
        position = len(text) - len(_rest)
    open_at = find_unescaped(text, "{", position)
    if open_at == -1:
        stray = find_unescaped(text, "}", position)
        if stray != -1:
            raise GiftError(stray, "'}' without an opening '{'; escape it as \\}")
        stem = clean_text(text[position:], text_format)
        return ParsedQuestion("description", stem, {}, title, text_format)
    close_at = find_unescaped(text, "}", open_at + 1)
    if close_at == -1:
        raise GiftError(len(text) - 1, "the answer block has no closing '}'")
    head, tail = text[position:open_at], text[close_at + 1 :]
    if find_sequence(head, "::") != -1:
        raise GiftError(
            position + find_sequence(head, "::"),
            "unescaped '::' in the question text; a title is written ::title::",
        )
    for part, base in ((head, position), (tail, close_at + 1)):
        bad = find_unescaped(part, "=~#{}")
        if bad != -1:
            raise GiftError(
                base + bad,
                f"unescaped '{part[bad]}' in the question text; write \\{part[bad]}",
            )
    stem_raw = head + (f" {EMBEDDED_BLANK} " + tail if tail.strip() else "")
    stem = clean_text(stem_raw, text_format)
    qtype, data, feedback = parse_answers(text[open_at + 1 : close_at], open_at + 1)
    nested = find_unescaped(text, "{", open_at + 1)
    if nested != -1 and nested < close_at:
        raise GiftError(nested, "a second '{' inside an answer; escape it as \\{")
    if not title and qtype != "description":
        title = ""
    return ParsedQuestion(
        qtype,
        stem,
        data,
        name=title,
        text_format=text_format,
        general_feedback=feedback,
    )


def parse_answers(body: str, base: int) -> tuple[str, dict[str, Any], str]:
    parts = split_unescaped(body, "####")
    general = ""
    if len(parts) > 1:
        body = parts[0]
        general = clean_text("####".join(parts[1:]), read_format(parts[1])[0])
        general = read_format(general)[1].strip()
    content = body.strip()
    if not content:
        return "essay", {"grader": "manual"}, general
    head = split_unescaped(content, "#")[0].strip().upper()
    if head in ("T", "TRUE", "F", "FALSE"):
        return "true_false", parse_true_false(content, base), general
    if content.startswith("#"):
        return "numerical", parse_numerical(content[1:], base), general
    if find_unescaped(content, "=~") == -1:
        # A single answer without '=' is a short answer, as Moodle reads it.
        answers = [{"mark": "=", "raw": body, "at": base}]
    else:
        answers = split_answers(body, base)
    if all(a["mark"] == "=" and "->" in a["raw"] for a in answers):
        return "matching", parse_matching(answers), general
    options = [parse_choice(a, base) for a in answers]
    if all(a["mark"] == "=" for a in answers):
        data = {
            "match": "ignore_case",
            "answers": [
                {
                    "text": o["text"],
                    "fraction": o["fraction"],
                    "feedback": o["feedback"],
                }
                for o in options
            ],
        }
        return "short_answer", data, general
    for number, option in enumerate(options, start=1):
        option["id"] = f"o{number}"
    single = any(a["mark"] == "=" for a in answers)
    return (
        ("single_choice" if single else "multiple_choice"),
        {"options": options},
        general,
    )


def parse_true_false(content: str, base: int) -> dict[str, Any]:
    parts = split_unescaped(content, "#")
    if len(parts) > 3:
        raise GiftError(base, "a true/false answer takes at most two feedbacks")
    answer = parts[0].strip().upper() in ("T", "TRUE")
    wrong = clean_text(parts[1], "moodle") if len(parts) > 1 else ""
    right = clean_text(parts[2], "moodle") if len(parts) > 2 else ""
    return {"answer": answer, "feedback_incorrect": wrong, "feedback_correct": right}


def split_answers(body: str, base: int) -> list[dict[str, Any]]:
    """Split an answer block at each unescaped '=' or '~'."""
    first = find_unescaped(body, "=~")
    if body[:first].strip():
        raise GiftError(
            base + first,
            f"text {body[:first].strip()[:40]!r} before the first answer; "
            "start each answer with = or ~",
        )
    answers = []
    start = first
    while start != -1:
        following = find_unescaped(body, "=~", start + 1)
        end = following if following != -1 else len(body)
        answers.append(
            {"mark": body[start], "raw": body[start + 1 : end], "at": base + start}
        )
        start = following
    return answers


WEIGHT_RE = re.compile(r"\s*%(-?\d+(?:\.\d+)?)%")


def read_weight(raw: str, default: float, at: int) -> tuple[float, str]:
    match = WEIGHT_RE.match(raw)
    if not match:
        return default, raw
    percent = float(match.group(1))
    if not valid_grade(percent):
        raise GiftError(at, f"{percent:g}% is not a valid answer grade")
    return percent / 100, raw[match.end() :]


def parse_choice(answer: dict[str, Any], base: int) -> dict[str, Any]:
    default = 1.0 if answer["mark"] == "=" else 0.0
    fraction, raw = read_weight(answer["raw"], default, answer["at"])
    pieces = split_unescaped(raw, "#")
    if len(pieces) > 2:
        raise GiftError(
            answer["at"] + len(answer["raw"]) - len(pieces[-1]) - 1,
            "unescaped '#' in an answer's feedback; write \\#",
        )
    text_format, text = read_format(pieces[0])
    return {
        "text": clean_text(text, text_format),
        "fraction": fraction,
        "feedback": clean_text(read_format(pieces[1])[1], "moodle")
        if len(pieces) > 1
        else "",
    }


def parse_matching(answers: list[dict[str, Any]]) -> dict[str, Any]:
    pairs = []
    for number, answer in enumerate(answers, start=1):
        prompt, _arrow, target = answer["raw"].partition("->")
        pairs.append(
            {
                "id": f"p{number}",
                "prompt": clean_text(read_format(prompt)[1], "moodle"),
                "answer": clean_text(target, "moodle"),
            }
        )
    return {"pairs": pairs}


def parse_number_spec(spec: str, at: int) -> dict[str, float]:
    spec = spec.strip()
    try:
        if ".." in spec:
            low, high = (float(x) for x in spec.split("..", 1))
            return {"value": (low + high) / 2, "tolerance": abs(high - low) / 2}
        value, _colon, tolerance = spec.partition(":")
        return {"value": float(value), "tolerance": float(tolerance or 0)}
    except ValueError:
        raise GiftError(
            at, f"{spec!r} is not a number, a range or value:tolerance"
        ) from None


def parse_numerical(content: str, base: int) -> dict[str, Any]:
    if find_unescaped(content, "=~") == -1:
        spec, *feedback = split_unescaped(content, "#")
        answer = parse_number_spec(spec, base)
        text = clean_text(feedback[0], "moodle") if feedback else ""
        return {
            "answers": [{**answer, "fraction": 1.0, "feedback": text}],
            "wrong_feedback": "",
        }
    answers, wrong = [], ""
    first = find_unescaped(content, "=~")
    if content[:first].strip():
        # "{#3:2 ~#wrong}": the first answer has no '='.
        content = "=" + content
    for answer in split_answers(content, base):
        fraction, raw = read_weight(
            answer["raw"], 1.0 if answer["mark"] == "=" else 0.0, answer["at"]
        )
        spec, *feedback = split_unescaped(raw, "#")
        text = clean_text(feedback[0], "moodle") if feedback else ""
        if answer["mark"] == "~" and not spec.strip():
            wrong = text
            continue
        answers.append(
            {
                **parse_number_spec(spec, answer["at"]),
                "fraction": fraction,
                "feedback": text,
            }
        )
    return {"answers": answers, "wrong_feedback": wrong}


# Writing


def escape(text: str) -> str:
    out = text.replace("\\", "\\\\")
    for char in SPECIALS:
        out = out.replace(char, "\\" + char)
    return out.replace("\n", "\\n")


def _format_prefix(text_format: str) -> str:
    return "" if text_format == "moodle" else f"[{text_format}]"


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.5f}".rstrip("0").rstrip(".")


def _feedback(text: str) -> str:
    return f"#{escape(text)}" if text else ""


def write_gift(questions: list[ParsedQuestion]) -> str:
    """Write questions as GIFT, with a $CATEGORY line wherever the category changes."""
    chunks, category = [], None
    for question in questions:
        if question.category != category and (question.category or category):
            chunks.append(f"$CATEGORY: {question.category}\n")
        category = question.category
        chunks.append(write_question(question))
    return "\n".join(chunks)


def write_question(question: ParsedQuestion) -> str:
    lines = []
    if question.id_number:
        lines.append(f"// [id:{question.id_number}]")
    if question.tags:
        lines.append("// " + " ".join(f"[tag:{tag}]" for tag in question.tags))
    extra = {
        key: value
        for key, value in question.data.items()
        if key not in _GIFT_KEYS and (key, str(value)) not in _GIFT_DEFAULTS
    }
    if question.qtype in ("ordering", "chat_reply") or extra:
        lines.append(
            "// frontline: "
            + json.dumps({"qtype": question.qtype, **extra}, ensure_ascii=False)
        )
    title = f"::{escape(question.name)}::" if question.name else ""
    stem = _format_prefix(question.text_format) + escape(question.text)
    if question.qtype == "description":
        lines.append(title + stem)
        return "\n".join(lines) + "\n"
    body = write_answers(question)
    general = (
        f"\n####{escape(question.general_feedback)}"
        if question.general_feedback
        else ""
    )
    lines.append(f"{title}{stem} {{{body}{general}\n}}")
    return "\n".join(lines) + "\n"


# Data keys that the GIFT syntax itself carries; others go to a frontline comment.
_GIFT_KEYS = {
    "options", "answer", "feedback_correct", "feedback_incorrect", "answers",
    "pairs", "wrong_feedback", "items",
}  # fmt: skip
_GIFT_DEFAULTS = {("match", "ignore_case"), ("grader", "manual")}


def write_answers(question: ParsedQuestion) -> str:
    data = question.data
    qtype = question.qtype
    if qtype in ("essay", "chat_reply"):
        return ""
    if qtype == "true_false":
        text = "TRUE" if data["answer"] else "FALSE"
        wrong, right = (
            data.get("feedback_incorrect", ""),
            data.get("feedback_correct", ""),
        )
        if right:
            return f"{text}#{escape(wrong)}#{escape(right)}"
        return text + _feedback(wrong)
    if qtype in ("single_choice", "multiple_choice"):
        return "".join(_choice_line(qtype, o) for o in data["options"])
    if qtype == "short_answer":
        return "".join(
            f"\n\t=%{_percent(a['fraction'])}%{escape(a['text'])}"
            + _feedback(a.get("feedback", ""))
            for a in data["answers"]
        )
    if qtype == "numerical":
        lines = "".join(
            f"\n\t=%{_percent(a['fraction'])}%{a['value']!r}:{a.get('tolerance', 0)!r}"
            f"{_feedback(a.get('feedback', ''))}"
            for a in data["answers"]
        )
        wrong = data.get("wrong_feedback")
        return "#" + lines + (f"\n\t~#{escape(wrong)}" if wrong else "")
    if qtype == "matching":
        return "".join(
            f"\n\t={escape(p['prompt'])} -> {escape(p['answer'])}"
            for p in data["pairs"]
        )
    if qtype == "ordering":
        return "".join(f"\n\t={escape(i['text'])}" for i in data["items"])
    raise ValueError(f"GIFT cannot write a {qtype} question")


def _choice_line(qtype: str, option: dict[str, Any]) -> str:
    fraction = float(option["fraction"])
    if qtype == "single_choice" and fraction >= 1:
        mark = "="
    else:
        mark = "~" if fraction == 0 else f"~%{_percent(fraction)}%"
    return f"\n\t{mark}{escape(option['text'])}{_feedback(option.get('feedback', ''))}"


def restore_frontline_types(source: str, result: ParseResult) -> None:
    """Apply ``// frontline:`` comments that this writer adds above questions."""
    notes: dict[int, dict[str, Any]] = {}
    lines = source.splitlines()
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("// frontline:"):
            try:
                notes[number] = parse_frontline_note(stripped[len("// frontline:") :])
            except ValueError as error:
                result.add_issue(number, str(error))
    if not notes:
        return
    kept = []
    for question in result.questions:
        note = _note_before(notes, lines, question.line)
        if note is not None:
            _apply_note(question, note)
            # The note changed a question that was valid; it must still be.
            problem = data_problem(question)
            if problem:
                result.add_issue(question.line, problem)
                continue
        kept.append(question)
    result.questions = kept


def _apply_note(question: ParsedQuestion, note: dict[str, Any]) -> None:
    qtype = note.pop("qtype", question.qtype)
    if qtype == "ordering" and question.qtype == "short_answer":
        question.data = {
            "items": [
                {"id": f"i{n}", "text": a["text"]}
                for n, a in enumerate(question.data["answers"], start=1)
            ]
        }
    elif qtype == "chat_reply" and question.qtype == "essay":
        question.data = {}
    question.qtype = qtype
    question.data.update(note)


def _note_before(
    notes: dict[int, dict[str, Any]], lines: list[str], line: int
) -> dict[str, Any] | None:
    number = line - 1
    while number >= 1 and lines[number - 1].strip().startswith("//"):
        if number in notes:
            return dict(notes[number])
        number -= 1
    return None


def read_gift(source: str) -> ParseResult:
    """Parse GIFT text, restoring the types written with a frontline comment."""
    result = parse_gift(source)
    restore_frontline_types(source, result)
    return result
