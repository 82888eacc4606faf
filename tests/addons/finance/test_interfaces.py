"""Admin screens, JSON API and CLI of finance."""
import datetime as dt
import io
from decimal import Decimal as D

import sqlalchemy as sa

from addons.finance import services
from addons.finance.models import Entry, Match, Statement, StatementLine
from core.db import db
from tests.addons.finance.helpers import entries_count, order, pos_session

HEAD = "date,amount,reference,description,counterparty\n"
CSV = HEAD + "2026-11-21,475.00,DEP-F1-20261120,Deposit,\n2026-11-22,9.99,,Unknown,\n"


def test_admin_pages_load_for_finance_staff(client_as, hook, stores):
    hook.o2o_order_paid(order=order(stores[0].id, [("card", "10.00")]))
    client = client_as(superuser=True)
    for url in ("/admin/finance_entry/", "/admin/finance_entry_line/", "/admin/finance_account/",
                "/admin/finance_journal/", "/admin/finance_period/", "/admin/finance_account_role/",
                "/admin/finance_payment_method_account/", "/admin/finance_tax_account/",
                "/admin/finance_store_journal/", "/admin/finance/reconcile/", "/admin/finance/import/",
                "/admin/finance_statement/", "/admin/finance_statement_line/", "/admin/finance_expected/",
                "/admin/finance_match/", "/admin/finance_match_rule/", "/admin/finance_bank_account/",
                "/admin/finance_csv_format/", "/admin/finance/reports/"):
        assert client.get(url).status_code == 200, url
    entry = db.session.scalar(sa.select(Entry))
    assert client.get(f"/admin/finance_entry/details/?id={entry.id}").status_code == 200
    assert client.get("/admin/finance_entry/edit/?id=%s" % entry.id).status_code in (302, 403)


def test_admin_needs_permissions(client_as):
    client = client_as("finance.account.read")
    assert client.get("/admin/finance_account/").status_code == 200
    assert client.get("/admin/finance/reconcile/").status_code == 403
    assert client.get("/admin/finance/import/").status_code == 403


def test_admin_import_then_match_by_hand_then_undo(client_as, hook, stores):
    hook.o2o_pos_session_closed(pos_session=pos_session(stores[0].id, cash_sales="475.00"))
    client = client_as("finance.statement.import", "finance.reconcile", "finance.match.read")
    r = client.submit("/admin/finance/import/", {"bank": "MAIN", "format": "csv",
                                                 "file": (io.BytesIO(CSV.encode()), "nov.csv")},
                      content_type="multipart/form-data")
    assert r.status_code == 302
    r = client.submit("/admin/finance/import/", {"bank": "MAIN", "file": (io.BytesIO(CSV.encode()), "nov.csv")},
                      content_type="multipart/form-data")
    assert r.status_code == 422 and b"already imported" in r.data
    bad = CSV.replace("9.99", "nine")
    r = client.submit("/admin/finance/import/", {"bank": "MAIN", "file": (io.BytesIO(bad.encode()), "bad.csv")},
                      content_type="multipart/form-data")
    assert r.status_code == 422 and b"line 3: the amount" in r.data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Statement)) == 1
    page = client.get("/admin/finance/reconcile/").get_data(as_text=True)
    assert "DEP-F1-20261120" in page and "Unknown" in page
    line = db.session.scalar(sa.select(StatementLine).where(StatementLine.amount == D("475.00")))
    item = db.session.scalar(sa.select(services.ExpectedItem).where(services.ExpectedItem.kind == "cash_deposit"))
    r = client.submit("/admin/finance/reconcile/", {"line_id": str(line.id), "expected_id": str(item.id)},
                      post_url="/admin/finance/reconcile/match")
    assert r.status_code == 302
    m = db.session.scalar(sa.select(Match))
    assert m.state == "active"
    r = client.submit("/admin/finance/reconcile/", {}, post_url=f"/admin/finance/reconcile/undo/{m.id}")
    assert r.status_code == 302
    db.session.refresh(m)
    assert m.state == "undone"
    r = client.submit("/admin/finance/reconcile/", {}, post_url="/admin/finance/reconcile/auto")
    assert r.status_code == 302 and services.reconciliation_status()["open_statement_lines"] == 1


