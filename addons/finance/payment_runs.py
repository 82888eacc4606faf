"""Supplier payments: a payment run pays the vendor bills that are due.

Every posted vendor bill is an open expected item (``supplier_payment``, due date, supplier,
amount negative). A run selects the open ones due by a date (optionally some suppliers
only), is approved (``finance.payment_run.approve``), exported as the bank's payment file
(CSV) and posted: payable debited per supplier, the bank or the payments-in-transit clearing
account credited. Posting settles the bills' items and leaves, for the bank statement, one
expected item per payment (or one for the run's total with ``batch_booking``), which the
bank line of the payment then reconciles against.

States: draft -> approved -> exported -> posted; cancelled from any state before posted.

Services never commit: the caller owns the transaction.
"""
from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa

from core import csvio, timeutil
from core.db import db, utcnow
from core.errors import Conflict, NotFound, ValidationError
from core.i18n import _
from addons.finance.manual_entries import check_id, check_text, who
from addons.finance.models import (Account, AccountRole, ExpectedItem, Match, MatchExpected, PartnerBankAccount,
                                   PaymentRun, PaymentRunLine)

SRC_PAYMENT_RUN = "payment_run"
METHOD_RUN = "run"  # Match.method of bills settled by a payment run (no bank line: the run's item has it)
TRANSIT_ROLE = "payments_in_transit"
TRANSIT_ACCOUNT = ("1040", "Supplier payments in transit", "asset", True)
ALLOWED = {  # state -> the states it may move to
    "draft": {"approved", "cancelled"},
    "approved": {"exported", "cancelled"},
    "exported": {"exported", "posted", "cancelled"},
    "posted": set(),
    "cancelled": set(),
}


def create_base_data(sess) -> None:
    """The payments-in-transit clearing account and its role (idempotent)."""
    code, name, type_, rec = TRANSIT_ACCOUNT
    acc = sess.scalar(sa.select(Account).where(Account.code == code))
    if acc is None:
        acc = Account(code=code, name=name, type=type_, reconcilable=rec)
        sess.add(acc)
        sess.flush()
    if sess.scalar(sa.select(AccountRole).where(AccountRole.role == TRANSIT_ROLE)) is None:
        sess.add(AccountRole(role=TRANSIT_ROLE, account_id=acc.id))
        sess.flush()


def _move(run: PaymentRun, to: str) -> None:
    if to not in ALLOWED[run.state]:
        raise Conflict(_("Payment run %(number)s is %(state)s; it cannot become %(to)s.", number=run.number,
                         state=run.state, to=to))
    run.state = to


def get_payment_run(run_id) -> PaymentRun:
    run = db.session.get(PaymentRun, check_id(run_id, _("Payment run")) or 0)
    if run is None:
        raise NotFound(_("There is no payment run %(id)s.", id=run_id))
    return run


def due_items_query(due_by: dt.date, partner_ids=None):
    """Open bill items (not matched, not in an open run) due on or before ``due_by``."""
    from addons.finance.services import SRC_BILL
    q = (sa.select(ExpectedItem)
         .outerjoin(MatchExpected, MatchExpected.active_expected_id == ExpectedItem.id)
         .outerjoin(PaymentRunLine, PaymentRunLine.active_expected_id == ExpectedItem.id)
         .where(MatchExpected.match_id.is_(None), PaymentRunLine.id.is_(None),
                ExpectedItem.kind == "supplier_payment", ExpectedItem.source_type == SRC_BILL,
                ExpectedItem.amount < 0, ExpectedItem.date <= due_by)
         .order_by(ExpectedItem.partner_id, ExpectedItem.date, ExpectedItem.id))
    if partner_ids:
        q = q.where(ExpectedItem.partner_id.in_(partner_ids))
    return q


