"""Finance tables: the books, the posting configuration, statements and reconciliation.

Every table is prefixed ``finance_``. Posted journal entries are immutable: the service
refuses to change them and a flush-time guard (``install_guards``) refuses any UPDATE or
DELETE of a posted entry or of its lines, whoever tries it (admin form, script, ORM).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import IdMixin, Money, Session, TimestampMixin, db, utcnow
from core.models.audit import Audited

ACCOUNT_TYPES = ("asset", "liability", "equity", "income", "expense")
JOURNAL_KINDS = ("sale", "purchase", "cash", "bank", "clearing", "general")
EXPECTED_KINDS = ("cash_deposit", "card_settlement", "wallet_settlement", "supplier_payment", "other")


# --- the books ------------------------------------------------------------------------------

class Account(IdMixin, TimestampMixin, Audited, db.Model):
    """A ledger account of the chart of accounts."""
    __tablename__ = "finance_account"

    code: Mapped[str] = mapped_column(sa.String(16), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    type: Mapped[str] = mapped_column(sa.String(16), nullable=False)  # ACCOUNT_TYPES
    reconcilable: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    def __str__(self):
        return f"{self.code} {self.name}"


class Journal(IdMixin, TimestampMixin, Audited, db.Model):
    """A book of entries: sales, purchases, a cash journal per store, bank, clearing."""
    __tablename__ = "finance_journal"

    code: Mapped[str] = mapped_column(sa.String(16), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(16), nullable=False)  # JOURNAL_KINDS
    store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("store.id"), index=True)
    default_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_account.id"))
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    store = relationship("Store")
    default_account = relationship(Account)

    def __str__(self):
        return f"{self.code} {self.name}"


class Period(IdMixin, TimestampMixin, Audited, db.Model):
    """An accounting period; a locked period accepts no posting dated inside it."""
    __tablename__ = "finance_period"
    __table_args__ = (sa.CheckConstraint("date_to >= date_from", name="dates"),)

    name: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    date_from: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    date_to: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    locked: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    locked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    def __str__(self):
        return self.name


class Entry(IdMixin, db.Model):
    """A journal entry. Its source document is ``(source_type, source_id, source_ref)``:
    one posting per source (unique constraint), so the same sale is never posted twice."""
    __tablename__ = "finance_entry"
    __table_args__ = (
        sa.UniqueConstraint("source_type", "source_id", name="source"),
        sa.Index("ix_finance_entry_journal_date", "journal_id", "date"),
    )

    number: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    journal_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_journal.id"), nullable=False)
    date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False, index=True)
    state: Mapped[str] = mapped_column(sa.String(8), nullable=False, default="posted")
    memo: Mapped[str | None] = mapped_column(sa.String(256))
    store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("store.id"), index=True)
    channel: Mapped[str | None] = mapped_column(sa.String(16))
    source_type: Mapped[str | None] = mapped_column(sa.String(32))
    source_id: Mapped[int | None] = mapped_column(sa.Integer)
    source_ref: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    reversal_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_entry.id"), unique=True)
    posted_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    posted_by: Mapped[str | None] = mapped_column(sa.String(64))

    journal = relationship(Journal, lazy="joined")
    store = relationship("Store")
    lines: Mapped[list["EntryLine"]] = relationship(back_populates="entry", order_by="EntryLine.id",
                                                    cascade="all, delete-orphan")
    reversal_of = relationship("Entry", remote_side="Entry.id")

    @property
    def total_debit(self) -> Decimal:
        return sum((ln.debit for ln in self.lines), Decimal("0.00"))

    def __str__(self):
        return self.number


class EntryLine(IdMixin, db.Model):
    """One debit or credit of an entry, with its account, partner and store."""
    __tablename__ = "finance_entry_line"
    __table_args__ = (
        sa.CheckConstraint("debit >= 0 AND credit >= 0", name="not_negative"),
        sa.CheckConstraint("NOT (debit > 0 AND credit > 0)", name="one_side"),
        sa.Index("ix_finance_entry_line_account_date", "account_id", "date"),
        sa.Index("ix_finance_entry_line_store_date", "store_id", "date"),
    )

    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_entry.id", ondelete="CASCADE"), nullable=False,
                                          index=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_account.id"), nullable=False)
    date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    debit: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    credit: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    label: Mapped[str | None] = mapped_column(sa.String(128))
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partner.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("store.id"))
    payment_method: Mapped[str | None] = mapped_column(sa.String(32))

    entry = relationship(Entry, back_populates="lines")
    account = relationship(Account, lazy="joined")
    partner = relationship("Partner")
    store = relationship("Store")


# --- posting configuration (data, editable in the admin) -------------------------------

class AccountRole(IdMixin, Audited, db.Model):
    """Which account plays a role in automatic postings (revenue, grni, cash_over_short...)."""
    __tablename__ = "finance_account_role"

    role: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_account.id"), nullable=False)
    account = relationship(Account, lazy="joined")

    def __str__(self):
        return self.role


class PaymentMethodAccount(IdMixin, Audited, db.Model):
    """Payment method code -> the account a payment is debited to, what the bank is expected
    to receive for it and the provider's fee (percent of the gross)."""
    __tablename__ = "finance_payment_method_account"

    method_code: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_account.id"), nullable=False)
    # cash_deposit (from till closes) | card_settlement | wallet_settlement | none
    settlement: Mapped[str] = mapped_column(sa.String(24), nullable=False, default="none")
    fee_percent: Mapped[Decimal] = mapped_column(sa.Numeric(7, 4), nullable=False, default=Decimal("0"))
    account = relationship(Account, lazy="joined")

    def __str__(self):
        return self.method_code


