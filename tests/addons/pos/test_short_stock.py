"""A till sale is a fact: short book stock is recorded (negative stock and an exception for
the store manager) unless the store refuses, and then the till is told before payment,
naming the line. Reservations stay strict."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db
from core.errors import InsufficientStock
from tests.addons.pos.conftest import on_hand
from tests.addons.pos.helpers import open_session, sell

CASH = [{"method": "cash", "amount": "9000"}]


def _negatives(product=None):
    from addons.warehouse.models import NegativeStock
    stmt = sa.select(NegativeStock).order_by(NegativeStock.id)
    if product is not None:
        stmt = stmt.where(NegativeStock.product_id == product.id)
    return list(db.session.scalars(stmt))


def _unstocked(shop, name="Scarf"):
    from core.barcodes import make_ean13
    from core.models import Product
    product = Product(sku=f"SCF-{uuid.uuid4().hex[:6]}", barcode=make_ean13("401234500001"), name=name,
                      unit=shop.tea.unit, tax=shop.tea.tax, list_price=Decimal("9.00"))
    db.session.add(product)
    db.session.commit()
    return product


def _refuse(shop):
    from addons.warehouse import services as wh
    wh.set_till_short_stock(shop.warehouse_a.id, "refuse")
    db.session.commit()


def _statements(fn):
    log = []
    engine = db.session.get_bind()

    def count(conn, cursor, statement, parameters, context, executemany):
        log.append(statement)
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return log


def test_short_till_sale_is_recorded_with_a_negative_stock_exception(shop, cashier):
    scarf = _unstocked(shop)
    open_session(cashier, shop.reg_a)
    # a product the shop never received, and more tea than the books have
    sale = sell(cashier, shop.reg_a, [{"barcode": scarf.barcode, "quantity": "2"},
                                      {"barcode": shop.tea.barcode, "quantity": "103"}], CASH)
    assert sale["receipt"] == "PA-R1-000001"
    assert on_hand(shop, scarf) == Decimal("-2") and on_hand(shop, shop.tea) == Decimal("-3")
    by_product = {n.product_id: n for n in _negatives()}
    assert set(by_product) == {scarf.id, shop.tea.id}
    assert by_product[scarf.id].quantity_short == Decimal("2") and by_product[scarf.id].on_hand_after == Decimal("-2")
    assert by_product[shop.tea.id].quantity_short == Decimal("3")
    tea = by_product[shop.tea.id]
    assert tea.state == "open" and tea.store_id == shop.a.id and tea.warehouse_id == shop.warehouse_a.id
    assert tea.location_id == shop.loc_a.id and tea.source == sale["order_number"] and tea.created_at is not None
    # the next short sale of tea: everything it takes is short
    sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode}], CASH)
    assert _negatives(shop.tea)[-1].quantity_short == Decimal("1")
    from addons.warehouse import services as wh
    assert wh.verify() == []


def test_a_sale_that_fits_costs_no_statement_more_and_a_short_one_one_read(shop, cashier):
    open_session(cashier, shop.reg_a)
    sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode}], CASH)  # warm the caches

    def sale(qty):
        return lambda: sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode, "quantity": qty},
                                                  {"barcode": shop.cup.barcode}], CASH)
    fits = _statements(sale("1"))
    print("fitting sale statements", len(fits))
    short = _statements(sale("500"))
    print("short sale statements", len(short))
    assert not any("warehouse_negative_stock" in s for s in fits)
    # the one statement of the guarded decrease is the same: nothing is read per line
    def reads(log):  # reads of quants (the row locks PostgreSQL takes on the retry are not reads)
        return sum("warehouse_quant" in s and s.lstrip().upper().startswith("SELECT") and "FOR UPDATE" not in s
                   for s in log)
    assert reads(fits) == 0 and reads(short) == 1
    assert len(fits) == FITTING_SALE_STATEMENTS[db.session.get_bind().dialect.name]
    assert len(short) <= len(fits) + 10


# statements of a two-line till sale through the API (29 / 26 before till sales could go
# short, and before it posted its cost of goods: + 3, the entry number, the entry, its lines)
FITTING_SALE_STATEMENTS = {"sqlite": 32, "postgresql": 29}


def test_reservations_stay_strict_and_a_till_sale_past_them_is_flagged(shop, cashier):
    from addons.warehouse import services as wh
    reserved = wh.reserve(shop.cup.id, shop.loc_a.id, Decimal("100"), source="WEB-1")
    db.session.commit()
    with pytest.raises(InsufficientStock):
        wh.reserve(shop.cup.id, shop.loc_a.id, Decimal("1"), source="WEB-2")
    db.session.rollback()
    open_session(cashier, shop.reg_a)
    sell(cashier, shop.reg_a, [{"barcode": shop.cup.barcode}], CASH)  # the web order's cup is in the hand
    assert on_hand(shop, shop.cup) == Decimal("99") and reserved.id
    [flag] = _negatives(shop.cup)
    assert flag.quantity_short == Decimal("1") and flag.on_hand_after == Decimal("99")


def test_refusing_store_refuses_before_payment_naming_the_line(shop, cashier):
    _refuse(shop)
    open_session(cashier, shop.reg_a)
    url = f"/api/v1/pos/registers/{shop.reg_a.id}/check"
    ok = cashier.post(url, json={"lines": [{"code": shop.tea.barcode, "quantity": "2"}]})
    assert ok.status_code == 200 and ok.get_json() == {"ok": True, "policy": "refuse", "short": []}
    r = cashier.post(url, json={"lines": [{"code": shop.tea.barcode}, {"code": shop.cup.barcode, "quantity": "101"}]})
    assert r.status_code == 409, r.get_json()
    problem = r.get_json()
    assert problem["line"] == 2 and "Line 2 (Cup)" in problem["detail"] and "100.000" in problem["detail"]
    assert problem["lines"] == [{"line": 2, "product_id": shop.cup.id, "name": "Cup", "available": "100.000",
                                 "wanted": "101.000"}]
    # the sale itself is refused the same way, and nothing is written
    r = cashier.post("/api/v1/pos/sales", headers={"Idempotency-Key": "short-1"},
                     json={"register_id": shop.reg_a.id, "payments": CASH,
                           "lines": [{"code": shop.tea.barcode}, {"code": shop.cup.barcode, "quantity": "101"}]})
    assert r.status_code == 409 and "Line 2 (Cup)" in r.get_json()["detail"], r.get_json()
    assert on_hand(shop, shop.cup) == Decimal("100") and on_hand(shop, shop.tea) == Decimal("100")
    assert _negatives() == []


def test_recording_store_check_lists_the_short_lines(shop, cashier):
    scarf = _unstocked(shop)
    r = cashier.post(f"/api/v1/pos/registers/{shop.reg_a.id}/check",
                     json={"lines": [{"code": shop.tea.barcode}, {"code": scarf.barcode}]})
    assert r.status_code == 200
    assert r.get_json()["policy"] == "record" and [s["line"] for s in r.get_json()["short"]] == [2]


def test_store_choice_is_validated(shop):
    from core.errors import ValidationError
    from addons.warehouse import services as wh
    with pytest.raises(ValidationError):
        wh.set_till_short_stock(shop.warehouse_a.id, "maybe")


def test_admin_lists_exceptions_per_store_proposes_a_count_and_resolves(shop, cashier, client_as):
    from addons.warehouse.models import Count, CountLine, NegativeStock
    scarf = _unstocked(shop)
    open_session(cashier, shop.reg_a)
    sale = sell(cashier, shop.reg_a, [{"barcode": scarf.barcode}], CASH)
    [flag] = _negatives()
    perms = ("warehouse.negative.read", "warehouse.negative.propose_count", "warehouse.negative.resolve")
    manager_b = client_as(*perms, stores=[shop.b])
    assert sale["order_number"] not in manager_b.get("/admin/warehouse_negative/").get_data(as_text=True)
    manager = client_as(*perms, stores=[shop.a])
    page = manager.get("/admin/warehouse_negative/").get_data(as_text=True)
    assert sale["order_number"] in page and "Scarf" in page
    # another store's manager cannot act on it
    manager_b.submit("/admin/warehouse_negative/", {"action": "propose_count", "rowid": [str(flag.id)]},
                     post_url="/admin/warehouse_negative/action/")
    assert db.session.get(NegativeStock, flag.id).count_id is None
    r = manager.submit("/admin/warehouse_negative/", {"action": "propose_count", "rowid": [str(flag.id)]},
                       post_url="/admin/warehouse_negative/action/")
    assert r.status_code == 302
    db.session.expire_all()
    flag = db.session.get(NegativeStock, flag.id)
    count = db.session.get(Count, flag.count_id)
    assert count.state == "in_progress" and count.warehouse_id == shop.warehouse_a.id
    lines = db.session.scalars(sa.select(CountLine).where(CountLine.count_id == count.id)).all()
    assert [(l.product_id, l.expected) for l in lines] == [(scarf.id, Decimal("-1"))]
    manager.submit("/admin/warehouse_negative/", {"action": "resolve", "rowid": [str(flag.id)]},
                   post_url="/admin/warehouse_negative/action/")
    db.session.expire_all()
    assert db.session.get(NegativeStock, flag.id).state == "resolved"
    filtered = manager.get("/admin/warehouse_negative/?flt1_0=open").status_code
    assert filtered == 200
