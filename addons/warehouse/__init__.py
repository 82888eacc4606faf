"""Warehouses, locations, stock ledger and quants, transfers, counts, reorder rules, valuation."""
from core.i18n import _l
from core.plugins import hookimpl

MANIFEST = {
    "name": "warehouse",
    "title": "Warehouse",
    "version": "0.1.0",
    "summary": "Warehouses, locations, stock ledger and quants, transfers, counts, reorder rules, valuation.",
    "depends": ["core"],
    "demo": True,
    "hookspecs": "addons.warehouse.hookspecs",
}

# (prefix, what): each gets read/create/edit/delete/export permissions.
_MODELS = [
    ("warehouse.warehouse", _l("warehouses")),
    ("warehouse.location", _l("stock locations")),
    ("warehouse.transfer", _l("transfers between warehouses")),
    ("warehouse.count", _l("stock counts")),
    ("warehouse.reorder", _l("reorder rules")),
]


@hookimpl
def o2o_permissions():
    perms = []
    for prefix, title in _MODELS:
        for action in ("read", "create", "edit", "delete", "export"):
            perms.append((f"{prefix}.{action}", (action, title)))
    perms += [
        ("warehouse.move.read", _l("See the stock ledger")),
        ("warehouse.move.export", _l("Export the stock ledger")),
        ("warehouse.quant.read", _l("See on-hand and reserved stock")),
        ("warehouse.quant.export", _l("Export on-hand and reserved stock")),
        ("warehouse.availability.read", _l("Look up a product's availability in every store")),
        ("warehouse.transfer.ship", _l("Ship transfers")),
        ("warehouse.transfer.receive", _l("Receive transfers")),
        ("warehouse.count.start", _l("Start stock counts")),
        ("warehouse.count.import", _l("Import counted quantities from CSV")),
        ("warehouse.count.validate", _l("Validate stock counts (posts differences)")),
        ("warehouse.valuation.read", _l("See the stock valuation report")),
        ("warehouse.stock.receive", _l("Receive goods into stock through the API")),
        ("warehouse.stock.issue", _l("Issue, reserve and release stock through the API")),
        ("warehouse.negative.read", _l("See negative-stock exceptions raised by till sales")),
        ("warehouse.negative.export", _l("Export negative-stock exceptions")),
        ("warehouse.negative.propose_count", _l("Propose a count for negative-stock exceptions")),
        ("warehouse.negative.resolve", _l("Resolve negative-stock exceptions")),
    ]
    return perms


@hookimpl
def o2o_app_ready(app):
    from addons.warehouse.services import install_store_listener
    install_store_listener()


@hookimpl
def o2o_base_data(session, app):
    from addons.warehouse.services import ensure_store_warehouses
    ensure_store_warehouses(session)


@hookimpl
def o2o_demo_data(session, app):
    from addons.warehouse.demo import load_demo
    load_demo(session, app)


@hookimpl
def o2o_admin_views(app):
    from addons.warehouse.admin import views
    return views()


@hookimpl
def o2o_blueprints(app):
    from flask import Blueprint
    # templates only (the admin screens render warehouse/*.html)
    return [Blueprint("warehouse_pages", __name__, template_folder="templates", url_prefix="/warehouse")]


@hookimpl
def o2o_api_blueprints(app):
    from addons.warehouse.api import blueprint
    return [blueprint()]


@hookimpl
def o2o_cli_commands(app):
    from addons.warehouse.cli import stock
    return [stock]
