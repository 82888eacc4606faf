"""Real commits, several connections: tills and a web pickup order race for the last units;
two clerks pay the same order at once. PostgreSQL only (row locks)."""
from __future__ import annotations

import os
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.errors import Conflict, InsufficientStock

D = Decimal
pytestmark = pytest.mark.postgres_only

if not os.environ.get("O2O_TEST_DATABASE_URL", "").startswith("postgres"):
    pytest.skip("needs PostgreSQL (O2O_TEST_DATABASE_URL)", allow_module_level=True)


def _app(url):
    from core.app import create_app
    from core.testing import app_config
    return create_app(app_config(url), addons=["sales"])


def _setup(url, till_short_stock="record"):
    from addons.warehouse import services as wh
    from core.db import db
    from core.models import Product, Store, Tax, Unit
    app = _app(url)
    with app.app_context():
        pc = db.session.scalar(sa.select(Unit).where(Unit.code == "pc"))
        tax = Tax(code="R13", name="13", rate=D("13"))
        store = Store(code="RACE", name="Race shop")
        product = Product(sku="LAST", name="Last units", unit=pc, tax=tax, list_price=D("10"))
        db.session.add_all([tax, store, product])
        db.session.flush()
        loc = wh.stock_location(wh.warehouse_for_store(store.id).id)
        wh.receive(product.id, loc.id, D("2"), D("4"), source="INIT")
        wh.set_till_short_stock(wh.warehouse_for_store(store.id).id, till_short_stock)
        db.session.commit()
        ids = store.id, product.id, wh.warehouse_for_store(store.id).id
        db.session.remove()
        db.engine.dispose()
    return ids


@pytest.mark.parametrize("choice", ["refuse", "record"])
def test_tills_and_a_pickup_race_for_the_last_units(fresh_database, choice):
    """Where the store refuses short till sales: two units, two winners. Where it records
    them (the default): every till sale is recorded, the pickup only reserves what is there."""
    store_id, product_id, warehouse_id = _setup(fresh_database, choice)
    barrier = threading.Barrier(4)
    outcomes = []

    def till():
        from addons.sales import services as sales
        from core.db import db
        app = _app(fresh_database)
        with app.app_context():
            order = sales.create_order(channel="pos", store_id=store_id,
                                       lines=[{"product_id": product_id, "quantity": D(1)}])
            db.session.commit()
            barrier.wait()
            try:
                sales.pay_order(order.id, [{"method": "card", "amount": D("10.00")}])
                db.session.commit()
                outcomes.append("till sold")
            except InsufficientStock:
                db.session.rollback()
                outcomes.append("till refused")
            db.session.remove()
            db.engine.dispose()

    def web():
        from addons.sales import services as sales
        from core.db import db
        app = _app(fresh_database)
        with app.app_context():
            order = sales.create_order(channel="web", store_id=store_id, fulfilment="pickup",
                                       lines=[{"product_id": product_id, "quantity": D(1)}])
            db.session.commit()
            barrier.wait()
            try:
                sales.confirm_order(order.id)
                db.session.commit()
                outcomes.append("web reserved")
            except InsufficientStock:
                db.session.rollback()
                outcomes.append("web refused")
            db.session.remove()
            db.engine.dispose()

    threads = [threading.Thread(target=t) for t in (till, till, till, web)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 4, outcomes
    if choice == "refuse":
        won = [o for o in outcomes if o in ("till sold", "web reserved")]
        assert len(won) == 2, outcomes  # two units: exactly two winners, no oversell, no lost sale
    else:
        assert outcomes.count("till sold") == 3, outcomes  # the goods were in the shoppers' hands

    from addons.warehouse import services as wh
    from core.db import db
    app = _app(fresh_database)
    with app.app_context():
        sold = outcomes.count("till sold")
        reserved = outcomes.count("web reserved")
        assert wh.on_hand(product_id, warehouse_id) == D(2 - sold)
        if choice == "refuse":
            assert wh.available(product_id, warehouse_id) == D(0)
        else:  # the web order reserved only what was there when it came
            assert wh.available(product_id, warehouse_id) == D(2 - sold - reserved)
            short = db.session.scalar(sa.text("SELECT COALESCE(SUM(quantity_short), 0) FROM warehouse_negative_stock"))
            assert D(str(short)) == D(sold + reserved - 2)
        assert wh.verify() == []  # the ledger agrees with on-hand
        paid = db.session.scalar(sa.text("SELECT COUNT(*) FROM sales_order WHERE state = 'fulfilled'"))
        confirmed = db.session.scalar(sa.text("SELECT COUNT(*) FROM sales_order WHERE state = 'confirmed'"))
        assert (paid, confirmed) == (sold, reserved)
        db.session.remove()
        db.engine.dispose()


def test_two_clerks_paying_the_same_order_record_one_payment(fresh_database):
    store_id, product_id, _wid = _setup(fresh_database)
    from addons.sales import services as sales
    from core.db import db
    app = _app(fresh_database)
    with app.app_context():
        order_id = sales.create_order(channel="pos", store_id=store_id,
                                      lines=[{"product_id": product_id, "quantity": D(1)}]).id
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    barrier = threading.Barrier(2)
    outcomes = []

    def clerk():
        app = _app(fresh_database)
        with app.app_context():
            barrier.wait()
            try:
                sales.pay_order(order_id, [{"method": "cash", "amount": D("20")}])
                db.session.commit()
                outcomes.append("paid")
            except Conflict:
                db.session.rollback()
                outcomes.append("already paid")
            db.session.remove()
            db.engine.dispose()

    threads = [threading.Thread(target=clerk) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["already paid", "paid"]
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT COUNT(*) FROM sales_payment")) == 1
        db.session.remove()
        db.engine.dispose()
