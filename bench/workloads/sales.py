"""Sales: orders created, confirmed and reserved per second; carry-out orders paid per second.

Setup: S stores, P products with a 13% tax, 1,000,000 units of every product received into
every store in one batched posting. Then, one committed transaction per order (as a web
front calls the API: create, then confirm):

- ``pickup_create_confirm``: a web order for pickup with 3 lines (random products, random
  pickup store), created, priced through the ``o2o_compute_price`` hook, numbered from the
  core sequence, confirmed: 3 reservations at the pickup store's warehouse;
- ``carry_out_create_pay``: a till-like order with 3 lines created and paid (card + cash
  with change), issuing the stock in one posting.

Only the ``sales`` addon (and ``warehouse``) is registered, so the figures are sales' own
(no finance or loyalty listeners).
"""
from __future__ import annotations

import random
import time
from decimal import Decimal

import sqlalchemy as sa

from bench import latency_figures

SCALES = {
    "small": {"stores": 5, "products": 200, "orders": 200, "warmup": 10},
    "full": {"stores": 20, "products": 5000, "orders": 2000, "warmup": 50},
}


def run(ctx) -> dict:
    from addons.sales import services as sales
    from addons.warehouse import services as wh
    from core.db import db, utcnow
    from core.models import Product, Store, Tax, Unit

    sc = ctx.scale
    app = ctx.make_app(addons=["sales"])
    figures: dict = {}
    rng = random.Random(20261122)
    with app.app_context():
        session = db.session
        now = utcnow()
        pc = session.scalar(sa.select(Unit).where(Unit.code == "pc"))
        tax = Tax(code="B13", name="VAT 13%", rate=Decimal("13"))
        session.add(tax)
        session.flush()
        session.execute(sa.insert(Store.__table__), [
            {"code": f"B{i:03d}", "name": f"Bench store {i}", "kind": "shop", "timezone": "Asia/Shanghai",
             "active": True, "created_at": now, "updated_at": now} for i in range(sc["stores"])])
        wh.ensure_store_warehouses(session)
        stores = list(session.scalars(sa.select(Store.id).where(Store.code.like("B%"))))
        session.execute(sa.insert(Product.__table__), [
            {"sku": f"BS{i:06d}", "name": f"Bench product {i}", "unit_id": pc.id, "tax_id": tax.id,
             "list_price": Decimal(rng.randint(100, 99_999)) / 100, "cost": Decimal("1.5"), "active": True,
             "created_at": now, "updated_at": now} for i in range(sc["products"])])
        products = list(session.scalars(sa.select(Product.id).where(Product.sku.like("BS%"))))
        supplier = wh.virtual_location("supplier").id
        locations = {s: wh.stock_location(wh.warehouse_for_store(s).id).id for s in stores}
        wh.post_moves([{"product_id": p, "from_location_id": supplier, "to_location_id": loc,
                        "quantity": Decimal(1_000_000), "unit_cost": Decimal("1.5"), "source": "BENCH"}
                       for loc in locations.values() for p in products])
        session.commit()

        def lines():
            return [{"product_id": p, "quantity": Decimal(rng.randint(1, 3))} for p in rng.sample(products, 3)]

        def pickup_order():
            store = rng.choice(stores)
            order = sales.create_order(channel="web", store_id=store, fulfilment="pickup",
                                       pickup_store_id=rng.choice(stores), lines=lines())
            session.commit()
            sales.confirm_order(order.id)
            session.commit()

        def carry_out_order():
            order = sales.create_order(channel="pos", store_id=rng.choice(stores), lines=lines())
            total = order.total
            sales.pay_order(order.id, [{"method": "card", "amount": Decimal("1.00")},
                                       {"method": "cash", "amount": total.to_integral_value() + 10}])
            session.commit()

        for name, fn in (("pickup_create_confirm", pickup_order), ("carry_out_create_pay", carry_out_order)):
            for _ in range(sc["warmup"]):
                fn()
            samples = []
            cpu_start = time.process_time()
            for _ in range(sc["orders"]):
                start = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - start)
            cpu = time.process_time() - cpu_start
            figures.update(latency_figures(name, samples))
            # this process's CPU per order: what the order costs us, whatever the machine's load
            figures[f"{name}_cpu_ms"] = {"value": round(cpu / sc["orders"] * 1000, 3), "unit": "ms"}
        figures["orders_in_db"] = {"value": session.scalar(sa.text("SELECT COUNT(*) FROM sales_order")),
                                   "unit": "orders"}
        session.remove()
        db.engine.dispose()
    return figures
