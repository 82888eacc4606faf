"""Text in every PDF o2o prints: Latin in Helvetica, Chinese in an embedded CJK font.

ReportLab's standard fonts have no Chinese glyphs (every CJK character came out as a box).
Chinese text is drawn with Droid Sans Fallback (Apache 2.0, ``core/fonts/``), a glyf-based
TrueType font that ReportLab embeds as a subset (only the glyphs a document uses, a few KB)
with a ToUnicode map, so

- any reader's viewer shows the Chinese, even one without a Chinese system font (the built-in
  CID font ``STSong-Light`` is not embedded: poppler on a machine without CJK fonts draws it
  as boxes), and
- text extraction (pypdf ``extract_text()``, copy and paste, search) finds the Chinese.

The font is picked per character set: a string is cut into runs, CJK runs get the CJK font,
everything else keeps the module's Helvetica (Droid Sans Fallback has no Latin glyphs, and
Helvetica costs nothing to embed). The font file is read once per process, at the first text
that needs it. The CJK font has no bold: bold CJK runs are drawn filled and stroked (faux
bold) on the canvas and in table cells; inside a ``Paragraph`` they stay regular weight.

What a PDF module uses:

- ``draw_string(canvas, x, y, text, align=...)`` instead of ``canvas.drawString`` and friends;
- ``paragraph(text, style)`` for a ``Paragraph`` from plain text (escaped; CJK runs marked;
  Chinese wraps between characters);
- ``Table`` / ``LongTable`` from here instead of ReportLab's: plain string cells with Chinese
  are drawn with ``draw_string``, Latin cells take ReportLab's own fast path;
- ``styles()``: the sample stylesheet, built once.
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.styles import getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import LongTable as _RLLongTable
from reportlab.platypus import Flowable, Paragraph
from reportlab.platypus import Table as _RLTable

CJK_FONT = "O2OSansCJK"
FONT_FILE = Path(__file__).parent / "fonts" / "DroidSansFallback-subset.ttf"

# The code points the shipped subset covers (see core/fonts/README.md); a character outside
# them stays in the Latin font.
CJK_RANGES = ("\u2460-\u2473\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff"
              "\uf900-\ufaff\ufe30-\ufe4f\uff01-\uffef")
_CJK_RUN = re.compile(f"[{CJK_RANGES}]+")
# Faux bold: stroke width as a share of the font size.
_BOLD_STROKE = 0.035

_lock = threading.Lock()
_registered = False


def cjk_font() -> str:
    """The CJK font's name, registered with ReportLab on first use (once per process)."""
    global _registered
    if not _registered:
        with _lock:
            if not _registered:
                from reportlab.pdfbase.ttfonts import TTFont
                pdfmetrics.registerFont(TTFont(CJK_FONT, str(FONT_FILE)))
                # one face: <b>/<i> inside a CJK run of a Paragraph map back to it
                pdfmetrics.registerFontFamily(CJK_FONT, normal=CJK_FONT, bold=CJK_FONT, italic=CJK_FONT,
                                              boldItalic=CJK_FONT)
                _registered = True
    return CJK_FONT


def has_cjk(text) -> bool:
    return isinstance(text, str) and _CJK_RUN.search(text) is not None


