"""A refund puts the returned goods back into the store's stock at the cost they left it,
unless the cashier says they are not resellable; the ledger and on-hand stay in step."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from tests.addons.pos.conftest import on_hand
from tests.addons.pos.helpers import open_session, sell

PAY = [{"method": "cash", "amount": "200"}]


def _moves(source):
    from addons.warehouse.models import StockMove
    return list(db.session.scalars(sa.select(StockMove).where(StockMove.source == source)))


def test_refund_restocks_at_the_issue_cost(shop, cashier):
    from addons.warehouse import services as wh
    open_session(cashier, shop.reg_a)
    start = on_hand(shop, shop.tea)
    sale = sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode, "quantity": "3"}], PAY)
    assert on_hand(shop, shop.tea) == start - 3
    issued = _moves(sale["order_number"])
    assert len(issued) == 1 and issued[0].quantity == Decimal("3")

    r = cashier.post(f"/api/v1/pos/sales/{sale['id']}/refund",
                     json={"idempotency_key": "back-2", "reason": "changed mind",
                           "lines": [{"product_id": shop.tea.id, "quantity": "2"}]})
    assert r.status_code == 201, r.get_json()
    refund = r.get_json()
    assert on_hand(shop, shop.tea) == start - 1
    back = _moves(refund["receipt"])
    assert len(back) == 1
    assert back[0].quantity == Decimal("2") and back[0].unit_cost == issued[0].unit_cost
    assert back[0].to_location_id == issued[0].from_location_id
    # a retry of the same refund restocks nothing more
    again = cashier.post(f"/api/v1/pos/sales/{sale['id']}/refund",
                         json={"idempotency_key": "back-2", "reason": "changed mind",
                               "lines": [{"product_id": shop.tea.id, "quantity": "2"}]})
    assert again.status_code == 200 and on_hand(shop, shop.tea) == start - 1
    assert wh.verify() == []


def test_refund_of_damaged_goods_does_not_restock(shop, cashier):
    open_session(cashier, shop.reg_a)
    start = on_hand(shop, shop.tea)
    sale = sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode}], PAY)
    r = cashier.post(f"/api/v1/pos/sales/{sale['id']}/refund",
                     json={"idempotency_key": "broken", "reason": "broken in the box", "restock": False})
    assert r.status_code == 201, r.get_json()
    assert on_hand(shop, shop.tea) == start - 1
    assert _moves(r.get_json()["receipt"]) == []
    bad = cashier.post(f"/api/v1/pos/sales/{sale['id']}/refund",
                       json={"idempotency_key": "x", "reason": "x", "restock": "maybe"})
    assert bad.status_code == 422
