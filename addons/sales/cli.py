"""``o2o sales ...``: list and show orders, confirm, hand over and cancel from the shell."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from core.cli import transactional
from core.db import db
from core.errors import NotFound


def _order_by_number(number: str):
    from addons.sales.models import Order
    order = db.session.scalar(sa.select(Order).where(Order.number == number))
    if order is None:
        raise NotFound(f"there is no order {number!r}")
    return order


@click.group("sales")
def sales():
    """Sales orders of every channel."""


@sales.command("list")
@click.option("--store", "store_code", help="store code")
@click.option("--channel")
@click.option("--state", type=click.Choice(["draft", "confirmed", "paid", "fulfilled", "cancelled"]))
@click.option("--limit", type=int, default=20, show_default=True)
@with_appcontext
def list_cmd(store_code, channel, state, limit):
    """The latest orders, newest first."""
    from addons.sales import services
    from core.models import Store
    store_id = None
    if store_code:
        store_id = db.session.scalar(sa.select(Store.id).where(Store.code == store_code))
        if store_id is None:
            raise click.BadParameter(f"no store has the code {store_code!r}", param_hint="--store")
    stmt = services.orders_query(channel=channel, store_id=store_id, state=state).limit(limit)
    from core.timeutil import format_local
    for o in db.session.scalars(stmt):  # the time on the order's store clock
        click.echo(f"{o.number:<16} {format_local(o.order_date, o.store)} {o.channel:<8} {o.store.code:<8} "
                   f"{o.fulfilment:<9} {o.state:<10} {o.total:>12}")


@sales.command("show")
@click.argument("number")
@transactional
def show_cmd(number):
    """An order with its lines, payments and stock moves."""
    from addons.sales import services
    o = _order_by_number(number)
    click.echo(f"{o.number}  {o.channel}  store {o.store.code}  {o.fulfilment}  {o.state}")
    for line in o.lines:
        click.echo(f"  {line.quantity:>10} x {line.description:<40} {line.unit_price:>12} "
                   f"-{line.discount}%  tax {line.tax_amount:>10}  {line.total:>12}")
    click.echo(f"  total {o.total}  (net {o.net_total}, tax {o.tax_total})")
    for p in o.payments:
        click.echo(f"  paid {p.method:<12} {p.amount:>12}  tendered {p.tendered}  change {p.change}  "
                   f"{p.reference or ''}")
    for m in services.stock_moves(o):
        click.echo(f"  move product #{m.product_id} {m.quantity} {m.from_location_id} -> {m.to_location_id}")


@sales.command("confirm")
@click.argument("number")
@transactional
def confirm_cmd(number):
    """Confirm an order (pickup and delivery reserve their stock)."""
    from addons.sales import services
    o = services.confirm_order(_order_by_number(number).id)
    click.echo(f"{o.number} confirmed")


@sales.command("fulfil")
@click.argument("number")
@transactional
def fulfil_cmd(number):
    """Hand a paid pickup or delivery order over (issues its reservations)."""
    from addons.sales import services
    o = services.fulfil_order(_order_by_number(number).id)
    click.echo(f"{o.number} handed over")


@sales.command("cancel")
@click.argument("number")
@click.option("--reason", required=True, help="why the order is cancelled")
@transactional
def cancel_cmd(number, reason):
    """Cancel an order that was not handed over (releases its reservations)."""
    from addons.sales import services
    o = services.cancel_order(_order_by_number(number).id, reason)
    click.echo(f"{o.number} cancelled")
