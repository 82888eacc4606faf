"""The warehouse services other addons call: receive, issue, reserve, release, availability."""
import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db
from core.errors import Conflict, InsufficientStock, NotFound, ValidationError


def D(x):
    return Decimal(str(x))


def move_count():
    from addons.warehouse.models import StockMove
    return db.session.scalar(sa.select(sa.func.count()).select_from(StockMove))


def test_a_warehouse_is_created_with_each_store(wh):
    assert wh.wh_a.store_id == wh.store_a.id and wh.wh_a.kind == "store"
    assert wh.wh_dc.kind == "central"
    assert wh.loc_a.usage == "internal" and wh.loc_a.warehouse_id == wh.wh_a.id
    # calling again gives the same warehouse, no duplicate
    assert wh.s.warehouse_for_store(wh.store_a.id).id == wh.wh_a.id
    assert wh.s.ensure_store_warehouses() == 0


def test_receive_issue_and_on_hand(wh):
    s = wh.s
    move = s.receive(wh.tea.id, wh.loc_a.id, D(10), D("2.5"), source="PO1")
    assert move.id and move.quantity == D(10) and move.state == "done" and move.source == "PO1"
    assert s.on_hand(wh.tea.id, wh.wh_a.id) == D(10)
    assert s.available(wh.tea.id, wh.wh_a.id) == D(10)
    assert s.on_hand(wh.tea.id, wh.wh_b.id) == 0
    s.issue(wh.tea.id, wh.loc_a.id, D(3), source="SO1")
    assert s.on_hand(wh.tea.id, wh.wh_a.id) == D(7)
    assert s.verify() == []


def test_moving_average_cost(wh):
    s = wh.s
    s.receive(wh.cola.id, wh.loc_a.id, D(10), D("2.00"), source="PO1")
    assert s.average_cost(wh.cola.id) == D("2.0000")
    s.receive(wh.cola.id, wh.loc_b.id, D(30), D("3.00"), source="PO2")
    # each warehouse its own average; the product's is weighted by stock: (10 x 2 + 30 x 3) / 40
    assert s.average_cost(wh.cola.id, wh.wh_a.id) == D("2.0000")
    assert s.average_cost(wh.cola.id, wh.wh_b.id) == D("3.0000")
    assert s.average_cost(wh.cola.id) == D("2.7500")
    s.receive(wh.cola.id, wh.loc_a.id, D(10), D("3.00"), source="PO2b")
    assert s.average_cost(wh.cola.id, wh.wh_a.id) == D("2.5000")  # (10 x 2 + 10 x 3) / 20
    sold = s.issue(wh.cola.id, wh.loc_a.id, D(20), source="SO")
    assert sold.unit_cost == D("2.5000") and sold.value == D("50.00")
    # from zero stock: the received cost
    s.receive(wh.cola.id, wh.loc_a.id, D(10), D("4.00"), source="PO3")
    assert s.average_cost(wh.cola.id, wh.wh_a.id) == D("4.0000")
    assert s.average_cost(wh.cola.id) == D("3.2500")  # (10 x 4 + 30 x 3) / 40
    rows = {(r["warehouse_id"], r["product_id"]): r for r in s.average_costs(product_ids=[wh.cola.id])}
    assert rows[(wh.wh_a.id, wh.cola.id)]["average_cost"] == D("4.0000")
    assert rows[(wh.wh_b.id, wh.cola.id)]["on_hand"] == D(30)


