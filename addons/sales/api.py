"""Sales API under /api/v1/sales: create, confirm, pay, fulfil, cancel, get and list orders.

A web order for pickup in a shop, from the web front (token with sales.order.create,
.confirm, .pay and, at the shop, .fulfil)::

    POST /api/v1/sales/orders
    {"channel": "web", "store_id": 1, "fulfilment": "pickup", "pickup_store_id": 3,
     "customer_id": 42, "external_ref": "WEB-10023",
     "lines": [{"product_id": 7, "quantity": "2"}]}
    -> 201 {"id": 15, "number": "SO2026-000015", "state": "draft", "total": "25.80", ...}

    POST /api/v1/sales/orders/15/confirm                      -> reserves 2 x product 7 at store 3
    POST /api/v1/sales/orders/15/pay
    {"payments": [{"method": "wallet", "amount": "25.80", "reference": "WX-8812"}]}
    POST /api/v1/sales/orders/15/fulfil                       -> when the customer collects it

Amounts and quantities are JSON strings ("25.80") or numbers; they are read as decimals.
Users limited to some stores only see and touch those stores' orders.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import pydantic
from flask import g

from core.api import ApiBlueprint, Page, PercentIn, QuantityIn, RowId, UnitPriceIn, decimal_of, paginate
from core.auth import user_can
from core.db import db
from core.errors import NotFound, PermissionDenied, ValidationError
from core.i18n import _

from addons.sales import services
from addons.sales.models import Order
from addons.sales.money import Amount

PaymentAmountIn = decimal_of(Amount)  # Numeric(14, 3): the 3-decimal currencies fit


class LineIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    product_id: RowId
    quantity: QuantityIn
    unit_price: UnitPriceIn | None = pydantic.Field(None, description="tax-inclusive; needs sales.order.price")
    discount: PercentIn = pydantic.Field(Decimal("0"), description="percent off the line; needs sales.order.price "
                                                                  "unless 0")


class OrderIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    channel: str
    store_id: RowId
    lines: list[LineIn] = pydantic.Field(min_length=1)
    customer_id: RowId | None = None
    fulfilment: Literal["carry_out", "pickup", "delivery"] = "carry_out"
    pickup_store_id: RowId | None = None
    delivery_address: str | None = None
    external_ref: str | None = pydantic.Field(None, max_length=128)
    note: str | None = None
    confirm: bool = pydantic.Field(False, description="confirm (and reserve) at once")


class PaymentIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    method: str
    amount: PaymentAmountIn
    reference: str | None = pydantic.Field(None, max_length=128)


class PayIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    payments: list[PaymentIn]


class CancelIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    reason: str = pydantic.Field(min_length=1, max_length=2000)


class OrderQuery(Page):
    channel: str | None = None
    store_id: RowId | None = None
    state: Literal["draft", "confirmed", "paid", "fulfilled", "cancelled"] | None = None
    customer_id: RowId | None = None
    fulfilment: Literal["carry_out", "pickup", "delivery"] | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    number: str | None = None


class LineOut(pydantic.BaseModel):
    id: int
    sequence: int
    product_id: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    discount_amount: Decimal
    tax_rate: Decimal
    net_amount: Decimal
    tax_amount: Decimal
    total: Decimal
    reservation_id: int | None


class PaymentOut(pydantic.BaseModel):
    id: int
    method: str
    is_cash: bool
    amount: Decimal
    tendered: Decimal
    change: Decimal
    reference: str | None
    paid_at: dt.datetime


class OrderOut(pydantic.BaseModel):
    id: int
    number: str
    channel: str
    store_id: int
    customer_id: int | None
    state: str
    fulfilment: str
    pickup_store_id: int | None
    delivery_address: str | None
    external_ref: str | None
    currency: str
    order_date: dt.datetime
    net_total: Decimal
    tax_total: Decimal
    total: Decimal
    discount_total: Decimal
    cash_rounding: Decimal
    amount_paid: Decimal
    change_given: Decimal
    confirmed_at: dt.datetime | None
    paid_at: dt.datetime | None
    fulfilled_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    lines: list[LineOut] = []
    payments: list[PaymentOut] = []


class OrderSummary(pydantic.BaseModel):
    id: int
    number: str
    channel: str
    store_id: int
    customer_id: int | None
    state: str
    fulfilment: str
    order_date: dt.datetime
    total: Decimal


class PaymentMethodOut(pydantic.BaseModel):
    code: str
    name: str
    kind: str
    is_cash: bool
    needs_reference: bool


class ChannelOut(pydantic.BaseModel):
    code: str
    label: str


def order_out(order: Order) -> OrderOut:
    return OrderOut.model_validate(order, from_attributes=True)


def _user_stores():
    return g.api_user.store_ids


def _check_store(store_id, *more):
    allowed = _user_stores()
    if allowed is None:
        return
    for sid in (store_id, *more):
        if sid is not None and sid not in allowed:
            raise PermissionDenied(_("You can only record orders for your own stores."), store_id=sid)


def _order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    allowed = _user_stores()
    if order is None or (allowed is not None and order.store_id not in allowed
                         and order.pickup_store_id not in allowed):
        raise NotFound(_("There is no order %(id)s.", id=order_id), order_id=order_id)
    return order


def blueprint() -> ApiBlueprint:
    bp = ApiBlueprint("sales_api", __name__, url_prefix="/sales")

    @bp.endpoint("/orders", methods=["POST"], permission="sales.order.create", body=OrderIn,
                 response=OrderOut, status=201, summary="Create an order (draft, or confirmed with confirm=true)")
    def create_order(body: OrderIn):
        _check_store(body.store_id, body.pickup_store_id)
        if any(l.unit_price is not None or l.discount for l in body.lines) \
                and not user_can(g.api_user, "sales.order.price"):
            raise PermissionDenied(_("Setting unit prices or discounts needs the permission 'sales.order.price'."),
                                   permission="sales.order.price")
        order = services.create_order(
            channel=body.channel, store_id=body.store_id, customer_id=body.customer_id,
            fulfilment=body.fulfilment, pickup_store_id=body.pickup_store_id,
            delivery_address=body.delivery_address, external_ref=body.external_ref, note=body.note,
            lines=[l.model_dump() for l in body.lines])
        if body.confirm:
            if not user_can(g.api_user, "sales.order.confirm"):
                raise PermissionDenied(_("Confirming needs the permission 'sales.order.confirm'."),
                                       permission="sales.order.confirm")
            services.confirm_order(order.id)
        return order_out(order)

    @bp.endpoint("/orders/<int:order_id>", permission="sales.order.read", response=OrderOut,
                 summary="An order with its lines and payments")
    def get_order(order_id: int):
        return order_out(_order(order_id))

    @bp.endpoint("/orders", permission="sales.order.read", query=OrderQuery,
                 summary="List orders (filters: channel, store, state, customer, fulfilment, dates)")
    def list_orders(query: OrderQuery):
        if query.date_from and query.date_to and query.date_from > query.date_to:
            raise ValidationError(_("date_from is after date_to."))
        stmt = services.orders_query(channel=query.channel, store_id=query.store_id, state=query.state,
                                     customer_id=query.customer_id, fulfilment=query.fulfilment,
                                     date_from=query.date_from, date_to=query.date_to, number=query.number,
                                     store_ids=_user_stores())
        return paginate(stmt, query, lambda o: OrderSummary.model_validate(o, from_attributes=True))

    @bp.endpoint("/orders/<int:order_id>/confirm", methods=["POST"], permission="sales.order.confirm",
                 response=OrderOut, summary="Confirm an order (pickup/delivery: reserve the stock)")
    def confirm_order(order_id: int):
        return order_out(services.confirm_order(_order(order_id).id))

    @bp.endpoint("/orders/<int:order_id>/pay", methods=["POST"], permission="sales.order.pay", body=PayIn,
                 response=OrderOut, summary="Pay an order in full, split over payment methods")
    def pay_order(order_id: int, body: PayIn):
        order = _order(order_id)
        return order_out(services.pay_order(order.id, [p.model_dump() for p in body.payments]))

    @bp.endpoint("/orders/<int:order_id>/fulfil", methods=["POST"], permission="sales.order.fulfil",
                 response=OrderOut, summary="Hand a paid pickup or delivery order over (issues the stock)")
    def fulfil_order(order_id: int):
        return order_out(services.fulfil_order(_order(order_id).id))

    @bp.endpoint("/orders/<int:order_id>/cancel", methods=["POST"], permission="sales.order.cancel",
                 body=CancelIn, response=OrderOut, summary="Cancel an order (releases its reservations)")
    def cancel_order(order_id: int, body: CancelIn):
        return order_out(services.cancel_order(_order(order_id).id, body.reason))

    @bp.endpoint("/payment-methods", permission="sales.order.read", response=list[PaymentMethodOut],
                 summary="The active payment methods")
    def list_payment_methods():
        return [PaymentMethodOut.model_validate(m, from_attributes=True) for m in services.payment_methods()]

    @bp.endpoint("/channels", permission="sales.order.read", response=list[ChannelOut],
                 summary="The registered sales channels")
    def list_channels():
        return [{"code": c, "label": label} for c, label in sorted(services.channels().items())]

    return bp
