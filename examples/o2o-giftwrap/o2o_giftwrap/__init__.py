"""Gift wrapping: an example third-party o2o addon.

This module is what the ``o2o.addons`` entry point names. It holds the MANIFEST (read
without calling any hook) and thin hook implementations that call ``services``. Nothing
is registered at import time, and the imports of heavy modules happen inside the hooks,
so importing the addon stays cheap.
"""
from __future__ import annotations

from core.i18n import _l
from core.plugins import hookimpl

MANIFEST = {
    "name": "giftwrap",                # = entry-point name = Alembic branch = table prefix
    "title": "Gift wrapping",          # the admin menu section
    "version": "0.1.0",
    "summary": "Wrapping papers with a fee; products sold gift-wrapped cost their price plus the fee.",
    "depends": ["core"],
    "demo": True,
}


@hookimpl
def o2o_permissions():
    """Every permission code this addon checks. ModelView checks ``<permission>.read``,
    ``.create``, ``.edit``, ``.delete`` and ``.export``; the API checks what its routes name."""
    return [
        ("giftwrap.wrap.read", _l("See wrapping papers")),
        ("giftwrap.wrap.create", _l("Create wrapping papers")),
        ("giftwrap.wrap.edit", _l("Edit wrapping papers")),
        ("giftwrap.wrap.delete", _l("Delete wrapping papers")),
        ("giftwrap.wrap.export", _l("Export wrapping papers")),
        ("giftwrap.product.read", _l("See which products are sold gift-wrapped")),
        ("giftwrap.product.create", _l("Mark products as sold gift-wrapped")),
        ("giftwrap.product.edit", _l("Change the wrap of products sold gift-wrapped")),
        ("giftwrap.product.delete", _l("Stop selling products gift-wrapped")),
        ("giftwrap.product.export", _l("Export products sold gift-wrapped")),
    ]


@hookimpl
def o2o_settings():
    return {"GIFTWRAP_DEFAULT_FEE": "5.00"}


@hookimpl
def o2o_admin_views(app):
    from o2o_giftwrap.admin import admin_views
    return admin_views()


@hookimpl
def o2o_api_blueprints(app):
    from o2o_giftwrap.api import blueprint
    return [blueprint()]


@hookimpl
def o2o_cli_commands(app):
    from o2o_giftwrap.cli import giftwrap_group
    return [giftwrap_group]


@hookimpl
def o2o_base_data(session, app):
    from o2o_giftwrap import services
    services.ensure_standard_wrap(session, app.config["GIFTWRAP_DEFAULT_FEE"])


@hookimpl
def o2o_demo_data(session, app):
    from o2o_giftwrap import services
    services.load_demo(session)


@hookimpl(wrapper=True)
def o2o_compute_price(product):
    """A product sold gift-wrapped costs the price computed so far plus its wrap's fee."""
    price = yield
    from o2o_giftwrap import services
    return services.add_wrap_fee(product, price)
