"""The /pos page (login, permission, CSRF-protected cookie calls) and the admin screens."""
from __future__ import annotations

import re

from core.db import db
from tests.addons.pos.helpers import open_session, sell


def _csrf(html):
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def test_till_page_needs_login_and_permission(app, shop, client_as):
    anon = app.test_client()
    r = anon.get("/pos/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    other = client_as("core.product.read")
    assert other.get("/pos/").status_code == 403
    cashier = client_as("pos.sell", "pos.session", stores=[shop.a])
    page = cashier.get("/pos/").get_data(as_text=True)
    assert "Till A1" in page and "Till B1" not in page
    assert cashier.get(f"/pos/till/{shop.reg_b.id}").status_code == 404
    till = cashier.get(f"/pos/till/{shop.reg_a.id}")
    assert till.status_code == 200
    assert cashier.get("/pos/static/till.js").status_code == 200


def test_cookie_session_calls_need_the_pages_csrf_token(shop, client_as):
    cashier = client_as("pos.sell", "pos.session", stores=[shop.a])
    db.session.commit()
    token = _csrf(cashier.get(f"/pos/till/{shop.reg_a.id}").get_data(as_text=True))
    r = cashier.post(f"/api/v1/pos/registers/{shop.reg_a.id}/sessions", json={"opening_float": "10"},
                     headers={"X-CSRFToken": "forged"})
    assert r.status_code == 403
    r = cashier.post(f"/api/v1/pos/registers/{shop.reg_a.id}/sessions", json={"opening_float": "10"},
                     headers={"X-CSRFToken": token})
    assert r.status_code == 201, r.get_json()
    r = cashier.post("/api/v1/pos/sales", headers={"X-CSRFToken": token, "Idempotency-Key": "web-1"},
                     json={"register_id": shop.reg_a.id, "lines": [{"code": shop.tea.barcode}],
                           "payments": [{"method": "cash", "amount": "20"}]})
    assert r.status_code == 201 and r.get_json()["change_given"] == "9.00"
    # reading the receipt changes nothing: no token needed; printing it (POST) records a print
    sale_id = r.get_json()["id"]
    assert cashier.get(f"/api/v1/pos/sales/{sale_id}/receipt.html").status_code == 200
    assert cashier.post(f"/api/v1/pos/sales/{sale_id}/receipt.html").status_code == 403
    assert cashier.post(f"/api/v1/pos/sales/{sale_id}/receipt.html",
                        headers={"X-CSRFToken": token}).status_code == 200
    fresh = cashier.get("/pos/csrf").get_json()["csrf_token"]
    assert fresh


def test_admin_lists_are_store_scoped(shop, cashier, client_as):
    from addons.pos import services
    sess = open_session(cashier, shop.reg_a)
    sale = sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode}], [{"method": "cash", "amount": "11"}])
    cashier.post(f"/api/v1/pos/sessions/{sess['id']}/close", json={"counts": {"cash": "110.00"},
                                                                   "difference_reason": "short"})
    services.open_session(shop.reg_b.id, "5")
    db.session.commit()
    perms = [f"pos.{t}.read" for t in ("register", "session_admin", "sale", "zreport", "journal")]
    manager_a = client_as(*perms, stores=[shop.a])
    page = manager_a.get("/admin/pos_session/").get_data(as_text=True)
    assert sess["name"] in page and "PB-R1-S00001" not in page
    assert "-CN¥1.00" in page and "short" in page and "111.00" in page
    details = manager_a.get(f"/admin/pos_session/details/?id={sess['id']}").get_data(as_text=True)
    assert "110.00" in details and "111.00" in details
    sales = manager_a.get(f"/admin/pos_sale/?search={sess['name']}").get_data(as_text=True)
    assert "11.00" in sales
    assert manager_a.get("/admin/pos_register/").status_code == 200
    z = manager_a.get("/admin/pos_zreport/").get_data(as_text=True)
    assert "/api/v1/pos/z-reports/" in z
    assert manager_a.get("/admin/pos_journal/").status_code == 200
    manager_b = client_as(*perms, stores=[shop.b])
    assert sess["name"] not in manager_b.get("/admin/pos_session/").get_data(as_text=True)
    assert manager_b.get(f"/admin/pos_session/details/?id={sess['id']}").status_code in (302, 404)
    assert sale["receipt"]


def test_admin_creates_a_register_for_its_own_store_only(shop, client_as):
    from addons.pos.models import PosRegister, PosRegisterCounter
    import sqlalchemy as sa
    manager = client_as("pos.register.read", "pos.register.create", stores=[shop.a])
    r = manager.submit("/admin/pos_register/new/", {"store": str(shop.a.id), "code": "R9", "name": "Till 9",
                                                     "active": "y"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    reg = db.session.scalar(sa.select(PosRegister).where(PosRegister.code == "R9"))
    assert reg is not None and reg.store_id == shop.a.id
    assert db.session.get(PosRegisterCounter, reg.id) is not None
    manager.submit("/admin/pos_register/new/", {"store": str(shop.b.id), "code": "R8", "name": "Till 8"})
    assert db.session.scalar(sa.select(PosRegister).where(PosRegister.code == "R8")) is None
