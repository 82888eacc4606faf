"""Barcode check digits: EAN-13, EAN-8, UPC-A (GS1 mod-10)."""
from __future__ import annotations


def gs1_check_digit(digits: str) -> int:
    """The GS1 check digit for the digits before it (weights 3,1,3,... from the right)."""
    backwards = digits[::-1]
    total = 3 * sum(map(int, backwards[0::2])) + sum(map(int, backwards[1::2]))
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    """True for a well-formed EAN-13, UPC-A (12 digits) or EAN-8 with a correct check digit."""
    if not isinstance(code, str) or not code.isdigit() or len(code) not in (8, 12, 13):
        return False
    return gs1_check_digit(code[:-1]) == int(code[-1])


def barcode_problem(code: str) -> str | None:
    """Why ``code`` is not a valid barcode, in words for a clerk, or None when it is."""
    from core.i18n import _
    if not code.isdigit():
        return _("The barcode %(code)s may contain digits only.", code=code)
    if len(code) not in (8, 12, 13):
        return _("The barcode %(code)s has %(n)s digits; an EAN-13 has 13, a UPC-A 12 and an EAN-8 8.",
                 code=code, n=len(code))
    expected = gs1_check_digit(code[:-1])
    if expected != int(code[-1]):
        return _("The barcode %(code)s has a wrong check digit: the last digit should be %(d)s. "
                 "Check the number on the package.", code=code, d=expected)
    return None


def make_ean13(body12: str) -> str:
    """Complete 12 digits into an EAN-13 with its check digit."""
    return body12 + str(gs1_check_digit(body12))
