"""core.pdf: Chinese text in every PDF (embedded CJK font, Latin in Helvetica)."""
from __future__ import annotations

import io
import time

import pytest
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas
from reportlab.platypus import SimpleDocTemplate, TableStyle

from core import pdf
from tests.pdfcheck import (CHINESE, assert_chinese, assert_glyphs_drawn, embedded_fonts, glyph_cells, ink,
                            pdf_text, render, word_boxes)


def _canvas_pdf(draw) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setFont("Helvetica", 12)
    draw(c)
    c.showPage()
    c.save()
    return buf.getvalue()


def test_runs_split_chinese_from_latin():
    assert pdf.runs("静安店 S01 有机牛奶，2 kg") == [("静安店", True), (" S01 ", False), ("有机牛奶，", True),
                                                   ("2 kg", False)]
    assert pdf.runs("Milk") == [("Milk", False)] and pdf.runs("") == []
    assert pdf.has_cjk("￥12") and not pdf.has_cjk("¥12 – ‘ok’ …") and not pdf.has_cjk(None)


def test_font_is_registered_once_and_embedded_as_a_subset():
    assert pdf.cjk_font() == pdf.cjk_font() == pdf.CJK_FONT
    font = pdfmetrics.getFont(pdf.CJK_FONT)
    assert pdf.cjk_font() and pdfmetrics.getFont(pdf.CJK_FONT) is font
    data = _canvas_pdf(lambda c: pdf.draw_string(c, 50, 700, "王小明"))
    fonts = embedded_fonts(data)
    assert any("DroidSansFallback" in n and emb for n, emb in fonts.items()), fonts
    assert len(data) < 30_000  # a subset: three glyphs, not the 3.9 MB font


def test_canvas_strings_with_chinese_are_extractable_and_do_not_change_the_latin_font():
    def draw(c):
        pdf.draw_string(c, 50, 700, f"{CHINESE['store']} S01 {CHINESE['product']} x 2")
        c.setFont("Helvetica-Bold", 10)
        pdf.draw_string(c, 550, 680, "合计 TOTAL 12.00", align="right")
        pdf.draw_string(c, 300, 660, CHINESE["user"], align="centre")
        c.drawString(50, 640, "plain Latin after")
        assert (c._fontname, c._fontsize) == ("Helvetica-Bold", 10)
    data = _canvas_pdf(draw)
    text = assert_chinese(data, CHINESE["store"], CHINESE["product"], "合计", CHINESE["user"])
    assert "S01" in text and "TOTAL 12.00" in text and "plain Latin after" in text
    content = __import__("pypdf").PdfReader(io.BytesIO(data)).pages[0].get_contents().get_data().decode("latin-1")
    # each Chinese string is drawn inside q/Q, so its font and render mode end with it: the
    # Latin line after is drawn in the Helvetica-Bold set before, without a new Tf
    assert content.count("\nq\n") == 3 and content.count("\nQ\n") == 3
    assert content.split("\nQ\n")[-1].startswith("BT 1 0 0 1 50 640 Tm (plain Latin after) Tj")


def test_right_and_centre_alignment_measure_the_chinese_width():
    w = pdf.string_width("有机牛奶 ok", "Helvetica", 10)
    assert w == pytest.approx(4 * 10 + pdfmetrics.stringWidth(" ok", "Helvetica", 10))
    data = _canvas_pdf(lambda c: pdf.draw_string(c, 500, 700, "有机牛奶", align="right"))
    boxes = dict(word_boxes(data))
    assert boxes["有机牛奶"][2] == pytest.approx(500, abs=0.6)


def test_fit_cuts_by_width():
    assert pdf.fit("有机牛奶" * 10, 60) == "有机牛奶有机…"  # 6 x 8 pt + the ellipsis
    assert pdf.fit("Milk", 60) == "Milk"


