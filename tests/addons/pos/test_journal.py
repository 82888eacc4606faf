"""The inalterable journal: chain, tampering found, duplicates, Z numbers, immutability."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db
from core.errors import Conflict
from tests.addons.pos.helpers import open_session, pdf_text, sell


def _day(shop, cashier, counted_cash):
    sess = open_session(cashier, shop.reg_a, "50.00")
    sale = sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode}], [{"method": "cash", "amount": "11.00"}])
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/close",
                     json={"counts": {"cash": counted_cash}, "difference_reason": "test"})
    assert r.status_code == 200, r.get_json()
    return sess, sale, r.get_json()


def test_chain_sale_refund_close_and_tampering(app, shop, cashier):
    from addons.pos.models import PosJournalEntry
    from addons.pos.services import verify_journal
    sess = open_session(cashier, shop.reg_a)
    sale = sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode, "quantity": "3"}],
                [{"method": "cash", "amount": "40"}])
    r = cashier.post(f"/api/v1/pos/sales/{sale['id']}/refund",
                     json={"idempotency_key": "ref-1", "reason": "damaged", "lines": [
                         {"product_id": shop.tea.id, "quantity": "1"}]})
    assert r.status_code == 201, r.get_json()
    refund = r.get_json()
    assert refund["total"] == "-11.00" and refund["refund_of"] == sale["receipt"]
    assert refund["receipt_number"] == sale["receipt_number"] + 1
    # the original is untouched: corrections are new negative documents
    assert cashier.get(f"/api/v1/pos/sales/{sale['id']}").get_json() == sale
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/close", json={"counts": {"cash": "122.00"}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["totals_by_method"]["cash"]["expected"] == "122.00"

    entries = db.session.scalars(sa.select(PosJournalEntry).where(PosJournalEntry.register_id == shop.reg_a.id)
                                 .order_by(PosJournalEntry.seq)).all()
    assert [e.kind for e in entries] == ["sale", "refund", "close"]
    assert [e.amount for e in entries] == [Decimal("33.00"), Decimal("-11.00"), Decimal("22.00")]
    assert entries[0].prev_hash == "0" * 64 and entries[1].prev_hash == entries[0].hash
    assert verify_journal()["ok"]
    runner = app.test_cli_runner()
    out = runner.invoke(args=["pos", "verify-journal"])
    assert out.exit_code == 0 and "journal intact: 3 entries" in out.output

    # someone edits the refund's amount in the database
    db.session.execute(sa.text("UPDATE pos_journal SET amount = -1.00 WHERE id = :id"), {"id": entries[1].id})
    db.session.expire_all()
    result = verify_journal()
    assert not result["ok"]
    assert result["broken"]["seq"] == 2 and result["broken"]["id"] == entries[1].id
    assert "altered" in result["broken"]["reason"]
    out = runner.invoke(args=["pos", "verify-journal"])
    assert out.exit_code == 1
    assert f"entry #2 of register {shop.reg_a.id}" in out.output and "altered" in out.output


def test_deleted_entries_and_rehashed_rows_are_found(shop, cashier):
    from addons.pos.models import PosJournalEntry
    from addons.pos.services import entry_hash, verify_journal
    open_session(cashier, shop.reg_a)
    for _ in range(3):
        sell(cashier, shop.reg_a, [{"barcode": shop.cup.barcode}], [{"method": "card", "amount": "5.50"}])
    rows = db.session.scalars(sa.select(PosJournalEntry).order_by(PosJournalEntry.seq)).all()
    # a forger rewrites entry 2's payload AND recomputes its hash: entry 3 no longer links
    e = rows[1]
    new_payload = e.payload.replace("5.50", "0.50")
    new_hash = entry_hash(e.prev_hash, e.register_id, e.seq, e.kind, e.document_ref, e.amount, e.recorded_at,
                          new_payload)
    db.session.execute(sa.text("UPDATE pos_journal SET payload = :p, hash = :h WHERE id = :id"),
                       {"p": new_payload, "h": new_hash, "id": e.id})
    db.session.expire_all()
    result = verify_journal()
    assert result["broken"]["seq"] == 3 and "previous-hash" in result["broken"]["reason"]
    # deleting the last entry is found too
    db.session.execute(sa.text("UPDATE pos_journal SET payload = :p, hash = :h WHERE id = :id"),
                       {"p": e.payload, "h": e.hash, "id": e.id})
    db.session.execute(sa.text("DELETE FROM pos_journal WHERE id = :id"), {"id": rows[2].id})
    db.session.expire_all()
    result = verify_journal()
    assert not result["ok"] and "missing" in result["broken"]["reason"]


def test_orm_cannot_change_journal_or_closed_session(shop, cashier):
    from addons.pos import services
    from addons.pos.models import PosJournalEntry, PosSession
    sess, _sale, _closed = _day(shop, cashier, "61.00")
    entry = db.session.scalars(sa.select(PosJournalEntry)).first()
    entry.amount = Decimal("0")
    with pytest.raises(Conflict):
        db.session.flush()
    db.session.rollback()
    row = db.session.get(PosSession, sess["id"])
    row.difference_reason = "rewritten"
    with pytest.raises(Conflict, match="closed"):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(Conflict, match="closed"):
        services.cash_move(sess["id"], "5", "late", kind="in")
    db.session.rollback()
    with pytest.raises(Conflict, match="already closed"):
        services.close_session(sess["id"], {"cash": "61.00"})


def test_z_numbers_gapless_and_grand_total_never_reset(shop, cashier):
    from addons.pos.models import PosZReport
    _day(shop, cashier, "61.00")
    _day(shop, cashier, "60.00")
    zs = db.session.scalars(sa.select(PosZReport).where(PosZReport.register_id == shop.reg_a.id)
                            .order_by(PosZReport.number)).all()
    assert [z.number for z in zs] == [1, 2]
    assert [z.grand_total for z in zs] == [Decimal("11.00"), Decimal("22.00")]
    assert zs[1].cash_difference == Decimal("-1.00")
    text = pdf_text(cashier.get(f"/api/v1/pos/z-reports/{zs[1].id}.pdf").data)
    assert "Z REPORT 000002" in text and "Grand total (perpetual) 22.00" in text


def test_receipt_reprint_is_duplicate_and_journalled(shop, cashier):
    from addons.pos.models import PosJournalEntry
    open_session(cashier, shop.reg_a)
    sale = sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode, "quantity": "2"},
                                      {"sku": shop.cup.sku, "discount": "10"}],
                [{"method": "cash", "amount": "50"}])
    # reading the receipt records nothing and is no print (no DUPLICATE, nothing journalled)
    read = cashier.get(f"/api/v1/pos/sales/{sale['id']}/receipt.pdf")
    assert read.status_code == 200 and "DUPLICATE" not in pdf_text(read.data)
    first = cashier.post(f"/api/v1/pos/sales/{sale['id']}/receipt.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    import pypdf, io
    page = pypdf.PdfReader(io.BytesIO(first.data)).pages[0]
    assert abs(float(page.mediabox.width) - 226.77) < 0.1  # 80 mm
    text = pdf_text(first.data)
    assert "DUPLICATE" not in text and sale["receipt"] in text
    assert "TOTAL 26.95" in text and "Change 23.05" in text
    second = cashier.post(f"/api/v1/pos/sales/{sale['id']}/receipt.pdf")
    assert "DUPLICATE" in pdf_text(second.data)
    html = cashier.post(f"/api/v1/pos/sales/{sale['id']}/receipt.html").get_data(as_text=True)
    assert "DUPLICATE" in html and sale["receipt"] in html and "26.95" in html
    # once printed, a copy read is marked DUPLICATE too (and still records nothing)
    assert "DUPLICATE" in pdf_text(cashier.get(f"/api/v1/pos/sales/{sale['id']}/receipt.pdf").data)
    dups = db.session.scalars(sa.select(PosJournalEntry).where(PosJournalEntry.kind == "duplicate")).all()
    assert len(dups) == 2 and all(d.document_ref == sale["receipt"] for d in dups)


def test_z_report_refunds_discounts_taxes_and_cash_moves(shop, cashier):
    sess = open_session(cashier, shop.reg_a, "100.00")
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/cash", json={"kind": "out", "amount": "30",
                                                                      "reason": "bank deposit"})
    assert r.status_code == 201
    sale = sell(cashier, shop.reg_a, [{"barcode": shop.tea.barcode, "quantity": "2", "discount": "10"},
                                      {"barcode": shop.cup.barcode}],
                [{"method": "cash", "amount": "30"}])           # 19.80 + 5.50 = 25.30
    assert sale["total"] == "25.30" and sale["discount_total"] == "2.20"
    r = cashier.post(f"/api/v1/pos/sales/{sale['id']}/refund", json={
        "idempotency_key": "r1", "reason": "broken cup", "method": "cash",
        "lines": [{"product_id": shop.cup.id, "quantity": "1"}]})
    assert r.status_code == 201 and r.get_json()["total"] == "-5.50"
    # expected cash: 100 - 30 + 25.30 - 5.50 = 89.80
    r = cashier.post(f"/api/v1/pos/sessions/{sess['id']}/close", json={"counts": {"cash": "89.80"}})
    assert r.status_code == 200, r.get_json()
    text = pdf_text(cashier.get(r.get_json()["z_report"]["pdf"]).data)
    for expected in ("Sales count 1", "Sales total 25.30", "Refunds count 1", "Refunds total -5.50",
                     "Discounts 2.20", "Net total 19.80", "Cash in/out -30.00", "Cash expected 89.80",
                     "Cash counted 89.80", "Cash difference 0.00", "Tax total 1.80"):
        assert expected in text, (expected, text)
    assert "Rate 10%" in text, text


def test_demo_registers(app, shop):
    from addons.pos.models import PosRegister
    from addons.pos.services import demo_registers
    before = db.session.scalar(sa.select(sa.func.count()).select_from(PosRegister))
    created = demo_registers()
    assert all(r.code == "R1" for r in created)
    assert demo_registers() == []  # idempotent
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PosRegister)) == before + len(created)
