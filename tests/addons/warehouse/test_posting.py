"""Posting edge cases: fractions at the limit of what is available, shelves and negative
stock in on-hand, a multi-line refusal that names the short line and writes nothing, and the
constant number of statements of a till issue."""
from decimal import Decimal as D
import pytest
import sqlalchemy as sa
from core.db import db
from core.errors import InsufficientStock


def _shelf(wh, s, code, allow_negative=False):
    from addons.warehouse.models import Location
    loc = Location(code=code, name=code, usage="internal", warehouse_id=wh.wh_a.id, parent_id=wh.loc_a.id,
                   allow_negative=allow_negative)
    db.session.add(loc)
    db.session.flush()
    return loc


def test_on_hand_by_product_shelves_fractions_negative(wh):
    s = wh.s
    shelf = _shelf(wh, s, "WHT-A/S1")
    neg = _shelf(wh, s, "WHT-A/NEG", allow_negative=True)
    s.receive(wh.tea.id, wh.loc_a.id, D("0.1"), D(1), source="PO")
    s.receive(wh.tea.id, shelf.id, D("0.2"), D(1), source="PO")
    s.receive(wh.cola.id, shelf.id, D("2.345"), D(1), source="PO")
    s.issue(wh.crisps.id, neg.id, D("1.5"), source="SALE")
    s.reserve(wh.cola.id, shelf.id, D("0.345"), source="R")
    got = s.on_hand_by_product(wh.wh_a.id)
    assert got == {wh.tea.id: {"on_hand": D("0.3"), "reserved": D(0)},
                   wh.cola.id: {"on_hand": D("2.345"), "reserved": D("0.345")},
                   wh.crisps.id: {"on_hand": D("-1.5"), "reserved": D(0)}}
    assert [str(v["on_hand"]) for v in got.values()] == ["0.300", "2.345", "-1.500"] or \
        sorted(str(v["on_hand"]) for v in got.values()) == ["-1.500", "0.300", "2.345"]
    # exactly what is available, with fractions (float arithmetic on SQLite)
    s.reserve(wh.tea.id, wh.loc_a.id, D("0.03"), source="R2")
    s.issue(wh.tea.id, wh.loc_a.id, D("0.07"), source="S")
    with pytest.raises(InsufficientStock):
        s.issue(wh.tea.id, wh.loc_a.id, D("0.001"), source="S")
    # reserve exactly what is available
    s.reserve(wh.tea.id, shelf.id, D("0.2"), source="R3")


def test_multi_line_refusal_names_short_row_and_writes_nothing(wh):
    s = wh.s
    from addons.warehouse.models import StockMove
    s.receive(wh.tea.id, wh.loc_a.id, D(5), D(1), source="PO")
    s.receive(wh.cola.id, wh.loc_a.id, D(1), D(1), source="PO")
    s.receive(wh.crisps.id, wh.loc_a.id, D(5), D(1), source="PO")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(StockMove))
    cust = s.virtual_location("customer").id
    with pytest.raises(InsufficientStock) as err:
        s._post([{"product_id": p.id, "from_location_id": wh.loc_a.id, "to_location_id": cust,
                  "quantity": D(2), "unit_cost": "average", "source": "SALE"} for p in (wh.tea, wh.cola, wh.crisps)],
                expect="issue")
    assert "Cola" in str(err.value) and "1.000 available, 2.000 needed" in str(err.value), str(err.value)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StockMove)) == before
    assert s.on_hand(wh.tea.id, wh.wh_a.id) == 5 and s.on_hand(wh.crisps.id, wh.wh_a.id) == 5
    assert s.on_hand(wh.cola.id, wh.wh_a.id) == 1
    # a 3-line sale that fits: constant statements, ids in order
    log = []
    eng = db.session.connection().engine
    books = []  # perpetual inventory: finance (when on) books the posting's COGS in 3 more
    def before_exec(conn, cursor, statement, parameters, context, executemany):
        (books if "finance_entry" in statement or "sequence_counter" in statement else log).append(
            statement.split()[0])
    sa.event.listen(eng, "before_cursor_execute", before_exec)
    try:
        rows = s._post([{"product_id": p.id, "from_location_id": wh.loc_a.id, "to_location_id": cust,
                         "quantity": D(1), "unit_cost": "average", "source": "SALE2"}
                        for p in (wh.tea, wh.cola, wh.crisps)], expect="issue")
    finally:
        sa.event.remove(eng, "before_cursor_execute", before_exec)
    print(log, books)
    assert len(log) <= 7, log
    assert len(books) <= 3, books  # the entry number, the entry, its lines (one executemany)
    stored = db.session.execute(sa.select(StockMove.id, StockMove.product_id).where(StockMove.source == "SALE2")
                                .order_by(StockMove.id)).all()
    assert [(r.id, r.product_id) for r in rows] == [tuple(x) for x in stored]
    assert s.on_hand(wh.cola.id, wh.wh_a.id) == 0
    assert s.verify() == []


def test_mixed_modes_negative_location_first_is_not_blamed(wh):
    s = wh.s
    neg = _shelf(wh, s, "WHT-A/NEG2", allow_negative=True)
    s.receive(wh.cola.id, wh.loc_a.id, D(1), D(1), source="PO")
    cust = s.virtual_location("customer").id
    with pytest.raises(InsufficientStock) as err:
        s._post([{"product_id": wh.tea.id, "from_location_id": neg.id, "to_location_id": cust, "quantity": D(2),
                  "unit_cost": "average", "source": "X"},
                 {"product_id": wh.cola.id, "from_location_id": wh.loc_a.id, "to_location_id": cust,
                  "quantity": D(2), "unit_cost": "average", "source": "X"}])
    assert "Cola" in str(err.value), str(err.value)
    from addons.warehouse.models import Quant
    assert db.session.scalar(sa.select(Quant.id).where(Quant.location_id == neg.id)) is None
