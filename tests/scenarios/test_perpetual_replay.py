"""Scenario (issue 10, section 1): a seeded random replay of a chain's stock documents over
several local days (receipts with damage, bills with wrong prices, till sales, refunds,
transfers with damage and shortages, counts, scrap), with every built-in addon on.

After every day, for that day and every earlier one: the inventory account's balance per
store (journal lines with their store, up to that date) equals valuation(as_of=that day)
per store, to the cent; debits equal credits; the COGS account equals the value of the
stock issued to customers less what came back."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import sqlalchemy as sa

from core.db import db

D = Decimal
DAYS = 5
DOCUMENTS_PER_DAY = 60


def _world():
    from addons.pos import services as pos
    from addons.purchasing import services as ps
    from addons.warehouse import services as ws
    from core.models import Partner, Product, Store, Tax, Unit
    from core.testing import make_user
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == "pc")) or db.session.scalar(sa.select(Unit))
    vat = Tax(code="RP13", name="VAT 13%", rate=D("13"))
    shops = [Store(code=f"RP{i}", name=f"Replay shop {i}", kind="shop") for i in (1, 2, 3)]
    dc = Store(code="RPDC", name="Replay DC", kind="dc")
    supplier = Partner(name="Replay supplier", is_supplier=True)
    db.session.add_all([vat, *shops, dc, supplier])
    db.session.flush()
    products = []
    for i, (price, cost) in enumerate([("12.90", "3.3300"), ("5.50", "1.2000"), ("88.00", "41.1700"),
                                       ("2.30", "0.7700"), ("19.99", "6.6600")]):
        p = Product(sku=f"RP-{i}", name=f"Replay product {i}", unit_id=unit.id, tax_id=vat.id,
                    list_price=D(price), cost=D(cost))
        db.session.add(p)
        products.append(p)
    db.session.flush()
    for p in products:
        ps.set_supplier_terms(supplier.id, p.id, unit_price=p.cost)
    registers = {}
    for shop in shops:
        reg = pos.create_register(shop.id, "R1", f"Till {shop.code}")
        pos.open_session(reg.id, D("200.00"))
        registers[shop.id] = reg
    boss = make_user("replay_boss", superuser=True)
    db.session.flush()
    warehouses = {s.id: ws.warehouse_for_store(s.id) for s in [*shops, dc]}
    return dict(shops=shops, dc=dc, supplier=supplier, products=products, registers=registers, boss=boss,
                warehouses=warehouses)


def _check_day(day):
    from addons.finance import services as fs
    from addons.finance.models import EntryLine
    from addons.warehouse import services as ws
    from addons.warehouse.models import Location, Revaluation, StockMove
    books = {k: v for k, v in fs.inventory_by_store(day).items() if v != 0}
    stock = {k: v for k, v in ws.valuation_by_store(as_of=day).items() if v != 0}
    assert books == stock, (day, books, stock)
    debit, credit = db.session.execute(sa.select(sa.func.sum(EntryLine.debit), sa.func.sum(EntryLine.credit))
                                       .where(EntryLine.date <= day)).one()
    assert D(str(debit or 0)).quantize(D("0.01")) == D(str(credit or 0)).quantize(D("0.01")), day
    cogs = D(str(db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(EntryLine.debit - EntryLine.credit), 0))
        .where(EntryLine.account_id == fs.role_account_id("cogs"), EntryLine.date <= day)))).quantize(D("0.01"))
    cust = db.session.scalar(sa.select(Location.id).where(Location.code == "VIRTUAL/CUSTOMER"))

    def moved(column):
        return D(str(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(StockMove.value), 0))
                                       .where(column == cust, StockMove.value_date <= day)))).quantize(D("0.01"))
    # a till sale short of stock leaves at the last average; the receipt that refills the
    # shelf trues that cost up (a "negative" revaluation, booked against COGS)
    trued_up = D(str(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Revaluation.value), 0))
                                       .where(Revaluation.reason == "negative", Revaluation.value_date <= day))))
    assert cogs == moved(StockMove.to_location_id) - moved(StockMove.from_location_id) - trued_up.quantize(D("0.01")), day


def test_random_replay_keeps_books_and_stock_equal_every_day(app):
    from addons.pos import services as pos
    from addons.purchasing import services as ps
    from addons.warehouse import services as ws
    from core import timeutil
    from core.errors import O2OError
    w = _world()
    rnd = random.Random(20261203)
    shops, products, whs = w["shops"], w["products"], w["warehouses"]
    orders, sales, done, why, last = [], [], {"ok": 0, "refused": 0}, {}, {}
    start = dt.date(2026, 3, 1)

    def try_(fn):
        try:
            with db.session.begin_nested():
                fn()
            done["ok"] += 1
        except O2OError as err:  # short stock for a sale or a transfer, a refund of too much ...
            done["refused"] += 1
            why[fn.__name__, type(err).__name__] = why.get((fn.__name__, type(err).__name__), 0) + 1
            last[fn.__name__] = str(err)

    def receipt():
        store = rnd.choice([*shops, w["dc"]])
        lines = [{"product_id": p.id, "quantity": str(rnd.randint(5, 40))} for p in rnd.sample(products, rnd.randint(1, 3))]
        order = ps.create_order(supplier_id=w["supplier"].id, store_id=store.id, lines=lines)
        ps.confirm_order(order.id, user=w["boss"])
        if order.state == "to_approve":
            ps.approve_order(order.id, user=w["boss"])
        recv = [{"order_line_id": ln.id, "quantity": str(ln.quantity),
                 "damaged": str(rnd.choice([0, 0, 0, 1]))} for ln in order.lines]
        ps.receive_order(order.id, recv)
        orders.append(order.id)

    def bill():
        open_ = [o for o in orders if o not in billed]
        if not open_:
            return
        order = ps.get_order(rnd.choice(open_))
        prices = {ln.product_id: (ln.unit_price * D(rnd.choice(["1", "1", "0.93", "1.07", "1.215"])))
                  .quantize(D("0.01")) for ln in order.lines}
        b = ps.bill_from_receipts(order.id, prices=prices)
        b = ps.post_bill(b.id)
        if b.state == "on_hold":
            ps.release_bill(b.id, user=w["boss"], note="agreed")
        billed.add(order.id)

    def sale():
        shop = rnd.choice(shops)
        lines = [{"product_id": p.id, "quantity": str(rnd.randint(1, 3))} for p in rnd.sample(products, rnd.randint(1, 3))]
        doc, _created = pos.sell(w["registers"][shop.id].id, idempotency_key=f"rp-{len(sales)}-{rnd.random()}",
                                 lines=lines, payments=[{"method": "cash", "amount": "10000.00"}])
        sales.append((doc["id"], lines))

    def refund():
        if not sales:
            return
        sale_id, lines = rnd.choice(sales)
        line = rnd.choice(lines)
        pos.refund(sale_id, idempotency_key=f"rf-{rnd.random()}", reason="changed mind",
                   lines=[{"product_id": line["product_id"], "quantity": "1"}], restock=rnd.random() < 0.7)

    def transfer():
        src = rnd.choice([w["dc"], *shops])
        dst = rnd.choice([s for s in shops if s.id != src.id])
        p = rnd.choice(products)
        q = rnd.randint(1, 8)
        tr = ws.transfer(whs[src.id].id, whs[dst.id].id, [{"product_id": p.id, "quantity": D(q)}])
        ws.ship_transfer(tr.id)
        damaged = rnd.choice([0, 0, 1]) if q > 2 else 0
        missing = rnd.choice([0, 0, 1]) if q > 3 else 0
        ws.receive_transfer(tr.id, [{"product_id": p.id, "received": D(q - damaged - missing), "damaged": D(damaged)}])

    def count():
        shop = rnd.choice(shops)
        p = rnd.choice(products)
        c = ws.create_count(whs[shop.id].id)
        ws.start_count(c.id)
        held = ws.on_hand(p.id, whs[shop.id].id)
        ws.set_counted(c.id, p.id, max(D(0), held + rnd.choice([-2, -1, -1, 0, 1])))
        ws.validate_count(c.id)

    def scrap():
        shop = rnd.choice(shops)
        ws.scrap(rnd.choice(products).id, ws.stock_location(whs[shop.id].id).id, D(1), source=f"SCRAP-{rnd.random()}")

    billed: set = set()
    kinds = [receipt] * 5 + [bill] * 3 + [sale] * 8 + [refund] * 2 + [transfer] * 2 + [count] + [scrap]
    for n in range(DAYS):
        day = start + dt.timedelta(days=n)
        # from 00:20 to 23:50 local: the first and last minutes of the day belong to it
        moments = sorted(rnd.randint(20, 23 * 60 + 50) for _ in range(DOCUMENTS_PER_DAY))
        for minutes in moments:
            with timeutil.freeze(timeutil.local(day.year, day.month, day.day, minutes // 60, minutes % 60)):
                try_(rnd.choice(kinds) if n or orders else receipt)
        for earlier in range(n + 1):
            _check_day(start + dt.timedelta(days=earlier))
    print(done, why, last)
    assert done["ok"] > DAYS * DOCUMENTS_PER_DAY * 0.8, (done, why, last)
    # a bill with a wrong price moved stock value and price variance; damage and counts, losses
    from addons.finance import services as fs
    from addons.finance.models import EntryLine
    for role in ("price_variance", "stock_loss", "cogs"):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EntryLine)
                                 .where(EntryLine.account_id == fs.role_account_id(role))) > 0, role
    assert ws.verify() == []
    _check_day(start + dt.timedelta(days=DAYS + 30))
    assert ws.valuation()["total_value"] == ws.valuation(as_of=start + dt.timedelta(days=DAYS + 30))["total_value"]
