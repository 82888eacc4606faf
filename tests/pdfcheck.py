"""Checks that a PDF really carries its Chinese text: pypdf finds it, the CJK font is embedded,
and poppler draws glyphs (not boxes) where it stands.

Rendering needs poppler-utils (``pdftoppm``, ``pdftotext``; `make test` installs them with
apt when it runs as root); without them ``render``/``word_boxes`` skip the test and say why,
and ``assert_glyphs_drawn`` warns and lets the rest of the test run.
"""
from __future__ import annotations

import html
import io
import re
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import pypdf
import pytest

CHINESE = {"product": "有机牛奶", "supplier": "上海鲜果有限公司", "store": "静安店", "user": "王小明"}
DPI = 150


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def embedded_fonts(data: bytes) -> dict[str, bool]:
    """Base font name -> embedded? for every font the PDF's pages use."""
    out = {}
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        fonts = page.get("/Resources", {}).get_object().get("/Font", {})
        for ref in fonts.get_object().values():
            font = ref.get_object()
            desc = font.get("/FontDescriptor")
            if desc is None and "/DescendantFonts" in font:
                desc = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            desc = desc.get_object() if desc is not None else {}
            out[str(font["/BaseFont"])] = any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    return out


def assert_chinese(data: bytes, *words: str) -> str:
    """Every word is in the extracted text and a CJK font is embedded; returns the text."""
    text = pdf_text(data)
    flat = "".join(text.split())
    for word in words:
        assert word in flat, (word, text[:2000])
    fonts = embedded_fonts(data)
    assert any(embedded and "DroidSansFallback" in name for name, embedded in fonts.items()), fonts
    return text


def _missing_poppler() -> str | None:
    missing = [tool for tool in ("pdftoppm", "pdftotext") if shutil.which(tool) is None]
    if missing:
        return f"poppler-utils not installed ({', '.join(missing)}): `make test` installs them as root"
    return None


def _need_poppler():
    reason = _missing_poppler()
    if reason:
        pytest.skip(reason)


def word_boxes(data: bytes, page: int = 1) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(word, (x0, y0, x1, y1) in points from the top left) as poppler lays the page out."""
    _need_poppler()
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), "-", "-"], input=data,
                         capture_output=True, check=True).stdout.decode()
    return [(html.unescape(w), tuple(float(v) for v in box)) for *box, w in
            re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
                       out)]


def render(data: bytes, page: int = 1, dpi: int = DPI):
    """The page as a greyscale PIL image."""
    from PIL import Image
    _need_poppler()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(data)
        subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", str(src),
                        str(Path(tmp) / "out")], check=True, capture_output=True)
        png = next(Path(tmp).glob("out*.png"))
        return Image.open(png).convert("L").copy()


def ink(image) -> float:
    """Share of dark pixels (0..1)."""
    hist = image.histogram()
    return sum(hist[:128]) / max(1, image.width * image.height)


def glyph_cells(data: bytes, word: str, page: int = 1) -> list:
    """The rendered image of each character of ``word`` (a run of full-width CJK characters,
    found where poppler lays it out)."""
    words = word_boxes(data, page)
    found = [(w, box) for w, box in words if word in w]
    assert found, (word, [w for w, _ in words][:80])
    line, (x0, y0, x1, y1) = found[0]
    image = render(data, page)
    scale = DPI / 72
    # full-width characters share the word's width equally
    step = (x1 - x0) / len(line)
    start = x0 + step * line.index(word)
    return [image.crop((round((start + i * step) * scale), round(y0 * scale),
                        round((start + (i + 1) * step) * scale), round(y1 * scale))) for i in range(len(word))]


def assert_glyphs_drawn(data: bytes, word: str, page: int = 1) -> None:
    """Each character of ``word`` is drawn as its own glyph: some ink, not a filled box, and no
    two different characters look the same (a missing glyph draws the same box for all)."""
    from PIL import ImageChops
    reason = _missing_poppler()
    if reason:  # the rest of the test (text, fonts) still runs; the rendering is not checked
        warnings.warn(f"rendering of {word!r} not checked: {reason}")
        return
    cells = glyph_cells(data, word, page)
    for ch, cell in zip(word, cells):
        assert 0.03 < ink(cell) < 0.75, (ch, ink(cell))  # a filled box is ~0.9; a bold glyph up to ~0.55
    for i in range(len(word)):
        for j in range(i + 1, len(word)):
            if word[i] != word[j]:
                diff = ImageChops.difference(cells[i], cells[j])
                assert ink(ImageChops.invert(diff)) > 0.02, (word[i], word[j], "render the same: boxes?")
