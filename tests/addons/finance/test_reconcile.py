"""Reconciliation: automatic rules, manual one-to-many / many-to-one, write-off, undo,
nothing matched twice."""
import datetime as dt
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from addons.finance import services
from addons.finance.models import ExpectedItem, Match, MatchLine, MatchRule, StatementLine
from core.db import db
from core.errors import Conflict, ValidationError
from tests.addons.finance.helpers import lines_of, order, pos_session

HEAD = "date,amount,reference,description,counterparty\n"


def statement(rows, name="s.csv"):
    stmt = services.import_statement((HEAD + "".join(rows)).encode(), filename=name, bank_code="MAIN")
    return db.session.scalars(sa.select(StatementLine).where(StatementLine.statement_id == stmt.id)
                              .order_by(StatementLine.line_no)).all()


def item(key):
    return db.session.scalar(sa.select(ExpectedItem).where(ExpectedItem.key.startswith(key)))


def is_open_line(line_id):
    return db.session.scalar(sa.select(MatchLine).where(MatchLine.active_line_id == line_id)) is None


@pytest.fixture
def day(hook, stores):
    """Store F1 on 2026-11-20: a till close depositing 475.00, card sales 1,000.00 (1% fee)."""
    hook.o2o_order_paid(order=order(stores[0].id, [("card", "1000.00")]))
    hook.o2o_pos_session_closed(pos_session=pos_session(stores[0].id, cash_sales="480.00", counted="575.00"))
    return stores


def test_auto_by_reference_and_by_amount_within_window(day):
    s1 = day[0].id
    lines = statement(["2026-11-21,475.00,DEP-F1-20261120,Deposit,\n",       # reference + amount
                       "2026-11-22,990.00,PAYOUT 8812,Acquirer payout,\n",   # amount (1000 - 1% fee)
                       "2026-11-22,33.33,,Unknown,\n"])
    result = services.auto_reconcile()
    assert result["matched"] == 2 and result["by_rule"] == {"Reference and exact amount": 1,
                                                             "Exact amount within 3 days": 1}
    assert not is_open_line(lines[0].id) and not is_open_line(lines[1].id) and is_open_line(lines[2].id)
    # the bank entry: bank debited, cash in transit and card clearing credited (gross), fee expensed
    entries = db.session.scalars(sa.select(services.Entry).where(services.Entry.source_type == "finance_match_batch")
                                 .order_by(services.Entry.date)).all()
    assert [lines_of(e) for e in entries] == [{"1000": D("475.00"), "1030": D("-475.00")},
                                              {"1000": D("990.00"), "1120": D("-1000.00"), "6100": D("10.00")}]
    assert services.auto_reconcile()["matched"] == 0  # nothing matched twice
    assert item(f"cash_deposit:{s1}") is not None


def test_amount_outside_the_window_or_wrong_kind_is_not_matched(day):
    statement(["2026-11-28,475.00,,late deposit,\n"])
    assert services.auto_reconcile()["matched"] == 0


def test_rules_are_data(day):
    statement(["2026-11-28,475.00,,late deposit,\n"])
    rule = db.session.scalar(sa.select(MatchRule).where(MatchRule.name == "Exact amount within 3 days"))
    rule.date_window_days = 10
    assert services.auto_reconcile()["matched"] == 1


def test_card_settlement_fee_rounding_is_written_off(day):
    statement(["2026-11-22,989.95,,Acquirer payout,\n"])  # 0.05 less than expected
    result = services.auto_reconcile()
    assert result["by_rule"] == {"Card or wallet settlement, fee rounding within 0.10": 1}
    m = db.session.scalar(sa.select(Match).where(Match.state == "active"))
    assert m.difference == D("-0.05") and m.writeoff_account_id == services.account("6990").id


def test_manual_one_to_many_and_many_to_one(hook, stores):
    for d in (20, 21):
        hook.o2o_pos_session_closed(pos_session=pos_session(
            stores[0].id, cash_sales="100.00", closed_at=dt.datetime(2026, 11, d, 13)))
    a, b = item(f"cash_deposit:{stores[0].id}:2026-11-20"), item(f"cash_deposit:{stores[0].id}:2026-11-21")
    lines = statement(["2026-11-22,200.00,two days,Deposit,\n", "2026-11-23,60.00,,part 1,\n",
                       "2026-11-23,40.00,,part 2,\n"])
    m = services.match([lines[0].id], [a.id, b.id])  # one line, two deposits
    assert (m.bank_amount, m.expected_amount, m.difference) == (D("200.00"), D("200.00"), D("0.00"))
    hook.o2o_pos_session_closed(pos_session=pos_session(
        stores[0].id, cash_sales="100.00", closed_at=dt.datetime(2026, 11, 22, 13)))
    c = item(f"cash_deposit:{stores[0].id}:2026-11-22")
    m2 = services.match([lines[1].id, lines[2].id], [c.id])  # two lines, one deposit
    assert lines_of(db.session.get(services.Entry, m2.entry_id)) == {"1000": D("100.00"), "1030": D("-100.00")}