def runs(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is_cjk) runs, in order."""
    out, pos = [], 0
    for m in _CJK_RUN.finditer(text):
        if m.start() > pos:
            out.append((text[pos:m.start()], False))
        out.append((m.group(), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def _is_bold(font: str) -> bool:
    return "Bold" in font


def string_width(text: str, font: str, size: float) -> float:
    """Width of ``text`` as ``draw_string`` draws it (CJK runs measured in the CJK font)."""
    if not has_cjk(text):
        return pdfmetrics.stringWidth(text, font, size)
    cjk = cjk_font()
    return sum(pdfmetrics.stringWidth(piece, cjk if is_cjk else font, size) for piece, is_cjk in runs(text))


def fit(text: str, width: float, font: str = "Helvetica", size: float = 8) -> str:
    """``text`` cut (with "…") to ``width`` points: a Chinese character is about twice as wide as
    a Latin one, so a limit in characters is not enough."""
    if string_width(text, font, size) <= width:
        return text
    while text and string_width(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def draw_string(canv, x: float, y: float, text: str, *, align: str = "left", font: str | None = None,
                size: float | None = None) -> None:
    """``canv.drawString`` (``align`` "right": drawRightString, "centre": drawCentredString) that
    draws CJK runs in the CJK font. ``font``/``size`` default to the canvas's current font; a
    Bold font makes the CJK runs faux bold. Text without CJK goes straight to ReportLab."""
    text = "" if text is None else str(text)
    if font is not None:
        canv.setFont(font, size or canv._fontsize)
    font, size = canv._fontname, canv._fontsize
    if not has_cjk(text):
        draw = {"left": canv.drawString, "right": canv.drawRightString}.get(align, canv.drawCentredString)
        draw(x, y, text)
        return
    cjk = cjk_font()
    if align == "right":
        x -= string_width(text, font, size)
    elif align != "left":
        x -= string_width(text, font, size) / 2
    bold = _is_bold(font)
    # saveState/restoreState: the text object's font and render mode must not leak into what
    # the canvas (or a Table, which caches the cell font) draws next.
    canv.saveState()
    if bold:
        canv.setStrokeColor(canv._fillColorObj)
        canv.setLineWidth(size * _BOLD_STROKE)
    t = canv.beginText(x, y)
    for piece, is_cjk in runs(text):
        t.setFont(cjk if is_cjk else font, size)
        t.setTextRenderMode(2 if (is_cjk and bold) else 0)
        t.textOut(piece)
    canv.drawText(t)
    canv.restoreState()


def markup(text) -> str:
    """Plain text as Paragraph markup: escaped, CJK runs in the CJK font."""
    text = "" if text is None else str(text)
    if not has_cjk(text):
        return escape(text)
    face = cjk_font()
    return "".join(f'<font face="{face}">{escape(piece)}</font>' if is_cjk else escape(piece)
                   for piece, is_cjk in runs(text))


@lru_cache(maxsize=64)
def _cjk_wrapping(style):
    # Chinese has no spaces between words: break between any two characters.
    return style.clone(style.name + "-cjk", wordWrap="CJK")


def paragraph(text, style, *, lines: list | None = None) -> Paragraph:
    """A Paragraph of plain ``text`` (or of ``lines`` joined by line breaks), Chinese drawable."""
    parts = ["" if p is None else str(p) for p in ([text] if lines is None else lines)]
    body = "<br/>".join(markup(p) for p in parts)
    if any(has_cjk(p) for p in parts):
        style = _cjk_wrapping(style)
    return Paragraph(body, style)


class _RunCanvas:
    """The canvas as a Table cell sees it while it draws one string cell with Chinese: the
    three string-drawing calls go through ``draw_string``, everything else to the canvas."""

    def __init__(self, canv):
        self._canv = canv

    def __getattr__(self, name):
        return getattr(self._canv, name)

    def drawString(self, x, y, text, **_kw):
        draw_string(self._canv, x, y, text)

    def drawRightString(self, x, y, text, **_kw):
        draw_string(self._canv, x, y, text, align="right")

    def drawCentredString(self, x, y, text, **_kw):
        draw_string(self._canv, x, y, text, align="centre")

    drawAlignedString = drawRightString


class _CJKCells:
    def _drawCell(self, cellval, cellstyle, pos, size):
        # ReportLab draws str(cellval) for anything that is not a flowable (numbers, lazy
        # translations): look at that text.
        text = cellval if isinstance(cellval, str) or cellval is None or isinstance(cellval, (list, tuple, Flowable)) \
            else str(cellval)
        if not has_cjk(text):
            return super()._drawCell(cellval, cellstyle, pos, size)
        canv = self.canv
        self.canv = _RunCanvas(canv)
        try:
            return super()._drawCell(cellval, cellstyle, pos, size)
        finally:
            self.canv = canv


class Table(_CJKCells, _RLTable):
    """ReportLab's Table; string cells with Chinese are drawn in the CJK font."""


class LongTable(_CJKCells, _RLLongTable):
    """ReportLab's LongTable; string cells with Chinese are drawn in the CJK font."""


_styles = None


def styles():
    """ReportLab's sample stylesheet, built once (the styles are shared: clone to change one)."""
    global _styles
    if _styles is None:
        _styles = getSampleStyleSheet()
    return _styles
