"""Reconciliation, trial balance and journal PDFs print Chinese store, account, bank and
document names, and Chinese headings for a Chinese reader."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from addons.finance import services
from core.db import db
from tests.addons.finance.helpers import order, pos_session
from tests.pdfcheck import CHINESE, assert_chinese, assert_glyphs_drawn

HEAD = "date,amount,reference,description,counterparty\n"
D0, D1 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
PERIOD = f"date_from={D0}&date_to={D1}"


@pytest.fixture
def books(hook, stores):
    from addons.finance.models import Account
    store = stores[0]
    store.name = CHINESE["store"]
    hook.o2o_order_paid(order=order(store.id, [("cash", "480.00")], number="静安店-小票-0001"))
    hook.o2o_order_paid(order=order(store.id, [("card", "1000.00")]))
    hook.o2o_pos_session_closed(pos_session=pos_session(store.id, cash_sales="480.00", counted="575.00",
                                                        name="静安店-一号收银台-7"))
    services.import_statement((HEAD + f"2026-11-22,77.70,退款-88,{CHINESE['supplier']}退款 {CHINESE['user']}经手,\n")
                              .encode(), filename="b.csv", bank_code="MAIN")
    services.auto_reconcile()
    for account in db.session.scalars(sa.select(Account)):
        if account.type in ("asset", "income"):
            account.name = f"{account.name} 中文科目"
    db.session.commit()
    return store


def test_reconciliation_pdf_prints_chinese(books, api_client):
    client = api_client("finance.report")
    r = client.get(f"/api/v1/finance/reports/reconciliation.pdf?store_id={books.id}&{PERIOD}&detail=true")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = assert_chinese(r.data, CHINESE["store"], f"{CHINESE['supplier']}退款", f"{CHINESE['user']}经手",
                          "静安店-小票-0001")
    assert "Reconciliation" in text and "Takings sale by sale" in text
    assert_glyphs_drawn(r.data, CHINESE["supplier"])


def test_trial_balance_and_journal_pdfs_print_chinese(books, api_client):
    client = api_client("finance.report")
    r = client.get(f"/api/v1/finance/reports/trial-balance.pdf?{PERIOD}")
    assert r.status_code == 200
    assert_chinese(r.data, "中文科目")
    assert_glyphs_drawn(r.data, "中文科目")
    r = client.get(f"/api/v1/finance/reports/journal.pdf?{PERIOD}")
    assert r.status_code == 200
    text = assert_chinese(r.data, "中文科目", "静安店-一号收银台-7")
    assert "entries" in text


def test_finance_pdf_headings_in_chinese(books, api_client):
    client = api_client("finance.report")
    zh = {"Accept-Language": "zh-CN"}
    r = client.get(f"/api/v1/finance/reports/trial-balance.pdf?{PERIOD}", headers=zh)
    text = assert_chinese(r.data, "试算平衡表")
    assert "Trial balance" not in text
    assert_glyphs_drawn(r.data, "试算平衡表")
    r = client.get(f"/api/v1/finance/reports/reconciliation.pdf?store_id={books.id}&{PERIOD}", headers=zh)
    text = assert_chinese(r.data, "签字确认", CHINESE["store"])
    assert "Sign-off" not in text
