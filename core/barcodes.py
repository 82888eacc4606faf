"""Barcode check digits: EAN-13, EAN-8, UPC-A (GS1 mod-10)."""
from __future__ import annotations


def gs1_check_digit(digits: str) -> int:
    """The GS1 check digit for the digits before it (weights 3,1,3,... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    """True for a well-formed EAN-13, UPC-A (12 digits) or EAN-8 with a correct check digit."""
    if not isinstance(code, str) or not code.isdigit() or len(code) not in (8, 12, 13):
        return False
    return gs1_check_digit(code[:-1]) == int(code[-1])


def barcode_problem(code: str) -> str | None:
    """Why ``code`` is not a valid barcode, in words for a clerk, or None when it is."""
    if not code.isdigit():
        return f"barcode {code!r} must contain digits only"
    if len(code) not in (8, 12, 13):
        return f"barcode {code!r} has {len(code)} digits; EAN-13 has 13, UPC-A 12, EAN-8 8"
    expected = gs1_check_digit(code[:-1])
    if expected != int(code[-1]):
        return f"barcode {code!r} has a wrong check digit (expected {expected})"
    return None


def make_ean13(body12: str) -> str:
    """Complete 12 digits into an EAN-13 with its check digit."""
    return body12 + str(gs1_check_digit(body12))
