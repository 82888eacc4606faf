"""Hooks the warehouse addon publishes (see docs/hooks.md)."""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("o2o")


@hookspec
def o2o_stock_moved(moves):
    """Stock moved: ``moves`` is the list of done ``StockMove`` rows just posted (each with
    ``id``, ``product_id``, ``quantity`` (Decimal, > 0), ``from_location_id``,
    ``to_location_id``, ``unit_cost`` (Decimal or None), ``source`` (the document, e.g.
    ``"PO/2026/00012"``), ``partner_id``, ``transfer_id``, ``done_at``).

    Fired inside the caller's transaction, after the quants were updated: a listener's
    writes commit or roll back with the moves. One call per posting (a batch of moves
    from ``post_moves`` arrives as one list). Listeners must not post stock moves of
    their own from here.
    """
