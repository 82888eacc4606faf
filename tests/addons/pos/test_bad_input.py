"""Bad input is refused with a clear message and nothing is written."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.db import db
from tests.addons.pos.conftest import on_hand
from tests.addons.pos.helpers import open_session, sell


def _counts():
    from addons.pos.models import PosJournalEntry, PosSale, PosSalePayment
    from addons.sales.models import Order
    from addons.warehouse.models import StockMove
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(m))
                 for m in (PosSale, PosSalePayment, PosJournalEntry, Order, StockMove))


def _refused(client, shop, body, status, words, key="bad-1"):
    before, stock = _counts(), on_hand(shop, shop.tea)
    r = client.post("/api/v1/pos/sales", headers={"Idempotency-Key": key},
                    json={"register_id": shop.reg_a.id, **body})
    assert r.status_code == status, r.get_json()
    problem = r.get_json()
    assert r.mimetype == "application/problem+json"
    for word in words:
        assert word in problem["detail"], problem
    assert _counts() == before and on_hand(shop, shop.tea) == stock
    return problem


GOOD_PAY = [{"method": "cash", "amount": "100"}]


def test_no_open_session(shop, cashier):
    _refused(cashier, shop, {"lines": [{"barcode": shop.tea.barcode}], "payments": GOOD_PAY}, 409,
             ["no open session", "PA/R1"])


@pytest.mark.parametrize("code, status, words", [
    ("4006381333924", 404, ["No product has the barcode 4006381333924"]),  # valid check digit, unknown
    ("4006381333932", 422, ["wrong check digit"]),
    ("NOPE-SKU", 404, ["NOPE-SKU"]),
])
def test_unknown_or_invalid_barcode(shop, cashier, code, status, words):
    open_session(cashier, shop.reg_a)
    _refused(cashier, shop, {"lines": [{"barcode": shop.tea.barcode}, {"code": code}], "payments": GOOD_PAY},
             status, words)


@pytest.mark.parametrize("quantity", ["0", "-1", "-0.5"])
def test_zero_or_negative_quantity(shop, cashier, quantity):
    open_session(cashier, shop.reg_a)
    _refused(cashier, shop, {"lines": [{"barcode": shop.tea.barcode, "quantity": quantity}],
                             "payments": GOOD_PAY}, 422, ["Green tea", "more than zero"])


def test_payments_not_covering(shop, cashier):
    open_session(cashier, shop.reg_a)
    _refused(cashier, shop, {"lines": [{"barcode": shop.tea.barcode, "quantity": "2"}],
                             "payments": [{"method": "cash", "amount": "10"}, {"method": "card", "amount": "5"}]},
             422, ["do not cover", "22.00"])


def test_sale_on_another_stores_register(shop, cashier):
    # the cashier works at store A; register B1 is in store B (even with an open session there)
    from addons.pos import services
    services.open_session(shop.reg_b.id, "10")
    before = _counts()
    r = cashier.post("/api/v1/pos/sales", headers={"Idempotency-Key": "b-1"}, json={
        "register_id": shop.reg_b.id, "lines": [{"barcode": shop.tea.barcode}], "payments": GOOD_PAY})
    assert r.status_code == 403 and "another store" in r.get_json()["detail"]
    assert _counts() == before
    assert cashier.post(f"/api/v1/pos/registers/{shop.reg_b.id}/sessions",
                        json={"opening_float": "1"}).status_code == 403


def test_closing_a_closed_session(shop, cashier):
    from addons.pos.models import PosSessionCount, PosZReport
    sess = open_session(cashier, shop.reg_a, "20")
    assert cashier.post(f"/api/v1/pos/sessions/{sess['id']}/close", json={"counts": {"cash": "20"}}).status_code == 200
    zs = db.session.scalar(sa.select(sa.func.count()).select_from(PosZReport))
    counts = db.session.scalar(sa.select(sa.func.count()).select_from(PosSessionCount))
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/close", json={"counts": {"cash": "25"}})
    assert r.status_code == 409 and "already closed" in r.get_json()["detail"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PosZReport)) == zs
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PosSessionCount)) == counts
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/cash", json={"kind": "in", "amount": "5", "reason": "x"})
    assert r.status_code == 409


def test_session_rules(shop, cashier):
    sess = open_session(cashier, shop.reg_a, "20")
    r = cashier.post(f"/api/v1/pos/registers/{shop.reg_a.id}/sessions", json={"opening_float": "20"})
    assert r.status_code == 409 and "already has an open session" in r.get_json()["detail"]
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/cash", json={"kind": "out", "amount": "5", "reason": " "})
    assert r.status_code == 422 and "reason" in r.get_json()["detail"]
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/cash", json={"kind": "out", "amount": "5",
                                                                      "reason": "bank deposit"})
    assert r.status_code == 201
    sell(cashier, shop.reg_a, [{"barcode": shop.cup.barcode}], [{"method": "card", "amount": "5.50"}])
    # a difference without a reason is refused; so is a missing method count
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/close", json={"counts": {"cash": "14", "card": "5.50"}})
    assert r.status_code == 422 and "reason" in r.get_json()["detail"]
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/close", json={"counts": {"cash": "15"}})
    assert r.status_code == 422 and "card" in r.get_json()["detail"]
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/close", json={"counts": {"cash": "15", "card": "5.50"}})
    assert r.status_code == 200
    assert r.get_json()["totals_by_method"] == {
        "card": {"expected": "5.50", "counted": "5.50", "difference": "0.00"},
        "cash": {"expected": "15.00", "counted": "15.00", "difference": "0.00"}}


def test_idempotency_key_rules(shop, cashier):
    open_session(cashier, shop.reg_a)
    body = {"register_id": shop.reg_a.id, "lines": [{"barcode": shop.tea.barcode}], "payments": GOOD_PAY}
    r = cashier.post("/api/v1/pos/sales", json=body)
    assert r.status_code == 422 and "idempotency key" in r.get_json()["detail"]
    assert cashier.post("/api/v1/pos/sales", json={**body, "idempotency_key": "abc"}).status_code == 201
    # same key, different sale: refused, not replayed
    other = {**body, "lines": [{"barcode": shop.cup.barcode}], "idempotency_key": "abc"}
    r = cashier.post("/api/v1/pos/sales", json=other)
    assert r.status_code == 409 and "different sale" in r.get_json()["detail"]
    # the session closes before the till's retry arrives: the retry still gets the first result
    first = cashier.post("/api/v1/pos/sales", json={**body, "idempotency_key": "abc"}).get_json()
    session_id = first["session_id"]
    assert cashier.post(f"/api/v1/pos/sessions/{session_id}/close",
                        json={"counts": {"cash": "111.00"}}).status_code == 200
    r = cashier.post("/api/v1/pos/sales", json={**body, "idempotency_key": "abc"})
    assert r.status_code == 200 and r.get_json() == first
    r = cashier.post("/api/v1/pos/sales", json={**body, "idempotency_key": "new"})
    assert r.status_code == 409 and "no open session" in r.get_json()["detail"]


def test_permissions_and_csrf(shop, api_client, client_as):
    nobody = api_client("core.product.read", stores=[shop.a])
    r = nobody.post("/api/v1/pos/sales", json={"register_id": shop.reg_a.id, "lines": [{"sku": "x"}],
                                               "payments": GOOD_PAY})
    assert r.status_code == 403
    assert shop.reg_a.id and api_client().client.get("/api/v1/pos/registers").status_code == 401
    # a logged-in browser without the page's CSRF token cannot sell
    web = client_as("pos.sell", "pos.session", stores=[shop.a])
    r = web.post(f"/api/v1/pos/registers/{shop.reg_a.id}/sessions", json={"opening_float": "1"})
    assert r.status_code == 403 and "token" in r.get_json()["detail"]


def test_refund_refusals(shop, cashier):
    from addons.pos.models import PosJournalEntry, PosSale
    open_session(cashier, shop.reg_a)
    sale = sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode}], GOOD_PAY)
    before = (db.session.scalar(sa.select(sa.func.count()).select_from(PosSale)),
              db.session.scalar(sa.select(sa.func.count()).select_from(PosJournalEntry)))
    url = f"/api/v1/pos/sales/{sale['id']}/refund"
    r = cashier.post(url, json={"idempotency_key": "r1", "reason": "x", "method": "bogus"})
    assert r.status_code == 422 and "bogus" in r.get_json()["detail"]
    r = cashier.post(url, json={"idempotency_key": "r2", "reason": "x",
                                "lines": [{"product_id": shop.tea.id, "quantity": "2"}]})
    assert r.status_code == 422 and "Only 1.000 of Green tea" in r.get_json()["detail"]
    r = cashier.post(url, json={"idempotency_key": "r3", "reason": "x",
                                "lines": [{"product_id": shop.cup.id, "quantity": "1"}]})
    assert r.status_code == 422 and "not on receipt" in r.get_json()["detail"]
    assert (db.session.scalar(sa.select(sa.func.count()).select_from(PosSale)),
            db.session.scalar(sa.select(sa.func.count()).select_from(PosJournalEntry))) == before
    assert cashier.post(url, json={"idempotency_key": "r4", "reason": "x"}).status_code == 201
    r = cashier.post(url, json={"idempotency_key": "r5", "reason": "x"})
    assert r.status_code == 409 and "already been refunded in full" in r.get_json()["detail"]
