"""Demo data: a warehouse per store, a central warehouse, some stock and reorder rules."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa


def load_demo(session, app) -> None:
    from addons.warehouse import services as s
    from addons.warehouse.models import ReorderRule, Warehouse
    from core.models import Product, Store
    s.ensure_store_warehouses(session)
    if session.scalar(sa.select(Warehouse.id).where(Warehouse.kind == "central")) is None:
        s.create_warehouse("CENTRAL", "Central distribution centre", kind="central")
    products = session.scalars(sa.select(Product).where(Product.active.is_(True)).order_by(Product.id).limit(20)).all()
    warehouses = session.scalars(sa.select(Warehouse).where(Warehouse.active.is_(True)).order_by(Warehouse.id)).all()
    for i, wh in enumerate(warehouses):
        loc = s.stock_location(wh.id)
        for j, product in enumerate(products):
            qty = Decimal(200 if wh.kind == "central" else 5 + (i * 7 + j * 3) % 25)
            cost = product.cost if product.cost else (product.list_price * Decimal("0.6")).quantize(Decimal("0.0001"))
            s.receive(product.id, loc.id, qty, cost, source="DEMO/OPENING")
            if wh.kind != "central" and j < 5:
                session.add(ReorderRule(warehouse_id=wh.id, product_id=product.id, min_qty=Decimal(5),
                                        max_qty=Decimal(30), multiple=Decimal(6)))
    session.flush()
    _ = Store  # stores come from core's demo data
