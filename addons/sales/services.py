"""The sales addon's public Python API: the only module other addons import.

Orders for every channel go through these functions (the till with ``channel="pos"``, the
web shop with ``channel="web"``). They never commit: the caller owns the transaction. Errors
a clerk can act on are raised as ``core.errors`` exceptions; everything is validated before
anything is written.

Life of an order::

    create_order (draft) -> confirm_order -> pay_order -> fulfil_order
                                 \\-> cancel_order (releases reservations)

- carry-out: ``pay_order`` issues the goods from the store's stock and the order is
  ``fulfilled`` at once (events ``o2o_order_paid`` then ``o2o_order_fulfilled``);
- pickup / delivery: ``confirm_order`` reserves the goods at the fulfilling store's warehouse
  (the pickup store for pickup), ``fulfil_order`` issues the reservation once paid.
Paying a draft order confirms it first.

Prices: the unit price is the product's tax-inclusive list price passed through the core
``o2o_compute_price`` wrapper hook (promotions, customer prices), unless the caller gives
one. ``discount`` is a percentage off the line. Amounts are rounded half up to the company
currency's ISO 4217 precision at three places only: line total, tax, order total. Tax is
rounded per line or per document (per tax rate) as ``SALES_TAX_ROUNDING`` says. Cash rounding
(``SALES_CASH_ROUNDING``, e.g. ``"0.05"``) applies to the part paid in cash only; the
difference is kept in ``order.cash_rounding``.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import current_app

from core.cache import cached, watch
from core.db import assign_ids, created_in_this_transaction, db, get_many, mark_created, utcnow
from core.errors import Conflict, NotFound, ValidationError
from core.events import fire, hook
from core.i18n import _, _l
from core.models import Partner, Product, Store
from core.services.sequences import next_number
from core.timeutil import day_bounds, local_date

from addons.sales.models import FULFILMENTS, ORDER_STATES, Order, OrderLine, Payment, PaymentMethod
from addons.sales.money import (HUNDRED, ZERO, currency_precision, exponent, round_money,
                                round_to_increment)

SEQUENCE_CODE = "sales.order"
UNIT_PRICE_EXP = Decimal("0.0001")
QUANTITY_EXP = Decimal("0.001")
RATE_EXP = Decimal("0.0001")          # discount and tax rate columns, Numeric(7, 4)
MAX_QUANTITY = Decimal("1E11")   # Numeric(14, 3)
MAX_AMOUNT = Decimal("1E10")     # Numeric(14, 4) unit prices; amounts Numeric(14, 3)

__all__ = [
    "Order", "OrderLine", "Payment", "PaymentMethod", "ORDER_STATES", "FULFILMENTS",
    "channels", "payment_methods", "unit_price", "create_order", "confirm_order", "pay_order",
    "fulfil_order", "cancel_order", "get_order", "orders_query", "stock_moves", "order_history",
]


# --- registries and settings -----------------------------------------------------------------

def channels() -> dict[str, str]:
    """The sales channels every enabled addon registered: ``{code: label}``."""
    result: dict[str, str] = {}
    for pairs in reversed(hook().o2o_sales_channels() or []):  # pluggy calls last-registered first
        for code, label in pairs or ():
            result[str(code)] = str(label)
    return result


@dataclass(frozen=True)
class MethodInfo:
    """A payment method's settings as plain values (kept in the config cache)."""
    code: str
    name: str
    is_cash: bool
    needs_reference: bool
    active: bool


def payment_method_map() -> dict[str, MethodInfo]:
    """Every payment method by code, active or not (cached until one changes)."""
    def load():
        return {m.code: MethodInfo(m.code, m.name, bool(m.is_cash), bool(m.needs_reference), bool(m.active))
                for m in db.session.scalars(sa.select(PaymentMethod))}
    return cached(("sales.payment_methods",), load)


watch("sales_payment_method")
# (the store -> stock location map below comes from warehouse tables, which warehouse watches)


