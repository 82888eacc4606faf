"""PDF reports: the numbers in the PDF are the service's and the screen's."""
import datetime as dt
import html
import io
import re
from decimal import Decimal as D

import pypdf
import pytest

from addons.finance import reports, services
from tests.addons.finance.helpers import order, pos_session

HEAD = "date,amount,reference,description,counterparty\n"
D0, D1 = dt.date(2026, 11, 1), dt.date(2026, 11, 30)


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(p.extract_text() for p in reader.pages)


@pytest.fixture
def reconciled(hook, stores):
    s = stores[0].id
    hook.o2o_order_paid(order=order(s, [("cash", "480.00")]))
    hook.o2o_order_paid(order=order(s, [("card", "1000.00")]))
    hook.o2o_order_paid(order=order(s, [("wallet", "200.00")], channel="web"))
    hook.o2o_pos_session_closed(pos_session=pos_session(s, cash_sales="480.00", counted="575.00", name="F1-R1-7"))
    services.import_statement((HEAD + "2026-11-21,475.00,DEP-F1-20261120,Deposit,\n"
                                      "2026-11-22,990.00,,Acquirer payout,\n"
                                      "2026-11-22,77.70,,Mystery credit,\n").encode(), filename="b.csv",
                              bank_code="MAIN")
    services.auto_reconcile()
    return s


def test_reconciliation_pdf_equals_the_service_figures(reconciled):
    fig = services.reconciliation_figures(reconciled, D0, D1)
    assert fig["takings_by_method"] == {"card": D("1000.00"), "cash": D("480.00"), "wallet": D("200.00")}
    assert fig["cash_over_short_total"] == D("-5.00") and fig["unmatched_bank_total"] == D("77.70")
    assert fig["matched_count"] == 2 and fig["unmatched_expected_count"] == 1  # the wallet payout
    pdf, pages = reports.reconciliation_pdf(reconciled, D0, D1)
    text = pdf_text(pdf)
    assert pages >= 1 and "Sign-off" in text and "Prepared by" in text
    for label, value in services.summary_figures(fig):
        assert re.search(re.escape(label) + r"\s+" + re.escape(value), text), (label, value)
    assert "cash short by 5.00" in text and "Mystery credit" in text
    for t in fig["takings"]:
        assert services.fmt(t["amount"]) in text


def test_screen_shows_the_same_numbers_as_the_pdf(reconciled, client_as):
    client = client_as("finance.report")
    page = client.get(f"/admin/finance/reports/?store_id={reconciled}&date_from={D0}&date_to={D1}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    screen = {html.unescape(k): v for k, v in re.findall(r'data-figure="([^"]+)">([^<]+)<', body)}
    fig = services.reconciliation_figures(reconciled, D0, D1)
    assert screen == dict(services.summary_figures(fig))
    text = pdf_text(client.get(f"/admin/finance/reports/reconciliation.pdf?store_id={reconciled}&date_from={D0}"
                               f"&date_to={D1}").data)
    for label, value in screen.items():
        assert re.search(re.escape(label) + r"\s+" + re.escape(value), text)


def test_store_limited_user_cannot_see_another_store(reconciled, stores, client_as):
    client = client_as("finance.report", stores=[stores[1]])
    assert client.get(f"/admin/finance/reports/reconciliation.pdf?store_id={reconciled}").status_code == 400
    body = client.get(f"/admin/finance/reports/?store_id={reconciled}").get_data(as_text=True)
    assert "data-figure" not in body


def test_trial_balance_and_journal_pdfs(reconciled):
    tb = services.trial_balance(D0, D1)
    assert tb["balanced"] and tb["total_debit"] > 0
    text = pdf_text(reports.trial_balance_pdf(D0, D1)[0])
    assert "The trial balance balances." in text
    assert re.search(r"Total\s+" + re.escape(services.fmt(tb["total_debit"])) + r"\s+" +
                     re.escape(services.fmt(tb["total_credit"])), text)
    for r in tb["rows"]:
        assert services.fmt(r["debit"]) in text
    jr = services.journal_report("SALES", D0, D1)
    text = pdf_text(reports.journal_pdf("SALES", D0, D1)[0])
    assert f"{jr['entries']} entries" in text and services.fmt(jr["total_debit"]) in text


def test_detail_listing_is_split_in_chunks(reconciled, app):
    app.config["FINANCE_PDF_CHUNK_ROWS"] = 2
    pdf, pages = reports.reconciliation_pdf(reconciled, D0, D1, detail=True)
    text = pdf_text(pdf)
    assert "Takings sale by sale" in text and "3 payments" in text and "1,680.00" in text
