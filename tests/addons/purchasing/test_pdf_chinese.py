"""The purchase order PDF prints a Chinese supplier, store and products, and Chinese headings."""
from __future__ import annotations

from decimal import Decimal as D

from core.db import db
from tests.pdfcheck import CHINESE, assert_chinese, assert_glyphs_drawn


def _chinese_order(pw):
    pw.supplier.name, pw.supplier.city = CHINESE["supplier"], "上海"
    pw.shop.name, pw.shop.street, pw.shop.city = CHINESE["store"], "南京西路1号", "上海"
    pw.wh_shop.name = f"{CHINESE['store']}仓库"
    pw.green.name = CHINESE["product"]
    db.session.flush()
    order = pw.ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id, supplier_ref="报价-77",
                               note=f"请联系{CHINESE['user']}，送货前一天电话确认。" * 3,
                               lines=[{"product_id": pw.green.id, "quantity": D(120)}])
    pw.ps.confirm_order(order.id)
    db.session.commit()
    return order


def test_purchase_order_pdf_prints_chinese(pw, api_client):
    order = _chinese_order(pw)
    r = api_client("purchasing.order.read").get(f"/api/v1/purchasing/orders/{order.id}/pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = assert_chinese(r.data, CHINESE["supplier"], CHINESE["store"], f"{CHINESE['store']}仓库", "南京西路1号",
                          CHINESE["product"], "报价-77", f"请联系{CHINESE['user']}")
    assert order.number in text and "420.00" in text  # 120 x 3.50
    assert_glyphs_drawn(r.data, CHINESE["supplier"])
    assert_glyphs_drawn(r.data, CHINESE["product"])


def test_purchase_order_headings_in_chinese(pw, api_client):
    order = _chinese_order(pw)
    r = api_client("purchasing.order.read").get(f"/api/v1/purchasing/orders/{order.id}/pdf",
                                                headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 200
    text = assert_chinese(r.data, "供应商", CHINESE["supplier"])
    assert "Supplier" not in text
    assert_glyphs_drawn(r.data, "供应商")  # a bold table header: faux bold glyphs
