"""Certificate PDFs read back: text, embedded fonts, glyph coverage, QR code."""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from courses.certificates import (
    MIN_WRAPPED_SIZE,
    PAGE_WIDTH,
    TEXT_WIDTH,
    fit_lines,
    render_certificate,
    text_width,
    visual,
)

URL = "http://127.0.0.1:5000/verify/FL-ABC-DEF"
EXTRA_NAMES = [
    "Zoë Ångström-Łukasiewicz",
    "Nguyễn Thị Minh Khai",
    "Αλέξανδρος Παπαδόπουλος",
    "王小明",
    "김민준",
    "さくら 山田",
    "عبد الله لا إله",
    "אברהם כהן",
    "Ana María García y Fernández de Córdoba Ruiz-Tagle Ostrowska-Kowalczyk "
    "von Hohenzollern-Sigmaringen und Bourbon-Parma " * 2,
]


def certificate_names(shared_data: Path) -> list[str]:
    path = shared_data / "repro" / "certificate_names_from_issues.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def render(name: str, course: str = "Live chat etiquette") -> bytes:
    return render_certificate(
        name=name,
        course=course,
        issued_on=date(2026, 12, 4),
        certificate_id="FL-ABC-DEF",
        verify_url=URL,
    )


def to_unicode_map(font: Any) -> dict[int, str]:
    """Codes to text from a font's ToUnicode CMap (bfchar and bfrange entries)."""
    data = font["/ToUnicode"].get_object().get_data().decode("latin-1")
    mapping: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", data, re.S):
        for code, text in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(code, 16)] = bytes.fromhex(text).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", data, re.S):
        for low, high, start in re.findall(
            r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            first = ord(bytes.fromhex(start).decode("utf-16-be"))
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[code] = chr(first + offset)
    return mapping


def covered_characters(pdf: bytes) -> tuple[set[str], list[str]]:
    """Characters whose glyph is embedded (not .notdef, with outlines), and fonts."""
    reader = PdfReader(io.BytesIO(pdf))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    covered: set[str] = set()
    names = []
    for reference in fonts.values():
        font = reference.get_object()
        descriptor = font["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, "font not embedded"
        names.append(str(font["/BaseFont"]))
        program = TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))
        cmap = program["cmap"].tables[0].cmap
        glyphs = program["glyf"]
        for code, text in to_unicode_map(font).items():
            glyph_name = cmap.get(code)
            if glyph_name is None or glyph_name == ".notdef":
                continue
            glyph = glyphs[glyph_name]
            if glyph.numberOfContours != 0 or text.isspace():
                covered.add(text)
    return covered, names


def test_names_in_every_script_embedded(shared_data: Path) -> None:
    names = certificate_names(shared_data) + EXTRA_NAMES
    assert len(names) >= 18
    for name in names:
        pdf = render(name)
        covered, fonts = covered_characters(pdf)
        drawn = {c for c in visual(" ".join(name.split())) if not c.isspace()}
        missing = drawn - covered
        assert not missing, f"{name!r}: no glyph for {sorted(missing)} in {fonts}"
        text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
        extracted = unicodedata.normalize("NFKC", "".join(text.split()))
        # pypdf puts right-to-left runs back in logical order; NFKC maps the
        # Arabic presentation forms back to letters.
        logical = unicodedata.normalize("NFKC", "".join(name.split()))
        drawn_order = unicodedata.normalize("NFKC", "".join(visual(name).split()))
        assert logical in extracted or drawn_order in extracted, name
        assert "Live chat etiquette" in text
        assert "FL-ABC-DEF" in text
        assert "2026-12-04" in text


def test_arabic_shaped_right_to_left() -> None:
    shown = visual("مرحبا")
    # Drawn left to right, so the last letter (alef, final form) comes first
    # and the first letter (meem, initial form) last.
    assert shown[0] == "\ufe8e"
    assert shown[-1] == "\ufee3"
    assert all("\ufe70" <= c <= "\ufeff" for c in shown)
    assert visual("שלום") == "םולש"
    assert visual("Zoë") == "Zoë"


@pytest.mark.parametrize("name", EXTRA_NAMES + ["A" * 400, "山" * 300])
def test_long_names_fit(name: str) -> None:
    size, lines = fit_lines(name)
    assert size >= MIN_WRAPPED_SIZE
    for line in lines:
        assert text_width(line, size) <= TEXT_WIDTH
    assert TEXT_WIDTH < PAGE_WIDTH - 100
    assert "".join("".join(lines).split()) == "".join(name.split())


def test_long_name_shrinks_before_wrapping() -> None:
    short_size, short_lines = fit_lines("Bartholomew")
    long_size, long_lines = fit_lines("Bartholomew Bartholomew Bartholomew Ba")
    assert len(short_lines) == 1
    assert len(long_lines) == 1
    assert long_size <= short_size
    wrapped_size, wrapped = fit_lines(" ".join(["Bartholomew"] * 12))
    assert len(wrapped) > 1


def qr_modules(pdf: bytes) -> list[list[bool]]:
    """Rebuild the QR code's module grid from the rectangles drawn on the page.

    The code is drawn as one rectangle per horizontal run of dark modules, one
    module high, inside a white square with a quiet zone of four modules.
    """
    from pypdf.generic import ContentStream

    reader = PdfReader(io.BytesIO(pdf))
    content = ContentStream(reader.pages[0].get_contents(), reader)
    rects = []
    for operands, operator in content.operations:
        if operator == b"re":
            rects.append(tuple(float(v) for v in operands))
    # The white background is the last square of about 110 pt before the runs.
    background = max(
        (r for r in rects if 100 < r[2] < 120 and abs(r[2] - r[3]) < 1e-6),
        key=rects.index,
    )
    left, bottom, size, _height = background
    runs = [r for r in rects[rects.index(background) + 1 :] if r[3] < 10]
    assert runs, "no QR modules drawn"
    module = runs[0][3]
    count = round(size / module)
    grid = [[False] * count for _ in range(count)]
    for x, y, width, _height in runs:
        row = round((bottom + size - y) / module) - 1
        first = round((x - left) / module)
        for column in range(first, first + round(width / module)):
            grid[row][column] = True
    return grid


def test_qr_decodes_to_verification_url() -> None:
    import zxingcpp
    from PIL import Image

    grid = qr_modules(render("Zoë"))
    scale = 8
    image = Image.new("L", (len(grid) * scale, len(grid) * scale), 255)
    for row, cells in enumerate(grid):
        for column, dark in enumerate(cells):
            if dark:
                image.paste(
                    0,
                    (
                        column * scale,
                        row * scale,
                        (column + 1) * scale,
                        (row + 1) * scale,
                    ),
                )
    results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results] == [URL]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
