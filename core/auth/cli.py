"""`o2o user ...`: create users and issue API tokens from the command line.

There is no default password: `o2o user create` takes one from --password, from standard
input (--password-stdin, for scripts) or from a hidden prompt, and refuses weak ones.
"""
from __future__ import annotations

import datetime as dt
import sys

import click
import sqlalchemy as sa

from core.cli import transactional
from core.db import db, utcnow


def _read_password(password, password_stdin, username) -> str:
    from core.auth.passwords import check_password_strength
    if password is not None and password_stdin:
        raise click.UsageError("use either --password or --password-stdin, not both")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif password is None:
        if not sys.stdin.isatty():
            raise click.ClickException(
                "a password is required: pass --password-stdin (and pipe it in) or --password")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    check_password_strength(password, username)
    return password


@click.group("user")
def user_group():
    """Users: create them, set passwords, issue API tokens."""


@user_group.command("create")
@click.argument("username")
@click.option("--password", help="the password (visible in the shell history: prefer --password-stdin)")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
@click.option("--role", "roles", multiple=True, metavar="CODE", help="a role to give (repeat for several)")
@click.option("--superuser", is_flag=True, help="passes every permission check")
@click.option("--store", "stores", multiple=True, metavar="CODE",
              help="limit the user to this store (repeat for several); default: every store")
@click.option("--name", "display_name", help="the name shown in the back office")
@click.option("--email")
@click.option("--locale", type=click.Choice(["en", "zh_Hans_CN"]), help="language (default: the browser's)")
@transactional
def user_create(username, password, password_stdin, roles, superuser, stores, display_name, email, locale):
    """Create a user (USERNAME) with a password, roles and stores."""
    from core.auth.models import Role, User
    from core.models import Store
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise click.BadParameter("a user name is 1 to 64 characters without spaces", param_hint="USERNAME")
    if db.session.scalar(sa.select(User.id).where(sa.func.lower(User.username) == username.lower())):
        raise click.ClickException(f"a user named '{username}' already exists")
    role_rows = []
    for code in roles:
        role = db.session.scalar(sa.select(Role).where(Role.code == code))
        if role is None:
            known = ", ".join(db.session.scalars(sa.select(Role.code).order_by(Role.code))) or "none yet"
            raise click.ClickException(f"no role with code '{code}' (roles: {known})")
        role_rows.append(role)
    store_rows = []
    for code in stores:
        store = db.session.scalar(sa.select(Store).where(Store.code == code))
        if store is None:
            known = ", ".join(db.session.scalars(sa.select(Store.code).order_by(Store.code))) or "none yet"
            raise click.ClickException(f"no store with code '{code}' (stores: {known})")
        store_rows.append(store)
    password = _read_password(password, password_stdin, username)
    user = User(username=username, display_name=display_name, email=email, locale=locale,
                is_superuser=superuser, all_stores=not store_rows, roles=role_rows, stores=store_rows)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    scope = ", ".join(s.code for s in store_rows) if store_rows else "every store"
    click.echo(f"created user '{username}' (roles: {', '.join(r.code for r in role_rows) or 'none'}; "
               f"stores: {scope}{'; superuser' if superuser else ''})")


@user_group.command("password")
@click.argument("username")
@click.option("--password")
@click.option("--password-stdin", is_flag=True)
@transactional
def user_password(username, password, password_stdin):
    """Set a new password for USERNAME."""
    from core.auth.models import User
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user named '{username}'")
    user.set_password(_read_password(password, password_stdin, username))
    click.echo(f"password of '{username}' changed")


@user_group.command("token")
@click.argument("username")
@click.option("--name", required=True, help="what the token is for (e.g. 'till 3')")
@click.option("--expires-days", type=click.IntRange(1, 3650), help="expire after this many days")
@transactional
def user_token(username, name, expires_days):
    """Issue an API token for USERNAME. It is printed once; only its hash is stored."""
    from core.auth.models import ApiToken, User
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user named '{username}'")
    if not user.active:
        raise click.ClickException(f"user '{username}' is deactivated")
    expires = utcnow() + dt.timedelta(days=expires_days) if expires_days else None
    row, clear = ApiToken.issue(user, name.strip()[:64], expires_at=expires)
    db.session.add(row)
    db.session.flush()
    click.echo(clear)
    click.echo(f"API token '{row.name}' for '{username}' (prefix {row.prefix}). "
               "Store it now: it cannot be shown again.", err=True)


def commands():
    return [user_group]
