"""Finance staff book what the bank shows: manual entries (four eyes above a limit), bank
charges booked by hand and by rule, statement balances checked, supplier payment runs
through to the bank statement, and the AP ageing equal to the payable account."""
import datetime as dt
from decimal import Decimal as D
from types import SimpleNamespace as NS

import pytest
import sqlalchemy as sa

from addons.finance import ageing, bank_rules, manual_entries as me, payment_runs as pr, services
from addons.finance import statement_balances as sb
from addons.finance.models import (BankLineRule, CsvFormat, Entry, EntryLine, ExpectedItem, ManualEntry, Match,
                                   PartnerBankAccount, PaymentRun, Statement, StatementLine)
from core.db import db
from core.errors import Conflict, ValidationError
from tests.addons.finance.helpers import entries_count, next_id

API = "/api/v1/finance"


def balance(code, date=None):
    """Debits less credits of an account (all dates, or up to ``date``)."""
    q = (sa.select(sa.func.coalesce(sa.func.sum(EntryLine.debit - EntryLine.credit), 0))
         .join(services.Account, services.Account.id == EntryLine.account_id).where(services.Account.code == code))
    if date:
        q = q.where(EntryLine.date <= date)
    return services.money(db.session.scalar(q))


def books_balance():
    tb = services.trial_balance()
    assert tb["balanced"], tb
    for e in db.session.scalars(sa.select(Entry)):
        assert e.total_debit == sum((ln.credit for ln in e.lines), D("0")), e.number


def supplier(name, bank=None):
    from core.models import Partner
    p = Partner(name=name, is_supplier=True)
    db.session.add(p)
    db.session.flush()
    if bank:
        db.session.add(PartnerBankAccount(partner_id=p.id, account_number=bank))
        db.session.flush()
    return p


def bill(hook, partner, total, *, bill_date, due_date, ref=None):
    total = D(total)
    net = (total / D("1.13")).quantize(D("0.01"))
    bid = next_id()
    hook.o2o_vendor_bill_posted(bill=NS(id=bid, number=f"BILL-{bid}", supplier_id=partner.id, net_total=net,
                                        tax_total=total - net, total=total, bill_date=bill_date, due_date=due_date,
                                        supplier_ref=ref or f"INV-{bid}"))
    return bid


# --- manual journal entries ----------------------------------------------------------------

def test_manual_entry_draft_post_reverse(app):
    draft = me.create_manual_entry(journal="MISC", date=dt.date(2026, 11, 20), memo="Accrual", actor="anna",
                                   lines=[{"account": "6100", "debit": "120.00"}, {"account": "2900", "credit": "100"}])
    assert draft.state == "draft" and draft.number.startswith("MJ-")
    before = entries_count()
    with pytest.raises(ValidationError, match="does not balance"):
        me.post_manual_entry(draft.id, actor="anna")
    assert entries_count() == before and draft.state == "draft"
    me.update_manual_entry(draft.id, lines=[{"account": "6100", "debit": "120.00", "label": "电费"},
                                            {"account": "2900", "credit": "120.00"}])
    me.post_manual_entry(draft.id, actor="anna")
    assert draft.state == "posted" and draft.posted_by == "anna"
    entry = db.session.get(Entry, draft.entry_id)
    assert (entry.source_type, entry.source_id, entry.state) == ("manual_entry", draft.id, "posted")
    with pytest.raises(Conflict, match="only a draft"):
        me.update_manual_entry(draft.id, memo="changed")
    me.reverse_manual_entry(draft.id, actor="ben")
    assert draft.state == "reversed" and draft.reversed_by == "ben"
    rev = db.session.get(Entry, draft.reversal_entry_id)
    assert rev.reversal_of_id == entry.id
    assert balance("6100") == 0 and balance("2900") == 0
    with pytest.raises(Conflict):
        me.reverse_manual_entry(draft.id)
    books_balance()


