"""Rows for every admin list: the demo data plus one of each document the demo leaves out
(a till day, a transfer, a count, a bill and a payment run, a bank statement matched and
booked, ...), made through the services, as a clerk would."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import sqlalchemy as sa

from core.db import db


def seed_everything(app, user) -> None:
    from addons.finance import bank_accounts, bank_rules, manual_entries, payment_runs
    from addons.finance import services as fs
    from addons.finance.models import BankAccount, StatementLine
    from addons.pos import services as pos
    from addons.purchasing import services as ps
    from addons.warehouse import services as ws
    from core import timeutil
    from core.addons import load_demo
    from core.auth.models import ApiToken
    from core.models import Partner, Product, Store
    from tests.scenarios.chain_day import camt053

    load_demo(app, db.session)
    db.session.add(ApiToken.issue(user, "export test")[0])
    shop = db.session.scalar(sa.select(Store).where(Store.kind == "shop").order_by(Store.id))
    dc = db.session.scalar(sa.select(Store).where(Store.kind == "dc"))
    supplier = db.session.scalar(sa.select(Partner).where(Partner.is_supplier).order_by(Partner.id))
    products = db.session.scalars(sa.select(Product).where(Product.barcode.is_not(None)).order_by(Product.id)
                                  .limit(3)).all()
    today = timeutil.today()

    # till: a session, a sale, a sale short of stock, an attention item, the Z report
    register = pos.create_register(shop.id, "EXP1", "Export till")
    pos.open_session(register.id, D("100.00"))
    sold = pos.sell(register.id, idempotency_key="export-1", lines=[{"product_id": products[0].id, "quantity": "1"}],
                    payments=[{"method": "cash", "amount": "1000.00"}])[0]
    on_hand = ws.on_hand(products[1].id, ws.warehouse_for_store(shop.id).id)
    pos.sell(register.id, idempotency_key="export-2",
             lines=[{"product_id": products[1].id, "quantity": str(on_hand + 5)}],
             payments=[{"method": "cash", "amount": "100000.00"}])
    other = pos.create_register(shop.id, "EXP2", "Export till 2")
    pos.open_session(other.id, D("100.00"))
    pos.report_attention(other.id, idempotency_key="export-3", error="refused", request={
        "lines": [{"product_id": products[0].id, "quantity": "1"}], "payments": [{"method": "cash", "amount": "1"}]})
    session_id = pos.open_session_of(register.id).id
    pos.close_session(session_id, {"cash": pos.expected_by_method(pos.get_session(session_id)).get("cash", D(0))})

    # stock: a transfer and a count
    src, dst = ws.warehouse_for_store(dc.id), ws.warehouse_for_store(shop.id)
    ws.transfer(src.id, dst.id, [{"product_id": products[2].id, "quantity": D(1)}])
    ws.create_count(dst.id)

    # purchasing: an order received and billed, a replenishment run, a payment run
    order = ps.create_order(supplier_id=supplier.id, store_id=shop.id,
                            lines=[{"product_id": products[0].id, "quantity": "2", "unit_price": "1.00"}])
    ps.confirm_order(order.id, user=user)
    if order.state == "to_approve":
        ps.approve_order(order.id, user=user)
    ps.receive_order(order.id)
    bill = ps.post_bill(ps.bill_from_receipts(order.id).id)
    if bill.state == "on_hold":
        ps.release_bill(bill.id, user=user, note="ok")
    ps.run_replenishment(user=user)
    bank_accounts.create_partner_bank_account({"partner_id": supplier.id, "account_number": "6222020200112233"})
    payment_runs.create_payment_run(due_by=today + dt.timedelta(days=365), bank="MAIN")

    # finance: a closed period, a manual entry, a bank rule, a statement with a booked line
    fs.lock_period("EXP-2001", dt.date(2001, 1, 1), dt.date(2001, 1, 31))
    manual_entries.create_manual_entry(lines=[{"account": "1000", "debit": "1.00"}, {"account": "4000", "credit": "1.00"}])
    bank = db.session.scalar(sa.select(BankAccount).where(BankAccount.code == "MAIN"))
    bank_rules.create_bank_rule(name="Export fees", pattern="FEE", account="6100")
    statement = fs.import_statement(camt053(bank.iban, D("0.00"), [(today.isoformat(), D("-3.50"), None, "FEE",
                                                                     "Bank")]), filename="exp.xml", bank_code=bank.code)
    line_id = db.session.scalar(sa.select(StatementLine.id).where(StatementLine.statement_id == statement.id))
    bank_rules.book_statement_line(line_id, "6100")
    db.session.flush()
    del sold
