"""Point of sale tables: registers, cashier sessions, till sales, the fiscal journal, Z reports.

Fiscal rules (NF525, KassenSichV principles) shape several of them:
- ``pos_journal`` is append-only and chained: each entry carries the SHA-256 of the previous
  entry of its register; ``o2o pos verify-journal`` recomputes the chain;
- a closed ``pos_session`` and everything under it are immutable (refused by the services and
  again at flush time, see ``_refuse_changes_to_closed_and_journal``);
- receipt numbers, journal sequence and Z numbers come from one counter row per register,
  updated in the sale's own transaction: no gaps, never reused; the grand total is never reset.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from core.db import IdMixin, Money, Session, TimestampMixin, db, utcnow
from core.errors import Conflict
from core.models.audit import Audited

SESSION_OPEN = "open"
SESSION_CLOSED = "closed"


class PosRegister(IdMixin, TimestampMixin, Audited, db.Model):
    """A till of a store."""
    __tablename__ = "pos_register"
    __table_args__ = (sa.UniqueConstraint("store_id", "code"),)

    store_id: Mapped[int] = mapped_column(sa.ForeignKey("store.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    store = relationship("Store", lazy="joined")

    def __str__(self):
        return f"{self.store.code if self.store else self.store_id}/{self.code} {self.name}"


class PosRegisterCounter(db.Model):
    """Per-register counters, taken with UPDATE ... RETURNING in the caller's transaction."""
    __tablename__ = "pos_register_counter"

    register_id: Mapped[int] = mapped_column(sa.ForeignKey("pos_register.id"), primary_key=True)
    last_receipt: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    last_session: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    last_z: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    last_journal_seq: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    last_journal_hash: Mapped[str | None] = mapped_column(sa.String(64))
    # perpetual grand total (sales minus refunds) since the register's first sale: never reset
    grand_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))


class PosSession(IdMixin, TimestampMixin, db.Model):
    """A cashier session on a register, from the counted opening float to the closing count."""
    __tablename__ = "pos_session"

    register_id: Mapped[int] = mapped_column(sa.ForeignKey("pos_register.id"), nullable=False, index=True)
    store_id: Mapped[int] = mapped_column(sa.ForeignKey("store.id"), nullable=False, index=True)
    # equals register_id while open, NULL once closed: the unique constraint allows one open
    # session per register on both databases (NULLs never collide)
    open_register_id: Mapped[int | None] = mapped_column(sa.Integer, unique=True)
    number: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(48), nullable=False)
    state: Mapped[str] = mapped_column(sa.String(8), nullable=False, default=SESSION_OPEN, index=True)
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    opening_float: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    cash_in_out_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    cash_expected: Mapped[Decimal | None] = mapped_column(Money)
    cash_counted: Mapped[Decimal | None] = mapped_column(Money)
    cash_difference: Mapped[Decimal | None] = mapped_column(Money)
    difference_reason: Mapped[str | None] = mapped_column(sa.String(256))

    register = relationship(PosRegister, lazy="joined")
    store = relationship("Store")
    opened_by = relationship("User", foreign_keys=[opened_by_id])
    closed_by = relationship("User", foreign_keys=[closed_by_id])
    counts: Mapped[list["PosSessionCount"]] = relationship(back_populates="session",
                                                           order_by="PosSessionCount.method")
    cash_moves: Mapped[list["PosCashMove"]] = relationship(back_populates="session",
                                                           order_by="PosCashMove.id")

    @property
    def is_open(self) -> bool:
        return self.state == SESSION_OPEN

    @property
    def totals_by_method(self) -> dict:
        """{method: {expected, counted, difference}}; counted once closed, live expected before."""
        if self.state == SESSION_CLOSED:
            return {c.method: {"expected": c.expected, "counted": c.counted, "difference": c.difference}
                    for c in self.counts}
        from addons.pos.services import expected_by_method
        return {m: {"expected": v, "counted": None, "difference": None}
                for m, v in expected_by_method(self).items()}

    def __str__(self):
        return self.name


class PosSessionCount(IdMixin, db.Model):
    """The closing count of one payment method."""
    __tablename__ = "pos_session_count"
    __table_args__ = (sa.UniqueConstraint("session_id", "method"),)

    session_id: Mapped[int] = mapped_column(sa.ForeignKey("pos_session.id"), nullable=False)
    method: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    expected: Mapped[Decimal] = mapped_column(Money, nullable=False)
    counted: Mapped[Decimal] = mapped_column(Money, nullable=False)
    difference: Mapped[Decimal] = mapped_column(Money, nullable=False)

    session: Mapped[PosSession] = relationship(back_populates="counts")