class TaxAccount(IdMixin, Audited, db.Model):
    """Tax rate (percent) -> output (sales) and input (purchases) tax accounts."""
    __tablename__ = "finance_tax_account"

    rate: Mapped[Decimal] = mapped_column(sa.Numeric(7, 4), unique=True, nullable=False)
    sales_account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_account.id"), nullable=False)
    purchase_account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_account.id"), nullable=False)
    sales_account = relationship(Account, foreign_keys=[sales_account_id], lazy="joined")
    purchase_account = relationship(Account, foreign_keys=[purchase_account_id], lazy="joined")


class StoreJournal(IdMixin, Audited, db.Model):
    """Store -> its cash journal (created automatically when missing)."""
    __tablename__ = "finance_store_journal"

    store_id: Mapped[int] = mapped_column(sa.ForeignKey("store.id"), unique=True, nullable=False)
    journal_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_journal.id"), nullable=False)
    store = relationship("Store")
    journal = relationship(Journal)


# --- bank statements -------------------------------------------------------------------

class CsvFormat(IdMixin, Audited, db.Model):
    """How one bank's CSV export is laid out: column names, date format, decimal mark."""
    __tablename__ = "finance_csv_format"

    code: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    delimiter: Mapped[str] = mapped_column(sa.String(1), nullable=False, default=",")
    date_column: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    date_format: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="%Y-%m-%d")
    amount_column: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    reference_column: Mapped[str | None] = mapped_column(sa.String(64))
    description_column: Mapped[str | None] = mapped_column(sa.String(64))
    counterparty_column: Mapped[str | None] = mapped_column(sa.String(64))
    id_column: Mapped[str | None] = mapped_column(sa.String(64))  # the bank's own line id, if any
    balance_column: Mapped[str | None] = mapped_column(sa.String(64))  # running balance after each line
    decimal_comma: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    def __str__(self):
        return self.code


class BankAccount(IdMixin, TimestampMixin, Audited, db.Model):
    """A bank account or payment-provider account whose statements are imported."""
    __tablename__ = "finance_bank_account"

    code: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    iban: Mapped[str | None] = mapped_column(sa.String(34), unique=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_account.id"), nullable=False)
    journal_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_journal.id"), nullable=False)
    csv_format_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_csv_format.id"))
    store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("store.id"))  # None: all stores
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    account = relationship(Account)
    journal = relationship(Journal)
    csv_format = relationship(CsvFormat)
    store = relationship("Store")

    def __str__(self):
        return f"{self.code} {self.name}"


class Statement(IdMixin, db.Model):
    """One imported statement file; the same file (by content hash) is refused twice."""
    __tablename__ = "finance_statement"

    bank_account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_bank_account.id"), nullable=False,
                                                 index=True)
    filename: Mapped[str] = mapped_column(sa.String(256), nullable=False)
    file_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    format: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    date_from: Mapped[dt.date | None] = mapped_column(sa.Date)
    date_to: Mapped[dt.date | None] = mapped_column(sa.Date)
    line_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    imported_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    imported_by: Mapped[str | None] = mapped_column(sa.String(64))
    # what the bank says the account held before the first and after the last line (None:
    # the file does not say); checked by statement_balances.balance_checks
    opening_balance: Mapped[Decimal | None] = mapped_column(Money)
    closing_balance: Mapped[Decimal | None] = mapped_column(Money)

    bank_account = relationship(BankAccount)

    def __str__(self):
        return f"{self.filename} ({self.imported_at:%Y-%m-%d})"


