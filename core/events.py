"""Domain events inside the caller's transaction, and side effects after its commit.

A service announces what happened with ``fire("o2o_stock_moved", moves=...)``: listeners run
at once, inside the same transaction, so their writes commit or roll back with it. The
events are also remembered on the session; once the transaction commits, ``o2o_after_commit``
receives them (mail, webhooks). A rollback forgets them.
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import event

from core.db import Session, db

log = logging.getLogger(__name__)
_KEY = "o2o_events"


def manager(app=None):
    """The AddonManager of the current (or given) app."""
    return (app or current_app).extensions["o2o"]


def hook(app=None):
    return manager(app).hook


def fire(hook_name: str, **kwargs) -> list:
    """Call the domain-event hook ``hook_name`` now and queue it for o2o_after_commit."""
    caller = getattr(hook(), hook_name)
    results = caller(**kwargs)
    db.session.info.setdefault(_KEY, []).append((hook_name, kwargs))
    return results


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


_installed = False


def install_event_listeners() -> None:
    global _installed
    if not _installed:
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", lambda s, prev: _after_rollback(s))
        _installed = True
