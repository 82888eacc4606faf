"""``o2o pos ...`` commands."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from core.cli import transactional


@click.group("pos")
def pos_group():
    """Point of sale: registers and the inalterable sales journal."""


@pos_group.command("verify-journal")
@click.option("--register", "register_id", type=int, default=None, help="only this register (id)")
@with_appcontext
def verify_journal(register_id):
    """Prove the sales journal chain intact, or name the first broken entry (exit status 1)."""
    from addons.pos.services import verify_journal as verify
    result = verify(register_id)
    if result["ok"]:
        click.echo(f"journal intact: {result['entries']} entries on {result['registers']} register(s)")
        return
    b = result["broken"]
    where = f"entry #{b['seq']} of register {b['register_id']}"
    if b.get("id"):
        where += f" (row id {b['id']}, document {b['document_ref']})"
    click.echo(f"journal BROKEN at {where}: {b['reason']}", err=True)
    sys.exit(1)


@pos_group.command("create-register")
@click.argument("store_code")
@click.argument("code")
@click.option("--name", default=None)
@transactional
def create_register(store_code, code, name):
    """Create a register CODE in the store STORE_CODE."""
    import sqlalchemy as sa
    from core.db import db
    from core.models import Store
    from addons.pos.services import create_register as create
    store = db.session.scalar(sa.select(Store).where(Store.code == store_code))
    if store is None:
        raise click.ClickException(f"there is no store with code {store_code!r}")
    register = create(store.id, code, name)
    click.echo(f"register {register.id}: {store.code}/{register.code}")