def test_issue_from_zero_or_negative_stock_takes_the_last_known_average(wh):
    from addons.warehouse.models import Location
    from core.db import db
    s = wh.s
    neg = Location(code="WHT-A/NEG", name="Shop floor", usage="internal", warehouse_id=wh.wh_a.id,
                   parent_id=wh.loc_a.id, allow_negative=True)
    db.session.add(neg)
    db.session.flush()
    # never received here: the product's cost
    first = s.issue(wh.tea.id, neg.id, D(2), source="TILL-1")
    assert first.unit_cost == D("4.0000") and first.value == D("8.00")
    s.receive(wh.tea.id, neg.id, D(2), D("3.00"), source="PO")     # back to zero from below
    # the two sold below zero at 4.00 really cost 3.00: the stock's value is set back to
    # 0 x 3.00 by a revaluation of +2.00 (finance books it against COGS)
    from addons.warehouse.models import Revaluation
    import sqlalchemy as sa
    (rv,) = db.session.scalars(sa.select(Revaluation).where(Revaluation.warehouse_id == wh.wh_a.id)).all()
    assert (rv.reason, rv.value, rv.source) == ("negative", D("2.00"), "PO")
    assert s.valuation(warehouse_ids=[wh.wh_a.id])["rows"] == []
    s.receive(wh.tea.id, neg.id, D(4), D("2.00"), source="PO")     # from zero: 2.00
    assert s.average_cost(wh.tea.id, wh.wh_a.id) == D("2.0000")
    s.issue(wh.tea.id, neg.id, D(4), source="TILL-2")               # to zero
    below = s.issue(wh.tea.id, neg.id, D(3), source="TILL-3")       # below zero: the last average
    assert below.unit_cost == D("2.0000") and below.value == D("6.00")
    assert s.on_hand(wh.tea.id, wh.wh_a.id) == D(-3)
    # the valuation follows the ledger's values: -8 + 6 + 2 + 8 - 8 - 6
    assert s.valuation(warehouse_ids=[wh.wh_a.id])["total_value"] == D("-6.00")
    # a product never received: its list cost
    assert s.average_cost(wh.crisps.id) == D("4.0000")


def test_issue_more_than_available_is_refused_naming_product_and_place(wh):
    s = wh.s
    s.receive(wh.tea.id, wh.loc_a.id, D(2), D(1), source="PO")
    before = move_count()
    with pytest.raises(InsufficientStock) as exc:
        s.issue(wh.tea.id, wh.loc_a.id, D(3), source="SO")
    assert "Green tea" in exc.value.message and "WHT-A" in exc.value.message
    assert move_count() == before
    assert s.on_hand(wh.tea.id, wh.wh_a.id) == D(2)
    # a location without any stock at all
    with pytest.raises(InsufficientStock) as exc:
        s.issue(wh.cola.id, wh.loc_b.id, D(1), source="SO")
    assert "Cola" in exc.value.message and "WHT-B" in exc.value.message
    assert move_count() == before


def test_negative_stock_when_location_allows_it(wh):
    s = wh.s
    wh.loc_b.allow_negative = True
    db.session.flush()
    s.issue(wh.cola.id, wh.loc_b.id, D(4), source="SO")
    assert s.on_hand(wh.cola.id, wh.wh_b.id) == D(-4)
    assert s.verify() == []


@pytest.mark.parametrize("qty", [0, -1, "abc", D("0.0001"), D("1E30"), "100000000000"])
def test_bad_quantities_are_refused(wh, qty):
    s = wh.s
    before = move_count()
    with pytest.raises(ValidationError) as exc:
        s.receive(wh.tea.id, wh.loc_a.id, qty, D(1), source="PO")
    assert "Green tea" in exc.value.message and "WHT-A" in exc.value.message
    with pytest.raises(ValidationError):
        s.reserve(wh.tea.id, wh.loc_a.id, qty, source="SO")
    assert move_count() == before


def test_unknown_product_or_location_is_refused(wh):
    s = wh.s
    with pytest.raises(NotFound) as exc:
        s.receive(999999, wh.loc_a.id, D(1), D(1), source="PO")
    assert "999999" in exc.value.message
    with pytest.raises(NotFound) as exc:
        s.receive(wh.tea.id, 999999, D(1), D(1), source="PO")
    assert "999999" in exc.value.message
    with pytest.raises(NotFound):
        s.post_moves([{"product_id": 999999, "from_location_id": wh.loc_a.id, "to_location_id": wh.loc_b.id,
                       "quantity": D(1)}])
    assert move_count() == 0


