"""Hooks the warehouse addon publishes (see docs/hooks.md)."""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("o2o")


@hookspec
def o2o_stock_moved(moves):
    """Stock moved: ``moves`` is the list of done ``StockMove`` rows just posted (each with
    ``id``, ``product_id``, ``quantity`` (Decimal, > 0), ``from_location_id``,
    ``to_location_id``, ``unit_cost`` (Decimal or None: the cost it moved at), ``value``
    (Decimal at the currency's precision, quantity x that cost, or None when no cost is
    known), ``value_date`` (the posting's local business date: the date its books entry
    has and the date ``valuation(as_of=...)`` counts it on), ``source`` (the document,
    e.g. ``"GR/2026/00012"``), ``partner_id``, ``transfer_id``, ``done_at``).

    Each move also tells where it went, for listeners that cannot read warehouse tables:
    ``from_usage`` / ``to_usage`` (``internal``, ``transit``, ``supplier``, ``customer``,
    ``inventory`` (count differences, adjustments, missing goods), ``scrap``),
    ``from_warehouse_id`` / ``to_warehouse_id`` and ``from_store_id`` / ``to_store_id``
    (None for transit, virtual locations and central warehouses without a store), and
    ``store_id``: the store whose local date the posting has.

    Fired inside the caller's transaction, after the quants were updated: a listener's
    writes commit or roll back with the moves. One call per posting (a batch of moves
    from ``post_moves`` arrives as one list): finance posts one entry per call. Listeners
    must not post stock moves of their own from here.
    """


@hookspec
def o2o_stock_revalued(revaluations):
    """The value of stock on hand changed without goods moving (a vendor bill priced
    differently from its receipt): ``revaluations`` is a list of ``Revaluation`` rows with
    ``id``, ``product_id``, ``warehouse_id``, ``store_id`` (None for a central warehouse),
    ``value`` (Decimal at the currency's precision, positive: the stock is worth more),
    ``quantity`` (the stock on hand it was spread over), ``reason`` (``"price"``: a bill's
    price differs from the receipt's; the counterpart is goods received not invoiced;
    ``"negative"``: a receipt refilled stock that had been sold below zero at the last known
    average, and the stock's value is set to stock x the new average; the counterpart is cost
    of goods sold),
    ``source`` (the document, e.g. the bill number), ``value_date`` and ``done_at``.

    Fired inside the caller's transaction; the valuation counts the row from its
    ``value_date``. Finance posts Dr/Cr inventory against the counterpart.
    """