def test_paragraphs_and_tables_with_chinese():
    st = pdf.styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf)
    t = pdf.LongTable([["名称", "Qty"], [CHINESE["product"], "1.000"], ["Milk & <Co>", "2"],
                       [pdf.paragraph(CHINESE["supplier"] + " & Co", st["BodyText"]), "3"]],
                      colWidths=[60 * mm, 20 * mm])
    t.setStyle(TableStyle([("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8), ("ALIGN", (1, 0), (1, -1), "RIGHT")]))
    long_chinese = "上海鲜果有限公司送货到静安店" * 12
    doc.build([pdf.paragraph(f"{CHINESE['store']} <&> report", st["Title"]), t,
               pdf.paragraph(long_chinese, st["BodyText"])])
    text = assert_chinese(buf.getvalue(), CHINESE["store"], CHINESE["product"], CHINESE["supplier"], "名称")
    assert "<&> report" in text and "Milk & <Co>" in text
    # no spaces in Chinese: the long paragraph wraps between characters instead of running off the page
    assert len([line for line in text.splitlines() if "上海鲜果" in line]) >= 3
    assert "".join(text.split()).count("上海鲜果有限公司送货到静安店") >= 11


def test_rendered_chinese_is_glyphs_not_boxes():
    data = _canvas_pdf(lambda c: (pdf.draw_string(c, 50, 700, f"{CHINESE['product']} {CHINESE['store']}"),
                                  c.setFont("Helvetica-Bold", 12),
                                  pdf.draw_string(c, 50, 670, CHINESE["supplier"])))
    assert_glyphs_drawn(data, CHINESE["product"])
    assert_glyphs_drawn(data, CHINESE["supplier"])
    # faux bold: the bold line carries more ink than the same characters in regular weight
    regular = _canvas_pdf(lambda c: pdf.draw_string(c, 50, 670, CHINESE["supplier"]))
    assert sum(map(ink, glyph_cells(data, CHINESE["supplier"]))) > 1.1 * sum(map(ink, glyph_cells(
        regular, CHINESE["supplier"])))


def test_the_check_catches_boxes():
    """What every PDF did before: Chinese drawn in Helvetica. The rendering check must fail."""
    data = _canvas_pdf(lambda c: c.drawString(50, 700, CHINESE["product"]))
    assert CHINESE["product"] not in pdf_text(data)  # ReportLab wrote black squares instead
    with pytest.raises(AssertionError):
        assert_chinese(data, CHINESE["product"])
    render(data)  # skips without poppler
    with pytest.raises(AssertionError):
        assert_glyphs_drawn(data, CHINESE["product"])


def test_latin_only_documents_do_not_embed_the_cjk_font():
    data = _canvas_pdf(lambda c: pdf.draw_string(c, 50, 700, "Milk 12.00"))
    assert embedded_fonts(data) == {"/Helvetica": False} and "Milk 12.00" in pdf_text(data)


def test_chinese_table_cells_stay_fast():
    """The reconciliation listing has thousands of rows: a Chinese cell must not cost a Paragraph."""
    rows = [["2026-11-01", f"JE-{i}", "静安店 POS", "微信支付", f"{i}.00"] for i in range(3000)]
    buf = io.BytesIO()
    started = time.perf_counter()
    doc = SimpleDocTemplate(buf)
    story = []
    for start in range(0, len(rows), 60):
        t = pdf.LongTable([["日期", "Entry", "Document", "Method", "Amount"]] + rows[start:start + 60],
                          colWidths=[25 * mm, 25 * mm, 40 * mm, 30 * mm, 25 * mm], rowHeights=10.5)
        t.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "Helvetica", 8)]))
        story.append(t)
    doc.build(story)
    elapsed = time.perf_counter() - started
    assert doc.page >= 45 and "微信支付" in pdf_text(buf.getvalue())[:5000]
    assert elapsed < 15, elapsed  # ~2 s on a quiet machine; generous for a shared one


def test_every_pdf_module_draws_text_through_core_pdf():
    """One piece of code chooses fonts: a module that draws text with ReportLab directly would
    print Chinese as boxes again."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    direct = re.compile(r"\.draw(?:Right|Centred|Aligned)?String\(|getSampleStyleSheet|"
                        r"from reportlab\.platypus import[^\n]*\b(?:Paragraph|Table|LongTable)\b")
    offenders = [f"{path.relative_to(root)}:{text[:m.start()].count(chr(10)) + 1}"
                 for folder in ("core", "addons", "examples")
                 for path in sorted((root / folder).rglob("*.py")) if path != root / "core" / "pdf.py"
                 for text in [path.read_text(encoding="utf-8")] for m in direct.finditer(text)]
    assert offenders == [], "use core.pdf (draw_string, paragraph, Table, LongTable, styles): " + ", ".join(offenders)
    users = {p.parent.name for p in (root / "addons").rglob("*.py") if "from core.pdf import" in p.read_text("utf-8")}
    assert {"pos", "purchasing", "warehouse", "finance"} <= users
