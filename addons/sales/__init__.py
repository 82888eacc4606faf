"""One order model for every channel: orders, lines, payments, fulfilment, reservation."""
from core.i18n import _l
from core.plugins import hookimpl

MANIFEST = {
    "name": "sales",
    "title": "Sales",
    "version": "0.1.0",
    "summary": "One order model for every channel: orders, lines, payments, fulfilment, reservation.",
    "depends": ["warehouse"],
    "demo": True,
    "hookspecs": "addons.sales.hookspecs",
}

ORDER_ACTIONS = ("read", "create", "edit", "delete", "export", "confirm", "pay", "fulfil", "cancel", "price")


@hookimpl
def o2o_permissions():
    descriptions = {
        "read": _l("See sales orders"),
        "create": _l("Create sales orders"),
        "edit": _l("Edit sales orders (notes)"),
        "delete": _l("Delete sales orders"),
        "export": _l("Export sales orders"),
        "confirm": _l("Confirm sales orders (reserves stock)"),
        "pay": _l("Take payments for sales orders"),
        "fulfil": _l("Hand over pickup and delivery orders"),
        "cancel": _l("Cancel sales orders"),
        "price": _l("Set unit prices and discounts on sales orders"),
    }
    perms = [(f"sales.order.{a}", descriptions[a]) for a in ORDER_ACTIONS]
    for action in ("read", "create", "edit", "delete", "export"):
        perms.append((f"sales.payment_method.{action}", (action, _l("payment methods"))))
    for action in ("read", "export"):
        perms.append((f"sales.payment.{action}", (action, _l("payments"))))
    return perms


@hookimpl
def o2o_settings():
    return {
        # "line": tax rounded on each line; "document": once per tax rate over the order.
        "SALES_TAX_ROUNDING": "line",
        # Cash tender is rounded to a multiple of this ("0.05", "0.1", "1"); "0" = no rounding.
        "SALES_CASH_ROUNDING": "0",
    }


@hookimpl
def o2o_sales_channels():
    return [("pos", _l("Shop till")), ("web", _l("Web shop"))]


@hookimpl(trylast=True)
def o2o_compute_price(product):
    """The innermost price: the product's tax-inclusive list price (wrappers adjust it)."""
    return product.list_price


@hookimpl
def o2o_base_data(session, app):
    from addons.sales.services import create_base_data
    create_base_data(session)


@hookimpl
def o2o_demo_data(session, app):
    from addons.sales.demo import load_demo
    load_demo(session, app)


@hookimpl
def o2o_admin_views(app):
    from addons.sales.admin import admin_views
    return admin_views()


@hookimpl
def o2o_blueprints(app):
    # No routes: makes addons/sales/templates (the admin order detail) visible to Jinja.
    from flask import Blueprint
    return [Blueprint("sales_templates", __name__, template_folder="templates", url_prefix="/sales")]


@hookimpl
def o2o_cli_commands(app):
    from addons.sales.cli import sales
    return [sales]


@hookimpl
def o2o_api_blueprints(app):
    from addons.sales.api import blueprint
    return [blueprint()]


@hookimpl(optionalhook=True)
def o2o_finance_backfill_sources(since, until):
    """Paid orders (not cancelled) from ``since`` for ``o2o finance backfill`` (docs/hooks.md,
    section finance). Added by the finance engineer; read only."""
    import sqlalchemy as sa

    from addons.sales.models import Order
    from core.db import db
    from core.timeutil import any_zone_bounds, on_local_days
    start, end = any_zone_bounds(since, until)  # then each order on its store's local days
    q = (sa.select(Order).where(Order.paid_at.is_not(None), Order.state != "cancelled",
                                Order.paid_at >= start)
         .order_by(Order.paid_at, Order.id))
    if until is not None:
        q = q.where(Order.paid_at < end)
    return [("o2o_order_paid", order) for order in db.session.scalars(q)
            if on_local_days(order.paid_at, since, until, order.store_id)]
