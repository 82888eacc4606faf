"""Fixtures for the purchasing tests: a DC and two shops, a supplier with terms, products."""
from __future__ import annotations

import os
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db

D = Decimal

if os.environ.get("O2O_PURCHASING_ONLY"):
    # Development aid: migrate only purchasing (and warehouse) while other addons are mid-work.
    @pytest.fixture(scope="session")
    def database_url(tmp_path_factory):
        from core.testing import create_database, migrate_database
        url, drop = create_database(os.environ.get("O2O_TEST_DATABASE_URL"), tmp_path_factory.mktemp("db"))
        migrate_database(url, addons=["purchasing"])
        yield url
        drop()


@pytest.fixture
def app(make_app):
    """Only purchasing and what it needs: the tests do not depend on other addons' screens."""
    return make_app(addons=["purchasing"], PURCHASING_APPROVAL_THRESHOLD="1000.00",
                    PURCHASING_OVER_RECEIPT_TOLERANCE="10", PURCHASING_PRICE_TOLERANCE="0")


class World:
    pass


@pytest.fixture
def pw(app):
    from addons.purchasing import services as ps
    from addons.warehouse import services as ws
    from core.models import Partner, Product, Store, Tax, Unit
    from core.testing import make_user

    w = World()
    w.ps, w.ws = ps, ws
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    w.vat = db.session.scalar(sa.select(Tax).where(Tax.code == "PVAT13"))
    if w.vat is None:
        w.vat = Tax(code="PVAT13", name="VAT 13%", rate=D("13"))
        db.session.add(w.vat)
    w.shop = Store(code="PUR-A", name="Shop A", kind="shop")
    w.shop_b = Store(code="PUR-B", name="Shop B", kind="shop")
    w.dc = Store(code="PUR-DC", name="Central DC", kind="dc")
    db.session.add_all([w.shop, w.shop_b, w.dc])
    w.supplier = Partner(name="Tea Traders Ltd", is_supplier=True, ref="SUP-TEA")
    w.supplier2 = Partner(name="Snack Wholesale", is_supplier=True, ref="SUP-SNK")
    w.customer = Partner(name="Just A Customer", is_customer=True)
    db.session.add_all([w.supplier, w.supplier2, w.customer])
    db.session.flush()
    w.products = []
    for i, name in enumerate(["Green tea", "Jasmine tea", "Oolong", "Crisps"]):
        p = Product(sku=f"PUR{i}", name=name, unit_id=unit.id, tax_id=w.vat.id, list_price=D("20.00"),
                    cost=D("5.0000"))
        db.session.add(p)
        w.products.append(p)
    w.inactive = Product(sku="PUR-OLD", name="Discontinued tea", unit_id=unit.id, list_price=D("1"),
                         cost=D("1"), active=False)
    db.session.add(w.inactive)
    db.session.flush()
    w.green, w.jasmine, w.oolong, w.crisps = w.products
    w.wh_shop = ws.warehouse_for_store(w.shop.id)
    w.wh_shop_b = ws.warehouse_for_store(w.shop_b.id)
    w.wh_dc = ws.warehouse_for_store(w.dc.id)
    w.loc_shop = ws.stock_location(w.wh_shop.id)
    w.loc_dc = ws.stock_location(w.wh_dc.id)
    ps.set_supplier_terms(w.supplier.id, w.green.id, unit_price=D("4.00"), supplier_code="TT-G1",
                          lead_time_days=5, preferred=True, breaks=[(D("100"), D("3.50"))])
    ps.set_supplier_terms(w.supplier.id, w.jasmine.id, unit_price=D("6.00"), supplier_code="TT-J1",
                          lead_time_days=10, pack_size=D("6"), min_qty=D("12"))
    ps.set_supplier_terms(w.supplier.id, w.oolong.id, unit_price=D("8.00"), lead_time_days=3)
    ps.set_supplier_terms(w.supplier2.id, w.crisps.id, unit_price=D("2.00"), lead_time_days=2)
    w.buyer = make_user("buyer", ["purchasing.order.create", "purchasing.approve"])
    w.boss = make_user("boss", ["purchasing.approve", "purchasing.release_bill"])
    w.clerk = make_user("clerk", ["purchasing.order.create"])
    return w


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))