class StatementLine(IdMixin, db.Model):
    """A line of a statement. ``line_key`` (the bank's id, or a hash of the line and its
    occurrence) is unique per bank account: an overlapping re-import is refused."""
    __tablename__ = "finance_statement_line"
    __table_args__ = (
        sa.UniqueConstraint("bank_account_id", "line_key", name="key"),
        sa.Index("ix_finance_statement_line_bank_date", "bank_account_id", "date"),
    )

    statement_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_statement.id"), nullable=False, index=True)
    bank_account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_bank_account.id"), nullable=False)
    line_no: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    line_key: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    reference: Mapped[str | None] = mapped_column(sa.String(128))
    description: Mapped[str | None] = mapped_column(sa.String(256))
    counterparty: Mapped[str | None] = mapped_column(sa.String(128))

    statement = relationship(Statement)
    bank_account = relationship(BankAccount)

    def __str__(self):
        return f"{self.date} {self.amount} {self.reference or ''}".strip()


# --- reconciliation --------------------------------------------------------------------

class ExpectedItem(IdMixin, db.Model):
    """Money the bank should show: a store's cash deposit of a day (from till closes), a
    day's card or wallet settlement net of fees, a supplier payment (negative). ``key`` makes
    the aggregation unique (one cash deposit per store and day)."""
    __tablename__ = "finance_expected_item"
    __table_args__ = (sa.Index("ix_finance_expected_item_store_date", "store_id", "date"),)

    key: Mapped[str] = mapped_column(sa.String(96), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(24), nullable=False)  # EXPECTED_KINDS
    method_code: Mapped[str | None] = mapped_column(sa.String(32))
    store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("store.id"))
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partner.id"))
    date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False, index=True)
    reference: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    gross: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    fee: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)  # what the bank should show
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_account.id"), nullable=False)
    source_type: Mapped[str | None] = mapped_column(sa.String(32))
    source_id: Mapped[int | None] = mapped_column(sa.Integer)

    store = relationship("Store")
    partner = relationship("Partner")
    account = relationship(Account)

    def __str__(self):
        return f"{self.kind} {self.date} {self.amount} {self.reference or ''}".strip()


class MatchRule(IdMixin, TimestampMixin, Audited, db.Model):
    """An automatic matching rule, tried in ``sequence`` order."""
    __tablename__ = "finance_match_rule"

    name: Mapped[str] = mapped_column(sa.String(128), unique=True, nullable=False)
    sequence: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=10)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    kind: Mapped[str | None] = mapped_column(sa.String(24))  # expected kind, None: any
    match_reference: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    amount_tolerance: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    date_window_days: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=3)
    bank_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_bank_account.id"))
    bank_account = relationship(BankAccount)

    def __str__(self):
        return self.name


class Match(IdMixin, db.Model):
    """A reconciliation: statement line(s) against expected item(s), with the difference
    written off to ``writeoff_account``. Undoing keeps the row (state 'undone') and frees the
    items; the link tables' unique constraints make matching anything twice impossible."""
    __tablename__ = "finance_match"

    state: Mapped[str] = mapped_column(sa.String(8), nullable=False, default="active", index=True)
    method: Mapped[str] = mapped_column(sa.String(8), nullable=False, default="manual")  # auto | manual
    rule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_match_rule.id"))
    bank_account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_bank_account.id"), nullable=False)
    date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    bank_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    expected_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    difference: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    writeoff_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_account.id"))
    note: Mapped[str | None] = mapped_column(sa.String(256))
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_match_batch.id"), index=True)
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_entry.id"))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    undone_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    rule = relationship(MatchRule)
    bank_account = relationship(BankAccount)
    writeoff_account = relationship(Account)

    def __str__(self):
        return f"match #{self.id}"


class MatchBatch(IdMixin, db.Model):
    """The auto matches of one run, bank account and day: posted as one bank entry."""
    __tablename__ = "finance_match_batch"

    bank_account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_bank_account.id"), nullable=False)
    date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)


class MatchLine(db.Model):
    """Statement line in a match; unique: a line is matched once."""
    __tablename__ = "finance_match_line"

    match_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_match.id"), primary_key=True)
    statement_line_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_statement_line.id"), primary_key=True)
    # NULL once the match is undone, so the unique index frees the line.
    active_line_id: Mapped[int | None] = mapped_column(sa.Integer, unique=True)


class MatchExpected(db.Model):
    """Expected item in a match; unique: an item is matched once."""
    __tablename__ = "finance_match_expected"

    match_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_match.id"), primary_key=True)
    expected_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_expected_item.id"), primary_key=True)
    active_expected_id: Mapped[int | None] = mapped_column(sa.Integer, unique=True)


