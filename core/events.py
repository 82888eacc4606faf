"""Domain events inside the caller's transaction, and side effects after its commit.

A service announces what happened with ``fire("o2o_stock_moved", moves=...)``: listeners run
at once, inside the same transaction, so their writes commit or roll back with it. The
events are also remembered on the session; once the transaction commits, ``o2o_after_commit``
receives them (mail, webhooks). A rollback forgets them.
"""
from __future__ import annotations

import logging

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect

from core.db import AFTER_FLUSH, Session, after_flush_call, db
from core.models.audit import _same  # 12.5 == 12.5000: setting an equal value is no change

log = logging.getLogger(__name__)
_KEY = "o2o_events"


def manager(app=None):
    """The AddonManager of the current (or given) app."""
    return (app or current_app).extensions["o2o"]


def hook(app=None):
    return manager(app).hook


def has_listeners(*hook_names: str) -> bool:
    """Whether any registered plugin implements one of these hooks (so a bulk writer can
    skip building the events' arguments when nobody listens)."""
    caller = hook()
    return any(getattr(caller, name).get_hookimpls() for name in hook_names)


def fire(hook_name: str, **kwargs) -> list:
    """Call the domain-event hook ``hook_name`` now and queue it for o2o_after_commit."""
    return fire_on(db.session, hook_name, **kwargs)


def fire_on(session, hook_name: str, **kwargs) -> list:
    """``fire``, queueing the event for o2o_after_commit of ``session`` (a flush listener's)."""
    caller = getattr(hook(), hook_name)
    results = caller(**kwargs)
    session.info.setdefault(_KEY, []).append((hook_name, kwargs))
    return results


# --- o2o_product_changed ----------------------------------------------------------------
# Products are written by many paths (admin forms, API, services, demo data, other addons):
# a flush listener sees every ORM change, so none of them can forget the event. The CSV
# import writes in bulk, past the ORM, and fires it itself (core.services.products).

_PRODUCTS = "o2o_product_changes"
PRODUCT_FIELDS = ("sku", "barcode", "name", "description", "category_id", "unit_id", "tax_id",
                  "list_price", "cost", "active", "image_mimetype")
_RELATIONS = {"category_id": "category", "unit_id": "unit", "tax_id": "tax"}


def product_change(changes: dict, created: bool = False, deleted: bool = False) -> str | None:
    """The ``change`` of o2o_product_changed for these ``changes`` (None: nothing changed)."""
    if created:
        return "created"
    if deleted:
        return "deleted"
    if not changes:
        return None
    old_active, new_active = changes.get("active", (None, None))
    if "active" in changes and old_active and not new_active:
        return "archived"
    if "list_price" in changes:
        return "price_changed"
    return "updated"


def _product_changes(product, state) -> dict:
    out = {}
    for key in PRODUCT_FIELDS:
        hist = state.attrs[key].history
        if key in _RELATIONS and not hist.has_changes():
            # The relation was set (product.category = ...): its id may only be synced later.
            rel = state.attrs[_RELATIONS[key]].history
            if rel.has_changes():
                old = rel.deleted[0].id if rel.deleted and rel.deleted[0] is not None else None
                new = rel.added[0].id if rel.added and rel.added[0] is not None else None
                if old != new:
                    out[key] = (old, new)
            continue
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else getattr(product, key)
        if not _same(old, new):
            out[key] = (old, new)
    return out


def _collect_product_changes(session, _flush_context):
    from core.models.master import Product
    found = []
    for obj in session.new:
        if isinstance(obj, Product):
            found.append((obj, "created", {k: (None, getattr(obj, k)) for k in PRODUCT_FIELDS
                                           if getattr(obj, k) is not None}))
    for obj in session.dirty:
        if isinstance(obj, Product):
            changes = _product_changes(obj, sa_inspect(obj))
            change = product_change(changes)
            if change:
                found.append((obj, change, changes))
    for obj in session.deleted:
        if isinstance(obj, Product):
            state = sa_inspect(obj)
            found.append((obj, "deleted", {k: (state.dict.get(k), None) for k in PRODUCT_FIELDS
                                           if state.dict.get(k) is not None}))
    if found:
        session.info.setdefault(_PRODUCTS, []).extend(found)
        after_flush_call(session, _fire_product_changes)


def _fire_product_changes(session):
    pending = session.info.pop(_PRODUCTS, None)
    if not pending or not has_app_context():
        return
    fire_product_changes(pending, session)


def fire_product_changes(items, session=None) -> None:
    """Fire o2o_product_changed for each ``(product, change, changes)``."""
    for product, change, changes in items:
        fire_on(session if session is not None else db.session, "o2o_product_changed",
                product=product, change=change, changes=changes)


def _after_commit(session):
    events = session.info.pop(_KEY, None)
    if not events:
        return
    try:
        app = current_app._get_current_object()
    except RuntimeError:
        return
    try:
        app.extensions["o2o"].hook.o2o_after_commit(events=events)
    except Exception:  # side effects must never undo or mask a committed change
        log.exception("o2o_after_commit listener failed")


def _after_rollback(session):
    session.info.pop(_KEY, None)
    session.info.pop(_PRODUCTS, None)
    session.info.pop(AFTER_FLUSH, None)


_installed = False


def install_event_listeners() -> None:
    global _installed
    if not _installed:
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_flush", _collect_product_changes)
        event.listen(Session, "after_soft_rollback", lambda s, prev: _after_rollback(s))
        _installed = True
