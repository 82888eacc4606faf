"""The issue's scenario: a day of till sales in two stores (cash and card) and web orders,
till closes with a cash shortage, a bank statement with the deposits, card settlements net of
fees and one unknown line: auto-reconcile matches what it should, the rest is listed, the PDF
shows the shortage and the unknown line, and the trial balance balances."""
import datetime as dt
import io
from decimal import Decimal as D

import pypdf

from addons.finance import reports, services
from tests.addons.finance.helpers import order, pos_session

DAY = dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.timezone.utc)


def test_a_day_in_two_stores(hook, stores):
    f1, f2 = stores[0].id, stores[1].id
    cash = {f1: D(0), f2: D(0)}
    card = {f1: D(0), f2: D(0)}
    for store, amounts in ((f1, ["12.50", "40.00", "7.90", "113.00"]), (f2, ["25.00", "60.10"])):
        for i, a in enumerate(amounts):
            method = "cash" if i % 2 == 0 else "card"
            hook.o2o_order_paid(order=order(store, [(method, a)], paid_at=DAY))
            (cash if method == "cash" else card)[store] += D(a)
    # web orders paid by card and wallet, fulfilled by store F1
    hook.o2o_order_paid(order=order(f1, [("card", "99.00")], channel="web", paid_at=DAY))
    hook.o2o_order_paid(order=order(f1, [("wallet", "45.00")], channel="web", paid_at=DAY))
    card[f1] += D("99.00")
    # till closes: F1 is 3.40 short, F2 exact
    hook.o2o_pos_session_closed(pos_session=pos_session(f1, cash_sales=cash[f1], counted=cash[f1] + 100 - D("3.40"),
                                                        name="F1-R1-S1", closed_at=DAY))
    hook.o2o_pos_session_closed(pos_session=pos_session(f2, cash_sales=cash[f2], name="F2-R1-S1", closed_at=DAY))
    dep1, dep2 = cash[f1] - D("3.40"), cash[f2]
    net1 = card[f1] - (card[f1] / 100).quantize(D("0.01"))
    net2 = card[f2] - (card[f2] / 100).quantize(D("0.01"))
    csv = ("date,amount,reference,description,counterparty\n"
           f"2026-11-21,{dep1},DEP-F1-20261120,Cash deposit F1,\n"
           f"2026-11-21,{dep2},DEP-F2-20261120,Cash deposit F2,\n"
           f"2026-11-22,{net1},ACQ 5531,Card settlement,Acquirer\n"
           f"2026-11-22,{net2},ACQ 5532,Card settlement,Acquirer\n"
           "2026-11-22,250.00,XYZ-1,Unknown transfer,Somebody\n")
    services.import_statement(csv.encode(), filename="bank-2026-11-22.csv", bank_code="MAIN")

    result = services.auto_reconcile()
    assert result["matched"] == 4
    status = services.reconciliation_status()
    assert status == {"open_statement_lines": 1, "open_expected_items": 1}  # unknown line; wallet payout

    fig = services.reconciliation_figures(f1, "2026-11-01", "2026-11-30")
    assert fig["cash_over_short_total"] == D("-3.40")
    assert fig["takings_by_method"] == {"card": card[f1], "cash": cash[f1], "wallet": D("45.00")}
    assert [r["amount"] for r in fig["unmatched_bank"]] == [D("250.00")]
    assert {r["kind"]: r["matched"] for r in fig["expected"]} == {"cash_deposit": True, "card_settlement": True,
                                                                  "wallet_settlement": False}
    pdf, _pages = reports.reconciliation_pdf(f1, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Till session F1-R1-S1: cash short by 3.40" in text
    assert "Unknown transfer" in text and "250.00" in text
    assert "not found on the bank" in text  # the wallet payout still to come

    tb = services.trial_balance()
    assert tb["balanced"] and tb["total_debit"] == tb["total_credit"]
    balances = {r["code"]: r["balance"] for r in tb["rows"]}
    assert balances["1030"] == 0  # every deposit reached the bank
    assert balances["1120"] == 0  # every card payment was settled
    assert balances["1130"] == D("45.00")  # the wallet payout is still in clearing
    assert balances["6900"] == D("3.40")
