"""Every core hook: the contract between o2o and its addons.

An addon implements a hook with a plain function of the same name marked ``@hookimpl``
(``from core.plugins import hookimpl``). Implementations take only the arguments they
need, so a hook can grow arguments without breaking addons. Every hook here is listed in
docs/hooks.md (a test keeps the two in step).

Addons publish hooks of their own (pytest's ``addhooks`` pattern): an addon's MANIFEST
names a ``hookspecs`` module, whose specs are added to the manager before any addon is
registered. ``sales`` publishes the order events that ``pos``, ``finance`` and ``reports``
listen to; an addon that listens to a hook of an addon it does not depend on marks its
implementation ``@hookimpl(optionalhook=True)``.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("o2o")


# --- registration ---------------------------------------------------------------------

@hookspec
def o2o_permissions():
    """Declare the permissions this addon checks.

    Return a list of ``(code, description)`` pairs, code in the form ``addon.action``
    (``pos.sell``, ``finance.reconcile``). Descriptions are user-facing: wrap them in
    ``lazy_gettext``. Codes must be unique across addons; a duplicate is an error at start.
    """


@hookspec
def o2o_admin_views(app):
    """Return the Flask-Admin views this addon adds (a list of view instances).

    Build the views here, never at import time. Views should derive from
    ``core.admin.views.ModelView`` (or ``BaseView``) so permission checks apply; a view
    without ``category`` is put in the addon's menu section (its MANIFEST title).
    """


@hookspec
def o2o_menu_links(app):
    """Return extra admin menu links (``flask_admin.menu.MenuLink`` instances)."""


@hookspec
def o2o_blueprints(app):
    """Return the Flask blueprints with this addon's web pages (a list).

    Pages outside /admin and /api. Each blueprint must set its own url_prefix.
    """


@hookspec
def o2o_api_blueprints(app):
    """Return blueprints of JSON API routes, mounted under ``/api/v1``.

    Use ``core.api.ApiBlueprint`` and its ``endpoint`` decorator: it authenticates the token,
    checks the permission, validates the body against a pydantic schema, answers errors
    as RFC 9457 problem documents and lists the route in /api/v1/openapi.json.
    """


@hookspec
def o2o_cli_commands(app):
    """Return click commands or groups to add to the ``o2o`` command (a list).

    Commands run inside an application context. Name a group after the addon
    (``o2o stock ...`` for warehouse is fine too, if documented).
    """


@hookspec
def o2o_settings():
    """Return this addon's configuration defaults as a dict of ``KEY: value``.

    Keys are upper case and prefixed with the addon name (``POS_CASH_ROUNDING``). The
    config files and ``O2O_*`` environment variables override them.
    """


@hookspec
def o2o_base_data(session, app):
    """Create the rows this addon cannot work without (units, default accounts, sequences).

    Called once when the addon is enabled, after its migrations ran, inside the enabling
    transaction. Must be idempotent: enabling again after a disable must not duplicate rows.
    Do not commit.
    """


@hookspec
def o2o_demo_data(session, app):
    """Create demo data for this addon (``o2o demo load`` and ``make run``'s first start).

    Called in dependency order, so rows of the addons this one depends on exist. Do not
    commit.
    """


# --- extension points ------------------------------------------------------------------

@hookspec(firstresult=True)
def o2o_document_number(sequence_code, store, date):
    """Return a document number for ``sequence_code``, or None to use the core sequence.

    The first non-None result wins. An implementation that numbers documents itself (a
    fiscal printer, say) must guarantee uniqueness on its own.
    """


@hookspec(firstresult=True)
def o2o_compute_price(product, quantity, store, customer, channel, when):
    """Wrap the computation of a unit price. Implement it as ``@hookimpl(wrapper=True)``, a new-style wrapper: ``price = yield`` gets the
    price computed so far (a ``Decimal``, tax-inclusive shelf price), return the price to
    use. Promotions and customer prices are wrappers; the innermost result is the
    product's list price. Never return a float.

    ``firstresult``: so that ``yield`` gives wrappers one Decimal, not a list. The base
    implementation (``sales``, ``trylast``) returns ``product.list_price``; a plain
    (non-wrapper) implementation returning a price replaces it, one returning None passes.
    """


@hookspec
def o2o_kpis(app):
    """Return KPI providers: a list of objects with ``code``, ``title`` and
    ``compute(session, stores, date_from, date_to) -> Decimal``."""


@hookspec
def o2o_report_providers(app):
    """Return report providers: objects with ``code``, ``title`` and
    ``render(session, params) -> bytes`` (PDF)."""


@hookspec
def o2o_payment_providers(app):
    """Return payment providers: objects with ``code``, ``title`` and the provider
    interface documented in the ecommerce addon."""


# --- lifecycle and events --------------------------------------------------------------

@hookspec
def o2o_app_ready(app):
    """Called once the app is assembled, every addon registered. No database work."""


@hookspec
def o2o_addon_enabled(name, session):
    """An addon was enabled (after its migrations and base data), inside the transaction."""


@hookspec
def o2o_addon_disabled(name, session):
    """An addon was disabled, inside the transaction. Its data stays."""


@hookspec
def o2o_product_changed(product, change, changes):
    """A product was created, re-priced, archived, changed otherwise, or deleted.

    Fired by every path that writes products: the admin forms and list actions, the API,
    services, demo data (a session flush listener sees every ORM change) and the CSV
    import (which writes in bulk and fires for each row it created or changed). Once per
    product per flush, right after the flush, inside the caller's transaction: a listener
    may query and write with ``db.session`` (its rows commit or roll back with the
    change) and raising a ``core.errors.O2OError`` refuses the whole operation. Push to a
    scale or print shelf labels from ``o2o_after_commit``, which sees this event too.

    ``product``: the ``core.models.Product`` (id, sku, barcode, name, list_price, cost,
    active, category_id, unit_id, tax_id are loaded).
    ``change``: ``"created"``, ``"price_changed"`` (``list_price`` changed),
    ``"archived"`` (``active`` went from true to false), ``"deleted"``, or ``"updated"``
    for any other change (a product made active again is ``"updated"``). One change per
    call, the first that applies in that order.
    ``changes``: ``{field: (old, new)}`` for every field that changed (``(None, value)``
    for each field of a created product, ``(value, None)`` for a deleted one); prices as
    ``Decimal``, relations by id (``category_id``, ``unit_id``, ``tax_id``).
    """


@hookspec
def o2o_after_commit(events):
    """Called after a transaction that fired domain events commits.

    ``events`` is the list of ``(hook_name, kwargs)`` fired during it, in order. For side
    effects that must follow a committed change only (mail, webhooks). Never called when
    the transaction rolls back. Must not raise; errors are logged.
    """
