"""Warehouse: posting moves, availability in every store, on-hand of a warehouse, verify.

The ledger is generated with set-based SQL (one INSERT ... SELECT over a number series),
then the quants are rebuilt from it with one GROUP BY, exactly as ``o2o stock verify``
would expect them. Shape of the generated ledger (P products, W warehouses, warehouse 0
is the distribution centre):

- moves 0 .. P-1: every product received into the DC (100 units);
- move n >= P: product n % P; in every fourth round (n // P) the DC issues 1 unit to a
  customer, otherwise 5 units are received into store warehouse 1 + (round + product) % (W-1).

Figures: availability of one product in every store (median/p95) at the checkpoint ledger
size and at the full one (to show it is flat), on-hand of every product in the DC,
``verify`` over the whole ledger, and moves posted per second in batches of 100 and one at
a time (each batch / move its own committed transaction, supplier receipts as Tryton's),
and the SQL statements of a 3- and a 10-line till issue (``post_moves`` out of a store).
"""
from __future__ import annotations

import random
import time
from decimal import Decimal

import sqlalchemy as sa

from bench import latency_figures, timed

SCALES = {
    "small": {"products": 2000, "warehouses": 10, "checkpoint": 10_000, "moves": 50_000,
              "batches": 10, "singles": 100, "repeat": 100},
    "full": {"products": 20_000, "warehouses": 50, "checkpoint": 100_000, "moves": 1_000_000,
             "batches": 30, "singles": 300, "repeat": 200},
}


def _series(dialect: str, start: int, stop: int) -> str:
    if dialect == "postgresql":
        return f"(SELECT generate_series({start}, {stop - 1}) AS n) seq"
    return (f"(WITH RECURSIVE s(n) AS (SELECT {start} UNION ALL SELECT n + 1 FROM s WHERE n + 1 < {stop}) "
            f"SELECT n FROM s) seq")


def _generate_moves(conn, dialect, start, stop, P, W, pbase, supplier, customer, now):
    # bench_loc(idx, loc_id): idx 0 is the DC's stock location
    sql = f"""
        INSERT INTO warehouse_move (product_id, quantity, from_location_id, to_location_id, state, unit_cost,
                                    value, value_date, source, done_at, created_at)
        SELECT {pbase} + (n % {P}),
               CASE WHEN n < {P} THEN 100 WHEN (n / {P}) % 4 = 3 THEN 1 ELSE 5 END,
               CASE WHEN n >= {P} AND (n / {P}) % 4 = 3 THEN bl.loc_id ELSE {supplier} END,
               CASE WHEN n >= {P} AND (n / {P}) % 4 = 3 THEN {customer} ELSE bl.loc_id END,
               'done', 2.5, CASE WHEN n < {P} THEN 250 WHEN (n / {P}) % 4 = 3 THEN 2.5 ELSE 12.5 END,
               :day, 'GEN', :now, :now
        FROM {_series(dialect, start, stop)}
        JOIN bench_loc bl ON bl.idx = CASE WHEN n < {P} OR (n / {P}) % 4 = 3 THEN 0
                                           ELSE 1 + ((n / {P}) + (n % {P})) % {W - 1} END
    """
    conn.execute(sa.text(sql), {"now": now, "day": now.date()})


def _rebuild_quants(conn):
    conn.execute(sa.text("DELETE FROM warehouse_quant"))
    conn.execute(sa.text("""
        INSERT INTO warehouse_quant (product_id, location_id, warehouse_id, on_hand, reserved)
        SELECT m.product_id, m.location_id, l.warehouse_id, SUM(m.q), 0
        FROM (SELECT product_id, to_location_id AS location_id, quantity AS q FROM warehouse_move WHERE state = 'done'
              UNION ALL
              SELECT product_id, from_location_id, -quantity FROM warehouse_move WHERE state = 'done') m
        JOIN warehouse_location l ON l.id = m.location_id AND l.usage IN ('internal', 'transit')
        GROUP BY m.product_id, m.location_id, l.warehouse_id
    """))


