"""Point of sale services: the only module other addons import from ``pos``.

Services never commit; the caller (API endpoint, CLI command, admin view) owns the
transaction. Every refusal is a ``core.errors`` exception worded for the cashier and is
raised before anything is written (or the caller's rollback undoes the rest).
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.db import db, persistent_from_row, utcnow
from core.errors import Conflict, InsufficientStock, NotFound, O2OError, PermissionDenied, ValidationError
from core.events import fire
from core.i18n import _
from core.models import Partner, Product, Store
from core.timeutil import format_local, iso, local_date, stamp, store_timezone

from addons.pos import barcodes
from addons.pos.models import (
    ATTENTION_CONVERTED, ATTENTION_OPEN, ATTENTION_RETRIED, ATTENTION_VOIDED, SESSION_CLOSED, SESSION_OPEN,
    PosAttention, PosCashMove, PosJournalEntry, PosPrint, PosRegister, PosRegisterCounter, PosSale,
    PosSalePayment, PosSession, PosSessionCount, PosZReport,
)

ZERO = Decimal("0")
MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger one names nothing (never a database error)
CENT = Decimal("0.01")
GENESIS_HASH = "0" * 64


# --- helpers ------------------------------------------------------------------------------

def _dec(value, what: str) -> Decimal:
    if isinstance(value, float):
        raise ValidationError(_("%(what)s must be a decimal number written as text, not a float.", what=what))
    try:
        result = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise ValidationError(_("%(what)s %(value)r is not a number.", what=what, value=value)) from None
    if not result.is_finite():
        raise ValidationError(_("%(what)s must be a finite number.", what=what))
    return result


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _fmt(value) -> str:
    return str(_money(value))


def canonical_json(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _user_id(user):
    return getattr(user, "id", None) if user is not None else None


def check_store_access(user, store_id: int, register: PosRegister | None = None) -> None:
    """Refuse a user limited to other stores."""
    if user is None or getattr(user, "is_superuser", False):
        return
    allowed = user.store_ids
    if allowed is not None and store_id not in allowed:
        what = str(register) if register is not None else str(store_id)
        raise PermissionDenied(_("Register %(register)s belongs to another store than yours; you cannot "
                                 "use it.", register=what))


def _by_id(model, value):
    """A row by id, None for an id no row can have (not a number, beyond 32 bits)."""
    try:
        value = int(value)
    except (TypeError, ValueError):
        return None
    if not 0 < value <= MAX_ID:
        return None
    return db.session.get(model, value)


def get_register(register_id: int, user=None) -> PosRegister:
    register = _by_id(PosRegister, register_id)
    if register is None:
        raise NotFound(_("There is no register with id %(id)s.", id=register_id))
    check_store_access(user, register.store_id, register)
    return register


def get_session(session_id: int, user=None) -> PosSession:
    pos_session = _by_id(PosSession, session_id)
    if pos_session is None:
        raise NotFound(_("There is no till session with id %(id)s.", id=session_id))
    check_store_access(user, pos_session.store_id, pos_session.register)
    return pos_session


def open_session_of(register_id: int) -> PosSession | None:
    return db.session.scalar(sa.select(PosSession).where(PosSession.open_register_id == register_id))


def _ensure_counter(register_id: int) -> None:
    conn = db.session.connection()
    table = PosRegisterCounter.__table__
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(table).values(register_id=register_id, last_receipt=0, last_session=0, last_z=0,
                                      last_journal_seq=0, grand_total=ZERO)
                 .on_conflict_do_nothing(index_elements=["register_id"]))


@functools.cache
def _bump_statement(names: tuple[str, ...], guarded: bool = False):
    """UPDATE ... RETURNING for these counters, built once per set of counters; ``guarded``:
    only while no Z report was taken since the caller read ``last_z`` (the session is still
    the one the caller saw open)."""
    table = PosRegisterCounter.__table__
    where = [table.c.register_id == sa.bindparam("rid")]
    if guarded:
        where.append(table.c.last_z == sa.bindparam("seen_z"))
    return (sa.update(table).where(*where)
            .values(**{name: table.c[name] + sa.bindparam(f"add_{name}", type_=table.c[name].type)
                       for name in names})
            .returning(table.c.last_receipt, table.c.last_session, table.c.last_z, table.c.last_journal_seq,
                       table.c.last_journal_hash, table.c.grand_total))


def _bump(register_id: int, *, seen_z: int | None = None, **increments) -> sa.Row | None:
    """Increment counters of a register in the caller's transaction (this locks the row until
    commit, which serialises the register's documents) and return the new values.
    ``seen_z``: the register's ``last_z`` when the caller read its open session; None is
    returned when a close took a Z report since (the session the caller saw is closed)."""
    stmt = _bump_statement(tuple(sorted(increments)), seen_z is not None)
    params = {"rid": register_id, **{f"add_{name}": amount for name, amount in increments.items()}}
    if seen_z is not None:
        params["seen_z"] = seen_z
    # on the connection: no autoflush here, the caller's pending rows go in its one flush
    conn = db.session.connection()
    row = conn.execute(stmt, params).one_or_none()
    if row is None:
        if seen_z is not None:
            return None
        _ensure_counter(register_id)
        row = conn.execute(stmt, params).one()
    return row


# --- registers ----------------------------------------------------------------------------

def create_register(store_id: int, code: str, name: str | None = None) -> PosRegister:
    store = db.session.get(Store, store_id)
    if store is None:
        raise NotFound(_("There is no store with id %(id)s.", id=store_id))
    code = (code or "").strip()
    if not code:
        raise ValidationError(_("A register needs a code."))
    if db.session.scalar(sa.select(PosRegister.id).where(PosRegister.store_id == store_id,
                                                         PosRegister.code == code)):
        raise Conflict(_("Store %(store)s already has a register %(code)s.", store=store.code, code=code))
    register = PosRegister(store_id=store_id, code=code, name=name or code, store=store)
    db.session.add(register)
    db.session.flush()
    _ensure_counter(register.id)
    return register


# --- sessions -----------------------------------------------------------------------------

def open_session(register_id: int, opening_float, *, user=None) -> PosSession:
    """Open a session on a register with the counted float. One open session per register."""
    register = get_register(register_id, user)
    if not register.active:
        raise Conflict(_("Register %(register)s is deactivated.", register=str(register)))
    opening_float = _dec(opening_float, _("The opening float"))
    if opening_float < 0:
        raise ValidationError(_("The opening float cannot be negative."))
    existing = open_session_of(register.id)
    if existing is not None:
        raise Conflict(_("Register %(register)s already has an open session (%(session)s); close it first.",
                         register=str(register), session=existing.name))
    counters = _bump(register.id, last_session=1)
    number = counters.last_session
    pos_session = PosSession(register=register, register_id=register.id, store_id=register.store_id,
                             open_register_id=register.id, number=number,
                             name=f"{register.store.code}-{register.code}-S{number:05d}",
                             state=SESSION_OPEN, opened_by_id=_user_id(user), opened_at=utcnow(),
                             opening_float=_money(opening_float), cash_in_out_total=ZERO)
    db.session.add(pos_session)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(_("Register %(register)s already has an open session; close it first.",
                         register=str(register))) from None
    return pos_session


def _require_open(pos_session: PosSession) -> None:
    if pos_session.state != SESSION_OPEN:
        raise Conflict(_("Session %(session)s is closed; it cannot be changed.", session=pos_session.name))


def cash_move(session_id: int, amount, reason: str, *, kind: str = "in", user=None) -> PosCashMove:
    """Put cash into the drawer (kind "in") or take it out ("out"), with a reason."""
    pos_session = get_session(session_id, user)
    _require_open(pos_session)
    amount = _dec(amount, _("The amount"))
    if amount <= 0:
        raise ValidationError(_("The amount of a cash movement must be positive; choose in or out."))
    if kind not in ("in", "out"):
        raise ValidationError(_("A cash movement is 'in' or 'out', not %(kind)r.", kind=kind))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give a reason for the cash movement."))
    signed = _money(amount if kind == "in" else -amount)
    move = PosCashMove(session_id=pos_session.id, amount=signed, reason=reason[:256], user_id=_user_id(user))
    db.session.add(move)
    pos_session.cash_in_out_total = _money(pos_session.cash_in_out_total + signed)
    db.session.flush()
    return move


def expected_by_method(pos_session: PosSession) -> dict[str, Decimal]:
    """What the drawer and each payment method should hold: cash = float + cash in/out +
    cash taken (net of change) - cash refunded; other methods = their payments."""
    rows = db.session.execute(
        sa.select(PosSalePayment.method, sa.func.sum(PosSalePayment.amount))
        .where(PosSalePayment.session_id == pos_session.id).group_by(PosSalePayment.method)).all()
    result = {method: _money(Decimal(str(total or 0))) for method, total in rows}
    cash_code = cash_method_code()
    result[cash_code] = _money(result.get(cash_code, ZERO) + pos_session.opening_float
                               + pos_session.cash_in_out_total)
    return result


def cash_method_code() -> str:
    return current_app.config.get("POS_CASH_METHOD", "cash")


def close_session(session_id: int, counts: dict, *, difference_reason: str | None = None, user=None) -> PosZReport:
    """Close a session: the counted amount of each payment method against the expected one;
    any difference needs a reason. Writes the Z report and the journal entry, fires
    ``o2o_pos_session_closed``. A closed session cannot be closed again or changed."""
    pos_session = get_session(session_id, user)
    if pos_session.state == SESSION_CLOSED:
        raise Conflict(_("Session %(session)s is already closed.", session=pos_session.name))
    waiting = open_attention_count(pos_session.register_id)
    if waiting:
        raise Conflict(_("Register %(register)s has %(n)s refused sale(s) that need attention: the store manager "
                         "retries, converts or voids them before the session can be closed.",
                         register=str(pos_session.register), n=waiting), attention=waiting)
    counts = {str(k): _dec(v, _("The counted amount of %(method)s", method=k)) for k, v in (counts or {}).items()}
    for method, value in counts.items():
        if value < 0:
            raise ValidationError(_("The counted amount of %(method)s cannot be negative.", method=method))
    # lock the register's counters first: a sale racing this close waits, then sees it closed
    counters = _bump(pos_session.register_id, last_z=1)
    db.session.refresh(pos_session)
    if pos_session.state == SESSION_CLOSED:
        raise Conflict(_("Session %(session)s is already closed.", session=pos_session.name))
    expected = expected_by_method(pos_session)
    missing = [m for m, v in expected.items() if v != 0 and m not in counts]
    if missing:
        raise ValidationError(_("Count every payment method before closing; missing: %(methods)s.",
                                methods=", ".join(sorted(missing))))
    cash_code = cash_method_code()
    methods = sorted(set(expected) | set(counts))
    totals, any_difference = {}, False
    for method in methods:
        exp = expected.get(method, ZERO)
        cnt = _money(counts.get(method, ZERO))
        diff = _money(cnt - exp)
        any_difference = any_difference or diff != 0
        totals[method] = {"expected": exp, "counted": cnt, "difference": diff}
    reason = (difference_reason or "").strip() or None
    if any_difference and not reason:
        raise ValidationError(_("The count differs from what is expected; give a reason for the difference."))

    for method, t in totals.items():
        db.session.add(PosSessionCount(session=pos_session, session_id=pos_session.id, method=method, **t))
    cash = totals.get(cash_code, {"expected": ZERO, "counted": ZERO, "difference": ZERO})
    pos_session.cash_expected, pos_session.cash_counted = cash["expected"], cash["counted"]
    pos_session.cash_difference = cash["difference"]
    pos_session.difference_reason = reason[:256] if reason else None
    pos_session.state = SESSION_CLOSED
    pos_session.open_register_id = None
    pos_session.closed_at = utcnow()
    pos_session.closed_by_id = _user_id(user)

    report_data = _z_report_data(pos_session, totals, counters.last_z, counters.grand_total)
    z = PosZReport(register_id=pos_session.register_id, session_id=pos_session.id, number=counters.last_z,
                   sales_count=report_data["sales_count"], sales_total=Decimal(report_data["sales_total"]),
                   refunds_count=report_data["refunds_count"], refunds_total=Decimal(report_data["refunds_total"]),
                   discounts_total=Decimal(report_data["discounts_total"]),
                   tax_total=Decimal(report_data["tax_total"]), cash_difference=cash["difference"],
                   grand_total=counters.grand_total, document=canonical_json(report_data), session=pos_session)
    db.session.add(z)
    db.session.flush()
    append_journal(pos_session.register_id, "close", f"Z{counters.last_z:06d}",
                   Decimal(report_data["net_total"]), report_data)
    fire("o2o_pos_session_closed", pos_session=pos_session)
    return z


def _z_report_data(pos_session: PosSession, totals: dict, z_number: int, grand_total: Decimal) -> dict:
    sales = db.session.execute(
        sa.select(PosSale.kind, sa.func.count(), sa.func.sum(PosSale.total), sa.func.sum(PosSale.tax_total),
                  sa.func.sum(PosSale.discount_total))
        .where(PosSale.session_id == pos_session.id, PosSale.receipt_number.is_not(None))
        .group_by(PosSale.kind)).all()
    by_kind = {k: (n, Decimal(str(t or 0)), Decimal(str(tx or 0)), Decimal(str(d or 0))) for k, n, t, tx, d in sales}
    s_n, s_total, s_tax, s_disc = by_kind.get("sale", (0, ZERO, ZERO, ZERO))
    r_n, r_total, r_tax, r_disc = by_kind.get("refund", (0, ZERO, ZERO, ZERO))
    taxes: dict[str, dict] = {}
    for sale in db.session.scalars(sa.select(PosSale).where(PosSale.session_id == pos_session.id,
                                                            PosSale.receipt_number.is_not(None))):
        for line in sale.data.get("lines", ()):
            key = str(line.get("tax_rate", "0"))
            t = taxes.setdefault(key, {"rate": key, "net": ZERO, "tax": ZERO, "total": ZERO})
            t["net"] += Decimal(line["net_amount"])
            t["tax"] += Decimal(line["tax_amount"])
            t["total"] += Decimal(line["total"])
    cash_code = cash_method_code()
    cash = totals.get(cash_code, {"expected": ZERO, "counted": ZERO, "difference": ZERO})
    store = pos_session.register.store
    return {
        "z_number": z_number,
        "register": str(pos_session.register), "register_id": pos_session.register_id,
        "store_id": pos_session.store_id, "session": pos_session.name, "session_id": pos_session.id,
        "opened_at": iso(pos_session.opened_at), "closed_at": iso(pos_session.closed_at),
        # the Z is of the local day it was closed on, times as the store's clock shows them
        "date": local_date(pos_session.closed_at, store).isoformat(), "timezone": store_timezone(store),
        "opened_local": format_local(pos_session.opened_at, store),
        "closed_local": format_local(pos_session.closed_at, store),
        "opening_float": _fmt(pos_session.opening_float), "cash_in_out_total": _fmt(pos_session.cash_in_out_total),
        "sales_count": s_n, "sales_total": _fmt(s_total), "refunds_count": r_n, "refunds_total": _fmt(r_total),
        "net_total": _fmt(s_total + r_total), "tax_total": _fmt(s_tax + r_tax),
        "discounts_total": _fmt(s_disc + r_disc),
        "taxes": [{"rate": t["rate"], "net": _fmt(t["net"]), "tax": _fmt(t["tax"]), "total": _fmt(t["total"])}
                  for _k, t in sorted(taxes.items(), key=lambda kv: Decimal(kv[0]))],
        "methods": {m: {k: _fmt(v) for k, v in t.items()} for m, t in totals.items()},
        "cash_expected": _fmt(cash["expected"]), "cash_counted": _fmt(cash["counted"]),
        "cash_difference": _fmt(cash["difference"]), "difference_reason": pos_session.difference_reason,
        "grand_total": _fmt(grand_total),
    }


# --- the journal --------------------------------------------------------------------------

# statements of every sale, built once
_JOURNAL_INSERT = sa.insert(PosJournalEntry.__table__)
_JOURNAL_HEAD = (sa.update(PosRegisterCounter.__table__)
                 .where(PosRegisterCounter.__table__.c.register_id == sa.bindparam("rid")))
_SALE_DONE = sa.update(PosSale.__table__).where(PosSale.__table__.c.id == sa.bindparam("sale_id"))
_SALE_PAYMENT = sa.insert(PosSalePayment.__table__)


def entry_hash(prev_hash: str, register_id: int, seq: int, kind: str, document_ref: str, amount: Decimal,
               recorded_at: str, payload: str) -> str:
    text = "|".join([prev_hash, str(register_id), str(seq), kind, document_ref, _fmt(amount), recorded_at, payload])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _journal_row(register_id: int, kind: str, document_ref: str, amount: Decimal, payload: dict,
                 counters: sa.Row) -> dict:
    """The next entry of the register's chain (``counters`` from the ``_bump`` that took its
    ``last_journal_seq``), hashed over the previous entry's hash."""
    seq, prev = counters.last_journal_seq, counters.last_journal_hash or GENESIS_HASH
    recorded_at = utcnow().isoformat()
    body = canonical_json(payload)
    digest = entry_hash(prev, register_id, seq, kind, document_ref, amount, recorded_at, body)
    return dict(register_id=register_id, seq=seq, kind=kind, document_ref=document_ref, amount=_money(amount),
                recorded_at=recorded_at, payload=body, prev_hash=prev, hash=digest)


