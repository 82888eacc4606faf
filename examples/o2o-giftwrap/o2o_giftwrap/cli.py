"""``o2o giftwrap ...``: commands run in an app context; ``transactional`` commits at the
end and turns o2o errors into a clean error line (exit status 1)."""
from __future__ import annotations

import click

from core.cli import transactional
from o2o_giftwrap import services


@click.group("giftwrap")
def giftwrap_group():
    """Gift wraps."""


@giftwrap_group.command("list")
@transactional
def list_wraps():
    """The gift wraps on offer, with their fee."""
    for wrap in services.active_wraps():
        click.echo(f"{wrap.code:<8} {wrap.fee:>10}  {wrap.name}")


@giftwrap_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--fee", required=True, help="fee per item, e.g. 5.00")
@transactional
def add_wrap(code, name, fee):
    """Offer a new gift wrap."""
    wrap = services.create_wrap(code, name, fee)
    click.echo(f"added {wrap.code} ({wrap.fee})")
