"""Roles, the permissions they carry, and which users have them.

Shared by the API and the admin's role screen. Never commits. The rules are the admin's:
a role grants only codes an enabled addon declares (or their wildcards ``addon.*`` and
``*``), keeps codes of addons switched off, and a user limited to some stores may only
change users limited to those stores (never an every-store user or a superuser).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from core.auth.models import Role, RolePermission, User, user_role, user_store
from core.db import db
from core.errors import Conflict, NotFound, PermissionDenied
from core.i18n import _
from core.models.master import InvalidValue


def grantable_codes(app=None) -> set[str]:
    """Every code a role may carry: each declared permission, each enabled addon's wildcard,
    and ``*`` (everything), exactly the choices of the admin's role form."""
    app = app or current_app
    declared = set(app.extensions["o2o.permissions"])
    return declared | {f"{code.split('.', 1)[0]}.*" for code in declared} | {"*"}


def set_role_permissions(role: Role, codes, app=None) -> Role:
    """Give ``role`` exactly ``codes`` (of the grantable ones). Codes of addons switched off
    stay: they are not offered, so nobody chose to take them away."""
    known = grantable_codes(app)
    wanted = {str(c).strip() for c in codes}
    unknown = sorted(wanted - known)
    if unknown:
        raise InvalidValue("permissions", _("No enabled addon declares the permission(s) %(codes)s.",
                                            codes=", ".join(unknown)))
    wanted |= {c for c in role.permission_codes if c not in known}
    for row in list(role.permissions):
        if row.code not in wanted:
            role.permissions.remove(row)
    for code in sorted(wanted - role.permission_codes):
        role.permissions.append(RolePermission(code=code))
    return role


def _check_role_fields(role: Role) -> None:
    if not role.code:
        raise InvalidValue("code", _("%(label)s is required.", label=_("Code")))
    if not role.name:
        raise InvalidValue("name", _("%(label)s is required.", label=_("Name")))


def _check_role_unique(role: Role) -> None:
    other = db.session.scalar(sa.select(Role).where(Role.code == role.code, Role.id != (role.id or -1)))
    if other is not None:
        raise Conflict(_("The role code %(code)s is already used by %(other)s.", code=role.code, other=other.name),
                       field="code")


def create_role(code: str, name: str, permissions=(), app=None) -> Role:
    role = Role(code=(code or "").strip(), name=(name or "").strip())
    _check_role_fields(role)
    with db.session.no_autoflush:
        _check_role_unique(role)
        set_role_permissions(role, permissions, app)
    db.session.add(role)
    db.session.flush()
    return role


def update_role(role: Role, data: dict, app=None) -> Role:
    """Change ``code``, ``name`` and/or ``permissions`` (the whole list) as given in ``data``."""
    with db.session.no_autoflush:
        for key in ("code", "name"):
            if key in data:
                setattr(role, key, (data[key] or "").strip())
        _check_role_fields(role)
        _check_role_unique(role)
        if "permissions" in data:
            set_role_permissions(role, data["permissions"], app)
    db.session.flush()
    return role


def get_role(role_id: int) -> Role:
    role = db.session.get(Role, role_id)
    if role is None:
        raise NotFound(_("There is no role with id %(id)s.", id=role_id))
    return role


def visible_users(actor, stmt=None):
    """Limit a User query to those ``actor`` may manage: everyone for an every-store user;
    for one limited to some stores, the users limited to (some of) those stores only."""
    stmt = stmt if stmt is not None else sa.select(User)
    store_ids = getattr(actor, "store_ids", None)
    if store_ids is None:
        return stmt
    elsewhere = sa.select(user_store.c.user_id).where(user_store.c.user_id == User.id,
                                                       user_store.c.store_id.not_in(store_ids or [-1]))
    return stmt.where(User.is_superuser.is_(False), User.all_stores.is_(False), ~sa.exists(elsewhere))


def get_user(user_id: int, actor=None) -> User:
    """A user ``actor`` may manage; another store's user answers as if there were none."""
    user = db.session.scalar(visible_users(actor).where(User.id == user_id))
    if user is None:
        raise NotFound(_("There is no user with id %(id)s.", id=user_id))
    return user


def assign_role(user: User, role: Role, actor=None) -> User:
    """Give ``user`` the role (nothing happens if they have it). Only a superuser may
    change a superuser's roles."""
    _check_may_change(user, actor)
    if role not in user.roles:
        user.roles.append(role)
    db.session.flush()
    return user


def unassign_role(user: User, role: Role, actor=None) -> User:
    _check_may_change(user, actor)
    if role not in user.roles:
        raise NotFound(_("User %(user)s does not have the role %(role)s.", user=user.username, role=role.code))
    user.roles.remove(role)
    db.session.flush()
    return user


def _check_may_change(user: User, actor) -> None:
    if actor is not None and user.is_superuser and not actor.is_superuser:
        raise PermissionDenied(_("Only a superuser may change a superuser."))
