"""The issue's acceptance story, end to end, plus demo data and the store listener."""
from decimal import Decimal

import sqlalchemy as sa

from core.db import db


def D(x):
    return Decimal(str(x))


def ledger_balance(product_id, location_id):
    from addons.warehouse.models import StockMove
    inc = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(StockMove.quantity), 0))
                            .where(StockMove.product_id == product_id, StockMove.to_location_id == location_id))
    out = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(StockMove.quantity), 0))
                            .where(StockMove.product_id == product_id, StockMove.from_location_id == location_id))
    return (D(inc) - D(out)).quantize(D("0.001"))


def test_receive_transfer_short_count_difference_and_everything_agrees(wh, app):
    s = wh.s
    s.receive(wh.tea.id, wh.loc_a.id, D(30), D("2.00"), source="PO-1")
    s.receive(wh.tea.id, wh.loc_b.id, D(10), D("3.00"), source="PO-2")
    assert s.average_cost(wh.tea.id) == D("2.2500")
    res = s.reserve(wh.tea.id, wh.loc_b.id, D(2), source="WEB-1")
    tr = s.transfer(wh.wh_a.id, wh.wh_b.id, [{"product_id": wh.tea.id, "quantity": D(12)}])
    s.ship_transfer(tr.id)
    s.receive_transfer(tr.id, [{"product_id": wh.tea.id, "received": D(11)}])  # one short
    count = s.create_count(wh.wh_b.id)
    s.start_count(count.id)
    s.set_counted(count.id, wh.tea.id, D(20))  # 21 expected: one more missing
    s.validate_count(count.id)
    db.session.commit()

    assert s.on_hand(wh.tea.id, wh.wh_a.id) == D(18)
    assert s.on_hand(wh.tea.id, wh.wh_b.id) == D(20)
    assert s.available(wh.tea.id, wh.wh_b.id) == D(18)  # 2 reserved for the web order
    assert res.state == "active"
    assert ledger_balance(wh.tea.id, wh.loc_a.id) == D(18)
    assert ledger_balance(wh.tea.id, wh.loc_b.id) == D(20)
    assert ledger_balance(wh.tea.id, s.virtual_location("transit").id) == 0
    assert ledger_balance(wh.tea.id, s.virtual_location("inventory").id) == D(2)  # short + count
    # each warehouse keeps its own average: the 12 left A at 2.00 and arrived at it in B,
    # (10 x 3.00 + 11 x 2.00) / 21 = 2.4762; the count loss in B is at B's cost
    assert s.average_cost(wh.tea.id, wh.wh_a.id) == D("2.0000")
    assert s.average_cost(wh.tea.id, wh.wh_b.id) == D("2.4762")
    assert tr.lines[0].unit_cost == D("2.0000") and tr.lines[0].value == D("24.00")
    assert tr.lines[0].difference == D(1) and count.difference_value == D("-2.48")
    value = s.valuation()
    # A: 18 x 2.00; B: 30.00 + 22.00 - 2.48; transit empty (the missing one left at 2.00)
    assert value["total_quantity"] == D(38) and value["total_value"] == D("85.52")
    by_wh = {r["warehouse_id"]: r["value"] for r in value["rows"]}
    assert by_wh == {wh.wh_a.id: D("36.00"), wh.wh_b.id: D("49.52")}
    result = app.test_cli_runner().invoke(args=["stock", "verify"])
    assert result.exit_code == 0, result.output


def test_demo_data(wh, app):
    from addons.warehouse.demo import load_demo
    from addons.warehouse.models import ReorderRule, Warehouse
    load_demo(db.session, app)
    central = db.session.scalars(sa.select(Warehouse).where(Warehouse.kind == "central")).all()
    assert central  # the DC store's warehouse, at least
    assert wh.s.on_hand(wh.tea.id, wh.wh_dc.id) > 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReorderRule)) > 0
    assert wh.s.verify() == []


def test_no_warehouse_for_a_store_when_the_addon_is_off(make_app):
    from addons.warehouse.models import Warehouse
    from core.models import Store
    make_app(addons=[])
    store = Store(code="NOWH", name="No warehouse here")
    db.session.add(store)
    db.session.flush()
    assert db.session.scalar(sa.select(Warehouse).where(Warehouse.store_id == store.id)) is None
