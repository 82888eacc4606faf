"""Finance with the real sales and pos services (no duck typing): till sales, a web order,
a till close with a shortage, all posted through the events."""
import datetime as dt
import uuid
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from core.db import db


@pytest.fixture
def real_app(make_app):
    from core.plugins import discover
    if not {"sales", "pos"} <= set(discover(include_third_party=False)):
        pytest.skip("sales and pos are not installed")
    return make_app(addons=["finance", "pos"])


def test_till_and_web_sales_through_the_real_services(real_app):
    from addons.finance import services as fin
    from addons.pos import services as pos
    from addons.sales import services as sales
    from addons.warehouse import services as wh
    from core.models import Product, Store, Tax, Unit

    store = Store(code="FI", name="Finance integration")
    db.session.add(store)
    db.session.flush()
    wh.ensure_store_warehouses()
    vat = Tax(code="FV13", name="VAT 13%", rate=D("13"))
    unit = db.session.scalar(sa.select(Unit))
    db.session.add(vat)
    product = Product(sku=f"FIN-{uuid.uuid4().hex[:6]}", name="Tea", unit=unit, tax=vat, list_price=D("11.30"))
    db.session.add(product)
    db.session.flush()
    wh.receive(product.id, wh.stock_location(wh.warehouse_for_store(store.id).id).id, D("50"), D("4"), source="t")
    reg = pos.create_register(store.id, "R1", "Till 1")
    sess = pos.open_session(reg.id, "100.00")
    doc, _created = pos.sell(reg.id, idempotency_key=uuid.uuid4().hex,
                             lines=[{"product_id": product.id, "quantity": "2"}],
                             payments=[{"method": "cash", "amount": "22.60"}])
    pos.sell(reg.id, idempotency_key=uuid.uuid4().hex, lines=[{"product_id": product.id, "quantity": "1"}],
             payments=[{"method": "card", "amount": "11.30"}])
    web = sales.create_order(channel="web", store_id=store.id, lines=[{"product_id": product.id, "quantity": 1}])
    web = sales.pay_order(web.id, [{"method": "card", "amount": D("11.30")}])

    posting = fin.find_posting("sales_order", web.id)
    assert posting is not None and posting.channel == "web" and posting.source_ref == web.number
    amounts = {ln.account.code: ln.debit - ln.credit for ln in posting.lines}
    assert amounts == {"1120": D("11.30"), "4000": D("-10.00"), "2200": D("-1.30")}

    pos.close_session(sess.id, {"cash": "120.00", "card": "11.30"}, difference_reason="coin missing")
    close = fin.find_posting("pos_session", sess.id)
    assert close is not None and close.journal.code == "CASH-FI"
    amounts = {ln.account.code: ln.debit - ln.credit for ln in close.lines}
    assert amounts == {"1030": D("20.00"), "1010": D("-22.60"), "6900": D("2.60")}

    fig = fin.reconciliation_figures(store.id, dt.date.today() - dt.timedelta(days=1),
                                     dt.date.today() + dt.timedelta(days=1))
    assert fig["takings_by_method"] == {"card": D("22.60"), "cash": D("22.60")}
    assert fig["cash_over_short_total"] == D("-2.60")
    tb = fin.trial_balance()
    assert tb["balanced"]
    assert {r["code"]: r["balance"] for r in tb["rows"]}["1010"] == 0


def test_turning_finance_on_after_a_month_of_sales_then_backfill_once(real_app):
    """Sales made while finance was off are not posted by themselves; `o2o finance backfill
    --since` posts them, exactly once."""
    from addons.finance import services as fin
    from addons.sales import services as sales
    from addons.warehouse import services as wh
    from core.models import Product, Store, Tax, Unit

    store = Store(code="FB", name="Backfill store")
    db.session.add(store)
    db.session.flush()
    wh.ensure_store_warehouses()
    tax = Tax(code="FB13", name="VAT 13", rate=D("13"))
    db.session.add(tax)
    product = Product(sku=f"FB-{uuid.uuid4().hex[:6]}", name="Rice", unit=db.session.scalar(sa.select(Unit)),
                      tax=tax, list_price=D("22.60"))
    db.session.add(product)
    db.session.flush()
    wh.receive(product.id, wh.stock_location(wh.warehouse_for_store(store.id).id).id, D("50"), D("4"), source="t")

    pm = real_app.extensions["o2o"].pm
    finance_plugin = pm.unregister(name="finance")  # finance is off while the month's sales happen
    try:
        orders = []
        for i in range(3):
            o = sales.create_order(channel="web", store_id=store.id, lines=[{"product_id": product.id,
                                                                             "quantity": 1}])
            orders.append(sales.pay_order(o.id, [{"method": "card", "amount": D("22.60")}]))
    finally:
        pm.register(finance_plugin, name="finance")
    assert all(fin.find_posting("sales_order", o.id) is None for o in orders)

    runner = real_app.test_cli_runner()
    since = (dt.date.today() - dt.timedelta(days=31)).isoformat()
    r = runner.invoke(args=["finance", "backfill", "--since", since])
    assert r.exit_code == 0, r.output
    assert "posted 3" in r.output
    assert all(fin.find_posting("sales_order", o.id) is not None for o in orders)
    r = runner.invoke(args=["finance", "backfill", "--since", since])
    assert r.exit_code == 0 and "posted 0, 3 were already posted" in r.output
