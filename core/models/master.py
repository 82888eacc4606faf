"""Master data: stores, partners, products and what describes them."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.barcodes import barcode_problem
from core.db import IdMixin, TimestampMixin, UnitPrice, db
from core.models.audit import Audited


class Store(IdMixin, TimestampMixin, Audited, db.Model):
    """A shop of the chain (or a distribution centre, ``kind='dc'``)."""
    __tablename__ = "store"

    code: Mapped[str] = mapped_column(sa.String(16), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(8), nullable=False, default="shop")  # shop | dc
    street: Mapped[str | None] = mapped_column(sa.String(256))
    city: Mapped[str | None] = mapped_column(sa.String(128))
    postcode: Mapped[str | None] = mapped_column(sa.String(16))
    country: Mapped[str | None] = mapped_column(sa.String(2))  # ISO 3166-1 alpha-2
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    latitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 6))
    # e.g. "Mo-Fr 09:00-21:00; Sa-Su 10:00-22:00" (OpenStreetMap opening_hours syntax)
    opening_hours: Mapped[str | None] = mapped_column(sa.String(256))
    timezone: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="Asia/Shanghai")
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True, index=True)

    def __str__(self):
        return f"{self.code} {self.name}"


class Partner(IdMixin, TimestampMixin, Audited, db.Model):
    """A customer, a supplier, or both."""
    __tablename__ = "partner"

    ref: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(128), nullable=False, index=True)
    is_customer: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False, index=True)
    is_supplier: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False, index=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    street: Mapped[str | None] = mapped_column(sa.String(256))
    city: Mapped[str | None] = mapped_column(sa.String(128))
    postcode: Mapped[str | None] = mapped_column(sa.String(16))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    tax_id: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    def __str__(self):
        return self.name


class Category(IdMixin, Audited, db.Model):
    """A product category; categories form a tree through ``parent``."""
    __tablename__ = "product_category"
    __table_args__ = (sa.UniqueConstraint("parent_id", "name"),)

    name: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("product_category.id"), index=True)
    parent: Mapped["Category | None"] = relationship(remote_side="Category.id", back_populates="children")
    children: Mapped[list["Category"]] = relationship(back_populates="parent")

    @property
    def full_name(self) -> str:
        names, node, seen = [], self, set()
        while node is not None and node.id not in seen:
            seen.add(node.id)
            names.append(node.name)
            node = node.parent
        return " / ".join(reversed(names))

    def __str__(self):
        return self.full_name


class Unit(IdMixin, db.Model):
    """A unit of measure; ``digits`` is how many decimals a quantity may have (0 for pieces)."""
    __tablename__ = "unit"

    code: Mapped[str] = mapped_column(sa.String(16), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    digits: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    def __str__(self):
        return self.code


class Tax(IdMixin, Audited, db.Model):
    """A sales tax (VAT/GST); ``rate`` in percent, e.g. 13.0000."""
    __tablename__ = "tax"

    code: Mapped[str] = mapped_column(sa.String(16), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    rate: Mapped[Decimal] = mapped_column(sa.Numeric(7, 4), nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    def __str__(self):
        return self.name


class Product(IdMixin, TimestampMixin, Audited, db.Model):
    """A sellable or stockable item. ``list_price`` is tax-inclusive (the shelf price)."""
    __tablename__ = "product"

    sku: Mapped[str] = mapped_column(sa.String(32), unique=True, nullable=False)
    barcode: Mapped[str | None] = mapped_column(sa.String(14), unique=True)
    name: Mapped[str] = mapped_column(sa.String(256), nullable=False, index=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("product_category.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), nullable=False)
    tax_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tax.id"))
    list_price: Mapped[Decimal] = mapped_column(UnitPrice, nullable=False, default=Decimal("0"))
    cost: Mapped[Decimal] = mapped_column(UnitPrice, nullable=False, default=Decimal("0"))
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True, index=True)
    image: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    image_mimetype: Mapped[str | None] = mapped_column(sa.String(32))

    category: Mapped[Category | None] = relationship(lazy="joined")
    unit: Mapped[Unit] = relationship(lazy="joined")
    tax: Mapped[Tax | None] = relationship(lazy="joined")

    @validates("barcode")
    def _check_barcode(self, _key, value):
        if value in (None, ""):
            return None
        value = value.strip()
        problem = barcode_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @validates("list_price", "cost")
    def _check_amount(self, key, value):
        if value is None:
            return value
        if isinstance(value, float):
            raise TypeError(f"{key} must be a Decimal, not float")
        value = Decimal(value)
        if value < 0:
            raise ValueError(f"{key.replace('_', ' ')} cannot be negative")
        return value

    def __str__(self):
        return f"[{self.sku}] {self.name}"
