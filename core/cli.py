"""The ``o2o`` command. Core commands live here; addons add theirs through
``o2o_cli_commands``. Every command owns its transaction: commit at the end, roll back on
any error, and refuse bad arguments with a message and exit status 1 or 2."""
from __future__ import annotations

import sys
from functools import wraps

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from core.db import db
from core.errors import O2OError
from core.plugins import AddonError


def transactional(fn):
    """Run the command in one transaction; user-facing errors become click errors."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except (O2OError, AddonError, ValueError) as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        except BaseException:
            db.session.rollback()
            raise
    return with_appcontext(wrapper)


def _create_app():
    from core.app import create_app
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True,
             set_debug_flag=False, load_dotenv=False)
def cli():
    """o2o back office: run `o2o COMMAND --help` for each command."""


# --- database ----------------------------------------------------------------------------

@cli.group("db")
def db_group():
    """Database migrations (one Alembic branch per addon)."""


@db_group.command("upgrade")
@transactional
def db_upgrade():
    """Create or upgrade the database: core, then every enabled addon's branch."""
    from core.addons import enable, enabled_in_db, migrate_core
    from core.migrate import alembic_config, upgrade_addon
    from core.models.system import AddonState
    app = current_app
    migrate_core(app)
    enable(app, [])  # essentials on a fresh database
    cfg = alembic_config(app.extensions["o2o"].installed, connection=db.session.connection())
    for name in enabled_in_db(db.session):
        if name in app.extensions["o2o"].installed:
            upgrade_addon(cfg, name)
            db.session.get(AddonState, name).version = app.extensions["o2o"].addon(name).version
    click.echo("database is up to date")


@db_group.command("revision")
@click.argument("addon")
@click.option("-m", "--message", required=True, help="what the revision does")
@click.option("--autogenerate/--empty", default=True, help="compare the models with the database")
@with_appcontext
def db_revision(addon, message, autogenerate):
    """Write a new migration in ADDON's branch (its first revision starts the branch).

    Run it on a scratch database with core and the addons ADDON depends on enabled (other
    installed addons need not be); autogenerate compares only ADDON's tables."""
    from core.migrate import RevisionError, write_revision
    installed = current_app.extensions["o2o"].installed
    if addon not in installed:
        raise click.BadParameter(f"no addon named '{addon}' (installed: {', '.join(sorted(installed))})")
    target = installed[addon].path / "migrations" / "versions"
    target.mkdir(parents=True, exist_ok=True)
    try:
        with db.engine.connect() as conn:
            script = write_revision(installed, addon, message, conn, autogenerate=autogenerate,
                                    version_path=str(target))
            conn.commit()
    except (RevisionError, AddonError) as exc:
        raise click.ClickException(f"cannot write a revision of '{addon}': {exc}") from None
    except sa.exc.DBAPIError as exc:
        raise click.ClickException(f"cannot write a revision of '{addon}': the database answered "
                                   f"{str(exc.orig).strip()!r}; check O2O_DATABASE_URL") from None
    if script is None:
        click.echo(f"no change: the models of '{addon}' match the database; no revision written")
    else:
        click.echo(f"wrote {script.path}")


# --- addons ------------------------------------------------------------------------------

@cli.group("addons")
def addons_group():
    """List, enable and disable addons."""


@addons_group.command("list")
@with_appcontext
def addons_list():
    """Every installed addon with its state and version."""
    from core.addons import addon_rows
    rows = addon_rows(current_app)
    width = max(len(r["name"]) for r in rows)
    click.echo(f"{'addon':<{width}}  {'state':<13}  {'version':<8}  depends")
    for r in rows:
        flag = " (essential)" if r["essential"] else ("" if r["builtin"] else " (third-party)")
        click.echo(f"{r['name']:<{width}}  {r['state']:<13}  {r['version']:<8}  "
                   f"{', '.join(r['depends']) or '-'}{flag}")


@addons_group.command("enable")
@click.argument("names", nargs=-1, required=True)
@click.option("--demo", is_flag=True, help="also load the demo data of the newly enabled addons")
@transactional
def addons_enable(names, demo):
    """Enable addons and what they depend on (runs their migrations and base data)."""
    from core.addons import enable, load_demo
    new = enable(current_app, list(names))
    if demo and new:
        db.session.commit()
        _load_demo_in_fresh_app(only=new)
    click.echo("enabled: " + (", ".join(new) if new else "nothing new"))


@addons_group.command("disable")
@click.argument("name")
@transactional
def addons_disable(name):
    """Disable an addon; its data stays. Refused while an enabled addon depends on it."""
    from core.addons import disable
    disable(current_app, name)
    click.echo(f"disabled: {name} (its data is kept)")


# --- demo and first start ---------------------------------------------------------------

@cli.command("setup")
@click.option("--demo/--no-demo", default=True, help="load demo data on a new database")
@transactional
def setup(demo):
    """First start: create the database, enable every built-in addon and (once) load the demo."""
    from core.addons import enable, load_demo
    app = current_app
    builtin = [n for n, a in app.extensions["o2o"].installed.items() if a.builtin]
    new = enable(app, builtin)
    click.echo("enabled: " + (", ".join(new) if new else "nothing new"))
    if demo:
        db.session.commit()
        loaded = _load_demo_in_fresh_app()
        click.echo("demo data: " + (", ".join(loaded) if loaded else "already loaded"))


def _load_demo_in_fresh_app(only=None) -> list[str]:
    """Demo data needs every enabled addon's hooks registered (sales channels, payment
    methods...), so it runs in an app built after the enable was committed."""
    from core.addons import load_demo
    from core.app import create_app
    fresh = create_app()
    with fresh.app_context():
        try:
            loaded = load_demo(fresh, only=only)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
    return loaded


@cli.group("demo")
def demo_group():
    """Demo data."""


@demo_group.command("load")
@transactional
def demo_load():
    """Load demo data of every enabled addon that has not loaded it yet."""
    from core.addons import load_demo
    loaded = load_demo(current_app)
    click.echo("demo data: " + (", ".join(loaded) if loaded else "already loaded"))


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
def serve(host, port):
    """Serve the back office (development server; use gunicorn core.wsgi:application in
    production). Addon changes made in the admin take effect without a restart."""
    from werkzeug.serving import run_simple
    from core.wsgi import AppHolder
    run_simple(host, port, AppHolder(), threaded=True, use_reloader=False)


def main():
    try:
        cli.main(prog_name="o2o")
    except KeyboardInterrupt:
        sys.exit(130)


# --- products (master data) --------------------------------------------

@cli.group("products")
def products_group():
    """Products: CSV import."""


@products_group.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="check the file and report, write nothing")
@with_appcontext
def products_import(file, dry_run):
    """Create or update products from a CSV FILE (columns: sku, barcode, name, category,
    unit, tax, list_price, cost, active). Every bad line is reported; nothing is written
    unless the whole file is valid."""
    from core.services.products import import_products
    try:
        result = import_products(file.read(), dry_run=dry_run)
        if result.errors or dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    for error in result.errors:
        click.echo(str(error), err=True)
    click.echo(result.summary(), err=bool(result.errors))
    if result.errors:
        sys.exit(1)