def create_payment_run(*, due_by=None, partner_ids=None, bank=None, payment_date=None, via="clearing",
                       batch_booking=False, note=None) -> PaymentRun:
    """A draft run of every open bill due by ``due_by`` (today when left out)."""
    from addons.finance.manual_entries import _date
    from addons.finance.services import bank_account, money, role_account_id
    due_by = _date(due_by)
    payment_date = _date(payment_date) if payment_date else timeutil.today()
    ids = [check_id(p, _("Supplier")) for p in (partner_ids or ())]
    if via not in ("clearing", "bank"):
        raise ValidationError(_("Pay via 'clearing' (payments in transit) or 'bank'."))
    bank_row = bank_account(bank)
    credit_id = role_account_id(TRANSIT_ROLE) if via == "clearing" else bank_row.account_id
    items = db.session.scalars(due_items_query(due_by, ids)).all()
    if not items:
        raise ValidationError(_("No open supplier bill is due by %(date)s%(who)s.", date=due_by,
                                who=_(" for the chosen suppliers") if ids else ""))
    run = PaymentRun(state="draft", bank_account_id=bank_row.id, due_by=due_by, payment_date=payment_date,
                     credit_account_id=credit_id, batch_booking=bool(batch_booking),
                     note=check_text(note, _("The note"), 256), created_by=who())
    db.session.add(run)
    db.session.flush()
    payment_no: dict = {}
    for it in items:
        k = payment_no.setdefault(it.partner_id, len(payment_no) + 1)
        run.lines.append(PaymentRunLine(expected_id=it.id, active_expected_id=it.id, partner_id=it.partner_id,
                                        amount=money(-it.amount), reference=it.reference, due_date=it.date,
                                        payment_ref=f"{run.number}-{k}"))
    run.total = sum((ln.amount for ln in run.lines), money(0))
    db.session.flush()
    return run


def approve_payment_run(run_id) -> PaymentRun:
    run = get_payment_run(run_id)
    _move(run, "approved")
    run.approved_by, run.approved_at = who(), utcnow()
    db.session.flush()
    return run


def cancel_payment_run(run_id) -> PaymentRun:
    """Cancel a run that is not posted: its bills are open (and due) again."""
    run = get_payment_run(run_id)
    _move(run, "cancelled")
    db.session.execute(sa.update(PaymentRunLine).where(PaymentRunLine.run_id == run.id)
                       .values(active_expected_id=None))
    run.cancelled_by, run.cancelled_at = who(), utcnow()
    db.session.flush()
    db.session.expire(run, ["lines"])
    return run


def payments(run: PaymentRun) -> list[dict]:
    """One payment per supplier: name, bank account (when known), amount, reference, bills."""
    from core.models import Partner
    from addons.finance.services import money
    partner_ids = sorted({ln.partner_id for ln in run.lines if ln.partner_id})
    names = dict(db.session.execute(sa.select(Partner.id, Partner.name).where(Partner.id.in_(partner_ids))).all()) \
        if partner_ids else {}
    banks = dict(db.session.execute(sa.select(PartnerBankAccount.partner_id, PartnerBankAccount.account_number)
                                    .where(PartnerBankAccount.partner_id.in_(partner_ids))).all()) \
        if partner_ids else {}
    out: dict = {}
    for ln in run.lines:
        pay = out.setdefault(ln.payment_ref, dict(partner_id=ln.partner_id, payment_ref=ln.payment_ref,
                                                  supplier=names.get(ln.partner_id) or _("(no supplier)"),
                                                  bank_account=banks.get(ln.partner_id) or "",
                                                  amount=money(0), bills=[], due_date=ln.due_date))
        pay["amount"] += ln.amount
        pay["bills"].append(ln.reference or "")
        pay["due_date"] = min(pay["due_date"], ln.due_date)
    return list(out.values())


def payment_file(run: PaymentRun) -> bytes:
    """The payment file: UTF-8 with a byte-order mark (so Excel shows Chinese names)."""
    buf = io.StringIO()
    writer = csvio.writer(buf, lineterminator="\r\n")  # every text cell made inert (core.csvio)
    writer.writerow(["supplier", "bank_account", "amount", "currency_reference", "reference", "due_date", "bills"])
    for pay in payments(run):
        writer.writerow([pay["supplier"], pay["bank_account"], f"{pay['amount']:.2f}", run.bank_account.code,
                         pay["payment_ref"], pay["due_date"].isoformat(), " ".join(b for b in pay["bills"] if b)])
    return "\ufeff".encode("utf-8") + buf.getvalue().encode("utf-8")


def export_payment_run(run_id) -> tuple[PaymentRun, bytes]:
    """The payment file of an approved run (the run becomes exported; exporting again
    gives the same file)."""
    run = get_payment_run(run_id)
    _move(run, "exported")
    if run.exported_at is None:
        run.exported_by, run.exported_at = who(), utcnow()
    db.session.flush()
    return run, payment_file(run)


