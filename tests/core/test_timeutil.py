"""The store's own clock: local business dates, day bounds, shown times, a frozen clock,
timestamps aware in UTC on SQLite as on PostgreSQL, sequence years turning at local midnight."""
import datetime as dt

import pytest
import sqlalchemy as sa

from core import timeutil
from core.db import db
from core.models import Store
from core.services.sequences import ensure_sequence, next_number
from core.timeutil import UTC, day_bounds, format_local, freeze, local, local_date

SH, NY = "Asia/Shanghai", "America/New_York"


@pytest.mark.parametrize("tz, hour, minute, utc_day", [
    (SH, 0, 30, 28),   # 00:30 in Shanghai is 16:30 UTC the day before
    (SH, 23, 30, 1),
    (NY, 0, 30, 1),
    (NY, 23, 30, 2),   # 23:30 in New York is 04:30 UTC the next day
])
def test_a_moment_is_dated_on_the_local_day(tz, hour, minute, utc_day):
    moment = local(2026, 3, 1, hour, minute, tz)
    assert moment.astimezone(UTC).day == utc_day  # the UTC date would be wrong...
    assert local_date(moment, _Zone(tz)) == dt.date(2026, 3, 1)  # ...the local one is right
    with freeze(moment):
        assert timeutil.today(_Zone(tz)) == dt.date(2026, 3, 1)
        assert timeutil.now() == moment and timeutil.now().tzinfo is UTC


class _Zone:
    """Anything with a ``timezone`` stands for a store (no database needed)."""

    def __init__(self, timezone):
        self.timezone = timezone


def test_a_naive_timestamp_is_utc_and_a_date_stays_a_date():
    assert local_date(dt.datetime(2026, 2, 28, 16, 30), _Zone(SH)) == dt.date(2026, 3, 1)
    assert local_date(dt.date(2026, 3, 1), _Zone(NY)) == dt.date(2026, 3, 1)
    with pytest.raises(TypeError):
        local_date("2026-03-01", _Zone(SH))


@pytest.mark.parametrize("tz", [SH, NY])
def test_day_bounds_hold_both_ends_of_the_local_day(tz):
    start, end = day_bounds(dt.date(2026, 3, 1), store=_Zone(tz))
    early, late = local(2026, 3, 1, 0, 30, tz), local(2026, 3, 1, 23, 30, tz)
    assert start <= early < end and start <= late < end
    assert not start <= local(2026, 3, 2, 0, 30, tz) < end
    assert not start <= local(2026, 2, 28, 23, 30, tz) < end
    assert start.tzinfo is UTC and end - start == dt.timedelta(days=1)
    # several days, inclusive
    start2, end2 = day_bounds(dt.date(2026, 3, 1), dt.date(2026, 3, 3), _Zone(tz))
    assert start2 == start and end2 - start2 == dt.timedelta(days=3)


def test_any_zone_bounds_hold_the_local_day_of_every_zone():
    start, end = timeutil.any_zone_bounds(dt.date(2026, 3, 1))
    for tz in (SH, NY, "Pacific/Kiritimati", "Etc/GMT+12"):
        assert start <= local(2026, 3, 1, 0, 0, tz) and local(2026, 3, 1, 23, 59, tz) < end
        assert timeutil.on_local_days(local(2026, 3, 1, 23, 59, tz), dt.date(2026, 3, 1), None, _Zone(tz))
        assert not timeutil.on_local_days(local(2026, 3, 2, 0, 0, tz), None, dt.date(2026, 3, 1), _Zone(tz))


def test_shown_times_are_local_to_the_minute_and_api_times_utc_with_offset():
    moment = dt.datetime(2026, 2, 28, 18, 32, 7, 123456, tzinfo=UTC)  # 02:32 in Shanghai
    assert format_local(moment, _Zone(SH)) == "2026-03-01 02:32"
    assert format_local(moment, _Zone(NY)) == "2026-02-28 13:32"
    assert format_local(None) == ""
    assert timeutil.stamp(moment, _Zone(SH)) == {"date": "2026-03-01", "local_time": "2026-03-01 02:32",
                                                 "timezone": SH}
    assert timeutil.iso(moment.replace(tzinfo=None)) == "2026-02-28T18:32:07.123456+00:00"
    assert timeutil.iso(local(2026, 3, 1, 2, 32, SH)) == "2026-02-28T18:32:00+00:00"
    assert timeutil.parse_iso("2026-02-28T18:32:00+00:00") == dt.datetime(2026, 2, 28, 18, 32, tzinfo=UTC)
    assert timeutil.parse_iso("not a time") is None and timeutil.parse_iso(None) is None


def test_freeze_nests_and_unfreezes():
    outer, inner = local(2026, 1, 1, 0, 30, SH), local(2026, 6, 1, 23, 30, NY)
    with freeze(outer):
        with freeze(inner):
            assert timeutil.now() == inner
        assert timeutil.now() == outer
    assert abs(timeutil.now() - dt.datetime.now(UTC)) < dt.timedelta(minutes=1)


def test_an_unknown_zone_is_utc_and_no_store_is_the_company(app):
    assert timeutil.zone("Not/AZone") is UTC
    assert timeutil.store_timezone(None) == app.config["DEFAULT_TIMEZONE"]
    with freeze(local(2026, 3, 1, 0, 30, app.config["DEFAULT_TIMEZONE"])):
        assert timeutil.today() == dt.date(2026, 3, 1)