def test_second_person_above_the_limit(app, api_client):
    anna = api_client("finance.manual.*", "finance.post_manual")
    ben = api_client("finance.manual.read", "finance.post_manual")
    body = {"journal": "MISC", "date": "2026-11-20", "memo": "Opening balance 期初余额",
            "lines": [{"account": "1000", "debit": "25000.00"}, {"account": "3000", "credit": "25000.00"}]}
    r = anna.post(f"{API}/manual-entries", json=body)
    assert r.status_code == 201 and r.json["needs_second_person"] is True, r.json
    entry_id = r.json["id"]
    before = entries_count()
    r = anna.post(f"{API}/manual-entries/{entry_id}/post")
    assert r.status_code == 409 and "second person" in r.json["detail"]
    r = anna.post(f"{API}/manual-entries/{entry_id}/approve")
    assert r.status_code == 409 and "second person" in r.json["detail"]
    r = ben.post(f"{API}/manual-entries/{entry_id}/approve")
    assert r.status_code == 200 and r.json["approved_by"] == ben.user.username
    r = ben.post(f"{API}/manual-entries/{entry_id}/approve")
    assert r.status_code == 409 and "already approved" in r.json["detail"]
    assert entries_count() == before
    # the direct route cannot go round the rule
    r = anna.post(f"{API}/entries", json=body)
    assert r.status_code == 409 and entries_count() == before
    r = anna.post(f"{API}/manual-entries/{entry_id}/post")
    assert r.status_code == 200 and r.json["state"] == "posted" and r.json["posted_by"] == anna.user.username
    assert balance("1000") == D("25000.00")
    # without the permission: 403
    reader = api_client("finance.manual.read")
    r = reader.post(f"{API}/manual-entries/{entry_id}/post")
    assert r.status_code == 403


def test_entry_reversed_elsewhere_is_not_reversed_twice(app):
    small = me.create_manual_entry(date=dt.date(2026, 11, 20), actor="a", lines=[
        {"account": "6100", "debit": "7"}, {"account": "2900", "credit": "7"}])
    me.post_manual_entry(small.id)
    services.reverse_entry(small.entry_id)  # the journal entries screen's "Reverse"
    before = entries_count()
    me.reverse_manual_entry(small.id)
    assert small.state == "reversed" and entries_count() == before and balance("6100") == 0


def test_changing_an_approved_draft_takes_the_approval_back(app):
    big = me.create_manual_entry(date=dt.date(2026, 11, 20), actor="anna",
                                 lines=[{"account": "1000", "debit": "50000"}, {"account": "3000", "credit": "50000"}])
    me.approve_manual_entry(big.id, actor="ben")
    me.update_manual_entry(big.id, lines=[{"account": "1000", "debit": "90000"}, {"account": "3000", "credit": "90000"}])
    assert big.approved_by is None
    with pytest.raises(Conflict, match="second person"):
        me.post_manual_entry(big.id, actor="anna")


def test_manual_entry_bad_input_changes_nothing(app, api_client):
    api = api_client("finance.manual.*", "finance.post_manual", "finance.entry.reverse")
    count = db.session.scalar(sa.select(sa.func.count()).select_from(ManualEntry))
    ok_lines = [{"account": "1000", "debit": "1"}, {"account": "3000", "credit": "1"}]
    bad = [
        {"lines": [{"account": "1000", "debit": "1", "partner_id": 2 ** 40}]},
        {"store_id": 2 ** 33, "lines": ok_lines},
        {"memo": "a\x00b", "lines": ok_lines},
        {"lines": [{"account": "10\x000", "debit": "1"}]},
        {"lines": [{"account": "1000", "debit": "1e30"}, {"account": "3000", "credit": "1e30"}]},
        {"lines": [{"account": "1000", "debit": "-5"}]},
        {"lines": [{"account": "1000", "debit": "1.001"}]},
        {"lines": [{"account": "NOPE", "debit": "1"}]},
        {"lines": [{"account": "1000", "debit": "1", "credit": "1"}]},
        {"journal": "NOPE", "lines": ok_lines},
        {"lines": ok_lines, "extra": 1},
    ]
    for body in bad:
        r = api.post(f"{API}/manual-entries", json=body)
        assert 400 <= r.status_code < 500, (body, r.status_code, r.json)
        assert r.json["detail"]
    for url in (f"{API}/manual-entries/{2 ** 40}", f"{API}/manual-entries/99999999999999999999/post",
                f"{API}/payment-runs/{2 ** 40}", f"{API}/statements/{2 ** 40}"):
        r = api.get(url) if not url.endswith("/post") else api.post(url)
        assert 400 <= r.status_code < 500, (url, r.status_code)
    r = api.post(f"{API}/statement-lines/{2 ** 40}/book", json={"account": "6100"})
    assert 400 <= r.status_code < 500
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ManualEntry)) == count