def append_journal(register_id: int, kind: str, document_ref: str, amount: Decimal, payload: dict,
                   counters: sa.Row | None = None) -> str:
    """Append an entry to the register's chain; returns its hash. ``counters`` (from a
    ``_bump`` that already took ``last_journal_seq``) saves a statement when the caller
    bumped it."""
    if counters is None:
        counters = _bump(register_id, last_journal_seq=1)
    entry = _journal_row(register_id, kind, document_ref, amount, payload, counters)
    # append-only: inserted straight, never loaded back into the session
    conn = db.session.connection()
    conn.execute(_JOURNAL_INSERT, entry)
    conn.execute(_JOURNAL_HEAD, {"rid": register_id, "last_journal_hash": entry["hash"]})
    return entry["hash"]


_SALE_FIELDS = ("receipt_number", "order_id", "total", "tax_total", "discount_total", "change_given", "document")
_PAYMENT_FIELDS = ("sale_id", "session_id", "method", "is_cash", "amount")
_JOURNAL_FIELDS = ("register_id", "seq", "kind", "document_ref", "amount", "recorded_at", "payload", "prev_hash",
                   "hash")


_SALE_WRITES_PG: dict[tuple[int, str], str] = {}


def _sale_writes_pg(payments: int, dialect) -> str:
    """PostgreSQL: the sale's row, its payments, its journal entry and the chain's head in
    ONE statement (data-modifying CTEs): four writes to four tables that do not read each
    other, one round trip instead of four. Compiled once per number of payments (SQLAlchemy
    does not cache statements carrying DML CTEs; compiling it per sale cost more than the
    round trips it saves). The values are bound as they are: already quantized."""
    key = (payments, dialect.driver)
    if key in _SALE_WRITES_PG:
        return _SALE_WRITES_PG[key]
    sale_t, pay_t, journal_t = PosSale.__table__, PosSalePayment.__table__, PosJournalEntry.__table__
    head_t = PosRegisterCounter.__table__

    def bound(prefix, table, names):
        return {n: sa.bindparam(f"{prefix}{n}", type_=table.c[n].type) for n in names}
    done = (sa.update(sale_t).where(sale_t.c.id == sa.bindparam("done_sale_id"))
            .values(bound("s_", sale_t, _SALE_FIELDS)).returning(sale_t.c.id).cte("sale_done"))
    paid = (sa.insert(pay_t).values([bound(f"p{i}_", pay_t, _PAYMENT_FIELDS) for i in range(payments)])
            .returning(pay_t.c.id).cte("sale_paid"))
    entry = (sa.insert(journal_t).values(bound("j_", journal_t, _JOURNAL_FIELDS))
             .returning(journal_t.c.id).cte("journal_entry"))
    stmt = (sa.update(head_t).where(head_t.c.register_id == sa.bindparam("head_register_id"))
            .values(last_journal_hash=sa.bindparam("head_hash", type_=head_t.c.last_journal_hash.type))
            .add_cte(done, paid, entry))
    return _SALE_WRITES_PG.setdefault(key, str(stmt.compile(dialect=dialect)))


