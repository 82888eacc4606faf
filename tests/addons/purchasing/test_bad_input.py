"""Bad input is refused with a clear message, and nothing is written."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db
from core.errors import Conflict, PermissionDenied, ValidationError

from .conftest import count

D = Decimal


def _snapshot(pw):
    ps, ws = pw.ps, pw.ws
    return {"orders": count(ps.PurchaseOrder), "lines": count(ps.PurchaseOrderLine), "receipts": count(ps.Receipt),
            "receipt_lines": count(ps.ReceiptLine), "bills": count(ps.VendorBill), "moves": count(ws.StockMove)}


def _approved_order(pw, lines=None, user=None):
    ps = pw.ps
    order = ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id, user=user,
                            lines=lines or [{"product_id": pw.green.id, "quantity": D(10)}])
    ps.confirm_order(order.id)
    return order


def test_ordering_an_inactive_product_is_refused(pw):
    from core.services.sequences import peek_last
    before, last = _snapshot(pw), peek_last("purchasing.order")
    with pytest.raises(ValidationError, match="Discontinued tea.*inactive"):
        pw.ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id,
                           lines=[{"product_id": pw.green.id, "quantity": D(5)},
                                  {"product_id": pw.inactive.id, "quantity": D(5), "unit_price": D("1.00")}])
    assert _snapshot(pw) == before and peek_last("purchasing.order") == last


def test_receiving_against_a_cancelled_order_is_refused(pw):
    order = _approved_order(pw)
    pw.ps.cancel_order(order.id, "supplier out of business")
    before = _snapshot(pw)
    with pytest.raises(Conflict, match=f"{order.number} is cancelled"):
        pw.ps.receive_order(order.id, [{"product_id": pw.green.id, "quantity": D(10)}])
    assert _snapshot(pw) == before and pw.ws.on_hand(pw.green.id, pw.wh_shop.id) == 0


def test_receiving_a_draft_order_is_refused(pw):
    order = pw.ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id,
                               lines=[{"product_id": pw.green.id, "quantity": D(10)}])
    with pytest.raises(Conflict, match="not approved"):
        pw.ps.receive_order(order.id)


def test_receiving_more_than_the_tolerance_is_refused_and_within_it_accepted(pw):
    ps = pw.ps
    order = _approved_order(pw, [{"product_id": pw.green.id, "quantity": D(10)},
                                 {"product_id": pw.oolong.id, "quantity": D(10)}])
    before = _snapshot(pw)
    # 10 % tolerance: 11 is the most; the first line is fine, the second is not: nothing is written
    with pytest.raises(ValidationError, match=r"Oolong.*12.*10\.000 ordered.*10% over-receipt tolerance.*11"):
        ps.receive_order(order.id, [{"product_id": pw.green.id, "quantity": D(5)},
                                    {"product_id": pw.oolong.id, "quantity": D(12)}])
    assert _snapshot(pw) == before
    assert [l.received_qty for l in order.lines] == [0, 0] and order.state == "approved"
    assert pw.ws.on_hand(pw.green.id, pw.wh_shop.id) == 0
    # within the tolerance: accepted, and the order is complete
    ps.receive_order(order.id, [{"product_id": pw.green.id, "quantity": D(10)},
                                {"product_id": pw.oolong.id, "quantity": D(11)}])
    assert order.state == "received" and pw.ws.on_hand(pw.oolong.id, pw.wh_shop.id) == D(11)
    # and nothing more afterwards
    with pytest.raises(Conflict, match="already fully received"):
        ps.receive_order(order.id, [{"product_id": pw.green.id, "quantity": D(1)}])


def test_damaged_more_than_delivered_and_products_not_on_the_order_are_refused(pw):
    order = _approved_order(pw)
    before = _snapshot(pw)
    with pytest.raises(ValidationError, match="Damaged quantity 6 is more than the 5 delivered"):
        pw.ps.receive_order(order.id, [{"product_id": pw.green.id, "quantity": D(5), "damaged": D(6)}])
    with pytest.raises(ValidationError, match=r"\[PUR3\] Crisps is not on purchase order"):
        pw.ps.receive_order(order.id, [{"product_id": pw.crisps.id, "quantity": D(5)}])
    with pytest.raises(ValidationError, match="more than zero"):
        pw.ps.receive_order(order.id, [{"product_id": pw.green.id, "quantity": D(-5)}])
    assert _snapshot(pw) == before


def test_billing_more_than_was_received_is_refused(pw):
    ps = pw.ps
    order = _approved_order(pw)
    ps.receive_order(order.id, [{"product_id": pw.green.id, "quantity": D(6)}])
    before = _snapshot(pw)
    with pytest.raises(ValidationError, match=r"Cannot bill 8 of \[PUR0\] Green tea on .*6\.000 received"):
        ps.create_bill(supplier_id=pw.supplier.id, order_id=order.id, supplier_ref="INV-1",
                       lines=[{"product_id": pw.green.id, "quantity": D(8), "unit_price": D("4.00")}])
    assert _snapshot(pw) == before and order.lines[0].billed_qty == 0
    # two bills together cannot exceed it either
    ps.create_bill(supplier_id=pw.supplier.id, order_id=order.id, supplier_ref="INV-1",
                   lines=[{"product_id": pw.green.id, "quantity": D(4), "unit_price": D("4.00")}])
    with pytest.raises(ValidationError, match="4.000 already billed"):
        ps.create_bill(supplier_id=pw.supplier.id, order_id=order.id, supplier_ref="INV-2",
                       lines=[{"product_id": pw.green.id, "quantity": D(3), "unit_price": D("4.00")}])
    # and the same supplier invoice number cannot be entered twice
    with pytest.raises(Conflict, match="INV-1 of Tea Traders Ltd is already entered"):
        ps.create_bill(supplier_id=pw.supplier.id, order_id=order.id, supplier_ref="INV-1",
                       lines=[{"product_id": pw.green.id, "quantity": D(1), "unit_price": D("4.00")}])


def test_approving_ones_own_order_is_refused(pw):
    ps = pw.ps
    # 300 x 4.00 (3.50 from 100) = 1050 + tax: above the 1000.00 limit
    order = ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id, user=pw.buyer,
                            lines=[{"product_id": pw.green.id, "quantity": D(300)}])
    assert order.lines[0].unit_price == D("3.5000") and order.total == D("1186.50")
    ps.confirm_order(order.id, user=pw.buyer)
    assert order.state == "to_approve"
    with pytest.raises(PermissionDenied, match=f"You created purchase order {order.number}"):
        ps.approve_order(order.id, user=pw.buyer)
    assert order.state == "to_approve" and order.approved_by_id is None
    with pytest.raises(PermissionDenied, match="above the approval limit of 1000.00"):
        ps.approve_order(order.id, user=pw.clerk)
    assert order.state == "to_approve"
    with pytest.raises(Conflict, match="not approved"):
        ps.receive_order(order.id)
    ps.approve_order(order.id, user=pw.boss)
    assert order.state == "approved" and order.approved_by_id == pw.boss.id


def test_a_price_of_zero_needs_the_free_of_charge_flag(pw):
    ps = pw.ps
    before = _snapshot(pw)
    with pytest.raises(ValidationError, match=r"price of \[PUR2\] Oolong is zero: mark the line free of charge"):
        ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id,
                        lines=[{"product_id": pw.oolong.id, "quantity": D(2), "unit_price": D(0)}])
    assert _snapshot(pw) == before
    order = ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id,
                            lines=[{"product_id": pw.oolong.id, "quantity": D(2), "free_of_charge": True}])
    assert order.lines[0].unit_price == 0 and order.lines[0].free_of_charge and order.total == 0
    # a bill at zero needs the flag too
    ps.confirm_order(order.id)
    ps.receive_order(order.id)
    with pytest.raises(ValidationError, match="billed price of .*Oolong is zero"):
        ps.create_bill(supplier_id=pw.supplier.id, order_id=order.id,
                       lines=[{"product_id": pw.oolong.id, "quantity": D(2), "unit_price": D(0)}])


def test_minimum_order_pack_size_and_missing_price(pw):
    ps = pw.ps
    with pytest.raises(ValidationError, match="from 12.000 units; 6 is below the minimum order"):
        ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id,
                        lines=[{"product_id": pw.jasmine.id, "quantity": D(6)}])
    with pytest.raises(ValidationError, match="order a multiple of 6.000, not 13"):
        ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id,
                        lines=[{"product_id": pw.jasmine.id, "quantity": D(13)}])
    with pytest.raises(ValidationError, match="Tea Traders Ltd has no price for .*Crisps"):
        ps.create_order(supplier_id=pw.supplier.id, store_id=pw.shop.id,
                        lines=[{"product_id": pw.crisps.id, "quantity": D(1)}])
    with pytest.raises(ValidationError, match="Just A Customer is not marked as a supplier"):
        ps.create_order(supplier_id=pw.customer.id, store_id=pw.shop.id,
                        lines=[{"product_id": pw.crisps.id, "quantity": D(1), "unit_price": D(1)}])
    assert count(ps.PurchaseOrder) == 0


def test_a_received_order_cannot_be_cancelled(pw):
    order = _approved_order(pw)
    pw.ps.receive_order(order.id, [{"product_id": pw.green.id, "quantity": D(2)}])
    with pytest.raises(Conflict, match="has goods received"):
        pw.ps.cancel_order(order.id)
    assert order.state == "partly_received"


def test_a_quantity_mismatch_puts_a_bill_on_hold_and_cancel_gives_the_quantity_back(pw):
    ps = pw.ps
    order = _approved_order(pw)
    ps.receive_order(order.id)
    bill = ps.create_bill(supplier_id=pw.supplier.id, order_id=order.id,
                          lines=[{"product_id": pw.green.id, "quantity": D(7), "unit_price": D("4.00")}])
    ps.post_bill(bill.id)
    assert bill.state == "on_hold"
    [m] = bill.mismatches
    assert (m.kind, m.received, m.billed) == ("quantity", D(10), D(7))
    assert "billed 7.000, received 10.000" in m.message
    ps.cancel_bill(bill.id)
    assert bill.state == "cancelled" and order.lines[0].billed_qty == 0
    good = ps.bill_from_receipts(order.id)
    ps.post_bill(good.id)
    assert good.state == "posted" and good.matched and order.state == "billed"
    with pytest.raises(Conflict):
        ps.post_bill(good.id)