def test_post_manual_is_the_permission(app):
    from core.auth import permissions
    codes = permissions(app)
    assert "finance.post_manual" in codes and "finance.payment_run.approve" in codes
    assert "finance.entry.post" not in codes  # renamed; finance_0003 moves the roles' grants


def test_migration_moves_old_grants(app):
    """finance_0003's data step on a role holding the old code (and one holding both)."""
    import importlib
    from core.auth.models import Role, RolePermission
    old = Role(code="old_finance", name="Old finance", permissions=[RolePermission(code="finance.entry.post")])
    both = Role(code="both_finance", name="Both", permissions=[RolePermission(code="finance.entry.post"),
                                                               RolePermission(code="finance.post_manual")])
    db.session.add_all([old, both])
    db.session.flush()
    mod = importlib.import_module("addons.finance.migrations.versions.finance_0003_bank_payments")
    mod.move_grants(db.session.connection())
    db.session.expire_all()
    assert {p.code for p in db.session.get(Role, old.id).permissions} == {"finance.post_manual"}
    assert {p.code for p in db.session.get(Role, both.id).permissions} == {"finance.post_manual"}


# --- bank charges: by hand and by rule -------------------------------------------------------

CSV = ("date,amount,reference,description,counterparty\n"
       "2026-11-21,475.00,DEP-X,Cash deposit,Store F1\n"
       "2026-11-22,-12.50,,Account charges November,Bank\n"
       "2026-11-23,3.21,,Interest 利息,Bank\n")


def test_book_a_line_by_hand_and_undo(app, api_client, stores):
    services.import_statement(CSV.encode(), filename="nov.csv", bank_code="MAIN")
    line = db.session.scalar(sa.select(StatementLine).where(StatementLine.amount == D("3.21")))
    api = api_client("finance.reconcile")
    r = api.post(f"{API}/statement-lines/{line.id}/book", json={"account": "1000"})
    assert r.status_code == 422  # the bank's own account
    r = api.post(f"{API}/statement-lines/{line.id}/book", json={"account": "4900", "store_id": stores[0].id,
                                                                 "label": "Interest"})
    assert r.status_code == 201, r.json
    entry = db.session.get(Entry, r.json["entry_id"])
    assert {(ln.account.code, ln.debit, ln.credit, ln.store_id) for ln in entry.lines} == {
        ("1000", D("3.21"), D("0"), stores[0].id), ("4900", D("0"), D("3.21"), stores[0].id)}
    r = api.post(f"{API}/statement-lines/{line.id}/book", json={"account": "4900"})
    assert r.status_code == 409 and "already matched" in r.json["detail"]
    services.undo_match(r.json and db.session.scalar(sa.select(Match.id).where(Match.entry_id == entry.id)))
    assert balance("4900") == 0 and balance("1000") == 0
    assert line.id in {ln.id for ln in db.session.scalars(services.open_lines_query())}
    books_balance()


