"""Retries that race: the unique constraint on (register, idempotency key) decides, so the
same sale sent by several connections at once is recorded once and every answer is the same."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa


def _seed(app):
    from core.auth.models import ApiToken
    from core.barcodes import make_ean13
    from core.db import db
    from core.models import Product, Store, Unit
    from core.testing import make_user
    from addons.pos import services as pos
    from addons.warehouse import services as wh
    with app.app_context():
        store = Store(code="RC", name="Race shop")
        db.session.add(store)
        db.session.flush()
        wh.ensure_store_warehouses()
        unit = db.session.scalar(sa.select(Unit))
        tea = Product(sku="RC-TEA", barcode=make_ean13("400638133393"), name="Tea", unit=unit,
                      list_price=Decimal("11.00"))
        db.session.add(tea)
        db.session.flush()
        wh.receive(tea.id, wh.stock_location(wh.warehouse_for_store(store.id).id).id, Decimal("10"),
                   Decimal("1"), source="seed")
        register = pos.create_register(store.id, "R1")
        pos.open_session(register.id, "0")
        user = make_user("racer", ["pos.sell"])
        row, token = ApiToken.issue(user, "race")
        db.session.add(row)
        db.session.commit()
        ids = {"register": register.id, "tea": tea.barcode, "tea_id": tea.id, "token": token,
               "warehouse": wh.warehouse_for_store(store.id).id}
        db.session.remove()
    return ids


@pytest.mark.slow
def test_same_key_racing_is_recorded_once(fresh_database):
    from core.app import create_app
    from core.db import db
    from core.testing import app_config
    from addons.pos.models import PosJournalEntry, PosSale
    from addons.warehouse import services as wh
    app = create_app(app_config(fresh_database, TESTING=False))
    ids = _seed(app)
    body = {"register_id": ids["register"], "lines": [{"barcode": ids["tea"], "quantity": "2"}],
            "payments": [{"method": "cash", "amount": "22"}]}
    barrier = threading.Barrier(4)
    answers = []

    def send():
        client = app.test_client()
        barrier.wait()
        r = client.post("/api/v1/pos/sales", json=body, headers={
            "Authorization": f"Bearer {ids['token']}", "Idempotency-Key": "race-1"})
        answers.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = sorted(s for s, _ in answers)
    assert statuses == [200, 200, 200, 201], answers
    docs = [d for _, d in answers]
    assert all(d == docs[0] for d in docs)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PosSale)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PosJournalEntry)) == 1
        assert wh.on_hand(ids["tea_id"], ids["warehouse"]) == Decimal("8")
        db.session.remove()
        db.engine.dispose()


def test_a_retry_is_caught_by_the_unique_constraint(shop, cashier, monkeypatch):
    """No read-then-write check: the till's key is claimed by an INSERT first; a retry hits the
    unique constraint, and only then is the first result looked up and answered."""
    from addons.pos import services
    from addons.pos.models import PosSale
    from addons.sales.models import Order
    from core.db import db
    from tests.addons.pos.conftest import on_hand
    from tests.addons.pos.helpers import open_session
    open_session(cashier, shop.reg_a)
    body = {"register_id": shop.reg_a.id, "lines": [{"barcode": shop.tea.barcode}],
            "payments": [{"method": "cash", "amount": "20"}]}
    real, calls = services.find_sale, []

    def spy(register_id, key):
        calls.append(key)
        return real(register_id, key)

    monkeypatch.setattr(services, "find_sale", spy)
    first = cashier.post("/api/v1/pos/sales", json=body, headers={"Idempotency-Key": "gap-1"})
    assert first.status_code == 201 and calls == []  # a new sale: no lookup at all
    stock, orders = on_hand(shop, shop.tea), db.session.scalar(sa.select(sa.func.count()).select_from(Order))
    again = cashier.post("/api/v1/pos/sales", json=body, headers={"Idempotency-Key": "gap-1"})
    assert calls == ["gap-1"], "the unique constraint, not a lookup, must have caught the retry"
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PosSale)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == orders
    assert on_hand(shop, shop.tea) == stock


@pytest.mark.postgres_only
def test_a_close_racing_a_sale_refuses_the_sale(fresh_database, monkeypatch):
    """The till has read its open session; the manager closes it and commits before the
    sale writes anything (once the sale's row exists, its reference to the session holds the
    close back until the sale commits): the sale is refused and nothing of it is kept."""
    import os
    if not os.environ.get("O2O_TEST_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("needs PostgreSQL: SQLite's write lock keeps a close out of a running sale")
    from core.app import create_app
    from core.db import db
    from core.errors import Conflict
    from core.testing import app_config
    from addons.pos import services as pos
    from addons.pos.models import PosSale
    from addons.warehouse import services as wh
    app = create_app(app_config(fresh_database, TESTING=False))
    ids = _seed(app)
    closed = threading.Event()
    real_claim = pos._claim_key

    def let_the_close_in_then_claim(*args, **kwargs):
        worker = threading.Thread(target=close)
        worker.start()
        worker.join(30)
        assert closed.is_set()
        return real_claim(*args, **kwargs)

    def close():
        with app.app_context():
            session = pos.open_session_of(ids["register"])
            pos.close_session(session.id, {"cash": "0"}, difference_reason="race test")
            db.session.commit()
            db.session.remove()
        closed.set()

    monkeypatch.setattr(pos, "_claim_key", let_the_close_in_then_claim)
    with app.app_context():
        with pytest.raises(Conflict, match="was closed"):
            pos.sell(ids["register"], idempotency_key="late", lines=[{"barcode": ids["tea"]}],
                     payments=[{"method": "cash", "amount": "20"}])
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PosSale)) == 0
        assert wh.on_hand(ids["tea_id"], ids["warehouse"]) == Decimal("10")
        db.session.remove()
        db.engine.dispose()
