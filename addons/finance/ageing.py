"""Accounts payable ageing: what is owed to each supplier on a day, by how long it is overdue.

A bill is open on ``as_of`` when it was posted by then and not yet paid by then (paid = its
expected item matched, by a payment run or a bank line, on or before that day). Its days
overdue are ``as_of`` less its due date. The report's total is the payable account's
balance on that day: what the open bills do not explain (an entry typed by hand on the
payable account, say) is shown per supplier as "not from bills", never dropped.
"""
from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa

from core.db import db
from core.i18n import _, _l
from addons.finance.models import Entry, ExpectedItem, Match, MatchExpected

BUCKETS = (  # key, title, first and last day overdue (None: open-ended)
    ("current", _l("Current"), None, 0),
    ("d1_30", _l("1-30 days"), 1, 30),
    ("d31_60", _l("31-60 days"), 31, 60),
    ("d61_90", _l("61-90 days"), 61, 90),
    ("d90_plus", _l("Over 90 days"), 91, None),
)


def bucket_of(days_overdue: int) -> str:
    for key, _title, lo, hi in BUCKETS:
        if (lo is None or days_overdue >= lo) and (hi is None or days_overdue <= hi):
            return key
    return BUCKETS[-1][0]


def ap_ageing(as_of=None, partner_id=None) -> dict:
    """Per supplier: open bills by bucket, what the books hold beyond them, the total;
    and the grand totals, whose sum is the payable account's balance on ``as_of``."""
    from core import timeutil
    from core.models import Partner
    from addons.finance.manual_entries import _date, check_id
    from addons.finance.payment_runs import payables_by_supplier
    from addons.finance.services import SRC_BILL, ZERO, money, role_account_id
    as_of = _date(as_of) if as_of else timeutil.today()
    partner_id = check_id(partner_id, _("Supplier"))
    ei, me, mt, e = ExpectedItem.__table__, MatchExpected.__table__, Match.__table__, Entry.__table__
    paid = (sa.select(me.c.expected_id).select_from(me.join(mt, mt.c.id == me.c.match_id))
            .where(me.c.active_expected_id.is_not(None), mt.c.date <= as_of))
    q = (sa.select(ei.c.id, ei.c.partner_id, ei.c.date, ei.c.reference, ei.c.amount, e.c.date.label("bill_date"))
         .select_from(ei.join(e, sa.and_(e.c.source_type == SRC_BILL, e.c.source_id == ei.c.source_id)))
         .where(ei.c.source_type == SRC_BILL, ei.c.kind == "supplier_payment", e.c.date <= as_of,
                ei.c.id.not_in(paid))
         .order_by(ei.c.partner_id, ei.c.date, ei.c.id))
    if partner_id is not None:
        q = q.where(ei.c.partner_id == partner_id)
    rows: dict = {}

    def row_of(pid):
        return rows.setdefault(pid, dict(partner_id=pid, supplier="", bills=[], not_from_bills=ZERO, total=ZERO,
                                         **{k: ZERO for k, *_r in BUCKETS}))
    for r in db.session.execute(q):
        amount = money(-r.amount)
        days = (as_of - r.date).days
        key = bucket_of(days)
        row = row_of(r.partner_id)
        row[key] += amount
        row["bills"].append(dict(reference=r.reference, bill_date=r.bill_date, due_date=r.date,
                                 days_overdue=max(days, 0), bucket=key, amount=amount))
    books = payables_by_supplier(as_of, partner_id)
    for pid, balance in books.items():
        row = row_of(pid)
        row["books"] = balance
    for row in rows.values():
        from_bills = sum((row[k] for k, *_r in BUCKETS), ZERO)
        row.setdefault("books", ZERO)
        row["not_from_bills"] = money(row["books"] - from_bills)
        row["total"] = row["books"]
    names = dict(db.session.execute(sa.select(Partner.id, Partner.name).where(
        Partner.id.in_([p for p in rows if p is not None]))).all()) if rows else {}
    for pid, row in rows.items():
        row["supplier"] = names.get(pid) or _("(no supplier)")
    out_rows = sorted((r for r in rows.values() if r["total"] or any(r[k] for k, *_r in BUCKETS)),
                      key=lambda r: (r["supplier"], r["partner_id"] or 0))
    totals = {k: sum((r[k] for r in out_rows), ZERO) for k, *_r in BUCKETS}
    totals["not_from_bills"] = sum((r["not_from_bills"] for r in out_rows), ZERO)
    totals["total"] = sum((r["total"] for r in out_rows), ZERO)
    from addons.finance.models import EntryLine
    el = EntryLine.__table__
    q = sa.select(sa.func.coalesce(sa.func.sum(el.c.credit - el.c.debit), 0)).where(
        el.c.account_id == role_account_id("payable"), el.c.date <= as_of)
    if partner_id is not None:
        q = q.where(el.c.partner_id == partner_id)
    account_balance = money(db.session.execute(q).scalar())
    return {"as_of": as_of, "partner_id": partner_id,
            "buckets": [dict(key=k, title=str(t)) for k, t, *_r in BUCKETS],
            "rows": out_rows, "totals": totals, "account_balance": account_balance,
            "agrees_with_books": totals["total"] == account_balance}


def ap_ageing_pdf(as_of=None, partner_id=None) -> tuple[bytes, int]:
    """The AP ageing as PDF (the same helpers and figures as the other finance reports)."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer
    from addons.finance import reports
    from core.pdf import paragraph
    from addons.finance.services import fmt
    fig = ap_ageing(as_of, partner_id)
    title = _("Accounts payable ageing as of %(date)s", date=fig["as_of"])
    buf = io.BytesIO()
    doc = reports._doc(buf, title, pagesize=landscape(A4))
    story = [paragraph(title, reports.H1)]
    keys = [b["key"] for b in fig["buckets"]]
    header = [_("Supplier")] + [b["title"] for b in fig["buckets"]] + [_("Not from bills"), _("Total")]
    story += reports._table(
        header,
        [[reports._p(r["supplier"])] + [fmt(r[k]) for k in keys] + [fmt(r["not_from_bills"]), fmt(r["total"])]
         for r in fig["rows"]],
        widths=[70 * mm] + [26 * mm] * 7, numeric_cols=tuple(range(1, 8)),
        total=[_("Total")] + [fmt(fig["totals"][k]) for k in keys] + [fmt(fig["totals"]["not_from_bills"]),
                                                                       fmt(fig["totals"]["total"])])
    story.append(Spacer(1, 4 * mm))
    story.append(paragraph(_("Accounts payable balance in the books: %(amount)s.", amount=fmt(fig["account_balance"]))
                           if fig["agrees_with_books"] else
                           _("THE AGEING (%(total)s) DOES NOT EQUAL THE PAYABLE BALANCE (%(amount)s).",
                             total=fmt(fig["totals"]["total"]), amount=fmt(fig["account_balance"])), reports.BODY))
    doc.build(story, onFirstPage=reports._footer(title), onLaterPages=reports._footer(title))
    return buf.getvalue(), doc.page


def ageing_json(fig: dict) -> dict:
    def conv(v):
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        if isinstance(v, dt.date):
            return v.isoformat()
        if hasattr(v, "quantize"):
            return str(v)
        return v
    return conv(fig)
