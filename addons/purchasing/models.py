"""Purchasing tables: suppliers' terms, purchase orders, receipts, vendor bills with their
three-way-match mismatches, and replenishment runs with their proposal lines."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import IdMixin, Money, Quantity, TimestampMixin, UnitPrice, db, utcnow
from core.models.audit import Audited

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")

# Purchase order states, in the order an order normally goes through them.
ORDER_STATES = ("draft", "to_approve", "approved", "sent", "partly_received", "received", "billed", "cancelled")
OPEN_ORDER_STATES = ("draft", "to_approve", "approved", "sent", "partly_received")
RECEIVABLE_STATES = ("approved", "sent", "partly_received")
BILL_STATES = ("draft", "on_hold", "posted", "cancelled")


class SupplierProduct(IdMixin, TimestampMixin, Audited, db.Model):
    """A supplier's terms for one product: their code, price (with quantity breaks),
    minimum order, pack size and lead time. One of a product's suppliers is preferred."""
    __tablename__ = "purchasing_supplier_product"
    __table_args__ = (
        sa.UniqueConstraint("supplier_id", "product_id"),
        sa.CheckConstraint("unit_price >= 0 AND min_qty >= 0 AND pack_size > 0 AND lead_time_days >= 0",
                           name="terms"),
    )

    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("partner.id"), nullable=False)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), nullable=False, index=True)
    supplier_code: Mapped[str | None] = mapped_column(sa.String(64))
    supplier_name: Mapped[str | None] = mapped_column(sa.String(256))
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice, nullable=False, default=Decimal(0))
    min_qty: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    pack_size: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(1))
    lead_time_days: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=7)
    preferred: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    supplier = relationship("Partner", lazy="joined")
    product = relationship("Product", lazy="joined")
    breaks: Mapped[list["PriceBreak"]] = relationship(back_populates="terms", cascade="all, delete-orphan",
                                                      order_by="PriceBreak.min_quantity")

    def __str__(self):
        return f"{self.supplier} / {self.product}"


class PriceBreak(IdMixin, db.Model):
    """From ``min_quantity`` on, the unit price is ``unit_price``."""
    __tablename__ = "purchasing_price_break"
    __table_args__ = (sa.UniqueConstraint("terms_id", "min_quantity"),
                      sa.CheckConstraint("min_quantity > 0 AND unit_price >= 0", name="break"))

    terms_id: Mapped[int] = mapped_column(sa.ForeignKey("purchasing_supplier_product.id", ondelete="CASCADE"),
                                          nullable=False)
    min_quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice, nullable=False)

    terms: Mapped[SupplierProduct] = relationship(back_populates="breaks")

    def __str__(self):
        return f">= {self.min_quantity}: {self.unit_price}"


class PurchaseOrder(IdMixin, TimestampMixin, Audited, db.Model):
    """An order to a supplier, delivered to one warehouse (a store's or the DC's)."""
    __tablename__ = "purchasing_order"
    __table_args__ = (sa.Index("ix_purchasing_order_supplier_state", "supplier_id", "state"),
                      sa.Index("ix_purchasing_order_warehouse_state", "warehouse_id", "state"))

    number: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("partner.id"), nullable=False)
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_warehouse.id"), nullable=False)
    store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("store.id"), index=True)
    state: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="draft", index=True)
    order_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    expected_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    supplier_ref: Mapped[str | None] = mapped_column(sa.String(64))
    note: Mapped[str | None] = mapped_column(sa.Text)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False, default="CNY")
    net_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    tax_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    created_by_id: Mapped[int | None] = mapped_column(sa.Integer)  # no FK: users may be deleted
    approved_by_id: Mapped[int | None] = mapped_column(sa.Integer)
    approved_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    received_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchasing_replenish_run.id"), index=True)

    supplier = relationship("Partner", lazy="joined")
    warehouse = relationship("Warehouse", lazy="joined")
    store = relationship("Store", lazy="joined")
    lines: Mapped[list["PurchaseOrderLine"]] = relationship(back_populates="order", cascade="all, delete-orphan",
                                                            order_by="PurchaseOrderLine.sequence")
    receipts: Mapped[list["Receipt"]] = relationship(back_populates="order", order_by="Receipt.id")

    @property
    def backorder(self) -> list["PurchaseOrderLine"]:
        """The lines still expected from the supplier (ordered, not received, not closed)."""
        return [line for line in self.lines if line.outstanding > 0]

    def __str__(self):
        return self.number


