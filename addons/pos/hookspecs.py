"""Hooks the pos addon publishes (see docs/hooks.md, section "pos").

Both are domain events fired with ``core.events.fire`` inside the caller's transaction: a
listener's writes commit or roll back with the till's, and a listener raising
``core.errors.O2OError`` refuses the operation. Till sales themselves go through
``sales.services`` with ``channel="pos"``, so ``o2o_order_paid`` fires for each of them.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("o2o")


@hookspec
def o2o_pos_session_closed(pos_session):
    """A till session was closed (its Z report is written).

    Listeners may rely on: ``pos_session.id``, ``.name`` (e.g. ``"PA-R1-S00012"``), ``.number``
    (per register), ``.store_id``, ``.register_id``, ``.opened_at``, ``.closed_at``,
    ``.opening_float`` (Decimal), ``.cash_in_out_total`` (Decimal, cash put in minus taken
    out), ``.cash_difference`` (Decimal, counted - expected cash), ``.difference_reason``,
    ``.totals_by_method`` -> ``{method_code: {"expected": Decimal, "counted": Decimal,
    "difference": Decimal}}``. The session is immutable from now on.
    """


@hookspec
def o2o_pos_refund_recorded(refund):
    """A till refund (a negative document correcting an earlier sale) was recorded.

    ``refund.id``, ``.kind == "refund"``, ``.refund_of_id`` (the PosSale corrected),
    ``.order_id`` (the original order), ``.store_id``, ``.register_id``, ``.session_id``,
    ``.total`` and ``.tax_total`` (negative Decimals), ``.data`` (the document: ``lines``,
    ``payments`` with the method paid back, ``reason``). The goods are not restocked by
    pos; a returns addon may listen to do so.
    """
