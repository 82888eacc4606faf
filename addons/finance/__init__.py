"""Double-entry books fed by every addon, bank statements, reconciliation, PDF reports.

Finance depends on core only. It hears of sales, till closes, receipts, bills and refunds
through their events (listeners marked ``optionalhook``: the addons publishing them may be
off) and posts them with ``addons.finance.services``. It publishes one hook,
``o2o_finance_backfill_sources`` (see hookspecs.py and docs/hooks.md).
"""
from core.i18n import _l
from core.plugins import hookimpl

MANIFEST = {
    "name": "finance",
    "title": "Finance",
    "version": "0.1.0",
    "summary": "Double-entry books fed by every addon, bank statements, reconciliation, PDF reports.",
    "depends": ["core"],
    "demo": True,
    "hookspecs": "addons.finance.hookspecs",
}

# (permission prefix of a model screen, what it is)
MODEL_PERMISSIONS = [
    ("finance.account", _l("the chart of accounts")),
    ("finance.journal", _l("journals")),
    ("finance.entry", _l("journal entries")),
    ("finance.period", _l("accounting periods")),
    ("finance.mapping", _l("the automatic posting configuration")),
    ("finance.bank", _l("bank accounts and CSV formats")),
    ("finance.statement", _l("bank statements")),
    ("finance.rule", _l("reconciliation rules")),
    ("finance.match", _l("reconciliations")),
    ("finance.manual", _l("manual journal entries")),
    ("finance.bank_rule", _l("bank-line rules")),
    ("finance.payment_run", _l("payment runs and supplier bank accounts")),
]


@hookimpl
def o2o_permissions():
    perms = []
    for prefix, title in MODEL_PERMISSIONS:
        for action in ("read", "create", "edit", "delete", "export"):
            perms.append((f"{prefix}.{action}", (action, title)))
    perms += [
        # was finance.entry.post: migration finance_0003 moved every role's grant to this code
        ("finance.post_manual", _l("Post and approve manual journal entries")),
        ("finance.payment_run.approve", _l("Approve payment runs")),
        ("finance.payment_run.post", _l("Export and post payment runs")),
        ("finance.entry.reverse", _l("Reverse posted journal entries")),
        ("finance.period.lock", _l("Lock and unlock accounting periods")),
        ("finance.statement.import", _l("Import bank and provider statements")),
        ("finance.reconcile", _l("Reconcile statements (automatic and by hand, write-offs, undo)")),
        ("finance.report", _l("Print reconciliation reports, trial balance and journals")),
        ("finance.backfill", _l("Post past documents (backfill)")),
    ]
    return perms


@hookimpl
def o2o_settings():
    return {
        "FINANCE_AUTO_POST": True,          # post sales, till closes, receipts and bills as they happen
        "FINANCE_WRITEOFF_LIMIT": "5.00",   # largest difference a user may write off
        "FINANCE_PDF_CHUNK_ROWS": 60,       # rows per platypus table in long PDF listings (about a page)
        # manual entries whose debits exceed this need a second person's approval before posting
        "FINANCE_MANUAL_SECOND_APPROVAL_ABOVE": "10000.00",
    }


@hookimpl
def o2o_base_data(session, app):
    from addons.finance.services import create_base_data
    create_base_data(session)
    from addons.finance.payment_runs import create_base_data as payment_base_data
    payment_base_data(session)


@hookimpl
def o2o_demo_data(session, app):
    from addons.finance.demo import load_demo
    load_demo(session, app)


@hookimpl
def o2o_admin_views(app):
    from addons.finance.admin import views
    return views()


@hookimpl
def o2o_blueprints(app):
    from flask import Blueprint
    # no routes: it makes addons/finance/templates visible to the admin pages
    return [Blueprint("finance_templates", __name__, url_prefix="/finance", template_folder="templates")]


@hookimpl
def o2o_api_blueprints(app):
    from addons.finance.api import blueprint
    return [blueprint()]


@hookimpl
def o2o_cli_commands(app):
    from addons.finance.cli import finance_group
    return [finance_group]


@hookimpl
def o2o_report_providers(app):
    from addons.finance.reports import report_providers
    return report_providers()


# --- events of other addons (which may be off: optionalhook) ----------------------------

def _auto():
    from addons.finance import services
    return services if services.auto_post_enabled() else None


@hookimpl(optionalhook=True)
def o2o_order_paid(order):
    services = _auto()
    if services:
        services.post_order_paid(order)


@hookimpl(optionalhook=True)
def o2o_order_cancelled(order, reason):
    services = _auto()
    if services:
        services.cancel_order_posting(order, reason)


@hookimpl(optionalhook=True)
def o2o_pos_session_closed(pos_session):
    services = _auto()
    if services:
        services.post_session_closed(pos_session)


@hookimpl(optionalhook=True)
def o2o_pos_refund_recorded(refund):
    services = _auto()
    if services:
        services.post_pos_refund(refund)


@hookimpl(optionalhook=True)
def o2o_goods_received(receipt):
    services = _auto()
    if services:
        services.post_goods_received(receipt)


@hookimpl(optionalhook=True)
def o2o_vendor_bill_posted(bill):
    services = _auto()
    if services:
        services.post_vendor_bill(bill)


@hookimpl(optionalhook=True)
def o2o_refund_posted(refund):
    services = _auto()
    if services:
        services.post_refund(refund)


@hookimpl(optionalhook=True)
def o2o_stock_moved(moves):
    # perpetual inventory: every stock posting with a value is booked in the same transaction
    services = _auto()
    if services:
        services.post_stock_moves(moves)


@hookimpl(optionalhook=True)
def o2o_stock_revalued(revaluations):
    services = _auto()
    if services:
        services.post_stock_revalued(revaluations)
