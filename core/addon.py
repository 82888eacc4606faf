"""The core addon: master data, users and the addon screen. Essential: cannot be disabled.

Registered through the ``o2o.addons`` entry point exactly like any other addon.
"""
from __future__ import annotations

from core.i18n import _l
from core.plugins import hookimpl

MANIFEST = {
    "name": "core",
    "title": "Master data",
    "version": "1.0.0",
    "summary": "Stores, partners, products, taxes, units, sequences, users, roles and addons.",
    "depends": [],
    "essential": True,
    "demo": True,
}

# (model prefix, title): each gets read/create/edit/delete/export permissions.
MASTER_DATA = [
    ("core.store", _l("stores")),
    ("core.partner", _l("customers and suppliers")),
    ("core.product", _l("products")),
    ("core.category", _l("product categories")),
    ("core.tax", _l("taxes")),
    ("core.unit", _l("units of measure")),
    ("core.sequence", _l("document sequences")),
    ("core.user", _l("users")),
    ("core.role", _l("roles")),
    ("core.token", _l("API tokens")),
]


@hookimpl
def o2o_permissions():
    perms = []
    for prefix, title in MASTER_DATA:
        for action in ("read", "create", "edit", "delete", "export"):
            perms.append((f"{prefix}.{action}", (action, title)))
    perms += [
        ("core.product.import", _l("Import products from CSV")),
        ("core.audit.read", _l("Read the audit log")),
        ("core.addons.read", _l("See the installed addons")),
        ("core.addons.manage", _l("Enable and disable addons")),
    ]
    return perms


@hookimpl
def o2o_admin_views(app):
    from core.admin.addons import addons_view
    from core.admin.auth import auth_views
    from core.admin.master import master_data_views
    # Users and roles live in core.admin.auth (permissions picked from the declared codes).
    return master_data_views() + auth_views() + [addons_view()]


@hookimpl
def o2o_cli_commands(app):
    from core.auth.cli import commands
    return commands()


@hookimpl
def o2o_api_blueprints(app):
    from core.api import access, master, tokens
    return [master.blueprint(), tokens.blueprint(), access.blueprint()]


@hookimpl
def o2o_base_data(session, app):
    from core.services.base_data import create_core_base_data
    create_core_base_data(session)


@hookimpl
def o2o_demo_data(session, app):
    from core.demo import load_core_demo
    load_core_demo(session, app)