def _maintain(session, dialect):
    """What autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) would do after a bulk load:
    statistics, and on PostgreSQL the visibility map that index-only scans need."""
    session.commit()
    if dialect == "postgresql":
        engine = session.get_bind().engine
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE warehouse_quant"))
            conn.execute(sa.text("VACUUM ANALYZE warehouse_move"))
    else:
        session.execute(sa.text("ANALYZE"))
    session.commit()


def run(ctx) -> dict:
    from addons.warehouse import services as s
    from addons.warehouse.models import Warehouse
    from core.db import db, utcnow
    from core.models import Product, Store, Unit

    sc = ctx.scale
    P, W = sc["products"], sc["warehouses"]
    figures: dict = {}
    app = ctx.make_app(addons=["warehouse"])
    with app.app_context():
        session = db.session
        dialect = session.get_bind().dialect.name
        # --- master data: W stores (the first a DC), P products --------------------------
        started = time.perf_counter()
        session.add(Store(code="BDC", name="Bench DC", kind="dc"))
        for i in range(1, W):
            session.add(Store(code=f"B{i:03d}", name=f"Bench shop {i}", kind="shop"))
        session.flush()
        s.ensure_store_warehouses(session)
        unit_id = session.scalar(sa.select(Unit.id).where(Unit.code == "pc"))
        session.execute(sa.insert(Product.__table__), [
            {"sku": f"BP{i:06d}", "name": f"Bench product {i}", "unit_id": unit_id, "list_price": Decimal("9.90"),
             "cost": Decimal("2.5"), "active": True, "created_at": utcnow(), "updated_at": utcnow()}
            for i in range(P)])
        pbase = session.scalar(sa.select(sa.func.min(Product.id)).where(Product.sku.like("BP%")))
        stores = session.execute(sa.select(Store.id, Store.code).where(Store.code.like("B%"))
                                 .order_by(Store.code)).all()  # BDC sorts after B001..: put it first
        stores = [r for r in stores if r.code == "BDC"] + [r for r in stores if r.code != "BDC"]
        locs = []
        for idx, st in enumerate(stores):
            wh = s.warehouse_for_store(st.id)
            locs.append({"idx": idx, "loc_id": s.stock_location(wh.id).id, "wh_id": wh.id})
        supplier, customer = s.virtual_location("supplier").id, s.virtual_location("customer").id
        conn = session.connection()
        conn.execute(sa.text("CREATE TEMPORARY TABLE bench_loc (idx INTEGER PRIMARY KEY, loc_id INTEGER)"))
        conn.execute(sa.text("INSERT INTO bench_loc (idx, loc_id) VALUES (:idx, :loc_id)"),
                     [{"idx": r["idx"], "loc_id": r["loc_id"]} for r in locs])
        conn.execute(sa.text("INSERT INTO warehouse_product_cost (product_id, warehouse_id, average_cost, updated_at) "
                             "SELECT p.id, w.id, 2.5, :now FROM product p CROSS JOIN warehouse_warehouse w "
                             "WHERE p.sku LIKE 'BP%' AND w.id IN :whs").bindparams(sa.bindparam("whs", expanding=True)),
                     {"now": utcnow(), "whs": [r["wh_id"] for r in locs]})
        now = utcnow()
        _generate_moves(conn, dialect, 0, sc["checkpoint"], P, W, pbase, supplier, customer, now)
        _rebuild_quants(conn)
        session.commit()
        figures["generate_checkpoint_s"] = {"value": round(time.perf_counter() - started, 2), "unit": "s"}
        _maintain(session, dialect)

        rnd = random.Random(42)
        dc_wh = locs[0]["wh_id"]

        def availability():
            s.availability_by_store(pbase + rnd.randrange(P))

        def measure_availability(tag):
            samples = timed(availability, repeat=sc["repeat"], warmup=5)
            for k, v in latency_figures(f"availability_all_stores_{tag}", samples).items():
                if not k.endswith("_per_s"):
                    figures[k] = v
            session.rollback()

        measure_availability(f"{sc['checkpoint'] // 1000}k")

        # --- grow the ledger to full size ---------------------------------------------------
        started = time.perf_counter()
        conn = session.connection()
        step = 250_000
        for lo in range(sc["checkpoint"], sc["moves"], step):
            _generate_moves(conn, dialect, lo, min(lo + step, sc["moves"]), P, W, pbase, supplier, customer, now)
        _rebuild_quants(conn)
        conn.execute(sa.text("DROP TABLE bench_loc"))
        session.commit()
        _maintain(session, dialect)
        figures["generate_full_s"] = {"value": round(time.perf_counter() - started, 2), "unit": "s"}
        ledger = session.scalar(sa.text("SELECT COUNT(*) FROM warehouse_move"))
        quants = session.scalar(sa.text("SELECT COUNT(*) FROM warehouse_quant"))
        figures["ledger_moves"] = {"value": ledger, "unit": "moves"}
        figures["quants"] = {"value": quants, "unit": "rows"}
        session.rollback()

        measure_availability(f"{sc['moves'] // 1000}k")

        # --- on-hand of every product in the DC ---------------------------------------------
        result = {}

        def dc_on_hand():
            result["n"] = len(s.on_hand_by_product(dc_wh))

        samples = timed(dc_on_hand, repeat=max(5, sc["repeat"] // 10), warmup=1)
        for k, v in latency_figures("on_hand_one_warehouse", samples).items():
            if not k.endswith("_per_s"):
                figures[k] = v
        figures["on_hand_one_warehouse_products"] = {"value": result["n"], "unit": "products"}
        session.rollback()

        # --- verify over the whole ledger ---------------------------------------------------
        started = time.perf_counter()
        problems = s.verify()
        figures["stock_verify_s"] = {"value": round(time.perf_counter() - started, 2), "unit": "s"}
        figures["stock_verify_mismatches"] = {"value": len(problems), "unit": "rows"}
        session.rollback()

        # --- posting moves -------------------------------------------------------------------
        store_locs = [r["loc_id"] for r in locs]

        def batch_of(n):
            return [{"product_id": pbase + rnd.randrange(P), "from_location_id": supplier,
                     "to_location_id": rnd.choice(store_locs), "quantity": Decimal(rnd.randint(1, 12)),
                     "unit_cost": Decimal("2.6"), "source": "BENCH"} for _ in range(n)]

        batches = [batch_of(100) for _ in range(sc["batches"] + 1)]
        s.post_moves(batches.pop())  # warm-up
        session.commit()
        started = time.perf_counter()
        for batch in batches:
            s.post_moves(batch)
            session.commit()
        elapsed = time.perf_counter() - started
        figures["post_moves_batched_100_per_s"] = {"value": round(100 * sc["batches"] / elapsed, 1), "unit": "per_s"}

        singles = batch_of(sc["singles"])
        started = time.perf_counter()
        for m in singles:
            s.receive(m["product_id"], m["to_location_id"], m["quantity"], m["unit_cost"], source="BENCH1")
            session.commit()
        elapsed = time.perf_counter() - started
        figures["post_moves_one_at_a_time_per_s"] = {"value": round(sc["singles"] / elapsed, 1), "unit": "per_s"}

        # one sale-like issue at a time (guarded decrement)
        issues = [(pbase + rnd.randrange(P), locs[0]["loc_id"]) for _ in range(sc["singles"])]
        started = time.perf_counter()
        for pid, loc in issues:
            s.issue(pid, loc, Decimal(1), source="BENCH-ISSUE")
            session.commit()
        elapsed = time.perf_counter() - started
        figures["issue_one_at_a_time_per_s"] = {"value": round(sc["singles"] / elapsed, 1), "unit": "per_s"}

        # statements of a till sale's issue (post_moves from a store to the customer): the
        # same whatever the number of lines
        statements = []

        def count(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            for n in (3, 10):
                lines = [{"product_id": pbase + i, "from_location_id": locs[0]["loc_id"], "to_location_id": customer,
                          "quantity": Decimal(1), "unit_cost": "average", "source": f"BENCH-SALE-{n}"}
                         for i in range(n)]
                session.connection()  # the transaction's BEGIN is not the posting's
                statements.clear()
                s.post_moves(lines)
                figures[f"issue_{n}_lines_statements"] = {"value": len(statements), "unit": "statements"}
                session.commit()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)

        assert not s.verify(limit=5), "the ledger and the quants disagree after posting"
        session.rollback()
        _ = Warehouse
        db.session.remove()
        db.engine.dispose()
    return figures
