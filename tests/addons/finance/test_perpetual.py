"""Perpetual inventory: the books follow the stock (issue 10, section 1).

Every stock posting with a value is booked in the same transaction: COGS at the moving
average of the moment, a restocked refund back at the cost it came back, count
differences, scrap and transit damage to stock loss, transfers cost-neutral with the store
on every line, a bill's price difference split between the stock still on hand and price
variance, GRNI at 0 once billed; and the inventory account per store equals the stock
valuation per store."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db

D = Decimal


@pytest.fixture
def app(make_app):
    # finance with the addons whose events it books (finance itself imports none of them)
    return make_app(addons=["finance", "pos", "purchasing"], PURCHASING_PRICE_TOLERANCE="0")


class World:
    pass


@pytest.fixture
def books(app):
    from addons.finance import services as fs
    from addons.pos import services as pos
    from addons.purchasing import services as ps
    from addons.warehouse import services as ws
    from core.models import Partner, Product, Store, Tax, Unit
    w = World()
    w.fs, w.pos, w.ps, w.ws = fs, pos, ps, ws
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == "pc")) or db.session.scalar(sa.select(Unit))
    w.vat = Tax(code="PV13", name="VAT 13%", rate=D("13"))
    w.a, w.b = Store(code="PVA", name="Shop A"), Store(code="PVB", name="Shop B")
    w.supplier = Partner(name="Tea Traders", is_supplier=True)
    db.session.add_all([w.vat, w.a, w.b, w.supplier])
    db.session.flush()
    w.tea = Product(sku="PV-TEA", name="Green tea", unit_id=unit.id, tax_id=w.vat.id, list_price=D("11.30"),
                    cost=D("1.0000"))
    w.cup = Product(sku="PV-CUP", name="Cup", unit_id=unit.id, tax_id=w.vat.id, list_price=D("5.65"),
                    cost=D("1.0000"))
    db.session.add_all([w.tea, w.cup])
    db.session.flush()
    w.wh_a, w.wh_b = ws.warehouse_for_store(w.a.id), ws.warehouse_for_store(w.b.id)
    w.loc_a, w.loc_b = ws.stock_location(w.wh_a.id).id, ws.stock_location(w.wh_b.id).id
    w.reg_a = pos.create_register(w.a.id, "R1", "Till A")
    pos.open_session(w.reg_a.id, D("100.00"))
    ps.set_supplier_terms(w.supplier.id, w.tea.id, unit_price=D("2.00"))
    ps.set_supplier_terms(w.supplier.id, w.cup.id, unit_price=D("3.00"))
    db.session.flush()
    return w


def account_balance(w, role, store_id="any", as_of=None):
    """Debit - credit of the account of ``role`` (one store, or all with "any")."""
    from addons.finance.models import EntryLine
    stmt = sa.select(sa.func.coalesce(sa.func.sum(EntryLine.debit - EntryLine.credit), 0)).where(
        EntryLine.account_id == w.fs.role_account_id(role))
    if store_id != "any":
        stmt = stmt.where(EntryLine.store_id.is_(None) if store_id is None else EntryLine.store_id == store_id)
    if as_of is not None:
        stmt = stmt.where(EntryLine.date <= as_of)
    return D(str(db.session.scalar(stmt))).quantize(D("0.01"))


def stock_entries(w, source_ref):
    from addons.finance.models import Entry
    return db.session.scalars(sa.select(Entry).where(Entry.source_type == w.fs.SRC_STOCK,
                                                     Entry.source_ref == source_ref).order_by(Entry.id)).all()


def assert_identity(w, as_of=None):
    """Inventory per store in the books == valuation per store, to the cent."""
    books = {k: v for k, v in w.fs.inventory_by_store(as_of).items() if v != 0}
    stock = {k: v for k, v in w.ws.valuation_by_store(as_of=as_of).items() if v != 0}
    assert books == stock, (books, stock)


def sell(w, product, qty, key):
    doc, _created = w.pos.sell(w.reg_a.id, idempotency_key=key,
                               lines=[{"product_id": product.id, "quantity": str(qty)}],
                               payments=[{"method": "cash", "amount": "1000.00"}])
    return doc


def test_till_sale_posts_cogs_at_the_moving_average_of_the_moment_and_a_refund_reverses_it(books):
    w = books
    w.ws.receive(w.tea.id, w.loc_a, D(10), D("2.00"), source="R1")
    w.ws.receive(w.tea.id, w.loc_a, D(10), D("3.00"), source="R2")   # average 2.50
    sale = sell(w, w.tea, 4, "s1")
    assert account_balance(w, "cogs", w.a.id) == D("10.00")         # 4 x 2.50
    w.ws.receive(w.tea.id, w.loc_a, D(6), D("4.00"), source="R3")    # (16 x 2.50 + 24) / 22 = 2.9091
    sell(w, w.tea, 2, "s2")
    assert account_balance(w, "cogs", w.a.id) == D("15.82")         # + 2 x 2.9091
    # the entry: one per stock posting, the sale's number as source, the store on every line
    from addons.warehouse.models import StockMove
    move = db.session.scalar(sa.select(StockMove).where(StockMove.to_location_id == w.ws.virtual_location("customer").id)
                             .order_by(StockMove.id))
    (entry,) = stock_entries(w, move.source)
    assert entry.source_id == move.id and entry.journal.code == "STOCK"
    assert {ln.store_id for ln in entry.lines} == {w.a.id}
    assert sorted((ln.debit, ln.credit) for ln in entry.lines) == [(D(0), D("10.00")), (D("10.00"), D(0))]
    # a restocked refund of the first sale comes back at the cost it left at (2.50), not today's 2.9091
    w.pos.refund(sale["id"], idempotency_key="r1", reason="wrong size",
                 lines=[{"product_id": w.tea.id, "quantity": "2"}], restock=True)
    assert account_balance(w, "cogs", w.a.id) == D("10.82")
    # inventory: 20 + 24 - 10 - 5.82 + 5 = 63.18
    assert account_balance(w, "stock", w.a.id) == D("63.18")
    assert_identity(w)


def test_count_differences_scrap_and_adjustments_post_to_stock_loss(books):
    w = books
    w.ws.receive(w.cup.id, w.loc_a, D(20), D("3.00"), source="R1")
    count = w.ws.create_count(w.wh_a.id)
    w.ws.start_count(count.id)
    w.ws.set_counted(count.id, w.cup.id, D(17))      # 3 missing
    w.ws.validate_count(count.id)
    assert account_balance(w, "stock_loss", w.a.id) == D("9.00")
    (entry,) = stock_entries(w, count.number)
    assert all(ln.store_id == w.a.id for ln in entry.lines)
    w.ws.scrap(w.cup.id, w.loc_a, D(1), source="BROKEN-1")
    w.ws.adjust(w.cup.id, w.loc_a, D(2), source="FOUND-1")   # found again: a gain
    # scrap goes to the scrap role (the stock-loss account by default): 9 + 3 - 6
    assert account_balance(w, "stock_loss", w.a.id) == D("6.00")
    assert w.fs.role_account_id("scrap") == w.fs.role_account_id("stock_loss")
    assert account_balance(w, "stock", w.a.id) == D("54.00")   # 18 x 3.00
    assert_identity(w)


def test_transfer_is_cost_neutral_keeps_the_store_dimension_and_damage_is_a_loss(books):
    w = books
    w.ws.receive(w.tea.id, w.loc_a, D(10), D("2.00"), source="R1")
    w.ws.receive(w.tea.id, w.loc_a, D(5), D("2.50"), source="R2")    # A: 2.1667
    w.ws.receive(w.tea.id, w.loc_b, D(10), D("5.00"), source="R3")   # B has its own average
    tr = w.ws.transfer(w.wh_a.id, w.wh_b.id, [{"product_id": w.tea.id, "quantity": D(7)}])
    w.ws.ship_transfer(tr.id)
    line = tr.lines[0]
    assert line.unit_cost == D("2.1667") and line.value == D("15.17")
    # in transit: out of A, into inventory in transit without a store
    assert account_balance(w, "stock", w.a.id) == D("32.50") - D("15.17")
    assert account_balance(w, "stock_transit", None) == D("15.17")
    assert_identity(w)
    w.ws.receive_transfer(tr.id, [{"product_id": w.tea.id, "received": D(5), "damaged": D(1)}])  # 1 missing
    # 5 arrive at the cost they left at, 1 damaged to scrap, 1 missing to loss: transit empties to the cent
    assert account_balance(w, "stock_transit", None) == D("0.00")
    assert account_balance(w, "stock", w.b.id) == D("50.00") + D("10.83")
    assert account_balance(w, "stock_loss", w.b.id) == D("4.34")   # 2.17 + 2.17, the rest of 15.17
    assert w.ws.average_cost(w.tea.id, w.wh_b.id) == D("4.0553")   # (50 + 10.83) / 15
    assert w.ws.average_cost(w.tea.id, w.wh_a.id) == D("2.1667")
    assert_identity(w)


def _order_and_receive(w, qty, price="2.00"):
    order = w.ps.create_order(supplier_id=w.supplier.id, store_id=w.a.id,
                              lines=[{"product_id": w.tea.id, "quantity": str(qty), "unit_price": price}])
    w.ps.confirm_order(order.id)
    if order.state == "to_approve":
        w.ps.approve_order(order.id)
    receipt = w.ps.receive_order(order.id)
    return order, receipt


def _bill(w, order, price):
    from core.testing import make_user
    bill = w.ps.bill_from_receipts(order.id, prices={w.tea.id: D(price)})
    bill = w.ps.post_bill(bill.id)
    if bill.state == "on_hold":
        boss = make_user("pv_boss", superuser=True)
        db.session.flush()
        bill = w.ps.release_bill(bill.id, user=boss, note="price agreed by phone")
    return bill


def test_a_receipt_is_posted_once_from_its_moves_and_grni_ends_at_zero(books):
    w = books
    order, receipt = _order_and_receive(w, 10)
    from addons.finance.models import Entry
    assert db.session.scalar(sa.select(Entry).where(Entry.source_type == w.fs.SRC_RECEIPT)) is None
    (entry,) = stock_entries(w, receipt.number)
    assert account_balance(w, "stock", w.a.id) == receipt.value == D("20.00")
    assert account_balance(w, "grni") == D("-20.00")
    _bill(w, order, "2.00")
    assert account_balance(w, "grni") == D("0.00")
    assert account_balance(w, "price_variance") == D("0.00")


def test_price_variance_split_between_stock_on_hand_and_stock_already_sold(books):
    w = books
    order, receipt = _order_and_receive(w, 10)          # 10 at 2.00
    sell(w, w.tea, 4, "s1")                              # 4 gone at 2.00
    bill = _bill(w, order, "2.50")                       # billed 10 at 2.50: 5.00 more
    line = bill.lines[0]
    assert (line.received_value, line.inventory_value, line.price_variance) == (D("20.00"), D("3.00"), D("2.00"))
    assert account_balance(w, "grni") == D("0.00")
    assert account_balance(w, "price_variance", w.a.id) == D("2.00")
    assert account_balance(w, "stock", w.a.id) == D("15.00")      # 6 left, now at 2.50
    assert w.ws.average_cost(w.tea.id, w.wh_a.id) == D("2.5000")
    assert_identity(w)
    sell(w, w.tea, 6, "s2")                              # the rest leaves at the revalued cost
    assert account_balance(w, "stock", w.a.id) == D("0.00")
    assert account_balance(w, "cogs", w.a.id) == D("23.00")       # 8.00 + 15.00
    assert_identity(w)


def test_all_of_the_price_difference_to_ppv_when_the_setting_says_so(books, app):
    w = books
    app.config["PURCHASING_PRICE_VARIANCE"] = "ppv"
    order, receipt = _order_and_receive(w, 10)
    bill = _bill(w, order, "1.80")                       # 2.00 cheaper in total
    assert bill.lines[0].price_variance == D("-2.00") and bill.lines[0].inventory_value == 0
    assert account_balance(w, "grni") == D("0.00")
    assert account_balance(w, "price_variance") == D("-2.00")
    assert account_balance(w, "stock", w.a.id) == D("20.00")
    assert w.ws.average_cost(w.tea.id, w.wh_a.id) == D("2.0000")
    assert_identity(w)


def test_valuation_as_of_a_day_matches_the_books_of_that_day(books):
    import datetime as dt
    from core import timeutil
    w = books
    day1 = timeutil.local(2026, 3, 1, 23, 30)   # late evening in Shanghai: still the 1st there
    with timeutil.freeze(day1):
        w.ws.receive(w.tea.id, w.loc_a, D(10), D("2.00"), source="R1")
    with timeutil.freeze(day1 + dt.timedelta(hours=1)):  # 00:30 on the 2nd, local
        sell(w, w.tea, 3, "s1")
    first, second = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
    assert w.ws.valuation(as_of=first)["total_value"] == D("20.00")
    assert w.ws.valuation(as_of=second)["total_value"] == D("14.00")
    assert w.ws.valuation()["total_value"] == D("14.00")
    assert_identity(w, first)
    assert_identity(w, second)
    assert w.ws.valuation(as_of=dt.date(2026, 2, 28))["rows"] == []


def test_goods_sold_below_zero_are_trued_up_against_cogs_when_the_shelf_is_refilled(books):
    from addons.warehouse.models import Location
    w = books
    w.ws.receive(w.tea.id, w.loc_a, D(2), D("2.00"), source="R1")
    shelf = Location(code="PVA/FLOOR", name="Shop floor", usage="internal", warehouse_id=w.wh_a.id,
                     parent_id=w.loc_a, allow_negative=True)   # what a till sale below zero looks like
    db.session.add(shelf)
    db.session.flush()
    w.ws.issue(w.tea.id, shelf.id, D(5), source="TILL-NEG")       # 2 on hand elsewhere: A at -3, 5 x 2.00
    assert account_balance(w, "cogs", w.a.id) == D("10.00")
    w.ws.receive(w.tea.id, shelf.id, D(10), D("3.00"), source="R2")   # from -3 to 7, at 3.00
    # the 3 sold below zero cost 3.00, not 2.00: 3.00 more COGS, stock worth 7 x 3.00
    assert account_balance(w, "cogs", w.a.id) == D("13.00")
    assert account_balance(w, "stock", w.a.id) == D("21.00")
    assert w.ws.valuation_by_store()[w.a.id] == D("21.00")
    assert_identity(w)
