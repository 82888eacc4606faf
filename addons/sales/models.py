"""Sales tables: one order model for every channel (till, web shop, third-party channels).

An order has a channel (a code from the ``o2o_sales_channels`` registry), a store, an
optional customer, a number from the core sequence ``sales.order``, a state and a
fulfilment (carry-out, pickup in store, delivery). Lines carry tax-inclusive unit prices;
payments are split over payment methods, which are data rows.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import IdMixin, Quantity, TimestampMixin, UnitPrice, db
from core.models import Partner, Product, Store, Tax
from core.models.audit import Audited

from addons.sales.money import Amount

ORDER_STATES = ("draft", "confirmed", "paid", "fulfilled", "cancelled")
FULFILMENTS = ("carry_out", "pickup", "delivery")
PAYMENT_KINDS = ("cash", "card", "wallet", "voucher", "store_credit", "other")


class PaymentMethod(IdMixin, Audited, db.Model):
    """A way to pay (cash, card, mobile wallet, voucher, store credit...): data, not code.

    ``is_cash``: tendered amounts above what is due are given back as change, and the cash
    rounding setting applies to it.
    """
    __tablename__ = "sales_payment_method"

    code: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="other")
    is_cash: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    needs_reference: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    sequence: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=10)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    def __str__(self):
        return self.name


class Order(IdMixin, TimestampMixin, Audited, db.Model):
    """A customer order from any channel. Totals are tax-inclusive.

    ``cash_rounding`` is what cash rounding added to (or took off) the amount due when the
    order was paid partly or wholly in cash; the amount actually collected is
    ``total + cash_rounding``. ``change_given`` is the cash handed back.
    """
    __tablename__ = "sales_order"
    __table_args__ = (
        sa.Index("ix_sales_order_store_state", "store_id", "state"),
        sa.CheckConstraint("state IN ('draft', 'confirmed', 'paid', 'fulfilled', 'cancelled')",
                           name="state"),
        sa.CheckConstraint("fulfilment IN ('carry_out', 'pickup', 'delivery')", name="fulfilment"),
    )

    number: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    channel: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    store_id: Mapped[int] = mapped_column(sa.ForeignKey("store.id"), nullable=False, index=True)
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partner.id"), index=True)
    state: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="draft", index=True)
    fulfilment: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="carry_out")
    pickup_store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("store.id"), index=True)
    delivery_address: Mapped[str | None] = mapped_column(sa.Text)
    external_ref: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False, default="CNY")
    order_date: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, index=True)

    net_total: Mapped[Decimal] = mapped_column(Amount, nullable=False, default=Decimal("0"))
    tax_total: Mapped[Decimal] = mapped_column(Amount, nullable=False, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Amount, nullable=False, default=Decimal("0"))
    discount_total: Mapped[Decimal] = mapped_column(Amount, nullable=False, default=Decimal("0"))
    cash_rounding: Mapped[Decimal] = mapped_column(Amount, nullable=False, default=Decimal("0"))
    amount_paid: Mapped[Decimal] = mapped_column(Amount, nullable=False, default=Decimal("0"))
    change_given: Mapped[Decimal] = mapped_column(Amount, nullable=False, default=Decimal("0"))

    confirmed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    paid_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    fulfilled_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    note: Mapped[str | None] = mapped_column(sa.Text)

    store: Mapped[Store] = relationship(foreign_keys=[store_id])
    pickup_store: Mapped[Store | None] = relationship(foreign_keys=[pickup_store_id])
    customer: Mapped[Partner | None] = relationship()
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", order_by="OrderLine.sequence", cascade="all, delete-orphan")
    payments: Mapped[list["Payment"]] = relationship(
        back_populates="order", order_by="Payment.id", cascade="all, delete-orphan")

    @property
    def fulfilment_store_id(self) -> int:
        """The store whose warehouse gives the goods: the pickup store, else the order's."""
        return self.pickup_store_id or self.store_id

    @property
    def amount_due(self) -> Decimal:
        return self.total + self.cash_rounding

    def __str__(self):
        return self.number


class OrderLine(IdMixin, db.Model):
    """A product on an order. ``unit_price`` is tax-inclusive; ``discount`` is a percentage
    (0-100) off the line; ``total`` = unit_price x quantity less the discount, rounded;
    ``tax_amount`` the tax included in it; ``net_amount`` = total - tax_amount."""
    __tablename__ = "sales_order_line"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("discount >= 0 AND discount <= 100", name="discount_range"),
    )

    order_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_order.id", ondelete="CASCADE"),
                                          nullable=False, index=True)
    sequence: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), nullable=False, index=True)
    description: Mapped[str] = mapped_column(sa.String(256), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    list_price: Mapped[Decimal] = mapped_column(UnitPrice, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice, nullable=False)
    discount: Mapped[Decimal] = mapped_column(sa.Numeric(7, 4), nullable=False, default=Decimal("0"))
    tax_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tax.id"))
    tax_rate: Mapped[Decimal] = mapped_column(sa.Numeric(7, 4), nullable=False, default=Decimal("0"))
    discount_amount: Mapped[Decimal] = mapped_column(Amount, nullable=False, default=Decimal("0"))
    net_amount: Mapped[Decimal] = mapped_column(Amount, nullable=False, default=Decimal("0"))
    tax_amount: Mapped[Decimal] = mapped_column(Amount, nullable=False, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Amount, nullable=False, default=Decimal("0"))
    # the warehouse reservation held for a pickup or delivery line (warehouse_reservation.id)
    reservation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("warehouse_reservation.id"), index=True)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    tax: Mapped[Tax | None] = relationship()

    def __str__(self):
        return f"{self.quantity} x {self.description}"


class Payment(IdMixin, db.Model):
    """One tender on an order. ``amount`` is what the order keeps (net of change);
    ``tendered`` what the customer handed over; ``change`` = tendered - amount (cash only)."""
    __tablename__ = "sales_payment"
    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_not_negative"),)

    order_id: Mapped[int] = mapped_column(sa.ForeignKey("sales_order.id", ondelete="CASCADE"),
                                          nullable=False, index=True)
    method: Mapped[str] = mapped_column(sa.ForeignKey("sales_payment_method.code"), nullable=False, index=True)
    is_cash: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    amount: Mapped[Decimal] = mapped_column(Amount, nullable=False)
    tendered: Mapped[Decimal] = mapped_column(Amount, nullable=False)
    change: Mapped[Decimal] = mapped_column(Amount, nullable=False, default=Decimal("0"))
    reference: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    paid_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)

    order: Mapped[Order] = relationship(back_populates="payments")
    method_row: Mapped[PaymentMethod] = relationship(lazy="joined")

    def __str__(self):
        return f"{self.method} {self.amount}"
