"""The store's choice for till sales short of stock and the negative-stock exceptions, through
the API (/api/v1/stock/...), as the admin's Warehouses form and Negative stock list do them."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db
from tests.addons.pos.conftest import cashier, on_hand, shop  # noqa: F401 (fixtures)
from tests.addons.pos.helpers import open_session, sell

CASH = [{"method": "cash", "amount": "9000"}]
HUGE = 2**40
ALL = ("warehouse.negative.read", "warehouse.negative.propose_count", "warehouse.negative.resolve",
       "warehouse.warehouse.read", "warehouse.warehouse.edit")


def _negatives():
    from addons.warehouse.models import NegativeStock
    return list(db.session.scalars(sa.select(NegativeStock).order_by(NegativeStock.id)))


def _short_sale(cashier, shop):  # noqa: F811
    open_session(cashier, shop.reg_a)
    return sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode, "quantity": "103"}], CASH)


def test_short_till_sale_listed_counted_and_resolved(api_client, shop, cashier):  # noqa: F811
    sale = _short_sale(cashier, shop)
    manager = api_client(*ALL, stores=[shop.a])
    page = manager.get("/api/v1/stock/negative-stock?state=open").get_json()
    [item] = page["items"]
    assert page["total"] == 1 and page["has_next"] is False
    assert item["product_id"] == shop.tea.id and item["product_name"] == "Green tea"
    assert Decimal(item["quantity_short"]) == Decimal("3") and Decimal(item["on_hand_after"]) == Decimal("-3")
    assert item["store_id"] == shop.a.id and item["source"] == sale["order_number"] and item["state"] == "open"
    by_store = manager.get(f"/api/v1/stock/negative-stock?store_id={shop.a.id}&per_page=1").get_json()
    assert [i["id"] for i in by_store["items"]] == [item["id"]]
    assert manager.get("/api/v1/stock/negative-stock?state=resolved").get_json()["items"] == []

    r = manager.post("/api/v1/stock/negative-stock/propose-count", json={"ids": [item["id"]]})
    assert r.status_code == 201, r.get_json()
    [count] = r.get_json()["counts"]
    assert count["warehouse_id"] == shop.warehouse_a.id and count["state"] == "in_progress", count
    assert [line["product_id"] for line in count["lines"]] == [shop.tea.id]
    assert Decimal(count["lines"][0]["expected"]) == Decimal("-3")
    listed = manager.get("/api/v1/stock/negative-stock").get_json()["items"][0]
    assert listed["count_id"] == count["id"]

    too_long = manager.post(f"/api/v1/stock/negative-stock/{item['id']}/resolve", json={"note": "x" * 257})
    assert too_long.status_code == 422 and _negatives()[0].state == "open"
    r = manager.post(f"/api/v1/stock/negative-stock/{item['id']}/resolve", json={"note": " counted, mis-scan "})
    assert r.status_code == 200, r.get_json()
    done = r.get_json()
    assert done["state"] == "resolved" and done["note"] == "counted, mis-scan"
    assert done["resolved_by_id"] == manager.user.id and done["resolved_at"]
    assert manager.get("/api/v1/stock/negative-stock?state=open").get_json()["items"] == []
    # resolving twice is a conflict and changes nothing
    again = manager.post(f"/api/v1/stock/negative-stock/{item['id']}/resolve", json={"note": "again"})
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert _negatives()[0].note == "counted, mis-scan"
    # a count for resolved exceptions only is refused too
    r = manager.post("/api/v1/stock/negative-stock/propose-count", json={"ids": [item["id"]]})
    assert r.status_code == 409


def test_policy_refuse_makes_the_next_short_till_sale_409_naming_the_line(api_client, shop, cashier):  # noqa: F811
    manager = api_client(*ALL, stores=[shop.a])
    url = f"/api/v1/stock/warehouses/{shop.warehouse_a.id}/till-short-stock"
    assert manager.get(url).get_json() == {"warehouse_id": shop.warehouse_a.id, "store_id": shop.a.id,
                                           "policy": "record"}
    r = manager.put(url, json={"policy": "refuse"})
    assert r.status_code == 200 and r.get_json()["policy"] == "refuse", r.get_json()
    assert manager.get(url).get_json()["policy"] == "refuse"
    open_session(cashier, shop.reg_a)
    r = cashier.post("/api/v1/pos/sales", headers={"Idempotency-Key": "neg-api-1"},
                     json={"register_id": shop.reg_a.id, "payments": CASH,
                           "lines": [{"code": shop.cup.barcode}, {"code": shop.tea.barcode, "quantity": "101"}]})
    assert r.status_code == 409 and "Line 2 (Green tea)" in r.get_json()["detail"], r.get_json()
    assert on_hand(shop, shop.tea) == Decimal("100") and on_hand(shop, shop.cup) == Decimal("100")
    assert _negatives() == []
    # and back to recording: the same sale goes through
    assert manager.put(url, json={"policy": "record"}).get_json()["policy"] == "record"
    sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode, "quantity": "101"}], CASH)
    assert len(_negatives()) == 1


@pytest.mark.parametrize("body", [{"policy": "maybe"}, {"policy": None}, {}, {"policy": "REFUSE"}, [],
                                  {"policy": "record\x00"}])
def test_unknown_policy_is_422_and_changes_nothing(api_client, shop, body):  # noqa: F811
    manager = api_client(*ALL)
    r = manager.put(f"/api/v1/stock/warehouses/{shop.warehouse_a.id}/till-short-stock", json=body)
    assert r.status_code == 422 and r.mimetype == "application/problem+json", r.get_json()
    db.session.expire_all()
    from addons.warehouse import services as wh
    assert wh.till_short_stock(shop.warehouse_a.id) == "record"


def test_ids_beyond_32_bits_and_unknown_ids(api_client, shop):  # noqa: F811
    manager = api_client(*ALL)
    for wid in (HUGE, 999999):
        url = f"/api/v1/stock/warehouses/{wid}/till-short-stock"
        assert manager.get(url).status_code == 404
        assert manager.put(url, json={"policy": "refuse"}).status_code == 404
    for nid in (HUGE, 999999):
        r = manager.post(f"/api/v1/stock/negative-stock/{nid}/resolve", json={})
        assert r.status_code == 404, r.get_json()
    r = manager.post("/api/v1/stock/negative-stock/propose-count", json={"ids": [999999]})
    assert r.status_code == 404, r.get_json()
    for body in ({"ids": [HUGE]}, {"ids": [0]}, {"ids": []}, {"ids": ["x"]}, {}, {"ids": [1] * 501}):
        r = manager.post("/api/v1/stock/negative-stock/propose-count", json=body)
        assert r.status_code == 422, (body, r.get_json())
    for query in (f"store_id={HUGE}", f"warehouse_id={HUGE}", "state=closed", "per_page=0", f"page={HUGE}"):
        r = manager.get(f"/api/v1/stock/negative-stock?{query}")
        assert r.status_code == 422, query


def test_another_stores_exceptions_and_warehouse_are_out_of_reach(api_client, shop, cashier):  # noqa: F811
    _short_sale(cashier, shop)
    [neg] = _negatives()
    other = api_client(*ALL, stores=[shop.b])
    assert other.get("/api/v1/stock/negative-stock").get_json()["items"] == []
    assert other.get("/api/v1/stock/negative-stock").get_json()["total"] == 0
    r = other.post(f"/api/v1/stock/negative-stock/{neg.id}/resolve", json={})
    assert r.status_code == 404, r.get_json()
    r = other.post("/api/v1/stock/negative-stock/propose-count", json={"ids": [neg.id]})
    assert r.status_code == 404, r.get_json()
    r = other.put(f"/api/v1/stock/warehouses/{shop.warehouse_a.id}/till-short-stock", json={"policy": "refuse"})
    assert r.status_code == 403, r.get_json()
    assert other.get(f"/api/v1/stock/warehouses/{shop.warehouse_a.id}/till-short-stock").status_code == 403
    db.session.expire_all()
    from addons.warehouse.models import Count
    [neg] = _negatives()
    assert neg.state == "open" and neg.count_id is None and db.session.scalar(sa.select(sa.func.count(Count.id))) == 0
    assert shop.warehouse_a.till_short_stock == "record"


def test_each_route_needs_its_permission(api_client, shop, cashier):  # noqa: F811
    _short_sale(cashier, shop)
    [neg] = _negatives()
    reader = api_client("warehouse.negative.read", "warehouse.warehouse.read")
    for method, url, body, perm in (
            ("put", f"/api/v1/stock/warehouses/{shop.warehouse_a.id}/till-short-stock", {"policy": "refuse"},
             "warehouse.warehouse.edit"),
            ("post", "/api/v1/stock/negative-stock/propose-count", {"ids": [neg.id]},
             "warehouse.negative.propose_count"),
            ("post", f"/api/v1/stock/negative-stock/{neg.id}/resolve", {}, "warehouse.negative.resolve")):
        r = getattr(reader, method)(url, json=body)
        assert r.status_code == 403 and r.get_json()["permission"] == perm, (url, r.get_json())
    r = api_client("warehouse.quant.read").get("/api/v1/stock/negative-stock")
    assert r.status_code == 403 and r.get_json()["permission"] == "warehouse.negative.read"
    assert api_client().client.get("/api/v1/stock/negative-stock").status_code == 401
    db.session.expire_all()
    [neg] = _negatives()
    assert neg.state == "open" and neg.count_id is None
    assert shop.warehouse_a.till_short_stock == "record"