def _write_sale(sale_id: int, fields: dict, payments: list[dict], entry: dict) -> None:
    """Write a recorded sale: its row, payments and journal entry, and move the chain's head."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql" and payments:
        params = {"done_sale_id": sale_id, "head_register_id": entry["register_id"], "head_hash": entry["hash"]}
        params.update({f"s_{k}": fields[k] for k in _SALE_FIELDS})
        for i, payment in enumerate(payments):
            params.update({f"p{i}_{k}": payment[k] for k in _PAYMENT_FIELDS})
        params.update({f"j_{k}": entry[k] for k in _JOURNAL_FIELDS})
        conn.exec_driver_sql(_sale_writes_pg(len(payments), conn.dialect), params)
        return
    conn.execute(_SALE_DONE, {"sale_id": sale_id, **fields})
    if payments:
        conn.execute(_SALE_PAYMENT, payments)
    conn.execute(_JOURNAL_INSERT, entry)
    conn.execute(_JOURNAL_HEAD, {"rid": entry["register_id"], "last_journal_hash": entry["hash"]})


def verify_journal(register_id: int | None = None) -> dict:
    """Recompute every chain. Returns ``{"ok": bool, "entries": n, "registers": n,
    "broken": None | {"register_id", "seq", "id", "reason"}}`` naming the first broken entry."""
    registers = db.session.scalars(sa.select(PosRegister.id).order_by(PosRegister.id)
                                   if register_id is None else
                                   sa.select(PosRegister.id).where(PosRegister.id == register_id)).all()
    checked = 0
    for reg_id in registers:
        prev, expected_seq = GENESIS_HASH, 1
        rows = db.session.execute(
            sa.select(PosJournalEntry.id, PosJournalEntry.seq, PosJournalEntry.kind, PosJournalEntry.document_ref,
                      PosJournalEntry.amount, PosJournalEntry.recorded_at, PosJournalEntry.payload,
                      PosJournalEntry.prev_hash, PosJournalEntry.hash)
            .where(PosJournalEntry.register_id == reg_id).order_by(PosJournalEntry.seq)
            .execution_options(yield_per=1000))
        for row in rows:
            checked += 1
            reason = None
            if row.seq != expected_seq:
                reason = f"entry {expected_seq} is missing (found {row.seq} next)"
            elif row.prev_hash != prev:
                reason = "its previous-hash does not match the entry before it"
            elif entry_hash(row.prev_hash, reg_id, row.seq, row.kind, row.document_ref, row.amount,
                            row.recorded_at, row.payload) != row.hash:
                reason = "its content does not match its hash (altered)"
            if reason:
                return {"ok": False, "entries": checked, "registers": len(registers),
                        "broken": {"register_id": reg_id, "seq": row.seq, "id": row.id,
                                   "document_ref": row.document_ref, "reason": reason}}
            prev, expected_seq = row.hash, expected_seq + 1
        counter = db.session.get(PosRegisterCounter, reg_id)
        if counter is not None and counter.last_journal_seq != expected_seq - 1:
            return {"ok": False, "entries": checked, "registers": len(registers),
                    "broken": {"register_id": reg_id, "seq": expected_seq, "id": None, "document_ref": None,
                               "reason": f"entries after {expected_seq - 1} are missing "
                                         f"(the register counted {counter.last_journal_seq})"}}
        if counter is not None and counter.last_journal_seq and counter.last_journal_hash != prev:
            return {"ok": False, "entries": checked, "registers": len(registers),
                    "broken": {"register_id": reg_id, "seq": expected_seq - 1, "id": None, "document_ref": None,
                               "reason": "the last entry does not match the register's recorded hash"}}
    return {"ok": True, "entries": checked, "registers": len(registers), "broken": None}


# --- scanning -----------------------------------------------------------------------------

def _scale_layouts():
    return current_app.config.get("POS_SCALE_BARCODE_LAYOUTS", barcodes.DEFAULT_LAYOUTS)


class _Prefetched:
    """Products of a whole sale fetched in one query (by barcode and by SKU)."""

    def __init__(self, codes):
        codes = sorted({c.strip() for c in codes if c and c.strip()})
        self.codes = set(codes)
        self.by_barcode, self.by_sku = {}, {}
        if codes:
            # unit and tax are used for the sale; the category is not (one join and row less)
            for p in db.session.scalars(sa.select(Product).options(sa.orm.lazyload(Product.category))
                                        .where(sa.or_(Product.barcode.in_(codes), Product.sku.in_(codes)))):
                if p.barcode:
                    self.by_barcode[p.barcode] = p
                self.by_sku[p.sku] = p

    def barcode(self, code):
        if code in self.codes:
            return self.by_barcode.get(code)
        return db.session.scalar(sa.select(Product).where(Product.barcode == code))

    def sku(self, code):
        if code in self.codes:
            return self.by_sku.get(code)
        return db.session.scalar(sa.select(Product).where(Product.sku == code))


def resolve_code(code: str | None = None, *, sku: str | None = None, barcode: str | None = None,
                 known: _Prefetched | None = None, archived_ok: bool = False) -> dict:
    """The product behind a scanned code (barcode, scale label or SKU).

    Returns ``{"product": Product, "quantity": Decimal | None, "unit_price": Decimal | None,
    "code": str}``; quantity/unit_price are set for scale labels. Unknown codes are refused.
    """
    known = known or _Prefetched(())
    if sku:
        product = known.sku(sku.strip())
        if product is None or not (product.active or archived_ok):
            raise NotFound(_("No product has the SKU %(sku)s.", sku=sku))
        return {"product": product, "quantity": None, "unit_price": None, "code": sku}
    text = (barcode or code or "").strip()
    if not text:
        raise ValidationError(_("Scan a barcode or type a SKU."))
    if text.isdigit() and len(text) in (8, 12, 13):
        problem = barcodes.code_problem(text)
        if problem:
            raise ValidationError(_("The barcode %(code)s is not valid: %(problem)s.", code=text, problem=problem))
        product = known.barcode(text)
        if product is not None and (product.active or archived_ok):
            return {"product": product, "quantity": None, "unit_price": None, "code": text}
        label = barcodes.parse_scale_label(text, _scale_layouts())
        if label is not None:
            product = db.session.scalar(sa.select(Product).where(Product.barcode == label.template)) \
                or db.session.scalar(sa.select(Product).where(Product.sku == label.item))
            if product is None or not (product.active or archived_ok):
                raise NotFound(_("No product for the scale label %(code)s (item %(item)s).",
                                 code=text, item=label.item))
            if label.kind == "weight":
                if label.value <= 0:
                    raise ValidationError(_("The scale label %(code)s has no weight.", code=text))
                return {"product": product, "quantity": label.value.quantize(Decimal("0.001")),
                        "unit_price": None, "code": text}
            price = label.value
            if price <= 0 or product.list_price <= 0:
                raise ValidationError(_("The scale label %(code)s has no price.", code=text))
            quantity = (price / product.list_price).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
            if quantity <= 0:
                quantity = Decimal("0.001")
            unit_price = (price / quantity).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
            return {"product": product, "quantity": quantity, "unit_price": unit_price, "code": text,
                    "label_price": price}
        if barcode or text.isdigit():
            raise NotFound(_("No product has the barcode %(code)s.", code=text))
    if barcode:
        raise ValidationError(_("The barcode %(code)s is not an EAN-13, UPC-A or EAN-8 number.", code=text))
    product = known.sku(text)
    if product is None or not (product.active or archived_ok):
        raise NotFound(_("No product has the barcode or SKU %(code)s.", code=text))
    return {"product": product, "quantity": None, "unit_price": None, "code": text}


# --- sales --------------------------------------------------------------------------------

def request_fingerprint(register_id: int, lines, payments, customer_id) -> str:
    return hashlib.sha256(canonical_json({"register": register_id, "lines": lines, "payments": payments,
                                          "customer": customer_id}).encode()).hexdigest()


def find_sale(register_id: int, idempotency_key: str) -> PosSale | None:
    return db.session.scalar(sa.select(PosSale).where(PosSale.register_id == register_id,
                                                      PosSale.idempotency_key == idempotency_key))


def _replay(existing: PosSale, fingerprint: str) -> tuple[dict, bool]:
    if existing.request_hash != fingerprint:
        raise Conflict(_("The idempotency key %(key)s was already used for a different sale; the till must "
                         "choose a new key for a new sale.", key=existing.idempotency_key))
    if existing.document is None:  # the first request is still running (or failed)
        raise Conflict(_("This sale is still being recorded; retry in a moment."), retry_later=True)
    return json.loads(existing.document), False


@functools.cache
def _claim_statement(dialect: str):
    table = PosSale.__table__
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    return (insert(table).on_conflict_do_nothing(index_elements=["register_id", "idempotency_key"])
            .returning(table.c.id))


def _claim_key(register, pos_session, key: str, fingerprint: str, *, kind: str, customer_id=None, user=None,
               refund_of_id=None) -> PosSale | None:
    """Insert the document's row for (register, idempotency key), or None when the key is
    taken. One INSERT ... ON CONFLICT DO NOTHING: no savepoint, no read back."""
    table = PosSale.__table__
    values = {"register_id": register.id, "session_id": pos_session.id, "store_id": register.store_id,
              "idempotency_key": key, "request_hash": fingerprint, "kind": kind, "customer_id": customer_id,
              "cashier_id": _user_id(user), "refund_of_id": refund_of_id, "created_at": utcnow(),
              "receipt_number": None, "order_id": None, "total": ZERO, "tax_total": ZERO,
              "discount_total": ZERO, "change_given": ZERO, "document": None}
    conn = db.session.connection()
    sale_id = conn.execute(_claim_statement(conn.dialect.name), values).scalar()
    if sale_id is None:
        return None
    return persistent_from_row(db.session, PosSale, {**values, "id": sale_id})


def _check_key(key) -> str:
    key = (key or "").strip()
    if not key:
        raise ValidationError(_("Every till sale needs an idempotency key (header 'Idempotency-Key' or "
                                "field 'idempotency_key')."))
    if len(key) > 64:
        raise ValidationError(_("The idempotency key is longer than 64 characters."))
    return key


def sell(register_id: int, *, idempotency_key: str, lines: list[dict], payments: list[dict],
         customer_id: int | None = None, user=None, stock_check: str = "till",
         archived_ok: bool = False) -> tuple[dict, bool]:
    """Record a till sale: lines by barcode, SKU or product id, split payments, change.

    Returns ``(document, created)``: a retried request with the same idempotency key returns
    the first document and ``created=False``, and never records the sale twice (the unique
    constraint on (register, key) decides, also when two requests race).

    Short book stock: the goods are in the shopper's hand, so the sale is recorded (the shop
    goes negative, a negative-stock exception is raised) unless the store chose to refuse
    (``warehouse.till_short_stock``): then InsufficientStock names the line.
    ``stock_check="till_record"`` and ``archived_ok`` are for converting a refused sale.
    """
    from addons.sales import services as sales

    key = _check_key(idempotency_key)
    if not isinstance(register_id, int) or not 0 < register_id <= MAX_ID:
        raise NotFound(_("There is no register with id %(id)s.", id=register_id))
    if customer_id is not None and (not isinstance(customer_id, int) or not 0 < customer_id <= MAX_ID):
        raise NotFound(_("There is no customer with id %(id)s.", id=customer_id))
    row = db.session.execute(
        sa.select(PosRegister, PosSession, PosRegisterCounter.last_z)
        .options(sa.orm.lazyload(PosSession.register))  # the register is the row beside it
        .outerjoin(PosSession, PosSession.open_register_id == PosRegister.id)
        .outerjoin(PosRegisterCounter, PosRegisterCounter.register_id == PosRegister.id)
        .where(PosRegister.id == register_id)).first()
    if row is None:
        raise NotFound(_("There is no register with id %(id)s.", id=register_id))
    register, pos_session, seen_z = row
    check_store_access(user, register.store_id, register)
    raw_lines = [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in (line or {}).items()} for line in lines or ()]
    raw_payments = [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in (p or {}).items()} for p in payments or ()]
    fingerprint = request_fingerprint(register.id, raw_lines, raw_payments, customer_id)

    if pos_session is None:
        existing = find_sale(register.id, key)  # the retry of a sale made before the close
        if existing is not None:
            return _replay(existing, fingerprint)
        raise Conflict(_("Register %(register)s has no open session: open one with the counted float "
                         "before selling.", register=str(register)))

    # Claim the key first. The unique constraint on (register, key) decides: a retry, even
    # one racing the first request, claims nothing here (on PostgreSQL it waits for the first
    # request's commit) and answers the first result. Anything refused below rolls the claim
    # back with the rest (the caller owns the transaction).
    sale = _claim_key(register, pos_session, key, fingerprint, kind="sale", customer_id=customer_id, user=user)
    if sale is None:
        existing = find_sale(register.id, key)
        if existing is None:
            raise Conflict(_("This sale is still being recorded; retry in a moment."), retry_later=True)
        return _replay(existing, fingerprint)

    if not raw_lines:
        raise ValidationError(_("A sale needs at least one line."))
    if not raw_payments:
        raise ValidationError(_("A sale needs at least one payment."))
    if customer_id is not None and _by_id(Partner, customer_id) is None:
        raise NotFound(_("There is no customer with id %(id)s.", id=customer_id))

    order_lines, products = _sale_lines(raw_lines, archived_ok=archived_ok)
    sale_payments = []
    for p in raw_payments:
        method = (p.get("method") or "").strip()
        if not method:
            raise ValidationError(_("Every payment needs a method (cash, card, ...)."))
        amount = _dec(p.get("amount"), _("The amount paid by %(method)s", method=method))
        if amount <= 0:
            raise ValidationError(_("The amount paid by %(method)s must be more than zero.", method=method))
        sale_payments.append({"method": method, "amount": amount, "reference": p.get("reference")})

    order = sales.create_order(channel="pos", store_id=register.store_id, lines=order_lines,
                               customer_id=customer_id, fulfilment="carry_out",
                               external_ref=f"pos:{register.id}:{key}"[:128], flush=False,
                               allow_inactive=archived_ok)
    # written once, paid and handed over, by the flush below
    try:
        order = sales.pay_order(order, sale_payments, flush=False, stock_check=stock_check)
    except InsufficientStock as short:  # the store refuses short sales: say which line
        raise _line_short(short, order_lines, products) from None
    return _record_sale(sale, register, pos_session, seen_z, order, products)


def _sale_lines(raw_lines: list[dict], *, archived_ok: bool = False) -> tuple[list[dict], dict]:
    """The order lines of a till request (codes resolved in one query) and the products by id."""
    order_lines, products = [], {}
    known = _Prefetched([line.get(k) for line in raw_lines for k in ("code", "sku", "barcode")
                         if isinstance(line.get(k), str)])
    for index, line in enumerate(raw_lines, start=1):
        if line.get("product_id") is not None:
            product = _by_id(Product, line["product_id"])
            if product is None or not (product.active or archived_ok):
                raise NotFound(_("Line %(n)s: there is no product with id %(id)s.", n=index, id=line["product_id"]))
            found = {"product": product, "quantity": None, "unit_price": None}
        else:
            found = resolve_code(line.get("code"), sku=line.get("sku"), barcode=line.get("barcode"), known=known,
                                 archived_ok=archived_ok)
        product = found["product"]
        products[product.id] = product
        if line.get("quantity") is not None:
            quantity = _dec(line["quantity"], _("The quantity"))
            if found["quantity"] is not None:  # a weighed article scanned several times
                quantity = quantity * found["quantity"]
        else:
            quantity = found["quantity"] if found["quantity"] is not None else Decimal(1)
        if quantity <= 0:
            raise ValidationError(_("Line %(n)s (%(product)s): the quantity must be more than zero.",
                                    n=index, product=product.name))
        if quantity != quantity.quantize(Decimal("0.001")):
            raise ValidationError(_("Line %(n)s (%(product)s): at most 3 decimals in a quantity.",
                                    n=index, product=product.name))
        discount = _dec(line.get("discount") or 0, _("The discount"))
        if discount < 0 or discount > 100:
            raise ValidationError(_("Line %(n)s (%(product)s): a discount is a percentage from 0 to 100.",
                                    n=index, product=product.name))
        order_lines.append({"product_id": product.id, "quantity": quantity, "unit_price": found["unit_price"],
                            "discount": discount, "line": index})
    return order_lines, products


def _line_short(short: InsufficientStock, order_lines: list[dict], products: dict) -> InsufficientStock:
    """The warehouse's refusal, worded for the cashier with the line it is about."""
    pid = short.extra.get("product_id")
    index = next((l["line"] for l in order_lines if l["product_id"] == pid), None)
    product = products.get(pid)
    return InsufficientStock(
        _("Line %(n)s (%(product)s): only %(available)s in stock, %(wanted)s sold; this store refuses till sales "
          "short of stock.", n=index, product=product.name if product else pid,
          available=short.extra.get("available"), wanted=short.extra.get("requested")),
        line=index, **short.extra)


