"""Configuration rows kept in the process: read once, dropped when they change.

A till sale needs a dozen small configuration rows (the user's permissions, the document
sequence, payment methods, the finance account map, the store's stock location). They change
a few times a year and are read on every request, so reading them each time is most of a
sale's cost. ``cached(key, loader)`` keeps what ``loader()`` returned in the app, as plain
values (never ORM objects: they would outlive their session).

Staying right:

- An addon names the tables its cached values come from with ``watch("table", ...)``
  (at import of its services module; ``columns`` narrows a busy table to the columns that
  matter). Any write to a watched table through the session (ORM flush or a Core
  INSERT/UPDATE/DELETE run by ``session.execute``) moves the ``config`` system counter in the
  same transaction.
- The writing process drops its cache when that transaction commits or rolls back, and while
  the transaction is open it bypasses the cache (its own uncommitted rows must not be kept).
- Every other process reads the counter at most every ``CONFIG_CHECK_INTERVAL`` seconds
  (default 1, as the addons counter in ``core.wsgi``) and drops everything when it moved.
  A change made in one worker is seen by the others within that interval.

Writes that bypass the session (raw DBAPI, another program) must call ``invalidate()`` or
bump the counter themselves.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import sqlalchemy as sa
from flask import current_app, has_app_context

from core.db import db

COUNTER = "config"
_SESSION_FLAG = "o2o_config_changed"

# table name -> set of column/attribute names that matter (None: every change)
_WATCHED: dict[str, set[str] | None] = {}
# tables whose new rows change nothing cached (values are cached per existing row)
_NEW_ROWS_IGNORED: set[str] = set()


def watch(*tables: str, columns: set[str] | None = None, new_rows: bool = True) -> None:
    """Changes to these tables invalidate every process's configuration cache.
    ``new_rows=False``: inserting a row does not (what is cached is per existing row, such
    as a store's timezone), so a transaction creating stores keeps its cache."""
    for table in tables:
        if not new_rows:
            _NEW_ROWS_IGNORED.add(table)
        if table in _WATCHED and (_WATCHED[table] is None or columns is None):
            _WATCHED[table] = None
        elif table in _WATCHED:
            _WATCHED[table] = set(_WATCHED[table]) | set(columns)
        else:
            _WATCHED[table] = set(columns) if columns else None


class ConfigCache:
    def __init__(self, interval: float):
        self.interval = interval  # seconds (not money: float is right here)
        self.values: dict[Any, Any] = {}
        self.version: int | None = None
        self.checked_at = 0.0
        self.lock = threading.Lock()

    def clear(self) -> None:
        with self.lock:
            self.values.clear()
            self.version = None
            self.checked_at = 0.0

    def _check(self, session) -> None:
        now = time.monotonic()
        if self.version is not None and now - self.checked_at < self.interval:
            return
        version = session.execute(_READ_COUNTER).scalar() or 0
        with self.lock:
            if version != self.version:
                self.values.clear()
                self.version = version
            self.checked_at = now

    def get(self, key, loader: Callable[[], Any]):
        session = db.session
        if session.info.get(_SESSION_FLAG):
            return loader()  # this transaction changed configuration: read it as it is now
        self._check(session)
        try:
            return self.values[key]
        except KeyError:
            value = loader()
            if not session.info.get(_SESSION_FLAG):  # the loader's own flush may have changed config
                self.values[key] = value
            return value


_READ_COUNTER = sa.text("SELECT value FROM system_counter WHERE name = :name").bindparams(name=COUNTER)


def cache() -> ConfigCache | None:
    if not has_app_context():
        return None
    app = current_app._get_current_object()
    found = app.extensions.get("o2o_config_cache")
    if found is None:
        found = app.extensions.setdefault(
            "o2o_config_cache",
            ConfigCache(float(app.config.get("CONFIG_CHECK_INTERVAL", 1.0))))  # float ok: seconds, not money
    return found


def cached(key, loader: Callable[[], Any]):
    """``loader()``'s value, kept until a watched table changes. ``key`` must be hashable
    and name everything the value depends on (e.g. ``("sequence", code)``)."""
    store = cache()
    if store is None:
        return loader()
    return store.get(key, loader)


def invalidate() -> None:
    """Drop this process's cached configuration (other processes: see the module doc)."""
    store = cache()
    if store is not None:
        store.clear()


# --- noticing changes ------------------------------------------------------------------------

def _bump_counter(connection) -> None:
    table = sa.table("system_counter", sa.column("name"), sa.column("value"))
    updated = connection.execute(sa.update(table).where(table.c.name == COUNTER)
                                 .values(value=table.c.value + 1)).rowcount
    if not updated:
        if connection.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        connection.execute(insert(table).values(name=COUNTER, value=1)
                           .on_conflict_do_update(index_elements=["name"], set_={"value": table.c.value + 1}))


def _mark_changed(session) -> None:
    first = not session.info.get(_SESSION_FLAG)
    session.info[_SESSION_FLAG] = True
    invalidate()
    if first:
        _bump_counter(session.connection())


def _touches_watched(obj) -> bool:
    table = getattr(obj, "__tablename__", None)
    if table not in _WATCHED:
        return False
    columns = _WATCHED[table]
    if columns is None:
        return True
    state = sa.inspect(obj)
    if state.pending and table in _NEW_ROWS_IGNORED:
        return False
    if state.pending or state.deleted or state.was_deleted:
        return True
    return any(state.attrs[name].history.has_changes() for name in columns if name in state.attrs)


def _before_flush(session, flush_context, instances) -> None:
    if not _WATCHED:
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if _touches_watched(obj):
            _mark_changed(session)
            return


def _on_execute(state) -> None:
    if not _WATCHED or not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if state.is_insert and getattr(table, "name", None) in _NEW_ROWS_IGNORED:
        return
    if getattr(table, "name", None) in _WATCHED:
        _mark_changed(state.session)


def _on_transaction_end(session, transaction) -> None:
    if transaction.parent is None and session.info.pop(_SESSION_FLAG, False):
        invalidate()  # committed: others see the counter move; rolled back: we may hold it


def install() -> None:
    """Listen to every session (idempotent); called by the app factory."""
    target = db.session.session_factory.class_
    if sa.event.contains(target, "before_flush", _before_flush):
        return
    sa.event.listen(target, "before_flush", _before_flush)
    sa.event.listen(target, "do_orm_execute", _on_execute)
    sa.event.listen(target, "after_transaction_end", _on_transaction_end)