def test_receiving_into_a_virtual_location_is_refused(wh):
    s = wh.s
    customer = s.virtual_location("customer")
    with pytest.raises(ValidationError) as exc:
        s.receive(wh.tea.id, customer.id, D(1), D(1), source="PO")
    assert "Green tea" in exc.value.message and "VIRTUAL/CUSTOMER" in exc.value.message
    assert move_count() == 0


def test_reserve_release_and_issue_reservation(wh):
    s = wh.s
    s.receive(wh.tea.id, wh.loc_a.id, D(5), D(1), source="PO")
    r1 = s.reserve(wh.tea.id, wh.loc_a.id, D(3), source="SO1")
    assert r1.id and s.available(wh.tea.id, wh.wh_a.id) == D(2) and s.on_hand(wh.tea.id, wh.wh_a.id) == D(5)
    with pytest.raises(InsufficientStock) as exc:
        s.reserve(wh.tea.id, wh.loc_a.id, D(3), source="SO2")
    assert "Green tea" in exc.value.message and "2.000 available" in exc.value.message
    # an unreserved issue cannot take reserved stock
    with pytest.raises(InsufficientStock):
        s.issue(wh.tea.id, wh.loc_a.id, D(3), source="POS")
    move = s.issue_reservation(r1.id, quantity=D(1))
    assert move.quantity == D(1) and r1.quantity == D(2) and r1.state == "active"
    assert s.on_hand(wh.tea.id, wh.wh_a.id) == D(4) and s.available(wh.tea.id, wh.wh_a.id) == D(2)
    s.issue_reservation(r1.id)
    assert r1.state == "issued" and r1.issued_quantity == D(3)
    assert s.on_hand(wh.tea.id, wh.wh_a.id) == D(2) and s.available(wh.tea.id, wh.wh_a.id) == D(2)
    with pytest.raises(Conflict):
        s.issue_reservation(r1.id)
    r2 = s.reserve(wh.tea.id, wh.loc_a.id, D(2), source="SO3")
    assert s.available(wh.tea.id, wh.wh_a.id) == 0
    s.release(r2.id)
    assert r2.state == "released" and s.available(wh.tea.id, wh.wh_a.id) == D(2)
    with pytest.raises(Conflict):
        s.release(r2.id)
    with pytest.raises(NotFound):
        s.release(987654)
    assert s.verify() == []


def test_reserve_many_is_all_or_nothing(wh):
    s = wh.s
    s.receive(wh.tea.id, wh.loc_a.id, D(5), D(1), source="PO")
    s.receive(wh.cola.id, wh.loc_a.id, D(1), D(1), source="PO")
    with pytest.raises(InsufficientStock) as exc:
        s.reserve_many([{"product_id": wh.tea.id, "location_id": wh.loc_a.id, "quantity": D(2)},
                        {"product_id": wh.cola.id, "location_id": wh.loc_a.id, "quantity": D(2)}], source="SO")
    assert "Cola" in exc.value.message
    assert s.available(wh.tea.id, wh.wh_a.id) == D(5)  # the first line's reservation was undone
    from addons.warehouse.models import Reservation
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reservation)) == 0


def test_expired_reservations_are_released(wh):
    s = wh.s
    s.receive(wh.tea.id, wh.loc_a.id, D(2), D(1), source="PO")
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    cart = s.reserve(wh.tea.id, wh.loc_a.id, D(2), source="CART1", expires_at=past)
    assert s.available(wh.tea.id, wh.wh_a.id) == 0
    # a new reservation releases the expired cart rather than failing
    r = s.reserve(wh.tea.id, wh.loc_a.id, D(1), source="SO")
    assert cart.state == "expired" and r.state == "active"
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    s.reserve(wh.tea.id, wh.loc_a.id, D(1), source="CART2", expires_at=future)
    assert s.release_expired() == 0
    assert s.release_expired(now=future + dt.timedelta(seconds=1)) == 1
    assert s.available(wh.tea.id, wh.wh_a.id) == D(1)
    assert s.verify() == []