def check_sale(register_id: int, lines: list[dict], *, user=None) -> dict:
    """Before the till takes the money: would the store refuse this sale for its stock?
    Returns ``{"ok": True, "policy", "short": [...]}`` (short lines are recorded with a
    negative-stock exception where the store records them); raises InsufficientStock
    naming the first short line where the store refuses."""
    from addons.warehouse import services as wh
    register = get_register(register_id, user)
    raw_lines = [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in (line or {}).items()} for line in lines or ()]
    if not raw_lines:
        raise ValidationError(_("A sale needs at least one line."))
    order_lines, products = _sale_lines(raw_lines)
    warehouse = wh.warehouse_for_store(register.store_id)
    policy = wh.till_short_stock(warehouse.id)
    shortages = wh.till_shortages(wh.stock_location(warehouse.id).id, order_lines)
    short = []
    for s in shortages:
        index = next(l["line"] for l in order_lines if l["product_id"] == s["product_id"])
        short.append({"line": index, "product_id": s["product_id"], "name": products[s["product_id"]].name,
                      "available": str(s["available"]), "wanted": str(s["wanted"])})
    if short and policy == "refuse":
        first = short[0]
        raise InsufficientStock(
            _("Line %(n)s (%(product)s): only %(available)s in stock, %(wanted)s wanted; this store refuses till "
              "sales short of stock.", n=first["line"], product=first["name"], available=first["available"],
              wanted=first["wanted"]), line=first["line"], product_id=first["product_id"], lines=short)
    return {"ok": True, "policy": policy, "short": short}


