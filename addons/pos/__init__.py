"""Registers, cashier sessions, the till, receipts and Z-reports."""
from core.plugins import hookimpl

MANIFEST = {
    "name": "pos",
    "title": "Point of sale",
    "version": "0.1.0",
    "summary": "Registers, cashier sessions, the till, receipts and Z-reports.",
    "depends": ["sales"],
    "demo": True,
    "hookspecs": "addons.pos.hookspecs",
}


@hookimpl
def o2o_permissions():
    from core.i18n import _l
    perms = [
        ("pos.sell", _l("Sell at the till (web till and till API)")),
        ("pos.session", _l("Open and close till sessions, put cash in and take it out")),
        ("pos.refund", _l("Refund a till sale (a new negative document)")),
        ("pos.attention.read", _l("See refused till sales that need attention")),
        ("pos.attention.retry", _l("Send a refused till sale again")),
        ("pos.attention.convert", _l("Record a refused till sale in the open session")),
        ("pos.attention.void", _l("Void a refused till sale, with a reason")),
    ]
    for thing, label in (("register", _l("registers")), ("session_admin", _l("till sessions")),
                         ("sale", _l("till sales")), ("journal", _l("the till journal")),
                         ("zreport", _l("Z reports"))):
        for action in ("read", "create", "edit", "delete", "export"):
            perms.append((f"pos.{thing}.{action}", _l("Point of sale: %(action)s %(thing)s",
                                                          action=action, thing=label)))
    return perms


@hookimpl
def o2o_settings():
    from addons.pos.barcodes import DEFAULT_LAYOUTS
    return {
        # GS1 in-store labels (prefixes 20-29): see addons/pos/barcodes.py
        "POS_SCALE_BARCODE_LAYOUTS": DEFAULT_LAYOUTS,
        # the payment method counted in the drawer
        "POS_CASH_METHOD": "cash",
        "POS_RECEIPT_FOOTER": "Thank you for your visit",
        # products sent to the web till for selling while offline
        "POS_OFFLINE_CATALOGUE_LIMIT": 5000,
    }


@hookimpl
def o2o_api_blueprints(app):
    from addons.pos.api import bp
    return [bp]


@hookimpl
def o2o_blueprints(app):
    from addons.pos.web import bp
    return [bp]


@hookimpl
def o2o_admin_views(app):
    from addons.pos.admin import views
    return views()


@hookimpl
def o2o_cli_commands(app):
    from addons.pos.cli import pos_group
    return [pos_group]


@hookimpl
def o2o_demo_data(session, app):
    from addons.pos.services import demo_registers
    demo_registers(session)