def test_availability_by_store(wh):
    s = wh.s
    s.receive(wh.tea.id, wh.loc_a.id, D(5), D(1), source="PO")
    s.receive(wh.tea.id, wh.loc_b.id, D(2), D(1), source="PO")
    s.reserve(wh.tea.id, wh.loc_b.id, D(1), source="SO")
    rows = {r["store_code"]: r for r in s.availability_by_store(wh.tea.id)}
    assert rows["WHT-A"] == {"store_id": wh.store_a.id, "store_code": "WHT-A", "warehouse_id": wh.wh_a.id,
                             "on_hand": D(5), "reserved": D(0), "available": D(5)}
    assert rows["WHT-B"]["available"] == D(1) and rows["WHT-B"]["reserved"] == D(1)
    assert rows["WHT-DC"]["on_hand"] == 0


def test_post_moves_batch_and_event(wh, temp_plugin):
    from core.plugins import hookimpl
    s = wh.s
    seen = []

    class Listener:
        @hookimpl
        def o2o_stock_moved(self, moves):
            seen.append([(m.product_id, m.quantity, m.source) for m in moves])

    temp_plugin(Listener())
    supplier = s.virtual_location("supplier").id
    n = s.post_moves([{"product_id": p.id, "from_location_id": supplier, "to_location_id": wh.loc_a.id,
                       "quantity": D(i + 1), "unit_cost": D(2), "source": "IMPORT"}
                      for i, p in enumerate(wh.products)])
    assert n == 3 and len(seen) == 1 and len(seen[0]) == 3
    from addons.warehouse.models import StockMove
    stored = db.session.execute(sa.select(StockMove.id, StockMove.product_id, StockMove.quantity)
                                .where(StockMove.source == "IMPORT").order_by(StockMove.id)).all()
    assert [(p.id, D(i + 1)) for i, p in enumerate(wh.products)] == [(r.product_id, r.quantity) for r in stored]
    move = s.receive(wh.tea.id, wh.loc_dc.id, D(1), D(1), source="ONE")
    assert db.session.get(StockMove, move.id).source == "ONE" and move.product.name == "Green tea"
    assert s.on_hand(wh.crisps.id, wh.wh_a.id) == D(3)
    # all or nothing: the second line lacks stock
    with pytest.raises(InsufficientStock):
        s.post_moves([{"product_id": wh.tea.id, "from_location_id": wh.loc_a.id, "to_location_id": wh.loc_b.id,
                       "quantity": D(1)},
                      {"product_id": wh.cola.id, "from_location_id": wh.loc_a.id, "to_location_id": wh.loc_b.id,
                       "quantity": D(50)}])
    assert s.on_hand(wh.tea.id, wh.wh_a.id) == D(1) and s.on_hand(wh.tea.id, wh.wh_b.id) == 0
    assert s.verify() == []


def test_scrap_and_adjust(wh):
    s = wh.s
    s.receive(wh.tea.id, wh.loc_a.id, D(10), D(2), source="PO")
    s.scrap(wh.tea.id, wh.loc_a.id, D(1), source="DAMAGED")
    s.adjust(wh.tea.id, wh.loc_a.id, D(-2), source="ADJ")
    s.adjust(wh.tea.id, wh.loc_a.id, D(1), source="ADJ")
    assert s.on_hand(wh.tea.id, wh.wh_a.id) == D(8)
    with pytest.raises(ValidationError):
        s.adjust(wh.tea.id, wh.loc_a.id, D(0), source="ADJ")
    with pytest.raises(InsufficientStock):
        s.adjust(wh.tea.id, wh.loc_a.id, D(-9), source="ADJ")
    assert s.verify() == []
