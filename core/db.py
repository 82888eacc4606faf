"""The SQLAlchemy object, base mixins and the Decimal column types.

Money and quantities are Decimal end to end. SQLite has no exact NUMERIC storage, so the
column types below quantize what comes back to the column's scale: a value read from either
database is the same Decimal.
"""
from __future__ import annotations

import datetime as dt
import warnings
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as _FlaskSession
from sqlalchemy import event
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.timeutil import now as _clock

# SQLite stores NUMERIC as REAL; the types below restore exact Decimals on the way out.
warnings.filterwarnings("ignore", message=".*does \\*not\\* support Decimal objects natively.*")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Session(_FlaskSession):
    """Honours an explicit ``bind`` (a connection the test suite holds a transaction on)
    before Flask-SQLAlchemy's per-table engine choice."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)

    def flush(self, objects=None):
        """Flush, then run what flush listeners queued with ``after_flush_call``: outside
        the flush, so those callbacks may query, add and flush like any caller."""
        super().flush(objects)
        while not self._flushing and self.info.get(AFTER_FLUSH):
            for callback in self.info.pop(AFTER_FLUSH):
                callback(self)


AFTER_FLUSH = "o2o_after_flush"


def after_flush_call(session, callback) -> None:
    """Run ``callback(session)`` once the current flush is over (from a flush listener)."""
    pending = session.info.setdefault(AFTER_FLUSH, [])
    if callback not in pending:
        pending.append(callback)


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})


class _ScaledDecimal(sa.types.TypeDecorator):
    impl = sa.Numeric
    cache_ok = True
    precision = 14
    scale = 2

    def __init__(self, *args, **kwargs):
        super().__init__(precision=self.precision, scale=self.scale, asdecimal=True)

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money and quantities are Decimal, not float")
        return Decimal(value).quantize(self._exp, rounding=ROUND_HALF_UP)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(str(value)).quantize(self._exp, rounding=ROUND_HALF_UP)

    @property
    def _exp(self):
        return Decimal(1).scaleb(-self.scale)

    @property
    def python_type(self):
        return Decimal


class Money(_ScaledDecimal):
    """An amount in the company currency: Numeric(14, 2)."""
    cache_ok = True  # SQLAlchemy reads it from each subclass; without it no statement caching
    scale = 2


class UnitPrice(_ScaledDecimal):
    """A unit price or cost: Numeric(14, 4)."""
    cache_ok = True  # SQLAlchemy reads it from each subclass; without it no statement caching
    scale = 4


class Quantity(_ScaledDecimal):
    """A quantity: Numeric(14, 3)."""
    cache_ok = True  # SQLAlchemy reads it from each subclass; without it no statement caching
    scale = 3


def utcnow() -> dt.datetime:
    # the one clock (core.timeutil.now), so a test's frozen time reaches every default
    return _clock()


class IdMixin:
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False
    )


def persistent_from_row(session, model, values: dict):
    """An instance of ``model`` for a row this transaction has just inserted with Core
    (``values`` must include the primary key): attached to ``session`` as if loaded, so later
    attribute changes flush as an UPDATE, and no SELECT is spent reading it back."""
    from sqlalchemy.orm import make_transient_to_detached
    obj = model.__mapper__.class_manager.new_instance()
    obj.__dict__.update(values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


_CREATED_IN = "_o2o_created_in"


def mark_created(obj, session=None) -> None:
    """Remember that the current transaction created ``obj``: until it commits, no other
    transaction can see the row, so there is nothing to lock or look up about it."""
    session = session if session is not None else db.session
    if isinstance(session, sa.orm.scoped_session):
        session = session()
    obj.__dict__[_CREATED_IN] = session.get_transaction()


def created_in_this_transaction(obj, session=None) -> bool:
    session = session if session is not None else db.session
    if isinstance(session, sa.orm.scoped_session):
        session = session()
    current = session.get_transaction()
    return current is not None and obj.__dict__.get(_CREATED_IN) is current


def get_many(session, model, ids) -> dict:
    """``{id: instance}`` for these primary keys: what the session already holds costs no SQL,
    the rest comes in one SELECT ... WHERE id IN (...). Unknown ids are left out."""
    found, missing = {}, []
    for key in set(ids):
        obj = session.identity_map.get(sa.orm.util.identity_key(model, key))
        if obj is not None:
            found[key] = obj
        else:
            missing.append(key)
    if missing:
        found.update((obj.id, obj) for obj in session.scalars(sa.select(model).where(model.id.in_(missing))))
    return found


def assign_ids(session, *groups: list, even_one: bool = False) -> None:
    """Give new rows their ids before the flush, so the ORM inserts them in one executemany
    without RETURNING. Each group is a list of new instances of one model; all groups are
    served by one statement. SQLite cannot return the ids of a multi-row insert in order (the
    ORM would insert row by row): the ids follow the table's largest, taken under the
    database's write lock. PostgreSQL: drawn from the id sequences (cheaper than the ORM's
    sorted multi-row INSERT ... RETURNING). A group of one row is left to the ORM unless
    ``even_one`` (a caller that needs the id before the row's flush)."""
    groups = [g for g in groups if len(g) >= (1 if even_one else 2)]
    if not groups:
        return
    session = session() if isinstance(session, sa.orm.scoped_session) else session
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        draws = " UNION ALL ".join(
            f"SELECT {n} AS g, nextval(pg_get_serial_sequence(:t{n}, 'id')) AS id FROM generate_series(1, :n{n})"
            for n in range(len(groups)))
        params = {}
        for n, group in enumerate(groups):
            params.update({f"t{n}": group[0].__table__.name, f"n{n}": len(group)})
        drawn: dict[int, list[int]] = {}
        for g, new_id in conn.execute(sa.text(draws), params):
            drawn.setdefault(g, []).append(new_id)
        for n, group in enumerate(groups):
            for obj, new_id in zip(group, sorted(drawn[n])):
                obj.id = new_id
        return
    take_write_lock(session)
    # Rows of these tables still pending: ones without an id would take the ids we hand out
    # (flush them first); ones given ids by an earlier call count as taken.
    models = tuple(type(g[0]) for g in groups)
    everything = {id(o) for g in groups for o in g}
    pending = [o for o in session.new if isinstance(o, models) and id(o) not in everything]
    if any(o.id is None for o in pending):
        session.flush()
        pending = []
    largest = conn.execute(sa.select(*(sa.select(sa.func.max(g[0].__table__.c.id)).scalar_subquery()
                                       for g in groups))).one()
    for group, last in zip(groups, largest):
        model = type(group[0])
        last = max([last or 0, *(o.id for o in pending if isinstance(o, model))])
        for offset, obj in enumerate(group, start=1):
            obj.id = last + offset


class _SQLiteUTCDateTime(sqlite.DATETIME):
    """SQLite's DATETIME for ``DateTime(timezone=True)`` columns, kept as PostgreSQL keeps
    them: an aware value is stored in UTC (SQLite's own type would store its wall-clock
    digits, so 00:30 in Shanghai would read back as 00:30 UTC) and comes back aware, in UTC.
    Naive values are taken as UTC, as before."""

    def bind_processor(self, dialect):
        store = super().bind_processor(dialect)
        if not self.timezone:
            return store

        def process(value):
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                value = value.astimezone(dt.timezone.utc)
            return store(value)
        return process

    def result_processor(self, dialect, coltype):
        load = super().result_processor(dialect, coltype)
        if not self.timezone:
            return load

        def process(value):
            value = load(value) if load is not None else value
            if isinstance(value, dt.datetime) and value.tzinfo is None:
                return value.replace(tzinfo=dt.timezone.utc)
            return value
        return process


def is_sqlite(bind) -> bool:
    return bind.dialect.name == "sqlite"


def configure_engine(engine: sa.engine.Engine) -> None:
    """SQLite: real transactions (pysqlite's implicit ones break SAVEPOINT and transactional
    DDL), WAL so readers do not block the writer, a busy timeout instead of instant
    'database is locked', and foreign keys enforced as on PostgreSQL."""
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def _utc_session(dbapi_connection, _record):
            # timestamps come back in UTC whatever the server's TimeZone setting is
            cursor = dbapi_connection.cursor()
            cursor.execute("SET TIME ZONE 'UTC'")
            cursor.close()
            dbapi_connection.commit()
    if engine.dialect.name != "sqlite":
        return
    # timestamps in UTC and aware on the way out, on SQLite as on PostgreSQL
    engine.dialect.colspecs = {**engine.dialect.colspecs, sa.DateTime: _SQLiteUTCDateTime}

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoint the WAL every ~40 MB instead of every 4 MB: busy stock posting spent
        # most of its time copying pages back (6.7k -> 8.7k moves/s in batches of 100).
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get(_IMMEDIATE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            connection.info[_WRITE_LOCKED] = True
        else:
            connection.exec_driver_sql("BEGIN")

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection):
        connection.info.pop(_WRITE_LOCKED, None)


_IMMEDIATE = "o2o_begin_immediate"
_WRITE_LOCKED = "o2o_write_locked"


def write_lock_held(session=None) -> bool:
    """Whether this transaction holds SQLite's write lock (``take_write_lock``); always True
    on PostgreSQL, which needs none."""
    session = session if session is not None else db.session
    if isinstance(session, sa.orm.scoped_session):
        session = session()
    if session.get_bind().dialect.name != "sqlite":
        return True
    transaction = session.get_transaction()
    return transaction is not None and session.info.get(_WRITE_LOCKED) is transaction


def take_write_lock(session=None) -> None:
    """SQLite: hold the database's write lock from now until the transaction ends.

    SQLite transactions begin deferred: one that reads, then writes, fails at once with
    'database is locked' when another connection wrote in between, instead of waiting its
    turn (busy timeout). Services that read and then write call this before reading: a
    transaction not yet begun starts with ``BEGIN IMMEDIATE``; one already begun takes the
    lock with a no-op write, once per transaction. PostgreSQL: nothing (row locks do this)."""
    session = session if session is not None else db.session
    if isinstance(session, sa.orm.scoped_session):
        session = session()
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_WRITE_LOCKED) is transaction:
        return  # already taken (or not needed) in this transaction: called on every document
    if session.get_bind().dialect.name == "sqlite":
        if transaction is None:
            session.connection(execution_options={_IMMEDIATE: True})
        else:
            conn = session.connection()
            if not conn.info.get(_WRITE_LOCKED):
                conn.exec_driver_sql("UPDATE system_counter SET value = value WHERE 0")
                conn.info[_WRITE_LOCKED] = True
    session.info[_WRITE_LOCKED] = session.get_transaction()


def has_nul(value) -> bool:
    """A NUL character anywhere in ``value`` (text, or lists, tuples and dicts of them, keys
    included): PostgreSQL cannot store one in text, so input carrying one is refused before
    it reaches the database (API bodies and queries, admin forms). Iterative: a deeply
    nested value is no RecursionError."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, (list, tuple)):
            todo.extend(item)
    return False
