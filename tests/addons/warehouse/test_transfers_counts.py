"""Transfers through transit, counts, reorder proposals, valuation and `o2o stock verify`."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db
from core.errors import Conflict, InsufficientStock, ValidationError


def D(x):
    return Decimal(str(x))


def moves_of(source):
    from addons.warehouse.models import StockMove
    return db.session.scalars(sa.select(StockMove).where(StockMove.source == source).order_by(StockMove.id)).all()


def test_transfer_with_short_and_damaged_receipt(wh):
    s = wh.s
    s.receive(wh.tea.id, wh.loc_a.id, D(20), D(2), source="PO")
    s.receive(wh.cola.id, wh.loc_a.id, D(5), D(1), source="PO")
    tr = s.transfer(wh.wh_a.id, wh.wh_b.id, [{"product_id": wh.tea.id, "quantity": D(10)},
                                               {"product_id": wh.cola.id, "quantity": D(5)}])
    assert tr.state == "draft" and tr.number
    s.ship_transfer(tr.id)
    assert tr.state == "shipped"
    assert s.on_hand(wh.tea.id, wh.wh_a.id) == D(10) and s.on_hand(wh.tea.id, wh.wh_b.id) == 0
    transit = s.virtual_location("transit")
    from addons.warehouse.models import Quant
    q = db.session.scalar(sa.select(Quant).where(Quant.product_id == wh.tea.id, Quant.location_id == transit.id))
    assert q.on_hand == D(10)  # stock in the truck is counted
    with pytest.raises(Conflict) as exc:
        s.ship_transfer(tr.id)
    assert tr.number in exc.value.message and "WHT-A" in exc.value.message
    # 7 arrive, 1 damaged, 2 missing; cola arrives in full (line not given)
    s.receive_transfer(tr.id, [{"product_id": wh.tea.id, "received": D(7), "damaged": D(1)}])
    assert tr.state == "received"
    tea_line = next(line for line in tr.lines if line.product_id == wh.tea.id)
    assert (tea_line.received_quantity, tea_line.damaged_quantity, tea_line.difference) == (D(7), D(1), D(2))
    assert s.on_hand(wh.tea.id, wh.wh_b.id) == D(7) and s.on_hand(wh.cola.id, wh.wh_b.id) == D(5)
    q = db.session.scalar(sa.select(Quant).where(Quant.product_id == wh.tea.id, Quant.location_id == transit.id))
    db.session.refresh(q)
    assert q.on_hand == 0
    dests = {(m.product_id, m.to_location.usage): m.quantity for m in moves_of(tr.number)
             if m.from_location_id == transit.id}
    assert dests == {(wh.tea.id, "internal"): D(7), (wh.tea.id, "scrap"): D(1), (wh.tea.id, "inventory"): D(2),
                     (wh.cola.id, "internal"): D(5)}
    with pytest.raises(Conflict):
        s.receive_transfer(tr.id)
    assert s.verify() == []


def test_transfer_bad_input(wh):
    s = wh.s
    with pytest.raises(ValidationError):
        s.transfer(wh.wh_a.id, wh.wh_a.id, [{"product_id": wh.tea.id, "quantity": D(1)}])
    with pytest.raises(ValidationError) as exc:
        s.transfer(wh.wh_a.id, wh.wh_b.id, [{"product_id": wh.tea.id, "quantity": D(-1)}])
    assert "Green tea" in exc.value.message and "WHT-A" in exc.value.message
    tr = s.transfer(wh.wh_a.id, wh.wh_b.id, [{"product_id": wh.tea.id, "quantity": D(3)}])
    with pytest.raises(InsufficientStock) as exc:  # nothing in stock at A
        s.ship_transfer(tr.id)
    assert "Green tea" in exc.value.message and "WHT-A" in exc.value.message
    assert tr.state == "draft" and moves_of(tr.number) == []
    s.receive(wh.tea.id, wh.loc_a.id, D(3), D(1), source="PO")
    s.ship_transfer(tr.id)
    with pytest.raises(ValidationError) as exc:
        s.receive_transfer(tr.id, [{"product_id": wh.tea.id, "received": D(4)}])
    assert "only 3.000 were shipped" in exc.value.message
    assert tr.state == "shipped"


def test_count_posts_differences_with_value(wh):
    s = wh.s
    s.receive(wh.tea.id, wh.loc_a.id, D(10), D("2.5"), source="PO")
    s.receive(wh.cola.id, wh.loc_a.id, D(4), D(1), source="PO")
    s.receive(wh.crisps.id, wh.loc_a.id, D(6), D(3), source="PO")
    count = s.create_count(wh.wh_a.id)
    s.start_count(count.id)
    expected = {line.product_id: line.expected for line in count.lines}
    assert expected == {wh.tea.id: D(10), wh.cola.id: D(4), wh.crisps.id: D(6)}
    s.issue(wh.tea.id, wh.loc_a.id, D(1), source="SALE")  # a sale during the count: expected stays frozen
    assert {line.product_id: line.expected for line in count.lines}[wh.tea.id] == D(10)
    s.set_counted(count.id, wh.tea.id, D(8))      # 2 missing
    s.set_counted(count.id, wh.cola.id, D(5))     # 1 found
    # crisps not counted: no change
    c = s.validate_count(count.id)
    assert c.state == "validated"
    lines = {line.product_id: line for line in c.lines}
    assert lines[wh.tea.id].difference == D(-2) and lines[wh.tea.id].difference_value == D("-5.00")
    assert lines[wh.cola.id].difference == D(1) and lines[wh.cola.id].difference_value == D("1.00")
    assert c.difference_value == D("-4.00")
    assert s.on_hand(wh.tea.id, wh.wh_a.id) == D(7) and s.on_hand(wh.cola.id, wh.wh_a.id) == D(5)
    assert s.on_hand(wh.crisps.id, wh.wh_a.id) == D(6)
    with pytest.raises(Conflict) as exc:
        s.validate_count(count.id)
    assert "already been validated" in exc.value.message and count.number in exc.value.message
    assert len(moves_of(count.number)) == 2
    assert s.verify() == []


def test_count_by_category_and_csv_import(wh):
    s = wh.s
    wh.tea.barcode = "4006381333931"
    db.session.flush()
    s.receive(wh.tea.id, wh.loc_a.id, D(10), D(1), source="PO")
    s.receive(wh.crisps.id, wh.loc_a.id, D(6), D(3), source="PO")
    count = s.create_count(wh.wh_a.id, category_id=wh.category.id)
    with pytest.raises(Conflict):
        s.set_counted(count.id, wh.tea.id, D(1))  # not started
    s.start_count(count.id)
    assert [line.product_id for line in count.lines] == [wh.tea.id]
    # unknown barcode: refused, nothing set
    with pytest.raises(ValidationError) as exc:
        s.import_count_csv(count.id, "barcode,counted\n4006381333931,4\n0000000000000,1\n")
    assert "0000000000000" in exc.value.message and "Line 3" in exc.value.message
    assert count.lines[0].counted is None
    # a product of another category is refused
    with pytest.raises(ValidationError):
        s.import_count_csv(count.id, f"sku,counted\n{wh.crisps.sku},1\n")
    # scanned twice: counted twice; cola (same category, not expected) gets a new line
    n = s.import_count_csv(count.id, f"barcode,counted\n4006381333931,4\n4006381333931,5\n{wh.cola.sku},2\n")
    assert n == 2
    db.session.expire(count, ["lines"])
    got = {line.product_id: (line.expected, line.counted) for line in count.lines}
    assert got == {wh.tea.id: (D(10), D(9)), wh.cola.id: (D(0), D(2))}
    s.validate_count(count.id)
    assert s.on_hand(wh.tea.id, wh.wh_a.id) == D(9) and s.on_hand(wh.cola.id, wh.wh_a.id) == D(2)
    assert s.verify() == []


def test_replenishment_proposal(wh):
    from addons.warehouse.models import ReorderRule
    s = wh.s
    s.receive(wh.tea.id, wh.loc_a.id, D(3), D(1), source="PO")
    s.reserve(wh.tea.id, wh.loc_a.id, D(1), source="SO")
    s.receive(wh.cola.id, wh.loc_a.id, D(50), D(1), source="PO")
    db.session.add_all([
        ReorderRule(warehouse_id=wh.wh_a.id, product_id=wh.tea.id, min_qty=D(5), max_qty=D(20), multiple=D(6)),
        ReorderRule(warehouse_id=wh.wh_a.id, product_id=wh.cola.id, min_qty=D(5), max_qty=D(20), multiple=D(1)),
        ReorderRule(warehouse_id=wh.wh_b.id, product_id=wh.crisps.id, min_qty=D(2), max_qty=D(10), multiple=D(1)),
    ])
    db.session.flush()
    # 4 crisps already on their way to B
    s.receive(wh.crisps.id, wh.loc_a.id, D(4), D(1), source="PO")
    tr = s.transfer(wh.wh_a.id, wh.wh_b.id, [{"product_id": wh.crisps.id, "quantity": D(4)}])
    s.ship_transfer(tr.id)
    rows = s.replenishment_proposal()
    assert rows == [
        # projected 3 - 1 = 2 < 5: up to 20 -> 18, rounded up to 6s -> 18
        {"product_id": wh.tea.id, "warehouse_id": wh.wh_a.id, "on_hand": D(3), "reserved": D(1),
         "incoming": D(0), "min": D(5), "max": D(20), "multiple": D(6), "quantity": D(18)},
    ]
    assert s.replenishment_proposal(warehouse_ids=[wh.wh_b.id]) == []  # 4 incoming >= min 2
    s.receive_transfer(tr.id, [{"product_id": wh.crisps.id, "received": D(1)}])  # 3 lost on the way
    rows = s.replenishment_proposal(warehouse_ids=[wh.wh_b.id])
    assert [(r["product_id"], r["on_hand"], r["incoming"], r["quantity"]) for r in rows] == \
        [(wh.crisps.id, D(1), D(0), D(9))]


def test_valuation_by_warehouse_and_category(wh):
    s = wh.s
    s.receive(wh.tea.id, wh.loc_a.id, D(10), D("2.5"), source="PO")
    s.receive(wh.cola.id, wh.loc_a.id, D(4), D(1), source="PO")
    s.receive(wh.crisps.id, wh.loc_b.id, D(3), D(3), source="PO")
    data = s.valuation()
    rows = {(r["warehouse_code"], r["category"]): (r["quantity"], r["value"]) for r in data["rows"]}
    assert rows == {("WHT-A", "Drinks"): (D(14), D("29.00")), ("WHT-B", "Snacks"): (D(3), D("9.00"))}
    assert data["total_value"] == D("38.00")
    only_b = s.valuation(warehouse_ids=[wh.wh_b.id])
    assert only_b["total_value"] == D("9.00")


def test_stock_verify_cli(wh, app):
    from addons.warehouse.models import Quant
    s = wh.s
    s.receive(wh.tea.id, wh.loc_a.id, D(10), D(1), source="PO")
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["stock", "verify"])
    assert result.exit_code == 0, result.output
    assert "consistent" in result.output
    # corrupt a quant behind the ledger's back
    db.session.execute(sa.update(Quant).where(Quant.product_id == wh.tea.id).values(on_hand=D(11)))
    result = runner.invoke(args=["stock", "verify"])
    assert result.exit_code == 1
    assert "WHT0" in result.output and "WHT-A/STOCK" in result.output and "ledger 10.000" in result.output


def test_valuation_and_release_expired_cli(wh, app, tmp_path):
    import datetime as dt
    from pypdf import PdfReader
    s = wh.s
    s.receive(wh.tea.id, wh.loc_a.id, D(10), D("2.5"), source="PO")
    s.reserve(wh.tea.id, wh.loc_a.id, D(4), source="CART",
              expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    db.session.commit()
    runner = app.test_cli_runner()
    out = tmp_path / "valuation.pdf"
    result = runner.invoke(args=["stock", "valuation", "--pdf", str(out)])
    assert result.exit_code == 0, result.output
    assert "25.00" in result.output
    text = "".join(p.extract_text() for p in PdfReader(str(out)).pages)
    assert "WHT-A" in text and "25.00" in text
    result = runner.invoke(args=["stock", "release-expired"])
    assert result.exit_code == 0 and "released 1" in result.output, result.output
    assert s.available(wh.tea.id, wh.wh_a.id) == D(10)