def payment_methods(active_only: bool = True) -> list[PaymentMethod]:
    stmt = sa.select(PaymentMethod).order_by(PaymentMethod.sequence, PaymentMethod.code)
    if active_only:
        stmt = stmt.where(PaymentMethod.active.is_(True))
    return list(db.session.scalars(stmt))


def _setting_decimal(key: str, default: str) -> Decimal:
    raw = current_app.config.get(key, default)
    if isinstance(raw, float):
        raw = repr(raw)
    try:
        return Decimal(str(raw if raw not in (None, "") else default))
    except InvalidOperation:
        raise ValidationError(_("The setting %(key)s must be a number, not %(value)r.", key=key, value=raw))


def tax_rounding() -> str:
    mode = str(current_app.config.get("SALES_TAX_ROUNDING", "line")).lower()
    if mode not in ("line", "document"):
        raise ValidationError(_("The setting SALES_TAX_ROUNDING must be 'line' or 'document', not %(v)r.",
                                v=mode))
    return mode


def cash_rounding_increment() -> Decimal:
    return _setting_decimal("SALES_CASH_ROUNDING", "0")


def currency() -> str:
    return (current_app.config.get("CURRENCY") or "CNY").upper()


# --- helpers -----------------------------------------------------------------------------------

def _decimal(value, what: str) -> Decimal:
    if isinstance(value, float):
        raise ValidationError(_("%(what)s must be an exact decimal number, not a float.", what=what))
    if isinstance(value, bool) or value is None:
        raise ValidationError(_("%(what)s is missing or not a number.", what=what))
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(_("%(what)s must be a number, not %(value)r.", what=what, value=value))
    if not result.is_finite():
        raise ValidationError(_("%(what)s must be a number, not %(value)r.", what=what, value=value))
    return result


def _decimals(value: Decimal) -> int:
    exp = value.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def _get_order(order_id, lock: bool = True) -> Order:
    if isinstance(order_id, Order):
        if created_in_this_transaction(order_id):
            return order_id  # no one else can see it: nothing to lock, nothing to re-read
        order_id = order_id.id
    try:
        order_id = int(order_id)
    except (TypeError, ValueError):
        raise NotFound(_("There is no order %(id)s.", id=order_id))
    if lock:
        # Row lock on PostgreSQL: two tills or a till and the web shop cannot pay or
        # confirm the same order twice.
        order = db.session.get(Order, order_id, with_for_update=True, populate_existing=True)
    else:
        order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound(_("There is no order %(id)s.", id=order_id), order_id=order_id)
    return order


def get_order(order_id) -> Order:
    """The order with this id, or NotFound."""
    return _get_order(order_id, lock=False)


def _store(store_id, what: str) -> Store:
    try:
        store = db.session.get(Store, int(store_id))
    except (TypeError, ValueError):
        store = None
    if store is None:
        raise ValidationError(_("There is no store with id %(id)s (%(what)s).", id=store_id, what=what))
    if not store.active:
        raise ValidationError(_("The store %(store)s is closed (inactive); it cannot take orders.",
                                store=str(store)))
    return store


def unit_price(product: Product, quantity: Decimal, *, store=None, customer=None, channel=None,
               when: dt.datetime | None = None) -> Decimal:
    """The tax-inclusive unit price of ``product``: its list price through the core
    ``o2o_compute_price`` hook (wrappers may change it). Quantized to 4 decimals (the
    unit price column)."""
    price = hook().o2o_compute_price(product=product, quantity=quantity, store=store, customer=customer,
                                     channel=channel, when=when or utcnow())
    if isinstance(price, list):  # a non-firstresult spec: take the innermost result
        price = price[0] if price else None
    if price is None:
        price = product.list_price
    if isinstance(price, float):
        raise TypeError(f"o2o_compute_price returned a float ({price!r}) for {product}; prices are Decimal")
    price = Decimal(price)
    if price < 0:
        raise ValidationError(_("The price computed for %(product)s is negative (%(price)s).",
                                product=str(product), price=price))
    return price.quantize(UNIT_PRICE_EXP)


