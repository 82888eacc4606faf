"""Hooks the sales addon publishes (see docs/hooks.md, section "sales").

The order events are fired by ``addons.sales.services`` with ``core.events.fire`` inside the
caller's transaction: a listener's writes commit or roll back with the order, and a
listener that raises ``core.errors.O2OError`` refuses the whole operation. Side effects that
must only follow a commit (mail, webhooks) belong in ``o2o_after_commit``.

Every event receives the ``Order`` row. Listeners may rely on these attributes (finance uses
them without importing sales):

- ``order.id``, ``order.number``, ``order.channel`` (``"pos"``, ``"web"``, ...),
  ``order.store_id``, ``order.customer_id`` (or None), ``order.state``,
  ``order.fulfilment`` (``carry_out`` | ``pickup`` | ``delivery``), ``order.pickup_store_id``,
  ``order.currency``;
- ``order.total`` (Decimal, tax-inclusive), ``order.tax_total``, ``order.net_total``
  (= total - tax_total), ``order.discount_total``;
- ``order.cash_rounding`` (Decimal: what cash rounding added to the amount due, negative when
  it took some off; the money collected is ``order.total + order.cash_rounding``),
  ``order.change_given`` (cash handed back), ``order.paid_at``;
- ``order.lines[*]``: ``product_id``, ``quantity``, ``unit_price`` (tax-inclusive),
  ``discount`` (percent), ``discount_amount``, ``net_amount``, ``tax_amount``, ``total``,
  ``tax_rate`` (percent), ``tax_id``;
- ``order.payments[*]``: ``method`` (the payment method code, e.g. ``"cash"``), ``amount``
  (Decimal, net of change: what the order keeps), ``tendered``, ``change``, ``reference``,
  ``is_cash``. The payments add up to ``order.total + order.cash_rounding``.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("o2o")


@hookspec
def o2o_sales_channels():
    """Register sales channels: return a list of ``(code, label)`` pairs.

    ``create_order`` refuses a channel no enabled addon registered. ``sales`` itself registers
    ``pos`` (shop tills) and ``web`` (the web shop); a marketplace connector would return
    ``[("marketplace", _l("Marketplace"))]``. Codes are lower case, at most 32 characters;
    two addons registering the same code is allowed (the label of the later one wins).
    """


@hookspec
def o2o_order_confirmed(order):
    """An order was confirmed (``order.state == "confirmed"``).

    For pickup and delivery orders the stock is reserved by now, at the fulfilling store's
    warehouse (the pickup store's for pickup). Paying a draft order confirms it first, so
    every paid order has been confirmed once.
    """


@hookspec
def o2o_order_paid(order):
    """An order was paid in full: ``order.payments`` cover ``order.total + order.cash_rounding``.

    Fired for every channel, till sales included. For carry-out orders the goods were issued
    from the store's stock just before this event; ``o2o_order_fulfilled`` follows at once.
    ``order.state`` is ``"paid"`` here (``"fulfilled"`` right after, for carry-out).
    """


@hookspec
def o2o_order_fulfilled(order):
    """The goods of an order left the store: issued to the customer (``order.state ==
    "fulfilled"``, ``order.fulfilled_at`` set).

    Carry-out: right after payment. Pickup: when the customer collected the order. Delivery:
    when it was handed to the carrier. The stock moves have ``source == order.number``.
    """


@hookspec
def o2o_order_cancelled(order, reason):
    """An order was cancelled (``order.state == "cancelled"``); ``reason`` is the text given.

    Reservations are released by now. Draft, confirmed and paid-but-not-yet-fulfilled
    pickup or delivery orders can be cancelled; when ``order.paid_at`` is set the payments
    in ``order.payments`` were collected and must be refunded (finance reverses them).
    Fulfilled orders are never cancelled: they are returned (the ``returns`` addon).
    """