class PurchaseOrderLine(IdMixin, db.Model):
    __tablename__ = "purchasing_order_line"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),
                      sa.CheckConstraint("unit_price >= 0", name="price_not_negative"),
                      sa.Index("ix_purchasing_order_line_product", "product_id", "order_id"))

    order_id: Mapped[int] = mapped_column(sa.ForeignKey("purchasing_order.id", ondelete="CASCADE"),
                                          nullable=False, index=True)
    sequence: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), nullable=False)
    description: Mapped[str] = mapped_column(sa.String(256), nullable=False)
    supplier_code: Mapped[str | None] = mapped_column(sa.String(64))
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice, nullable=False)
    free_of_charge: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    tax_rate: Mapped[Decimal] = mapped_column(sa.Numeric(7, 4), nullable=False, default=Decimal(0))
    net_amount: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    tax_amount: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    expected_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    received_qty: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    damaged_qty: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    billed_qty: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    # closed short: the supplier will not deliver the rest, no backorder is kept
    closed: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    product = relationship("Product", lazy="joined")

    @property
    def outstanding(self) -> Decimal:
        if self.closed:
            return Decimal(0)
        return max(self.quantity - self.received_qty, Decimal(0))

    @property
    def short_qty(self) -> Decimal:
        return max(self.quantity - self.received_qty, Decimal(0)) if self.closed else Decimal(0)


class Receipt(IdMixin, db.Model):
    """Goods received against an order (one delivery)."""
    __tablename__ = "purchasing_receipt"

    number: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("purchasing_order.id"), nullable=False, index=True)
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_warehouse.id"), nullable=False)
    store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("store.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("partner.id"), nullable=False, index=True)
    received_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow,
                                                     index=True)
    supplier_ref: Mapped[str | None] = mapped_column(sa.String(64))  # delivery note
    note: Mapped[str | None] = mapped_column(sa.Text)
    user_id: Mapped[int | None] = mapped_column(sa.Integer)
    # what the order still expects after this receipt (the backorder), and whether any
    value: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    backorder_qty: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    has_backorder: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    order: Mapped[PurchaseOrder] = relationship(back_populates="receipts")
    supplier = relationship("Partner", lazy="joined")
    warehouse = relationship("Warehouse", lazy="joined")
    lines: Mapped[list["ReceiptLine"]] = relationship(back_populates="receipt", cascade="all, delete-orphan",
                                                      order_by="ReceiptLine.id")

    def __str__(self):
        return self.number


class ReceiptLine(IdMixin, db.Model):
    """``quantity`` delivered (good and damaged), of which ``damaged_quantity`` scrapped."""
    __tablename__ = "purchasing_receipt_line"
    __table_args__ = (sa.CheckConstraint("quantity > 0 AND damaged_quantity >= 0 AND damaged_quantity <= quantity",
                                         name="quantities"),)

    receipt_id: Mapped[int] = mapped_column(sa.ForeignKey("purchasing_receipt.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("purchasing_order_line.id"), nullable=False, index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    damaged_quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    unit_cost: Mapped[Decimal] = mapped_column(UnitPrice, nullable=False)
    value: Mapped[Decimal] = mapped_column(Money, nullable=False)
    closed_short: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    receipt: Mapped[Receipt] = relationship(back_populates="lines")
    order_line: Mapped[PurchaseOrderLine] = relationship(lazy="joined")
    product = relationship("Product", lazy="joined")


class VendorBill(IdMixin, TimestampMixin, Audited, db.Model):
    """A supplier's invoice, matched against its order and receipts before it is posted."""
    __tablename__ = "purchasing_bill"
    __table_args__ = (sa.UniqueConstraint("supplier_id", "supplier_ref"),)

    number: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("partner.id"), nullable=False, index=True)
    supplier_ref: Mapped[str | None] = mapped_column(sa.String(64))  # the supplier's invoice number
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchasing_order.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("store.id"), index=True)
    bill_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    due_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    state: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="draft", index=True)
    net_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    tax_total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    matched: Mapped[bool | None] = mapped_column(sa.Boolean)  # None until matched
    created_by_id: Mapped[int | None] = mapped_column(sa.Integer)
    released_by_id: Mapped[int | None] = mapped_column(sa.Integer)
    released_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    release_note: Mapped[str | None] = mapped_column(sa.Text)
    posted_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    supplier = relationship("Partner", lazy="joined")
    order: Mapped[PurchaseOrder | None] = relationship(lazy="joined")
    lines: Mapped[list["VendorBillLine"]] = relationship(back_populates="bill", cascade="all, delete-orphan",
                                                         order_by="VendorBillLine.id")
    mismatches: Mapped[list["BillMismatch"]] = relationship(back_populates="bill", cascade="all, delete-orphan",
                                                            order_by="BillMismatch.id")

    @property
    def on_hold(self) -> bool:
        return self.state == "on_hold"

    def __str__(self):
        return self.number