def _line_amounts(unit_price_: Decimal, quantity: Decimal, discount: Decimal, rate: Decimal, cur: str):
    """(gross rounded, line total, discount amount, exact tax) for one line."""
    gross = unit_price_ * quantity
    total = round_money(gross * (HUNDRED - discount) / HUNDRED, cur)
    discount_amount = round_money(gross, cur) - total
    tax_exact = total * rate / (HUNDRED + rate) if rate else ZERO
    return total, discount_amount, tax_exact


def compute_totals(order: Order, lines: list[OrderLine] | None = None, mode: str | None = None) -> Order:
    """Fill each line's total, tax and net amount and the order's totals (rounded half up at
    the line total, the tax and the order total only)."""
    lines = order.lines if lines is None else lines
    cur = order.currency
    mode = mode or tax_rounding()
    exact: dict[int, Decimal] = {}
    for i, line in enumerate(lines):
        total, discount_amount, tax_exact = _line_amounts(line.unit_price, line.quantity, line.discount,
                                                          line.tax_rate, cur)
        line.total, line.discount_amount = total, discount_amount
        line.tax_amount = round_money(tax_exact, cur)
        exact[i] = tax_exact
    if mode == "document":
        # Tax is rounded once per rate over the whole document; the lines share it out, the
        # rounding remainder going to the largest line so the lines still add up.
        groups: dict[Decimal, list[int]] = defaultdict(list)
        for i, line in enumerate(lines):
            groups[Decimal(line.tax_rate)].append(i)
        for rate, idx in groups.items():
            group_tax = round_money(sum((exact[i] for i in idx), ZERO), cur)
            diff = group_tax - sum((lines[i].tax_amount for i in idx), ZERO)
            if diff:
                biggest = max(idx, key=lambda i: (lines[i].total, -i))
                lines[biggest].tax_amount += diff
    for line in lines:
        line.net_amount = line.total - line.tax_amount
    order.total = round_money(sum((l.total for l in lines), ZERO), cur)
    order.tax_total = round_money(sum((l.tax_amount for l in lines), ZERO), cur)
    order.net_total = order.total - order.tax_total
    order.discount_total = round_money(sum((l.discount_amount for l in lines), ZERO), cur)
    order.cash_rounding = round_money(ZERO, cur)
    order.amount_paid = round_money(ZERO, cur)
    order.change_given = round_money(ZERO, cur)
    return order


# --- creating ----------------------------------------------------------------------------------

