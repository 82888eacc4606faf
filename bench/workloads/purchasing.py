"""Purchasing: replenishment proposals for products x warehouses of reorder rules (one
set-based INSERT ... SELECT; target under 10 s for 20,000 x 50), and 20-line receipts posted
per second (each receipt its own transaction: stock moves, average cost, event)."""
from __future__ import annotations

import time
from decimal import Decimal

import sqlalchemy as sa

SCALES = {
    "small": {"products": 2000, "warehouses": 10, "receipts": 20, "receipt_lines": 20},
    "full": {"products": 20000, "warehouses": 50, "receipts": 200, "receipt_lines": 20},
}

D = Decimal


def _setup(db, scale):
    """Stores (one DC), products, suppliers' terms, reorder rules and quants, in bulk SQL."""
    from addons.purchasing import services as ps
    from addons.warehouse import services as ws
    from core.models import Partner, Product, Store, Unit
    from core.db import utcnow

    session = db.session
    n_products, n_wh = scale["products"], scale["warehouses"]
    unit_id = session.scalar(sa.select(Unit.id).where(Unit.code == "pc"))
    stores = [Store(code="BDC", name="Bench DC", kind="dc")]
    stores += [Store(code=f"BS{i:03d}", name=f"Bench shop {i}", kind="shop") for i in range(1, n_wh)]
    session.add_all(stores)
    suppliers = [Partner(name=f"Bench supplier {i}", is_supplier=True) for i in range(20)]
    session.add_all(suppliers)
    session.flush()
    ws.ensure_store_warehouses(session)
    now = utcnow()
    P, SP = Product.__table__, ps.SupplierProduct.__table__
    R, Q = ws.ReorderRule.__table__, ws.Quant.__table__
    session.execute(P.insert(), [{"sku": f"B{i:06d}", "name": f"Bench product {i}", "unit_id": unit_id,
                                  "list_price": D(10), "cost": D(4), "active": True, "created_at": now,
                                  "updated_at": now} for i in range(n_products)])
    pids = session.scalars(sa.select(P.c.id).where(P.c.sku.like("B0%")).order_by(P.c.id)).all()
    sup_ids = [s.id for s in suppliers]
    session.execute(SP.insert(), [
        {"supplier_id": sup_ids[i % len(sup_ids)], "product_id": pid, "unit_price": D("3.50") + (i % 7),
         "min_qty": D(0), "pack_size": D(1 + (i % 3) * 5), "lead_time_days": 5, "preferred": True, "active": True,
         "created_at": now, "updated_at": now} for i, pid in enumerate(pids)])
    wh_rows = session.execute(sa.text(
        "SELECT w.id, l.id FROM warehouse_warehouse w JOIN warehouse_location l ON l.warehouse_id = w.id "
        "AND l.usage = 'internal' JOIN store s ON s.id = w.store_id WHERE s.code LIKE 'B%' ORDER BY w.id")).all()
    lo, hi = pids[0], pids[-1]
    in_range = P.c.id.between(lo, hi)
    for wid, lid in wh_rows:
        # every product has a rule in every warehouse: min 10, max 30 (multiples of 1 or 6)
        multiple = sa.case((P.c.id % 2 == 0, sa.literal(1)), else_=sa.literal(6))
        session.execute(R.insert().from_select(
            ["warehouse_id", "product_id", "min_qty", "max_qty", "multiple", "active", "created_at", "updated_at"],
            sa.select(sa.literal(wid), P.c.id, sa.literal(10), sa.literal(30), multiple, sa.true(),
                      sa.literal(now, sa.DateTime(timezone=True)), sa.literal(now, sa.DateTime(timezone=True)))
            .where(in_range)))
        # stock between 0 and 39: about a quarter below the minimum
        session.execute(Q.insert().from_select(
            ["product_id", "location_id", "warehouse_id", "on_hand", "reserved"],
            sa.select(P.c.id, sa.literal(lid), sa.literal(wid), (P.c.id * 7 + wid * 13) % 40, sa.literal(0))
            .where(in_range)))
    session.commit()
    return pids, sup_ids, wh_rows


def run(ctx) -> dict:
    from core.db import db
    from addons.purchasing import services as ps

    app = ctx.make_app(["purchasing"], PURCHASING_APPROVAL_THRESHOLD="1000000000")
    figures = {}
    with app.app_context():
        started = time.perf_counter()
        pids, sup_ids, wh_rows = _setup(db, ctx.scale)
        figures["setup_s"] = {"value": round(time.perf_counter() - started, 1), "unit": "s"}
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")  # as autovacuum would after a bulk load
        else:
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        rules = ctx.scale["products"] * ctx.scale["warehouses"]

        samples = []
        for _ in range(2):
            t0 = time.perf_counter()
            run_ = ps.run_replenishment()
            db.session.commit()
            samples.append(time.perf_counter() - t0)
        figures["replenishment_rules"] = {"value": rules, "unit": "rules"}
        figures["replenishment_lines"] = {"value": run_.line_count, "unit": "lines"}
        figures["replenishment_s"] = {"value": round(min(samples), 2), "unit": "s"}
        figures["replenishment_worst_s"] = {"value": round(max(samples), 2), "unit": "s"}
        groups = ps.run_groups(run_.id)
        figures["replenishment_groups"] = {"value": len(groups), "unit": "groups"}

        # receipts: approved 20-line orders for one shop, each received in its own transaction
        n, k = ctx.scale["receipts"], ctx.scale["receipt_lines"]
        shop_wh = wh_rows[1][0]
        chosen = pids[:k]
        orders = []
        for i in range(n):
            order = ps.create_order(supplier_id=sup_ids[0], warehouse_id=shop_wh,
                                    lines=[{"product_id": p, "quantity": D(60), "unit_price": D("3.10") + i % 5}
                                           for p in chosen])
            ps.confirm_order(order.id)
            orders.append(order.id)
        db.session.commit()
        t0 = time.perf_counter()
        for oid in orders:
            ps.receive_order(oid)
            db.session.commit()
        elapsed = time.perf_counter() - t0
        figures["receipts_per_s"] = {"value": round(n / elapsed, 1), "unit": "per_s"}
        figures["receipt_lines_per_s"] = {"value": round(n * k / elapsed, 1), "unit": "per_s"}
        figures["receipt_ms"] = {"value": round(elapsed / n * 1000, 1), "unit": "ms"}
        db.session.remove()
    return figures
