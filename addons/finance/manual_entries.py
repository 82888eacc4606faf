"""Manual journal entries: what finance staff book by hand (accruals, corrections, opening
balances, a bank charge the rules do not know).

A draft's lines can be changed; posting needs a balanced draft and the permission
``finance.post_manual`` (checked by the screens and routes); above
``FINANCE_MANUAL_SECOND_APPROVAL_ABOVE`` a second person must approve it first (the
approver is never the creator). Posting writes an ordinary posted entry (source
``manual_entry``); a posted one is corrected by a reversal entry, never edited. Who created,
approved, posted and reversed is kept on the row (and in the audit log).

Services never commit: the caller owns the transaction.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from core import timeutil
from core.db import db, utcnow
from core.errors import Conflict, NotFound, ValidationError
from core.i18n import _
from addons.finance.models import Account, Journal, ManualEntry, ManualEntryLine

SRC_MANUAL = "manual_entry"
MAX_ID = 2 ** 31 - 1                      # ids are 32-bit integers in the database
MAX_AMOUNT = Decimal("99999999999.99")    # Numeric(14, 3): eleven digits before the point
ZERO = Decimal("0.00")


def who() -> str | None:
    """The user behind a change: the signed-in user, or the CLI's ``--as`` user."""
    try:
        from flask import g, has_request_context
        from flask_login import current_user
        if has_request_context() and getattr(current_user, "is_authenticated", False):
            return current_user.username
        actor = g.get("o2o_actor") if g else None
        if actor:
            return actor[1]
    except RuntimeError:
        pass
    return None


def check_id(value, what) -> int | None:
    """An id as the database can hold it (or None); anything else is refused by name."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError(_("%(what)s must be a record id, not %(value)s.", what=what, value=value))
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise ValidationError(_("%(what)s must be a record id, not %(value)s.", what=what,
                                value=str(value)[:40])) from None
    if not 1 <= value <= MAX_ID:
        raise ValidationError(_("%(what)s %(value)s does not exist.", what=what, value=value))
    return value


def check_text(value, what, max_len) -> str | None:
    """Free text as it may be stored: no NUL or control characters, at most ``max_len``."""
    if value is None:
        return None
    value = str(value).strip()
    if any(ord(ch) < 32 and ch not in "\t" for ch in value):
        raise ValidationError(_("%(what)s contains control characters (such as NUL); remove them.", what=what))
    if len(value) > max_len:
        raise ValidationError(_("%(what)s is longer than %(n)s characters.", what=what, n=max_len))
    return value or None


def check_amount(value, what, *, allow_negative=False) -> Decimal:
    """A money amount in range, at cents, as Decimal (never float)."""
    from addons.finance.services import money
    if value is None or value == "":
        return ZERO
    if isinstance(value, float):
        value = str(value)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(_("%(what)s '%(value)s' is not an amount.", what=what, value=str(value)[:40])) from None
    if not amount.is_finite():
        raise ValidationError(_("%(what)s '%(value)s' is not an amount.", what=what, value=str(value)[:40]))
    if abs(amount) > MAX_AMOUNT:
        raise ValidationError(_("%(what)s %(value)s is larger than the books can hold.", what=what,
                                value=str(value)[:40]))
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(_("%(what)s %(value)s has more than 2 decimals.", what=what, value=str(value)[:40]))
    if amount < 0 and not allow_negative:
        raise ValidationError(_("%(what)s cannot be negative.", what=what))
    return money(amount)


def second_approval_limit() -> Decimal:
    """Entries whose debits exceed this need a second person (FINANCE_MANUAL_SECOND_APPROVAL_ABOVE)."""
    from addons.finance.services import money
    try:
        from flask import current_app
        raw = current_app.config.get("FINANCE_MANUAL_SECOND_APPROVAL_ABOVE", "10000.00")
    except RuntimeError:
        raw = "10000.00"
    return money(Decimal(str(raw)))


def _journal(code_or_id) -> Journal:
    if isinstance(code_or_id, Journal):
        return code_or_id
    if isinstance(code_or_id, int) and not isinstance(code_or_id, bool):
        row = db.session.get(Journal, check_id(code_or_id, _("Journal")))
    else:
        code = check_text(code_or_id, _("Journal"), 16) or "MISC"
        row = db.session.scalar(sa.select(Journal).where(Journal.code == code))
    if row is None or not row.active:
        raise NotFound(_("There is no journal with code %(code)s.", code=code_or_id))
    return row


def _account(value, n) -> Account:
    if isinstance(value, Account):
        return value
    acc = None
    if isinstance(value, int) and not isinstance(value, bool):
        acc = db.session.get(Account, check_id(value, _("Account")))
    elif isinstance(value, str) and value.strip():
        code = check_text(value, _("Account"), 16)
        acc = db.session.scalar(sa.select(Account).where(Account.code == code))
    if acc is None:
        raise ValidationError(_("Line %(n)s: there is no account %(acc)s.", n=n, acc=str(value)[:20]))
    if not acc.active:
        raise ValidationError(_("Line %(n)s: account %(acc)s is archived.", n=n, acc=acc))
    return acc


def _exists(model, value, what):
    value = check_id(value, what)
    if value is not None and db.session.get(model, value) is None:
        raise ValidationError(_("%(what)s %(value)s does not exist.", what=what, value=value))
    return value


def _line_rows(lines) -> list[ManualEntryLine]:
    from core.models import Partner, Store
    if not isinstance(lines, (list, tuple)):
        raise ValidationError(_("The lines must be a list."))
    if len(lines) > 500:
        raise ValidationError(_("A manual entry has at most 500 lines."))
    out = []
    for n, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            raise ValidationError(_("Line %(n)s is not an object with an account and an amount.", n=n))
        debit = check_amount(line.get("debit"), _("Line %(n)s: the debit", n=n))
        credit = check_amount(line.get("credit"), _("Line %(n)s: the credit", n=n))
        if debit and credit:
            raise ValidationError(_("Line %(n)s has both a debit and a credit; use two lines.", n=n))
        acc = _account(line.get("account"), n)
        out.append(ManualEntryLine(
            account_id=acc.id, account=acc, debit=debit, credit=credit,
            label=check_text(line.get("label"), _("Line %(n)s: the label", n=n), 128),
            partner_id=_exists(Partner, line.get("partner_id"), _("Partner")),
            store_id=_exists(Store, line.get("store_id"), _("Store"))))
    return out


def get_manual_entry(entry_id) -> ManualEntry:
    row = db.session.get(ManualEntry, check_id(entry_id, _("Manual entry")) or 0)
    if row is None:
        raise NotFound(_("There is no manual entry %(id)s.", id=entry_id))
    return row


def totals(me: ManualEntry) -> tuple[Decimal, Decimal]:
    """(debits, credits) of a manual entry's lines."""
    return (sum((ln.debit for ln in me.lines), ZERO), sum((ln.credit for ln in me.lines), ZERO))