def test_auto_reconcile_books_fee_lines_by_rule_once(app, stores):
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        bank_rules.create_bank_rule(name="broken", pattern="charges(", account="6100")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BankLineRule)) == 0
    bank_rules.create_bank_rule(name="Bank charges to 6100", pattern=r"charges?\b", account="6100", bank="MAIN",
                                sign="debit", amount_max=D("100"), field="description")
    bank_rules.create_bank_rule(name="Big interest", pattern="interest", account="4900", sign="credit",
                                amount_min=D("1000"))
    services.import_statement(CSV.encode(), filename="nov.csv", bank_code="MAIN")
    result = services.auto_reconcile()
    assert result["booked"] == 1 and result["by_bank_rule"] == {"Bank charges to 6100": 1}
    assert balance("6100") == D("12.50") and balance("1000") == D("-12.50")
    again = services.auto_reconcile()
    assert again["booked"] == 0 and again["matched"] == 0
    assert balance("6100") == D("12.50")
    # the interest line is below the rule's range: still open
    open_amounts = {ln.amount for ln in db.session.scalars(services.open_lines_query())}
    assert open_amounts == {D("475.00"), D("3.21")}
    books_balance()


def test_bank_rule_bad_input(app, api_client):
    api = api_client("finance.bank_rule.*")
    for body in ({"name": "x", "pattern": "(", "account": "6100"},
                 {"name": "x", "pattern": "a\x00", "account": "6100"},
                 {"name": "x", "pattern": "fee", "account": "NOPE"},
                 {"name": "x", "pattern": "fee", "account": "6100", "sign": "sideways"},
                 {"name": "x", "pattern": "fee", "account": "6100", "amount_min": "5", "amount_max": "1"},
                 {"name": "x", "pattern": "fee", "account": "6100", "store_id": 2 ** 40},
                 {"name": "x", "pattern": "fee", "account": "6100", "amount_max": "1e20"}):
        r = api.post(f"{API}/bank-rules", json=body)
        assert 400 <= r.status_code < 500, (body, r.json)
    r = api.post(f"{API}/bank-rules", json={"name": "Fees", "pattern": "fee", "account": "6100"})
    assert r.status_code == 201
    assert [x["name"] for x in api.get(f"{API}/bank-rules").json] == ["Fees"]


# --- statement balances ----------------------------------------------------------------------

def camt(opening, closing, entries, *, open_code="OPBD", close_code="CLBD", msg="M1"):
    def bal(code, amount):
        ind = "DBIT" if D(amount) < 0 else "CRDT"
        return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy='CNY'>{abs(D(amount))}</Amt>"
                f"<CdtDbtInd>{ind}</CdtDbtInd><Dt><Dt>2026-11-20</Dt></Dt></Bal>")
    ntry = "".join(
        f"<Ntry><Amt Ccy='CNY'>{abs(D(a))}</Amt><CdtDbtInd>{'DBIT' if D(a) < 0 else 'CRDT'}</CdtDbtInd>"
        f"<BookgDt><Dt>{d}</Dt></BookgDt><AcctSvcrRef>{msg}-{i}</AcctSvcrRef><AddtlNtryInf>{t}</AddtlNtryInf></Ntry>"
        for i, (d, a, t) in enumerate(entries))
    return (f"<?xml version='1.0'?><Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.02'>"
            f"<BkToCstmrStmt><Stmt><Id>{msg}</Id><Acct><Id><IBAN>CN00TEST</IBAN></Id></Acct>"
            f"{bal(open_code, opening)}{bal(close_code, closing)}{ntry}</Stmt></BkToCstmrStmt></Document>").encode()