def _record_sale(sale, register, pos_session, seen_z, order, products) -> tuple[dict, bool]:
    # Lock the register: numbers in order, no gaps. A close racing this sale is seen now:
    # closing takes a Z number on the same row, so the guarded UPDATE (re-checked on the row
    # as the close left it, PostgreSQL) finds nothing when the session we saw open closed.
    counters = _bump(register.id, seen_z=seen_z, last_receipt=1, last_journal_seq=1, grand_total=order.total)
    if seen_z is None:  # no counter row was read (never happens once a session opened): look
        closed = db.session.connection().execute(
            sa.select(PosSession.state).where(PosSession.id == pos_session.id)).scalar() != SESSION_OPEN
    else:
        closed = counters is None
    if closed:
        raise Conflict(_("Session %(session)s was closed; open a new session.", session=pos_session.name))
    # The sale's row, its payments and its journal entry are written once each, straight
    # (Core statements); the instance is kept in step without a unit-of-work round.
    fields = {"receipt_number": counters.last_receipt, "order_id": order.id, "total": _money(order.total),
              "tax_total": _money(order.tax_total),
              "discount_total": _money(getattr(order, "discount_total", ZERO) or ZERO),
              "change_given": _money(order.change_given or ZERO)}
    for name, value in fields.items():
        set_committed_value(sale, name, value)
    document = sale_document(sale, register, order, products)
    fields["document"] = canonical_json(document)
    set_committed_value(sale, "document", fields["document"])
    db.session.flush()  # the order, its lines and payments (the sale's row refers to the order)
    _write_sale(sale.id, fields,
                [{"sale_id": sale.id, "session_id": pos_session.id, "method": p.method, "is_cash": bool(p.is_cash),
                  "amount": _money(p.amount)} for p in order.payments],
                _journal_row(register.id, "sale", document["receipt"], fields["total"], document, counters))
    return document, True


