"""Fixtures for the warehouse tests: two shops, a central warehouse, a few products."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db


@pytest.fixture
def wh(app):
    """Shortcuts: stores, warehouses, stock locations and products."""
    from addons.warehouse import services as s
    from core.models import Category, Product, Store, Unit

    class World:
        pass

    w = World()
    w.s = s
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    w.category = Category(name="Drinks")
    w.other_category = Category(name="Snacks")
    db.session.add_all([w.category, w.other_category])
    w.store_a = Store(code="WHT-A", name="Shop A", kind="shop")
    w.store_b = Store(code="WHT-B", name="Shop B", kind="shop")
    w.dc = Store(code="WHT-DC", name="Central DC", kind="dc")
    db.session.add_all([w.store_a, w.store_b, w.dc])
    db.session.flush()
    w.products = []
    for i, (name, cat) in enumerate([("Green tea", w.category), ("Cola", w.category), ("Crisps", w.other_category)]):
        p = Product(sku=f"WHT{i}", name=name, unit_id=unit.id, category_id=cat.id,
                    list_price=Decimal("10.00"), cost=Decimal("4.0000"))
        db.session.add(p)
        w.products.append(p)
    db.session.flush()
    w.tea, w.cola, w.crisps = w.products
    w.wh_a = s.warehouse_for_store(w.store_a.id)
    w.wh_b = s.warehouse_for_store(w.store_b.id)
    w.wh_dc = s.warehouse_for_store(w.dc.id)
    w.loc_a = s.stock_location(w.wh_a.id)
    w.loc_b = s.stock_location(w.wh_b.id)
    w.loc_dc = s.stock_location(w.wh_dc.id)
    return w