def test_camt_balances_read_and_checked(app):
    s1 = services.import_statement(camt("1000.00", "1462.50", [("2026-11-21", "475.00", "Deposit"),
                                                               ("2026-11-22", "-12.50", "Charges")]),
                                   filename="s1.xml", bank_code="MAIN")
    assert (s1.opening_balance, s1.closing_balance) == (D("1000.00"), D("1462.50"))
    check = sb.balance_checks([s1])[s1.id]
    assert check["checks"]["adds_up"] is True
    # the books know nothing of the 1000.00 yet: shown, not refused
    assert check["checks"]["agrees_with_books"] is False and check["state"] == "mismatch"
    me.post_manual_entry(me.create_manual_entry(date=dt.date(2026, 11, 1), actor="a", lines=[
        {"account": "1000", "debit": "1000"}, {"account": "3000", "credit": "1000"}]).id)
    bank_rules.create_bank_rule(name="charges", pattern="charges", account="6100")
    line = db.session.scalar(sa.select(StatementLine).where(StatementLine.amount == D("475.00")))
    bank_rules.book_statement_line(line.id, "2900")
    services.auto_reconcile()
    check = sb.balance_checks([s1])[s1.id]
    assert check["state"] == "ok" and check["book_balance"] == D("1462.50"), check
    # fallbacks PRCD / CLAV, a statement that does not add up and does not follow the last one
    s2 = services.import_statement(camt("1400.00", "1500.00", [("2026-11-24", "50.00", "x")], open_code="PRCD",
                                        close_code="CLAV", msg="M2"), filename="s2.xml", bank_code="MAIN")
    assert (s2.opening_balance, s2.closing_balance) == (D("1400.00"), D("1500.00"))
    check = sb.balance_checks([s2])[s2.id]
    assert check["state"] == "mismatch"
    assert check["checks"]["adds_up"] is False and check["checks"]["continues_previous"] is False
    text = " ".join(str(x) for x in check["messages"])
    assert "difference 50.00" in text and "previous statement" in text


def test_csv_balances_column_and_form_fields(app, api_client, stores):
    fmt = db.session.scalar(sa.select(CsvFormat).where(CsvFormat.code == "generic"))
    fmt.balance_column = "balance"
    data = ("date,amount,reference,description,counterparty,balance\n"
            "2026-11-21,100.00,A,x,,600.00\n2026-11-22,-20.00,B,y,,580.00\n").encode()
    s = services.import_statement(data, filename="b.csv", bank_code="MAIN")
    assert (s.opening_balance, s.closing_balance) == (D("500.00"), D("580.00"))
    fmt.balance_column = None
    api = api_client("finance.statement.import", "finance.statement.read", "finance.report")
    r = api.post(f"{API}/statements", json={"bank": "MAIN", "filename": "c.csv", "opening_balance": "580.00",
                                            "closing_balance": "999.00",
                                            "content": "date,amount,reference,description,counterparty\n"
                                                       "2026-11-25,10.00,C,z,\n"})
    assert r.status_code == 201 and r.json["balance_state"] == "mismatch", r.json
    assert r.json["balance_checks"]["adds_up"] is False and r.json["balance_checks"]["continues_previous"] is True
    assert any("999.00" in x for x in r.json["balance_messages"])
    r = api.get(f"{API}/statements?bank=MAIN")
    assert r.status_code == 200 and [x["balance_state"] for x in r.json["items"]][0] == "mismatch"
    r = api.get(f"{API}/reports/reconciliation?store_id={stores[0].id}&date_from=2026-11-01&date_to=2026-11-30")
    assert r.status_code == 200 and {x["state"] for x in r.json["statements"]} == {"mismatch"}
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Statement))
    r = api.post(f"{API}/statements", json={"bank": "MAIN", "filename": "d.csv", "opening_balance": "1e40",
                                            "content": "date,amount,reference,description,counterparty\n"
                                                       "2026-11-26,10.00,D,z,\n"})
    assert r.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Statement)) == before


# --- open lines and items in the API ---------------------------------------------------------

