"""The admin screens, through real HTTP with CSRF-checked forms."""
from __future__ import annotations

import io
from decimal import Decimal

import pypdf
import sqlalchemy as sa

from core.db import db

D = Decimal
BUYER = ["purchasing.order.read", "purchasing.order.create", "purchasing.order.confirm", "purchasing.order.send",
         "purchasing.receipt.receive", "purchasing.receipt.read", "purchasing.bill.read", "purchasing.bill.create",
         "purchasing.bill.post", "purchasing.replenish.read", "purchasing.replenish.run",
         "purchasing.replenish.edit", "purchasing.replenish.convert", "purchasing.performance.read",
         "purchasing.supplier.read"]


def test_new_order_receive_and_bill_in_the_admin(pw, client_as):
    ps = pw.ps
    client = client_as(*BUYER)
    r = client.submit("/admin/purchasing_orders/new", {
        "supplier_id": str(pw.supplier.id), "store_id": str(pw.shop.id), "supplier_ref": "",
        "lines": "PUR0 20\nPUR2 5 7.50\n", "confirm": "1"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    order = db.session.scalar(sa.select(ps.PurchaseOrder))
    assert order.state == "approved" and [(l.quantity, l.unit_price) for l in order.lines] == [
        (D(20), D("4.0000")), (D(5), D("7.5000"))]
    page = client.get(f"/admin/purchasing_orders/details/?id={order.id}").get_data(as_text=True)
    assert order.number in page and "Receive goods" in page and "Green tea" in page
    # bad input on the form: flashed, nothing written
    r = client.submit("/admin/purchasing_orders/new", {
        "supplier_id": str(pw.supplier.id), "store_id": str(pw.shop.id), "lines": "PUR-OLD 5 1.00"},
        follow_redirects=True)
    assert "inactive and cannot be ordered" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ps.PurchaseOrder)) == 1

    green, oolong = order.lines
    url = f"/admin/purchasing_orders/receive/{order.id}"
    r = client.submit(url, {f"qty_{green.id}": "12", f"damaged_{green.id}": "2", f"qty_{oolong.id}": "0"})
    assert r.status_code == 302
    db.session.refresh(green)
    assert green.received_qty == D(12) and green.damaged_qty == D(2)
    assert pw.ws.on_hand(pw.green.id, pw.wh_shop.id) == D(10)
    r = client.submit(url, {f"qty_{green.id}": "50", f"qty_{oolong.id}": "0"}, follow_redirects=True)
    assert "over-receipt tolerance" in r.get_data(as_text=True)
    client.submit(url, {f"qty_{green.id}": "8", f"qty_{oolong.id}": "5"})
    db.session.refresh(order)
    assert order.state == "received"

    r = client.get(f"/admin/purchasing_orders/pdf/{order.id}")
    assert r.mimetype == "application/pdf" and order.number in pypdf.PdfReader(io.BytesIO(r.data)).pages[0].extract_text()

    r = client.submit("/admin/purchasing_bills/enter", {"order": order.number, "supplier_ref": "S-1",
                                                        "lines": "PUR0 20 4.00\nPUR2 5 7.00", "post": "1"})
    assert r.status_code == 302
    bill = db.session.scalar(sa.select(ps.VendorBill))
    assert bill.state == "on_hold"
    listing = client.get("/admin/purchasing_bills/").get_data(as_text=True)
    assert "billed at 7.0000, ordered at 7.5000" in listing
    # this buyer cannot release: the action is not offered
    assert 'value="release"' not in listing


def test_release_action_needs_the_permission(pw, client_as):
    ps = pw.ps
    order = ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id,
                            lines=[{"product_id": pw.green.id, "quantity": D(4)}])
    ps.confirm_order(order.id)
    ps.receive_order(order.id)
    bill = ps.bill_from_receipts(order.id, prices={pw.green.id: D("5")})
    ps.post_bill(bill.id)
    db.session.commit()
    boss = client_as("purchasing.bill.read", "purchasing.release_bill")
    r = boss.submit("/admin/purchasing_bills/", {"action": "release", "rowid": str(bill.id)},
                    post_url="/admin/purchasing_bills/action/")
    assert r.status_code == 302
    db.session.refresh(bill)
    assert bill.state == "posted"


def test_replenishment_screen_runs_and_converts(pw, client_as):
    ws = pw.ws
    db.session.add(ws.ReorderRule(warehouse_id=pw.wh_shop.id, product_id=pw.green.id, min_qty=D(5),
                                  max_qty=D(12), multiple=D(1)))
    db.session.commit()
    client = client_as(*BUYER)
    r = client.submit("/admin/purchasing_replenish/", {"do": "run"}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "1 line(s) proposed" in page and "Tea Traders Ltd" in page
    lines = client.get("/admin/purchasing_proposals/").get_data(as_text=True)
    assert "PUR0" in lines
    r = client.submit("/admin/purchasing_replenish/", {"do": "convert"}, follow_redirects=True)
    assert "1 purchase order(s) and 0 transfer(s) created" in r.get_data(as_text=True)
    order = db.session.scalar(sa.select(pw.ps.PurchaseOrder))
    assert order.lines[0].quantity == D(12)
    assert "Supplier performance" in client.get("/admin/purchasing_performance/").get_data(as_text=True)


def test_screens_need_permissions_and_store_scope(pw, client_as):
    other = pw.ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id,
                               lines=[{"product_id": pw.green.id, "quantity": D(1)}])
    db.session.commit()
    nobody = client_as()
    assert nobody.get("/admin/purchasing_orders/").status_code == 403
    assert nobody.get("/admin/purchasing_replenish/").status_code == 403
    limited = client_as("purchasing.order.read", stores=[pw.shop_b])
    assert other.number not in limited.get("/admin/purchasing_orders/").get_data(as_text=True)
    full = client_as("purchasing.order.read", "purchasing.supplier.read")
    assert other.number in full.get("/admin/purchasing_orders/").get_data(as_text=True)
    assert "TT-G1" in full.get("/admin/purchasing_terms/").get_data(as_text=True)
