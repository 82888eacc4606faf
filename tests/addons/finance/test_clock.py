"""Finance on the store's own clock: postings, expected items and their references, report
ranges and the statement matching window use the store's local dates (Shanghai UTC+8, New
York UTC-5), with a frozen clock for what is dated "today"."""
import datetime as dt
from decimal import Decimal as D

import sqlalchemy as sa

from addons.finance import services
from addons.finance.models import ExpectedItem
from core.db import db
from core.timeutil import freeze, local
from tests.addons.finance.helpers import order, pos_session
from tests.addons.finance.test_reconcile import statement

SH, NY = "Asia/Shanghai", "America/New_York"


def _items(store_id):
    return db.session.scalars(sa.select(ExpectedItem).where(ExpectedItem.store_id == store_id)
                              .order_by(ExpectedItem.id)).all()


def test_sales_at_both_ends_of_the_local_day_post_on_that_day(hook, stores):
    sh, ny = stores
    ny.timezone = NY
    db.session.flush()
    day = dt.date(2026, 11, 21)
    for store, tz in ((sh, SH), (ny, NY)):
        for hour in (0, 23):
            o = order(store.id, [("card", "113.00")], paid_at=local(2026, 11, 21, hour, 30, tz))
            hook.o2o_order_paid(order=o)
            assert services.find_posting("sales_order", o.id).date == day
        # one card settlement expected for the local day, its reference of that day
        (settlement,) = _items(store.id)
        assert settlement.date == day and settlement.gross == D("226.00")
        assert settlement.reference.endswith("20261121")
        tb = services.trial_balance(day, day, store.id)
        assert tb["total_debit"] == D("226.00")
        assert services.trial_balance(day + dt.timedelta(days=1), None, store.id)["total_debit"] == 0
        assert len(services.takings_listing(store.id, day, day)) == 2


def test_a_till_closed_after_midnight_deposits_on_that_local_day_and_the_window_counts_local_days(hook, stores):
    sh = stores[0]
    # closed at 00:30 on the 21st in Shanghai: 16:30 UTC on the 20th
    s = pos_session(sh.id, cash_sales="475.00", counted="575.00", closed_at=local(2026, 11, 21, 0, 30, SH))
    hook.o2o_pos_session_closed(pos_session=s)
    assert services.find_posting("pos_session", s.id).date == dt.date(2026, 11, 21)
    (deposit,) = _items(sh.id)
    assert deposit.date == dt.date(2026, 11, 21) and deposit.reference == "DEP-F1-20261121"
    # the bank books it three days later: inside "exact amount within 3 days" only on local dates
    statement(["2026-11-24,475.00,,Deposit,\n"])
    assert services.auto_reconcile()["by_rule"] == {"Exact amount within 3 days": 1}


def test_a_cancellation_after_midnight_reverses_on_the_local_today(hook, stores):
    sh = stores[0]
    o = order(sh.id, [("cash", "50.00")], paid_at=local(2026, 11, 21, 12, 0, SH))
    hook.o2o_order_paid(order=o)
    with freeze(local(2026, 11, 22, 0, 30, SH)):  # 16:30 UTC on the 21st
        rev = services.cancel_order_posting(o, reason="customer changed their mind")
    assert rev.date == dt.date(2026, 11, 22)


def test_a_goods_receipt_after_midnight_posts_on_that_local_day(hook, stores):
    from types import SimpleNamespace as NS
    receipt = NS(id=990_001, number="GR-CLOCK", store_id=stores[0].id, supplier_id=None,
                 received_at=local(2026, 11, 21, 0, 30, SH),
                 lines=[NS(value=D("40.00"), quantity=D(10), unit_cost=D(4))])
    hook.o2o_goods_received(receipt=receipt)
    assert services.find_posting("goods_receipt", receipt.id).date == dt.date(2026, 11, 21)


def test_an_entry_without_a_date_is_of_the_stores_today(hook, stores):
    with freeze(local(2026, 11, 21, 0, 30, SH)):
        entry = services.post_entry("MISC", None, [{"account": "1000", "debit": "10"},
                                                   {"account": "6990", "credit": "10"}], store_id=stores[0].id)
    assert entry.date == dt.date(2026, 11, 21) and entry.number.startswith("JE/2026/")
