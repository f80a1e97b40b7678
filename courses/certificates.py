"""Render a certificate of completion as a PDF (ReportLab), with no database.

Names may be in any script. Each character is drawn with the first bundled font
whose character map has it (see ``courses/fonts/README.md``). Arabic is shaped
into its contextual presentation forms (arabic-reshaper) and right-to-left runs
are put in visual order (python-bidi) before drawing. A long name is first
drawn smaller, down to ``MIN_SINGLE_LINE_SIZE``, and then wrapped onto up to
``MAX_NAME_LINES`` lines.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import arabic_reshaper
import qrcode
from bidi import get_display
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT_DIR = Path(__file__).resolve().parent / "fonts"
# Tried in order for each character.
FONTS = (
    ("FrontlineSans", "NotoSans-Regular.ttf"),
    ("FrontlineArabic", "NotoSansArabic-Regular.ttf"),
    ("FrontlineHebrew", "NotoSansHebrew-Regular.ttf"),
    ("FrontlineCJK", "DroidSansFallback.ttf"),
)
PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
MARGIN = 60.0
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN - 40
NAME_SIZE = 36.0
MIN_SINGLE_LINE_SIZE = 20.0
MIN_WRAPPED_SIZE = 11.0
MAX_NAME_LINES = 4
INK = HexColor("#1d2330")
ACCENT = HexColor("#0b5cad")
MUTED = HexColor("#5b6474")


@dataclass(frozen=True)
class CertificateText:
    """The words printed around the variable parts; translated by the caller."""

    heading: str = "Certificate of completion"
    certifies: str = "This certifies that"
    completed: str = "has completed the course"
    issued: str = "Issued on"
    certificate_id: str = "Certificate ID"
    verify: str = "Check this certificate at"


@cache
def registered_fonts() -> tuple[tuple[str, frozenset[int]], ...]:
    """Register the bundled fonts once per process; return each one's code points."""
    fonts = []
    for name, filename in FONTS:
        font = TTFont(name, str(FONT_DIR / filename))
        pdfmetrics.registerFont(font)
        fonts.append((name, frozenset(font.face.charToGlyph)))
    return tuple(fonts)


def font_for(char: str) -> str:
    fonts = registered_fonts()
    code = ord(char)
    for name, codes in fonts:
        if code in codes:
            return name
    return fonts[0][0]


def has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


def visual(text: str) -> str:
    """Shape Arabic and reorder right-to-left text for drawing left to right."""
    if not has_rtl(text):
        return text
    return str(get_display(arabic_reshaper.reshape(text)))


def runs(text: str) -> list[tuple[str, str]]:
    """Split text already in visual order into (font, text) runs."""
    result: list[tuple[str, str]] = []
    for char in text:
        # Spaces and marks stay with the run around them.
        name = result[-1][0] if result and char.isspace() else font_for(char)
        if result and result[-1][0] == name:
            result[-1] = (name, result[-1][1] + char)
        else:
            result.append((name, char))
    return result


def text_width(text: str, size: float) -> float:
    return sum(
        pdfmetrics.stringWidth(part, name, size) for name, part in runs(visual(text))
    )


def draw_centred(canvas: Canvas, text: str, y: float, size: float) -> None:
    shown = visual(text)
    width = sum(pdfmetrics.stringWidth(part, name, size) for name, part in runs(shown))
    x = (PAGE_WIDTH - width) / 2
    for name, part in runs(shown):
        canvas.setFont(name, size)
        canvas.drawString(x, y, part)
        x += pdfmetrics.stringWidth(part, name, size)