def create_order(*, channel: str, store_id: int, lines: list[dict], customer_id: int | None = None,
                 fulfilment: str = "carry_out", pickup_store_id: int | None = None,
                 delivery_address: str | None = None, external_ref: str | None = None,
                 note: str | None = None, flush: bool = True, allow_inactive: bool = False) -> Order:
    """Create a draft order, priced and numbered. See the module docstring.

    ``flush=False``: the order and its lines get their ids now but are written with the
    caller's next flush (a caller that pays it at once writes it once, in its final state).

    ``lines``: dicts with ``product_id``, ``quantity`` (Decimal > 0, no more decimals than
    the product's unit allows), optional ``unit_price`` (tax-inclusive; default: the price
    hook) and ``discount`` (percent, 0-100).
    """
    registry = channels()
    if channel not in registry:
        raise ValidationError(_("Unknown sales channel %(channel)r; the channels are: %(known)s.",
                                channel=channel, known=", ".join(sorted(registry)) or "-"), field="channel")
    store = _store(store_id, _("the order's store"))
    customer = None
    if customer_id is not None:
        customer = db.session.get(Partner, customer_id) if str(customer_id).isdigit() else None
        if customer is None:
            raise ValidationError(_("There is no customer with id %(id)s.", id=customer_id), field="customer_id")
        if not customer.active:
            raise ValidationError(_("The customer %(name)s is inactive.", name=customer.name), field="customer_id")
    if fulfilment not in FULFILMENTS:
        raise ValidationError(_("Unknown fulfilment %(value)r; choose carry_out, pickup or delivery.",
                                value=fulfilment), field="fulfilment")
    if fulfilment == "pickup":
        pickup_store = _store(pickup_store_id if pickup_store_id is not None else store.id,
                              _("the pickup store"))
        pickup_store_id = pickup_store.id
    elif pickup_store_id is not None:
        raise ValidationError(_("A pickup store is only for pickup orders (this one is %(f)s).", f=fulfilment),
                              field="pickup_store_id")
    delivery_address = (delivery_address or "").strip() or None
    if fulfilment == "delivery" and not delivery_address:
        raise ValidationError(_("A delivery order needs a delivery address."), field="delivery_address")
    if fulfilment != "delivery" and delivery_address:
        raise ValidationError(_("A delivery address is only for delivery orders (this one is %(f)s).",
                                f=fulfilment), field="delivery_address")
    if external_ref is not None and len(str(external_ref)) > 128:
        raise ValidationError(_("The external reference is longer than 128 characters."), field="external_ref")
    if not lines:
        raise ValidationError(_("An order needs at least one line."), field="lines")

    now = utcnow()
    cur = currency()
    order = Order(channel=channel, store_id=store.id, customer_id=customer.id if customer else None,
                  state="draft", fulfilment=fulfilment, pickup_store_id=pickup_store_id,
                  delivery_address=delivery_address, external_ref=external_ref, currency=cur,
                  order_date=now, note=note)
    product_ids = []
    for raw in lines:
        pid = raw.get("product_id") if isinstance(raw, dict) else None
        if isinstance(pid, bool) or not isinstance(pid, int) and not (isinstance(pid, str) and pid.isdigit()):
            raise ValidationError(_("Each line needs a product_id (a product's id), not %(v)r.", v=pid),
                                  field="lines")
        product_ids.append(int(pid))
    products = get_many(db.session, Product, product_ids)
    new_lines = []
    for n, (raw, pid) in enumerate(zip(lines, product_ids), start=1):
        product = products.get(pid)
        if product is None:
            raise ValidationError(_("Line %(n)s: there is no product with id %(id)s.", n=n, id=pid),
                                  field="lines", line=n)
        if not product.active and not allow_inactive:  # allow_inactive: a sale that already happened
            raise ValidationError(_("Line %(n)s: %(product)s is no longer sold (inactive).",
                                    n=n, product=str(product)), field="lines", line=n)
        quantity = _decimal(raw.get("quantity"), _("Line %(n)s: the quantity of %(p)s", n=n, p=str(product)))
        if quantity <= 0:
            raise ValidationError(_("Line %(n)s: the quantity of %(product)s must be more than zero, not %(q)s.",
                                    n=n, product=str(product), q=quantity), field="lines", line=n)
        if quantity >= MAX_QUANTITY:
            raise ValidationError(_("Line %(n)s: the quantity of %(product)s (%(q)s) is too large.",
                                    n=n, product=str(product), q=quantity), field="lines", line=n)
        digits = product.unit.digits if product.unit is not None else 3
        if _decimals(quantity) > min(digits, 3):
            raise ValidationError(_("Line %(n)s: %(product)s is sold in %(unit)s with %(d)s decimals; "
                                    "%(q)s has too many.", n=n, product=str(product), unit=str(product.unit),
                                    d=min(digits, 3), q=quantity), field="lines", line=n)
        discount = _decimal(raw.get("discount") if raw.get("discount") is not None else ZERO,
                            _("Line %(n)s: the discount", n=n))
        if discount < 0 or discount > 100:
            raise ValidationError(_("Line %(n)s: the discount on %(product)s is a percentage between 0 and "
                                    "100, not %(d)s.", n=n, product=str(product), d=discount),
                                  field="lines", line=n)
        if raw.get("unit_price") is not None:
            price = _decimal(raw["unit_price"], _("Line %(n)s: the unit price", n=n))
            if price < 0:
                raise ValidationError(_("Line %(n)s: the unit price of %(product)s cannot be negative.",
                                        n=n, product=str(product)), field="lines", line=n)
            if price >= MAX_AMOUNT:
                raise ValidationError(_("Line %(n)s: the unit price of %(product)s (%(p)s) is too large.",
                                        n=n, product=str(product), p=price), field="lines", line=n)
            price = price.quantize(UNIT_PRICE_EXP)
        else:
            price = unit_price(product, quantity, store=store, customer=customer, channel=channel, when=now)
        tax = product.tax if product.tax is not None and product.tax.active else None
        new_lines.append(OrderLine(
            sequence=n, product_id=product.id, product=product, description=product.name[:256],
            # at the columns' scales: the order reads the same before and after a reload
            quantity=quantity.quantize(QUANTITY_EXP), list_price=product.list_price, unit_price=price,
            discount=discount.quantize(RATE_EXP), tax_id=tax.id if tax else None,
            tax_rate=Decimal(tax.rate).quantize(RATE_EXP) if tax else ZERO.quantize(RATE_EXP)))
    compute_totals(order, new_lines)
    if order.total >= MAX_AMOUNT or any(l.total >= MAX_AMOUNT for l in new_lines):
        raise ValidationError(_("The order total (%(total)s) is too large.", total=order.total), field="lines")
    # Everything is valid: from here on we write.
    order.number = next_number(SEQUENCE_CODE, store=store, date=local_date(now, store))
    if flush:
        assign_ids(db.session, new_lines)
    else:  # the order's id now, for the caller; the lines' with it, in the same statement
        assign_ids(db.session, [order], new_lines, even_one=True)
    order.lines = new_lines
    db.session.add(order)
    if flush:
        db.session.flush()
    mark_created(order)  # see _get_order
    return order


