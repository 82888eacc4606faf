"""Master data: stores, partners, products and what describes them."""
from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.barcodes import barcode_problem
from core.cache import watch
from core.db import IdMixin, TimestampMixin, UnitPrice, db
from core.errors import ValidationError
from core.i18n import _
from core.models.audit import Audited

STORE_KINDS = ("shop", "dc")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,32}$")
_HOURS = re.compile(r"^(24/7|[A-Za-z0-9 ,:;+/-]+)$")


class InvalidValue(ValidationError, ValueError):
    """A field value a model refuses. A ``ValidationError`` (the API answers 422 naming the
    field) and a ``ValueError`` (the admin flashes the message next to the form)."""

    def __init__(self, field: str, message: str):
        super().__init__(message, field=field, errors=[{"field": field, "message": message}])
        self.field = field


def _text(field: str, value, label: str, required: bool = True, max_len: int | None = None):
    if value is None:
        if required:
            raise InvalidValue(field, _("%(label)s is required.", label=label))
        return None
    value = str(value).strip()
    if not value:
        if required:
            raise InvalidValue(field, _("%(label)s is required.", label=label))
        return None
    if max_len and len(value) > max_len:
        raise InvalidValue(field, _("%(label)s is too long (at most %(n)s characters).", label=label, n=max_len))
    return value


def _code(field: str, value, label: str, max_len: int):
    value = _text(field, value, label, max_len=max_len)
    if not _CODE.match(value):
        raise InvalidValue(field, _("%(label)s %(value)r may only contain letters, digits, '.', '_' and '-' "
                                    "(no spaces).", label=label, value=value))
    return value


def _decimal(field: str, value, label: str):
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise TypeError(f"{field} must be a Decimal, not float")
    try:
        value = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidValue(field, _("%(label)s must be a number, not %(value)r.", label=label, value=value)) from None
    if not value.is_finite():
        raise InvalidValue(field, _("%(label)s must be a number, not %(value)r.", label=label, value=str(value)))
    return value


def _country(key, value):
    if value in (None, ""):
        return None
    value = str(value).strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise InvalidValue(key, _("Country must be a two-letter code such as CN, not %(v)r.", v=value))
    return value


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

    @validates("code")
    def _check_code(self, key, value):
        return _code(key, value, _("Store code"), 16)

    @validates("name")
    def _check_name(self, key, value):
        return _text(key, value, _("Store name"), max_len=128)

    @validates("kind")
    def _check_kind(self, key, value):
        if value not in STORE_KINDS:
            raise InvalidValue(key, _("Store kind must be 'shop' or 'dc' (distribution centre), not %(v)r.", v=value))
        return value

    @validates("latitude", "longitude")
    def _check_coordinate(self, key, value):
        label = _("Latitude") if key == "latitude" else _("Longitude")
        value = _decimal(key, value, label)
        limit = 90 if key == "latitude" else 180
        if value is not None and not -limit <= value <= limit:
            raise InvalidValue(key, _("%(label)s must be between -%(n)s and %(n)s, not %(v)s.",
                                      label=label, n=limit, v=value))
        return value

    @validates("timezone")
    def _check_timezone(self, key, value):
        value = _text(key, value, _("Time zone"), max_len=64)
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise InvalidValue(key, _("%(v)r is not a known time zone; use a name like 'Asia/Shanghai'.",
                                      v=value)) from None
        return value

    @validates("opening_hours")
    def _check_hours(self, key, value):
        value = _text(key, value, _("Opening hours"), required=False, max_len=256)
        if value is not None and not _HOURS.match(value):
            raise InvalidValue(key, _("Opening hours %(v)r are not understood; write them like "
                                      "'Mo-Fr 09:00-21:00; Sa-Su 10:00-22:00'.", v=value))
        return value

    @validates("country")
    def _check_country(self, key, value):
        return _country(key, value)

    def __str__(self):
        return f"{self.code} {self.name}"


