"""Warehouse tables: warehouses, locations, the stock ledger, quants, reservations,
transfers, counts, reorder rules and average costs.

The ledger (``warehouse_move``) is append-only once done. ``warehouse_quant`` holds one
balance row per (product, location) for stock-holding locations (internal and transit);
virtual locations (supplier, customer, inventory loss, scrap) have no quants.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import IdMixin, Money, Quantity, TimestampMixin, UnitPrice, db, utcnow
from core.models.audit import Audited

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")

# Location usages. Internal and transit locations hold stock (and quants); the others are
# virtual counterparts of the ledger.
INTERNAL, TRANSIT = "internal", "transit"
SUPPLIER, CUSTOMER, INVENTORY, SCRAP = "supplier", "customer", "inventory", "scrap"
USAGES = (INTERNAL, TRANSIT, SUPPLIER, CUSTOMER, INVENTORY, SCRAP)
STOCK_USAGES = (INTERNAL, TRANSIT)

# a store's choice when a till sells more than the books have (Warehouse.till_short_stock)
TILL_RECORD, TILL_REFUSE = "record", "refuse"
TILL_SHORT_STOCK = (TILL_RECORD, TILL_REFUSE)
NEGATIVE_OPEN, NEGATIVE_RESOLVED = "open", "resolved"


class Warehouse(IdMixin, TimestampMixin, Audited, db.Model):
    """A store's stockroom (one per store) or a central warehouse (distribution centre)."""
    __tablename__ = "warehouse_warehouse"

    code: Mapped[str] = mapped_column(sa.String(16), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(8), nullable=False, default="store")  # store | central
    store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("store.id"), unique=True)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    # What a till sale does when the books say the goods are not there (DESIGN "Stock": a
    # till sale is a fact): "record" it anyway (stock goes negative, a negative-stock
    # exception is raised) or "refuse" it (the till then checks before taking payment).
    till_short_stock: Mapped[str] = mapped_column(sa.String(8), nullable=False, default=TILL_RECORD,
                                                  server_default=TILL_RECORD)

    store = relationship("Store", lazy="joined")
    locations: Mapped[list["Location"]] = relationship(back_populates="warehouse")

    def __str__(self):
        return f"{self.code} {self.name}"


class Location(IdMixin, Audited, db.Model):
    """A place stock can be: a warehouse's stock location (and shelves under it), or a
    virtual location (supplier, customer, inventory loss, scrap, transit)."""
    __tablename__ = "warehouse_location"
    __table_args__ = (sa.CheckConstraint("usage IN ('internal','transit','supplier','customer','inventory','scrap')",
                                         name="usage"),)

    code: Mapped[str] = mapped_column(sa.String(48), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    usage: Mapped[str] = mapped_column(sa.String(16), nullable=False, default=INTERNAL)
    warehouse_id: Mapped[int | None] = mapped_column(sa.ForeignKey("warehouse_warehouse.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("warehouse_location.id"), index=True)
    allow_negative: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    warehouse: Mapped[Warehouse | None] = relationship(back_populates="locations")
    parent: Mapped["Location | None"] = relationship(remote_side="Location.id")

    @property
    def is_virtual(self) -> bool:
        return self.usage not in STOCK_USAGES

    def __str__(self):
        return f"{self.code} {self.name}" if self.code != self.name else self.code


class StockMove(db.Model):
    """One line of the stock ledger: ``quantity`` of a product from one location to another.

    Append-only once done: a correction is a new move."""
    __tablename__ = "warehouse_move"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("from_location_id <> to_location_id", name="distinct_locations"),
        sa.Index("ix_warehouse_move_product_done", "product_id", "done_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    # no index on the locations nor the transfer: nothing reads moves by them (see
    # migration warehouse_0003), and every index is paid for by every posted move
    from_location_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_location.id"), nullable=False)
    to_location_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_location.id"), nullable=False)
    state: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="done")  # draft|done|cancelled
    unit_cost: Mapped[Decimal | None] = mapped_column(UnitPrice)
    # quantity x the cost it moved at, at the currency's precision: what the books post
    # (finance hears it through o2o_stock_moved) and what the valuation adds up
    value: Mapped[Decimal | None] = mapped_column(Money)
    # the local business date of the posting (the store's), shared by the books: the
    # valuation "as of" a day and the journal lines of the same moves agree by construction
    value_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    source: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partner.id"))
    transfer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("warehouse_transfer.id"))
    user_id: Mapped[int | None] = mapped_column(sa.Integer)  # no FK: users may be deleted
    done_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)

    product = relationship("Product", lazy="joined", viewonly=True)
    from_location: Mapped[Location] = relationship(foreign_keys=[from_location_id], lazy="joined", viewonly=True)
    to_location: Mapped[Location] = relationship(foreign_keys=[to_location_id], lazy="joined", viewonly=True)

    def __str__(self):
        return f"#{self.id} {self.quantity} x product {self.product_id}"


class Quant(db.Model):
    """On-hand and reserved quantity of one product in one stock-holding location.

    Exactly one row per (product, location); ``warehouse_id`` is the location's warehouse
    (None for transit), kept here so a warehouse's stock is one indexed range."""
    __tablename__ = "warehouse_quant"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "location_id"),
        # covering: a warehouse's stock is read from the index alone
        sa.Index("ix_warehouse_quant_warehouse_product_stock", "warehouse_id", "product_id", "on_hand", "reserved"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), nullable=False)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_location.id"), nullable=False, index=True)
    warehouse_id: Mapped[int | None] = mapped_column(sa.ForeignKey("warehouse_warehouse.id"))
    on_hand: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))

    product = relationship("Product", lazy="joined", viewonly=True)
    location: Mapped[Location] = relationship(lazy="joined", viewonly=True)
    warehouse: Mapped[Warehouse | None] = relationship(lazy="joined", viewonly=True)

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class Reservation(IdMixin, db.Model):
    """Stock held for an order or a cart. One pool for every channel; ``expires_at`` (a web
    cart) releases it when passed."""
    __tablename__ = "warehouse_reservation"
    __table_args__ = (sa.CheckConstraint("quantity >= 0", name="quantity_not_negative"),
                      sa.Index("ix_warehouse_reservation_state_expires", "state", "expires_at"))

    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), nullable=False, index=True)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_location.id"), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)  # still reserved
    issued_quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    state: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="active")  # active|issued|released|expired
    source: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    product = relationship("Product", lazy="joined", viewonly=True)
    location: Mapped[Location] = relationship(lazy="joined", viewonly=True)