def sale_document(sale: PosSale, register: PosRegister, order, products: dict | None = None) -> dict:
    store = register.store
    lines = []
    for line in order.lines:
        product = (products or {}).get(line.product_id) or line.product
        lines.append({"product_id": line.product_id, "sku": product.sku if product else None,
                      "name": getattr(line, "description", None) or (product.name if product else ""),
                      "quantity": str(line.quantity), "unit_price": str(line.unit_price),
                      "discount": str(line.discount or 0), "discount_amount": _fmt(getattr(line, "discount_amount", 0) or 0),
                      "net_amount": _fmt(line.net_amount), "tax_amount": _fmt(line.tax_amount),
                      "tax_rate": str(line.tax_rate or 0), "total": _fmt(line.total)})
    payments = [{"method": p.method, "amount": _fmt(p.amount), "tendered": _fmt(getattr(p, "tendered", p.amount)),
                 "change": _fmt(getattr(p, "change", 0) or 0), "reference": p.reference, "is_cash": bool(p.is_cash)}
                for p in order.payments]
    label = f"{store.code}-{register.code}-{sale.receipt_number:06d}"
    return {
        "id": sale.id, "kind": sale.kind, "receipt": label, "receipt_number": sale.receipt_number,
        "register_id": register.id, "register": str(register), "store_id": store.id, "store": store.name,
        "store_address": " ".join(x for x in (store.street, store.postcode, store.city) if x),
        "session_id": sale.session_id, "order_id": order.id, "order_number": order.number,
        "customer_id": sale.customer_id, "idempotency_key": sale.idempotency_key,
        "created_at": iso(sale.created_at), **stamp(sale.created_at, store), "lines": lines,
        "total": _fmt(order.total), "tax_total": _fmt(order.tax_total), "net_total": _fmt(order.net_total),
        "discount_total": _fmt(getattr(order, "discount_total", 0) or 0),
        "cash_rounding": _fmt(order.cash_rounding or 0), "change_given": _fmt(order.change_given or 0),
        "payments": payments,
        "refund_of": None,
    }