# --- stock -------------------------------------------------------------------------------------

def _warehouse():
    from addons.warehouse import services as warehouse
    return warehouse


def _stock_location_id(store_id: int) -> int:
    def load():
        wh = _warehouse()
        return wh.stock_location(wh.warehouse_for_store(store_id).id).id
    return cached(("sales.stock_location", store_id), load)


def _customer_location_id() -> int:
    return cached(("sales.customer_location",), lambda: _warehouse().virtual_location("customer").id)


# --- state changes -----------------------------------------------------------------------------

_STATE_WORDS = {
    "draft": _l("a draft"), "confirmed": _l("confirmed"), "paid": _l("paid"), "fulfilled": _l("fulfilled"),
    "cancelled": _l("cancelled"),
}


def _refuse_state(order: Order, action: str):
    raise Conflict(_("Order %(number)s is %(state)s; it cannot be %(action)s.", number=order.number,
                     state=str(_STATE_WORDS.get(order.state, order.state)), action=action),
                   order=order.number, state=order.state)


def confirm_order(order_id) -> Order:
    """Confirm a draft order. Pickup and delivery orders reserve their goods now at the
    fulfilling store's warehouse (InsufficientStock if they are not available)."""
    order = _get_order(order_id)
    if order.state != "draft":
        if order.state == "confirmed":
            raise Conflict(_("Order %(number)s is already confirmed.", number=order.number),
                           order=order.number, state=order.state)
        _refuse_state(order, _("confirmed"))
    _confirm(order)
    db.session.flush()
    return order


def _confirm(order: Order) -> Order:
    if not order.lines:
        raise ValidationError(_("Order %(number)s has no lines.", number=order.number))
    if order.fulfilment in ("pickup", "delivery"):
        wh = _warehouse()
        location_id = _stock_location_id(order.fulfilment_store_id)
        reservations = wh.reserve_many([{"product_id": l.product_id, "location_id": location_id,
                                         "quantity": l.quantity} for l in order.lines], source=order.number)
        for line, reservation in zip(order.lines, reservations):
            line.reservation_id = reservation.id
    order.state = "confirmed"
    order.confirmed_at = utcnow()
    fire("o2o_order_confirmed", order=order)
    return order