def test_api_open_lines_and_items(app, api_client, hook, stores):
    from tests.addons.finance.helpers import pos_session
    hook.o2o_pos_session_closed(pos_session=pos_session(stores[0].id, cash_sales="475.00"))
    hook.o2o_pos_session_closed(pos_session=pos_session(stores[1].id, cash_sales="10.00"))
    services.import_statement(CSV.encode(), filename="nov.csv", bank_code="MAIN")
    api = api_client("finance.reconcile")
    r = api.get(f"{API}/statement-lines/open?bank=MAIN&date_from=2026-11-22&per_page=1")
    assert r.status_code == 200 and r.json["total"] == 2 and r.json["has_next"] is True
    assert r.json["items"][0]["amount"] == "-12.50"
    r = api.get(f"{API}/statement-lines/open?bank=MAIN&date_from=2026-11-22&per_page=1&page=2")
    assert [x["amount"] for x in r.json["items"]] == ["3.21"] and r.json["has_next"] is False
    r = api.get(f"{API}/expected-items/open?store_id={stores[0].id}&kind=cash_deposit")
    assert r.status_code == 200 and [x["amount"] for x in r.json["items"]] == ["475.00"]
    r = api.get(f"{API}/expected-items/open?kind=cash_deposit&date_from=2026-11-21")
    assert r.json["items"] == []
    assert api.get(f"{API}/expected-items/open?kind=nonsense").status_code == 422
    assert api.get(f"{API}/expected-items/open?store_id={2 ** 40}").status_code == 422
    assert api.get(f"{API}/statement-lines/open?bank=NOPE").status_code == 404
    limited = api_client("finance.reconcile", stores=[stores[1]])
    r = limited.get(f"{API}/expected-items/open")
    assert [x["store_id"] for x in r.json["items"]] == [stores[1].id]
    assert limited.get(f"{API}/expected-items/open?store_id={stores[0].id}").status_code == 403
    spec = app.test_client().get("/api/v1/openapi.json").json
    assert {"/api/v1/finance/statement-lines/open", "/api/v1/finance/expected-items/open"} <= set(spec["paths"])


# --- supplier payments -----------------------------------------------------------------------

def test_payment_run_end_to_end(app, hook, api_client):
    a = supplier("上海鲜果供应有限公司", bank="6222 0000 1111 2222")
    b = supplier("=HYPERLINK(\"http://evil\")")
    bill(hook, a, "1130.00", bill_date=dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 15), ref="A-1")
    bill(hook, a, "226.00", bill_date=dt.date(2026, 11, 5), due_date=dt.date(2026, 11, 20), ref="A-2")
    bill(hook, b, "565.00", bill_date=dt.date(2026, 11, 5), due_date=dt.date(2026, 11, 18), ref="@B-1")
    bill(hook, b, "113.00", bill_date=dt.date(2026, 11, 10), due_date=dt.date(2026, 12, 31), ref="B-2")
    assert balance("2000") == D("-2034.00")
    clerk = api_client("finance.payment_run.read", "finance.payment_run.create", "finance.payment_run.post",
                       "finance.payment_run.edit")
    boss = api_client("finance.payment_run.read", "finance.payment_run.approve")
    r = clerk.post(f"{API}/payment-runs", json={"due_by": "2026-11-30", "payment_date": "2026-11-25",
                                                "bank": "MAIN"})
    assert r.status_code == 201, r.json
    run = r.json
    assert run["state"] == "draft" and run["total"] == "1921.00"
    assert sorted(p["amount"] for p in run["payments"]) == ["1356.00", "565.00"]
    # a second run finds nothing due: the bills are in the first one
    r = clerk.post(f"{API}/payment-runs", json={"due_by": "2026-11-30", "bank": "MAIN"})
    assert r.status_code == 422
    # states enforced
    assert clerk.post(f"{API}/payment-runs/{run['id']}/export").status_code == 409
    assert clerk.post(f"{API}/payment-runs/{run['id']}/post", json={}).status_code == 409
    assert clerk.post(f"{API}/payment-runs/{run['id']}/approve").status_code == 403
    assert boss.post(f"{API}/payment-runs/{run['id']}/approve").status_code == 200
    assert boss.post(f"{API}/payment-runs/{run['id']}/approve").status_code == 409
    r = clerk.post(f"{API}/payment-runs/{run['id']}/export")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    data = r.data
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "上海鲜果供应有限公司,6222 0000 1111 2222,1356.00" in text
    assert "'=HYPERLINK" in text and "'@B-1" in text and ",=" not in text
    assert clerk.post(f"{API}/payment-runs/{run['id']}/export").data == data  # again: the same file
    r = clerk.post(f"{API}/payment-runs/{run['id']}/post", json={})
    assert r.status_code == 200 and r.json["state"] == "posted"
    assert clerk.post(f"{API}/payment-runs/{run['id']}/cancel").status_code == 409
    assert balance("2000") == D("-113.00")  # only B-2 (due in December) is owed
    assert balance("1040") == D("-1921.00")  # in transit until the bank shows it
    # the bank statement shows the two payments
    refs = {p["supplier"]: p["payment_ref"] for p in r.json["payments"]}
    statement = ("date,amount,reference,description,counterparty\n"
                 f"2026-11-26,-1356.00,{refs['上海鲜果供应有限公司']},Payment,上海鲜果\n"
                 "2026-11-26,-565.00,,Payment,B\n")
    services.import_statement(statement.encode(), filename="pay.csv", bank_code="MAIN")
    result = services.auto_reconcile()
    assert result["matched"] == 2, result
    assert balance("1040") == 0 and balance("1000") == D("-1921.00")
    assert services.reconciliation_status()["open_statement_lines"] == 0
    # the bills of the run are settled, the new bill is due
    open_items = db.session.scalars(services.open_expected_query()).all()
    assert [(it.reference, it.amount) for it in open_items] == [("B-2", D("-113.00"))]
    with pytest.raises(Conflict):
        services.undo_match(db.session.scalar(sa.select(Match.id).where(Match.method == "run")))
    books_balance()
    fig = ageing.ap_ageing(dt.date(2026, 11, 30))
    assert fig["totals"]["total"] == fig["account_balance"] == -balance("2000", dt.date(2026, 11, 30))
    assert fig["agrees_with_books"] and fig["totals"]["not_from_bills"] == 0


