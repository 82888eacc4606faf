"""The till sale's statement budget (it is benchmarked: every statement is paid per sale).

Perpetual inventory adds the COGS entry of the sale's stock posting (finance's fast path:
the entry number, one INSERT of the entry, one executemany of its lines); the move's value
is computed in the posting's own statements (the average cost comes with the product read)."""
from __future__ import annotations

import sqlalchemy as sa

from core.db import db
from tests.addons.pos.helpers import open_session, sell

# measured on SQLite, a 3-line sale through the API with every built-in addon on
# (authentication, the sale, the order, stock, the sales entry, the settlement, the journal)
SALE_STATEMENTS = 34
COGS_STATEMENTS = 3  # of them: what the COGS posting costs (33 before perpetual inventory)


def _count(client, shop, key):
    log = []
    eng = db.session.connection().engine

    def before(conn, cursor, statement, parameters, context, executemany):
        # not the sale's: the token look-up and the addon change counter (read at most once
        # a second, so in some requests only)
        if "system_counter" not in statement and "api_token" not in statement:
            log.append(statement)
    sa.event.listen(eng, "before_cursor_execute", before)
    try:
        sell(client, shop.reg_a, [{"product_id": p.id, "quantity": "1"} for p in (shop.tea, shop.cup, shop.apples)],
             [{"method": "card", "amount": "20.50"}], key=key)
    finally:
        sa.event.remove(eng, "before_cursor_execute", before)
    return log


def test_a_till_sale_posts_its_cogs_within_the_statement_budget(shop, cashier, app, monkeypatch):
    open_session(cashier, shop.reg_a)
    sell(cashier, shop.reg_a, [{"product_id": shop.tea.id, "quantity": "1"}], [{"method": "card", "amount": "11.00"}])
    log = _count(cashier, shop, "budget-1")
    print(len(log), *log, sep="\n")
    assert len(log) <= SALE_STATEMENTS, len(log)
    entry = db.session.execute(sa.text("SELECT count(*) FROM finance_entry WHERE source_type = 'stock_move'")).scalar()
    assert entry == 2 + 4  # the two sales' COGS, after the four receipts of the fixture
    # the same sale without the COGS posting costs exactly COGS_STATEMENTS fewer
    from addons.finance import services as fs
    monkeypatch.setattr(fs, "post_stock_moves", lambda moves: None)
    without = _count(cashier, shop, "budget-2")
    print(len(without))
    assert len(log) - len(without) == COGS_STATEMENTS, (len(log), len(without))
    # and the COGS entry needs no read: only the sequence, the entry and its lines
    cogs = log[log.index(next(s for s in log if s.startswith("INSERT INTO warehouse_move"))):]
    assert not any(s.startswith("SELECT") and "finance" in s for s in cogs[:6]), cogs[:6]
