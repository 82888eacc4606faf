"""Finance services: the only module other addons (and finance's own screens) import.

Books: ``post_entry`` (balanced or refused; never into a locked period; one posting per
source document), ``reverse_entry``, ``lock_period``. Automatic posting from other addons'
events (``post_order_paid``, ``post_session_closed``, ``post_goods_received``,
``post_vendor_bill``, ``post_refund``) reads only the attributes listed in the contracts,
so finance never imports sales, pos or purchasing. Statements: ``import_statement`` (CSV with
a per-bank column mapping, CAMT.053). Reconciliation: ``auto_reconcile``, ``match``,
``undo_match``. Figures for screens and PDFs: ``reconciliation_figures``, ``trial_balance``,
``journal_report``. ``backfill`` posts past documents exactly once.

Services never commit: the caller owns the transaction.
"""
from __future__ import annotations

import bisect
import csv
import datetime as dt
import hashlib
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from xml.etree import ElementTree

import sqlalchemy as sa
from sqlalchemy import func

from core import timeutil
from core.cache import cached, watch
from core.db import created_in_this_transaction, db, persistent_from_row, utcnow
from core.errors import Conflict, NotFound, ValidationError
from core.i18n import _, _l
from core.models import Store
from core.timeutil import local_date
from addons.finance.models import (Account, AccountRole, BackfillRun, BankAccount, CsvFormat, Entry, EntryLine,
                                   ExpectedItem, Journal, Match, MatchBatch, MatchExpected, MatchLine, MatchRule,
                                   PaymentMethodAccount, Period, Statement, StatementLine, StoreJournal,
                                   TaxAccount)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
ENTRY_SEQUENCE = "finance.entry"

# Source types of automatic postings (source_type column of finance_entry).
SRC_ORDER = "sales_order"
SRC_SESSION = "pos_session"
SRC_RECEIPT = "goods_receipt"
SRC_BILL = "vendor_bill"
SRC_REFUND = "refund"
SRC_POS_REFUND = "pos_refund"
SRC_REVERSAL = "reversal"
SRC_MATCH = "finance_match"
SRC_MATCH_BATCH = "finance_match_batch"
SRC_MATCH_UNDO = "finance_match_undo"
SRC_STOCK = "stock_move"            # one stock posting; source id = its first move's id
SRC_REVALUATION = "stock_revaluation"  # source id = the first revaluation row's id

EVENT_SOURCES = {
    "o2o_order_paid": SRC_ORDER,
    "o2o_pos_session_closed": SRC_SESSION,
    "o2o_goods_received": SRC_RECEIPT,
    "o2o_vendor_bill_posted": SRC_BILL,
    "o2o_refund_posted": SRC_REFUND,
}