def test_payment_run_batch_booking_via_bank_and_cancel(app, hook):
    a = supplier("Supplier A")
    bill(hook, a, "100.00", bill_date=dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 10))
    bill(hook, a, "50.00", bill_date=dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 12))
    run = pr.create_payment_run(due_by=dt.date(2026, 11, 30), payment_date=dt.date(2026, 11, 20))
    pr.cancel_payment_run(run.id)
    assert run.state == "cancelled"
    with pytest.raises(Conflict):
        pr.approve_payment_run(run.id)
    run = pr.create_payment_run(due_by=dt.date(2026, 11, 30), payment_date=dt.date(2026, 11, 20), via="bank",
                                batch_booking=True)
    assert run.total == D("150.00")
    pr.approve_payment_run(run.id)
    pr.export_payment_run(run.id)
    pr.post_payment_run(run.id)
    assert balance("1000") == D("-150.00") and balance("2000") == 0
    services.import_statement(f"date,amount,reference,description,counterparty\n"
                              f"2026-11-21,-150.00,{run.number},Batch,\n".encode(), filename="b.csv", bank_code="MAIN")
    assert services.auto_reconcile()["matched"] == 1
    assert balance("1000") == D("-150.00")  # paid once, not twice
    books_balance()


def test_ap_ageing_buckets_equal_the_payable_account(app, hook, tmp_path):
    a, b = supplier("北京供应商"), supplier("Beta Foods")
    as_of = dt.date(2026, 11, 30)
    for days, total, who in ((-5, "10.00", a), (0, "20.00", a), (1, "30.00", a), (30, "40.00", b), (31, "50.00", b),
                             (60, "60.00", b), (61, "70.00", a), (90, "80.00", b), (91, "90.00", a)):
        due = as_of - dt.timedelta(days=days)
        bill(hook, who, total, bill_date=min(due, as_of) - dt.timedelta(days=1), due_date=due)
    bill(hook, a, "999.00", bill_date=dt.date(2026, 12, 5), due_date=dt.date(2026, 12, 20))  # after as_of
    # a manual entry on the payable account is shown, not lost
    me.post_manual_entry(me.create_manual_entry(date=dt.date(2026, 11, 28), actor="x", lines=[
        {"account": "2000", "debit": "5.00", "partner_id": b.id}, {"account": "6990", "credit": "5.00"}]).id)
    fig = ageing.ap_ageing(as_of)
    rows = {r["supplier"]: r for r in fig["rows"]}
    assert (rows["北京供应商"]["current"], rows["北京供应商"]["d1_30"], rows["北京供应商"]["d61_90"],
            rows["北京供应商"]["d90_plus"]) == (D("30.00"), D("30.00"), D("70.00"), D("90.00"))
    assert (rows["Beta Foods"]["d1_30"], rows["Beta Foods"]["d31_60"], rows["Beta Foods"]["d61_90"]) == (
        D("40.00"), D("110.00"), D("80.00"))
    assert rows["Beta Foods"]["not_from_bills"] == D("-5.00")
    assert fig["totals"]["total"] == fig["account_balance"] == -balance("2000", as_of) == D("445.00")
    assert sum(fig["totals"][k] for k in ("current", "d1_30", "d31_60", "d61_90", "d90_plus")) + \
        fig["totals"]["not_from_bills"] == fig["account_balance"]
    pdf, pages = ageing.ap_ageing_pdf(as_of)
    assert pdf[:4] == b"%PDF" and pages >= 1
    runner = app.test_cli_runner()
    out = tmp_path / "ageing.pdf"
    r = runner.invoke(args=["finance", "ap-ageing", "--as-of", "2026-11-30", "-o", str(out)])
    assert r.exit_code == 0 and "445.00" in r.output and out.read_bytes()[:4] == b"%PDF", r.output
    r = runner.invoke(args=["finance", "ap-ageing", "--as-of", "30/11/2026"])
    assert r.exit_code != 0


