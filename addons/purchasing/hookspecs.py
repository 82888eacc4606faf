"""Hooks the purchasing addon publishes (see docs/hooks.md, section "purchasing").

Listeners in addons that do not depend on purchasing (finance, reports) mark their
implementations ``@hookimpl(optionalhook=True)`` and use only the attributes documented
here; they never import purchasing.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("o2o")


@hookspec
def o2o_goods_received(receipt):
    """Goods from a supplier were received against a purchase order.

    ``receipt`` has ``id``, ``number`` (``GR/2026/00001``), ``order_id``, ``warehouse_id``,
    ``store_id`` (the store of the warehouse, None for a central warehouse without a store),
    ``supplier_id``, ``received_at`` (aware datetime) and ``lines``, each with
    ``product_id``, ``quantity`` (Decimal delivered, damaged included), ``damaged_quantity``
    (scrapped at once), ``unit_cost`` (Decimal, the order's net unit price) and ``value``
    (Decimal, quantity x unit cost, 2 decimals). ``receipt.value`` is the sum of the lines.

    Fired inside the receiving transaction, after the stock moves were posted (and
    ``o2o_stock_moved`` fired): a listener's writes commit or roll back with the receipt.
    """


@hookspec
def o2o_vendor_bill_posted(bill):
    """A vendor bill was posted: it matched its order and receipts, or a permitted user
    released it from hold.

    ``bill`` has ``id``, ``number`` (``BILL/2026/00001``), ``supplier_id``, ``supplier_ref``
    (the supplier's invoice number), ``order_id`` (or None), ``bill_date``, ``due_date``
    (dates), ``net_total``, ``tax_total``, ``total`` (Decimal, 2 decimals) and ``lines``, each
    with ``product_id``, ``quantity``, ``unit_price`` (net), ``net_amount``, ``tax_amount``,
and, for perpetual inventory, ``store_id`` (the order's store), ``received_value`` (the
billed quantity at the receipt's cost: what the receipt put in goods received not
invoiced), ``inventory_value`` (the share of the price difference still on hand, already
revalued in the warehouse, which fired ``o2o_stock_revalued`` for it) and
``price_variance`` (the rest: stock already gone, or all of it when
``PURCHASING_PRICE_VARIANCE = "ppv"``); ``net_amount`` = the three added up.

    Fired inside the posting transaction, once per bill.
    """
