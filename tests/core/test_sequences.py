"""Document sequences: format, resets, per-store counters, the hook, gapless under concurrency."""
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa

from core.db import db
from core.errors import ValidationError
from core.models import SequenceCounter, Store
from core.plugins import hookimpl
from core.services.sequences import ensure_sequence, next_number, peek_last

D = dt.date(2026, 3, 14)


def test_numbers_follow_the_pattern_and_count_up(session):
    ensure_sequence(session, "test.po", "Test orders", "PO/{year}/{number}", padding=5)
    assert next_number("test.po", date=D) == "PO/2026/00001"
    assert next_number("test.po", date=D) == "PO/2026/00002"
    assert peek_last("test.po", date=D) == 2


def test_yearly_reset_starts_again_at_one_and_keeps_the_old_year(session):
    ensure_sequence(session, "test.inv", "Invoices", "INV{year}-{number}", padding=4, reset="year")
    assert next_number("test.inv", date=dt.date(2025, 12, 31)) == "INV2025-0001"
    assert next_number("test.inv", date=dt.date(2026, 1, 1)) == "INV2026-0001"
    assert next_number("test.inv", date=dt.date(2025, 12, 31)) == "INV2025-0002"


def test_monthly_and_never_resets(session):
    ensure_sequence(session, "test.m", "Monthly", "M{year}{month}/{number}", padding=3, reset="month")
    ensure_sequence(session, "test.n", "Never", "N{number}", padding=6, reset="never")
    assert next_number("test.m", date=dt.date(2026, 1, 5)) == "M202601/001"
    assert next_number("test.m", date=dt.date(2026, 2, 5)) == "M202602/001"
    assert next_number("test.n", date=dt.date(2026, 1, 5)) == "N000001"
    assert next_number("test.n", date=dt.date(2030, 1, 5)) == "N000002"


def test_per_store_sequences_count_each_store_and_need_a_store(session):
    a = Store(code="SEQA", name="Seq A")
    b = Store(code="SEQB", name="Seq B")
    session.add_all([a, b])
    session.flush()
    ensure_sequence(session, "test.rcpt", "Receipts", "{store}-{year}-{number}", padding=4, per_store=True)
    assert next_number("test.rcpt", store=a, date=D) == "SEQA-2026-0001"
    assert next_number("test.rcpt", store=a, date=D) == "SEQA-2026-0002"
    assert next_number("test.rcpt", store=b.id, date=D) == "SEQB-2026-0001"
    with pytest.raises(ValidationError, match="choose a store"):
        next_number("test.rcpt", date=D)


def test_unknown_sequence_is_a_clear_error(session):
    with pytest.raises(ValidationError, match="does not exist"):
        next_number("nope.nothing")


def test_ensure_sequence_is_idempotent_and_keeps_admin_changes(session):
    seq = ensure_sequence(session, "test.idem", "Idem", "ID{number}")
    seq.pattern = "X{number}"
    session.flush()
    again = ensure_sequence(session, "test.idem", "Idem", "ID{number}")
    assert again.id == seq.id and again.pattern == "X{number}"
    with pytest.raises(ValueError):
        ensure_sequence(session, "test.bad", "Bad", "no number here")
    with pytest.raises(ValueError):
        ensure_sequence(session, "test.bad", "Bad", "{number}", reset="weekly")


def test_rolled_back_number_is_given_back(session):
    ensure_sequence(session, "test.rb", "Rollback", "RB{number}", reset="never")
    session.commit()
    assert next_number("test.rb") == "RB00001"
    session.rollback()
    assert next_number("test.rb") == "RB00001"
    session.commit()
    assert next_number("test.rb") == "RB00002"


def test_document_number_hook_wins(app, session, temp_plugin):
    ensure_sequence(session, "test.hook", "Hooked", "H{number}", reset="never")

    class Fiscal:
        @hookimpl
        def o2o_document_number(self, sequence_code, store, date):
            if sequence_code == "test.hook":
                return "FISCAL-42"
            return None

    temp_plugin(Fiscal())
    assert next_number("test.hook") == "FISCAL-42"
    assert peek_last("test.hook") == 0  # the core counter was not touched
    ensure_sequence(session, "test.other", "Other", "O{number}", reset="never")
    assert next_number("test.other") == "O00001"


def test_core_partner_sequence_exists_as_base_data(session):
    assert next_number("core.partner").startswith("P")


WORKER = textwrap.dedent("""
    import json, sys, datetime as dt
    from core.app import create_app
    from core.db import db
    from core.services.sequences import next_number
    url, count, worker = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    app = create_app({"DATABASE_URL": url, "THIRD_PARTY_ADDONS": False, "TESTING": True}, addons=[])
    committed = []
    with app.app_context():
        for i in range(count):
            number = next_number("test.conc", date=dt.date(2026, 5, 1))
            if (i + worker) % 5 == 0:
                db.session.rollback()          # an abandoned document gives its number back
            else:
                db.session.commit()
                committed.append(number)
        db.session.remove()
        db.engine.dispose()
    print(json.dumps(committed))
""")


@pytest.fixture
def core_only_database(tmp_path):
    """A new database with only core migrated (quicker than every addon), dropped afterwards."""
    from core.testing import create_database, migrate_database
    url, drop = create_database(os.environ.get("O2O_TEST_DATABASE_URL"), tmp_path)
    migrate_database(url, addons=[])
    yield url
    drop()


def test_concurrent_processes_get_gapless_unique_numbers(core_only_database):
    from core.app import create_app
    fresh_database = core_only_database
    app = create_app({"DATABASE_URL": fresh_database, "THIRD_PARTY_ADDONS": False, "TESTING": True}, addons=[])
    with app.app_context():
        ensure_sequence(db.session, "test.conc", "Concurrent", "C/{year}/{number}", padding=5)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    procs, count = 4, 30
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    running = [subprocess.Popen([sys.executable, "-c", WORKER, fresh_database, str(count), str(w)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=root)
               for w in range(procs)]
    numbers = []
    for p in running:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        numbers += json.loads(out.strip().splitlines()[-1])
    expected_total = sum(1 for w in range(procs) for i in range(count) if (i + w) % 5 != 0)
    assert len(numbers) == expected_total
    assert len(set(numbers)) == len(numbers), "a number was issued twice"
    assert sorted(numbers) == [f"C/2026/{n:05d}" for n in range(1, expected_total + 1)], "gaps in the numbers"
    with app.app_context():
        last = db.session.scalar(sa.select(SequenceCounter.last_value))
        assert last == expected_total
        db.session.remove()
        db.engine.dispose()


def test_next_numbers_reserves_a_block(session):
    from core.services.sequences import next_numbers
    ensure_sequence(session, "test.block", "Block", "B{number}", padding=3, reset="never")
    assert next_numbers("test.block", 3) == ["B001", "B002", "B003"]
    assert next_number("test.block") == "B004"
    assert next_numbers("test.block", 0) == []