def money(value) -> Decimal:
    if value is None:
        return ZERO
    if isinstance(value, float):
        raise TypeError("money is Decimal, not float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def fmt(value) -> str:
    """How an amount is shown on screens and in PDFs (the same string in both)."""
    return f"{money(value):,.2f}"


def _as_date(value, store=None) -> dt.date:
    """The business date of ``value``: a timestamp's local date in the store's timezone
    (``store``: a Store, its id, or None for the company's), today there when None."""
    if value is None:
        return timeutil.today(store)
    if isinstance(value, dt.datetime):
        return timeutil.local_date(value, store)
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _actor() -> str | None:
    try:
        from flask_login import current_user
        if getattr(current_user, "is_authenticated", False):
            return current_user.username
    except Exception:
        pass
    return None


def session():
    return db.session


# =========================================================================================
# Base data
# =========================================================================================

CHART = [
    ("1000", "Bank", "asset", True),
    ("1010", "Cash in tills", "asset", False),
    ("1030", "Cash in transit (deposits)", "asset", True),
    ("1120", "Card payments clearing", "asset", True),
    ("1130", "Mobile wallet clearing", "asset", True),
    ("1200", "Accounts receivable", "asset", True),
    ("1300", "Inventory", "asset", False),
    ("1400", "Input tax (VAT receivable)", "asset", False),
    ("2000", "Accounts payable", "liability", True),
    ("2050", "Goods received not invoiced", "liability", True),
    ("2200", "Output tax (VAT payable)", "liability", False),
    ("2300", "Gift vouchers outstanding", "liability", False),
    ("2310", "Store credit outstanding", "liability", False),
    ("2900", "Suspense", "liability", False),
    ("3000", "Equity and retained earnings", "equity", False),
    ("4000", "Sales revenue", "income", False),
    ("4100", "Sales returns and refunds", "income", False),
    ("4900", "Cash rounding", "income", False),
    ("5000", "Cost of goods sold", "expense", False),
    ("5100", "Purchase price variance", "expense", False),
    ("5200", "Stock losses (shrinkage and scrap)", "expense", False),
    ("6100", "Card and wallet fees", "expense", False),
    ("6900", "Cash over and short", "expense", False),
    ("6950", "Petty cash paid from tills", "expense", False),
    ("6990", "Reconciliation write-offs", "expense", False),
]
ROLES = {
    "revenue": "4000", "refunds": "4100", "tax_sales": "2200", "tax_purchase": "1400", "rounding": "4900",
    "receivable": "1200", "cash_in_transit": "1030", "cash_over_short": "6900", "cash_in_out": "6950",
    "stock": "1300", "grni": "2050", "payable": "2000", "bank_fees": "6100", "writeoff": "6990",
    "suspense": "2900", "bank": "1000",
    # perpetual inventory: what stock leaving or coming back posts against
    "cogs": "5000", "stock_loss": "5200", "scrap": "5200", "price_variance": "5100",
    "stock_transit": "1300",  # goods between stores: the inventory account, lines without a store
}
PAYMENT_METHODS = [  # code, account, settlement, fee percent
    ("cash", "1010", "cash_deposit", "0"),
    ("card", "1120", "card_settlement", "1.0"),
    ("wallet", "1130", "wallet_settlement", "0.6"),
    ("voucher", "2300", "none", "0"),
    ("store_credit", "2310", "none", "0"),
]
JOURNALS = [
    ("SALES", "Sales", "sale", "4000"),
    ("PURCH", "Purchases", "purchase", "2000"),
    ("BANK", "Bank", "bank", "1000"),
    ("CARD", "Card provider clearing", "clearing", "1120"),
    ("WALLET", "Mobile wallet clearing", "clearing", "1130"),
    ("MISC", "Miscellaneous", "general", None),
    ("STOCK", "Stock valuation", "general", "1300"),
]
RULES = [
    # name, sequence, kind, match_reference, tolerance, window
    ("Reference and exact amount", 10, None, True, "0.00", 5),
    ("Exact amount within 3 days", 20, None, False, "0.00", 3),
    ("Card or wallet settlement, fee rounding within 0.10", 30, "card_settlement", False, "0.10", 3),
    ("Wallet settlement, fee rounding within 0.10", 31, "wallet_settlement", False, "0.10", 3),
]


def create_base_data(sess) -> None:
    """The default retail chart, journals, posting map, bank, CSV format and rules (idempotent)."""
    from core.services.sequences import ensure_sequence
    accounts = {a.code: a for a in sess.scalars(sa.select(Account))}
    for code, name, type_, rec in CHART:
        if code not in accounts:
            accounts[code] = Account(code=code, name=name, type=type_, reconcilable=rec)
            sess.add(accounts[code])
    sess.flush()
    roles = set(sess.scalars(sa.select(AccountRole.role)))
    for role, code in ROLES.items():
        if role not in roles:
            sess.add(AccountRole(role=role, account_id=accounts[code].id))
    methods = set(sess.scalars(sa.select(PaymentMethodAccount.method_code)))
    for code, acc, settlement, fee in PAYMENT_METHODS:
        if code not in methods:
            sess.add(PaymentMethodAccount(method_code=code, account_id=accounts[acc].id, settlement=settlement,
                                          fee_percent=Decimal(fee)))
    journals = {j.code: j for j in sess.scalars(sa.select(Journal))}
    for code, name, kind, acc in JOURNALS:
        if code not in journals:
            journals[code] = Journal(code=code, name=name, kind=kind,
                                     default_account_id=accounts[acc].id if acc else None)
            sess.add(journals[code])
    sess.flush()
    from core.models import Tax
    rates = {r for r in sess.scalars(sa.select(TaxAccount.rate))}
    for tax in sess.scalars(sa.select(Tax)):
        rate = Decimal(tax.rate).quantize(Decimal("0.0001"))
        if rate not in rates:
            sess.add(TaxAccount(rate=rate, sales_account_id=accounts["2200"].id,
                                purchase_account_id=accounts["1400"].id))
            rates.add(rate)
    fmt_row = sess.scalar(sa.select(CsvFormat).where(CsvFormat.code == "generic"))
    if fmt_row is None:
        fmt_row = CsvFormat(code="generic", name="Generic CSV (date, amount, reference, description)",
                            delimiter=",", date_column="date", date_format="%Y-%m-%d", amount_column="amount",
                            reference_column="reference", description_column="description",
                            counterparty_column="counterparty")
        sess.add(fmt_row)
        sess.flush()
    if sess.scalar(sa.select(BankAccount).where(BankAccount.code == "MAIN")) is None:
        sess.add(BankAccount(code="MAIN", name="Main bank account", account_id=accounts["1000"].id,
                             journal_id=journals["BANK"].id, csv_format_id=fmt_row.id))
    names = set(sess.scalars(sa.select(MatchRule.name)))
    for name, seq, kind, ref, tol, window in RULES:
        if name not in names:
            sess.add(MatchRule(name=name, sequence=seq, kind=kind, match_reference=ref,
                               amount_tolerance=Decimal(tol), date_window_days=window))
    ensure_sequence(sess, ENTRY_SEQUENCE, "Journal entries", pattern="JE/{year}/{number}", padding=6,
                    reset="year")
    sess.flush()
    for store in sess.scalars(sa.select(Store)):
        cash_journal(store.id)


# =========================================================================================
# Books
# =========================================================================================

@dataclass(frozen=True)
class MethodAccount:
    method_code: str
    account_id: int
    settlement: str | None
    fee_percent: Decimal | None


@dataclass(frozen=True)
class AccountInfo:
    id: int
    code: str
    name: str
    active: bool

    def __str__(self):
        return f"{self.code} {self.name}"


@dataclass(frozen=True)
class BooksSetup:
    """The account map automatic postings read, as plain values (kept in the config cache)."""
    roles: dict            # role -> account id
    methods: dict          # payment method code -> MethodAccount
    taxes: dict            # rate (4 decimals) -> (sales account id, purchase account id)
    journals: dict         # journal code -> id
    accounts: dict         # account id -> AccountInfo
    locked: tuple          # (name, first day, last day) of each locked period


def books_setup() -> BooksSetup:
    def load():
        accounts = {a.id: AccountInfo(a.id, a.code, a.name, bool(a.active))
                    for a in db.session.scalars(sa.select(Account))}
        return BooksSetup(
            roles=dict(db.session.execute(sa.select(AccountRole.role, AccountRole.account_id)).all()),
            methods={m.method_code: MethodAccount(m.method_code, m.account_id, m.settlement, m.fee_percent)
                     for m in db.session.scalars(sa.select(PaymentMethodAccount))},
            taxes={Decimal(r.rate).quantize(Decimal("0.0001")): (r.sales_account_id, r.purchase_account_id)
                   for r in db.session.scalars(sa.select(TaxAccount))},
            journals=dict(db.session.execute(sa.select(Journal.code, Journal.id)).all()),
            accounts=accounts,
            locked=tuple(db.session.execute(sa.select(Period.name, Period.date_from, Period.date_to)
                                            .where(Period.locked.is_(True))).all()))
    return cached(("finance.books_setup",), load)


watch("finance_account", "finance_account_role", "finance_payment_method_account", "finance_tax_account",
      "finance_journal", "finance_period")


def role_account_id(role: str) -> int:
    """The account configured for a role (Finance > Account roles), from the cached setup."""
    found = books_setup().roles.get(role)
    if found is None:
        raise ValidationError(_("No account is configured for '%(role)s' (Finance > Account roles).", role=role))
    return found


def account(code: str) -> Account:
    acc = db.session.scalar(sa.select(Account).where(Account.code == code))
    if acc is None:
        raise NotFound(_("There is no account with code %(code)s.", code=code))
    return acc


def role_account(role: str) -> Account:
    row = db.session.scalar(sa.select(AccountRole).where(AccountRole.role == role))
    if row is None:
        raise ValidationError(_("No account is configured for '%(role)s' (Finance > Account roles).", role=role))
    return row.account


def journal(code: str) -> Journal:
    row = db.session.scalar(sa.select(Journal).where(Journal.code == code))
    if row is None:
        raise NotFound(_("There is no journal with code %(code)s.", code=code))
    return row


def cash_journal(store_id: int) -> Journal:
    """The store's cash journal, created (CASH-<store code>) when it has none yet."""
    link = db.session.scalar(sa.select(StoreJournal).where(StoreJournal.store_id == store_id))
    if link is not None:
        return link.journal
    store = db.session.get(Store, store_id)
    if store is None:
        raise NotFound(_("There is no store with id %(id)s.", id=store_id))
    code = f"CASH-{store.code}"[:16]
    jr = db.session.scalar(sa.select(Journal).where(Journal.code == code))
    if jr is None:
        cash = db.session.scalar(sa.select(PaymentMethodAccount).where(PaymentMethodAccount.method_code == "cash"))
        jr = Journal(code=code, name=_("Cash %(store)s", store=store.name)[:128], kind="cash", store_id=store.id,
                     default_account_id=cash.account_id if cash else None)
        db.session.add(jr)
        db.session.flush()
    db.session.add(StoreJournal(store_id=store.id, journal_id=jr.id))
    db.session.flush()
    return jr


def locked_period(date: dt.date) -> Period | None:
    return db.session.scalar(sa.select(Period).where(Period.locked.is_(True), Period.date_from <= date,
                                                     Period.date_to >= date).limit(1))


def check_period_open(date: dt.date) -> None:
    period = next((p for p in books_setup().locked if p.date_from <= date <= p.date_to), None)
    if period is not None:
        raise Conflict(_("The period %(period)s (%(start)s to %(end)s) is locked: nothing can be posted "
                         "on %(date)s. Post it in an open period.", period=period.name, start=period.date_from,
                         end=period.date_to, date=date))


def lock_period(name: str, date_from=None, date_to=None) -> Period:
    """Lock the period ``name`` (created from the dates when it does not exist)."""
    period = db.session.scalar(sa.select(Period).where(Period.name == name))
    if period is None:
        if date_from is None or date_to is None:
            raise ValidationError(_("Give the first and last day of the new period %(name)s.", name=name))
        period = Period(name=name, date_from=_as_date(date_from), date_to=_as_date(date_to))
        db.session.add(period)
    period.locked = True
    period.locked_at = utcnow()
    db.session.flush()
    return period


def unlock_period(name: str) -> Period:
    period = db.session.scalar(sa.select(Period).where(Period.name == name))
    if period is None:
        raise NotFound(_("There is no period named %(name)s.", name=name))
    period.locked = False
    period.locked_at = None
    db.session.flush()
    return period


# built once: every sale runs them
_POSTED = (sa.select(Entry.__table__.c.id).where(Entry.__table__.c.source_type == sa.bindparam("st"),
                                                 Entry.__table__.c.source_id == sa.bindparam("sid")).limit(1))
_ENTRY_INSERT = sa.insert(Entry.__table__).returning(Entry.__table__.c.id)
_ENTRY_LINE_INSERT = sa.insert(EntryLine.__table__)


def _is_posted(source_type: str, source_id: int) -> bool:
    """Whether a source document has its entry. On the connection, without autoflush:
    entries are written straight (post_entry), so none is ever left pending."""
    return db.session.connection().execute(_POSTED, {"st": source_type, "sid": source_id}).first() is not None


def find_posting(source_type: str, source_id: int) -> Entry | None:
    return db.session.scalar(sa.select(Entry).where(Entry.source_type == source_type,
                                                    Entry.source_id == source_id))


def postings_for(source_type: str, source_id: int) -> list[Entry]:
    """Every entry of a source document: its posting and any reversal of it (traceability)."""
    first = find_posting(source_type, source_id)
    if first is None:
        return []
    out = [first]
    rev = db.session.scalar(sa.select(Entry).where(Entry.reversal_of_id == first.id))
    if rev is not None:
        out.append(rev)
    return out


def post_entry(journal_code: str | Journal, date, lines: list[dict], *, memo: str | None = None,
               store_id: int | None = None, channel: str | None = None, source_type: str | None = None,
               source_id: int | None = None, source_ref: str | None = None,
               reversal_of_id: int | None = None, accounts: dict | None = None,
               source_checked: bool = False) -> Entry:
    """Post a balanced entry. ``lines``: dicts with ``account`` (Account, id or code),
    ``debit`` or ``credit`` (Decimal, not negative), and optional ``label``, ``partner_id``,
    ``store_id``, ``payment_method``. Refused: unbalanced, empty, negative or both-sided
    lines, a locked period, a source document that was posted already (``source_checked``:
    the caller has just looked)."""
    setup = books_setup()
    if isinstance(journal_code, Journal):
        journal_id = journal_code.id
    else:
        journal_id = setup.journals.get(journal_code)
        if journal_id is None:
            raise NotFound(_("There is no journal with code %(code)s.", code=journal_code))
    date = _as_date(date, store_id)
    if not lines:
        raise ValidationError(_("A journal entry needs at least two lines."))
    check_period_open(date)
    if source_type is not None and source_id is not None and not source_checked:
        existing = find_posting(source_type, source_id)
        if existing is not None:
            raise Conflict(_("%(source)s %(ref)s is already posted as entry %(number)s; it cannot be posted "
                             "twice.", source=source_type, ref=source_ref or source_id, number=existing.number))
    total_debit = total_credit = ZERO
    rows = []
    account_cache: dict = dict(accounts or {})  # callers posting many entries pass {id: Account}
    for i, line in enumerate(lines, start=1):
        debit, credit = money(line.get("debit")), money(line.get("credit"))
        if debit < 0 or credit < 0:
            raise ValidationError(_("Line %(n)s: debit and credit cannot be negative.", n=i))
        if debit > 0 and credit > 0:
            raise ValidationError(_("Line %(n)s has both a debit and a credit; use two lines.", n=i))
        if debit == 0 and credit == 0:
            continue
        acc = line.get("account")
        key = acc if not isinstance(acc, Account) else acc.id
        if key not in account_cache:
            if isinstance(acc, Account):
                account_cache[key] = acc
            elif isinstance(acc, int):
                account_cache[key] = setup.accounts.get(acc)
            elif isinstance(acc, str):
                account_cache[key] = next((a for a in setup.accounts.values() if a.code == acc), None)
            else:
                account_cache[key] = None
            if account_cache[key] is None:
                raise ValidationError(_("Line %(n)s: there is no account %(acc)s.", n=i, acc=acc))
        acc_row = account_cache[key]
        if not acc_row.active:
            raise ValidationError(_("Line %(n)s: account %(acc)s is archived.", n=i, acc=acc_row))
        total_debit += debit
        total_credit += credit
        rows.append(dict(account_id=acc_row.id, date=date, debit=debit, credit=credit,
                         label=(line.get("label") or None) and str(line.get("label"))[:128],
                         partner_id=line.get("partner_id"), store_id=line.get("store_id", store_id),
                         payment_method=line.get("payment_method")))
    if len(rows) < 2 and not (total_debit == total_credit == ZERO):
        raise ValidationError(_("A journal entry needs at least two lines."))
    if not rows:
        raise ValidationError(_("A journal entry needs at least one amount."))
    if total_debit != total_credit:
        raise ValidationError(_("The entry does not balance: debits %(debit)s, credits %(credit)s "
                                "(difference %(diff)s).", debit=fmt(total_debit), credit=fmt(total_credit),
                                diff=fmt(total_debit - total_credit)))
    from core.services.sequences import next_number
    values = dict(number=next_number(ENTRY_SEQUENCE, date=date), journal_id=journal_id, date=date, state="posted",
                  memo=(memo or None) and memo[:256], store_id=store_id, channel=channel, source_type=source_type,
                  source_id=source_id, source_ref=(source_ref and str(source_ref)[:64]),
                  reversal_of_id=reversal_of_id, posted_at=utcnow(), posted_by=_actor())
    # A posted entry is written once and never changed: two INSERTs straight to the
    # database (no unit of work), the entry handed back as if loaded, its lines on use.
    conn = db.session.connection()
    entry_id = conn.execute(_ENTRY_INSERT, values).scalar_one()
    conn.execute(_ENTRY_LINE_INSERT, [dict(row, entry_id=entry_id) for row in rows])
    return persistent_from_row(db.session, Entry, {**values, "id": entry_id})


def reverse_entry(entry_id: int, date=None, memo: str | None = None) -> Entry:
    """Post the mirror image of a posted entry (the only way to correct one)."""
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        raise NotFound(_("There is no journal entry %(id)s.", id=entry_id))
    if entry.reversal_of_id is not None:
        raise Conflict(_("Entry %(number)s is itself a reversal; post a new entry instead.", number=entry.number))
    done = db.session.scalar(sa.select(Entry).where(Entry.reversal_of_id == entry.id))
    if done is not None:
        raise Conflict(_("Entry %(number)s was already reversed by %(rev)s.", number=entry.number,
                         rev=done.number))
    lines = [dict(account=ln.account_id, debit=ln.credit, credit=ln.debit, label=ln.label,
                  partner_id=ln.partner_id, store_id=ln.store_id, payment_method=ln.payment_method)
             for ln in entry.lines]
    return post_entry(entry.journal, date or entry.date, lines,
                      memo=memo or _("Reversal of %(number)s", number=entry.number), store_id=entry.store_id,
                      channel=entry.channel, source_type=SRC_REVERSAL, source_id=entry.id,
                      source_ref=entry.number, reversal_of_id=entry.id)


def edit_entry(entry_id: int, **changes):
    """Refused for posted entries (they are immutable); kept so screens and the API give the
    same clear message."""
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        raise NotFound(_("There is no journal entry %(id)s.", id=entry_id))
    if entry.state == "posted":
        raise Conflict(_("Journal entry %(number)s is posted and cannot be changed or deleted; post a reversal "
                         "instead.", number=entry.number))
    for key, value in changes.items():
        setattr(entry, key, value)
    db.session.flush()
    return entry


# =========================================================================================
# Automatic posting
# =========================================================================================

class _Lines:
    """Accumulates signed amounts (positive = debit) per account and dimensions."""

    def __init__(self):
        self.amounts: dict[tuple, Decimal] = defaultdict(lambda: ZERO)

    def add(self, account_id, amount, *, label=None, store_id=None, partner_id=None, payment_method=None):
        amount = money(amount)
        if amount:
            self.amounts[(account_id, label, store_id, partner_id, payment_method)] += amount

    def lines(self) -> list[dict]:
        out = []
        for (account_id, label, store_id, partner_id, method), amount in self.amounts.items():
            if amount == 0:
                continue
            out.append(dict(account=account_id, debit=amount if amount > 0 else ZERO,
                            credit=-amount if amount < 0 else ZERO, label=label, store_id=store_id,
                            partner_id=partner_id, payment_method=method))
        return out

    def balance(self) -> Decimal:
        return sum(self.amounts.values(), ZERO)


def _method_map() -> dict[str, MethodAccount]:
    return books_setup().methods


def _tax_account_id(rate, purchase=False) -> int:
    if rate is not None:
        rate = Decimal(rate)
        taxes = books_setup().taxes
        row = taxes.get(rate.quantize(Decimal("0.0001")))
        if row is None and 0 < rate < 1:  # a fraction (0.13) rather than percent (13)
            row = taxes.get((rate * 100).quantize(Decimal("0.0001")))
        if row is not None:
            return row[1] if purchase else row[0]
    return role_account_id("tax_purchase" if purchase else "tax_sales")


def _store_code(store_id) -> str:
    if store_id is None:
        return "HQ"
    store = db.session.get(Store, store_id)
    return store.code if store else str(store_id)


def _revenue_account_id(channel) -> int:
    if channel:
        found = books_setup().roles.get(f"revenue_{channel}")
        if found is not None:
            return found
    return role_account_id("revenue")


def _bump_expected(key, *, kind, date, amount, account_id, store_id=None, method_code=None, partner_id=None,
                   reference=None, fee_percent=None, source_type=None, source_id=None, set_amount=False):
    item = db.session.scalar(sa.select(ExpectedItem).where(ExpectedItem.key == key))
    if item is None:
        item = ExpectedItem(key=key, kind=kind, date=date, gross=ZERO, fee=ZERO, amount=ZERO, account_id=account_id,
                            store_id=store_id, method_code=method_code, partner_id=partner_id, reference=reference,
                            source_type=source_type, source_id=source_id)
        db.session.add(item)
    item.gross = money(amount) if set_amount else money(item.gross + money(amount))
    pct = Decimal(fee_percent or 0)
    item.fee = money(item.gross * pct / 100) if pct else ZERO
    item.amount = money(item.gross - item.fee)
    db.session.flush()
    return item


def _settle(payments, *, store_id, date, sign=1):
    """Card and wallet payments of a day become (part of) that day's expected settlement."""
    methods = _method_map()
    for method, amount in payments.items():
        cfg = methods.get(method)
        if cfg is None or cfg.settlement not in ("card_settlement", "wallet_settlement"):
            continue
        code = _store_code(store_id)
        _bump_expected(f"{cfg.settlement}:{method}:{store_id or 0}:{date.isoformat()}", kind=cfg.settlement,
                       date=date, amount=sign * amount, account_id=cfg.account_id, store_id=store_id,
                       method_code=method, reference=f"{method.upper()}-{code}-{date:%Y%m%d}",
                       fee_percent=cfg.fee_percent)


def _payments_by_method(obj) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for p in getattr(obj, "payments", None) or ():
        method = getattr(p, "method", None)
        method = getattr(method, "code", method)  # a row or its code
        out[str(method)] += money(getattr(p, "amount", 0))
    return dict(out)


def post_order_paid(order) -> Entry | None:
    """Paid order -> revenue (net), tax per rate, and a debit per payment method; card and
    wallet payments feed the day's expected settlement. Skips an order already posted."""
    # an order this transaction created cannot have been posted by another one (and the
    # unique source constraint would refuse it anyway)
    if not created_in_this_transaction(order) and _is_posted(SRC_ORDER, order.id):
        return None
    date = _as_date(getattr(order, "paid_at", None), getattr(order, "store_id", None))
    store_id = getattr(order, "store_id", None)
    channel = getattr(order, "channel", None)
    partner_id = getattr(order, "customer_id", None)
    methods = _method_map()
    acc = _Lines()
    payments = _payments_by_method(order)
    for method, amount in payments.items():
        cfg = methods.get(method)
        account_id = cfg.account_id if cfg else role_account_id("receivable")
        acc.add(account_id, amount, label=_("Payment %(method)s", method=method), store_id=store_id,
                partner_id=partner_id if cfg is None else None, payment_method=method)
    lines = list(getattr(order, "lines", None) or ())
    revenue_id = _revenue_account_id(channel)
    if lines:
        for ln in lines:
            acc.add(revenue_id, -money(getattr(ln, "net_amount", 0)), label=_("Sales"), store_id=store_id)
            acc.add(_tax_account_id(getattr(ln, "tax_rate", None)), -money(getattr(ln, "tax_amount", 0)),
                    label=_("Output tax"), store_id=store_id)
    else:
        acc.add(revenue_id, -money(getattr(order, "net_total", 0)), label=_("Sales"), store_id=store_id)
        acc.add(role_account_id("tax_sales"), -money(getattr(order, "tax_total", 0)), label=_("Output tax"),
                store_id=store_id)
    diff = acc.balance()
    if diff:
        acc.add(role_account_id("rounding"), -diff, label=_("Cash rounding"), store_id=store_id)
    if not acc.lines():
        return None
    entry = post_entry("SALES", date, acc.lines(), memo=_("Order %(number)s", number=order.number),
                       store_id=store_id, channel=channel, source_type=SRC_ORDER, source_id=order.id,
                       source_ref=order.number, source_checked=True)
    _settle(payments, store_id=store_id, date=date)
    return entry


def post_refund(refund, source_type: str = SRC_REFUND) -> Entry | None:
    """Refund -> returns account (net) and tax debited, the refund's payment methods credited."""
    if find_posting(source_type, refund.id) is not None:
        return None
    date = _as_date(getattr(refund, "refunded_at", None) or getattr(refund, "posted_at", None)
                    or getattr(refund, "created_at", None), getattr(refund, "store_id", None))
    store_id = getattr(refund, "store_id", None)
    methods = _method_map()
    acc = _Lines()
    payments = _payments_by_method(refund)
    for method, amount in payments.items():
        cfg = methods.get(method)
        acc.add(cfg.account_id if cfg else role_account_id("receivable"), -amount,
                label=_("Refund %(method)s", method=method), store_id=store_id, payment_method=method)
    lines = list(getattr(refund, "lines", None) or ())
    refunds_id = role_account_id("refunds")
    if lines:
        for ln in lines:
            acc.add(refunds_id, money(getattr(ln, "net_amount", 0)), label=_("Returns"), store_id=store_id)
            acc.add(_tax_account_id(getattr(ln, "tax_rate", None)), money(getattr(ln, "tax_amount", 0)),
                    label=_("Output tax"), store_id=store_id)
    else:
        acc.add(refunds_id, money(getattr(refund, "net_total", 0)), label=_("Returns"), store_id=store_id)
        acc.add(role_account_id("tax_sales"), money(getattr(refund, "tax_total", 0)), label=_("Output tax"),
                store_id=store_id)
    diff = acc.balance()
    if diff:
        acc.add(role_account_id("rounding"), -diff, label=_("Cash rounding"), store_id=store_id)
    if not acc.lines():
        return None
    number = getattr(refund, "number", None) or str(refund.id)
    entry = post_entry("SALES", date, acc.lines(), memo=_("Refund %(number)s", number=number), store_id=store_id,
                       channel=getattr(refund, "channel", None), source_type=source_type, source_id=refund.id,
                       source_ref=number)
    _settle(payments, store_id=store_id, date=date, sign=-1)
    return entry


def _cash_totals(pos_session) -> tuple[Decimal, Decimal, Decimal]:
    """(expected, counted, difference) of cash in a till session."""
    methods = _method_map()
    cash_codes = {c for c, m in methods.items() if m.settlement == "cash_deposit"} or {"cash"}
    expected = counted = diff = ZERO
    found = False
    for code, totals in (getattr(pos_session, "totals_by_method", None) or {}).items():
        code = getattr(code, "code", code)
        if code in cash_codes:
            found = True
            expected += money(totals.get("expected"))
            counted += money(totals.get("counted"))
            diff += money(totals.get("difference", money(totals.get("counted")) - money(totals.get("expected"))))
    if not found:
        diff = money(getattr(pos_session, "cash_difference", 0))
    return expected, counted, diff


def post_session_closed(pos_session) -> Entry | None:
    """Till close -> cash leaves the till for the deposit (cash in transit), the difference
    goes to cash over/short, petty cash paid out to its account; the counted cash (less the
    float, which stays in the till) becomes the store's expected deposit of the day."""
    if find_posting(SRC_SESSION, pos_session.id) is not None:
        return None
    store_id = pos_session.store_id
    date = _as_date(getattr(pos_session, "closed_at", None), store_id)
    expected, counted, diff = _cash_totals(pos_session)
    opening = money(getattr(pos_session, "opening_float", 0))
    in_out = money(getattr(pos_session, "cash_in_out_total", 0))
    methods = _method_map()
    cash_account = methods["cash"].account_id if "cash" in methods else role_account_id("suspense")
    deposit = money(counted - opening)
    sales_cash = money(expected - opening - in_out)
    name = str(getattr(pos_session, "name", None) or getattr(pos_session, "number", None) or pos_session.id)
    acc = _Lines()
    acc.add(role_account_id("cash_in_transit"), deposit, label=_("Deposit %(session)s", session=name),
            store_id=store_id)
    acc.add(cash_account, -sales_cash, label=_("Cash sales %(session)s", session=name), store_id=store_id)
    acc.add(role_account_id("cash_over_short"), -diff,
            label=(_("Cash short %(session)s", session=name) if diff < 0 else _("Cash over %(session)s",
                                                                                  session=name)),
            store_id=store_id)
    acc.add(role_account_id("cash_in_out"), -in_out, label=_("Cash in/out %(session)s", session=name),
            store_id=store_id)
    if acc.balance() != 0:  # duck-typed input whose totals disagree: keep the books balanced
        acc.add(role_account_id("suspense"), -acc.balance(), label=_("Unexplained till difference"),
                store_id=store_id)
    if not acc.lines():
        return None
    entry = post_entry(cash_journal(store_id), date, acc.lines(),
                       memo=_("Till session %(session)s closed", session=name), store_id=store_id,
                       channel="pos", source_type=SRC_SESSION, source_id=pos_session.id, source_ref=name)
    if deposit:
        _bump_expected(f"cash_deposit:{store_id}:{date.isoformat()}", kind="cash_deposit", date=date,
                       amount=deposit, account_id=role_account_id("cash_in_transit"), store_id=store_id,
                       method_code="cash", reference=f"DEP-{_store_code(store_id)}-{date:%Y%m%d}")
    return entry


def _stock_posted(document: str | None) -> bool:
    """Whether the stock moves of a document were posted (perpetual inventory)."""
    if not document:
        return False
    return db.session.connection().execute(
        sa.select(Entry.__table__.c.id).where(Entry.__table__.c.source_type == SRC_STOCK,
                                              Entry.__table__.c.source_ref == str(document)[:64]).limit(1)
    ).first() is not None


def post_goods_received(receipt) -> Entry | None:
    """Receipt -> stock debited, goods received not invoiced credited, at the receipt value.

    Only for receipts whose stock moves were not posted (received before perpetual
    inventory, backfilled): a receipt's moves post Dr inventory / Cr GRNI themselves
    (``post_stock_moves``), at the same value to the cent, so posting it here too would
    count the goods twice."""
    if find_posting(SRC_RECEIPT, receipt.id) is not None:
        return None
    if _stock_posted(getattr(receipt, "number", None)):
        return None
    value = ZERO
    for ln in getattr(receipt, "lines", None) or ():
        v = getattr(ln, "value", None)
        if v is None:
            v = Decimal(getattr(ln, "quantity", 0)) * Decimal(getattr(ln, "unit_cost", 0))
        value += money(v)
    if value == 0:
        return None
    store_id = getattr(receipt, "store_id", None)
    partner_id = getattr(receipt, "supplier_id", None)
    number = getattr(receipt, "number", None) or str(receipt.id)
    acc = _Lines()
    acc.add(role_account_id("stock"), value, label=_("Receipt %(number)s", number=number), store_id=store_id)
    acc.add(role_account_id("grni"), -value, label=_("Receipt %(number)s", number=number), store_id=store_id,
            partner_id=partner_id)
    return post_entry("PURCH", _as_date(getattr(receipt, "received_at", None), store_id), acc.lines(),
                      memo=_("Goods received %(number)s", number=number), store_id=store_id,
                      source_type=SRC_RECEIPT, source_id=receipt.id, source_ref=number)


def post_vendor_bill(bill) -> Entry | None:
    """Bill -> goods received not invoiced (net) and input tax debited, payable credited; the
    payment due becomes an expected (outgoing) bank item."""
    if find_posting(SRC_BILL, bill.id) is not None:
        return None
    net, tax = money(getattr(bill, "net_total", 0)), money(getattr(bill, "tax_total", 0))
    total = money(getattr(bill, "total", None) if getattr(bill, "total", None) is not None else net + tax)
    partner_id = getattr(bill, "supplier_id", None)
    number = getattr(bill, "number", None) or str(bill.id)
    date = _as_date(getattr(bill, "bill_date", None))
    acc = _Lines()
    grni_id = role_account_id("grni")
    lines = list(getattr(bill, "lines", None) or ())
    if lines and all(getattr(ln, "received_value", None) is not None for ln in lines):
        # perpetual inventory: GRNI cleared at what the receipt put in it (plus what a
        # revaluation of the stock on hand moved into inventory); the rest of a price
        # difference (stock already gone) is price variance
        for ln in lines:
            store_id = getattr(ln, "store_id", None)
            acc.add(grni_id, money(ln.received_value) + money(getattr(ln, "inventory_value", 0)),
                    label=_("Bill %(number)s", number=number), partner_id=partner_id, store_id=store_id)
            acc.add(role_account_id("price_variance"), money(getattr(ln, "price_variance", 0)),
                    label=_("Price variance %(number)s", number=number), store_id=store_id)
        if acc.balance() != net:  # the lines and the bill's net disagree: the bill's net rules
            acc.add(grni_id, net - acc.balance(), label=_("Bill %(number)s", number=number), partner_id=partner_id)
    else:
        acc.add(grni_id, net, label=_("Bill %(number)s", number=number), partner_id=partner_id)
    acc.add(role_account_id("tax_purchase"), tax, label=_("Input tax"))
    acc.add(role_account_id("payable"), -total, label=_("Bill %(number)s", number=number), partner_id=partner_id)
    if acc.balance():
        acc.add(role_account_id("rounding"), -acc.balance(), label=_("Rounding"))
    entry = post_entry("PURCH", date, acc.lines(), memo=_("Vendor bill %(number)s", number=number),
                       source_type=SRC_BILL, source_id=bill.id, source_ref=number)
    _bump_expected(f"bill:{bill.id}", kind="supplier_payment", date=_as_date(getattr(bill, "due_date", None)
                                                                             or date),
                   amount=-total, account_id=role_account_id("payable"), partner_id=partner_id,
                   reference=getattr(bill, "supplier_ref", None) or number, source_type=SRC_BILL,
                   source_id=bill.id, set_amount=True)
    return entry


# perpetual inventory: the account each side of a stock move posts to, by location usage
_STOCK_SIDE_ROLES = {"internal": "stock", "transit": "stock_transit", "customer": "cogs", "inventory": "stock_loss",
                     "scrap": "scrap", "supplier": "grni"}
_STOCK_LABELS = {"internal": _l("Inventory"), "transit": _l("Inventory in transit"),
                 "customer": _l("Cost of goods sold"), "inventory": _l("Stock loss"), "scrap": _l("Scrap"),
                 "supplier": _l("Goods received not invoiced")}


def post_stock_moves(moves) -> Entry | None:
    """One stock posting (the moves of one ``o2o_stock_moved`` call) -> one entry in the
    STOCK journal, dated the posting's ``value_date``, source = the stock document: each
    move's value leaves the account of its source side and enters the account of its
    destination side (stock of a store, inventory in transit, cost of goods sold, stock
    loss, scrap, GRNI), every line with a store (the store of the stock side; none for
    transit). Moves within one store cancel out; a posting without value posts nothing.

    Reads nothing per line: the moves carry value, usages and stores; accounts and roles
    come from the cached setup."""
    if not moves:
        return None
    roles = books_setup().roles
    acc = _Lines()
    first = moves[0]
    for m in moves:
        value = getattr(m, "value", None)
        if not value:
            continue
        src_usage, dst_usage = m.from_usage, m.to_usage
        src_store = m.from_store_id if src_usage in ("internal", "transit") else None
        dst_store = m.to_store_id if dst_usage in ("internal", "transit") else None
        # a virtual side (customer, loss, scrap, supplier) belongs to the store on the other
        # side; against transit (goods damaged or missing on the way) to the posting's store
        # (the receiving one)
        owner = getattr(m, "store_id", None)
        if src_usage not in ("internal", "transit"):
            src_store = dst_store if dst_usage == "internal" else owner
        if dst_usage not in ("internal", "transit"):
            dst_store = m.from_store_id if src_usage == "internal" else owner
        src_role, dst_role = _STOCK_SIDE_ROLES.get(src_usage), _STOCK_SIDE_ROLES.get(dst_usage)
        if src_role is None or dst_role is None:
            continue
        src_acc, dst_acc = roles.get(src_role), roles.get(dst_role)
        if src_acc is None or dst_acc is None:
            raise ValidationError(_("No account is configured for '%(role)s' (Finance > Account roles).",
                                    role=src_role if src_acc is None else dst_role))
        partner = getattr(m, "partner_id", None)
        acc.add(dst_acc, value, label=str(_STOCK_LABELS[dst_usage]), store_id=dst_store,
                partner_id=partner if dst_role == "grni" else None)
        acc.add(src_acc, -value, label=str(_STOCK_LABELS[src_usage]), store_id=src_store,
                partner_id=partner if src_role == "grni" else None)
    lines = acc.lines()
    if not lines:
        return None
    document = getattr(first, "source", None) or str(first.id)
    store_id = getattr(first, "store_id", None)
    return post_entry("STOCK" if "STOCK" in books_setup().journals else "MISC",
                      getattr(first, "value_date", None) or local_date(getattr(first, "done_at", None), store_id),
                      lines, memo=_("Stock %(document)s", document=document), store_id=store_id,
                      source_type=SRC_STOCK, source_id=first.id, source_ref=document, source_checked=True)


# what a revaluation's value is set against: a bill's price difference against GRNI (the
# bill clears it), stock sold below zero (costed at the last average) against COGS
_REVALUATION_COUNTERPART = {"price": "grni", "negative": "cogs"}


def post_stock_revalued(revaluations) -> Entry | None:
    """Stock on hand revalued (a bill priced differently from its receipt) -> the store's
    inventory against goods received not invoiced (the bill then clears GRNI by as much)."""
    if not revaluations:
        return None
    acc = _Lines()
    first = revaluations[0]
    for r in revaluations:
        store_id = getattr(r, "store_id", None)
        counter = role_account_id(_REVALUATION_COUNTERPART.get(getattr(r, "reason", "price"), "price_variance"))
        acc.add(role_account_id("stock"), r.value, label=str(_STOCK_LABELS["internal"]), store_id=store_id)
        acc.add(counter, -money(r.value), label=_("Revaluation %(document)s", document=r.source or r.id),
                store_id=store_id)
    lines = acc.lines()
    if not lines:
        return None
    store_id = getattr(first, "store_id", None)
    document = getattr(first, "source", None) or str(first.id)
    return post_entry("STOCK" if "STOCK" in books_setup().journals else "MISC", first.value_date, lines,
                      memo=_("Stock revaluation %(document)s", document=document), store_id=store_id,
                      source_type=SRC_REVALUATION, source_id=first.id, source_ref=document, source_checked=True)


def inventory_by_store(as_of=None) -> dict:
    """The inventory account's balance (and inventory in transit's, when another account)
    per store up to ``as_of`` (a date, inclusive): {store id or None: Decimal}. The figure
    the stock valuation per store equals."""
    roles = books_setup().roles
    ids = {roles[r] for r in ("stock", "stock_transit") if r in roles}
    line_t = EntryLine.__table__
    stmt = (sa.select(line_t.c.store_id, func.sum(line_t.c.debit - line_t.c.credit))
            .where(line_t.c.account_id.in_(ids)).group_by(line_t.c.store_id))
    if as_of is not None:
        stmt = stmt.where(line_t.c.date <= _as_date(as_of))
    return {store: money(Decimal(str(total or 0))) for store, total in db.session.execute(stmt)}


def cancel_order_posting(order, reason=None) -> Entry | None:
    """A paid order was cancelled before fulfilment: reverse its posting (dated today) and
    take its card and wallet payments off today's expected settlement."""
    if getattr(order, "paid_at", None) is None:
        return None
    entry = find_posting(SRC_ORDER, order.id)
    if entry is None:
        return None
    if db.session.scalar(sa.select(Entry.id).where(Entry.reversal_of_id == entry.id)) is not None:
        return None
    today = timeutil.today(getattr(order, "store_id", None))
    rev = reverse_entry(entry.id, date=today if locked_period(entry.date) or entry.date < today else entry.date,
                        memo=_("Order %(number)s cancelled: %(reason)s", number=order.number, reason=reason or "-"))
    _settle(_payments_by_method(order), store_id=getattr(order, "store_id", None), date=rev.date, sign=-1)
    return rev


def post_pos_refund(refund) -> Entry | None:
    """A till refund (negative totals, the document in ``refund.data``) posted as a refund."""
    import json
    from types import SimpleNamespace as NS
    data = getattr(refund, "data", None)
    if data is None and getattr(refund, "document", None):
        data = json.loads(refund.document)
    data = data or {}
    total, tax = abs(money(getattr(refund, "total", 0))), abs(money(getattr(refund, "tax_total", 0)))
    payments = [NS(method=p.get("method"), amount=abs(money(Decimal(str(p.get("amount", "0"))))))
                for p in data.get("payments", ())]
    obj = NS(id=refund.id, number=data.get("receipt") or f"POS-REFUND-{refund.id}", store_id=refund.store_id,
             channel="pos", net_total=total - tax, tax_total=tax, total=total, payments=payments, lines=[],
             refunded_at=getattr(refund, "created_at", None))
    return post_refund(obj, source_type=SRC_POS_REFUND)


POSTERS = {
    "o2o_order_paid": post_order_paid,
    "o2o_pos_session_closed": post_session_closed,
    "o2o_goods_received": post_goods_received,
    "o2o_vendor_bill_posted": post_vendor_bill,
    "o2o_refund_posted": post_refund,
}


def auto_post_enabled() -> bool:
    try:
        from flask import current_app
        return bool(current_app.config.get("FINANCE_AUTO_POST", True))
    except RuntimeError:
        return True


# =========================================================================================
# Backfill
# =========================================================================================

def backfill(since, until=None) -> dict:
    """Post past documents once: asks ``o2o_finance_backfill_sources(since, until)`` for
    ``(event name, object)`` pairs and posts those not posted yet. Running it again posts
    nothing new."""
    from flask import current_app
    since = _as_date(since)
    until = _as_date(until) if until is not None else None
    hook = current_app.extensions["o2o"].hook
    found = posted = skipped = 0
    by_event: dict[str, int] = defaultdict(int)
    for result in hook.o2o_finance_backfill_sources(since=since, until=until):
        for event_name, obj in result or ():
            poster = POSTERS.get(event_name)
            if poster is None:
                raise ValidationError(_("Backfill got an unknown event %(name)s.", name=event_name))
            found += 1
            if find_posting(EVENT_SOURCES[event_name], obj.id) is not None:
                skipped += 1
                continue
            if poster(obj) is not None:
                posted += 1
                by_event[event_name] += 1
    db.session.add(BackfillRun(since=since, found=found, posted=posted))
    db.session.flush()
    return {"found": found, "posted": posted, "already_posted": skipped, "by_event": dict(by_event)}


# =========================================================================================
# Statements
# =========================================================================================

def bank_account(code: str | None = None) -> BankAccount:
    if code is None:
        rows = db.session.scalars(sa.select(BankAccount).where(BankAccount.active.is_(True))).all()
        if len(rows) == 1:
            return rows[0]
        raise ValidationError(_("Say which bank account the statement belongs to (one of %(codes)s).",
                                codes=", ".join(r.code for r in rows)))
    row = db.session.scalar(sa.select(BankAccount).where(BankAccount.code == code))
    if row is None:
        raise NotFound(_("There is no bank account with code %(code)s.", code=code))
    return row


def _parse_amount(text: str, decimal_comma: bool) -> Decimal:
    raw = (text or "").strip().replace("\u00a0", "").replace(" ", "")
    if raw.startswith("(") and raw.endswith(")"):
        raw = "-" + raw[1:-1]
    raw = raw.replace("'", "")
    if decimal_comma:
        raw = raw.replace(".", "").replace(",", ".")
    else:
        raw = raw.replace(",", "")
    if not re.fullmatch(r"[+-]?\d+(\.\d{1,2})?", raw):
        raise ValueError
    return Decimal(raw)


def _line_key(bank_id, date, amount, reference, description, seen: dict) -> str:
    base = f"{date.isoformat()}|{amount}|{(reference or '').strip()}|{(description or '').strip()}"
    seen[base] = seen.get(base, 0) + 1
    return hashlib.sha256(f"{base}|{seen[base]}".encode()).hexdigest()[:40]


class StatementError(ValidationError):
    pass


def parse_csv(content: bytes, fmt_row: CsvFormat) -> list[dict]:
    """Parse a CSV statement with a column mapping; every problem names its line."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementError(_("The file is not UTF-8 text; export the statement as UTF-8 CSV.")) from None
    if "\x00" in text:  # PostgreSQL cannot store it: refused here, with its line, not mid-import
        from core.csvio import nul_message
        raise StatementError(nul_message(text.count("\n", 0, text.index("\x00")) + 1))
    reader = csv.DictReader(io.StringIO(text), delimiter=fmt_row.delimiter or ",")
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise StatementError(_("The file is empty: there is no header line."))
    reader.fieldnames = header
    wanted = [("date", fmt_row.date_column), ("amount", fmt_row.amount_column),
              ("reference", fmt_row.reference_column), ("description", fmt_row.description_column),
              ("counterparty", fmt_row.counterparty_column), ("id", fmt_row.id_column),
              ("balance", fmt_row.balance_column)]
    missing = [col for _k, col in wanted if col and col not in header]
    if missing:
        raise StatementError(_("Line 1: the column(s) %(missing)s of the format '%(fmt)s' are not in the file "
                               "(its columns are: %(found)s).", missing=", ".join(repr(m) for m in missing),
                               fmt=fmt_row.code, found=", ".join(repr(h) for h in header)))
    rows, errors = [], []
    for i, rec in enumerate(reader, start=2):
        if not any((v or "").strip() for v in rec.values() if isinstance(v, str)):
            continue
        if None in rec:
            errors.append(_("line %(n)s: %(count)s more field(s) than the header", n=i, count=len(rec[None])))
            continue
        raw_date = (rec.get(fmt_row.date_column) or "").strip()
        try:
            date = dt.datetime.strptime(raw_date, fmt_row.date_format).date()
        except ValueError:
            errors.append(_("line %(n)s: the date '%(value)s' does not match the format %(fmt)s", n=i,
                            value=raw_date, fmt=fmt_row.date_format))
            continue
        raw_amount = rec.get(fmt_row.amount_column) or ""
        try:
            amount = _parse_amount(raw_amount, fmt_row.decimal_comma)
        except (ValueError, InvalidOperation):
            errors.append(_("line %(n)s: the amount '%(value)s' is not a number", n=i, value=raw_amount.strip()))
            continue
        get = lambda col: ((rec.get(col) or "").strip() or None) if col else None  # noqa: E731
        balance = None
        if fmt_row.balance_column and get(fmt_row.balance_column):
            try:
                balance = _parse_amount(get(fmt_row.balance_column), fmt_row.decimal_comma)
            except (ValueError, InvalidOperation):
                errors.append(_("line %(n)s: the balance '%(value)s' is not a number", n=i,
                                value=get(fmt_row.balance_column)))
                continue
        rows.append(dict(line_no=i, date=date, amount=amount, reference=get(fmt_row.reference_column),
                         description=get(fmt_row.description_column),
                         counterparty=get(fmt_row.counterparty_column), bank_id=get(fmt_row.id_column),
                         balance=balance))
    if errors:
        more = len(errors) - 10
        text = "; ".join(errors[:10]) + (_(" (and %(n)s more)", n=more) if more > 0 else "")
        raise StatementError(_("The statement was not imported: %(errors)s.", errors=text))
    if not rows:
        raise StatementError(_("The statement has no lines."))
    return rows


def _strip_ns(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(el, path: str):
    """Find by local names, ignoring namespaces: ``_find(ntry, 'BookgDt/Dt')``."""
    current = [el]
    for part in path.split("/"):
        nxt = []
        for node in current:
            nxt.extend(child for child in node if _strip_ns(child.tag) == part)
        current = nxt
        if not current:
            return None
    return current[0]


def _text(el, path: str) -> str | None:
    node = _find(el, path)
    return node.text.strip() if node is not None and node.text and node.text.strip() else None


def parse_camt053(content: bytes) -> tuple[str | None, list[dict]]:
    """Parse an ISO 20022 CAMT.053 bank-to-customer statement: (IBAN, lines)."""
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise StatementError(_("The file is not valid XML (%(error)s).", error=str(exc))) from None
    stmts = [el for el in root.iter() if _strip_ns(el.tag) == "Stmt"]
    if not stmts or not root.tag.endswith("Document"):
        raise StatementError(_("The file is not a CAMT.053 statement (no Document/BkToCstmrStmt/Stmt)."))
    iban = _text(stmts[0], "Acct/Id/IBAN")
    rows, errors = [], []
    n = 0
    for stmt in stmts:
        for ntry in (el for el in stmt if _strip_ns(el.tag) == "Ntry"):
            n += 1
            raw_amount = _text(ntry, "Amt")
            ref = _text(ntry, "AcctSvcrRef")
            where = _("entry %(n)s", n=n) + (f" ({ref})" if ref else "")
            try:
                amount = _parse_amount(raw_amount or "", False)
            except (ValueError, InvalidOperation):
                errors.append(_("%(where)s: the amount '%(value)s' is not a number", where=where,
                                value=raw_amount or ""))
                continue
            ind = _text(ntry, "CdtDbtInd")
            if ind not in ("CRDT", "DBIT"):
                errors.append(_("%(where)s: CdtDbtInd must be CRDT or DBIT, not '%(value)s'", where=where,
                                value=ind or ""))
                continue
            if ind == "DBIT":
                amount = -amount
            raw_date = _text(ntry, "BookgDt/Dt") or _text(ntry, "BookgDt/DtTm") or _text(ntry, "ValDt/Dt")
            try:
                date = dt.date.fromisoformat((raw_date or "")[:10])
            except ValueError:
                errors.append(_("%(where)s: the booking date '%(value)s' is not a date", where=where,
                                value=raw_date or ""))
                continue
            tx = _find(ntry, "NtryDtls/TxDtls")
            reference = description = counterparty = None
            if tx is not None:
                reference = (_text(tx, "RmtInf/Strd/CdtrRefInf/Ref") or _text(tx, "Refs/EndToEndId"))
                if reference == "NOTPROVIDED":
                    reference = None
                description = _text(tx, "RmtInf/Ustrd")
                counterparty = (_text(tx, "RltdPties/Dbtr/Nm") if amount > 0 else _text(tx, "RltdPties/Cdtr/Nm"))
            description = description or _text(ntry, "AddtlNtryInf")
            rows.append(dict(line_no=n, date=date, amount=amount, reference=reference, description=description,
                             counterparty=counterparty, bank_id=ref))
    if errors:
        raise StatementError(_("The statement was not imported: %(errors)s.", errors="; ".join(errors[:10])))
    if not rows:
        raise StatementError(_("The statement has no entries."))
    return iban, rows


def import_statement(content: bytes, *, filename: str, bank_code: str | None = None,
                     format: str | None = None, opening_balance=None, closing_balance=None) -> Statement:
    """Import a statement file (CSV with the bank's column mapping, or CAMT.053 XML).

    All or nothing: a bad line names the line and the reason and nothing is written; the
    same file twice (content hash) or a line imported before (per-line key) is refused.
    The opening and closing balances come from the file (CAMT ``Bal``, a CSV running
    balance column) or from ``opening_balance`` / ``closing_balance``, which win; they are
    checked (statement_balances.balance_checks) but a mismatch refuses nothing."""
    from addons.finance import statement_balances
    from addons.finance.manual_entries import check_amount
    given_open = (check_amount(opening_balance, _("The opening balance"), allow_negative=True)
                  if opening_balance not in (None, "") else None)
    given_close = (check_amount(closing_balance, _("The closing balance"), allow_negative=True)
                   if closing_balance not in (None, "") else None)
    if isinstance(content, str):
        content = content.encode("utf-8")
    if not content or not content.strip():
        raise StatementError(_("The file %(name)s is empty.", name=filename))
    fmt_name = (format or ("camt053" if content.lstrip().startswith(b"<") else "csv")).lower()
    if fmt_name in ("camt", "camt.053", "xml"):
        fmt_name = "camt053"
    if fmt_name not in ("csv", "camt053"):
        raise ValidationError(_("Unknown statement format '%(fmt)s' (use csv or camt053).", fmt=format))
    file_hash = hashlib.sha256(content).hexdigest()
    if fmt_name == "camt053":
        iban, rows = parse_camt053(content)
        file_open, file_close = statement_balances.camt_balances(content)
        if bank_code is None and iban:
            bank = db.session.scalar(sa.select(BankAccount).where(BankAccount.iban == iban))
            if bank is None:
                raise NotFound(_("No bank account has the IBAN %(iban)s of this statement.", iban=iban))
        else:
            bank = bank_account(bank_code)
            if iban and bank.iban and bank.iban.replace(" ", "") != iban.replace(" ", ""):
                raise ValidationError(_("This statement is for IBAN %(iban)s, not for %(bank)s (%(own)s).",
                                        iban=iban, bank=bank.code, own=bank.iban))
    else:
        bank = bank_account(bank_code)
        if bank.csv_format is None:
            raise ValidationError(_("Bank account %(bank)s has no CSV format; choose one in Finance > Bank "
                                    "accounts.", bank=bank.code))
        rows = parse_csv(content, bank.csv_format)
        # a running balance that jumps shows as a statement that does not add up: not refused
        file_open, file_close, _problems = statement_balances.csv_running_balances(rows)
    earlier = db.session.scalar(sa.select(Statement).where(Statement.file_hash == file_hash))
    if earlier is not None:
        raise Conflict(_("This statement file was already imported on %(when)s as '%(name)s' (statement "
                         "%(id)s); it was not imported again.", when=timeutil.format_local(earlier.imported_at),
                         name=earlier.filename, id=earlier.id))
    seen: dict = {}
    for row in rows:
        row["line_key"] = (f"id:{row['bank_id']}"[:64] if row.get("bank_id")
                           else _line_key(bank.id, row["date"], row["amount"], row["reference"],
                                          row["description"], seen))
    keys = [r["line_key"] for r in rows]
    if len(set(keys)) != len(keys):
        dup = next(r for r in rows if keys.count(r["line_key"]) > 1)
        raise StatementError(_("Line %(n)s: the bank's line id %(id)s appears twice in the file.",
                               n=dup["line_no"], id=dup.get("bank_id")))
    existing = set()
    for i in range(0, len(keys), 500):
        existing.update(db.session.scalars(sa.select(StatementLine.line_key).where(
            StatementLine.bank_account_id == bank.id, StatementLine.line_key.in_(keys[i:i + 500]))))
    if existing:
        dup = next(r for r in rows if r["line_key"] in existing)
        raise Conflict(_("Line %(n)s (%(date)s, %(amount)s, %(ref)s) was already imported from an earlier "
                         "statement of %(bank)s; %(count)s of the %(total)s lines are duplicates. Nothing was "
                         "imported.", n=dup["line_no"], date=dup["date"], amount=fmt(dup["amount"]),
                         ref=dup["reference"] or "-", bank=bank.code, count=len(existing), total=len(rows)))
    stmt = Statement(bank_account_id=bank.id, filename=filename[:256], file_hash=file_hash, format=fmt_name,
                     date_from=min(r["date"] for r in rows), date_to=max(r["date"] for r in rows),
                     line_count=len(rows), total=sum((r["amount"] for r in rows), ZERO), imported_by=_actor(),
                     opening_balance=given_open if given_open is not None else file_open,
                     closing_balance=given_close if given_close is not None else file_close)
    db.session.add(stmt)
    db.session.flush()
    db.session.execute(sa.insert(StatementLine), [
        dict(statement_id=stmt.id, bank_account_id=bank.id, line_no=r["line_no"], line_key=r["line_key"],
             date=r["date"], amount=r["amount"], reference=(r["reference"] or None) and r["reference"][:128],
             description=(r["description"] or None) and r["description"][:256],
             counterparty=(r["counterparty"] or None) and r["counterparty"][:128]) for r in rows])
    return stmt


# =========================================================================================
# Reconciliation
# =========================================================================================

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_SEPARATORS = re.compile(r"[\s,;/:]+")


def _norm_ref(text: str | None) -> str:
    return _NOT_ALNUM.sub("", text.upper()) if text else ""


def _ref_keys(reference, description) -> set[str]:
    """Candidate references of a bank line: its reference, and the words of 4+ characters of
    its reference and description."""
    keys = set()
    for text in (reference, description):
        if not text:
            continue
        keys.add(_norm_ref(text))
        for token in _SEPARATORS.split(text):
            if len(token) >= 4:
                keys.add(_norm_ref(token))
    keys.discard("")
    return keys


def _dicts(result) -> list[dict]:
    keys = list(result.keys())
    return [dict(zip(keys, row)) for row in result]


def _reserve_ids(table, n: int) -> list[int]:
    """n new primary keys for a bulk insert without RETURNING (one statement, not n)."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        return list(conn.execute(sa.text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                                         "FROM generate_series(1, :n)"), {"n": n}).scalars())
    # SQLite: the caller already wrote in this transaction, so it holds the database's write
    # lock and nobody else can take these ids (a rowid table hands out max(id) + 1).
    start = (conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1
    return list(range(start, start + n))


def open_lines_query(bank_account_id=None):
    q = (sa.select(StatementLine)
         .outerjoin(MatchLine, MatchLine.active_line_id == StatementLine.id)
         .where(MatchLine.match_id.is_(None)))
    if bank_account_id:
        q = q.where(StatementLine.bank_account_id == bank_account_id)
    return q


def open_expected_query(store_id=None):
    q = (sa.select(ExpectedItem)
         .outerjoin(MatchExpected, MatchExpected.active_expected_id == ExpectedItem.id)
         .where(MatchExpected.match_id.is_(None)))
    if store_id:
        q = q.where(ExpectedItem.store_id == store_id)
    return q


def _match_postings(bank: BankAccount, lines: list, items: list, writeoff_account_id, store_id=None) -> _Lines:
    """The bank entry of a match: bank debited with what arrived, each expected item's
    account credited with its gross, provider fees expensed, the rest written off."""
    acc = _Lines()
    for ln in lines:
        acc.add(bank.account_id, ln["amount"], label=(ln.get("reference") or _("Bank"))[:128], store_id=store_id)
    fees_id = None
    for it in items:
        acc.add(it["account_id"], -it["gross"], label=(it.get("reference") or it["kind"])[:128],
                store_id=it["store_id"], partner_id=it.get("partner_id"))
        if it["fee"]:
            fees_id = fees_id or role_account_id("bank_fees")
            acc.add(fees_id, it["fee"], label=_("Provider fees"), store_id=it["store_id"])
    rest = acc.balance()
    if rest:
        if writeoff_account_id is None:
            raise ValidationError(_("The amounts differ by %(diff)s.", diff=fmt(rest)))
        acc.add(writeoff_account_id, -rest, label=_("Reconciliation difference"), store_id=store_id)
    return acc


def _line_dict(ln: StatementLine) -> dict:
    return dict(id=ln.id, bank_account_id=ln.bank_account_id, date=ln.date, amount=ln.amount,
                reference=ln.reference, description=ln.description)


def _item_dict(it: ExpectedItem) -> dict:
    return dict(id=it.id, kind=it.kind, date=it.date, amount=it.amount, gross=it.gross, fee=it.fee,
                account_id=it.account_id, store_id=it.store_id, partner_id=it.partner_id, reference=it.reference)


def writeoff_limit() -> Decimal:
    try:
        from flask import current_app
        return money(Decimal(str(current_app.config.get("FINANCE_WRITEOFF_LIMIT", "5.00"))))
    except RuntimeError:
        return Decimal("5.00")


def match(line_ids: list[int], expected_ids: list[int], *, writeoff: bool = False, note: str | None = None,
          writeoff_account_code: str | None = None) -> Match:
    """Match statement line(s) with expected item(s) by hand: one-to-one, one-to-many or
    many-to-one. A difference is refused unless written off (up to FINANCE_WRITEOFF_LIMIT)."""
    line_ids, expected_ids = sorted(set(line_ids or ())), sorted(set(expected_ids or ()))
    if not line_ids:
        raise ValidationError(_("Choose at least one bank statement line."))
    lines = db.session.scalars(sa.select(StatementLine).where(StatementLine.id.in_(line_ids))).all()
    if len(lines) != len(line_ids):
        raise NotFound(_("Statement line(s) %(ids)s do not exist.",
                         ids=", ".join(str(i) for i in set(line_ids) - {ln.id for ln in lines})))
    items = db.session.scalars(sa.select(ExpectedItem).where(ExpectedItem.id.in_(expected_ids))).all() \
        if expected_ids else []
    if len(items) != len(expected_ids):
        raise NotFound(_("Expected item(s) %(ids)s do not exist.",
                         ids=", ".join(str(i) for i in set(expected_ids) - {it.id for it in items})))
    banks = {ln.bank_account_id for ln in lines}
    if len(banks) > 1:
        raise ValidationError(_("The chosen statement lines belong to different bank accounts."))
    taken = db.session.scalars(sa.select(MatchLine).where(MatchLine.active_line_id.in_(line_ids))).all()
    if taken:
        ln = next(x for x in lines if x.id == taken[0].active_line_id)
        raise Conflict(_("The statement line of %(date)s for %(amount)s (%(ref)s) is already matched (match "
                         "%(match)s); undo that match first.", date=ln.date, amount=fmt(ln.amount),
                         ref=ln.reference or "-", match=taken[0].match_id))
    taken = db.session.scalars(sa.select(MatchExpected).where(MatchExpected.active_expected_id.in_(expected_ids))
                               ).all() if expected_ids else []
    if taken:
        it = next(x for x in items if x.id == taken[0].active_expected_id)
        raise Conflict(_("The expected item %(ref)s of %(date)s for %(amount)s is already matched (match "
                         "%(match)s); undo that match first.", ref=it.reference or it.kind, date=it.date,
                         amount=fmt(it.amount), match=taken[0].match_id))
    bank = db.session.get(BankAccount, banks.pop())
    bank_amount = sum((ln.amount for ln in lines), ZERO)
    expected_amount = sum((it.amount for it in items), ZERO)
    diff = money(bank_amount - expected_amount)
    wo_id = None
    if diff:
        if not writeoff:
            raise ValidationError(_("The bank shows %(bank)s but %(expected)s is expected (difference %(diff)s); "
                                    "choose other items or write the difference off.", bank=fmt(bank_amount),
                                    expected=fmt(expected_amount), diff=fmt(diff)))
        if abs(diff) > writeoff_limit():
            raise ValidationError(_("The difference %(diff)s is more than the write-off limit %(limit)s; "
                                    "find the missing items instead.", diff=fmt(diff), limit=fmt(writeoff_limit())))
        wo_id = account(writeoff_account_code).id if writeoff_account_code else role_account_id("writeoff")
    store_ids = {it.store_id for it in items}
    store_id = store_ids.pop() if len(store_ids) == 1 else None
    date = max(ln.date for ln in lines)
    check_period_open(date)
    m = Match(method="manual", bank_account_id=bank.id, date=date, bank_amount=bank_amount,
              expected_amount=expected_amount, difference=diff, writeoff_account_id=wo_id, note=note,
              created_by=_actor())
    db.session.add(m)
    db.session.flush()
    db.session.add_all([MatchLine(match_id=m.id, statement_line_id=ln.id, active_line_id=ln.id) for ln in lines])
    db.session.add_all([MatchExpected(match_id=m.id, expected_id=it.id, active_expected_id=it.id) for it in items])
    acc = _match_postings(bank, [_line_dict(x) for x in lines], [_item_dict(x) for x in items], wo_id, store_id)
    entry = post_entry(bank.journal, date, acc.lines(), memo=note or _("Reconciliation %(id)s", id=m.id),
                       store_id=store_id, source_type=SRC_MATCH, source_id=m.id, source_ref=f"match {m.id}")
    m.entry_id = entry.id
    db.session.flush()
    return m


def undo_match(match_id: int) -> Match:
    """Undo a match: the items are open again and its bank posting is reversed."""
    m = db.session.get(Match, match_id)
    if m is None:
        raise NotFound(_("There is no match %(id)s.", id=match_id))
    if m.state != "active":
        raise Conflict(_("Match %(id)s was already undone.", id=match_id))
    if m.method == "run":
        raise Conflict(_("Match %(id)s settles bills paid by a payment run; it cannot be undone.", id=match_id))
    check_period_open(m.date)
    if m.method in ("booked", "rule"):  # a line booked to an account: reverse exactly what was posted
        reverse_entry(m.entry_id, memo=_("Undo of reconciliation %(id)s", id=m.id))
        db.session.execute(sa.update(MatchLine).where(MatchLine.match_id == m.id).values(active_line_id=None))
        m.state = "undone"
        m.undone_at = utcnow()
        db.session.flush()
        return m
    lines = db.session.scalars(sa.select(StatementLine).join(MatchLine, MatchLine.statement_line_id ==
                                                             StatementLine.id).where(MatchLine.match_id == m.id)).all()
    items = db.session.scalars(sa.select(ExpectedItem).join(MatchExpected, MatchExpected.expected_id ==
                                                            ExpectedItem.id).where(MatchExpected.match_id == m.id)
                               ).all()
    store_ids = {it.store_id for it in items}
    store_id = store_ids.pop() if len(store_ids) == 1 else None
    acc = _match_postings(m.bank_account, [_line_dict(x) for x in lines], [_item_dict(x) for x in items],
                          m.writeoff_account_id or (role_account_id("writeoff") if m.difference else None), store_id)
    reversed_lines = [dict(ln, debit=ln["credit"], credit=ln["debit"]) for ln in acc.lines()]
    post_entry(m.bank_account.journal, m.date, reversed_lines, memo=_("Undo of reconciliation %(id)s", id=m.id),
               store_id=store_id, source_type=SRC_MATCH_UNDO, source_id=m.id, source_ref=f"match {m.id}")
    db.session.execute(sa.update(MatchLine).where(MatchLine.match_id == m.id).values(active_line_id=None))
    db.session.execute(sa.update(MatchExpected).where(MatchExpected.match_id == m.id)
                       .values(active_expected_id=None))
    m.state = "undone"
    m.undone_at = utcnow()
    db.session.flush()
    return m


def auto_reconcile(bank_code: str | None = None, rule_ids: list[int] | None = None) -> dict:
    """Match open statement lines with open expected items by the active rules, in order.

    Hash joins, never all against all: a reference rule looks items up by their normalised
    reference; an amount rule looks them up by amount in cents (each cent within the
    tolerance) and, inside a bucket, by date with a binary search. Each (bank, day) gets one
    bank entry for its matches."""
    bank_filter = bank_account(bank_code).id if bank_code else None
    rules = db.session.scalars(sa.select(MatchRule).where(MatchRule.active.is_(True))
                               .order_by(MatchRule.sequence, MatchRule.id)).all()
    if rule_ids:
        rules = [r for r in rules if r.id in set(rule_ids)]
    conn = db.session.connection()
    sl, ml = StatementLine.__table__, MatchLine.__table__
    num = sa.Numeric(14, 2, asdecimal=True)  # the plain type's C converter: 2 decimals, exact
    q = (sa.select(sl.c.id, sl.c.bank_account_id, sl.c.date, sa.type_coerce(sl.c.amount, num).label("amount"),
                   sl.c.reference, sl.c.description)
         .select_from(sl.outerjoin(ml, ml.c.active_line_id == sl.c.id)).where(ml.c.match_id.is_(None)))
    if bank_filter:
        q = q.where(sl.c.bank_account_id == bank_filter)
    lines = _dicts(conn.execute(q))
    ei, me = ExpectedItem.__table__, MatchExpected.__table__
    q = (sa.select(ei.c.id, ei.c.kind, ei.c.date, sa.type_coerce(ei.c.amount, num).label("amount"),
                   sa.type_coerce(ei.c.gross, num).label("gross"), sa.type_coerce(ei.c.fee, num).label("fee"),
                   ei.c.account_id,
                   ei.c.store_id, ei.c.partner_id, ei.c.reference)
         .select_from(ei.outerjoin(me, me.c.active_expected_id == ei.c.id)).where(me.c.match_id.is_(None)))
    items = _dicts(conn.execute(q))
    for it in items:  # Money columns come back as quantized Decimals, dates as dates
        it["cents"] = int(it["amount"] * 100)
    used_items: set[int] = set()
    pairs: list[tuple[dict, dict, MatchRule]] = []
    for rule in rules:
        rule_bank, rule_kind = rule.bank_account_id, rule.kind
        open_lines = [ln for ln in lines if "matched" not in ln
                      and (rule_bank is None or ln["bank_account_id"] == rule_bank)]
        cands = [it for it in items if it["id"] not in used_items and (rule_kind is None or it["kind"] == rule_kind)]
        if not open_lines or not cands:
            continue
        window = dt.timedelta(days=rule.date_window_days)
        tol = int(money(rule.amount_tolerance) * 100)
        if rule.match_reference:
            index: dict[str, list[dict]] = defaultdict(list)
            for it in cands:
                key = _norm_ref(it["reference"])
                if key:
                    index[key].append(it)
            for ln in open_lines:
                best = None
                for key in _ref_keys(ln["reference"], ln["description"]):
                    for it in index.get(key, ()):
                        if it["id"] in used_items or abs((it["date"] - ln["date"]).days) > window.days:
                            continue
                        diff = abs(it["cents"] - int(ln["amount"] * 100))
                        if diff > tol:
                            continue
                        score = (diff, abs((it["date"] - ln["date"]).days), it["id"])
                        if best is None or score < best[0]:
                            best = (score, it)
                if best:
                    used_items.add(best[1]["id"])
                    ln["matched"] = True
                    pairs.append((ln, best[1], rule))
        else:
            buckets: dict[int, list] = defaultdict(list)
            for it in sorted(cands, key=lambda x: (x["date"], x["id"])):
                buckets[it["cents"]].append(it)
            bucket_dates = {c: [it["date"] for it in b] for c, b in buckets.items()}
            for ln in sorted(open_lines, key=lambda x: (x["date"], x["id"])):
                cents = int(ln["amount"] * 100)
                best = None
                for c in range(cents - tol, cents + tol + 1):
                    bucket = buckets.get(c)
                    if not bucket:
                        continue
                    dates = bucket_dates[c]
                    start = bisect.bisect_left(dates, ln["date"] - window)
                    for k in range(start, len(bucket)):
                        it = bucket[k]
                        if it["date"] > ln["date"] + window:
                            break
                        if it["id"] in used_items:
                            continue
                        score = (abs(c - cents), abs((it["date"] - ln["date"]).days), it["id"])
                        if best is None or score < best[0]:
                            best = (score, it, c, k)
                        if it["date"] >= ln["date"]:
                            break  # later items are further away
                if best:
                    _s, _it, c, k = best
                    buckets[c].pop(k)  # a used item leaves its bucket: no rescans
                    bucket_dates[c].pop(k)
                    used_items.add(best[1]["id"])
                    ln["matched"] = True
                    pairs.append((ln, best[1], rule))
    result = _save_auto_matches(pairs)
    if not rule_ids:  # then the lines no expected item explains, by the bank-line rules
        from addons.finance.bank_rules import apply_bank_rules
        result.update(apply_bank_rules(bank_filter))
    return result


def _save_auto_matches(pairs) -> dict:
    """Write the matches of one automatic run in a few bulk statements, and one bank entry
    per (bank account, day) with the matches' amounts summed per account and store."""
    if not pairs:
        return {"matched": 0, "entries": 0, "by_rule": {}}
    now, actor = utcnow(), _actor()
    writeoff_id, fees_id = role_account_id("writeoff"), role_account_id("bank_fees")
    bank_label, item_label = _("Bank"), _("Automatic reconciliation")
    fee_label, wo_label = _("Provider fees"), _("Reconciliation difference")
    banks = {b.id: b for b in db.session.scalars(sa.select(BankAccount))}
    all_accounts = {a.id: a for a in db.session.scalars(sa.select(Account))}
    groups: dict[tuple, list] = defaultdict(list)
    for pair in pairs:
        groups[(pair[0]["bank_account_id"], pair[0]["date"])].append(pair)
    keys = sorted(groups)
    locked = db.session.scalars(sa.select(Period).where(Period.locked.is_(True))).all()
    for _bank, date in keys:
        for period in locked:
            if period.date_from <= date <= period.date_to:
                check_period_open(date)  # raises with the period named
    batch_ids = db.session.scalars(
        sa.insert(MatchBatch).returning(MatchBatch.id, sort_by_parameter_order=True),
        [dict(bank_account_id=b, date=d, created_at=now) for b, d in keys]).all()
    by_rule: dict[str, int] = defaultdict(int)
    entry_of_batch: dict[int, int] = {}
    for key, batch_id in zip(keys, batch_ids):
        bank = banks[key[0]]
        acc = _Lines()
        amounts = acc.amounts
        for ln, it, rule in groups[key]:
            by_rule[rule.name] += 1
            amounts[(bank.account_id, bank_label, None, None, None)] += ln["amount"]
            amounts[(it["account_id"], item_label, it["store_id"], it["partner_id"], None)] -= it["gross"]
            if it["fee"]:
                amounts[(fees_id, fee_label, it["store_id"], None, None)] += it["fee"]
            rest = ln["amount"] - it["gross"] + it["fee"]
            if rest:
                amounts[(writeoff_id, wo_label, it["store_id"], None, None)] -= rest
        entry = post_entry(bank.journal, key[1], acc.lines(),
                           memo=_("Automatic reconciliation of %(date)s (%(n)s matches)", date=key[1],
                                  n=len(groups[key])),
                           source_type=SRC_MATCH_BATCH, source_id=batch_id, source_ref=f"batch {batch_id}",
                           accounts=all_accounts)
        entry_of_batch[batch_id] = entry.id
    conn = db.session.connection()
    match_ids = _reserve_ids(Match.__table__, len(pairs))
    # match rows as driver tuples, values stored as SQLAlchemy stores them on each backend
    sqlite = conn.dialect.name == "sqlite"
    conv = str if sqlite else (lambda v: v)
    now_v = now.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else now
    rule_ids = {}
    match_rows, flat = [], []
    ids = iter(match_ids)
    for key, batch_id in zip(keys, batch_ids):
        date_v = key[1].isoformat() if sqlite else key[1]
        for ln, it, rule in groups[key]:
            diff = ln["amount"] - it["amount"]
            rid = rule_ids.get(rule) or rule_ids.setdefault(rule, rule.id)
            match_rows.append((next(ids), "active", "auto", rid, key[0], date_v, conv(ln["amount"]),
                               conv(it["amount"]), conv(diff), writeoff_id if diff else None, batch_id,
                               entry_of_batch[batch_id], now_v, actor))
            flat.append((ln, it))
    link_lines = [(mid, ln["id"], ln["id"]) for mid, (ln, _it) in zip(match_ids, flat)]
    link_items = [(mid, it["id"], it["id"]) for mid, (_ln, it) in zip(match_ids, flat)]
    match_cols = ("id, state, method, rule_id, bank_account_id, date, bank_amount, expected_amount, difference, "
                  "writeoff_account_id, batch_id, entry_id, created_at, created_by")
    if conn.dialect.name == "postgresql":
        # one statement per table: arrays unnested server-side instead of a row per round trip
        cols = list(zip(*match_rows))
        conn.exec_driver_sql(
            f"INSERT INTO finance_match ({match_cols}) SELECT u.id, %s, %s, u.rule_id, u.bank_id, u.date, u.bank, "
            "u.expected, u.diff, u.wo, u.batch, u.entry, %s, %s FROM unnest(%s::int[], %s::int[], %s::int[], "
            "%s::date[], %s::numeric[], %s::numeric[], %s::numeric[], %s::int[], %s::int[], %s::int[]) "
            "AS u(id, rule_id, bank_id, date, bank, expected, diff, wo, batch, entry)",
            ("active", "auto", now, actor, list(cols[0]), list(cols[3]), list(cols[4]), list(cols[5]),
             list(cols[6]), list(cols[7]), list(cols[8]), list(cols[9]), list(cols[10]), list(cols[11])))
        for table, cols_ in (("finance_match_line", "match_id, statement_line_id, active_line_id"),
                             ("finance_match_expected", "match_id, expected_id, active_expected_id")):
            rows = link_lines if table == "finance_match_line" else link_items
            a, b, c = (list(x) for x in zip(*rows))
            conn.exec_driver_sql(f"INSERT INTO {table} ({cols_}) SELECT * FROM unnest(%s::int[], %s::int[], "
                                 "%s::int[])", (a, b, c))
    else:
        ph = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        conn.exec_driver_sql(f"INSERT INTO finance_match ({match_cols}) VALUES ({', '.join([ph] * 14)})",
                             match_rows)
        conn.exec_driver_sql(f"INSERT INTO finance_match_line (match_id, statement_line_id, active_line_id) "
                             f"VALUES ({ph}, {ph}, {ph})", link_lines)
        conn.exec_driver_sql(f"INSERT INTO finance_match_expected (match_id, expected_id, active_expected_id) "
                             f"VALUES ({ph}, {ph}, {ph})", link_items)
    return {"matched": len(pairs), "entries": len(keys), "by_rule": dict(by_rule)}


def reconciliation_status() -> dict:
    conn = db.session.connection()
    open_lines = conn.execute(sa.select(func.count()).select_from(open_lines_query().subquery())).scalar()
    open_items = conn.execute(sa.select(func.count()).select_from(open_expected_query().subquery())).scalar()
    return {"open_statement_lines": open_lines, "open_expected_items": open_items}


# =========================================================================================
# Figures for screens and reports (aggregated in SQL)
# =========================================================================================

EXPLANATIONS = {  # kinds of expected item, as screens and reports name them
    "cash_deposit": _l("cash deposit"),
    "card_settlement": _l("card settlement"),
    "wallet_settlement": _l("wallet settlement"),
    "supplier_payment": _l("supplier payment"),
    "other": _l("other"),
}


def trial_balance(date_from=None, date_to=None, store_id=None) -> dict:
    """Per account: debits, credits and balance of posted lines in the dates; totals."""
    el, a = EntryLine.__table__, Account.__table__
    q = (sa.select(a.c.code, a.c.name, a.c.type, func.coalesce(func.sum(el.c.debit), 0).label("debit"),
                   func.coalesce(func.sum(el.c.credit), 0).label("credit"))
         .select_from(el.join(a, a.c.id == el.c.account_id)).group_by(a.c.code, a.c.name, a.c.type)
         .order_by(a.c.code))
    if date_from:
        q = q.where(el.c.date >= _as_date(date_from))
    if date_to:
        q = q.where(el.c.date <= _as_date(date_to))
    if store_id:
        q = q.where(el.c.store_id == store_id)
    rows = []
    for r in db.session.execute(q):
        debit, credit = money(r.debit), money(r.credit)
        rows.append(dict(code=r.code, name=r.name, type=r.type, debit=debit, credit=credit,
                         balance=money(debit - credit)))
    total_debit = sum((r["debit"] for r in rows), ZERO)
    total_credit = sum((r["credit"] for r in rows), ZERO)
    return {"date_from": date_from and _as_date(date_from), "date_to": date_to and _as_date(date_to),
            "rows": rows, "total_debit": total_debit, "total_credit": total_credit,
            "balanced": total_debit == total_credit}


def journal_report(journal_code: str | None = None, date_from=None, date_to=None, store_id=None,
                   limit: int | None = None) -> dict:
    """Entries with their lines, in number order, for a journal and dates."""
    e, el, a = Entry.__table__, EntryLine.__table__, Account.__table__
    j = Journal.__table__
    q = (sa.select(e.c.id, e.c.number, e.c.date, e.c.memo, e.c.source_type, e.c.source_ref, j.c.code.label("journal"),
                   a.c.code.label("account"), a.c.name.label("account_name"), el.c.label, el.c.debit, el.c.credit)
         .select_from(el.join(e, e.c.id == el.c.entry_id).join(a, a.c.id == el.c.account_id)
                      .join(j, j.c.id == e.c.journal_id))
         .order_by(e.c.date, e.c.id, el.c.id))
    if journal_code:
        q = q.where(j.c.code == journal_code)
    if date_from:
        q = q.where(e.c.date >= _as_date(date_from))
    if date_to:
        q = q.where(e.c.date <= _as_date(date_to))
    if store_id:
        q = q.where(e.c.store_id == store_id)
    if limit:
        q = q.limit(limit)
    rows = [dict(r._mapping) for r in db.session.execute(q)]
    for r in rows:
        r["debit"], r["credit"] = money(r["debit"]), money(r["credit"])
        r["date"] = _as_date(r["date"])
    return {"journal": journal_code, "date_from": date_from and _as_date(date_from),
            "date_to": date_to and _as_date(date_to), "rows": rows,
            "entries": len({r["id"] for r in rows}),
            "total_debit": sum((r["debit"] for r in rows), ZERO),
            "total_credit": sum((r["credit"] for r in rows), ZERO)}


def takings_listing(store_id: int, date_from, date_to) -> list:
    """Every payment taken (or refunded) in a store and period, one row per sale and method:
    (date, entry number, source document, channel, method, amount), in date order."""
    e, el = Entry.__table__, EntryLine.__table__
    q = (sa.select(el.c.date, e.c.number, e.c.source_ref, e.c.channel, el.c.payment_method,
                   (el.c.debit - el.c.credit).label("amount"))
         .select_from(el.join(e, e.c.id == el.c.entry_id))
         .where(el.c.store_id == store_id, el.c.date >= _as_date(date_from), el.c.date <= _as_date(date_to),
                el.c.payment_method.is_not(None), e.c.source_type.in_([SRC_ORDER, SRC_REFUND, SRC_POS_REFUND,
                                                                       SRC_REVERSAL]))
         .order_by(el.c.date, e.c.id, el.c.id))
    return db.session.execute(q).all()


def reconciliation_figures(store_id: int, date_from, date_to) -> dict:
    """Everything the reconciliation screen and PDF show for a store and period: takings by
    payment method and channel, expected deposits and what the bank shows for each, unmatched
    bank lines, differences with explanations, and day-by-day totals. All sums in SQL."""
    store = db.session.get(Store, store_id)
    if store is None:
        raise NotFound(_("There is no store with id %(id)s.", id=store_id))
    d0, d1 = _as_date(date_from), _as_date(date_to)
    if d1 < d0:
        raise ValidationError(_("The period ends (%(end)s) before it starts (%(start)s).", start=d0, end=d1))
    e, el = Entry.__table__, EntryLine.__table__
    # takings by method and channel: payment debits less refunds, on sales and refund postings
    q = (sa.select(el.c.payment_method, e.c.channel, el.c.date,
                   func.sum(el.c.debit - el.c.credit).label("amount"))
         .select_from(el.join(e, e.c.id == el.c.entry_id))
         .where(el.c.store_id == store_id, el.c.date >= d0, el.c.date <= d1, el.c.payment_method.is_not(None),
                e.c.source_type.in_([SRC_ORDER, SRC_REFUND, SRC_POS_REFUND, SRC_REVERSAL]))
         .group_by(el.c.payment_method, e.c.channel, el.c.date))
    takings_rows = db.session.execute(q).all()
    takings: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    by_method: dict[str, Decimal] = defaultdict(lambda: ZERO)
    days: dict[dt.date, dict] = {}

    def day(d):
        d = _as_date(d)
        return days.setdefault(d, dict(date=d, takings=ZERO, expected=ZERO, bank=ZERO, over_short=ZERO))
    for r in takings_rows:
        amount = money(r.amount)
        takings[(r.payment_method, r.channel or "-")] += amount
        by_method[r.payment_method] += amount
        day(r.date)["takings"] += amount
    takings_list = [dict(method=m, channel=c, amount=a) for (m, c), a in sorted(takings.items())]

    # expected items of the store, with what matched them
    ei, me, mt, mlk, sl = (ExpectedItem.__table__, MatchExpected.__table__, Match.__table__, MatchLine.__table__,
                           StatementLine.__table__)
    q = (sa.select(ei.c.id, ei.c.kind, ei.c.date, ei.c.reference, ei.c.method_code, ei.c.gross, ei.c.fee,
                   ei.c.amount, me.c.match_id)
         .select_from(ei.outerjoin(me, me.c.active_expected_id == ei.c.id))
         .where(ei.c.store_id == store_id, ei.c.date >= d0, ei.c.date <= d1)
         .order_by(ei.c.date, ei.c.kind, ei.c.id))
    expected = [dict(r._mapping) for r in db.session.execute(q)]
    match_ids = {r["match_id"] for r in expected if r["match_id"]}
    match_info: dict[int, dict] = {}
    if match_ids:
        ids = sorted(match_ids)
        for i in range(0, len(ids), 900):
            chunk = ids[i:i + 900]
            for r in db.session.execute(sa.select(mt.c.id, mt.c.bank_amount, mt.c.expected_amount, mt.c.difference,
                                                  mt.c.method, mt.c.note).where(mt.c.id.in_(chunk))):
                match_info[r.id] = dict(r._mapping)
            for r in db.session.execute(sa.select(mlk.c.match_id, sl.c.date, sl.c.reference)
                                        .select_from(mlk.join(sl, sl.c.id == mlk.c.statement_line_id))
                                        .where(mlk.c.match_id.in_(chunk), mlk.c.active_line_id.is_not(None))):
                info = match_info[r.match_id]
                info.setdefault("bank_refs", []).append(r.reference or str(r.date))
                info.setdefault("bank_dates", []).append(_as_date(r.date))
    # share of each match per expected item (a match may cover several items)
    items_per_match: dict[int, list] = defaultdict(list)
    for r in expected:
        if r["match_id"]:
            items_per_match[r["match_id"]].append(r)
    differences = []
    total_fee = ZERO
    for r in expected:
        r["date"] = _as_date(r["date"])
        r["gross"], r["fee"], r["amount"] = money(r["gross"]), money(r["fee"]), money(r["amount"])
        total_fee += r["fee"]
        day(r["date"])["expected"] += r["amount"]
        info = match_info.get(r["match_id"]) if r["match_id"] else None
        if info:
            siblings = items_per_match[r["match_id"]]
            if len(siblings) == 1:
                r["bank"] = money(info["bank_amount"])
            else:  # several items in one match: each gets its amount, the last one the difference
                r["bank"] = r["amount"] + (money(info["difference"]) if siblings[-1] is r else ZERO)
            r["difference"] = money(r["bank"] - r["amount"])
            r["matched"] = True
            r["bank_ref"] = ", ".join(info.get("bank_refs", []))
            day(r["date"])["bank"] += r["bank"]
            if r["difference"]:
                differences.append(dict(date=r["date"], kind="writeoff", amount=r["difference"],
                                        explanation=_("%(what)s %(ref)s: the bank shows %(bank)s, %(expected)s "
                                                      "expected; difference written off",
                                                      what=str(EXPLANATIONS[r["kind"]]), ref=r["reference"] or "",
                                                      bank=fmt(r["bank"]), expected=fmt(r["amount"]))))
        else:
            r["bank"], r["difference"], r["matched"], r["bank_ref"] = ZERO, money(-r["amount"]), False, ""
            differences.append(dict(date=r["date"], kind="unmatched_expected", amount=money(-r["amount"]),
                                    explanation=_("%(what)s %(ref)s of %(amount)s: not found on the bank "
                                                  "statement", what=str(EXPLANATIONS[r["kind"]]),
                                                  ref=r["reference"] or "", amount=fmt(r["amount"]))))
        if r["fee"]:
            differences.append(dict(date=r["date"], kind="fee", amount=money(-r["fee"]),
                                    explanation=_("%(what)s %(ref)s: provider fees %(fee)s on %(gross)s",
                                                  what=str(EXPLANATIONS[r["kind"]]), ref=r["reference"] or "",
                                                  fee=fmt(r["fee"]), gross=fmt(r["gross"]))))
    # cash over/short from till closes
    over_short_id = role_account_id("cash_over_short")
    q = (sa.select(e.c.source_ref, el.c.date, func.sum(el.c.credit - el.c.debit).label("amount"))
         .select_from(el.join(e, e.c.id == el.c.entry_id))
         .where(el.c.account_id == over_short_id, el.c.store_id == store_id, el.c.date >= d0, el.c.date <= d1)
         .group_by(e.c.source_ref, el.c.date).order_by(el.c.date, e.c.source_ref))
    over_short_total = ZERO
    for r in db.session.execute(q):
        amount = money(r.amount)
        if not amount:
            continue
        over_short_total += amount
        day(r.date)["over_short"] += amount
        differences.append(dict(date=_as_date(r.date), kind="cash_over_short", amount=amount,
                                explanation=(_("Till session %(ref)s: cash short by %(amount)s", ref=r.source_ref,
                                               amount=fmt(-amount)) if amount < 0 else
                                             _("Till session %(ref)s: cash over by %(amount)s", ref=r.source_ref,
                                               amount=fmt(amount)))))
    # bank lines not matched, of the store's bank accounts and the shared ones
    ba = BankAccount.__table__
    q = (sa.select(sl.c.id, sl.c.date, sl.c.amount, sl.c.reference, sl.c.description, ba.c.code.label("bank"))
         .select_from(sl.join(ba, ba.c.id == sl.c.bank_account_id)
                      .outerjoin(mlk, mlk.c.active_line_id == sl.c.id))
         .where(mlk.c.match_id.is_(None), sl.c.date >= d0, sl.c.date <= d1,
                sa.or_(ba.c.store_id.is_(None), ba.c.store_id == store_id))
         .order_by(sl.c.date, sl.c.id))
    unmatched_bank = []
    for r in db.session.execute(q):
        row = dict(r._mapping)
        row["date"], row["amount"] = _as_date(row["date"]), money(row["amount"])
        unmatched_bank.append(row)
        differences.append(dict(date=row["date"], kind="unmatched_bank", amount=row["amount"],
                                explanation=_("Bank line %(ref)s of %(amount)s (%(desc)s): not expected from any "
                                              "till, order or bill", ref=row["reference"] or "-",
                                              amount=fmt(row["amount"]), desc=row["description"] or "-")))
    differences.sort(key=lambda d: (d["date"], d["kind"]))
    expected_total = sum((r["amount"] for r in expected), ZERO)
    matched_bank = sum((r["bank"] for r in expected if r["matched"]), ZERO)
    matched_expected = sum((r["amount"] for r in expected if r["matched"]), ZERO)
    unmatched_expected = sum((r["amount"] for r in expected if not r["matched"]), ZERO)
    writeoffs = sum((r["difference"] for r in expected if r["matched"]), ZERO)
    return {
        "store": {"id": store.id, "code": store.code, "name": store.name},
        "date_from": d0, "date_to": d1,
        "takings": takings_list,
        "takings_by_method": dict(sorted(by_method.items())),
        "takings_total": sum(by_method.values(), ZERO),
        "expected": expected,
        "expected_total": expected_total,
        "expected_count": len(expected),
        "matched_count": sum(1 for r in expected if r["matched"]),
        "unmatched_expected_count": sum(1 for r in expected if not r["matched"]),
        "matched_expected_total": matched_expected,
        "matched_bank_total": matched_bank,
        "unmatched_expected_total": unmatched_expected,
        "unmatched_bank": unmatched_bank,
        "unmatched_bank_total": sum((r["amount"] for r in unmatched_bank), ZERO),
        "unmatched_bank_count": len(unmatched_bank),
        "fees_total": total_fee,
        "writeoff_total": writeoffs,
        "cash_over_short_total": over_short_total,
        "differences": differences,
        "days": [days[d] for d in sorted(days)],
        "statements": _statement_balances_of(store_id, d0, d1),
    }


def _statement_balances_of(store_id, d0, d1) -> list[dict]:
    """The balance checks of the statements the period's bank lines come from."""
    from addons.finance import statement_balances as sb
    stmts = sb.statements_for_store(store_id, d0, d1)
    checks = sb.balance_checks(stmts)
    return [dict(id=s.id, bank=s.bank_account.code, filename=s.filename, date_from=s.date_from, date_to=s.date_to,
                 opening_balance=s.opening_balance, closing_balance=s.closing_balance,
                 state=checks[s.id]["state"], messages=[str(x) for x in checks[s.id]["messages"]])
            for s in stmts]


def summary_figures(fig: dict) -> list[tuple[str, str]]:
    """The headline figures, as (label, formatted amount): the same list on the screen and in
    the PDF (a test compares them)."""
    rows = [(_("Takings %(method)s", method=m), fmt(a)) for m, a in fig["takings_by_method"].items()]
    rows += [
        (_("Takings total"), fmt(fig["takings_total"])),
        (_("Expected in the bank"), fmt(fig["expected_total"])),
        (_("Provider fees"), fmt(fig["fees_total"])),
        (_("Cash over/short"), fmt(fig["cash_over_short_total"])),
        (_("Matched: expected"), fmt(fig["matched_expected_total"])),
        (_("Matched: bank"), fmt(fig["matched_bank_total"])),
        (_("Written off"), fmt(fig["writeoff_total"])),
        (_("Expected, not in the bank"), fmt(fig["unmatched_expected_total"])),
        (_("Bank lines not expected"), fmt(fig["unmatched_bank_total"])),
    ]
    return rows


# =========================================================================================
# Manual entries, bank-line rules, statement balances, supplier payments, AP ageing
# (their own modules; named here so other code keeps importing only ``services``)
# =========================================================================================

_REEXPORTS = {
    "addons.finance.manual_entries": ("create_manual_entry", "update_manual_entry", "delete_manual_entry",
                                      "approve_manual_entry", "post_manual_entry", "reverse_manual_entry",
                                      "get_manual_entry", "second_approval_limit"),
    "addons.finance.bank_rules": ("book_statement_line", "create_bank_rule", "apply_bank_rules", "validate_rule"),
    "addons.finance.statement_balances": ("balance_checks",),
    "addons.finance.payment_runs": ("create_payment_run", "approve_payment_run", "export_payment_run",
                                    "post_payment_run", "cancel_payment_run", "get_payment_run"),
    "addons.finance.ageing": ("ap_ageing", "ap_ageing_pdf"),
}
_REEXPORTED = {name: module for module, names in _REEXPORTS.items() for name in names}


def __getattr__(name):  # imported on first use: those modules import this one
    module = _REEXPORTED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(module), name)
