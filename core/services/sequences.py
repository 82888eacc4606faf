"""Document numbers (``PO/2026/00001``): gapless and unique under concurrency.

``next_number(code)`` increments the sequence's counter row with one
``UPDATE ... RETURNING`` inside the caller's transaction. The row lock (PostgreSQL) or the
database write lock (SQLite) holds other takers until the caller commits or rolls back:
a rolled-back document gives its number back, so numbers have no gaps and never repeat.
A missing counter row (a new year, month or store) is created, when that UPDATE finds none,
with ``INSERT ... ON CONFLICT DO NOTHING`` and the UPDATE runs again, so two first takers
cannot collide. The sequence's settings come from the config cache (``core.cache``).

Addons declare their sequences in ``o2o_base_data`` with ``ensure_sequence``::

    ensure_sequence(session, "purchasing.order", "Purchase orders", "PO/{year}/{number}")

Pattern fields: ``{year}``, ``{month}`` (two digits), ``{day}``, ``{store}`` (store code) and
``{number}`` (zero-padded to ``padding`` digits).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from core.cache import cached, watch
from core.db import db, take_write_lock
from core.errors import ValidationError
from core.i18n import _
from core.models.master import Store
from core.models.sequence import Sequence, SequenceCounter
from core.timeutil import local_date, today

RESETS = ("never", "year", "month")


def _session(session):
    return session if session is not None else db.session


def _local_today(store) -> dt.date:
    return today(store)


def period_key(seq, store, date: dt.date) -> str:
    """The counter a number is taken from: the reset period, plus the store when per store."""
    if seq.reset == "year":
        key = f"{date.year:04d}"
    elif seq.reset == "month":
        key = f"{date.year:04d}-{date.month:02d}"
    else:
        key = "-"
    if seq.per_store:
        key += f"@{store.id}"
    return key


def format_number(seq, number: int, store, date: dt.date) -> str:
    return seq.pattern.format(
        year=f"{date.year:04d}", month=f"{date.month:02d}", day=f"{date.day:02d}",
        store=getattr(store, "code", "") or "", number=str(number).zfill(seq.padding),
    )


def _insert_ignore(bind):
    dialect = bind.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(SequenceCounter.__table__)
    if dialect == "sqlite":
        return sqlite.insert(SequenceCounter.__table__)
    raise NotImplementedError(f"sequences need PostgreSQL or SQLite, not {dialect}")


_COUNTER = SequenceCounter.__table__
# built once: a number is taken on every document, and building the statement costs more
# than running it
_TAKE = (sa.update(_COUNTER)
         .where(_COUNTER.c.sequence_id == sa.bindparam("sid"), _COUNTER.c.period == sa.bindparam("key"))
         .values(last_value=_COUNTER.c.last_value + sa.bindparam("n", type_=sa.BigInteger))
         .returning(_COUNTER.c.last_value))


def _resolve_store(session, store):
    if store is None or isinstance(store, Store):
        return store
    found = session.get(Store, int(store))
    if found is None:
        raise ValidationError(_("There is no store with id %(id)s.", id=store))
    return found


@dataclass(frozen=True)
class SequenceDefinition:
    """A sequence's settings as plain values (kept in the config cache)."""
    id: int
    code: str
    pattern: str
    padding: int
    reset: str
    per_store: bool


def sequence_definition(code: str, session=None) -> SequenceDefinition | None:
    def load():
        seq = _session(session).scalar(sa.select(Sequence).where(Sequence.code == code))
        return None if seq is None else SequenceDefinition(seq.id, seq.code, seq.pattern, seq.padding,
                                                           seq.reset, seq.per_store)
    return cached(("sequence", code), load)


watch("sequence")


def next_number(code: str, *, store=None, date: dt.date | None = None, session=None) -> str:
    """See ``next_numbers``; one number."""
    return next_numbers(code, 1, store=store, date=date, session=session)[0]