# core.timeutil.store_timezone(store_id) keeps each store's zone in the config cache
watch("store", columns={"timezone"}, new_rows=False)


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

    @validates("name")
    def _check_name(self, key, value):
        return _text(key, value, _("Name"), max_len=128)

    @validates("ref")
    def _check_ref(self, key, value):
        return _text(key, value, _("Reference"), required=False, max_len=32)

    @validates("email")
    def _check_email(self, key, value):
        value = _text(key, value, _("E-mail"), required=False, max_len=254)
        if value is not None and not _EMAIL.match(value):
            raise InvalidValue(key, _("%(v)r is not an e-mail address.", v=value))
        return value

    @validates("phone")
    def _check_phone(self, key, value):
        value = _text(key, value, _("Phone"), required=False, max_len=32)
        if value is not None and not _PHONE.match(value):
            raise InvalidValue(key, _("%(v)r is not a phone number (digits, spaces, + - ( ) only).", v=value))
        return value

    @validates("country")
    def _check_country(self, key, value):
        return _country(key, value)

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

    @validates("name")
    def _check_name(self, key, value):
        value = _text(key, value, _("Category name"), max_len=128)
        if "/" in value:
            raise InvalidValue(key, _("A category name cannot contain '/' (it separates levels in a "
                                      "category path): %(v)r.", v=value))
        return value

    @validates("parent")
    def _check_parent(self, key, value):
        node, seen = value, set()
        while node is not None and id(node) not in seen:
            if node is self:
                raise InvalidValue(key, _("A category cannot be placed under itself or one of its "
                                          "subcategories."))
            seen.add(id(node))
            node = node.parent
        return value

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


class Unit(IdMixin, Audited, db.Model):
    """A unit of measure; ``digits`` is how many decimals a quantity may have (0 for pieces)."""
    __tablename__ = "unit"

    code: Mapped[str] = mapped_column(sa.String(16), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    digits: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    @validates("code")
    def _check_code(self, key, value):
        return _code(key, value, _("Unit code"), 16)

    @validates("digits")
    def _check_digits(self, key, value):
        if value is None or not 0 <= int(value) <= 3:
            raise InvalidValue(key, _("A unit allows 0 to 3 decimals in quantities, not %(v)s.", v=value))
        return int(value)

    def __str__(self):
        return self.code


class Tax(IdMixin, Audited, db.Model):
    """A sales tax (VAT/GST); ``rate`` in percent, e.g. 13.0000."""
    __tablename__ = "tax"

    code: Mapped[str] = mapped_column(sa.String(16), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    rate: Mapped[Decimal] = mapped_column(sa.Numeric(7, 4), nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    @validates("code")
    def _check_code(self, key, value):
        return _code(key, value, _("Tax code"), 16)

    @validates("rate")
    def _check_rate(self, key, value):
        value = _decimal(key, value, _("Tax rate"))
        if value is None or not 0 <= value <= 100:
            raise InvalidValue(key, _("A tax rate is a percentage between 0 and 100, not %(v)s.", v=value))
        return value

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

    @validates("sku")
    def _check_sku(self, key, value):
        return _code(key, value, _("SKU"), 32)

    @validates("name")
    def _check_name(self, key, value):
        return _text(key, value, _("Product name"), max_len=256)

    @validates("barcode")
    def _check_barcode(self, key, value):
        if value is None or not str(value).strip():
            return None
        value = str(value).strip()
        problem = barcode_problem(value)
        if problem:
            raise InvalidValue(key, problem)
        return value

    @validates("list_price", "cost")
    def _check_amount(self, key, value):
        label = _("List price") if key == "list_price" else _("Cost")
        value = _decimal(key, value, label)
        if value is None:
            raise InvalidValue(key, _("%(label)s is required.", label=label))
        if value < 0:
            raise InvalidValue(key, _("%(label)s cannot be negative (%(v)s).", label=label, v=value))
        if value >= Decimal("1e10"):
            raise InvalidValue(key, _("%(label)s %(v)s is too large.", label=label, v=value))
        return value

    def __str__(self):
        return f"[{self.sku}] {self.name}"
