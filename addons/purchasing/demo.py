"""Demo data: two suppliers with prices for the demo products, one order received in part
and a replenishment run from the warehouse demo's reorder rules."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa


def load_demo(session, app) -> None:
    from addons.purchasing import services as ps
    from addons.warehouse import services as ws
    from core.models import Partner, Product, Store

    ps.ensure_sequences(session)
    if session.scalar(sa.select(Partner.id).where(Partner.ref == "DEMO-SUP-1")) is not None:
        return  # already loaded
    products = session.scalars(sa.select(Product).where(Product.active.is_(True)).order_by(Product.id).limit(20)).all()
    if not products:
        return
    suppliers = []
    for ref, name in (("DEMO-SUP-1", "Hangzhou Tea Trading Co."), ("DEMO-SUP-2", "Shanghai Snacks Wholesale")):
        partner = Partner(ref=ref, name=name, is_supplier=True, country="CN")
        session.add(partner)
        session.flush()
        suppliers.append(partner)
    for i, product in enumerate(products):
        cost = product.cost if product.cost else (product.list_price * Decimal("0.6")).quantize(Decimal("0.0001"))
        cost = cost if cost > 0 else Decimal("1.00")
        ps.set_supplier_terms(suppliers[i % 2].id, product.id, unit_price=cost, supplier_code=f"S{i + 1:04d}",
                              lead_time_days=3 + i % 5, preferred=True,
                              breaks=[(Decimal(100), (cost * Decimal("0.95")).quantize(Decimal("0.0001")))])
    store = session.scalar(sa.select(Store).where(Store.kind == "shop", Store.active.is_(True)).order_by(Store.id))
    if store is None:
        return
    order = ps.create_order(supplier_id=suppliers[0].id, store_id=store.id,
                            lines=[{"product_id": p.id, "quantity": Decimal(12)} for p in products[0:6:2]])
    ps.confirm_order(order.id)
    ps.send_order(order.id)
    first = order.lines[0]
    ps.receive_order(order.id, [{"order_line_id": first.id, "quantity": Decimal(12)},
                                {"order_line_id": order.lines[1].id, "quantity": Decimal(6)}])
    ps.run_replenishment()
    _ = ws