def test_store_timezone_by_id_is_cached_and_follows_a_change(session):
    store = Store(code="TZNY", name="New York", timezone=NY)
    session.add(store)
    session.commit()
    assert timeutil.store_timezone(store.id) == NY
    store.timezone = SH
    session.commit()  # the store table is watched: the cached zone is dropped
    assert timeutil.store_timezone(store.id) == SH
    assert timeutil.store_timezone(10 ** 9) == timeutil.company_timezone()  # no such store


def test_timestamps_come_back_aware_in_utc_and_an_aware_local_value_is_stored_in_utc(session):
    """SQLite's own DATETIME would store a Shanghai time's wall-clock digits as if UTC."""
    moment = local(2026, 3, 1, 0, 30, SH)
    with freeze(moment):
        store = Store(code="TZSH", name="Shanghai")
        session.add(store)
        session.flush()
    session.expire_all()
    store = session.get(Store, store.id)
    assert store.created_at.tzinfo is not None and store.created_at == moment
    assert session.scalar(sa.select(Store.id).where(Store.created_at >= moment, Store.code == "TZSH")) == store.id
    start, end = day_bounds(dt.date(2026, 3, 1), store=store)
    assert session.scalar(sa.select(Store.id).where(Store.created_at >= start, Store.created_at < end,
                                                    Store.code == "TZSH")) == store.id


def test_the_sequence_year_turns_at_local_midnight_on_new_year(session):
    ny = Store(code="SQNY", name="NY", timezone=NY)
    sh = Store(code="SQSH", name="SH", timezone=SH)
    session.add_all([ny, sh])
    session.flush()
    ensure_sequence(session, "test.clock", "Clock", "{store}/{year}/{number}", padding=3, per_store=True)
    # 31 Dec 23:30 in New York is already 1 January in UTC: still last year's number
    with freeze(local(2026, 12, 31, 23, 30, NY)):
        assert next_number("test.clock", store=ny) == "SQNY/2026/001"
    # 1 Jan 00:30 in Shanghai is still 31 December in UTC: already the new year's number
    with freeze(local(2027, 1, 1, 0, 30, SH)):
        assert next_number("test.clock", store=sh) == "SQSH/2027/001"
        # a timestamp given as the document's date is taken on the store's clock too
        assert next_number("test.clock", store=sh, date=timeutil.now()) == "SQSH/2027/002"
    with freeze(local(2027, 1, 1, 0, 30, NY)):
        assert next_number("test.clock", store=ny.id) == "SQNY/2027/001"


def test_api_answers_times_in_utc_with_offset(session):
    from core.api import to_json
    assert to_json({"at": dt.datetime(2026, 2, 28, 16, 30), "on": dt.date(2026, 3, 1)}) == \
        {"at": "2026-02-28T16:30:00+00:00", "on": "2026-03-01"}


def test_admin_lists_show_a_row_on_its_store_clock(client_as, session):
    with freeze(dt.datetime(2026, 2, 28, 18, 32, 7, 5000, tzinfo=UTC)):
        session.add_all([Store(code="ADSH", name="Admin SH", timezone=SH),
                         Store(code="ADNY", name="Admin NY", timezone=NY)])
        session.commit()
    client = client_as(superuser=True)
    html = client.get("/admin/store/?search=AD").get_data(as_text=True)
    if "ADSH" not in html:
        pytest.skip("the store list does not show these stores")
    from core.admin.views import ModelView
    from core.i18n import format_timestamp
    sh = session.scalar(sa.select(Store).where(Store.code == "ADSH"))
    ny = session.scalar(sa.select(Store).where(Store.code == "ADNY"))
    assert format_timestamp(sh.created_at, sh) == "2026-03-01 02:32"
    assert ModelView.row_store(None, sh) is sh
    detail = client.get(f"/admin/store/details/?id={sh.id}").get_data(as_text=True)
    assert "2026-03-01 02:32" in detail and "02:32:07" not in detail
    detail = client.get(f"/admin/store/details/?id={ny.id}").get_data(as_text=True)
    assert "2026-02-28 13:32" in detail


def test_admin_timestamp_filters_read_the_typed_time_on_the_company_clock(app):
    from core.admin.converters import FilterConverter
    between = next(f for f in FilterConverter.datetime_filters if f.__name__ == "LocalDateTimeBetweenFilter")
    start, end = between(None, "created").clean("2026-03-01 00:00:00 to 2026-03-01 23:59:59")
    assert app.config["DEFAULT_TIMEZONE"] == SH
    first, after = day_bounds(dt.date(2026, 3, 1))
    assert start == first and end == after - dt.timedelta(seconds=1)


def test_postgresql_sessions_hand_timestamps_back_in_utc(session):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    assert session.execute(sa.text("SHOW TimeZone")).scalar() == "UTC"
    (at,) = session.execute(sa.text("SELECT TIMESTAMPTZ '2026-03-01 00:30:00+08:00'")).one()
    assert at.utcoffset() == dt.timedelta(0) and at == local(2026, 3, 1, 0, 30, SH)