class BackfillRun(IdMixin, db.Model):
    """One ``o2o finance backfill`` run: what it found and what it posted."""
    __tablename__ = "finance_backfill_run"

    since: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    ran_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    found: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    posted: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


# --- immutability guard ----------------------------------------------------------------

class PostedEntryChanged(Exception):
    pass


def _loaded_state(obj, attr="state"):
    from sqlalchemy import inspect
    hist = inspect(obj).attrs[attr].history
    if hist.deleted:
        return hist.deleted[0]
    return getattr(obj, attr)


def _guard_posted(session, _flush_context, _instances):
    from core.errors import Conflict
    from core.i18n import _
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Entry):
            if _loaded_state(obj) == "posted" and (obj in session.deleted
                                                   or session.is_modified(obj, include_collections=False)):
                raise Conflict(_("Journal entry %(number)s is posted and cannot be changed or deleted; "
                                 "post a reversal instead.", number=obj.number))
        elif isinstance(obj, EntryLine):
            entry = obj.entry
            if entry is not None and sa.inspect(entry).persistent and _loaded_state(entry) == "posted" \
                    and (obj in session.deleted or session.is_modified(obj)):
                raise Conflict(_("Journal entry %(number)s is posted and its lines cannot be changed; "
                                 "post a reversal instead.", number=entry.number))
    for obj in session.new:
        if isinstance(obj, EntryLine) and obj.entry is not None and sa.inspect(obj.entry).persistent \
                and _loaded_state(obj.entry) == "posted":
            raise Conflict(_("Journal entry %(number)s is posted: no line can be added to it.",
                             number=obj.entry.number))


_installed = False


def install_guards() -> None:
    global _installed
    if not _installed:
        event.listen(Session, "before_flush", _guard_posted)
        _installed = True


install_guards()


# --- manual journal entries, bank-line rules, statement balances, supplier payments ------
# (models of addons/finance/manual_entries.py, bank_rules.py, statement_balances.py,
# payment_runs.py and ageing.py)

MANUAL_STATES = ("draft", "posted", "reversed")
PAYMENT_RUN_STATES = ("draft", "approved", "exported", "posted", "cancelled")


class ManualEntry(IdMixin, TimestampMixin, Audited, db.Model):
    """A journal entry typed in by finance staff. A draft's lines can be edited; posting
    writes an ordinary posted ``Entry`` (source ``manual_entry``); a correction is a
    reversal entry, never an edit. Who created, approved, posted and reversed it is kept."""
    __tablename__ = "finance_manual_entry"
    __table_args__ = (sa.CheckConstraint("state IN ('draft', 'posted', 'reversed')", name="state"),)

    journal_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_journal.id"), nullable=False)
    date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False, index=True)
    memo: Mapped[str | None] = mapped_column(sa.String(256))
    store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("store.id"), index=True)
    state: Mapped[str] = mapped_column(sa.String(8), nullable=False, default="draft", index=True)
    total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))  # sum of debits
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    approved_by: Mapped[str | None] = mapped_column(sa.String(64))
    approved_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    posted_by: Mapped[str | None] = mapped_column(sa.String(64))
    posted_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_entry.id"))
    reversed_by: Mapped[str | None] = mapped_column(sa.String(64))
    reversed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    reversal_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_entry.id"))

    journal = relationship(Journal)
    store = relationship("Store")
    entry = relationship(Entry, foreign_keys=[entry_id])
    reversal_entry = relationship(Entry, foreign_keys=[reversal_entry_id])
    lines: Mapped[list["ManualEntryLine"]] = relationship(back_populates="manual_entry",
                                                          order_by="ManualEntryLine.id",
                                                          cascade="all, delete-orphan")

    @property
    def number(self) -> str:
        return f"MJ-{self.id:06d}" if self.id else "MJ-new"

    def __str__(self):
        return self.number


class ManualEntryLine(IdMixin, Audited, db.Model):
    """A debit or credit of a manual entry (editable while the entry is a draft)."""
    __tablename__ = "finance_manual_entry_line"
    __table_args__ = (
        sa.CheckConstraint("debit >= 0 AND credit >= 0", name="not_negative"),
        sa.CheckConstraint("NOT (debit > 0 AND credit > 0)", name="one_side"),
    )

    manual_entry_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_manual_entry.id", ondelete="CASCADE"),
                                                 nullable=False, index=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_account.id"), nullable=False)
    debit: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    credit: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    label: Mapped[str | None] = mapped_column(sa.String(128))
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partner.id"))
    store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("store.id"))

    manual_entry = relationship(ManualEntry, back_populates="lines")
    account = relationship(Account, lazy="joined")
    partner = relationship("Partner")
    store = relationship("Store")