class Transfer(IdMixin, TimestampMixin, Audited, db.Model):
    """Goods sent from one warehouse to another through transit: ship, then receive."""
    __tablename__ = "warehouse_transfer"

    number: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    from_warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_warehouse.id"), nullable=False, index=True)
    to_warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_warehouse.id"), nullable=False, index=True)
    state: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="draft")  # draft|shipped|received|cancelled
    note: Mapped[str | None] = mapped_column(sa.Text)
    shipped_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    received_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))

    from_warehouse: Mapped[Warehouse] = relationship(foreign_keys=[from_warehouse_id], lazy="joined")
    to_warehouse: Mapped[Warehouse] = relationship(foreign_keys=[to_warehouse_id], lazy="joined")
    lines: Mapped[list["TransferLine"]] = relationship(back_populates="transfer", cascade="all, delete-orphan",
                                                       order_by="TransferLine.id")

    @property
    def from_store_id(self):
        return self.from_warehouse.store_id

    def __str__(self):
        return self.number or f"transfer {self.id}"


class TransferLine(IdMixin, db.Model):
    __tablename__ = "warehouse_transfer_line"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    transfer_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_transfer.id", ondelete="CASCADE"),
                                             nullable=False, index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)  # shipped
    received_quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    damaged_quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    # shipped - received - damaged: missing goods, posted to inventory loss, never lost silently
    difference: Mapped[Decimal | None] = mapped_column(Quantity)
    # the cost the goods left the sending warehouse at, and their value: goods in transit
    # keep it, and what arrives, is damaged or is missing is booked at it
    unit_cost: Mapped[Decimal | None] = mapped_column(UnitPrice)
    value: Mapped[Decimal | None] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(sa.String(256))

    transfer: Mapped[Transfer] = relationship(back_populates="lines")
    product = relationship("Product", lazy="joined")


class Count(IdMixin, TimestampMixin, Audited, db.Model):
    """A count sheet: expected quantities frozen at start, counted quantities entered or
    imported, differences posted to inventory loss on validation."""
    __tablename__ = "warehouse_count"

    number: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_warehouse.id"), nullable=False, index=True)
    location_id: Mapped[int | None] = mapped_column(sa.ForeignKey("warehouse_location.id"))  # a shelf, or all
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("product_category.id"))
    state: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="draft")  # draft|in_progress|validated|cancelled
    started_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    validated_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    difference_value: Mapped[Decimal | None] = mapped_column(Money)

    warehouse: Mapped[Warehouse] = relationship(lazy="joined")
    location: Mapped[Location | None] = relationship(lazy="joined")
    category = relationship("Category", lazy="joined")
    lines: Mapped[list["CountLine"]] = relationship(back_populates="count", cascade="all, delete-orphan",
                                                    order_by="CountLine.id")

    def __str__(self):
        return self.number or f"count {self.id}"