def wrap(text: str, size: float, width: float) -> list[str]:
    """Break text into lines that fit ``width``: at spaces, else between characters."""
    lines: list[str] = []
    current = ""
    tokens = text.split(" ") if " " in text.strip() else list(text)
    joiner = " " if " " in text.strip() else ""
    for token in tokens:
        candidate = f"{current}{joiner}{token}" if current else token
        if text_width(candidate, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        # A single token wider than the line is cut between characters.
        while text_width(token, size) > width and len(token) > 1:
            cut = len(token)
            while cut > 1 and text_width(token[:cut], size) > width:
                cut -= 1
            lines.append(token[:cut])
            token = token[cut:]
        current = token
    if current:
        lines.append(current)
    return lines


def fit_lines(text: str, width: float = TEXT_WIDTH) -> tuple[float, list[str]]:
    """Choose a size and line breaks so that the text fits ``width``."""
    text = " ".join(text.split())
    # Widths scale linearly with the size, so one measurement finds the size.
    unit_width = text_width(text, 1.0)
    size = min(NAME_SIZE, float(int(width / unit_width))) if unit_width else NAME_SIZE
    if size >= MIN_SINGLE_LINE_SIZE:
        return size, [text]
    size = MIN_SINGLE_LINE_SIZE
    while size > MIN_WRAPPED_SIZE:
        lines = wrap(text, size, width)
        if len(lines) <= MAX_NAME_LINES:
            return size, lines
        size -= 1
    return MIN_WRAPPED_SIZE, wrap(text, MIN_WRAPPED_SIZE, width)


def draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw a QR code of ``data`` as vector squares with a quiet zone of 4 modules.

    The mask pattern is fixed: choosing the best of the eight, as the library
    does by default, took 40% of a certificate's rendering time, and any mask
    is valid for readers.
    """
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=4,
        box_size=1,
        mask_pattern=0,
    )
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    module = size / len(matrix)
    canvas.setFillColor(HexColor("#ffffff"))
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColor(HexColor("#000000"))
    path = canvas.beginPath()
    for row, cells in enumerate(matrix):
        top = y + size - (row + 1) * module
        column = 0
        while column < len(cells):
            if not cells[column]:
                column += 1
                continue
            start = column
            while column < len(cells) and cells[column]:
                column += 1
            # One rectangle per horizontal run of dark modules.
            path.rect(x + start * module, top, (column - start) * module, module)
    canvas.drawPath(path, stroke=0, fill=1)


def render_certificate(
    *,
    name: str,
    course: str,
    issued_on: date,
    certificate_id: str,
    verify_url: str,
    words: CertificateText | None = None,
) -> bytes:
    """Return the PDF of one certificate."""
    words = words or CertificateText()
    registered_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer,
        pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
        invariant=True,
        initialFontName=FONTS[0][0],
    )
    canvas.setTitle(f"{words.heading}: {course}")
    canvas.setAuthor("Frontline")
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(3)
    canvas.rect(30, 30, PAGE_WIDTH - 60, PAGE_HEIGHT - 60, stroke=1, fill=0)

    canvas.setFillColor(ACCENT)
    draw_centred(canvas, words.heading, PAGE_HEIGHT - 110, 30)
    canvas.setFillColor(MUTED)
    draw_centred(canvas, words.certifies, PAGE_HEIGHT - 160, 14)

    canvas.setFillColor(INK)
    size, lines = fit_lines(name)
    top = PAGE_HEIGHT - 215
    for index, line in enumerate(lines):
        draw_centred(canvas, line, top - index * size * 1.2, size)
    below = top - (len(lines) - 1) * size * 1.2 - 45

    canvas.setFillColor(MUTED)
    draw_centred(canvas, words.completed, below, 14)
    canvas.setFillColor(INK)
    course_size, course_lines = fit_lines(course, TEXT_WIDTH)
    course_size = min(course_size, 24)
    for index, line in enumerate(course_lines):
        draw_centred(canvas, line, below - 38 - index * course_size * 1.2, course_size)

    canvas.setFillColor(INK)
    canvas.setFont(FONTS[0][0], 11)
    canvas.drawString(MARGIN + 10, 110, f"{words.issued}: {issued_on.isoformat()}")
    canvas.drawString(MARGIN + 10, 92, f"{words.certificate_id}: {certificate_id}")
    canvas.setFillColor(MUTED)
    canvas.setFont(FONTS[0][0], 9)
    canvas.drawString(MARGIN + 10, 74, f"{words.verify} {verify_url}")
    canvas.linkURL(verify_url, (MARGIN + 10, 70, MARGIN + 400, 84), relative=0)
    draw_qr(canvas, verify_url, PAGE_WIDTH - MARGIN - 110, 60, 110)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