class BankLineRule(IdMixin, TimestampMixin, Audited, db.Model):
    """"Bank fee lines from bank X whose description matches P go to account 6100": a
    statement line that no expected item explains is booked to ``account`` by the first
    active rule (``sequence`` order) whose pattern (a regular expression, case-insensitive)
    is found in the chosen field and whose sign and amount range fit."""
    __tablename__ = "finance_bank_line_rule"

    name: Mapped[str] = mapped_column(sa.String(128), unique=True, nullable=False)
    sequence: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=10)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    bank_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_bank_account.id"))
    field: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="any")  # BANK_RULE_FIELDS
    pattern: Mapped[str] = mapped_column(sa.String(256), nullable=False)
    sign: Mapped[str | None] = mapped_column(sa.String(8))  # debit (money out) | credit (money in) | None: any
    amount_min: Mapped[Decimal | None] = mapped_column(Money)  # on the absolute amount
    amount_max: Mapped[Decimal | None] = mapped_column(Money)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_account.id"), nullable=False)
    store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("store.id"))
    label: Mapped[str | None] = mapped_column(sa.String(128))

    bank_account = relationship(BankAccount)
    account = relationship(Account)
    store = relationship("Store")

    def __str__(self):
        return self.name


class PartnerBankAccount(IdMixin, TimestampMixin, Audited, db.Model):
    """Where a supplier is paid: printed in the payment file of a payment run."""
    __tablename__ = "finance_partner_bank"

    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partner.id"), unique=True, nullable=False)
    account_number: Mapped[str] = mapped_column(sa.String(64), nullable=False)  # IBAN or local number
    bank_name: Mapped[str | None] = mapped_column(sa.String(128))
    partner = relationship("Partner")

    def __str__(self):
        return self.account_number


class PaymentRun(IdMixin, TimestampMixin, Audited, db.Model):
    """A batch of supplier payments: due vendor bills selected, approved, exported as a
    payment file for the bank, posted (payable debited per supplier, bank or payments in
    transit credited). States: draft -> approved -> exported -> posted; cancelled before."""
    __tablename__ = "finance_payment_run"
    __table_args__ = (sa.CheckConstraint(
        "state IN ('draft', 'approved', 'exported', 'posted', 'cancelled')", name="state"),)

    state: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="draft", index=True)
    bank_account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_bank_account.id"), nullable=False)
    due_by: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    payment_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    credit_account_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_account.id"), nullable=False)
    batch_booking: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)  # one bank line
    total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    note: Mapped[str | None] = mapped_column(sa.String(256))
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    approved_by: Mapped[str | None] = mapped_column(sa.String(64))
    approved_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    exported_by: Mapped[str | None] = mapped_column(sa.String(64))
    exported_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    posted_by: Mapped[str | None] = mapped_column(sa.String(64))
    posted_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finance_entry.id"))
    cancelled_by: Mapped[str | None] = mapped_column(sa.String(64))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    bank_account = relationship(BankAccount)
    credit_account = relationship(Account)
    entry = relationship(Entry)
    lines: Mapped[list["PaymentRunLine"]] = relationship(back_populates="run", order_by="PaymentRunLine.id",
                                                         cascade="all, delete-orphan")

    @property
    def number(self) -> str:
        return f"PR-{self.id:06d}" if self.id else "PR-new"

    def __str__(self):
        return self.number


class PaymentRunLine(IdMixin, db.Model):
    """A due bill (its open expected item) in a payment run. ``active_expected_id`` is
    unique: a bill is in one open run at a time; NULL once the run is cancelled."""
    __tablename__ = "finance_payment_run_line"

    run_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_payment_run.id", ondelete="CASCADE"),
                                        nullable=False, index=True)
    expected_id: Mapped[int] = mapped_column(sa.ForeignKey("finance_expected_item.id"), nullable=False)
    active_expected_id: Mapped[int | None] = mapped_column(sa.Integer, unique=True)
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partner.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)  # paid, positive
    reference: Mapped[str | None] = mapped_column(sa.String(128))
    due_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    payment_ref: Mapped[str | None] = mapped_column(sa.String(32))  # the payment (per supplier) it is part of

    run = relationship(PaymentRun, back_populates="lines")
    expected = relationship(ExpectedItem)
    partner = relationship("Partner")