class CountLine(IdMixin, db.Model):
    __tablename__ = "warehouse_count_line"
    __table_args__ = (sa.UniqueConstraint("count_id", "product_id", "location_id"),)

    count_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_count.id", ondelete="CASCADE"), nullable=False)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), nullable=False)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_location.id"), nullable=False)
    expected: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    counted: Mapped[Decimal | None] = mapped_column(Quantity)
    unit_cost: Mapped[Decimal | None] = mapped_column(UnitPrice)  # average cost at validation
    difference: Mapped[Decimal | None] = mapped_column(Quantity)
    difference_value: Mapped[Decimal | None] = mapped_column(Money)

    count: Mapped[Count] = relationship(back_populates="lines")
    product = relationship("Product", lazy="joined")
    location: Mapped[Location] = relationship(lazy="joined")


class ReorderRule(IdMixin, TimestampMixin, Audited, db.Model):
    """Keep between ``min_qty`` and ``max_qty`` of a product in a warehouse, ordering in
    multiples of ``multiple``."""
    __tablename__ = "warehouse_reorder_rule"
    __table_args__ = (sa.UniqueConstraint("warehouse_id", "product_id"),
                      sa.CheckConstraint("min_qty >= 0 AND max_qty >= min_qty AND multiple > 0", name="bounds"))

    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_warehouse.id"), nullable=False)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), nullable=False, index=True)
    min_qty: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    max_qty: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    multiple: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(1))
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    warehouse: Mapped[Warehouse] = relationship(lazy="joined")
    product = relationship("Product", lazy="joined")


class ProductCost(db.Model):
    """Moving average cost of a product in one warehouse (a store's cost is that store's),
    updated on every receipt with a value into the warehouse (supplier receipts, transfer
    receipts, restocked returns) and by revaluations."""
    __tablename__ = "warehouse_product_cost"

    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_warehouse.id"), primary_key=True)
    average_cost: Mapped[Decimal] = mapped_column(UnitPrice, nullable=False, default=Decimal(0))
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)

    product = relationship("Product", lazy="joined", viewonly=True)
    warehouse = relationship("Warehouse", lazy="joined", viewonly=True)


class Revaluation(db.Model):
    """A value-only line of the stock ledger (Odoo's valuation layer without quantity): the
    value of the stock on hand in a warehouse changed without goods moving, e.g. a vendor
    bill priced differently from the receipt. Append-only, like the moves."""
    __tablename__ = "warehouse_revaluation"
    __table_args__ = (sa.Index("ix_warehouse_revaluation_warehouse_date", "warehouse_id", "value_date"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), nullable=False)
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_warehouse.id"), nullable=False)
    value: Mapped[Decimal] = mapped_column(Money, nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)  # on hand it was spread over
    reason: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="price")
    source: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    value_date: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    user_id: Mapped[int | None] = mapped_column(sa.Integer)
    done_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)

    product = relationship("Product", lazy="joined", viewonly=True)
    warehouse = relationship("Warehouse", lazy="joined", viewonly=True)


class NegativeStock(IdMixin, db.Model):
    """A till sale that took a product's book stock below what was there: the goods left the
    shop, so the books are wrong somewhere (an unrecorded receipt, a mis-scan, theft). The
    store manager counts the product (``count_id``) and resolves the exception."""
    __tablename__ = "warehouse_negative_stock"
    __table_args__ = (sa.Index("ix_warehouse_negative_stock_store_state", "store_id", "state"),)

    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"), nullable=False)
    location_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_location.id"), nullable=False)
    warehouse_id: Mapped[int] = mapped_column(sa.ForeignKey("warehouse_warehouse.id"), nullable=False)
    store_id: Mapped[int | None] = mapped_column(sa.ForeignKey("store.id"))
    # how much the sale took beyond what was available
    quantity_short: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    # the on-hand quantity the sale left (negative, or below what is reserved)
    on_hand_after: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    source: Mapped[str | None] = mapped_column(sa.String(64))  # the sale's document (order number)
    state: Mapped[str] = mapped_column(sa.String(8), nullable=False, default=NEGATIVE_OPEN)
    count_id: Mapped[int | None] = mapped_column(sa.ForeignKey("warehouse_count.id"))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    resolved_by_id: Mapped[int | None] = mapped_column(sa.Integer)  # no FK: users may be deleted
    note: Mapped[str | None] = mapped_column(sa.String(256))

    product = relationship("Product", lazy="joined", viewonly=True)
    location: Mapped[Location] = relationship(lazy="joined", viewonly=True)
    warehouse: Mapped[Warehouse] = relationship(viewonly=True)
    store = relationship("Store", viewonly=True)
    count = relationship("Count", viewonly=True)

    def __str__(self):
        return f"#{self.id} {self.quantity_short} x product {self.product_id}"
