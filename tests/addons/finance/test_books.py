"""Books: chart, balanced entries, immutability, reversals, locked periods, one posting per source."""
import datetime as dt
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from addons.finance import services
from addons.finance.models import Account, Entry, EntryLine, Journal, StoreJournal
from core.db import db
from core.errors import Conflict, ValidationError
from tests.addons.finance.helpers import entries_count, lines_of

DAY = dt.date(2026, 11, 20)


def test_base_data_has_a_retail_chart_journals_and_cash_journal_per_store(app, stores):
    codes = set(db.session.scalars(sa.select(Account.code)))
    assert {"1000", "1010", "1030", "1120", "2000", "2050", "2200", "4000", "6900"} <= codes
    assert {"SALES", "PURCH", "BANK", "CARD", "WALLET"} <= set(db.session.scalars(sa.select(Journal.code)))
    jr = services.cash_journal(stores[0].id)
    assert jr.kind == "cash" and jr.store_id == stores[0].id and jr.code == "CASH-F1"
    assert services.cash_journal(stores[0].id).id == jr.id  # created once
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoreJournal)
                             .where(StoreJournal.store_id == stores[0].id)) == 1
    services.create_base_data(db.session)  # idempotent
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Account).where(Account.code == "1000")) == 1


def test_balanced_entry_is_posted_with_number_and_lines(app):
    e = services.post_entry("MISC", DAY, [dict(account="1000", debit=D("50.00")),
                                          dict(account="3000", credit=D("50.00"), label="capital")], memo="cap")
    assert e.number.startswith("JE/2026/") and e.state == "posted"
    assert lines_of(e) == {"1000": D("50.00"), "3000": D("-50.00")}


def test_unbalanced_entry_is_refused_and_nothing_is_written(app):
    before = entries_count()
    with pytest.raises(ValidationError, match="does not balance.*50.00.*49.99"):
        services.post_entry("MISC", DAY, [dict(account="1000", debit=D("50.00")),
                                          dict(account="3000", credit=D("49.99"))])
    with pytest.raises(ValidationError, match="negative"):
        services.post_entry("MISC", DAY, [dict(account="1000", debit=D("-5")), dict(account="3000", credit=D("-5"))])
    with pytest.raises(ValidationError, match="both a debit and a credit"):
        services.post_entry("MISC", DAY, [dict(account="1000", debit=D("5"), credit=D("5")),
                                          dict(account="3000", credit=D("0"))])
    with pytest.raises(ValidationError, match="no account 9876"):
        services.post_entry("MISC", DAY, [dict(account="9876", debit=D("5")), dict(account="3000", credit=D("5"))])
    assert entries_count() == before


def test_posted_entry_cannot_be_edited_or_deleted_service_and_flush_guard(app):
    e = services.post_entry("MISC", DAY, [dict(account="1000", debit=D("10")), dict(account="3000", credit=D("10"))])
    db.session.commit()
    with pytest.raises(Conflict, match="posted and cannot be changed"):
        services.edit_entry(e.id, memo="changed")
    db.session.rollback()
    e = db.session.get(Entry, e.id)
    e.memo = "sneaky"
    with pytest.raises(Conflict, match="cannot be changed"):
        db.session.flush()
    db.session.rollback()
    line = db.session.scalars(sa.select(EntryLine).where(EntryLine.entry_id == e.id)).first()
    line.debit = D("11")
    with pytest.raises(Conflict, match="lines cannot be changed"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(Entry, e.id))
    with pytest.raises(Conflict):
        db.session.flush()
    db.session.rollback()
    e = db.session.get(Entry, e.id)
    e.lines.append(EntryLine(account_id=e.lines[0].account_id, date=DAY, debit=D("1")))
    with pytest.raises(Conflict, match="no line can be added"):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(Entry, e.id).memo is None


def test_correction_is_a_reversal_once(app):
    e = services.post_entry("MISC", DAY, [dict(account="1000", debit=D("10")), dict(account="3000", credit=D("10"))])
    rev = services.reverse_entry(e.id)
    assert rev.reversal_of_id == e.id and lines_of(rev) == {"1000": D("-10.00"), "3000": D("10.00")}
    assert [x.id for x in services.postings_for("reversal", e.id)] == [rev.id]
    with pytest.raises(Conflict, match="already reversed"):
        services.reverse_entry(e.id)
    with pytest.raises(Conflict, match="itself a reversal"):
        services.reverse_entry(rev.id)


def test_posting_into_a_locked_period_is_refused(app):
    services.lock_period("2026-10", dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    before = entries_count()
    with pytest.raises(Conflict, match="2026-10.*locked"):
        services.post_entry("MISC", dt.date(2026, 10, 15), [dict(account="1000", debit=D("1")),
                                                            dict(account="3000", credit=D("1"))])
    assert entries_count() == before
    services.post_entry("MISC", dt.date(2026, 11, 1), [dict(account="1000", debit=D("1")),
                                                       dict(account="3000", credit=D("1"))])
    services.unlock_period("2026-10")
    services.post_entry("MISC", dt.date(2026, 10, 15), [dict(account="1000", debit=D("1")),
                                                        dict(account="3000", credit=D("1"))])


def test_same_source_twice_is_impossible_service_and_constraint(app):
    lines = [dict(account="1000", debit=D("1")), dict(account="3000", credit=D("1"))]
    e = services.post_entry("MISC", DAY, lines, source_type="test_doc", source_id=7, source_ref="T7")
    with pytest.raises(Conflict, match="already posted as entry"):
        services.post_entry("MISC", DAY, lines, source_type="test_doc", source_id=7, source_ref="T7")
    with pytest.raises(sa.exc.IntegrityError):
        with db.session.begin_nested():
            db.session.execute(sa.insert(Entry).values(number="X-DUP", journal_id=e.journal_id, date=DAY,
                                                       state="posted", source_type="test_doc", source_id=7,
                                                       posted_at=e.posted_at))
