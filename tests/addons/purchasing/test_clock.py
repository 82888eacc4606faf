"""Purchasing on the store's own clock: an order, a receipt or a bill made at 00:30 or 23:30
local is dated that local day (and numbered in its year), in Shanghai and in New York."""
import datetime as dt
from decimal import Decimal as D

from core.db import db
from core.timeutil import freeze, local

SH, NY = "Asia/Shanghai", "America/New_York"


def test_documents_after_midnight_on_new_year_in_shanghai_are_of_the_new_year(pw):
    ps = pw.ps
    assert pw.shop.timezone == SH
    with freeze(local(2027, 1, 1, 0, 30, SH)):  # 2026-12-31 16:30 UTC
        order = ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id,
                                lines=[{"product_id": pw.green.id, "quantity": D(3)}])
        assert order.order_date == dt.date(2027, 1, 1) and order.number.startswith("PO/2027/")
        assert order.expected_date == dt.date(2027, 1, 6)  # 5 days' lead time from the local day
        ps.confirm_order(order.id, user=pw.clerk)
        receipt = ps.receive_order(order.id)
        assert "/2027/" in receipt.number
        bill = ps.bill_from_receipts(order.id)
        assert bill.bill_date == dt.date(2027, 1, 1) and "/2027/" in bill.number
    # finance's backfill takes the receipt on its store's local day
    assert ("o2o_goods_received", receipt) in ps.backfill_sources(dt.date(2027, 1, 1))
    assert ps.backfill_sources(dt.date(2026, 12, 31), dt.date(2026, 12, 31)) == []


def test_an_order_at_half_past_eleven_at_night_in_new_york_is_of_that_day(pw):
    ps = pw.ps
    pw.shop_b.timezone = NY
    db.session.flush()
    with freeze(local(2026, 12, 31, 23, 30, NY)):  # 2027-01-01 04:30 UTC
        order = ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop_b.id,
                                lines=[{"product_id": pw.green.id, "quantity": D(3)}])
    assert order.order_date == dt.date(2026, 12, 31) and order.number.startswith("PO/2026/")
    with freeze(local(2026, 12, 31, 0, 30, NY)):
        order = ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop_b.id,
                                lines=[{"product_id": pw.green.id, "quantity": D(3)}])
    assert order.order_date == dt.date(2026, 12, 31)
