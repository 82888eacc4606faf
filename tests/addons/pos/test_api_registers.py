"""Registers through the API: the back office adds a till to a store; the till lists and reads it."""
import pytest
import sqlalchemy as sa

from core.db import db

HUGE = 2**40


def _count():
    from addons.pos.models import PosRegister
    return db.session.scalar(sa.select(sa.func.count()).select_from(PosRegister))


def test_create_then_list_and_get_a_register(api_client, shop):
    manager = api_client("pos.register.create", "pos.sell")
    r = manager.post("/api/v1/pos/registers", json={"store_id": shop.a.id, "code": "R2", "name": "Till A2"})
    assert r.status_code == 201, r.get_json()
    reg = r.get_json()
    assert reg["store_id"] == shop.a.id and reg["code"] == "R2" and reg["open_session"] is None
    assert reg["id"] in [x["id"] for x in manager.get("/api/v1/pos/registers").get_json()]
    assert manager.get(f"/api/v1/pos/registers/{reg['id']}").get_json()["name"] == "Till A2"
    # a new register sells at once: it has its counters
    cashier = api_client("pos.sell", "pos.session")
    opened = cashier.post(f"/api/v1/pos/registers/{reg['id']}/sessions", json={"opening_float": "100"})
    assert opened.status_code == 201, opened.get_json()
    default_name = manager.post("/api/v1/pos/registers", json={"store_id": shop.b.id, "code": "R9"}).get_json()
    assert default_name["name"] == "R9"


@pytest.mark.parametrize("body,status", [
    ({"store_id": "x", "code": "R3"}, 422),
    ({"store_id": HUGE, "code": "R3"}, 422),
    ({"store_id": 999999, "code": "R3"}, 404),
    ({"store_id": 1, "code": ""}, 422),
    ({"store_id": 1, "code": "R 3"}, 422),
    ({"store_id": 1, "code": "R3\x00"}, 422),
    ({"store_id": 1, "code": "R3", "name": "x" * 129}, 422),
    ({"store_id": 1, "code": "R3", "till": 1}, 422),
    ({"store_id": 1}, 422),
])
def test_bad_registers_change_nothing(api_client, shop, body, status):
    manager = api_client("pos.register.create")
    if body.get("store_id") == 1:
        body = {**body, "store_id": shop.a.id}
    before = _count()
    r = manager.post("/api/v1/pos/registers", json=body)
    assert r.status_code == status and r.mimetype == "application/problem+json", r.get_json()
    assert _count() == before


def test_duplicate_other_store_and_missing_permission(api_client, shop):
    before = _count()
    manager = api_client("pos.register.create")
    r = manager.post("/api/v1/pos/registers", json={"store_id": shop.a.id, "code": "R1"})
    assert r.status_code == 409  # Shop A already has R1
    local = api_client("pos.register.create", stores=[shop.a])
    assert local.post("/api/v1/pos/registers", json={"store_id": shop.b.id, "code": "R5"}).status_code == 403
    cashier = api_client("pos.sell")
    r = cashier.post("/api/v1/pos/registers", json={"store_id": shop.a.id, "code": "R6"})
    assert r.status_code == 403 and r.get_json()["permission"] == "pos.register.create"
    assert _count() == before
    assert cashier.get(f"/api/v1/pos/registers/{HUGE}").status_code == 404
