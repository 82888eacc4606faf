"""Fixtures of the point of sale tests: a shop with stock, a register, cashiers."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from core.barcodes import make_ean13
from core.db import db
from core.models import Product, Store, Tax, Unit


@pytest.fixture
def shop(app):
    """Two stores, products with barcodes (one weighed, scale label), stock in store A."""
    import sqlalchemy as sa
    from addons.pos import services as pos
    from addons.warehouse import services as wh

    a = Store(code="PA", name="Shop A", street="1 Main St", city="Lyon")
    b = Store(code="PB", name="Shop B")
    db.session.add_all([a, b])
    db.session.flush()
    wh.ensure_store_warehouses()
    pcs = db.session.scalar(sa.select(Unit).where(Unit.code == "pcs")) or db.session.scalar(sa.select(Unit))
    kg = db.session.scalar(sa.select(Unit).where(Unit.code == "kg")) or pcs
    vat = Tax(code="V10", name="VAT 10%", rate=Decimal("10"))
    db.session.add(vat)
    uid = uuid.uuid4().hex[:6]
    p1 = Product(sku=f"TEA-{uid}", barcode=make_ean13("400638133393"[:12]), name="Green tea",
                 unit=pcs, tax=vat, list_price=Decimal("11.00"))
    p2 = Product(sku=f"CUP-{uid}", barcode=make_ean13("590123412345"), name="Cup", unit=pcs, tax=vat,
                 list_price=Decimal("5.50"))
    p3 = Product(sku=f"APL-{uid}", barcode=make_ean13("210042000000"), name="Apples", unit=kg, tax=vat,
                 list_price=Decimal("4.00"))
    p4 = Product(sku="00777", barcode=None, name="Cheese by price", unit=kg, tax=vat, list_price=Decimal("20.00"))
    db.session.add_all([p1, p2, p3, p4])
    db.session.flush()
    loc_a = wh.stock_location(wh.warehouse_for_store(a.id).id)
    for p in (p1, p2, p3, p4):
        wh.receive(p.id, loc_a.id, Decimal("100"), Decimal("1.00"), source="test")
    reg_a = pos.create_register(a.id, "R1", "Till A1")
    reg_b = pos.create_register(b.id, "R1", "Till B1")
    db.session.commit()  # API calls that fail roll back to here (the test's transaction is undone anyway)

    class Shop:
        pass
    s = Shop()
    s.a, s.b, s.tea, s.cup, s.apples, s.cheese = a, b, p1, p2, p3, p4
    s.reg_a, s.reg_b, s.loc_a, s.warehouse_a = reg_a, reg_b, loc_a, wh.warehouse_for_store(a.id)
    return s


def on_hand(shop, product) -> Decimal:
    from addons.warehouse import services as wh
    return wh.on_hand(product.id, shop.warehouse_a.id)


@pytest.fixture
def cashier(api_client, shop):
    client = api_client("pos.sell", "pos.session", "pos.refund", stores=[shop.a])
    db.session.commit()
    return client

