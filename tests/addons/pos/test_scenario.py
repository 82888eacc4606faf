"""The issue's scenario: open, sell by barcode with cash + card, retry, close with a cash
difference, Z report PDF with the right figures."""
from __future__ import annotations

import io
from decimal import Decimal

import pypdf
import sqlalchemy as sa

from core.db import db
from tests.addons.pos.conftest import on_hand


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def open_session(client, register, amount="100.00"):
    r = client.post(f"/api/v1/pos/registers/{register.id}/sessions", json={"opening_float": amount})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_open_sell_retry_close_z_report(shop, cashier):
    from addons.pos.models import PosJournalEntry, PosSale
    sess = open_session(cashier, shop.reg_a)
    before_tea, before_cup = on_hand(shop, shop.tea), on_hand(shop, shop.cup)

    # a first sale to know n
    r = cashier.post("/api/v1/pos/sales", headers={"Idempotency-Key": "k-first"}, json={
        "register_id": shop.reg_a.id, "lines": [{"barcode": shop.cup.barcode}],
        "payments": [{"method": "cash", "amount": "10.00"}]})
    assert r.status_code == 201, r.get_json()
    n = r.get_json()["receipt_number"]

    body = {"register_id": shop.reg_a.id,
            "lines": [{"barcode": shop.tea.barcode, "quantity": "2"}, {"barcode": shop.cup.barcode}],
            "payments": [{"method": "card", "amount": "20.00", "reference": "slip-1"},
                         {"method": "cash", "amount": "10.00"}]}
    r = cashier.post("/api/v1/pos/sales", headers={"Idempotency-Key": "sale-42"}, json=body)
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    assert first["receipt_number"] == n + 1
    assert first["total"] == "27.50"
    assert first["change_given"] == "2.50"
    # the till lost the answer and retries
    r = cashier.post("/api/v1/pos/sales", headers={"Idempotency-Key": "sale-42"}, json=body)
    assert r.status_code == 200 and r.headers["Idempotent-Replayed"] == "true"
    assert r.get_json() == first
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PosSale)
                             .where(PosSale.idempotency_key == "sale-42")) == 1
    assert on_hand(shop, shop.tea) == before_tea - 2
    assert on_hand(shop, shop.cup) == before_cup - 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PosJournalEntry)
                             .where(PosJournalEntry.kind == "sale")) == 2

    # close: expected cash = 100 float + 5.50 + 7.50 = 113.00; counted 112.00
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/close", json={
        "counts": {"cash": "112.00", "card": "20.00"}, "difference_reason": "coin dropped"})
    assert r.status_code == 200, r.get_json()
    closed = r.get_json()
    assert closed["state"] == "closed"
    assert closed["cash_difference"] == "-1.00"
    assert closed["totals_by_method"]["cash"] == {"expected": "113.00", "counted": "112.00", "difference": "-1.00"}
    pdf = cashier.post(closed["z_report"]["pdf"])  # printed
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert "DUPLICATE" not in text
    assert "Sales count 2" in text
    assert "Sales total 33.00" in text
    assert "Cash difference -1.00" in text
    assert "113.00 / 112.00 -1.00" in text
    assert "20.00 / 20.00 0.00" in text
    assert "Tax total 3.00" in text
    again = pdf_text(cashier.post(closed["z_report"]["pdf"]).data)
    assert "DUPLICATE" in again
