"""A sale the server refuses after the till took the money is never dropped: it is kept on
the server as a needs-attention item until the store manager retries, converts or voids
it; the session cannot close meanwhile; a retry never records the sale twice. And the Z
report as JSON, with the figures of its PDF."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db
from tests.addons.pos.conftest import on_hand
from tests.addons.pos.helpers import open_session, pdf_text, sell

CASH = [{"method": "cash", "amount": "200"}]
HUGE = 2**40


@pytest.fixture
def manager(api_client, shop):
    return api_client("pos.sell", "pos.session", "pos.attention.read", "pos.attention.retry",
                      "pos.attention.convert", "pos.attention.void", stores=[shop.a])


def _queued(client, shop, lines, key, payments=(("cash", "1000"),)):
    payments = [{"method": m, "amount": a} for m, a in payments]
    return client.post("/api/v1/pos/sales", headers={"Idempotency-Key": key},
                       json={"register_id": shop.reg_a.id, "lines": lines, "payments": payments,
                             "queued_at": "2026-12-03T09:15:00Z"})


def _sales(key=None):
    from addons.pos.models import PosSale
    stmt = sa.select(sa.func.count()).select_from(PosSale).where(PosSale.receipt_number.is_not(None))
    if key:
        stmt = stmt.where(PosSale.idempotency_key == key)
    return db.session.scalar(stmt)


def _refuse(shop):
    from addons.warehouse import services as wh
    wh.set_till_short_stock(shop.warehouse_a.id, "refuse")
    db.session.commit()


def test_refused_queued_sale_is_kept_blocks_the_close_and_is_retried_once(shop, cashier, manager):
    from addons.pos.models import PosAttention
    from addons.warehouse import services as wh
    _refuse(shop)
    sess = open_session(cashier, shop.reg_a)
    r = _queued(cashier, shop, [{"code": shop.cup.barcode, "quantity": "150"}], "q-1")
    assert r.status_code == 409 and "Line 1 (Cup)" in r.get_json()["detail"]
    attention_id = r.get_json()["attention_id"]
    item = db.session.get(PosAttention, attention_id)
    assert item.state == "open" and item.session_id == sess["id"] and item.idempotency_key == "q-1"
    assert item.error_status == 409 and "Line 1 (Cup)" in item.error and item.queued_at.hour == 9
    assert item.data["lines"] == [{"code": shop.cup.barcode, "quantity": "150"}]
    # the till reports it too (it may not know the server kept it): the same item
    report = {"idempotency_key": "q-1", "error": "refused", "total": "825.00",
              "request": {"lines": [{"code": shop.cup.barcode, "quantity": "150"}],
                          "payments": [{"method": "cash", "amount": "1000"}]}}
    again = cashier.post(f"/api/v1/pos/registers/{shop.reg_a.id}/attention", json=report)
    assert again.status_code == 200 and again.get_json()["id"] == attention_id
    listed = cashier.get(f"/api/v1/pos/registers/{shop.reg_a.id}/attention").get_json()
    assert [a["id"] for a in listed] == [attention_id]
    # the session cannot close while it is open
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/close", json={"counts": {"cash": "100.00"}})
    assert r.status_code == 409 and "need attention" in r.get_json()["detail"]
    # a retry while the stock is still short is refused again, and the item stays open
    r = manager.post(f"/api/v1/pos/attention/{attention_id}/retry")
    assert r.status_code == 409 and db.session.get(PosAttention, attention_id).state == "open"
    # the shelf had the cups after all: the count finds them, the retry records the sale once
    wh.receive(shop.cup.id, shop.loc_a.id, Decimal("50"), Decimal("1"), source="found")
    db.session.commit()
    r = manager.post(f"/api/v1/pos/attention/{attention_id}/retry")
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    assert out["attention"]["state"] == "retried" and out["attention"]["sale_id"] == out["sale"]["id"]
    assert out["sale"]["session_id"] == sess["id"] and _sales("q-1") == 1
    assert on_hand(shop, shop.cup) == Decimal("0")
    # never twice: retrying again is refused, the till's own resend answers the same receipt
    assert manager.post(f"/api/v1/pos/attention/{attention_id}/retry").status_code == 409
    resend = _queued(cashier, shop, [{"code": shop.cup.barcode, "quantity": "150"}], "q-1")
    assert resend.status_code == 200 and resend.get_json()["receipt"] == out["sale"]["receipt"]
    assert _sales("q-1") == 1
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/close", json={"counts": {"cash": "925.00"}})
    assert r.status_code == 200, r.get_json()


def test_a_sale_for_a_closed_session_is_retried_in_the_new_one(shop, cashier, manager):
    first = open_session(cashier, shop.reg_a)
    assert cashier.post(f"/api/v1/pos/sessions/{first['id']}/close",
                        json={"counts": {"cash": "100.00"}}).status_code == 200
    r = _queued(cashier, shop, [{"code": shop.tea.barcode}], "late-1")
    assert r.status_code == 409 and r.get_json()["attention_id"]
    attention_id = r.get_json()["attention_id"]
    assert manager.post(f"/api/v1/pos/attention/{attention_id}/retry").status_code == 409  # no session
    second = open_session(cashier, shop.reg_a)
    r = manager.post(f"/api/v1/pos/attention/{attention_id}/retry")
    assert r.status_code == 201 and r.get_json()["sale"]["session_id"] == second["id"]


def test_archived_product_is_converted_once_and_void_needs_a_reason(shop, cashier, manager):
    from addons.pos.models import PosAttention
    sess = open_session(cashier, shop.reg_a)
    shop.cup.active = False  # archived in the back office while the till was offline
    db.session.commit()
    r = _queued(cashier, shop, [{"code": shop.cup.barcode}], "arch-1")
    assert r.status_code == 404
    attention_id = r.get_json()["attention_id"]
    assert manager.post(f"/api/v1/pos/attention/{attention_id}/retry").status_code == 404
    r = manager.post(f"/api/v1/pos/attention/{attention_id}/convert")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["attention"]["state"] == "converted" and r.get_json()["sale"]["total"] == "5.50"
    assert r.get_json()["sale"]["session_id"] == sess["id"]
    r = manager.post(f"/api/v1/pos/attention/{attention_id}/convert")
    assert r.status_code == 409 and "converted" in r.get_json()["detail"]
    assert _sales("arch-1") == 1
    # another refused sale: void needs a reason
    r = _queued(cashier, shop, [{"code": shop.cup.barcode}], "arch-2")
    other = r.get_json()["attention_id"]
    r = manager.post(f"/api/v1/pos/attention/{other}/void", json={"reason": "  "})
    assert r.status_code == 422 and "reason" in r.get_json()["detail"]
    assert manager.post(f"/api/v1/pos/attention/{other}/void", json={}).status_code == 422
    assert db.session.get(PosAttention, other).state == "open"
    r = manager.post(f"/api/v1/pos/attention/{other}/void", json={"reason": "money given back"})
    assert r.status_code == 200 and r.get_json()["state"] == "voided" and r.get_json()["reason"] == "money given back"
    assert manager.post(f"/api/v1/pos/attention/{other}/convert").status_code == 409
    assert _sales("arch-2") == 0


def test_attention_is_store_scoped_and_needs_its_permissions(shop, cashier, api_client):
    r = _queued(cashier, shop, [{"code": shop.tea.barcode}], "no-session")
    attention_id = r.get_json()["attention_id"]
    other = api_client("pos.sell", "pos.attention.void", stores=[shop.b])
    assert other.get(f"/api/v1/pos/attention/{attention_id}").status_code == 403
    assert other.post(f"/api/v1/pos/attention/{attention_id}/void", json={"reason": "x"}).status_code == 403
    assert cashier.post(f"/api/v1/pos/attention/{attention_id}/retry").status_code == 403  # a cashier only
    # a sale not marked as taken is only refused (the till reports it itself if it took the money)
    from addons.pos.models import PosAttention
    r = cashier.post("/api/v1/pos/sales", headers={"Idempotency-Key": "plain"},
                     json={"register_id": shop.reg_a.id, "lines": [{"code": shop.tea.barcode}], "payments": CASH})
    assert r.status_code == 409 and "attention_id" not in r.get_json()
    assert db.session.scalar(sa.select(PosAttention.id).where(PosAttention.idempotency_key == "plain")) is None


def test_bad_input_and_ids_beyond_32_bits(shop, cashier, manager):
    sess = open_session(cashier, shop.reg_a)
    for url in (f"/api/v1/pos/attention/{HUGE}", f"/api/v1/pos/sessions/{HUGE}/z", f"/api/v1/pos/sessions/{HUGE}",
                f"/api/v1/pos/z-reports/{HUGE}.pdf", f"/api/v1/pos/sales/{HUGE}/receipt.pdf",
                f"/api/v1/pos/registers/{HUGE}/attention", f"/api/v1/pos/registers/{HUGE}"):
        r = manager.get(url)
        assert r.status_code == 404, (url, r.status_code)
    for url, body in ((f"/api/v1/pos/attention/{HUGE}/retry", None), (f"/api/v1/pos/attention/{HUGE}/convert", None),
                      (f"/api/v1/pos/attention/{HUGE}/void", {"reason": "x"}),
                      (f"/api/v1/pos/registers/{HUGE}/check", {"lines": [{"code": shop.tea.barcode}]}),
                      (f"/api/v1/pos/sessions/{HUGE}/close", {"counts": {}})):
        r = manager.post(url, json=body) if body is not None else manager.post(url)
        assert r.status_code == 404, (url, r.status_code, r.get_json())
    r = manager.post("/api/v1/pos/sales", headers={"Idempotency-Key": "huge"},
                     json={"register_id": HUGE, "lines": [{"code": "x"}], "payments": CASH})
    assert r.status_code in (404, 422)
    r = cashier.post(f"/api/v1/pos/sales/{HUGE}/refund", json={"idempotency_key": "rh", "reason": "x"})
    assert r.status_code == 404
    r = manager.post("/api/v1/pos/sales", headers={"Idempotency-Key": "huge-c"},
                     json={"register_id": shop.reg_a.id, "lines": [{"code": shop.tea.barcode}], "payments": CASH,
                           "customer_id": HUGE})
    assert r.status_code == 422  # an id in a body beyond its column's range: invalid input (issue 11)
    r = manager.post("/api/v1/pos/sales", headers={"Idempotency-Key": "huge-p"},
                     json={"register_id": shop.reg_a.id, "lines": [{"product_id": HUGE}], "payments": CASH})
    assert r.status_code == 422
    r = manager.post(f"/api/v1/pos/registers/{shop.reg_a.id}/attention",
                     json={"idempotency_key": "x", "error": "e", "request": {"lines": [], "payments": []}})
    assert r.status_code == 422
    r = manager.post(f"/api/v1/pos/registers/{shop.reg_a.id}/attention",
                     json={"idempotency_key": "x", "error": "e", "queued_at": "yesterday",
                           "request": {"lines": [{"code": "1"}], "payments": CASH}})
    assert r.status_code == 422
    r = manager.post(f"/api/v1/pos/registers/{shop.reg_a.id}/check", json={"lines": []})
    assert r.status_code == 422
    r = manager.post(f"/api/v1/pos/registers/{shop.reg_a.id}/check", json={"lines": [{"code": "nope"}]})
    assert r.status_code == 404
    # an open session has no Z report yet
    assert manager.get(f"/api/v1/pos/sessions/{sess['id']}/z").status_code == 404


def test_z_report_json_has_the_figures_of_its_pdf(shop, cashier, client_as):
    sess = open_session(cashier, shop.reg_a)
    sell(cashier, shop.reg_a, [{"code": shop.tea.barcode, "quantity": "2"}, {"code": shop.cup.barcode,
                                                                            "discount": "10"}], CASH)
    sell(cashier, shop.reg_a, [{"code": shop.cup.barcode}], [{"method": "card", "amount": "5.50"}])
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/close",
                     json={"counts": {"cash": "126.00", "card": "5.50"}, "difference_reason": "coin"})
    assert r.status_code == 200, r.get_json()
    z = cashier.get(f"/api/v1/pos/sessions/{sess['id']}/z")
    assert z.status_code == 200
    data = z.get_json()
    text = pdf_text(cashier.get(data["pdf"]).data)
    assert data["number"] == 1 and f"Z REPORT {data['number']:06d}" in text
    for label, key in (("Sales count", "sales_count"), ("Sales total", "sales_total"), ("Tax total", "tax_total"),
                       ("Cash difference", "cash_difference"), ("Grand total (perpetual)", "grand_total"),
                       ("Refunds total", "refunds_total"), ("Discounts", "discounts_total")):
        match = re.search(re.escape(label) + r"[^0-9-]*(-?[0-9.]+)", text)
        assert match, (label, text)
        assert match.group(1) == str(data[key]), (label, match.group(1), data[key])
    for method, t in data["methods"].items():
        assert f"{t['expected']} / {t['counted']} {t['difference']}" in text
    assert data["sales_total"] == "32.45" and data["cash_difference"] == "-0.95"
    # the browser reads the PDF with its login cookie and no CSRF token: a read needs none
    web = client_as("pos.sell", "pos.session", stores=[shop.a])
    assert web.get(data["pdf"]).status_code == 200
    assert web.get(f"/api/v1/pos/sessions/{sess['id']}/z").status_code == 200
    assert web.post(data["pdf"]).status_code == 403  # printing is a state change: it needs the token
    # documented in OpenAPI with its figures
    spec = cashier.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/api/v1/pos/sessions/{session_id}/z"]["get"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    props = spec["components"]["schemas"][name]["properties"]
    assert {"sales_total", "tax_total", "grand_total", "methods", "taxes", "register"} <= set(props)
    assert "/api/v1/pos/registers/{register_id}/check" in spec["paths"]
    assert "/api/v1/pos/attention/{attention_id}/void" in spec["paths"]


def test_till_script_texts_come_translated_from_the_page(shop, client_as):
    import html
    import json
    from pathlib import Path
    from addons.pos.web import TILL_TEXTS
    script = (Path(__file__).resolve().parents[3] / "addons/pos/static/till.js").read_text(encoding="utf-8")
    asked = set(re.findall(r'\bT\("((?:[^"\\]|\\.)*)"', script))
    assert asked == {t._args[0] for t in TILL_TEXTS}  # every text the script shows is marked here
    web = client_as("pos.sell", stores=[shop.a])
    page = web.get(f"/pos/till/{shop.reg_a.id}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    messages = json.loads(html.unescape(re.search(r"data-messages='([^']*)'", page).group(1)))
    assert messages["offline"] == "离线" and messages["Not sold: %(detail)s"] == "未售出：%(detail)s"
    assert "需要处理" in page


def test_admin_resolves_refused_sales_of_its_stores(shop, cashier, client_as):
    from addons.pos.models import PosAttention
    open_session(cashier, shop.reg_a)
    shop.cup.active = False
    db.session.commit()
    ids = [_queued(cashier, shop, [{"code": shop.cup.barcode}], f"adm-{n}").get_json()["attention_id"]
           for n in range(3)]
    perms = ("pos.attention.read", "pos.attention.retry", "pos.attention.convert", "pos.attention.void")
    other = client_as(*perms, stores=[shop.b])
    assert "adm-0" not in other.get("/admin/pos_attention/").get_data(as_text=True)
    manager = client_as(*perms, stores=[shop.a])
    page = manager.get("/admin/pos_attention/?search=adm").get_data(as_text=True)
    assert all(f'value="{i}"' in page for i in ids) and shop.cup.barcode in page
    # retry: still archived, refused, flashed, still open
    r = manager.submit("/admin/pos_attention/", {"action": "retry", "rowid": [str(ids[0])]},
                       post_url="/admin/pos_attention/action/", follow_redirects=True)
    assert "no product" in r.get_data(as_text=True).lower()
    assert db.session.get(PosAttention, ids[0]).state == "open"
    manager.submit("/admin/pos_attention/", {"action": "convert", "rowid": [str(ids[0])]},
                   post_url="/admin/pos_attention/action/")
    db.session.expire_all()
    assert db.session.get(PosAttention, ids[0]).state == "converted" and _sales("adm-0") == 1
    # void needs a reason; another store's manager cannot
    assert other.get(f"/admin/pos_attention/void/{ids[1]}").status_code in (302, 404)
    r = manager.submit(f"/admin/pos_attention/void/{ids[1]}", {"reason": ""}, follow_redirects=True)
    assert "reason" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PosAttention, ids[1]).state == "open"
    manager.submit(f"/admin/pos_attention/void/{ids[1]}", {"reason": "refunded in cash"})
    db.session.expire_all()
    item = db.session.get(PosAttention, ids[1])
    assert item.state == "voided" and item.reason == "refunded in cash" and item.resolved_by_id is not None
