"""Hooks the finance addon publishes (named in its MANIFEST as ``hookspecs``)."""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("o2o")


@hookspec
def o2o_finance_backfill_sources(since, until):
    """Return the past documents finance should post when asked to backfill.

    Called by ``o2o finance backfill --since DATE`` (``finance.services.backfill``). Return an
    iterable of ``(event_name, obj)`` pairs, where ``event_name`` is the domain event the
    document would have fired (``"o2o_order_paid"``, ``"o2o_pos_session_closed"``,
    ``"o2o_goods_received"``, ``"o2o_vendor_bill_posted"``, ``"o2o_refund_posted"``) and
    ``obj`` is shaped like that event's argument (the same attributes, see docs/hooks.md).
    Include documents dated on or after ``since`` (a ``datetime.date``) and, when ``until``
    is not None, on or before it. Finance posts each document once: documents already posted
    are skipped, so returning them again is harmless. Read only; do not write.
    """