def _check_amount(value, what: str, cur: str) -> Decimal:
    amount = _decimal(value, what)
    if amount <= 0:
        raise ValidationError(_("%(what)s must be more than zero, not %(amount)s.", what=what, amount=amount))
    if amount >= MAX_AMOUNT:
        raise ValidationError(_("%(what)s (%(amount)s) is too large.", what=what, amount=amount))
    if _decimals(amount) > currency_precision(cur):
        raise ValidationError(_("%(what)s has more decimals than the currency %(cur)s allows (%(d)s).",
                                what=what, cur=cur, d=currency_precision(cur)))
    return amount


def pay_order(order_id, payments: list[dict], *, flush: bool = True, stock_check: str = "till") -> Order:
    """Pay an order in full, split over payment methods.

    ``payments``: dicts with ``method`` (a payment method code), ``amount`` (Decimal > 0: for
    cash, what the customer handed over) and optional ``reference`` (card slip, wallet
    transaction id). Non-cash payments may not exceed the total (they give no change); cash
    covers the rest, rounded to ``SALES_CASH_ROUNDING``, and what it tenders above that is
    change. Payments that do not cover the total are refused. A draft order is confirmed
    first. Carry-out orders issue their goods now and end ``fulfilled``. ``flush=False``
    leaves the last changes to the caller's next flush (a caller that writes more).
    ``stock_check`` of a carry-out issue: the goods are in the shopper's hand, so by default
    ("till") the store's choice decides whether short book stock is recorded (negative, with
    a negative-stock exception) or refused; "till_record" records it whatever the choice.
    """
    order = _get_order(order_id)
    if order.state not in ("draft", "confirmed"):
        if order.state in ("paid", "fulfilled") and order.paid_at is not None:
            raise Conflict(_("Order %(number)s is already paid.", number=order.number),
                           order=order.number, state=order.state)
        _refuse_state(order, _("paid"))
    cur = order.currency
    if not isinstance(payments, (list, tuple)):
        raise ValidationError(_("Payments must be a list."), field="payments")
    methods = payment_method_map()
    parsed = []
    for n, raw in enumerate(payments, start=1):
        code = raw.get("method") if isinstance(raw, dict) else None
        method = methods.get(code) if isinstance(code, str) else None
        if method is None:
            raise ValidationError(_("Payment %(n)s: unknown payment method %(code)r; the methods are: %(known)s.",
                                    n=n, code=code, known=", ".join(sorted(c for c, m in methods.items() if m.active))),
                                  field="payments")
        if not method.active:
            raise ValidationError(_("Payment %(n)s: the payment method %(name)s is no longer accepted.",
                                    n=n, name=method.name), field="payments")
        amount = _check_amount(raw.get("amount"), _("Payment %(n)s (%(method)s): the amount", n=n,
                                                    method=method.name), cur)
        reference = raw.get("reference")
        reference = str(reference).strip() if reference not in (None, "") else None
        if reference and len(reference) > 128:
            raise ValidationError(_("Payment %(n)s: the reference is longer than 128 characters.", n=n))
        if method.needs_reference and not reference:
            raise ValidationError(_("Payment %(n)s: a %(name)s payment needs a reference (slip or transaction "
                                    "number).", n=n, name=method.name), field="payments")
        parsed.append((method, amount, reference))

    total = order.total
    non_cash = sum((a for m, a, _r in parsed if not m.is_cash), ZERO)
    cash_tendered = sum((a for m, a, _r in parsed if m.is_cash), ZERO)
    has_cash = any(m.is_cash for m, _a, _r in parsed)
    if non_cash > total:
        raise ValidationError(_("The non-cash payments (%(paid)s) are more than the total of order %(number)s "
                                "(%(total)s); only cash gives change.", paid=non_cash, number=order.number,
                                total=total), field="payments")
    remaining = total - non_cash
    rounding = ZERO
    change = ZERO
    if has_cash:
        if remaining == 0:
            raise ValidationError(_("The other payments already cover the total of order %(number)s; remove "
                                    "the cash payment.", number=order.number), field="payments")
        cash_due = round_to_increment(remaining, cash_rounding_increment())
        cash_due = round_money(cash_due, cur)
        rounding = cash_due - remaining
        if cash_tendered < cash_due:
            raise ValidationError(_("The payments (%(paid)s) do not cover the total of order %(number)s "
                                    "(%(due)s).", paid=non_cash + cash_tendered, number=order.number,
                                    due=total + rounding), field="payments", missing=str(cash_due - cash_tendered))
        change = cash_tendered - cash_due
    elif non_cash < total:
        raise ValidationError(_("The payments (%(paid)s) do not cover the total of order %(number)s "
                                "(%(due)s).", paid=non_cash, number=order.number, due=total),
                              field="payments", missing=str(total - non_cash))

    if order.fulfilment == "carry_out":
        # Issue before touching the order, so a shortage leaves nothing half-changed. One
        # posting for the whole order: the warehouse locks the quants in a fixed order, so
        # two tills selling the same products never deadlock.
        wh = _warehouse()
        location_id = _stock_location_id(order.store_id)
        customer_id = _customer_location_id()
        wh.post_moves([{"product_id": l.product_id, "from_location_id": location_id,
                        "to_location_id": customer_id, "quantity": l.quantity,
                        "unit_cost": "average", "source": order.number}
                       for l in order.lines], check=stock_check)
    if order.state == "draft":
        _confirm(order)
    now = utcnow()
    change_left = change
    rows = []
    for method, amount, reference in reversed(parsed):  # change comes out of the last cash tender
        given = ZERO
        if method.is_cash and change_left > 0:
            given = min(change_left, amount)
            change_left -= given
        rows.append(Payment(order_id=order.id, method=method.code, is_cash=method.is_cash,
                            amount=round_money(amount - given, cur), tendered=round_money(amount, cur),
                            change=round_money(given, cur), reference=reference, paid_at=now))
    # An unpaid order has no payments: add them without loading the (empty) collection;
    # order.payments shows them once flushed.
    db.session.add_all(reversed(rows))
    if "payments" not in order.__dict__:
        from sqlalchemy.orm.attributes import set_committed_value
        set_committed_value(order, "payments", list(reversed(rows)))
    else:
        order.payments.extend(reversed(rows))
    order.cash_rounding = round_money(rounding, cur)
    order.change_given = round_money(change, cur)
    order.amount_paid = round_money(total + rounding, cur)
    order.paid_at = now
    order.state = "paid"
    # The order row is written once, at the caller's commit (or when a listener queries:
    # autoflush); listeners get the row in its new state.
    fire("o2o_order_paid", order=order)
    if order.fulfilment == "carry_out":
        _fulfilled(order, now)
    if flush:
        db.session.flush()  # one write of the order, payments get their ids
    return order