def test_difference_needs_a_writeoff_within_the_limit(day):
    dep = item(f"cash_deposit:{day[0].id}")
    lines = statement(["2026-11-21,474.00,DEP,Deposit short,\n", "2026-11-21,400.00,DEP2,way off,\n"])
    with pytest.raises(ValidationError, match=r"bank shows 474.00 but 475.00 is expected \(difference -1.00\)"):
        services.match([lines[0].id], [dep.id])
    with pytest.raises(ValidationError, match="more than the write-off limit 5.00"):
        services.match([lines[1].id], [dep.id], writeoff=True)
    m = services.match([lines[0].id], [dep.id], writeoff=True, note="coin counted wrong")
    assert lines_of(db.session.get(services.Entry, m.entry_id)) == {"1000": D("474.00"), "1030": D("-475.00"),
                                                                    "6990": D("1.00")}


def test_nothing_is_matched_twice_and_undo_frees_it(day):
    dep = item(f"cash_deposit:{day[0].id}")
    card = item(f"card_settlement:card:{day[0].id}")
    lines = statement(["2026-11-21,475.00,DEP-F1-20261120,Deposit,\n", "2026-11-21,475.00,,copy,\n"])
    m = services.match([lines[0].id], [dep.id])
    n_matches, n_entries = (db.session.scalar(sa.select(sa.func.count()).select_from(Match)),
                            db.session.scalar(sa.select(sa.func.count()).select_from(services.Entry)))
    with pytest.raises(Conflict, match="statement line of 2026-11-21 for 475.00 .* already matched"):
        services.match([lines[0].id], [card.id], writeoff=True)
    with pytest.raises(Conflict, match="expected item DEP-F1-20261120 .* already matched"):
        services.match([lines[1].id], [dep.id])
    assert (db.session.scalar(sa.select(sa.func.count()).select_from(Match)),
            db.session.scalar(sa.select(sa.func.count()).select_from(services.Entry))) == (n_matches, n_entries)
    # and the database refuses it too
    with pytest.raises(sa.exc.IntegrityError):
        with db.session.begin_nested():
            db.session.execute(sa.insert(MatchLine).values(match_id=m.id, statement_line_id=lines[1].id,
                                                           active_line_id=lines[0].id))
    services.undo_match(m.id)
    undo = services.find_posting("finance_match_undo", m.id)
    assert lines_of(undo) == {"1000": D("-475.00"), "1030": D("475.00")}
    with pytest.raises(Conflict, match="already undone"):
        services.undo_match(m.id)
    assert is_open_line(lines[0].id)
    m2 = services.match([lines[1].id], [dep.id])  # matched again after the undo
    assert m2.state == "active" and services.reconciliation_status()["open_statement_lines"] == 1


def test_undo_of_auto_match(day):
    statement(["2026-11-22,990.00,,payout,\n"])
    services.auto_reconcile()
    m = db.session.scalar(sa.select(Match).where(Match.method == "auto"))
    services.undo_match(m.id)
    assert lines_of(services.find_posting("finance_match_undo", m.id)) == {"1000": D("-990.00"),
                                                                           "1120": D("1000.00"),
                                                                           "6100": D("-10.00")}
    assert services.auto_reconcile()["matched"] == 1


def test_supplier_payment_matched_by_reference(hook, stores):
    from types import SimpleNamespace as NS
    hook.o2o_vendor_bill_posted(bill=NS(id=4242, number="BILL-9", supplier_id=None, supplier_ref="INV-778",
                                        bill_date=dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 21),
                                        net_total=D("45.00"), tax_total=D("5.85"), total=D("50.85"), lines=[]))
    statement(["2026-11-22,-50.85,INV-778,Payment to supplier,\n"])
    assert services.auto_reconcile()["by_rule"] == {"Reference and exact amount": 1}
    e = db.session.scalar(sa.select(services.Entry).where(services.Entry.source_type == "finance_match_batch"))
    assert lines_of(e) == {"1000": D("-50.85"), "2000": D("50.85")}


def test_auto_reconcile_does_not_compare_all_with_all(hook, stores):
    """Many lines and items: the sorted/hashed join stays fast (no pairwise loop)."""
    import time
    rows = []
    items = []
    for i in range(2000):
        d = dt.date(2026, 11, 1) + dt.timedelta(days=i % 28)
        items.append(dict(key=f"t:{i}", kind="card_settlement", date=d, gross=D(i + 1000) / 100,
                          fee=D(0), amount=D(i + 1000) / 100, account_id=services.account("1120").id,
                          store_id=stores[0].id, reference=None))
        rows.append(f"{d + dt.timedelta(days=1)},{D(i + 1000) / 100},,payout {i},\n")
    db.session.execute(sa.insert(ExpectedItem), items)
    statement(rows, name="big.csv")
    started = time.perf_counter()
    result = services.auto_reconcile()
    assert result["matched"] == 2000
    assert time.perf_counter() - started < 20
