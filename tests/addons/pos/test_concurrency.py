"""PostgreSQL, real commits, several connections: two tills (through the till API) and a web
pickup order race for the last units. No oversell, the loser is refused with nothing written,
and the losing till's receipt numbers stay gapless."""
from __future__ import annotations

import os
import threading
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.postgres_only
if not os.environ.get("O2O_TEST_DATABASE_URL", "").startswith("postgres"):
    pytest.skip("needs PostgreSQL (O2O_TEST_DATABASE_URL)", allow_module_level=True)


def _seed(app, till_short_stock="record"):
    from core.auth.models import ApiToken
    from core.db import db
    from core.models import Product, Store, Unit
    from core.testing import make_user
    from addons.pos import services as pos
    from addons.warehouse import services as wh
    with app.app_context():
        store = Store(code="LU", name="Last units shop")
        db.session.add(store)
        db.session.flush()
        wh.ensure_store_warehouses()
        unit = db.session.scalar(sa.select(Unit))
        product = Product(sku="LU-1", name="Last units", unit=unit, list_price=Decimal("10"))
        db.session.add(product)
        db.session.flush()
        warehouse = wh.warehouse_for_store(store.id)
        wh.receive(product.id, wh.stock_location(warehouse.id).id, Decimal("3"), Decimal("1"), source="seed")
        wh.set_till_short_stock(warehouse.id, till_short_stock)
        registers = [pos.create_register(store.id, f"R{i}") for i in (1, 2)]
        for r in registers:
            pos.open_session(r.id, "0")
        user = make_user("lu_cashier", ["pos.sell"], stores=[store])
        row, token = ApiToken.issue(user, "lu")
        db.session.add(row)
        db.session.commit()
        ids = {"store": store.id, "product": product.id, "warehouse": warehouse.id, "token": token,
               "registers": [r.id for r in registers]}
        db.session.remove()
    return ids


@pytest.mark.parametrize("choice", ["refuse", "record"])
def test_two_tills_and_a_pickup_race_for_the_last_units(fresh_database, choice):
    """Where the store refuses short till sales, one of the three wins the last units; where
    it records them (the default), both till sales are recorded (the goods are gone) and the
    pickup only reserves what is there."""
    from core.app import create_app
    from core.db import db
    from core.testing import app_config
    from addons.pos.models import PosJournalEntry, PosRegisterCounter, PosSale
    from addons.warehouse import services as wh
    app = create_app(app_config(fresh_database, TESTING=False))
    ids = _seed(app, choice)
    barrier = threading.Barrier(3)
    outcomes = {}

    def till(register_id):
        client = app.test_client()
        barrier.wait()
        r = client.post("/api/v1/pos/sales", headers={"Authorization": f"Bearer {ids['token']}",
                                                      "Idempotency-Key": uuid.uuid4().hex},
                        json={"register_id": register_id, "lines": [{"sku": "LU-1", "quantity": "2"}],
                              "payments": [{"method": "cash", "amount": "20"}]})
        outcomes[f"till{register_id}"] = r.status_code

    def pickup():
        from addons.sales import services as sales
        from core.errors import O2OError
        with app.app_context():
            barrier.wait()
            try:
                order = sales.create_order(channel="web", store_id=ids["store"], fulfilment="pickup",
                                           pickup_store_id=ids["store"],
                                           lines=[{"product_id": ids["product"], "quantity": Decimal(2)}])
                sales.confirm_order(order.id)
                db.session.commit()
                outcomes["pickup"] = 201
            except O2OError as exc:
                db.session.rollback()
                outcomes["pickup"] = exc.status
            finally:
                db.session.remove()

    threads = [threading.Thread(target=till, args=(r,)) for r in ids["registers"]] + [threading.Thread(target=pickup)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if choice == "refuse":
        assert sorted(outcomes.values()) == [201, 409, 409], outcomes
    else:
        assert outcomes["till%s" % ids["registers"][0]] == outcomes["till%s" % ids["registers"][1]] == 201, outcomes
    with app.app_context():
        on_hand = wh.on_hand(ids["product"], ids["warehouse"])
        available = wh.available(ids["product"], ids["warehouse"])
        if choice == "refuse":
            assert available == Decimal("1")
        else:
            assert available == Decimal("-1") - (2 if outcomes["pickup"] == 201 else 0)
        sold = db.session.scalar(sa.select(sa.func.count()).select_from(PosSale))
        assert on_hand == Decimal("3") - 2 * sold
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PosJournalEntry)) == sold
        # a refused sale takes no receipt number: the counters match what was recorded
        counters = {c.register_id: c.last_receipt for c in db.session.scalars(sa.select(PosRegisterCounter))}
        for register_id in ids["registers"]:
            recorded = db.session.scalar(sa.select(sa.func.count()).select_from(PosSale)
                                         .where(PosSale.register_id == register_id))
            assert counters[register_id] == recorded
        assert not wh.verify() if hasattr(wh, "verify") else True
        db.session.remove()
        db.engine.dispose()