def refund(sale_id: int, *, idempotency_key: str, reason: str, lines: list[dict] | None = None,
           method: str | None = None, restock: bool = True, user=None) -> tuple[dict, bool]:
    """A correction: a new negative document for a sale (all of it, or ``lines`` as
    ``[{"product_id", "quantity"}]``), paid back by ``method`` (default: the sale's first
    method) in the register's open session. The original sale is never changed.
    ``restock``: the returned goods go back into the store's stock, at the cost they left it
    (False: damaged or not resellable, they stay out of stock)."""
    key = _check_key(idempotency_key)
    original = _by_id(PosSale, sale_id)
    if original is None or original.kind != "sale" or original.receipt_number is None:
        raise NotFound(_("There is no till sale with id %(id)s.", id=sale_id))
    register = get_register(original.register_id, user)
    fingerprint = hashlib.sha256(canonical_json({"refund_of": sale_id, "lines": lines, "method": method,
                                                 "reason": reason}).encode()).hexdigest()
    existing = find_sale(register.id, key)
    if existing is not None:
        return _replay(existing, fingerprint)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give a reason for the refund."))
    pos_session = open_session_of(register.id)
    if pos_session is None:
        raise Conflict(_("Register %(register)s has no open session: open one before refunding.",
                         register=str(register)))
    doc = original.data
    sold = {}
    for line in doc["lines"]:
        entry = sold.setdefault(line["product_id"], {"quantity": ZERO, "total": ZERO, "tax": ZERO, "net": ZERO,
                                                     "line": line})
        entry["quantity"] += Decimal(line["quantity"])
        entry["total"] += Decimal(line["total"])
        entry["tax"] += Decimal(line["tax_amount"])
        entry["net"] += Decimal(line["net_amount"])
    already = db.session.scalars(sa.select(PosSale).where(PosSale.refund_of_id == original.id)).all()
    refunded: dict[int, Decimal] = {}
    for r in already:
        for line in r.data.get("lines", ()):
            refunded[line["product_id"]] = refunded.get(line["product_id"], ZERO) - Decimal(line["quantity"])
    wanted = lines or [{"product_id": pid, "quantity": str(v["quantity"] - refunded.get(pid, ZERO))}
                       for pid, v in sold.items() if v["quantity"] - refunded.get(pid, ZERO) > 0]
    if not wanted:
        raise Conflict(_("Receipt %(receipt)s has already been refunded in full.", receipt=doc["receipt"]))
    out_lines, total, tax, net = [], ZERO, ZERO, ZERO
    for w in wanted:
        pid = int(w["product_id"])
        qty = _dec(w.get("quantity", 0), _("The quantity"))
        if pid not in sold:
            raise ValidationError(_("Product %(id)s is not on receipt %(receipt)s.", id=pid, receipt=doc["receipt"]))
        if qty <= 0:
            raise ValidationError(_("The quantity to refund must be more than zero."))
        left = sold[pid]["quantity"] - refunded.get(pid, ZERO)
        if qty > left:
            raise ValidationError(_("Only %(left)s of %(name)s can still be refunded on receipt %(receipt)s.",
                                    left=left, name=sold[pid]["line"]["name"], receipt=doc["receipt"]))
        share = qty / sold[pid]["quantity"]
        l_total, l_tax = _money(-sold[pid]["total"] * share), _money(-sold[pid]["tax"] * share)
        src = sold[pid]["line"]
        out_lines.append({**src, "quantity": str(-qty), "total": _fmt(l_total), "tax_amount": _fmt(l_tax),
                          "net_amount": _fmt(l_total - l_tax), "discount_amount": "0.00"})
        total, tax, net = total + l_total, tax + l_tax, net + l_total - l_tax
    method = method or (doc["payments"][0]["method"] if doc["payments"] else cash_method_code())
    from addons.sales import services as sales
    methods = {m.code: m for m in sales.payment_methods()}
    if method not in methods:
        raise ValidationError(_("Unknown payment method %(code)r; the methods are: %(known)s.",
                                code=method, known=", ".join(sorted(methods))))
    is_cash = bool(methods[method].is_cash)

    sale = _claim_key(register, pos_session, key, fingerprint, kind="refund", customer_id=original.customer_id,
                      user=user, refund_of_id=original.id)
    if sale is None:  # the same refund, sent again while the first was being recorded
        existing = find_sale(register.id, key)
        if existing is None:
            raise Conflict(_("This sale is still being recorded; retry in a moment."), retry_later=True)
        return _replay(existing, fingerprint)
    counters = _bump(register.id, last_receipt=1, last_journal_seq=1, grand_total=total)
    sale.receipt_number = counters.last_receipt
    sale.total, sale.tax_total, sale.discount_total = _money(total), _money(tax), ZERO
    db.session.add(PosSalePayment(sale=sale, session_id=pos_session.id, method=method, is_cash=is_cash,
                                  amount=_money(total)))
    store = register.store
    document = {
        "id": sale.id, "kind": "refund", "receipt": f"{store.code}-{register.code}-{sale.receipt_number:06d}",
        "receipt_number": sale.receipt_number, "register_id": register.id, "register": str(register),
        "store_id": store.id, "store": store.name,
        "store_address": " ".join(x for x in (store.street, store.postcode, store.city) if x),
        "session_id": pos_session.id, "order_id": original.order_id, "order_number": doc.get("order_number"),
        "customer_id": original.customer_id, "idempotency_key": key, "created_at": iso(sale.created_at),
        **stamp(sale.created_at, store),
        "lines": out_lines, "total": _fmt(total), "tax_total": _fmt(tax), "net_total": _fmt(net),
        "discount_total": "0.00", "cash_rounding": "0.00", "change_given": "0.00",
        "payments": [{"method": method, "amount": _fmt(total), "tendered": _fmt(total), "change": "0.00",
                      "reference": None, "is_cash": is_cash}],
        "refund_of": doc["receipt"], "reason": reason,
    }
    sale.document = canonical_json(document)
    if restock:
        _restock(original, register, out_lines, document["receipt"])
    append_journal(register.id, "refund", document["receipt"], sale.total, document, counters=counters)
    db.session.flush()
    fire("o2o_pos_refund_recorded", refund=sale)
    return document, True


def _restock(original: PosSale, register: PosRegister, refund_lines: list[dict], receipt: str) -> None:
    """Returned goods back into the register's store stock, each at the unit cost it was
    issued at (the average cost when the issue cannot be found)."""
    from addons.sales import services as sales
    from addons.warehouse import services as wh
    issued_cost = {}
    if original.order_id is not None:
        for move in sales.stock_moves(sales.get_order(original.order_id)):
            issued_cost.setdefault(move.product_id, move.unit_cost)
    location_id = wh.stock_location(wh.warehouse_for_store(register.store_id).id).id
    customer_id = wh.virtual_location("customer").id
    wh.post_moves([{"product_id": int(line["product_id"]), "from_location_id": customer_id,
                    "to_location_id": location_id, "quantity": -Decimal(line["quantity"]),
                    "unit_cost": issued_cost.get(int(line["product_id"])) or "average", "source": receipt}
                   for line in refund_lines])


# --- printing -----------------------------------------------------------------------------

def record_print(doc_type: str, doc_id: int, register_id: int, document_ref: str, *, user=None) -> bool:
    """Record a print; returns True when it is a DUPLICATE (journalled as such)."""
    before = db.session.scalar(sa.select(sa.func.count()).select_from(PosPrint)
                               .where(PosPrint.doc_type == doc_type, PosPrint.doc_id == doc_id))
    db.session.add(PosPrint(doc_type=doc_type, doc_id=doc_id, user_id=_user_id(user)))
    duplicate = bool(before)
    if duplicate:
        append_journal(register_id, "duplicate", document_ref, ZERO,
                       {"doc_type": doc_type, "doc_id": doc_id, "copy": before + 1})
    db.session.flush()
    return duplicate


def printed_before(doc_type: str, doc_id: int) -> bool:
    """Whether a document was printed already: a copy read now is a DUPLICATE."""
    return db.session.scalar(sa.select(PosPrint.id).where(PosPrint.doc_type == doc_type,
                                                          PosPrint.doc_id == doc_id).limit(1)) is not None


def get_sale(sale_id: int, user=None) -> PosSale:
    sale = _by_id(PosSale, sale_id)
    if sale is None or sale.document is None:
        raise NotFound(_("There is no till sale with id %(id)s.", id=sale_id))
    check_store_access(user, sale.store_id, sale.register)
    return sale


def session_summary(pos_session: PosSession) -> dict:
    totals = pos_session.totals_by_method
    return {
        "id": pos_session.id, "name": pos_session.name, "number": pos_session.number,
        "register_id": pos_session.register_id, "store_id": pos_session.store_id, "state": pos_session.state,
        "opened_at": iso(pos_session.opened_at), "closed_at": iso(pos_session.closed_at),
        "opening_float": _fmt(pos_session.opening_float), "cash_in_out_total": _fmt(pos_session.cash_in_out_total),
        "totals_by_method": {m: {k: (_fmt(v) if v is not None else None) for k, v in t.items()}
                             for m, t in totals.items()},
        "cash_difference": _fmt(pos_session.cash_difference) if pos_session.cash_difference is not None else None,
        "difference_reason": pos_session.difference_reason,
    }


# --- demo ---------------------------------------------------------------------------------

