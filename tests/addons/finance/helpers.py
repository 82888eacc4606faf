"""Finance test helpers: duck-typed event payloads (finance never imports sales, pos or
purchasing) and hookspecs for events whose addon is not installed yet."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from types import SimpleNamespace as NS

import pluggy
import pytest
import sqlalchemy as sa

from core.db import db

D = Decimal
_ids = itertools.count(900_001)
hookspec = pluggy.HookspecMarker("o2o")


class EventSpecs:
    """The event contracts (see /docs/hooks.md); added only where no addon published them."""

    @hookspec
    def o2o_order_paid(self, order):
        pass

    @hookspec
    def o2o_pos_session_closed(self, pos_session):
        pass

    @hookspec
    def o2o_goods_received(self, receipt):
        pass

    @hookspec
    def o2o_vendor_bill_posted(self, bill):
        pass

    @hookspec
    def o2o_refund_posted(self, refund):
        pass


def ensure_specs(app):
    pm = app.extensions["o2o"].pm
    missing = [name for name in ("o2o_order_paid", "o2o_pos_session_closed", "o2o_goods_received",
                                 "o2o_vendor_bill_posted", "o2o_refund_posted")
               if getattr(pm.hook, name, None) is None or getattr(pm.hook, name).spec is None]
    if missing:
        ns = type("MissingSpecs", (), {n: getattr(EventSpecs, n) for n in missing})
        pm.add_hookspecs(ns)
    return pm.hook


@pytest.fixture
def hook(app):
    return ensure_specs(app)


@pytest.fixture
def stores(app):
    from core.models import Store
    out = []
    for code in ("F1", "F2"):
        s = db.session.scalar(sa.select(Store).where(Store.code == code))
        if s is None:
            s = Store(code=code, name=f"Finance shop {code}")
            db.session.add(s)
            db.session.flush()
        out.append(s)
    return out


def order(store_id, payments, lines=None, *, channel="pos", paid_at=None, number=None, customer_id=None):
    """A paid order as o2o_order_paid describes it. ``lines``: (net, tax, rate)."""
    oid = next(_ids)
    lines = lines or []
    if not lines:
        total = sum(D(a) for _m, a in payments)
        net = (total / D("1.13")).quantize(D("0.01"))
        lines = [(net, total - net, D("13"))]
    line_objs = [NS(product_id=1, quantity=D(1), unit_price=D(n) + D(t), discount=D(0), net_amount=D(n),
                    tax_amount=D(t), total=D(n) + D(t), tax_rate=D(r)) for n, t, r in lines]
    total = sum((ln.total for ln in line_objs), D("0"))
    return NS(id=oid, number=number or f"SO-{oid}", channel=channel, store_id=store_id, customer_id=customer_id,
              state="paid", total=total, tax_total=sum((ln.tax_amount for ln in line_objs), D(0)),
              net_total=sum((ln.net_amount for ln in line_objs), D(0)),
              paid_at=paid_at or dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc), lines=line_objs,
              payments=[NS(method=m, amount=D(a), reference=None, is_cash=(m == "cash")) for m, a in payments],
              cash_rounding=D(0), change_given=D(0))


def pos_session(store_id, *, opening_float="100.00", cash_sales="0", counted=None, card="0", in_out="0",
                closed_at=None, name=None):
    sid = next(_ids)
    expected = D(opening_float) + D(cash_sales) + D(in_out)
    counted = expected if counted is None else D(counted)
    totals = {"cash": {"expected": expected, "counted": counted, "difference": counted - expected}}
    if D(card):
        totals["card"] = {"expected": D(card), "counted": D(card), "difference": D(0)}
    return NS(id=sid, name=name or f"SESS-{sid}", number=sid, store_id=store_id, register_id=1,
              opened_at=None, closed_at=closed_at or dt.datetime(2026, 11, 20, 13, 0, tzinfo=dt.timezone.utc),  # 21:00 in Shanghai
              opening_float=D(opening_float), totals_by_method=totals, cash_difference=counted - expected,
              cash_in_out_total=D(in_out))


def entries_count():
    from addons.finance.models import Entry, EntryLine
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Entry)),
            db.session.scalar(sa.select(sa.func.count()).select_from(EntryLine)))


def lines_of(entry):
    """{account code: signed amount (debit positive)} of an entry."""
    out = {}
    for ln in entry.lines:
        out[ln.account.code] = out.get(ln.account.code, D(0)) + ln.debit - ln.credit
    return out


def next_id():
    return next(_ids)
