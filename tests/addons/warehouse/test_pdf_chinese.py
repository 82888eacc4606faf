"""The stock valuation PDF prints Chinese warehouse and category names, and Chinese headings
for a user whose language is Chinese."""
from __future__ import annotations

from decimal import Decimal as D

from core.db import db
from tests.pdfcheck import CHINESE, assert_chinese, assert_glyphs_drawn


def _chinese_stock(wh):
    wh.wh_a.name = f"{CHINESE['store']}仓库"
    wh.category.name = "乳制品"
    wh.tea.name = CHINESE["product"]
    wh.s.receive(wh.tea.id, wh.loc_a.id, D(10), D("2.5"), source="PO-A")
    db.session.commit()


def test_valuation_pdf_prints_chinese_names(wh, client_as):
    _chinese_stock(wh)
    boss = client_as("warehouse.valuation.read")
    pdf = boss.get("/admin/warehouse_valuation/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = assert_chinese(pdf.data, f"{CHINESE['store']}仓库", "乳制品")
    assert "Stock valuation" in text and "25.00" in text
    assert_glyphs_drawn(pdf.data, f"{CHINESE['store']}仓库")


def test_valuation_pdf_headings_in_the_users_chinese(wh, client_as):
    _chinese_stock(wh)
    boss = client_as("warehouse.valuation.read", username="wangxiaoming")
    from core.auth.models import User
    import sqlalchemy as sa
    user = db.session.scalar(sa.select(User).where(User.username == "wangxiaoming"))
    user.display_name, user.locale = CHINESE["user"], "zh_Hans_CN"
    db.session.commit()
    pdf = boss.get("/admin/warehouse_valuation/pdf")
    text = assert_chinese(pdf.data, "库存估值", "仓库", "分类", "合计", "乳制品")
    assert "Stock valuation" not in text
    assert_glyphs_drawn(pdf.data, "库存估值")