class VendorBillLine(IdMixin, db.Model):
    __tablename__ = "purchasing_bill_line"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    bill_id: Mapped[int] = mapped_column(sa.ForeignKey("purchasing_bill.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    order_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchasing_order_line.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.String(256))
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice, nullable=False)
    tax_rate: Mapped[Decimal] = mapped_column(sa.Numeric(7, 4), nullable=False, default=Decimal(0))
    net_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    tax_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    # three-way match flags (None until matched)
    quantity_matched: Mapped[bool | None] = mapped_column(sa.Boolean)
    price_matched: Mapped[bool | None] = mapped_column(sa.Boolean)

    bill: Mapped[VendorBill] = relationship(back_populates="lines")
    order_line: Mapped[PurchaseOrderLine | None] = relationship(lazy="joined")
    product = relationship("Product", lazy="joined")


class BillMismatch(IdMixin, db.Model):
    """One difference the three-way match found: ``kind`` is quantity, price or not_ordered."""
    __tablename__ = "purchasing_bill_mismatch"

    bill_id: Mapped[int] = mapped_column(sa.ForeignKey("purchasing_bill.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    bill_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchasing_bill_line.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("product.id"))
    kind: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    ordered: Mapped[Decimal | None] = mapped_column(UnitPrice)   # order quantity or price
    received: Mapped[Decimal | None] = mapped_column(Quantity)   # receipt quantity (quantity mismatches)
    billed: Mapped[Decimal | None] = mapped_column(UnitPrice)    # bill quantity or price
    message: Mapped[str] = mapped_column(sa.String(512), nullable=False)

    bill: Mapped[VendorBill] = relationship(back_populates="mismatches")

    def __str__(self):
        return self.message


class ReplenishRun(IdMixin, db.Model):
    """One replenishment proposal: what the reorder rules ask for, for a buyer to review."""
    __tablename__ = "purchasing_replenish_run"

    state: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="draft")  # draft|done|superseded
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.Integer)
    warehouse_ids: Mapped[str | None] = mapped_column(sa.String(512))  # limited to these, comma separated
    line_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    converted_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    def __str__(self):
        return f"run {self.id}"


class ProposalLine(db.Model):
    """One proposed purchase (``action='buy'``) or transfer from the distribution centre
    (``action='transfer'``) for a warehouse's shortfall of a product.

    A working table filled by one INSERT ... SELECT of up to a million rows: its columns are
    taken from existing rows in that statement, so it carries no foreign keys (on
    PostgreSQL their checks cost more than the proposal itself)."""
    __tablename__ = "purchasing_proposal_line"
    __table_args__ = (sa.Index("ix_purchasing_proposal_line_run_group", "run_id", "action", "supplier_id",
                               "warehouse_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    product_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    warehouse_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    action: Mapped[str] = mapped_column(sa.String(8), nullable=False, default="buy")  # buy | transfer
    supplier_id: Mapped[int | None] = mapped_column(sa.Integer)
    source_warehouse_id: Mapped[int | None] = mapped_column(sa.Integer)
    on_hand: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    incoming: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    min_qty: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    max_qty: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    shortfall: Mapped[Decimal] = mapped_column(Quantity, nullable=False)  # what the rule asks for
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)   # to order (pack, minimum), editable
    unit_price: Mapped[Decimal | None] = mapped_column(UnitPrice)
    selected: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    order_id: Mapped[int | None] = mapped_column(sa.Integer)
    transfer_id: Mapped[int | None] = mapped_column(sa.Integer)

    run: Mapped[ReplenishRun] = relationship(primaryjoin="foreign(ProposalLine.run_id) == ReplenishRun.id",
                                             viewonly=True)
    product = relationship("Product", primaryjoin="foreign(ProposalLine.product_id) == Product.id",
                           lazy="joined", viewonly=True)
    warehouse = relationship("Warehouse", primaryjoin="foreign(ProposalLine.warehouse_id) == Warehouse.id",
                             lazy="joined", viewonly=True)
    source_warehouse = relationship("Warehouse",
                                    primaryjoin="foreign(ProposalLine.source_warehouse_id) == Warehouse.id",
                                    viewonly=True)
    supplier = relationship("Partner", primaryjoin="foreign(ProposalLine.supplier_id) == Partner.id",
                            lazy="joined", viewonly=True)
