"""Several processes racing for the last units on PostgreSQL: never oversold, nothing lost."""
import multiprocessing
import os
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not (os.environ.get("O2O_TEST_DATABASE_URL") or "").startswith("postgres"),
                       reason="needs PostgreSQL (row locks, several processes)"),
]

WORKERS = 4
ATTEMPTS = 15
STOCK = 25


def _app(url):
    from core.app import create_app
    from core.testing import app_config
    return create_app(app_config(url, TESTING=False), addons=["warehouse"])


def _worker(url, product_ids, location_id, worker, queue):
    """Reserve (and sometimes issue) one unit at a time of products in alternating order;
    report what succeeded."""
    from addons.warehouse import services as s
    from core.errors import InsufficientStock
    app = _app(url)
    done = {"reserved": 0, "issued": 0, "refused": 0, "errors": []}
    with app.app_context():
        for i in range(ATTEMPTS):
            ids = product_ids if (i + worker) % 2 == 0 else list(reversed(product_ids))
            try:
                rows = s.reserve_many([{"product_id": p, "location_id": location_id, "quantity": Decimal(1)}
                                       for p in ids], source=f"W{worker}-{i}")
                if i % 3 == 0:
                    s.issue_reservation(next(r.id for r in rows if r.product_id == product_ids[0]))
                    done["issued"] += 1
                db.session.commit()
                done["reserved"] += 1
            except InsufficientStock:
                db.session.rollback()
                done["refused"] += 1
            except Exception as exc:  # a deadlock or a duplicate quant would land here
                db.session.rollback()
                done["errors"].append(repr(exc)[:300])
        db.session.remove()
        db.engine.dispose()
    queue.put(done)


def test_concurrent_reservations_never_oversell(fresh_database):
    from addons.warehouse import services as s
    from core.models import Product, Store, Unit
    url = fresh_database
    app = _app(url)
    with app.app_context():
        unit = db.session.scalar(sa.select(Unit).where(Unit.code == "pc"))
        store = Store(code="RACE", name="Race shop", kind="shop")
        db.session.add(store)
        products = [Product(sku=f"RACE{i}", name=f"Last units {i}", unit_id=unit.id) for i in range(2)]
        db.session.add_all(products)
        db.session.flush()
        loc = s.stock_location(s.warehouse_for_store(store.id).id)
        for p in products:
            s.receive(p.id, loc.id, Decimal(STOCK), Decimal("1.5"), source="PO")
        db.session.commit()
        product_ids, location_id, wh_id = [p.id for p in products], loc.id, loc.warehouse_id
        db.session.remove()
        db.engine.dispose()

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, product_ids, location_id, w, queue)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)

    assert all(not r["errors"] for r in results), [r["errors"] for r in results]
    reserved_orders = sum(r["reserved"] for r in results)
    issued = sum(r["issued"] for r in results)
    assert reserved_orders == STOCK  # every unit went to exactly one order, the rest were refused
    assert sum(r["refused"] for r in results) == WORKERS * ATTEMPTS - STOCK
    with app.app_context():
        # first product: issued ones left the quant; second: every unit still reserved
        assert s.on_hand(product_ids[0], wh_id) == STOCK - issued
        assert s.on_hand(product_ids[1], wh_id) == STOCK
        for pid in product_ids:
            assert s.available(pid, wh_id) == 0  # all sold or held, none oversold
        from addons.warehouse.models import Quant
        quants = db.session.scalars(sa.select(Quant).where(Quant.product_id.in_(product_ids))).all()
        assert len(quants) == 2  # one row per product and location, never duplicates
        assert s.verify() == []
        db.session.remove()
        db.engine.dispose()