def create_manual_entry(*, journal="MISC", date=None, lines=(), memo=None, store_id=None,
                        actor: str | None = None) -> ManualEntry:
    """A draft manual entry (lines may not balance yet; posting checks that)."""
    from core.models import Store
    journal_row = _journal(journal)
    store_id = _exists(Store, store_id, _("Store"))
    me = ManualEntry(journal_id=journal_row.id, journal=journal_row,
                     date=_date(date, store_id), memo=check_text(memo, _("The memo"), 256), store_id=store_id,
                     state="draft", created_by=actor or who())
    me.lines = _line_rows(list(lines or ()))
    me.total = totals(me)[0]
    db.session.add(me)
    db.session.flush()
    return me


def _date(value, store_id=None) -> dt.date:
    if value is None or value == "":
        return timeutil.today(store_id)
    if isinstance(value, dt.datetime):
        return timeutil.local_date(value, store_id)
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValidationError(_("'%(value)s' is not a date (YYYY-MM-DD).", value=str(value)[:20])) from None


def _draft(entry_id) -> ManualEntry:
    me = get_manual_entry(entry_id)
    if me.state != "draft":
        raise Conflict(_("Manual entry %(number)s is %(state)s: only a draft can be changed; post a reversal "
                         "instead.", number=me.number, state=me.state))
    return me


def update_manual_entry(entry_id, *, journal=None, date=None, memo=None, store_id=None, lines=None,
                        actor: str | None = None) -> ManualEntry:
    """Change a draft. Any change takes back an approval given to the old content."""
    from core.models import Store
    me = _draft(entry_id)
    if journal is not None:
        j = _journal(journal)
        me.journal_id, me.journal = j.id, j
    if store_id is not None:
        me.store_id = _exists(Store, store_id, _("Store"))
    if date is not None:
        me.date = _date(date, me.store_id)
    if memo is not None:
        me.memo = check_text(memo, _("The memo"), 256)
    if lines is not None:
        me.lines = _line_rows(list(lines))
        me.total = totals(me)[0]
    if me.approved_by is not None:
        me.approved_by, me.approved_at = None, None  # approved was the old content, not this
    db.session.flush()
    return me


def delete_manual_entry(entry_id) -> None:
    """A draft may be thrown away; a posted entry never (reverse it)."""
    me = _draft(entry_id)
    db.session.delete(me)
    db.session.flush()