class PosCashMove(IdMixin, db.Model):
    """Cash put into (positive) or taken out of (negative) the drawer, with a reason."""
    __tablename__ = "pos_cash_move"

    session_id: Mapped[int] = mapped_column(sa.ForeignKey("pos_session.id"), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(256), nullable=False)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)

    session: Mapped[PosSession] = relationship(back_populates="cash_moves")


class PosSale(IdMixin, db.Model):
    """A till document: a sale (positive) or a refund (negative), numbered per register.

    ``idempotency_key`` is chosen by the till; the unique constraint makes a retried request
    find the first result instead of recording the sale twice, even when both race.
    """
    __tablename__ = "pos_sale"
    __table_args__ = (
        sa.UniqueConstraint("register_id", "idempotency_key"),
        sa.UniqueConstraint("register_id", "receipt_number"),
    )

    register_id: Mapped[int] = mapped_column(sa.ForeignKey("pos_register.id"), nullable=False)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("pos_session.id"), nullable=False, index=True)
    store_id: Mapped[int] = mapped_column(sa.ForeignKey("store.id"), nullable=False, index=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    request_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(8), nullable=False, default="sale")  # sale | refund
    receipt_number: Mapped[int | None] = mapped_column(sa.BigInteger)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sales_order.id"), unique=True)
    refund_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("pos_sale.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partner.id"))
    cashier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    tax_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    discount_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    change_given: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    # the document as the till was answered: a retry gets exactly this back
    document: Mapped[str | None] = mapped_column(sa.Text)

    register = relationship(PosRegister)
    session = relationship(PosSession)
    customer = relationship("Partner")
    cashier = relationship("User")

    @property
    def data(self) -> dict:
        return json.loads(self.document) if self.document else {}

    @property
    def receipt_label(self) -> str:
        reg = self.register
        prefix = f"{reg.store.code}-{reg.code}" if reg is not None else str(self.register_id)
        return f"{prefix}-{self.receipt_number:06d}" if self.receipt_number else prefix


class PosSalePayment(IdMixin, db.Model):
    """Money in (sale) or out (refund, negative) of a till document, by payment method; the
    source of a session's expected totals."""
    __tablename__ = "pos_sale_payment"

    sale_id: Mapped[int] = mapped_column(sa.ForeignKey("pos_sale.id"), nullable=False, index=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("pos_session.id"), nullable=False, index=True)
    method: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    is_cash: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)  # net of change; negative for refunds

    sale = relationship(PosSale)


class PosJournalEntry(IdMixin, db.Model):
    """The inalterable sales journal: append-only, hash-chained per register."""
    __tablename__ = "pos_journal"
    __table_args__ = (sa.UniqueConstraint("register_id", "seq"),)

    register_id: Mapped[int] = mapped_column(sa.ForeignKey("pos_register.id"), nullable=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(16), nullable=False)  # sale | refund | close | duplicate
    document_ref: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    recorded_at: Mapped[str] = mapped_column(sa.String(40), nullable=False)  # ISO 8601, UTC: hashed as is
    payload: Mapped[str] = mapped_column(sa.Text, nullable=False)  # canonical JSON, hashed as is
    prev_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)

    store_id = column_property(sa.select(PosRegister.store_id).where(PosRegister.id == register_id)
                               .correlate_except(PosRegister).scalar_subquery())


class PosZReport(IdMixin, db.Model):
    """The Z report of a closed session: numbered per register without gaps."""
    __tablename__ = "pos_z_report"
    __table_args__ = (sa.UniqueConstraint("register_id", "number"),)

    register_id: Mapped[int] = mapped_column(sa.ForeignKey("pos_register.id"), nullable=False)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("pos_session.id"), nullable=False, unique=True)
    number: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    sales_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    sales_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    refunds_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    refunds_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    discounts_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    tax_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    cash_difference: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    grand_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    document: Mapped[str] = mapped_column(sa.Text, nullable=False)  # canonical JSON of the report

    register = relationship(PosRegister)
    session = relationship(PosSession)
    store_id = column_property(sa.select(PosRegister.store_id).where(PosRegister.id == register_id)
                               .correlate_except(PosRegister).scalar_subquery())

    @property
    def data(self) -> dict:
        return json.loads(self.document)


class PosPrint(IdMixin, db.Model):
    """Each print of a receipt or Z report: the second and later are DUPLICATEs."""
    __tablename__ = "pos_print"
    __table_args__ = (sa.Index("ix_pos_print_doc", "doc_type", "doc_id"),)

    doc_type: Mapped[str] = mapped_column(sa.String(8), nullable=False)  # receipt | z
    doc_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    printed_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)


ATTENTION_OPEN, ATTENTION_RETRIED, ATTENTION_VOIDED, ATTENTION_CONVERTED = "open", "retried", "voided", "converted"
ATTENTION_STATES = (ATTENTION_OPEN, ATTENTION_RETRIED, ATTENTION_VOIDED, ATTENTION_CONVERTED)


