"""``o2o stock ...``: verify the ledger, release expired reservations, warehouses, valuation."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from core.cli import transactional
from core.db import db


@click.group("stock")
def stock():
    """Stock: verify the ledger against the quants, reservations, valuation."""


@stock.command("verify")
@click.option("--limit", type=int, default=None, help="report at most this many mismatches")
@with_appcontext
def verify_cmd(limit):
    """Check that every quant's on hand equals the sum of its done moves (and reserved the sum
    of its active reservations). Exit status 1 on any mismatch."""
    import sqlalchemy as sa

    from addons.warehouse.models import Location
    from addons.warehouse.services import verify
    from core.models import Product
    problems = verify(limit=limit)
    if problems:
        names = dict(db.session.execute(sa.select(Product.id, Product.sku).where(
            Product.id.in_({p["product_id"] for p in problems}))).all())
        places = dict(db.session.execute(sa.select(Location.id, Location.code).where(
            Location.id.in_({p["location_id"] for p in problems}))).all())
        for p in problems:
            click.echo(f"MISMATCH product {names.get(p['product_id'], p['product_id'])} "
                       f"(#{p['product_id']}) at {places.get(p['location_id'], p['location_id'])}: "
                       f"ledger {p['ledger']}, quant on hand {p['on_hand']}; "
                       f"reserved {p['reserved']}, active reservations {p['reservations']}")
        click.echo(f"{len(problems)} mismatch(es)", err=True)
    if problems:
        sys.exit(1)
    click.echo("stock is consistent: every quant matches the ledger")


@stock.command("release-expired")
@transactional
def release_expired_cmd():
    """Release reservations whose expiry has passed (run it from cron every few minutes)."""
    from addons.warehouse.services import release_expired
    click.echo(f"released {release_expired()} expired reservation(s)")


@stock.command("ensure-warehouses")
@transactional
def ensure_warehouses_cmd():
    """Create the warehouse of every store that has none."""
    from addons.warehouse.services import ensure_store_warehouses
    click.echo(f"created {ensure_store_warehouses()} warehouse(s)")


@stock.command("valuation")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, writable=True), help="write the PDF here")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="the stock as of the end of this local day (YYYY-MM-DD); default: now")
@with_appcontext
def valuation_cmd(pdf_path, as_of):
    """Stock value by warehouse and category, from the values of the ledger's moves."""
    from addons.warehouse.services import valuation
    from core.i18n import _
    data = valuation(as_of=as_of.date() if as_of else None)
    if data["as_of"] is not None:
        click.echo(_("As of %(date)s", date=data["as_of"].isoformat()))
    for r in data["rows"]:
        click.echo(f"{r['warehouse_code']:<16} {r['category']:<32} {r['quantity']:>14} {r['value']:>16}")
    click.echo(f"{'TOTAL':<49} {data['total_quantity']:>14} {data['total_value']:>16}")
    if pdf_path:
        from addons.warehouse.reports import valuation_pdf
        with open(pdf_path, "wb") as fh:
            title = _("Stock valuation as of %(date)s", date=data["as_of"].isoformat()) if data["as_of"] else None
            fh.write(valuation_pdf(data, title=title))
        click.echo(f"written {pdf_path}")