def test_api_entries_and_bad_input(api_client):
    api = api_client("finance.entry.read", "finance.post_manual", "finance.entry.reverse", "finance.entry.edit")
    before = entries_count()
    r = api.post("/api/v1/finance/entries", json={"journal": "MISC", "date": "2026-11-20", "lines": [
        {"account": "1000", "debit": "10.00"}, {"account": "3000", "credit": "9.00"}]})
    assert r.status_code == 422 and "does not balance" in r.json["detail"]
    assert entries_count() == before
    r = api.post("/api/v1/finance/entries", json={"journal": "MISC", "date": "2026-11-20", "lines": [
        {"account": "1000", "debit": "10.00"}, {"account": "3000", "credit": "10.00"}]})
    assert r.status_code == 201, r.json
    entry_id = r.json["id"]
    r = api.patch(f"/api/v1/finance/entries/{entry_id}", json={})
    assert r.status_code == 409 and "post a reversal" in r.json["detail"]
    r = api.post(f"/api/v1/finance/entries/{entry_id}/reverse", json={})
    assert r.status_code == 201 and r.json["reversal_of_id"] == entry_id
    r = api.get(f"/api/v1/finance/entries?source_type=reversal&source_id={entry_id}")
    assert [e["reversal_of_id"] for e in r.json["items"]] == [entry_id]
    services.lock_period("2026-09", dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    r = api.post("/api/v1/finance/entries", json={"journal": "MISC", "date": "2026-09-20", "lines": [
        {"account": "1000", "debit": "1"}, {"account": "3000", "credit": "1"}]})
    assert r.status_code == 409 and "locked" in r.json["detail"]


def test_api_statement_reconcile_and_report(api_client, hook, stores):
    hook.o2o_pos_session_closed(pos_session=pos_session(stores[0].id, cash_sales="475.00"))
    api = api_client("finance.statement.import", "finance.reconcile", "finance.report")
    r = api.post("/api/v1/finance/statements", json={"bank": "MAIN", "filename": "a.csv", "content": CSV})
    assert r.status_code == 201 and r.json["lines"] == 2
    r = api.post("/api/v1/finance/statements", json={"bank": "MAIN", "filename": "a.csv", "content": CSV})
    assert r.status_code == 409
    r = api.post("/api/v1/finance/reconcile/auto", json={})
    assert r.status_code == 200 and r.json["matched"] == 1
    line = db.session.scalar(sa.select(StatementLine).where(StatementLine.amount == D("475.00")))
    item = db.session.scalar(sa.select(services.ExpectedItem).where(services.ExpectedItem.kind == "cash_deposit"))
    r = api.post("/api/v1/finance/matches", json={"statement_line_ids": [line.id], "expected_item_ids": [item.id]})
    assert r.status_code == 409 and "already matched" in r.json["detail"]
    r = api.get(f"/api/v1/finance/reports/reconciliation?store_id={stores[0].id}&date_from=2026-11-01"
                f"&date_to=2026-11-30")
    assert r.status_code == 200 and r.json["matched_count"] == 1 and r.json["unmatched_bank_total"] == "9.99"
    r = api.get(f"/api/v1/finance/reports/reconciliation.pdf?store_id={stores[0].id}&date_from=2026-11-01"
                f"&date_to=2026-11-30")
    assert r.status_code == 200 and r.data[:4] == b"%PDF"


def test_api_store_limited_user(api_client, stores):
    api = api_client("finance.report", stores=[stores[1]])
    r = api.get(f"/api/v1/finance/reports/reconciliation?store_id={stores[0].id}&date_from=2026-11-01"
                f"&date_to=2026-11-30")
    assert r.status_code == 403


def test_cli_import_reconcile_report_backfill(app, hook, stores, tmp_path):
    hook.o2o_pos_session_closed(pos_session=pos_session(stores[0].id, cash_sales="475.00"))
    runner = app.test_cli_runner()
    path = tmp_path / "nov.csv"
    path.write_text(CSV)
    r = runner.invoke(args=["finance", "import-statement", str(path), "--bank", "MAIN"])
    assert r.exit_code == 0 and "imported 2 lines" in r.output, r.output
    r = runner.invoke(args=["finance", "import-statement", str(path), "--bank", "MAIN"])
    assert r.exit_code == 1 and "already imported" in r.output
    r = runner.invoke(args=["finance", "reconcile"])
    assert r.exit_code == 0 and "matched 1 statement lines" in r.output and "1 statement lines, 0 expected" in r.output
    out = tmp_path / "rec.pdf"
    r = runner.invoke(args=["finance", "report", "reconciliation", "--store", "F1", "--from", "2026-11-01",
                            "--to", "2026-11-30", "-o", str(out)])
    assert r.exit_code == 0 and out.read_bytes()[:4] == b"%PDF", r.output
    r = runner.invoke(args=["finance", "report", "trial-balance", "--from", "2026-11-01", "--to", "2026-11-30",
                            "-o", str(tmp_path / "tb.pdf")])
    assert r.exit_code == 0 and "pages" in r.output
    r = runner.invoke(args=["finance", "report", "reconciliation", "--store", "NOPE", "--from", "2026-11-01",
                            "--to", "2026-11-30", "-o", str(out)])
    assert r.exit_code == 1 and "no store with code NOPE" in r.output
    r = runner.invoke(args=["finance", "backfill", "--since", "2026-10-01"])
    assert r.exit_code == 0 and "found 0 documents, posted 0" in r.output
    r = runner.invoke(args=["finance", "lock-period", "2026-10", "--from", "2026-10-01", "--to", "2026-10-31"])
    assert r.exit_code == 0 and "locked 2026-10" in r.output
