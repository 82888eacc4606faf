"""The store's own clock: every business date is the store's local date.

Timestamps are stored timezone-aware in UTC (SQLite hands them back naive: they are UTC
too). Business dates (posting date, receipt date, Z date, report ranges, sequence year,
statement windows, default dates in forms) are the local date in the store's timezone, or
the company's (``DEFAULT_TIMEZONE``) where no store applies. Convert here, at the edges;
never ask the machine for "today" or a wall-clock time without a zone.

``now()`` is the one clock: tests freeze it with ``core.timeutil.freeze(...)``.
"""
from __future__ import annotations

import datetime as dt
import zoneinfo
from contextlib import contextmanager
from functools import lru_cache

UTC = dt.timezone.utc

_frozen: list[dt.datetime] = []


def now() -> dt.datetime:
    """The current time, aware, in UTC (frozen by :func:`freeze` in tests)."""
    if _frozen:
        return _frozen[-1]
    return dt.datetime.now(UTC)


@contextmanager
def freeze(when: dt.datetime):
    """Freeze :func:`now` (and so every business date) at ``when`` (aware; a naive value
    is taken as UTC). For tests: ``with freeze(local(2026, 3, 1, 0, 30, "Asia/Shanghai")):``."""
    _frozen.append(as_utc(when))
    try:
        yield _frozen[-1]
    finally:
        _frozen.pop()


@lru_cache(maxsize=256)
def zone(name: str | None) -> dt.tzinfo:
    """The tzinfo of an IANA name; UTC for an empty or unknown one."""
    if not name:
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def company_timezone() -> str:
    """The company's timezone (config ``DEFAULT_TIMEZONE``), for dates no store owns."""
    try:
        from flask import current_app
        return current_app.config.get("DEFAULT_TIMEZONE") or "UTC"
    except RuntimeError:  # outside an app (a script, a unit test of a pure function)
        return "UTC"


def store_timezone(store=None) -> str:
    """The timezone name of ``store`` (a Store, a store id, or None for the company's)."""
    if store is None:
        return company_timezone()
    name = getattr(store, "timezone", None)
    if name:
        return name
    if isinstance(store, int) and not isinstance(store, bool):
        from core.cache import cached
        return cached(("core.store_timezone", store), lambda: _load_store_timezone(store)) or company_timezone()
    return company_timezone()


def _load_store_timezone(store_id: int) -> str | None:
    import sqlalchemy as sa
    from core.db import db
    from core.models.master import Store
    return db.session.execute(sa.select(Store.timezone).where(Store.id == store_id)).scalar()


def as_utc(ts: dt.datetime) -> dt.datetime:
    """An aware UTC datetime; a naive one (SQLite's) is taken as UTC."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def local_datetime(ts: dt.datetime | None, store=None) -> dt.datetime | None:
    """``ts`` in the store's (or company's) timezone, aware; None stays None."""
    if ts is None:
        return None
    return as_utc(ts).astimezone(zone(store_timezone(store)))


def local_date(ts=None, store=None) -> dt.date:
    """The store's local date of ``ts`` (a datetime; now when None). A ``date`` is
    returned as it is (it already is a business date)."""
    if ts is None:
        ts = now()
    if isinstance(ts, dt.datetime):
        return local_datetime(ts, store).date()
    if isinstance(ts, dt.date):
        return ts
    raise TypeError(f"not a date or datetime: {ts!r}")


def today(store=None) -> dt.date:
    """Today in the store's timezone (the company's when ``store`` is None)."""
    return local_date(now(), store)


def day_bounds(date_from: dt.date, date_to: dt.date | None = None, store=None) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants [start, end) covering local days ``date_from`` .. ``date_to``
    (inclusive) in the store's timezone: filter timestamps with ``>= start`` and ``< end``."""
    tz = zone(store_timezone(store))
    date_to = date_to or date_from
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz).astimezone(UTC)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz).astimezone(UTC)
    return start, end


def any_zone_bounds(date_from: dt.date, date_to: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    """UTC instants [start, end) holding local days ``date_from`` .. ``date_to`` in EVERY
    timezone (UTC-12 to UTC+14): the coarse SQL filter over many stores, before the exact
    per-row check :func:`on_local_days`."""
    date_to = date_to or date_from
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=UTC) - dt.timedelta(hours=14)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=UTC) + dt.timedelta(hours=12)
    return start, end


def on_local_days(ts: dt.datetime, date_from: dt.date | None, date_to: dt.date | None = None, store=None) -> bool:
    """Whether ``ts`` falls on local days ``date_from`` .. ``date_to`` (inclusive; None: open)
    in the store's timezone."""
    day = local_date(ts, store)
    return (date_from is None or day >= date_from) and (date_to is None or day <= date_to)


def local(year, month, day, hour=0, minute=0, tz: str = "Asia/Shanghai") -> dt.datetime:
    """An aware datetime at a local wall-clock time (tests and demo data)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone(tz))


def iso(ts: dt.datetime | None) -> str | None:
    """A timestamp for the API and stored documents: ISO 8601 in UTC with its offset
    (``2026-03-01T16:30:00+00:00``), also for SQLite's naive values; None stays None."""
    return None if ts is None else as_utc(ts).isoformat()


def parse_iso(text: str | None) -> dt.datetime | None:
    """The datetime of an ISO 8601 string (a stored document's ``created_at``), aware in UTC;
    None for an empty or unreadable one."""
    if not text:
        return None
    try:
        return as_utc(dt.datetime.fromisoformat(str(text)))
    except ValueError:
        return None


def stamp(ts: dt.datetime, store=None) -> dict:
    """What a printed document says of when it happened: the store's local ``date``
    (ISO), ``local_time`` (``YYYY-MM-DD HH:MM``) and the ``timezone`` name."""
    loc = local_datetime(ts, store)
    return {"date": loc.date().isoformat(), "local_time": loc.strftime("%Y-%m-%d %H:%M"),
            "timezone": store_timezone(store)}


def format_local(ts: dt.datetime | None, store=None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A timestamp as shown and printed: local, to the minute, no microseconds."""
    loc = local_datetime(ts, store)
    return "" if loc is None else loc.strftime(fmt)
