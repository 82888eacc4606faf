"""Money arithmetic for sales: currency precision from ISO 4217 (through Babel), half-up
rounding at the documented places only (line total, tax, order total) and cash rounding.

Amounts are stored in ``Amount`` columns: Numeric(14, 3) in the database, so the 3-decimal
currencies of ISO 4217 (KWD, BHD, ...) fit, and read back quantized to the company
currency's precision (0 decimals for JPY, 2 for CNY, 3 for KWD).
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision

from core.db import _ScaledDecimal

ZERO = Decimal("0")
HUNDRED = Decimal("100")


@lru_cache(maxsize=64)
def currency_precision(code: str) -> int:
    """Decimals of an ISO 4217 currency: CNY 2, JPY 0, KWD 3."""
    return get_currency_precision(code.upper())


def company_currency() -> str:
    try:
        from flask import current_app
        return current_app.config.get("CURRENCY", "CNY") or "CNY"
    except RuntimeError:  # no app context
        return "CNY"


def exponent(currency: str | None = None) -> Decimal:
    return Decimal(1).scaleb(-currency_precision(currency or company_currency()))


def round_money(value, currency: str | None = None) -> Decimal:
    """Round half up to the currency's precision."""
    return Decimal(value).quantize(exponent(currency), rounding=ROUND_HALF_UP)


def round_to_increment(value: Decimal, increment: Decimal) -> Decimal:
    """Round half up to a multiple of ``increment`` (cash rounding: 0.05, 0.10, 1, ...)."""
    if not increment:
        return value
    steps = (Decimal(value) / increment).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return (steps * increment).quantize(increment if increment.as_tuple().exponent < 0 else Decimal(1))


def to_decimal(value, what: str = "amount") -> Decimal:
    """A Decimal from a Decimal, int or numeric string; floats are refused."""
    if isinstance(value, float):
        raise TypeError(f"{what} must be a Decimal, not float")
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


class Amount(_ScaledDecimal):
    """An amount in the company currency (see the module docstring)."""
    scale = 3

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(str(value)).quantize(exponent(), rounding=ROUND_HALF_UP)
