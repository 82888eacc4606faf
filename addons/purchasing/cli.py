"""``o2o purchasing ...``: replenishment runs, orders, receipts, bills and supplier performance."""
from __future__ import annotations

from decimal import Decimal

import click
import sqlalchemy as sa

from core.cli import transactional
from core.db import db
from core.errors import NotFound
from core.i18n import _


@click.group("purchasing")
def purchasing():
    """Purchasing: replenishment, orders, receipts, bills, supplier performance."""


def _order_by_number(number: str):
    from addons.purchasing import services as ps
    order = db.session.scalar(sa.select(ps.PurchaseOrder).where(ps.PurchaseOrder.number == number))
    if order is None and number.isdigit():
        order = db.session.get(ps.PurchaseOrder, int(number))
    if order is None:
        raise NotFound(_("There is no purchase order %(number)s.", number=number))
    return order


def _warehouse_ids(codes):
    if not codes:
        return None
    from addons.warehouse import services as ws
    ids = []
    for code in codes:
        found = db.session.scalar(sa.select(ws.Warehouse.id).where(ws.Warehouse.code == code))
        if found is None:
            raise NotFound(_("There is no warehouse with the code %(code)s.", code=code))
        ids.append(found)
    return ids


@purchasing.command("replenish")
@click.option("--warehouse", "warehouses", multiple=True, help="limit to this warehouse code (repeatable)")
@click.option("--convert", is_flag=True, help="turn the proposal into draft orders and transfers at once")
@click.option("--confirm", is_flag=True, help="with --convert: also confirm the new orders")
@transactional
def replenish(warehouses, convert, confirm):
    """Propose orders (by supplier and warehouse) and DC transfers from the reorder rules."""
    from addons.purchasing import services as ps
    run = ps.run_replenishment(_warehouse_ids(warehouses))
    groups = ps.run_groups(run.id)
    click.echo(f"run {run.id}: {run.line_count} proposal line(s) in {len(groups)} group(s)")
    for g in groups:
        who = g["supplier_name"] or ("(no supplier)" if g["action"] == "buy" else "DC transfer")
        click.echo(f"  {g['action']:<8} {who:<32} -> {g['warehouse_code']:<12} {g['lines']:>6} lines  "
                   f"qty {g['quantity']:>12}  value {g['value']:>12}")
    if convert and run.line_count:
        result = ps.convert_run(run.id, confirm=confirm)
        click.echo(f"created {len(result['orders'])} purchase order(s) and {len(result['transfers'])} transfer(s)")
        for o in result["orders"]:
            click.echo(f"  {o.number}  {o.supplier.name}  -> {o.warehouse.code}  {o.total}  {o.state}")
        for t in result["transfers"]:
            click.echo(f"  {t.number}  {t.from_warehouse.code} -> {t.to_warehouse.code}  {len(t.lines)} lines")


@purchasing.command("convert")
@click.argument("run_id", type=int)
@click.option("--confirm", is_flag=True, help="also confirm the new orders")
@transactional
def convert(run_id, confirm):
    """Turn a reviewed replenishment run into orders and transfers."""
    from addons.purchasing import services as ps
    result = ps.convert_run(run_id, confirm=confirm)
    click.echo(f"created {len(result['orders'])} purchase order(s) and {len(result['transfers'])} transfer(s)")


@purchasing.command("orders")
@click.option("--state", help="only orders in this state")
@click.option("--limit", default=50, show_default=True)
@transactional
def orders(state, limit):
    """List purchase orders, newest first."""
    from addons.purchasing import services as ps
    stmt = sa.select(ps.PurchaseOrder).order_by(ps.PurchaseOrder.id.desc()).limit(limit)
    if state:
        stmt = stmt.where(ps.PurchaseOrder.state == state)
    for o in db.session.scalars(stmt):
        click.echo(f"{o.number:<16} {o.state:<16} {o.supplier.name:<30} {o.warehouse.code:<12} "
                   f"{o.expected_date}  {o.total:>12}")


@purchasing.command("approve")
@click.argument("number")
@click.option("--user", "username", required=True, help="the approving user (needs purchasing.approve)")
@transactional
def approve(number, username):
    """Approve an order above the approval limit."""
    from addons.purchasing import services as ps
    from core.auth.models import User
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise NotFound(_("There is no user %(name)s.", name=username))
    order = ps.approve_order(_order_by_number(number).id, user=user)
    click.echo(f"{order.number}: {order.state}")


@purchasing.command("receive")
@click.argument("number")
@click.option("--close-short", is_flag=True, help="close lines still short: no backorder")
@transactional
def receive(number, close_short):
    """Receive everything outstanding on an order."""
    from addons.purchasing import services as ps
    order = _order_by_number(number)
    receipt = ps.receive_order(order.id, close_short=close_short)
    click.echo(f"{receipt.number}: {len(receipt.lines)} line(s), value {receipt.value}; order {order.state}"
               + (f", backorder {receipt.backorder_qty}" if receipt.has_backorder else ""))


@purchasing.command("pdf")
@click.argument("number")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
@transactional
def pdf(number, output):
    """Write an order's PDF to a file."""
    from addons.purchasing.reports import order_pdf
    order = _order_by_number(number)
    with open(output, "wb") as fh:
        fh.write(order_pdf(order))
    click.echo(f"written {output}")


@purchasing.command("performance")
@transactional
def performance():
    """Supplier performance: on-time rate, fill rate, average lead time."""
    from addons.purchasing import services as ps

    def pct(v):
        return "-" if v is None else f"{(v * 100).quantize(Decimal('0.1'))}%"

    click.echo(f"{'supplier':<32} {'orders':>6} {'receipts':>8} {'on time':>8} {'fill':>8} {'lead days':>9}")
    for r in ps.supplier_performance():
        click.echo(f"{r['supplier_name']:<32} {r['orders']:>6} {r['receipts']:>8} {pct(r['on_time_rate']):>8} "
                   f"{pct(r['fill_rate']):>8} {str(r['avg_lead_time_days'] or '-'):>9}")
