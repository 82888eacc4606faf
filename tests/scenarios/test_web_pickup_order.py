"""Scenario (issue 5): a web order for pickup reserves at confirmation and issues when
collected, with every built-in addon on (their listeners of the order events run too)."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from core.models import Partner, Product, Store, Tax, Unit

D = Decimal
PERMS = ("sales.order.read", "sales.order.create", "sales.order.confirm", "sales.order.pay", "sales.order.fulfil")


def test_web_order_for_pickup_reserves_at_confirmation_and_issues_when_collected(app, api_client):
    from addons.warehouse import services as wh
    pc = db.session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    tax = Tax(code="SC13", name="VAT 13%", rate=D("13"))
    web, shop = Store(code="SCWEB", name="Web"), Store(code="SCSHOP", name="Pickup shop")
    kettle = Product(sku="SC-KETTLE", name="Kettle", unit=pc, tax=tax, list_price=D("199.00"), cost=D("80"))
    customer = Partner(name="Zhang Min", is_customer=True, phone="13800000000")
    db.session.add_all([tax, web, shop, kettle, customer])
    db.session.flush()
    warehouse_id = wh.warehouse_for_store(shop.id).id
    wh.receive(kettle.id, wh.stock_location(warehouse_id).id, D("5"), D("80"), source="SC-INIT")

    front = api_client(*PERMS)
    r = front.post("/api/v1/sales/orders", json={
        "channel": "web", "store_id": web.id, "fulfilment": "pickup", "pickup_store_id": shop.id,
        "customer_id": customer.id, "external_ref": "WEB-1", "lines": [{"product_id": kettle.id, "quantity": "2"}]})
    assert r.status_code == 201, r.get_json()
    order = r.get_json()
    assert order["total"] == "398.00" and order["tax_total"] == "45.79"

    assert front.post(f"/api/v1/sales/orders/{order['id']}/confirm").status_code == 200
    assert (wh.on_hand(kettle.id, warehouse_id), wh.available(kettle.id, warehouse_id)) == (D("5"), D("3"))

    r = front.post(f"/api/v1/sales/orders/{order['id']}/pay",
                   json={"payments": [{"method": "wallet", "amount": "398.00", "reference": "WX-1"}]})
    assert r.status_code == 200, r.get_json()
    assert (wh.on_hand(kettle.id, warehouse_id), wh.available(kettle.id, warehouse_id)) == (D("5"), D("3"))

    counter = api_client("sales.order.read", "sales.order.fulfil", stores=[shop])
    r = counter.post(f"/api/v1/sales/orders/{order['id']}/fulfil")
    assert r.status_code == 200 and r.get_json()["state"] == "fulfilled", r.get_json()
    # on hand down once, the reservation gone
    assert (wh.on_hand(kettle.id, warehouse_id), wh.available(kettle.id, warehouse_id)) == (D("3"), D("3"))
    reservation = db.session.get(wh.Reservation, r.get_json()["lines"][0]["reservation_id"])
    assert reservation.state == "issued" and reservation.quantity == 0
    moves = db.session.scalars(sa.select(wh.StockMove).where(wh.StockMove.source == order["number"])).all()
    assert [m.quantity for m in moves] == [D("2")]
    assert wh.verify() == []
