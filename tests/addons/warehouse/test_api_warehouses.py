"""GET /api/v1/stock/warehouses: every warehouse with its store and kind, as the admin lists them."""
import pytest

from core.db import db

HUGE = 2**40


@pytest.fixture
def central(wh):
    from addons.warehouse.models import Warehouse
    central = wh.s.create_warehouse("CENTRAL", "Central warehouse", kind="central")
    db.session.commit()
    assert isinstance(central, Warehouse)
    return central


def test_warehouses_list_with_store_and_kind(api_client, wh, central):
    api = api_client("warehouse.warehouse.read")
    page = api.get("/api/v1/stock/warehouses?per_page=500").get_json()
    rows = {w["id"]: w for w in page["items"]}
    assert rows[wh.wh_a.id]["store_id"] == wh.store_a.id and rows[wh.wh_a.id]["store_code"] == "WHT-A"
    assert rows[wh.wh_a.id]["kind"] == "store"
    assert rows[central.id]["kind"] == "central" and rows[central.id]["store_id"] is None
    assert page["total"] == len(rows)
    centrals = {w["id"] for w in api.get("/api/v1/stock/warehouses?kind=central").get_json()["items"]}
    assert central.id in centrals and wh.wh_a.id not in centrals
    only_a = api.get(f"/api/v1/stock/warehouses?store_id={wh.store_a.id}").get_json()["items"]
    assert [w["id"] for w in only_a] == [wh.wh_a.id]
    first = api.get("/api/v1/stock/warehouses?per_page=1").get_json()
    assert len(first["items"]) == 1 and first["has_next"] is True


def test_a_store_limited_user_sees_only_their_stockrooms(api_client, wh, central):
    api = api_client("warehouse.warehouse.read", stores=[wh.store_a])
    assert [w["id"] for w in api.get("/api/v1/stock/warehouses").get_json()["items"]] == [wh.wh_a.id]


@pytest.mark.parametrize("query", ["kind=shop", "store_id=abc", f"store_id={HUGE}", "per_page=0",
                                   f"page={HUGE}", "active=maybe", "kind=%00"])
def test_bad_queries_are_422(api_client, wh, query):
    r = api_client("warehouse.warehouse.read").get(f"/api/v1/stock/warehouses?{query}")
    assert r.status_code == 422 and r.mimetype == "application/problem+json"


def test_listing_needs_the_permission(api_client, wh):
    r = api_client("warehouse.quant.read").get("/api/v1/stock/warehouses")
    assert r.status_code == 403 and r.get_json()["permission"] == "warehouse.warehouse.read"
    assert api_client().client.get("/api/v1/stock/warehouses").status_code == 401