class PosAttention(IdMixin, db.Model):
    """A till sale the server refused after the till had taken the money (a queued sale:
    stock refused, a product archived meanwhile, the session closed...). Nothing is lost:
    the original request is kept until the store manager retries it, converts it into a
    sale of the open session, or voids it with a reason. One per (register, idempotency
    key): the till and the server may both report it."""
    __tablename__ = "pos_attention"
    __table_args__ = (sa.UniqueConstraint("register_id", "idempotency_key"),
                      sa.Index("ix_pos_attention_register_state", "register_id", "state"))

    register_id: Mapped[int] = mapped_column(sa.ForeignKey("pos_register.id"), nullable=False)
    store_id: Mapped[int] = mapped_column(sa.ForeignKey("store.id"), nullable=False, index=True)
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("pos_session.id"))  # open when refused
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    request: Mapped[str] = mapped_column(sa.Text, nullable=False)  # canonical JSON: lines, payments, customer
    total: Mapped[str | None] = mapped_column(sa.String(24))  # as the till showed it
    queued_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))  # money taken
    error: Mapped[str] = mapped_column(sa.Text, nullable=False)
    error_status: Mapped[int | None] = mapped_column(sa.Integer)
    error_type: Mapped[str | None] = mapped_column(sa.String(128))
    state: Mapped[str] = mapped_column(sa.String(10), nullable=False, default=ATTENTION_OPEN)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    reported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    reason: Mapped[str | None] = mapped_column(sa.String(256))  # why it was voided
    sale_id: Mapped[int | None] = mapped_column(sa.ForeignKey("pos_sale.id"))  # the sale it became

    register = relationship(PosRegister)
    session = relationship(PosSession)
    store = relationship("Store")
    sale = relationship(PosSale)
    reported_by = relationship("User", foreign_keys=[reported_by_id])
    resolved_by = relationship("User", foreign_keys=[resolved_by_id])

    @property
    def data(self) -> dict:
        return json.loads(self.request)

    def __str__(self):
        return f"#{self.id} {self.idempotency_key}"


# --- immutability at flush ----------------------------------------------------------------

def _was_closed(session, obj: PosSession) -> bool:
    hist = inspect(obj).attrs.state.history
    before = list(hist.deleted) or list(hist.unchanged)
    if not before:  # expired before the change: ask the database
        return _session_closed(session, obj.id)
    return SESSION_CLOSED in before


def _session_closed(session, session_id) -> bool:
    if session_id is None:
        return False
    known = session.identity_map.get(session.identity_key(PosSession, session_id))
    if known is not None and "state" in known.__dict__ and known not in session.dirty:
        return known.__dict__["state"] == SESSION_CLOSED
    with session.no_autoflush:
        state = session.execute(sa.select(PosSession.state).where(PosSession.id == session_id)).scalar()
    return state == SESSION_CLOSED


def _refuse_changes_to_closed_and_journal(session, _flush_context, _instances):
    """The last line of defence: a closed session, its counts and cash moves, its sales, the
    journal, Z reports and prints cannot be changed or deleted, whatever code tries."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, (PosJournalEntry, PosZReport, PosPrint, PosSessionCount)):
            if obj in session.deleted or session.is_modified(obj, include_collections=False):
                raise Conflict(f"{obj.__tablename__} rows are inalterable; record a correction instead")
        elif isinstance(obj, PosSession):
            if (obj in session.deleted or session.is_modified(obj, include_collections=False)) and _was_closed(session, obj):
                raise Conflict(f"session {obj.name} is closed and cannot be changed")
        elif isinstance(obj, (PosCashMove, PosSale, PosSalePayment)):
            if obj in session.deleted or session.is_modified(obj, include_collections=False):
                if not isinstance(obj, PosSale) or _session_closed(session, obj.session_id):
                    raise Conflict(f"{obj.__tablename__} rows of a closed session are inalterable")
    new_ids = set()
    for obj in session.new:
        if isinstance(obj, (PosCashMove, PosSale, PosSalePayment)) and obj.session_id is not None:
            known = session.identity_map.get(session.identity_key(PosSession, obj.session_id))
            state = known.__dict__.get("state") if known is not None else None
            if state == SESSION_CLOSED:
                raise Conflict(f"session {known.name} is closed: nothing can be added to it")
            if state is None:
                new_ids.add(obj.session_id)
    if new_ids:
        with session.no_autoflush:
            closed = session.execute(sa.select(PosSession.name).where(
                PosSession.id.in_(new_ids), PosSession.state == SESSION_CLOSED)).scalars().first()
        if closed is not None:
            raise Conflict(f"session {closed} is closed: nothing can be added to it")


_installed = False


def install_listeners() -> None:
    global _installed
    if not _installed:
        event.listen(Session, "before_flush", _refuse_changes_to_closed_and_journal)
        _installed = True


install_listeners()
