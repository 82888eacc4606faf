"""Admin screens of manual entries, bank booking, statement balances, payment runs, ageing."""
import datetime as dt
from decimal import Decimal as D

import sqlalchemy as sa

from addons.finance import manual_entries as me, payment_runs as pr, services
from addons.finance.models import ManualEntry, PaymentRun, StatementLine
from core.db import db
from tests.addons.finance.test_bank_payments import balance, bill, books_balance, supplier


def test_admin_pages_load(client_as, hook):
    a = supplier("华东供应商")
    bill(hook, a, "113.00", bill_date=dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 10))
    draft = me.create_manual_entry(date=dt.date(2026, 11, 20), actor="x", lines=[
        {"account": "6100", "debit": "5"}, {"account": "2900", "credit": "5"}])
    run = pr.create_payment_run(due_by=dt.date(2026, 11, 30))
    client = client_as(superuser=True)
    for url in ("/admin/finance_manual_entry/", f"/admin/finance_manual_entry/details/?id={draft.id}",
                f"/admin/finance_manual_entry/edit/?id={draft.id}", "/admin/finance_manual_entry/new/",
                "/admin/finance_payment_run/", f"/admin/finance_payment_run/details/?id={run.id}",
                "/admin/finance_payment_run/select/?due_by=2026-11-30", "/admin/finance_partner_bank/",
                "/admin/finance_bank_rule/", "/admin/finance_bank_rule/new/", "/admin/finance/ageing/?as_of=2026-11-30",
                "/admin/finance/reconcile/"):
        r = client.get(url)
        assert r.status_code == 200, url
    page = client.get("/admin/finance/ageing/?as_of=2026-11-30").get_data(as_text=True)
    assert "华东供应商" in page and "113.00" in page
    r = client.get("/admin/finance/ageing/ageing.pdf?as_of=2026-11-30")
    assert r.status_code == 200 and r.data[:4] == b"%PDF"


def test_admin_manual_entry_actions_four_eyes(client_as):
    anna = client_as("finance.manual.*", "finance.post_manual", username="anna")
    ben = client_as("finance.manual.*", "finance.post_manual", username="ben")
    big = me.create_manual_entry(date=dt.date(2026, 11, 20), actor="anna", lines=[
        {"account": "1000", "debit": "20000"}, {"account": "3000", "credit": "20000"}])
    db.session.commit()
    url = "/admin/finance_manual_entry/"
    r = anna.submit(url, {"action": "post", "rowid": str(big.id)}, post_url=url + "action/")
    assert r.status_code == 302 and big.state == "draft"
    r = anna.submit(url, {"action": "approve", "rowid": str(big.id)}, post_url=url + "action/")
    db.session.refresh(big)
    assert big.approved_by is None
    ben.submit(url, {"action": "approve", "rowid": str(big.id)}, post_url=url + "action/")
    db.session.refresh(big)
    assert big.approved_by == "ben"
    anna.submit(url, {"action": "post", "rowid": str(big.id)}, post_url=url + "action/")
    db.session.refresh(big)
    assert big.state == "posted" and balance("1000") == D("20000.00")
    # a posted entry's form refuses a change
    r = anna.submit(f"{url}edit/?id={big.id}", {"journal": str(big.journal_id), "date": "2026-11-21",
                                               "memo": "changed"})
    db.session.refresh(big)
    assert big.memo is None and big.date == dt.date(2026, 11, 20)
    reader = client_as("finance.manual.read")
    reader.submit(url, {"action": "reverse", "rowid": str(big.id)}, post_url=url + "action/")
    db.session.refresh(big)
    assert big.state == "posted"


def test_admin_book_lines_and_statement_list(client_as, stores):
    services.import_statement(b"date,amount,reference,description,counterparty\n2026-11-22,-12.50,,Charges,\n",
                              filename="n.csv", bank_code="MAIN", opening_balance="100.00", closing_balance="80.00")
    client = client_as("finance.reconcile", "finance.statement.read")
    page = client.get("/admin/finance/reconcile/").get_data(as_text=True)
    assert "statement-mismatches" in page
    page = client.get("/admin/finance_statement/").get_data(as_text=True)
    assert 'data-balance-state="mismatch"' in page and "87.50" in page
    line = db.session.scalar(sa.select(StatementLine))
    r = client.submit("/admin/finance/reconcile/", {"line_id": str(line.id), "account": "6100",
                                                    "store_id": str(stores[0].id)},
                      post_url="/admin/finance/reconcile/book")
    assert r.status_code == 302 and balance("6100") == D("12.50")
    books_balance()


def test_admin_payment_run_flow(client_as, hook):
    a = supplier("Delta")
    bill(hook, a, "226.00", bill_date=dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 10))
    clerk = client_as("finance.payment_run.*")
    r = clerk.submit("/admin/finance_payment_run/select/?due_by=2026-11-30",
                     {"due_by": "2026-11-30", "bank": "MAIN", "payment_date": "2026-11-25", "via": "clearing"})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    run = db.session.scalar(sa.select(PaymentRun))
    url = "/admin/finance_payment_run/"
    for name in ("approve", "export", "post"):
        r = clerk.submit(url, {"action": name, "rowid": str(run.id)}, post_url=url + "action/")
        if name == "export":
            assert r.status_code == 200 and r.data.startswith(b"\xef\xbb\xbf") and b"Delta" in r.data
    db.session.refresh(run)
    assert run.state == "posted" and balance("2000") == 0 and balance("1040") == D("-226.00")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ManualEntry)) == 0


def test_balance_mismatch_in_reconciliation_screen_and_pdf(client_as, stores):
    from pypdf import PdfReader
    import io
    from addons.finance.reports import reconciliation_pdf
    services.import_statement(b"date,amount,reference,description,counterparty\n2026-11-22,-12.50,,Charges,\n",
                              filename="n.csv", bank_code="MAIN", opening_balance="100.00", closing_balance="80.00")
    client = client_as("finance.report")
    page = client.get(f"/admin/finance/reports/?store_id={stores[0].id}&date_from=2026-11-01&date_to=2026-11-30"
                      ).get_data(as_text=True)
    assert 'data-balance-state="mismatch"' in page and "87.50" in page
    pdf, _pages = reconciliation_pdf(stores[0].id, "2026-11-01", "2026-11-30")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "MISMATCH" in text and "87.50" in text