def _fulfilled(order: Order, when=None) -> Order:
    order.state = "fulfilled"
    order.fulfilled_at = when or utcnow()
    fire("o2o_order_fulfilled", order=order)
    return order


def fulfil_order(order_id) -> Order:
    """Hand a paid pickup or delivery order over: issue its reservations to the customer."""
    order = _get_order(order_id)
    if order.fulfilment == "carry_out":
        raise Conflict(_("Order %(number)s is carry-out: its goods are handed over when it is paid.",
                         number=order.number), order=order.number)
    if order.state != "paid":
        if order.state in ("draft", "confirmed"):
            raise Conflict(_("Order %(number)s is not paid yet; take the payment before handing the goods over.",
                             number=order.number), order=order.number, state=order.state)
        _refuse_state(order, _("fulfilled"))
    wh = _warehouse()
    for line in order.lines:
        if line.reservation_id is None:  # a line reserved by nobody (should not happen): issue it
            wh.issue(line.product_id, _stock_location_id(order.fulfilment_store_id), line.quantity,
                     source=order.number)
        else:
            wh.issue_reservation(line.reservation_id)
    _fulfilled(order)
    db.session.flush()
    return order


def cancel_order(order_id, reason: str) -> Order:
    """Cancel an order that has not been handed over; releases its reservations."""
    order = _get_order(order_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why order %(number)s is cancelled.", number=order.number), field="reason")
    if order.state == "cancelled":
        raise Conflict(_("Order %(number)s is already cancelled.", number=order.number),
                       order=order.number, state=order.state)
    if order.state == "fulfilled":
        if order.fulfilment == "carry_out":
            raise Conflict(_("Order %(number)s was paid and its goods handed over at the counter; it cannot be "
                             "cancelled. Record a return instead.", number=order.number),
                           order=order.number, state=order.state)
        raise Conflict(_("Order %(number)s was already handed over; it cannot be cancelled. Record a return "
                         "instead.", number=order.number), order=order.number, state=order.state)
    wh = _warehouse()
    for line in order.lines:
        if line.reservation_id is not None:
            reservation = db.session.get(wh.Reservation, line.reservation_id)
            if reservation is not None and reservation.state == "active":
                wh.release(line.reservation_id)
    order.state = "cancelled"
    order.cancelled_at = utcnow()
    order.cancel_reason = reason
    fire("o2o_order_cancelled", order=order, reason=reason)
    db.session.flush()
    return order


# --- reading -----------------------------------------------------------------------------------

def orders_query(*, channel=None, store_id=None, state=None, customer_id=None, date_from=None,
                 date_to=None, fulfilment=None, number=None, store_ids=None):
    """A SELECT of orders, newest first, with the usual filters. ``store_ids`` (a set) limits
    to those stores (a user's stores); ``date_to`` is inclusive (a date)."""
    stmt = sa.select(Order).order_by(Order.order_date.desc(), Order.id.desc())
    if channel:
        stmt = stmt.where(Order.channel == channel)
    if store_id:
        stmt = stmt.where(Order.store_id == store_id)
    if state:
        stmt = stmt.where(Order.state == state)
    if customer_id:
        stmt = stmt.where(Order.customer_id == customer_id)
    if fulfilment:
        stmt = stmt.where(Order.fulfilment == fulfilment)
    if number:
        stmt = stmt.where(Order.number == number)
    # local days of the store (the company's over several stores)
    if date_from:
        start = date_from if isinstance(date_from, dt.datetime) else day_bounds(date_from, store=store_id)[0]
        stmt = stmt.where(Order.order_date >= start)
    if date_to:
        end = date_to if isinstance(date_to, dt.datetime) else day_bounds(date_to, store=store_id)[1]
        stmt = stmt.where(Order.order_date < end)
    if store_ids is not None:
        stmt = stmt.where(Order.store_id.in_(store_ids or [-1]))
    return stmt


def stock_moves(order: Order) -> list:
    """The warehouse's stock moves of this order (their ``source`` is the order number)."""
    model = _warehouse().StockMove
    return list(db.session.scalars(sa.select(model).where(model.source == order.number).order_by(model.id)))


def order_history(order: Order) -> list:
    """Audit-log rows of this order (who changed what, when), oldest first."""
    from core.models import AuditLog
    return list(db.session.scalars(
        sa.select(AuditLog).where(AuditLog.table_name == Order.__tablename__, AuditLog.row_id == str(order.id))
        .order_by(AuditLog.id)))


# --- base data ---------------------------------------------------------------------------------

BASE_METHODS = [
    # code, name, kind, is_cash, sequence
    ("cash", "Cash", "cash", True, 10),
    ("card", "Bank card", "card", False, 20),
    ("wallet", "Mobile wallet", "wallet", False, 30),
    ("voucher", "Voucher", "voucher", False, 40),
    ("store_credit", "Store credit", "store_credit", False, 50),
]


def create_base_data(session) -> None:
    from core.services.sequences import ensure_sequence
    for code, name, kind, is_cash, seq in BASE_METHODS:
        if session.scalar(sa.select(PaymentMethod).where(PaymentMethod.code == code)) is None:
            session.add(PaymentMethod(code=code, name=name, kind=kind, is_cash=is_cash, sequence=seq))
    session.flush()
    ensure_sequence(session, SEQUENCE_CODE, "Sales orders", "SO{year}-{number}", padding=6, reset="year")
