"""The public Python API of the giftwrap addon: the only module another addon may import.

Services never commit: the caller (an API endpoint, a CLI command, an admin form) owns the
transaction. Errors a clerk can act on are ``core.errors`` exceptions.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from core.db import db
from core.errors import Conflict, NotFound, ValidationError
from core.i18n import _
from core.models.master import Product
from o2o_giftwrap.models import GiftWrap, WrappedProduct

STANDARD_CODE = "STD"


def _fee(value) -> Decimal:
    try:
        fee = Decimal(str(value))
        if not fee.is_finite():
            raise ValueError(value)
    except (InvalidOperation, ValueError):
        raise ValidationError(_("The gift wrap fee %(fee)s is not a number.", fee=value)) from None
    if fee < 0:
        raise ValidationError(_("A gift wrap fee cannot be negative (got %(fee)s).", fee=value))
    if fee != fee.quantize(Decimal("0.01")):
        raise ValidationError(_("A gift wrap fee has at most two decimals (got %(fee)s).", fee=value))
    return fee.quantize(Decimal("0.01"))


def ensure_standard_wrap(session, fee) -> GiftWrap:
    """Base data: the 'Standard paper' wrap. Idempotent (enabling again adds nothing)."""
    wrap = session.scalar(sa.select(GiftWrap).where(GiftWrap.code == STANDARD_CODE))
    if wrap is None:
        wrap = GiftWrap(code=STANDARD_CODE, name="Standard paper", fee=_fee(fee))
        session.add(wrap)
        session.flush()
    return wrap


def active_wraps(session=None) -> list[GiftWrap]:
    session = session or db.session
    return list(session.scalars(sa.select(GiftWrap).where(GiftWrap.active.is_(True)).order_by(GiftWrap.code)))


def create_wrap(code: str, name: str, fee, session=None) -> GiftWrap:
    session = session or db.session
    code = code.strip().upper()
    if not code or not name.strip():
        raise ValidationError(_("A gift wrap needs a code and a name."))
    if session.scalar(sa.select(GiftWrap.id).where(GiftWrap.code == code)) is not None:
        raise Conflict(_("There is already a gift wrap with the code %(code)s.", code=code))
    wrap = GiftWrap(code=code, name=name.strip(), fee=_fee(fee))
    session.add(wrap)
    session.flush()
    return wrap


def wrap_product(product: Product, wrap_code: str, session=None) -> WrappedProduct:
    """Sell ``product`` gift-wrapped in the wrap ``wrap_code`` from now on."""
    session = session or db.session
    wrap = session.scalar(sa.select(GiftWrap).where(GiftWrap.code == wrap_code))
    if wrap is None:
        raise NotFound(_("There is no gift wrap with the code %(code)s.", code=wrap_code))
    if not wrap.active:
        raise ValidationError(_("The gift wrap %(wrap)s is no longer offered; choose another one for %(product)s.",
                                wrap=wrap.name, product=product.name))
    row = session.scalar(sa.select(WrappedProduct).where(WrappedProduct.product_id == product.id))
    if row is None:
        row = WrappedProduct(product_id=product.id, wrap=wrap)
        session.add(row)
    else:
        row.wrap = wrap
    session.flush()
    return row


def wrap_fee(product, session=None) -> Decimal:
    """The gift wrap fee added to ``product``'s price (0 when it is not sold gift-wrapped)."""
    if product is None or getattr(product, "id", None) is None:
        return Decimal("0")
    session = session or db.session
    fee = session.scalar(sa.select(GiftWrap.fee).join(WrappedProduct, WrappedProduct.wrap_id == GiftWrap.id)
                         .where(WrappedProduct.product_id == product.id, GiftWrap.active.is_(True)))
    return fee if fee is not None else Decimal("0")


def add_wrap_fee(product, price):
    """The pricing wrapper's work: the price computed so far plus the wrap fee."""
    if price is None:
        return None
    return price + wrap_fee(product)


def load_demo(session) -> None:
    for code, name, fee in [("RED", "Red paper with gold ribbon", "8.00"),
                            ("BOX", "Gift box", "15.00")]:
        if session.scalar(sa.select(GiftWrap.id).where(GiftWrap.code == code)) is None:
            session.add(GiftWrap(code=code, name=name, fee=Decimal(fee)))
    session.flush()