def post_payment_run(run_id, date=None) -> PaymentRun:
    """Post an exported run: Dr payable per supplier, Cr bank or payments in transit; the
    bills' items are settled and the bank gets the items its statement will show."""
    from addons.finance import services
    from addons.finance.manual_entries import _date
    run = get_payment_run(run_id)
    if run.state != "exported":
        raise Conflict(_("Payment run %(number)s is %(state)s: export its payment file before posting it.",
                         number=run.number, state=run.state))
    date = _date(date) if date else run.payment_date
    pays = payments(run)
    payable = services.role_account_id("payable")
    lines = [dict(account=payable, debit=p["amount"], label=p["payment_ref"], partner_id=p["partner_id"])
             for p in pays]
    lines += [dict(account=run.credit_account_id, credit=p["amount"], label=p["payment_ref"],
                   partner_id=p["partner_id"]) for p in pays]
    entry = services.post_entry(run.bank_account.journal, date, lines,
                                memo=_("Payment run %(number)s", number=run.number), source_type=SRC_PAYMENT_RUN,
                                source_id=run.id, source_ref=run.number)
    # the bills are paid: their items are settled by the run (no bank line of their own)
    items = [ln.expected for ln in run.lines]
    settle = Match(method=METHOD_RUN, bank_account_id=run.bank_account_id, date=date, bank_amount=services.ZERO,
                   expected_amount=sum((it.amount for it in items), services.ZERO), difference=services.ZERO,
                   note=_("Paid by payment run %(number)s", number=run.number)[:256], entry_id=entry.id,
                   created_by=who())
    db.session.add(settle)
    db.session.flush()
    db.session.add_all([MatchExpected(match_id=settle.id, expected_id=it.id, active_expected_id=it.id)
                        for it in items])
    # what the bank statement will show
    if run.batch_booking:
        targets = [dict(key=f"payrun:{run.id}", amount=run.total, reference=run.number, partner_id=None)]
    else:
        targets = [dict(key=f"payrun:{run.id}:{p['payment_ref']}", amount=p["amount"], reference=p["payment_ref"],
                        partner_id=p["partner_id"]) for p in pays]
    for t in targets:
        db.session.add(ExpectedItem(key=t["key"][:96], kind="supplier_payment", date=date, reference=t["reference"],
                                    gross=-t["amount"], fee=services.ZERO, amount=-t["amount"],
                                    account_id=run.credit_account_id, partner_id=t["partner_id"],
                                    source_type=SRC_PAYMENT_RUN, source_id=run.id))
    _move(run, "posted")
    run.entry_id, run.posted_by, run.posted_at = entry.id, who(), utcnow()
    db.session.flush()
    return run


def payment_run_json(run: PaymentRun) -> dict:
    return {"id": run.id, "number": run.number, "state": run.state, "bank": run.bank_account.code,
            "due_by": run.due_by, "payment_date": run.payment_date, "credit_account": run.credit_account.code,
            "batch_booking": run.batch_booking, "total": run.total, "note": run.note,
            "created_by": run.created_by, "approved_by": run.approved_by, "approved_at": run.approved_at,
            "exported_by": run.exported_by, "exported_at": run.exported_at, "posted_by": run.posted_by,
            "posted_at": run.posted_at, "entry_id": run.entry_id, "cancelled_by": run.cancelled_by,
            "payments": [dict(p, bills=[b for b in p["bills"] if b]) for p in payments(run)],
            "lines": [{"expected_item_id": ln.expected_id, "partner_id": ln.partner_id, "amount": ln.amount,
                       "reference": ln.reference, "due_date": ln.due_date, "payment_ref": ln.payment_ref}
                      for ln in run.lines]}


def payables_by_supplier(as_of, partner_id=None) -> dict:
    """Credits less debits of the payable account per supplier up to ``as_of``."""
    from addons.finance.models import EntryLine
    from addons.finance.services import money, role_account_id
    el = EntryLine.__table__
    q = (sa.select(el.c.partner_id, sa.func.sum(el.c.credit - el.c.debit))
         .where(el.c.account_id == role_account_id("payable"), el.c.date <= as_of).group_by(el.c.partner_id))
    if partner_id is not None:
        q = q.where(el.c.partner_id == partner_id)
    return {pid: money(v) for pid, v in db.session.execute(q)}

