"""Suppliers' terms, purchase orders with approval, receipts, vendor bills, replenishment."""
from core.i18n import _l
from core.plugins import hookimpl

MANIFEST = {
    "name": "purchasing",
    "title": "Purchasing",
    "version": "0.1.0",
    "summary": "Suppliers' terms, purchase orders with approval, receipts, vendor bills, replenishment.",
    "depends": ["warehouse"],
    "demo": True,
    "hookspecs": "addons.purchasing.hookspecs",
}

# (prefix, what): each gets read/create/edit/delete/export.
_MODELS = [
    ("purchasing.supplier", _l("suppliers' prices and terms")),
    ("purchasing.order", _l("purchase orders")),
    ("purchasing.receipt", _l("goods receipts")),
    ("purchasing.bill", _l("vendor bills")),
    ("purchasing.replenish", _l("replenishment proposals")),
]


@hookimpl
def o2o_permissions():
    perms = []
    for prefix, title in _MODELS:
        for action in ("read", "create", "edit", "delete", "export"):
            perms.append((f"{prefix}.{action}", (action, title)))
    perms += [
        ("purchasing.order.confirm", _l("Confirm purchase orders (within the approval limit)")),
        ("purchasing.order.send", _l("Send purchase orders to suppliers and print them")),
        ("purchasing.order.cancel", _l("Cancel purchase orders")),
        ("purchasing.approve", _l("Approve purchase orders above the approval limit (not one's own)")),
        ("purchasing.receipt.receive", _l("Receive goods against purchase orders")),
        ("purchasing.bill.post", _l("Post vendor bills (three-way match)")),
        ("purchasing.release_bill", _l("Release vendor bills held for mismatches")),
        ("purchasing.replenish.run", _l("Run replenishment proposals")),
        ("purchasing.replenish.convert", _l("Turn replenishment proposals into orders and transfers")),
        ("purchasing.performance.read", _l("See supplier performance")),
    ]
    return perms


@hookimpl
def o2o_settings():
    return {
        # orders whose total (tax included) is above this need purchasing.approve
        "PURCHASING_APPROVAL_THRESHOLD": "5000.00",
        # percent of a line that may be received above the ordered quantity
        "PURCHASING_OVER_RECEIPT_TOLERANCE": "5",
        # percent a billed unit price may differ from the ordered one and still match
        "PURCHASING_PRICE_TOLERANCE": "0",
        # code of the distribution-centre warehouse replenishment transfers from ("": first central one)
        "PURCHASING_DC_WAREHOUSE": "",
        "PURCHASING_DEFAULT_LEAD_TIME": 7,
        "PURCHASING_PAYMENT_TERM_DAYS": 30,
        # a bill priced differently from its receipt: "inventory" revalues the stock still on
        # hand in the warehouse (the rest, already gone, is price variance); "ppv" sends all
        # of the difference to the price-variance account
        "PURCHASING_PRICE_VARIANCE": "inventory",
    }


@hookimpl
def o2o_base_data(session, app):
    from addons.purchasing.services import ensure_sequences
    ensure_sequences(session)


@hookimpl
def o2o_demo_data(session, app):
    from addons.purchasing.demo import load_demo
    load_demo(session, app)


@hookimpl
def o2o_admin_views(app):
    from addons.purchasing.admin import views
    return views()


@hookimpl
def o2o_blueprints(app):
    from addons.purchasing.web import blueprint
    return [blueprint()]


@hookimpl
def o2o_api_blueprints(app):
    from addons.purchasing.api import blueprint
    return [blueprint()]


@hookimpl
def o2o_cli_commands(app):
    from addons.purchasing.cli import purchasing
    return [purchasing]


@hookimpl(optionalhook=True)
def o2o_finance_backfill_sources(since, until):
    from addons.purchasing.services import backfill_sources
    return backfill_sources(since, until)