def next_numbers(code: str, count: int, *, store=None, date: dt.date | None = None, session=None) -> list[str]:
    """Take the next ``count`` numbers of sequence ``code`` in the caller's transaction.

    ``store`` (a Store or its id) is required for per-store sequences and fills ``{store}``;
    ``date`` (default: today in the store's time zone, the company's without a store; a
    datetime is taken as its local date there) picks the year/month counter. An
    ``o2o_document_number`` implementation returning a value takes precedence.
    Never commits; the number is the caller's once the caller commits.
    """
    session = _session(session)
    store = _resolve_store(session, store)
    if isinstance(date, dt.datetime):  # a timestamp: the number is of its local day
        date = local_date(date, store)
    try:
        from flask import current_app
        manager = current_app.extensions["o2o"]
    except (RuntimeError, KeyError):
        manager = None
    if count < 1:
        return []
    if manager is not None:
        number = manager.hook.o2o_document_number(sequence_code=code, store=store, date=date)
        if number is not None:  # an addon numbers these documents itself
            taken = [str(number)]
            for _i in range(count - 1):
                number = manager.hook.o2o_document_number(sequence_code=code, store=store, date=date)
                if number is None:
                    raise RuntimeError(f"o2o_document_number stopped numbering {code!r} half-way")
                taken.append(str(number))
            return taken

    # SQLite: take the write lock before reading, so concurrent takers wait their turn
    take_write_lock(session)
    seq = sequence_definition(code, session)
    if seq is None:
        raise ValidationError(_("The document sequence '%(code)s' does not exist; enable the addon "
                                "that numbers these documents or create the sequence.", code=code))
    if seq.per_store and store is None:
        raise ValidationError(_("The document sequence '%(code)s' numbers each store separately: "
                                "choose a store.", code=code))
    if date is None:
        date = _local_today(store)
    period = period_key(seq, store, date)

    conn = session.connection()
    params = {"sid": seq.id, "key": period, "n": count}
    value = conn.execute(_TAKE, params).scalar()
    if value is None:  # the period's first number: create its counter (racing takers: one wins)
        conn.execute(_insert_ignore(conn).values(sequence_id=seq.id, period=period, last_value=0)
                     .on_conflict_do_nothing(index_elements=["sequence_id", "period"]))
        value = conn.execute(_TAKE, params).scalar_one()
    return [format_number(seq, n, store, date) for n in range(value - count + 1, value + 1)]


def ensure_sequence(session, code: str, name: str, pattern: str = "{year}/{number}", padding: int = 5,
                    reset: str = "year", per_store: bool = False) -> Sequence:
    """Create the sequence ``code`` unless it exists (idempotent, for ``o2o_base_data``).

    An existing sequence is left as it is: an administrator may have changed its pattern.
    """
    session = _session(session)
    if reset not in RESETS:
        raise ValueError(f"reset must be one of {', '.join(RESETS)}, not {reset!r}")
    if "{number}" not in pattern:
        raise ValueError(f"the pattern {pattern!r} of sequence {code!r} has no {{number}}")
    seq = session.scalar(sa.select(Sequence).where(Sequence.code == code))
    if seq is None:
        seq = Sequence(code=code, name=name, pattern=pattern, padding=padding, reset=reset, per_store=per_store)
        session.add(seq)
        session.flush()
    return seq


def peek_last(code: str, *, store=None, date: dt.date | None = None, session=None) -> int:
    """The last number taken in the current period (0 if none); for screens and tests."""
    session = _session(session)
    store = _resolve_store(session, store)
    seq = session.scalar(sa.select(Sequence).where(Sequence.code == code))
    if seq is None:
        return 0
    period = period_key(seq, store, date or _local_today(store))
    return session.scalar(sa.select(SequenceCounter.last_value).where(
        SequenceCounter.sequence_id == seq.id, SequenceCounter.period == period)) or 0
