"""The issue's check: order for a store, receive in two parts with a short line, bill with a
wrong price; then a replenishment run from reorder rules proposes exactly the shortfalls."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from core.plugins import hookimpl

D = Decimal


class Listener:
    def __init__(self):
        self.receipts, self.bills = [], []

    @hookimpl
    def o2o_goods_received(self, receipt):
        self.receipts.append({"number": receipt.number, "store_id": receipt.store_id,
                              "warehouse_id": receipt.warehouse_id, "supplier_id": receipt.supplier_id,
                              "order_id": receipt.order_id, "received_at": receipt.received_at,
                              "lines": [(l.product_id, l.quantity, l.unit_cost, l.value) for l in receipt.lines]})

    @hookimpl
    def o2o_vendor_bill_posted(self, bill):
        self.bills.append({"number": bill.number, "total": bill.total, "net": bill.net_total, "tax": bill.tax_total,
                           "supplier_ref": bill.supplier_ref, "due_date": bill.due_date,
                           "lines": [(l.product_id, l.quantity, l.unit_price, l.net_amount, l.tax_amount)
                                     for l in bill.lines]})


def test_order_receive_twice_short_line_bill_wrong_price(pw, temp_plugin):
    ps, ws = pw.ps, pw.ws
    listener = temp_plugin(Listener())
    # stock before: 10 green tea at 3.00
    ws.receive(pw.green.id, pw.loc_shop.id, D(10), D("3.00"), source="OPENING")
    today = dt.date(2026, 11, 2)
    order = ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id, order_date=today, user=pw.clerk,
                            lines=[{"product_id": pw.green.id, "quantity": D(50)},
                                   {"product_id": pw.jasmine.id, "quantity": D(24)},
                                   {"product_id": pw.oolong.id, "quantity": D(10)}])
    assert order.number == f"PO/2026/{order.number[-5:]}" and order.number.startswith("PO/2026/0")
    assert order.warehouse_id == pw.wh_shop.id and order.store_id == pw.shop.id
    assert [l.unit_price for l in order.lines] == [D("4.0000"), D("6.0000"), D("8.0000")]
    assert order.lines[0].supplier_code == "TT-G1"
    assert order.net_total == D("424.00") and order.tax_total == D("55.12") and order.total == D("479.12")
    # the longest lead time (jasmine, 10 days) gives the expected date
    assert order.expected_date == today + dt.timedelta(days=10)
    assert order.lines[2].expected_date == today + dt.timedelta(days=3)
    ps.confirm_order(order.id, user=pw.clerk)
    assert order.state == "approved"  # 479.12 is within the 1000.00 limit
    ps.send_order(order.id)
    assert order.state == "sent"

    # first delivery: 30 of 50 green, all jasmine, 4 oolong of which 1 damaged
    r1 = ps.receive_order(order.id, [{"product_id": pw.green.id, "quantity": D(30)},
                                     {"product_id": pw.jasmine.id, "quantity": D(24)},
                                     {"product_id": pw.oolong.id, "quantity": D(4), "damaged": D(1)}],
                          received_at=dt.datetime(2026, 11, 6, 9, 0, tzinfo=dt.timezone.utc))
    assert order.state == "partly_received"
    assert r1.has_backorder and r1.backorder_qty == D(26)  # 20 green + 6 oolong
    assert {l.product_id: l.outstanding for l in order.backorder} == {pw.green.id: D(20), pw.oolong.id: D(6)}
    assert ws.on_hand(pw.green.id, pw.wh_shop.id) == D(40)
    assert ws.on_hand(pw.jasmine.id, pw.wh_shop.id) == D(24)
    assert ws.on_hand(pw.oolong.id, pw.wh_shop.id) == D(3)  # the damaged one was scrapped
    # (10 x 3.00 + 30 x 4.00) / 40 = 3.75
    assert ws.average_cost(pw.green.id) == D("3.7500")
    assert r1.value == D("30") * 4 + D("24") * 6 + D("4") * 8

    # second delivery: the rest of the green, 4 more oolong and the supplier says that is all
    r2 = ps.receive_order(order.id, [{"product_id": pw.green.id, "quantity": D(20)},
                                     {"product_id": pw.oolong.id, "quantity": D(4), "close": True}],
                          received_at=dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc))
    assert order.state == "received" and not r2.has_backorder and order.backorder == []
    oolong_line = order.lines[2]
    assert oolong_line.closed and oolong_line.received_qty == D(8) and oolong_line.short_qty == D(2)
    assert ws.on_hand(pw.green.id, pw.wh_shop.id) == D(60)
    assert ws.on_hand(pw.oolong.id, pw.wh_shop.id) == D(7)
    # (40 x 3.75 + 20 x 4.00) / 60 = 3.8333
    assert ws.average_cost(pw.green.id) == D("3.8333")
    assert ws.average_cost(pw.oolong.id) == D("8.0000")
    assert ws.verify() == []

    # the events carried what finance needs
    assert [e["number"] for e in listener.receipts] == [r1.number, r2.number]
    first = listener.receipts[0]
    assert first["store_id"] == pw.shop.id and first["supplier_id"] == pw.supplier.id
    assert (pw.oolong.id, D(4), D("8.0000"), D("32.00")) in first["lines"]

    # the supplier bills green tea at 4.20 instead of 4.00
    bill = ps.bill_from_receipts(order.id, supplier_ref="INV-7781", bill_date=dt.date(2026, 11, 21),
                                 prices={pw.green.id: D("4.20")})
    assert [(l.product_id, l.quantity, l.unit_price) for l in bill.lines] == [
        (pw.green.id, D(50), D("4.2000")), (pw.jasmine.id, D(24), D("6.0000")), (pw.oolong.id, D(8), D("8.0000"))]
    ps.post_bill(bill.id, user=pw.clerk)
    assert bill.state == "on_hold" and bill.matched is False
    flags = {l.product_id: (l.quantity_matched, l.price_matched) for l in bill.lines}
    assert flags == {pw.green.id: (True, False), pw.jasmine.id: (True, True), pw.oolong.id: (True, True)}
    assert [(m.kind, m.product_id, m.ordered, m.billed) for m in bill.mismatches] == [
        ("price", pw.green.id, D("4.0000"), D("4.2000"))]
    assert "4.2000" in bill.mismatches[0].message and "Green tea" in bill.mismatches[0].message
    assert listener.bills == [] and order.state == "received"

    # a clerk cannot release it; the boss can
    import pytest
    from core.errors import PermissionDenied
    with pytest.raises(PermissionDenied):
        ps.release_bill(bill.id, user=pw.clerk)
    assert bill.state == "on_hold"
    ps.release_bill(bill.id, user=pw.boss, note="price rise accepted")
    assert bill.state == "posted" and bill.released_by_id == pw.boss.id
    # 50 x 4.20 + 24 x 6 + 8 x 8 = 418.00; tax 27.30 + 18.72 + 8.32 = 54.34
    assert bill.net_total == D("418.00") and bill.tax_total == D("54.34") and bill.total == D("472.34")
    assert len(listener.bills) == 1 and listener.bills[0]["total"] == D("472.34")
    assert listener.bills[0]["due_date"] == dt.date(2026, 12, 21)
    assert order.state == "billed"


def test_replenishment_proposes_exactly_the_shortfalls(pw):
    ps, ws = pw.ps, pw.ws
    R = ws.ReorderRule
    # stock: shop has 60 green, 24 jasmine, 7 oolong; the DC has 100 oolong
    ws.receive(pw.green.id, pw.loc_shop.id, D(60), D("4.00"), source="OPENING")
    ws.receive(pw.jasmine.id, pw.loc_shop.id, D(24), D("6.00"), source="OPENING")
    ws.receive(pw.oolong.id, pw.loc_shop.id, D(7), D("8.00"), source="OPENING")
    ws.receive(pw.oolong.id, pw.loc_dc.id, D(100), D("8.00"), source="OPENING")
    db.session.add_all([
        R(warehouse_id=pw.wh_shop.id, product_id=pw.green.id, min_qty=D(80), max_qty=D(100), multiple=D(1)),
        R(warehouse_id=pw.wh_shop.id, product_id=pw.jasmine.id, min_qty=D(30), max_qty=D(48), multiple=D(6)),
        R(warehouse_id=pw.wh_shop.id, product_id=pw.oolong.id, min_qty=D(2), max_qty=D(10), multiple=D(1)),
        R(warehouse_id=pw.wh_shop.id, product_id=pw.crisps.id, min_qty=D(5), max_qty=D(10), multiple=D(1)),
        R(warehouse_id=pw.wh_shop_b.id, product_id=pw.oolong.id, min_qty=D(10), max_qty=D(20), multiple=D(1)),
        R(warehouse_id=pw.wh_shop_b.id, product_id=pw.inactive.id, min_qty=D(10), max_qty=D(20), multiple=D(1)),
    ])
    db.session.flush()
    # 3 crisps are already on order for the shop
    po = ps.create_order(supplier_id=pw.supplier2.id, store_id=pw.shop.id,
                         lines=[{"product_id": pw.crisps.id, "quantity": D(3)}])
    ps.confirm_order(po.id)

    run = ps.run_replenishment()
    lines = db.session.scalars(sa.select(ps.ProposalLine).where(ps.ProposalLine.run_id == run.id)).all()
    got = {(l.product_id, l.warehouse_id): (l.action, l.supplier_id, l.source_warehouse_id, l.shortfall, l.quantity)
           for l in lines}
    assert got == {
        (pw.green.id, pw.wh_shop.id): ("buy", pw.supplier.id, None, D(40), D(40)),
        (pw.jasmine.id, pw.wh_shop.id): ("buy", pw.supplier.id, None, D(24), D(24)),
        (pw.crisps.id, pw.wh_shop.id): ("buy", pw.supplier2.id, None, D(7), D(7)),
        (pw.oolong.id, pw.wh_shop_b.id): ("transfer", None, pw.wh_dc.id, D(20), D(20)),
    }
    assert run.line_count == 4
    # the warehouse's own proposal agrees, apart from the crisps already on order (and the
    # inactive product, which purchasing never proposes)
    theirs = {(p["product_id"], p["warehouse_id"]): p["quantity"] for p in ws.replenishment_proposal()
              if p["product_id"] != pw.inactive.id}
    assert theirs == {(pw.green.id, pw.wh_shop.id): D(40), (pw.jasmine.id, pw.wh_shop.id): D(24),
                      (pw.crisps.id, pw.wh_shop.id): D(10), (pw.oolong.id, pw.wh_shop_b.id): D(20)}

    groups = ps.run_groups(run.id)
    assert [(g["action"], g["supplier_id"], g["warehouse_id"], g["lines"]) for g in groups] == [
        ("buy", pw.supplier2.id, pw.wh_shop.id, 1), ("buy", pw.supplier.id, pw.wh_shop.id, 2),
        ("transfer", None, pw.wh_shop_b.id, 1)]

    # the buyer raises the green tea to 100 (a price break) and turns the run into orders at once
    green_line = next(l for l in lines if l.product_id == pw.green.id)
    ps.update_proposal_line(green_line.id, quantity=D(100))
    result = ps.convert_run(run.id, user=pw.buyer)
    assert run.state == "done"
    orders = sorted(result["orders"], key=lambda o: o.supplier_id)
    assert [(o.supplier_id, o.warehouse_id, o.state, [(l.product_id, l.quantity, l.unit_price) for l in o.lines])
            for o in orders] == sorted([
                (pw.supplier.id, pw.wh_shop.id, "draft",
                 [(pw.green.id, D(100), D("3.5000")), (pw.jasmine.id, D(24), D("6.0000"))]),
                (pw.supplier2.id, pw.wh_shop.id, "draft", [(pw.crisps.id, D(7), D("2.0000"))])])
    assert all(o.run_id == run.id for o in orders)
    [tr] = result["transfers"]
    assert tr.from_warehouse_id == pw.wh_dc.id and tr.to_warehouse_id == pw.wh_shop_b.id
    assert [(l.product_id, l.quantity) for l in tr.lines] == [(pw.oolong.id, D(20))]

    # a second run sees the orders and the transfer as incoming: nothing more to propose
    again = ps.run_replenishment()
    assert again.line_count == 0


def test_backfill_sources_for_finance(pw, app):
    ps = pw.ps
    order = ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id,
                            lines=[{"product_id": pw.green.id, "quantity": D(3)}])
    ps.confirm_order(order.id)
    receipt = ps.receive_order(order.id)
    bill = ps.post_bill(ps.bill_from_receipts(order.id).id)
    from core.timeutil import today as local_today
    today = local_today(pw.shop)  # the documents' dates are the shop's local day
    results = app.extensions["o2o"].hook.o2o_finance_backfill_sources(since=today, until=None)
    pairs = [p for result in results for p in result]
    assert ("o2o_goods_received", receipt) in pairs and ("o2o_vendor_bill_posted", bill) in pairs
    assert ps.backfill_sources(today + dt.timedelta(days=1)) == []


def test_demo_data_loads(pw, app):
    from addons.purchasing.demo import load_demo
    load_demo(db.session, app)
    ps = pw.ps
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ps.Receipt)) == 1
    order = db.session.scalar(sa.select(ps.PurchaseOrder).order_by(ps.PurchaseOrder.id.desc()))
    assert order.state == "partly_received" and order.backorder
    load_demo(db.session, app)  # idempotent
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ps.Receipt)) == 1