def needs_second_person(me: ManualEntry) -> bool:
    return totals(me)[0] > second_approval_limit()


def approve_manual_entry(entry_id, actor: str | None = None) -> ManualEntry:
    """The second person's approval of a draft (never the creator's own)."""
    me = _draft(entry_id)
    actor = actor or who()
    if not actor:
        raise ValidationError(_("Approving needs a signed-in user: the approval records who gave it."))
    if me.approved_by is not None:
        raise Conflict(_("Manual entry %(number)s was already approved by %(user)s.", number=me.number,
                         user=me.approved_by))
    if me.created_by and actor == me.created_by:
        raise Conflict(_("You created manual entry %(number)s: a second person must approve it.",
                         number=me.number))
    _check_balanced(me)
    me.approved_by, me.approved_at = actor, utcnow()
    db.session.flush()
    return me


def _check_balanced(me: ManualEntry) -> None:
    from addons.finance.services import fmt
    debit, credit = totals(me)
    if sum(1 for ln in me.lines if ln.debit or ln.credit) < 2:
        raise ValidationError(_("A journal entry needs at least two lines."))
    if debit != credit:
        raise ValidationError(_("The entry does not balance: debits %(debit)s, credits %(credit)s "
                                "(difference %(diff)s).", debit=fmt(debit), credit=fmt(credit),
                                diff=fmt(debit - credit)))


def post_manual_entry(entry_id, actor: str | None = None) -> ManualEntry:
    """Post a balanced draft. Above the second-approval amount it must have been approved
    by someone other than its creator."""
    from addons.finance import services
    me = _draft(entry_id)
    actor = actor or who()
    _check_balanced(me)
    limit = second_approval_limit()
    if me.total > limit:
        if me.approved_by is None:
            raise Conflict(_("Manual entry %(number)s is over %(limit)s (%(total)s): a second person must "
                             "approve it before it is posted.", number=me.number, limit=services.fmt(limit),
                             total=services.fmt(me.total)))
        if me.created_by and me.approved_by == me.created_by:  # belt and braces: approve refuses this
            raise Conflict(_("You created manual entry %(number)s: a second person must approve it.",
                             number=me.number))
    entry = services.post_entry(
        me.journal, me.date,
        [dict(account=ln.account_id, debit=ln.debit, credit=ln.credit, label=ln.label, partner_id=ln.partner_id,
              store_id=ln.store_id if ln.store_id is not None else me.store_id) for ln in me.lines],
        memo=me.memo or _("Manual entry %(number)s", number=me.number), store_id=me.store_id,
        source_type=SRC_MANUAL, source_id=me.id, source_ref=me.number)
    me.state, me.entry_id, me.posted_by, me.posted_at = "posted", entry.id, actor, utcnow()
    db.session.flush()
    return me


def reverse_manual_entry(entry_id, *, date=None, memo=None, actor: str | None = None) -> ManualEntry:
    """Post the reversal of a posted manual entry (the entry itself stays as it was)."""
    from addons.finance import services
    me = get_manual_entry(entry_id)
    if me.state != "posted":
        raise Conflict(_("Manual entry %(number)s is %(state)s: only a posted entry can be reversed.",
                         number=me.number, state=me.state))
    from addons.finance.models import Entry
    rev = db.session.scalar(sa.select(Entry).where(Entry.reversal_of_id == me.entry_id))
    if rev is None:  # (reversed from the journal entries screen: take that reversal, post none twice)
        rev = services.reverse_entry(me.entry_id, date=_date(date, me.store_id) if date else None,
                                     memo=check_text(memo, _("The memo"), 256))
    me.state, me.reversal_entry_id, me.reversed_by, me.reversed_at = "reversed", rev.id, actor or who(), utcnow()
    db.session.flush()
    return me


def manual_entry_json(me: ManualEntry) -> dict:
    debit, credit = totals(me)
    return {"id": me.id, "number": me.number, "state": me.state, "journal": me.journal.code, "date": me.date,
            "memo": me.memo, "store_id": me.store_id, "total_debit": debit, "total_credit": credit,
            "balanced": debit == credit, "needs_second_person": debit > second_approval_limit(),
            "created_by": me.created_by, "approved_by": me.approved_by, "approved_at": me.approved_at,
            "posted_by": me.posted_by, "posted_at": me.posted_at, "entry_id": me.entry_id,
            "reversed_by": me.reversed_by, "reversed_at": me.reversed_at,
            "reversal_entry_id": me.reversal_entry_id,
            "lines": [{"id": ln.id, "account": ln.account.code, "debit": ln.debit, "credit": ln.credit,
                       "label": ln.label, "partner_id": ln.partner_id, "store_id": ln.store_id}
                      for ln in me.lines]}
