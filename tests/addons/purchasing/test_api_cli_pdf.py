"""API, CLI, the PDF and supplier performance, through real HTTP and real commands."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pypdf
import sqlalchemy as sa

from core.db import db

D = Decimal
ALL = ["purchasing.order.read", "purchasing.order.create", "purchasing.order.confirm", "purchasing.order.send",
       "purchasing.receipt.receive", "purchasing.receipt.read", "purchasing.bill.create", "purchasing.bill.read",
       "purchasing.bill.post", "purchasing.supplier.edit", "purchasing.supplier.read",
       "purchasing.replenish.run", "purchasing.replenish.read", "purchasing.replenish.edit",
       "purchasing.replenish.convert", "purchasing.performance.read"]


def test_order_to_bill_through_the_api(pw, api_client):
    buyer = api_client(*ALL)
    approver = api_client("purchasing.approve", "purchasing.order.read")
    releaser = api_client("purchasing.release_bill", "purchasing.bill.read")
    r = buyer.put("/api/v1/purchasing/terms", json={
        "supplier_id": pw.supplier.id, "product_id": pw.crisps.id, "unit_price": "2.50", "supplier_code": "TT-C9",
        "lead_time_days": 4, "breaks": [{"min_quantity": "500", "unit_price": "2.00"}]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["breaks"] == [{"min_quantity": "500.000", "unit_price": "2.0000"}]
    r = buyer.post("/api/v1/purchasing/orders", json={
        "supplier_id": pw.supplier.id, "store_id": pw.shop.id, "confirm": True,
        "lines": [{"product_id": pw.crisps.id, "quantity": "600"}, {"product_id": pw.green.id, "quantity": "10"}]})
    assert r.status_code == 201, r.get_json()
    order = r.get_json()
    # 600 x 2.00 + 10 x 4.00 = 1240 net: above the 1000 limit
    assert order["net_total"] == "1240.00" and order["state"] == "to_approve" and order["needs_approval"]
    oid = order["id"]
    # the buyer may not approve (no permission); the approver may
    assert buyer.post(f"/api/v1/purchasing/orders/{oid}/approve").status_code == 403
    r = approver.post(f"/api/v1/purchasing/orders/{oid}/approve")
    assert r.status_code == 200 and r.get_json()["state"] == "approved"
    r = buyer.post(f"/api/v1/purchasing/orders/{oid}/receipts", json={
        "lines": [{"product_id": pw.crisps.id, "quantity": "700"}]})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert "over-receipt tolerance" in r.get_json()["detail"]
    r = buyer.post(f"/api/v1/purchasing/orders/{oid}/receipts", json={
        "lines": [{"product_id": pw.crisps.id, "quantity": "600", "damaged": "5"},
                  {"product_id": pw.green.id, "quantity": "8", "close": True}]})
    assert r.status_code == 201, r.get_json()
    receipt = r.get_json()
    assert receipt["number"].startswith("GR/") and receipt["has_backorder"] is False
    assert buyer.get(f"/api/v1/purchasing/orders/{oid}").get_json()["state"] == "received"
    r = buyer.post(f"/api/v1/purchasing/orders/{oid}/bill", json={"supplier_ref": "A-1", "post": True})
    assert r.status_code == 201, r.get_json()
    bill = r.get_json()
    assert bill["state"] == "posted" and bill["matched"] is True and bill["mismatches"] == []
    assert buyer.get(f"/api/v1/purchasing/orders/{oid}").get_json()["state"] == "billed"

    # a second order billed at the wrong price: on hold, released by the releaser
    r = buyer.post("/api/v1/purchasing/orders", json={
        "supplier_id": pw.supplier.id, "store_id": pw.shop.id, "confirm": True,
        "lines": [{"product_id": pw.oolong.id, "quantity": "5"}]})
    oid2 = r.get_json()["id"]
    buyer.post(f"/api/v1/purchasing/orders/{oid2}/receipts", json={})
    r = buyer.post("/api/v1/purchasing/bills", json={
        "supplier_id": pw.supplier.id, "order_id": oid2, "supplier_ref": "A-2", "post": True,
        "lines": [{"product_id": pw.oolong.id, "quantity": "5", "unit_price": "9.00"}]})
    assert r.status_code == 201
    bill2 = r.get_json()
    assert bill2["state"] == "on_hold" and bill2["lines"][0]["price_matched"] is False
    assert bill2["mismatches"][0]["kind"] == "price"
    held = buyer.get("/api/v1/purchasing/bills?state=on_hold").get_json()
    assert [b["id"] for b in held["items"]] == [bill2["id"]]
    assert buyer.post(f"/api/v1/purchasing/bills/{bill2['id']}/release", json={}).status_code == 403
    r = releaser.post(f"/api/v1/purchasing/bills/{bill2['id']}/release", json={"note": "ok"})
    assert r.status_code == 200 and r.get_json()["state"] == "posted"
    # billing more than received is a 422 and writes nothing
    r = buyer.post("/api/v1/purchasing/bills", json={
        "supplier_id": pw.supplier.id, "order_id": oid2,
        "lines": [{"product_id": pw.oolong.id, "quantity": "1", "unit_price": "8.00"}]})
    assert r.status_code == 422 and "already billed" in r.get_json()["detail"]


def test_store_limited_users_see_only_their_stores(pw, api_client):
    mine = api_client("purchasing.order.read", "purchasing.order.create", stores=[pw.shop_b])
    other = pw.ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id,
                               lines=[{"product_id": pw.green.id, "quantity": D(1)}])
    db.session.commit()  # an API error rolls the shared session back to the last commit
    assert mine.get(f"/api/v1/purchasing/orders/{other.id}").status_code == 404
    assert mine.get("/api/v1/purchasing/orders").get_json()["items"] == []
    r = mine.post("/api/v1/purchasing/orders", json={"supplier_id": pw.supplier.id, "store_id": pw.shop.id,
                                                     "lines": [{"product_id": pw.green.id, "quantity": "1"}]})
    assert r.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(pw.ps.PurchaseOrder)) == 1


def test_purchase_order_pdf(pw, api_client):
    order = pw.ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id, supplier_ref="Q-77 & co",
                               lines=[{"product_id": pw.green.id, "quantity": D(120)},
                                      {"product_id": pw.jasmine.id, "quantity": D(12)}])
    pw.ps.confirm_order(order.id)
    r = api_client("purchasing.order.read").get(f"/api/v1/purchasing/orders/{order.id}/pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(r.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert order.number in text and "Tea Traders Ltd" in text and "Shop A" in text
    assert "TT-G1" in text and "Green tea" in text and "Jasmine tea" in text
    assert "3.50" in text  # the 100+ price break
    assert "492.00" in text  # net: 120 x 3.50 + 12 x 6.00
    assert order.expected_date.isoformat() in text and "Q-77 & co" in text
    assert "DRAFT" not in text
    assert reader.metadata.title == f"Purchase order {order.number}"


def test_replenish_cli_and_api(pw, app, api_client):
    ws = pw.ws
    db.session.add(ws.ReorderRule(warehouse_id=pw.wh_shop.id, product_id=pw.green.id, min_qty=D(10),
                                  max_qty=D(30), multiple=D(5)))
    db.session.add(ws.ReorderRule(warehouse_id=pw.wh_shop_b.id, product_id=pw.crisps.id, min_qty=D(4),
                                  max_qty=D(8), multiple=D(1)))
    db.session.flush()
    client = api_client(*ALL)
    r = client.post("/api/v1/purchasing/replenishment/runs", json={})
    assert r.status_code == 201, r.get_json()
    run = r.get_json()
    assert run["line_count"] == 2
    assert {(g["supplier_id"], g["warehouse_id"], g["quantity"]) for g in run["groups"]} == {
        (pw.supplier.id, pw.wh_shop.id, "30.000"), (pw.supplier2.id, pw.wh_shop_b.id, "8.000")}
    lines = client.get(f"/api/v1/purchasing/replenishment/runs/{run['id']}/lines").get_json()["items"]
    crisps = next(l for l in lines if l["product_id"] == pw.crisps.id)
    r = client.patch(f"/api/v1/purchasing/replenishment/lines/{crisps['id']}", json={"selected": False})
    assert r.status_code == 200 and r.get_json()["selected"] is False
    r = client.post(f"/api/v1/purchasing/replenishment/runs/{run['id']}/convert", json={"confirm": True})
    assert r.status_code == 200, r.get_json()
    [order] = r.get_json()["orders"]
    assert order["state"] == "approved" and order["net_total"] == "120.00"

    # the CLI: a new run picks up the crisps still missing and converts them
    runner = app.test_cli_runner()
    result = runner.invoke(args=["purchasing", "replenish", "--convert"])
    assert result.exit_code == 0, result.output
    assert "1 proposal line(s)" in result.output and "Snack Wholesale" in result.output
    assert "created 1 purchase order(s) and 0 transfer(s)" in result.output
    result = runner.invoke(args=["purchasing", "replenish"])
    assert "0 proposal line(s)" in result.output
    result = runner.invoke(args=["purchasing", "replenish", "--warehouse", "NOPE"])
    assert result.exit_code == 1 and "no warehouse with the code NOPE" in result.output
    result = runner.invoke(args=["purchasing", "orders"])
    assert result.exit_code == 0 and "PO/" in result.output


def test_supplier_performance_in_sql(pw, api_client):
    ps = pw.ps
    d0 = dt.date(2026, 10, 1)
    # supplier: lead time 5 days; first order on time and complete, second late and short
    a = ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id, order_date=d0,
                        lines=[{"product_id": pw.green.id, "quantity": D(10)}])
    ps.confirm_order(a.id)
    ps.receive_order(a.id, received_at=dt.datetime(2026, 10, 4, 10, tzinfo=dt.timezone.utc))
    b = ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id, order_date=d0,
                        lines=[{"product_id": pw.green.id, "quantity": D(10)}])
    ps.confirm_order(b.id)
    ps.receive_order(b.id, [{"product_id": pw.green.id, "quantity": D(6), "close": True}],
                     received_at=dt.datetime(2026, 10, 10, 10, tzinfo=dt.timezone.utc))
    rows = {r["supplier_id"]: r for r in ps.supplier_performance()}
    mine = rows[pw.supplier.id]
    assert mine["orders"] == 2 and mine["receipts"] == 2
    assert mine["on_time_rate"] == D("0.5000")
    assert mine["fill_rate"] == D("0.8000")  # 16 of 20
    assert mine["avg_lead_time_days"] == D("6.4")  # (3.42 + 9.42) / 2
    r = api_client("purchasing.performance.read").get("/api/v1/purchasing/performance")
    assert r.status_code == 200
    assert [i["fill_rate"] for i in r.get_json()["items"] if i["supplier_id"] == pw.supplier.id] == ["0.8000"]
