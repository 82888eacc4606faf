"""Gift wrapping tables. Every table name starts with the addon name, ``giftwrap_``."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.db import IdMixin, Money, TimestampMixin, db
from core.models.audit import Audited
from core.models.master import Product


class GiftWrap(IdMixin, TimestampMixin, Audited, db.Model):
    """A wrapping paper (or box) a shop offers, with the fee it charges per item."""
    __tablename__ = "giftwrap_wrap"

    code: Mapped[str] = mapped_column(sa.String(16), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    fee: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal("0"))
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    @validates("fee")
    def _check_fee(self, _key, value):
        if value is not None and Decimal(value) < 0:
            raise ValueError("a gift wrap fee cannot be negative")
        return value

    def __str__(self):
        return f"{self.code} {self.name}"


class WrappedProduct(IdMixin, Audited, db.Model):
    """A product that is always sold gift-wrapped (a hamper, a gift box)."""
    __tablename__ = "giftwrap_product"

    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id", ondelete="CASCADE"),
                                            unique=True, nullable=False)
    wrap_id: Mapped[int] = mapped_column(sa.ForeignKey("giftwrap_wrap.id"), nullable=False, index=True)

    # One-directional: a third-party addon never adds attributes to core's models.
    product: Mapped[Product] = relationship(lazy="joined")
    wrap: Mapped[GiftWrap] = relationship(lazy="joined")

    def __str__(self):
        return f"{self.product} ({self.wrap.name if self.wrap else '?'})"
