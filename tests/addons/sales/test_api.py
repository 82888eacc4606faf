"""The sales API through real HTTP: the web order for pickup, permissions, store scoping,
bad input refused as problem documents with nothing written."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db

from addons.sales.models import Order, OrderLine, Payment
from tests.addons.sales.conftest import count

D = Decimal
ALL = ("sales.order.read", "sales.order.create", "sales.order.confirm", "sales.order.pay", "sales.order.fulfil",
       "sales.order.cancel")


def test_web_order_for_pickup_reserves_at_confirmation_and_issues_when_collected(world, sales_api):
    """The scenario of the issue, through the API: on-hand down once, reservation gone."""
    web = sales_api(*ALL)
    r = web.post("/api/v1/sales/orders", json={
        "channel": "web", "store_id": world.web.id, "fulfilment": "pickup", "pickup_store_id": world.b.id,
        "customer_id": world.customer.id, "external_ref": "WEB-10023",
        "lines": [{"product_id": world.tea.id, "quantity": "2"}, {"product_id": world.rice.id, "quantity": "1.250"}]})
    assert r.status_code == 201, r.get_json()
    order = r.get_json()
    assert order["state"] == "draft" and order["total"] == "37.04"  # 25.80 + 11.2375 -> 11.24
    assert [l["total"] for l in order["lines"]] == ["25.80", "11.24"]
    assert world.stock(world.tea, world.b) == (D("10"), D("10"))

    r = web.post(f"/api/v1/sales/orders/{order['id']}/confirm")
    assert r.status_code == 200 and r.get_json()["state"] == "confirmed"
    assert world.stock(world.tea, world.b) == (D("10"), D("8"))
    assert world.stock(world.rice, world.b) == (D("10"), D("8.75"))

    r = web.post(f"/api/v1/sales/orders/{order['id']}/pay",
                 json={"payments": [{"method": "wallet", "amount": "37.04", "reference": "WX-8812"}]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "paid" and r.get_json()["payments"][0]["reference"] == "WX-8812"

    shop = sales_api("sales.order.read", "sales.order.fulfil", stores=[world.b])
    r = shop.post(f"/api/v1/sales/orders/{order['id']}/fulfil")
    assert r.status_code == 200 and r.get_json()["state"] == "fulfilled"
    assert world.stock(world.tea, world.b) == (D("8"), D("8"))
    assert world.stock(world.rice, world.b) == (D("8.75"), D("8.75"))
    reservations = [db.session.get(world.wh.Reservation, l["reservation_id"]) for l in r.get_json()["lines"]]
    assert {res.state for res in reservations} == {"issued"} and all(res.quantity == 0 for res in reservations)
    moves = db.session.scalars(sa.select(world.wh.StockMove).where(world.wh.StockMove.source == order["number"])).all()
    assert sorted(m.quantity for m in moves) == [D("1.25"), D("2")]

    r = web.get(f"/api/v1/sales/orders/{order['id']}")
    assert r.get_json()["fulfilled_at"] is not None


def test_till_sale_with_split_payment_and_change(world, sales_api):
    till = sales_api(*ALL)
    r = till.post("/api/v1/sales/orders", json={"channel": "pos", "store_id": world.a.id,
                                               "lines": [{"product_id": world.mug.id, "quantity": 1}]})
    oid = r.get_json()["id"]
    r = till.post(f"/api/v1/sales/orders/{oid}/pay", json={"payments": [
        {"method": "card", "amount": "5.00", "reference": "C1"}, {"method": "cash", "amount": "100"}]})
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["state"] == "fulfilled" and body["change_given"] == "80.00" and body["amount_paid"] == "25.00"
    assert [(p["method"], p["amount"], p["tendered"], p["change"]) for p in body["payments"]] == \
        [("card", "5.00", "5.00", "0.00"), ("cash", "20.00", "100.00", "80.00")]
    assert world.stock(world.mug, world.a) == (D("9"), D("9"))


def test_create_and_confirm_in_one_call(world, sales_api):
    r = sales_api(*ALL).post("/api/v1/sales/orders", json={
        "channel": "web", "store_id": world.a.id, "fulfilment": "delivery", "delivery_address": "1 Bund",
        "confirm": True, "lines": [{"product_id": world.mug.id, "quantity": "3"}]})
    assert r.status_code == 201 and r.get_json()["state"] == "confirmed"
    assert world.stock(world.mug, world.a) == (D("10"), D("7"))


@pytest.mark.parametrize("lines,status,detail", [
    ([{"product_id": "TEA", "quantity": "0"}], 422, "quantity of [TEA] Green tea must be more than zero"),
    ([{"product_id": "TEA", "quantity": "-1"}], 422, "must be more than zero"),
    ([{"product_id": 999999, "quantity": "1"}], 422, "there is no product with id 999999"),
    ([{"product_id": "OLD", "quantity": "1"}], 422, "no longer sold"),
    ([{"product_id": "TEA", "quantity": "abc"}], 422, "quantity"),
    ([], 422, "lines"),
])
def test_bad_lines_are_problem_documents_and_nothing_is_written(world, sales_api, lines, status, detail):
    ids = {"TEA": world.tea.id, "OLD": world.old.id}
    lines = [dict(l, product_id=ids.get(l["product_id"], l["product_id"])) for l in lines]
    before = count(Order), count(OrderLine)
    r = sales_api(*ALL).post("/api/v1/sales/orders", json={"channel": "pos", "store_id": world.a.id, "lines": lines})
    assert r.status_code == status, r.get_json()
    assert r.mimetype == "application/problem+json"
    assert detail in r.get_json()["detail"]
    assert (count(Order), count(OrderLine)) == before


def test_payments_not_covering_refused_nothing_written(world, sales_api):
    api = sales_api(*ALL)
    oid = api.post("/api/v1/sales/orders", json={"channel": "pos", "store_id": world.a.id,
                                                  "lines": [{"product_id": world.tea.id, "quantity": 2}]}).get_json()["id"]
    r = api.post(f"/api/v1/sales/orders/{oid}/pay", json={"payments": [{"method": "cash", "amount": "20"}]})
    assert r.status_code == 422 and "do not cover the total" in r.get_json()["detail"]
    assert r.get_json()["missing"] == "5.80"
    assert count(Payment) == 0
    assert api.get(f"/api/v1/sales/orders/{oid}").get_json()["state"] == "draft"
    assert world.stock(world.tea, world.a) == (D("10"), D("10"))


def test_confirm_twice_and_out_of_stock_are_conflicts(world, sales_api):
    api = sales_api(*ALL)
    oid = api.post("/api/v1/sales/orders", json={"channel": "web", "store_id": world.a.id, "fulfilment": "pickup",
                                                  "lines": [{"product_id": world.tea.id, "quantity": 6}]}).get_json()["id"]
    assert api.post(f"/api/v1/sales/orders/{oid}/confirm").status_code == 200
    r = api.post(f"/api/v1/sales/orders/{oid}/confirm")
    assert r.status_code == 409 and "already confirmed" in r.get_json()["detail"]
    other = api.post("/api/v1/sales/orders", json={"channel": "web", "store_id": world.a.id, "fulfilment": "pickup",
                                                    "lines": [{"product_id": world.mug.id, "quantity": 1},
                                                              {"product_id": world.tea.id, "quantity": 5}]}).get_json()["id"]
    r = api.post(f"/api/v1/sales/orders/{other}/confirm")
    assert r.status_code == 409 and r.get_json()["type"].endswith("insufficient-stock")
    assert "Green tea" in r.get_json()["detail"]
    assert api.get(f"/api/v1/sales/orders/{other}").get_json()["state"] == "draft"
    assert world.stock(world.mug, world.a) == (D("10"), D("10"))   # nothing reserved for the refused order
    assert world.stock(world.tea, world.a) == (D("10"), D("4"))


def test_cancel_through_the_api(world, sales_api):
    api = sales_api(*ALL)
    oid = api.post("/api/v1/sales/orders", json={"channel": "web", "store_id": world.a.id, "fulfilment": "pickup",
                                                  "confirm": True,
                                                  "lines": [{"product_id": world.tea.id, "quantity": 2}]}).get_json()["id"]
    assert world.stock(world.tea, world.a) == (D("10"), D("8"))
    r = api.post(f"/api/v1/sales/orders/{oid}/cancel", json={"reason": "out of time"})
    assert r.status_code == 200 and r.get_json()["state"] == "cancelled"
    assert world.stock(world.tea, world.a) == (D("10"), D("10"))
    assert api.post(f"/api/v1/sales/orders/{oid}/cancel", json={"reason": "again"}).status_code == 409
    assert api.post(f"/api/v1/sales/orders/{oid}/cancel", json={}).status_code == 422


def test_permissions_are_checked(world, sales_api):
    reader = sales_api("sales.order.read")
    r = reader.post("/api/v1/sales/orders", json={"channel": "pos", "store_id": world.a.id,
                                                  "lines": [{"product_id": world.tea.id, "quantity": 1}]})
    assert r.status_code == 403 and r.get_json()["permission"] == "sales.order.create"
    creator = sales_api("sales.order.create")
    r = creator.post("/api/v1/sales/orders", json={"channel": "pos", "store_id": world.a.id,
                                                   "lines": [{"product_id": world.tea.id, "quantity": 1,
                                                              "unit_price": "0.01"}]})
    assert r.status_code == 403 and "sales.order.price" in r.get_json()["detail"]
    assert count(Order) == 0
    assert sales_api().get("/api/v1/sales/orders").status_code == 403
    assert reader.get("/api/v1/sales/orders", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_store_scoped_users_see_and_touch_only_their_stores(world, sales_api):
    admin = sales_api(*ALL)
    in_a = admin.post("/api/v1/sales/orders", json={"channel": "pos", "store_id": world.a.id,
                                                    "lines": [{"product_id": world.tea.id, "quantity": 1}]}).get_json()
    in_b = admin.post("/api/v1/sales/orders", json={"channel": "pos", "store_id": world.b.id,
                                                    "lines": [{"product_id": world.tea.id, "quantity": 1}]}).get_json()
    clerk_a = sales_api(*ALL, stores=[world.a])
    listed = clerk_a.get("/api/v1/sales/orders").get_json()
    assert [o["number"] for o in listed["items"]] == [in_a["number"]] and listed["total"] == 1
    assert clerk_a.get(f"/api/v1/sales/orders/{in_b['id']}").status_code == 404
    assert clerk_a.post(f"/api/v1/sales/orders/{in_b['id']}/pay",
                        json={"payments": [{"method": "card", "amount": "12.90"}]}).status_code == 404
    r = clerk_a.post("/api/v1/sales/orders", json={"channel": "pos", "store_id": world.b.id,
                                                   "lines": [{"product_id": world.tea.id, "quantity": 1}]})
    assert r.status_code == 403
    assert count(Order) == 2


def test_list_filters(world, sales_api):
    api = sales_api(*ALL)
    for store, channel in ((world.a, "pos"), (world.a, "web"), (world.b, "web")):
        api.post("/api/v1/sales/orders", json={"channel": channel, "store_id": store.id,
                                              "lines": [{"product_id": world.tea.id, "quantity": 1}]})

    def total(**params):
        r = api.get("/api/v1/sales/orders", query_string=params)
        assert r.status_code == 200, r.get_json()
        return r.get_json()["total"]
    assert total() == 3
    assert total(channel="web") == 2
    assert total(channel="web", store_id=world.a.id) == 1
    assert total(state="draft") == 3 and total(state="paid") == 0
    assert api.get("/api/v1/sales/orders", query_string={"state": "lost"}).status_code == 422
    page = api.get("/api/v1/sales/orders", query_string={"per_page": 2}).get_json()
    assert len(page["items"]) == 2 and page["has_next"] is True


def test_payment_methods_and_channels_endpoints(world, sales_api):
    api = sales_api("sales.order.read")
    methods = api.get("/api/v1/sales/payment-methods").get_json()
    assert [(m["code"], m["is_cash"]) for m in methods][:2] == [("cash", True), ("card", False)]
    assert {c["code"] for c in api.get("/api/v1/sales/channels").get_json()} >= {"pos", "web"}


def test_openapi_lists_the_sales_routes(sales_app, sales_api):
    doc = sales_app.test_client().get("/api/v1/openapi.json").get_json()
    assert "/api/v1/sales/orders" in doc["paths"] or "/sales/orders" in str(doc["paths"])