def demo_registers(session=None) -> list[PosRegister]:
    """One register "R1" per shop (idempotent)."""
    created = []
    for store in db.session.scalars(sa.select(Store).where(Store.kind == "shop").order_by(Store.id)):
        exists = db.session.scalar(sa.select(PosRegister.id).where(PosRegister.store_id == store.id))
        if not exists:
            created.append(create_register(store.id, "R1", f"{store.name} till 1"))
    return created


# --- refused sales that need attention ----------------------------------------------------

def open_attention_count(register_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(PosAttention).where(
        PosAttention.register_id == register_id, PosAttention.state == ATTENTION_OPEN)) or 0


def _parse_time(value):
    if value is None or isinstance(value, dt.datetime):
        return value
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(_("%(value)r is not a date and time (ISO 8601).", value=value)) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def report_attention(register_id: int, *, idempotency_key: str, request: dict, error: str,
                     error_status: int | None = None, error_type: str | None = None, queued_at=None,
                     total: str | None = None, user=None) -> tuple[PosAttention, bool]:
    """Keep a till sale the server refused after the money was taken, with its original
    request (``{"lines", "payments", "customer_id"}``) and the refusal. Idempotent per
    (register, key): the till and the server may both report it; returns ``(item, created)``."""
    register = get_register(register_id, user)
    key = _check_key(idempotency_key)
    existing = db.session.scalar(sa.select(PosAttention).where(PosAttention.register_id == register.id,
                                                               PosAttention.idempotency_key == key))
    if existing is not None:
        return existing, False
    recorded = find_sale(register.id, key)
    if recorded is not None and recorded.document is not None:
        raise Conflict(_("This sale was recorded as receipt %(receipt)s: it needs no attention.",
                         receipt=recorded.receipt_label), sale_id=recorded.id, receipt=recorded.receipt_label)
    if not isinstance(request, dict) or not isinstance(request.get("lines"), list) \
            or not isinstance(request.get("payments"), list):
        raise ValidationError(_("The refused sale's request needs its lines and payments."))
    error = (error or "").strip() or _("Refused by the server")
    pos_session = open_session_of(register.id)
    item = PosAttention(register_id=register.id, store_id=register.store_id,
                        session_id=pos_session.id if pos_session else None, idempotency_key=key,
                        request=canonical_json({"lines": request["lines"], "payments": request["payments"],
                                                "customer_id": request.get("customer_id")}),
                        total=str(total)[:24] if total is not None else None, queued_at=_parse_time(queued_at),
                        error=error[:4000], error_status=error_status, error_type=(error_type or "")[:128] or None,
                        state=ATTENTION_OPEN, created_at=utcnow(), reported_by_id=_user_id(user))
    try:
        with db.session.begin_nested():
            db.session.add(item)
            db.session.flush()
    except sa.exc.IntegrityError:  # reported twice at once: the first report stands
        existing = db.session.scalar(sa.select(PosAttention).where(PosAttention.register_id == register.id,
                                                                   PosAttention.idempotency_key == key))
        if existing is None:
            raise
        return existing, False
    return item, True


def get_attention(attention_id: int, user=None, *, lock: bool = False) -> PosAttention:
    item = _by_id(PosAttention, attention_id)
    if item is None:
        raise NotFound(_("There is no refused sale needing attention with id %(id)s.", id=attention_id))
    check_store_access(user, item.store_id, item.register)
    if lock and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(PosAttention.id).where(PosAttention.id == item.id).with_for_update())
        db.session.refresh(item)
    return item


def _require_attention_open(item: PosAttention) -> None:
    if item.state != ATTENTION_OPEN:
        raise Conflict(_("This refused sale was already %(state)s.", state=_attention_state_label(item.state)),
                       state=item.state)


def _attention_state_label(state: str) -> str:
    return {ATTENTION_OPEN: _("open"), ATTENTION_RETRIED: _("retried"), ATTENTION_VOIDED: _("voided"),
            ATTENTION_CONVERTED: _("converted")}.get(state, state)


def _resolve_by_sale(item: PosAttention, state: str, user, **sell_options) -> tuple[dict, bool]:
    item = get_attention(item.id, user, lock=True)
    _require_attention_open(item)
    data = item.data
    # the same idempotency key: if the sale was recorded meanwhile, this answers it, never twice
    document, created = sell(item.register_id, idempotency_key=item.idempotency_key, lines=data["lines"],
                             payments=data["payments"], customer_id=data.get("customer_id"), user=user,
                             **sell_options)
    item.state, item.sale_id = state, document["id"]
    item.resolved_at, item.resolved_by_id = utcnow(), _user_id(user)
    db.session.flush()
    return document, created


def retry_attention(attention_id: int, *, user=None) -> tuple[dict, bool]:
    """Send the refused sale again as it was (after the stock was corrected, in a new
    session...): recorded once, in the register's open session, or refused again."""
    return _resolve_by_sale(get_attention(attention_id, user), ATTENTION_RETRIED, user)


def convert_attention(attention_id: int, *, user=None) -> tuple[dict, bool]:
    """Record the refused sale in the register's open session whatever stock says and even
    if a product was archived since (the goods are gone, the money is in the drawer)."""
    return _resolve_by_sale(get_attention(attention_id, user), ATTENTION_CONVERTED, user,
                            stock_check="till_record", archived_ok=True)


def void_attention(attention_id: int, reason: str, *, user=None) -> PosAttention:
    """The refused sale is not recorded (the money was given back, a test sale...), with a reason."""
    item = get_attention(attention_id, user, lock=True)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give a reason for voiding the refused sale."))
    _require_attention_open(item)
    item.state, item.reason = ATTENTION_VOIDED, reason[:256]
    item.resolved_at, item.resolved_by_id = utcnow(), _user_id(user)
    db.session.flush()
    return item


def attention_json(item: PosAttention) -> dict:
    return {"id": item.id, "register_id": item.register_id, "store_id": item.store_id,
            "session_id": item.session_id, "idempotency_key": item.idempotency_key, "request": item.data,
            "total": item.total, "queued_at": item.queued_at.isoformat() if item.queued_at else None,
            "error": item.error, "error_status": item.error_status, "error_type": item.error_type,
            "state": item.state, "created_at": item.created_at.isoformat(),
            "reported_by_id": item.reported_by_id,
            "resolved_at": item.resolved_at.isoformat() if item.resolved_at else None,
            "resolved_by_id": item.resolved_by_id, "reason": item.reason, "sale_id": item.sale_id}


def attention_items(register_id: int, *, state: str | None = ATTENTION_OPEN, user=None) -> list[PosAttention]:
    register = get_register(register_id, user)
    stmt = sa.select(PosAttention).where(PosAttention.register_id == register.id).order_by(PosAttention.id)
    if state:
        stmt = stmt.where(PosAttention.state == state)
    return list(db.session.scalars(stmt))


# --- Z report as data ---------------------------------------------------------------------

def z_report_of(session_id: int, user=None) -> PosZReport:
    pos_session = get_session(session_id, user)
    z = db.session.scalar(sa.select(PosZReport).where(PosZReport.session_id == pos_session.id))
    if z is None:
        raise NotFound(_("Session %(session)s is still open: its Z report is taken when it closes.",
                         session=pos_session.name))
    return z


def z_report_json(z: PosZReport) -> dict:
    """The figures the Z report PDF prints (the same document), with its id and number."""
    return {**z.data, "id": z.id, "number": z.number, "session_id": z.session_id,
            "pdf": f"/api/v1/pos/z-reports/{z.id}.pdf"}
