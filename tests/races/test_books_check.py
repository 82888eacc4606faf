"""The check the kill -9 test relies on must be able to fail: sound sales pass it, and each
kind of half-written sale or left-over row is named."""
from __future__ import annotations

import sqlalchemy as sa

from tests.races.helpers import app_for, books, sale_body, seed


def test_the_books_check_names_every_half_written_sale(fresh_database):
    from core.db import db
    ids = seed(fresh_database, stock=20, till_short_stock="record")
    app = app_for(fresh_database)
    client = app.test_client()
    sales = {}
    for key in ("whole", "no-cost-entry", "claim-only", "no-till-payment", "no-moves"):
        r = client.post("/api/v1/pos/sales", json=sale_body(ids, ids.registers[0]),
                        headers={"Authorization": f"Bearer {ids.till_token}", "Idempotency-Key": key})
        assert r.status_code == 201, r.get_data(as_text=True)
        sales[key] = r.get_json()
    with app.app_context():
        db.session.remove()
    assert books(fresh_database).problems == []

    with app.app_context():
        run = lambda sql, **kw: db.session.execute(sa.text(sql), kw)  # noqa: E731
        number = {k: s["order_number"] for k, s in sales.items()}
        entry = run("SELECT id FROM finance_entry WHERE source_type = 'stock_move' AND source_ref = :n",
                    n=number["no-cost-entry"]).scalar()
        run("DELETE FROM finance_entry_line WHERE entry_id = :e", e=entry)
        run("DELETE FROM finance_entry WHERE id = :e", e=entry)
        run("UPDATE pos_sale SET document = NULL WHERE idempotency_key = 'claim-only'")
        run("DELETE FROM pos_sale_payment WHERE sale_id = :s", s=sales["no-till-payment"]["id"])
        run("DELETE FROM warehouse_move WHERE source = :n", n=number["no-moves"])
        # a till order that no sale refers to
        run("UPDATE pos_sale SET order_id = NULL WHERE idempotency_key = 'claim-only'")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    problems = books(fresh_database).problems
    text = "\n".join(problems)
    assert "(no-cost-entry): 0 stock_move finance entries" in text
    assert "(claim-only): half-written" in text
    assert "(no-till-payment): lines 1, payments 1, till payments 0" in text
    assert "(no-moves): " in text and "left the stock" in text
    assert "1 till orders without a sale" in text
    assert "stock ledger and quants disagree" in text  # the moves deleted under the quants
    assert not any("(whole)" in p for p in problems)