def test_api_ageing(app, hook, api_client):
    a = supplier("Gamma")
    bill(hook, a, "113.00", bill_date=dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 10))
    api = api_client("finance.report")
    r = api.get(f"{API}/reports/ap-ageing?as_of=2026-11-30")
    assert r.status_code == 200 and r.json["totals"]["d1_30"] == "113.00" and r.json["agrees_with_books"] is True
    r = api.get(f"{API}/reports/ap-ageing.pdf?as_of=2026-11-30")
    assert r.status_code == 200 and r.data[:4] == b"%PDF"
    assert api.get(f"{API}/reports/ap-ageing?as_of=nope").status_code == 422
    assert api.get(f"{API}/reports/ap-ageing?partner_id={2 ** 40}").status_code == 422


def test_cli_payment_run(app, hook, tmp_path):
    a = supplier("CLI 供应商")
    bill(hook, a, "113.00", bill_date=dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 10))
    runner = app.test_cli_runner()
    r = runner.invoke(args=["finance", "payment-run", "create", "--due-by", "2026-11-30", "--payment-date",
                            "2026-11-20"])
    assert r.exit_code == 0 and "113.00" in r.output, r.output
    run = db.session.scalar(sa.select(PaymentRun))
    r = runner.invoke(args=["finance", "payment-run", "post", str(run.id)])
    assert r.exit_code != 0 and "export" in r.output
    out = tmp_path / "pay.csv"
    for args in (["approve", str(run.id)], ["export", str(run.id), "-o", str(out)], ["post", str(run.id)]):
        r = runner.invoke(args=["finance", "payment-run", *args])
        assert r.exit_code == 0, (args, r.output)
    assert "CLI 供应商" in out.read_bytes().decode("utf-8-sig")
    db.session.refresh(run)
    assert run.state == "posted" and balance("2000") == 0
    r = runner.invoke(args=["finance", "payment-run", "cancel", str(run.id)])
    assert r.exit_code != 0
    r = runner.invoke(args=["finance", "payment-run", "create", "--due-by", "someday"])
    assert r.exit_code != 0 and "not a date" in r.output
