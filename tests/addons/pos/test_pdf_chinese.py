"""The till's PDFs (receipt on the 80 mm roll, Z report) print Chinese names and headings."""
from __future__ import annotations

from decimal import Decimal

from addons.warehouse import services as wh
from core.db import db
from core.models import Product
from tests.addons.pos.helpers import open_session, sell
from tests.pdfcheck import CHINESE, assert_chinese, assert_glyphs_drawn

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _chinese_shop(shop):
    shop.a.name, shop.a.street = CHINESE["store"], "南京西路1号"
    shop.tea.name = CHINESE["product"]
    shop.reg_a.name = "一号收银台"
    long_name = Product(sku="LONG-1", name="进口有机全脂牛奶（冷藏）特价装两升家庭装超值套餐组合", unit=shop.tea.unit,
                        tax=shop.tea.tax, list_price=Decimal("9.90"))
    db.session.add(long_name)
    db.session.flush()
    wh.receive(long_name.id, shop.loc_a.id, Decimal("10"), Decimal("5.00"), source="test")
    db.session.commit()


def test_receipt_and_z_report_print_chinese(shop, cashier):
    _chinese_shop(shop)
    sess = open_session(cashier, shop.reg_a, "50.00")
    sale = sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode, "quantity": "2"}, {"sku": "LONG-1"}],
                [{"method": "cash", "amount": "50"}])
    r = cashier.get(f"/api/v1/pos/sales/{sale['id']}/receipt.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = assert_chinese(r.data, CHINESE["store"], "南京西路1号", CHINESE["product"], "一号收银台", "进口有机全脂牛奶")
    assert sale["receipt"] in text and "TOTAL" in text
    assert_glyphs_drawn(r.data, CHINESE["product"])
    assert_glyphs_drawn(r.data, CHINESE["store"])  # bold, centred: faux bold glyphs

    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/close",
                     json={"counts": {"cash": "80.00"}, "difference_reason": f"{CHINESE['user']}清点时少了一枚硬币"})
    assert r.status_code == 200, r.get_json()
    z = cashier.get(r.get_json()["z_report"]["pdf"])
    assert z.status_code == 200
    text = assert_chinese(z.data, "一号收银台", f"{CHINESE['user']}清点时少了")
    assert "Z REPORT" in text
    assert_glyphs_drawn(z.data, CHINESE["user"])


def test_receipt_headings_in_chinese_for_a_chinese_reader(shop, cashier):
    _chinese_shop(shop)
    open_session(cashier, shop.reg_a, "50.00")
    sale = sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode}], [{"method": "cash", "amount": "20"}])
    r = cashier.get(f"/api/v1/pos/sales/{sale['id']}/receipt.pdf", headers=ZH)
    text = assert_chinese(r.data, "小票", "合计", CHINESE["product"])
    assert "RECEIPT" not in text
    assert_glyphs_drawn(r.data, "小票")
