"""Scanning: EAN-13/UPC check digits, weight and price scale labels, configurable layouts."""
from __future__ import annotations

from decimal import Decimal

import pytest

from core.barcodes import make_ean13
from core.db import db
from core.errors import NotFound, ValidationError
from tests.addons.pos.helpers import open_session, sell


def test_plain_barcode_upc_and_sku(shop):
    from addons.pos.services import resolve_code
    assert resolve_code(shop.tea.barcode)["product"] == shop.tea
    assert resolve_code(shop.tea.sku)["product"] == shop.tea
    assert resolve_code(sku=shop.cup.sku)["product"] == shop.cup
    with pytest.raises(ValidationError, match="check digit"):
        resolve_code("036000291453")  # UPC-A with a wrong check digit (452 is right)
    with pytest.raises(NotFound):
        resolve_code("036000291452")


def test_weight_label(shop):
    from addons.pos.services import resolve_code
    label = make_ean13("2100420" + "1250"[:0] + "01250")  # item 00420, 1.250 kg
    found = resolve_code(label)
    assert found["product"] == shop.apples and found["quantity"] == Decimal("1.250")
    assert found["unit_price"] is None


def test_price_label_by_sku(shop):
    from addons.pos.services import resolve_code
    label = make_ean13("2600777" + "00347")  # item 00777 (the cheese's SKU), 3.47
    found = resolve_code(label)
    assert found["product"] == shop.cheese
    assert found["quantity"] == Decimal("0.174")  # 3.47 / 20.00
    assert (found["quantity"] * found["unit_price"]).quantize(Decimal("0.01")) == Decimal("3.47")


def test_labels_sold_through_the_api(shop, cashier):
    open_session(cashier, shop.reg_a)
    doc = sell(cashier, shop.reg_a, [{"barcode": make_ean13("210042001250")},
                                     {"barcode": make_ean13("260077700347")}],
               [{"method": "card", "amount": "8.47"}])
    assert [l["quantity"] for l in doc["lines"]] == ["1.250", "0.174"]
    assert doc["lines"][0]["total"] == "5.00" and doc["lines"][1]["total"] == "3.47"
    assert doc["total"] == "8.47"


def test_layout_is_a_setting(make_app):
    app = make_app(addons=["pos"], POS_SCALE_BARCODE_LAYOUTS=[
        {"prefixes": ["23"], "pattern": "PPIIIIXVVVVVC", "kind": "weight", "decimals": 3}])
    from addons.pos.barcodes import parse_scale_label
    code = make_ean13("230042" + "9" + "00500")
    label = parse_scale_label(code, app.config["POS_SCALE_BARCODE_LAYOUTS"])
    assert label.item == "0042" and label.value == Decimal("0.500") and label.kind == "weight"
    assert label.template == make_ean13("230042000000")
    assert parse_scale_label(make_ean13("210042001250"), app.config["POS_SCALE_BARCODE_LAYOUTS"]) is None
