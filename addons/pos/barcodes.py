"""Scanned codes: EAN-13/UPC/EAN-8 by check digit, and in-store scale labels.

Scale labels (GS1 prefixes 20-29) embed a weight or a price. Their layout differs between
scales and countries, so it is a setting, ``POS_SCALE_BARCODE_LAYOUTS``: a list of
``{"prefixes": [...], "pattern": "PPIIIIIVVVVVC", "kind": "weight"|"price", "decimals": n}``
where in ``pattern`` P is the prefix, I the item code, V the embedded value, X an ignored
digit (a price check digit, say) and C the EAN check digit. The product of a label is the
one whose barcode is the label with the value (and X) digits zeroed, check digit recomputed
(how scales are usually set up), or else the one whose SKU is the item code.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.barcodes import barcode_problem, gs1_check_digit

DEFAULT_LAYOUTS = [
    {"prefixes": ["21", "22", "23", "24", "25"], "pattern": "PPIIIIIVVVVVC", "kind": "weight", "decimals": 3},
    {"prefixes": ["20", "26", "27", "28", "29"], "pattern": "PPIIIIIVVVVVC", "kind": "price", "decimals": 2},
]


@dataclass
class ScaleLabel:
    code: str
    template: str        # the product barcode: value digits zeroed, check digit recomputed
    item: str
    kind: str            # weight | price
    value: Decimal       # kilograms (weight) or an amount (price)


def check_layouts(layouts) -> None:
    for layout in layouts:
        pattern = layout.get("pattern", "")
        if len(pattern) != 13 or set(pattern) - set("PIVXC") or pattern[-1] != "C" or "V" not in pattern:
            raise ValueError(f"scale barcode pattern {pattern!r}: 13 letters of P, I, V, X ending in C")
        if layout.get("kind") not in ("weight", "price"):
            raise ValueError(f"scale barcode kind must be 'weight' or 'price', not {layout.get('kind')!r}")


def parse_scale_label(code: str, layouts) -> ScaleLabel | None:
    """The scale label in ``code``, or None if no layout applies. ``code`` must be valid."""
    if len(code) != 13 or not code.isdigit() or code[0] != "2":
        return None
    for layout in layouts or ():
        if not any(code.startswith(p) for p in layout.get("prefixes", ())):
            continue
        pattern = layout["pattern"]
        item = "".join(d for d, p in zip(code, pattern) if p == "I")
        value_digits = "".join(d for d, p in zip(code, pattern) if p == "V")
        body = "".join("0" if p in "VX" else d for d, p in zip(code[:12], pattern[:12]))
        value = Decimal(int(value_digits)).scaleb(-int(layout.get("decimals", 0)))
        return ScaleLabel(code, body + str(gs1_check_digit(body)), item, layout["kind"], value)
    return None


def code_problem(code: str) -> str | None:
    """Why a scanned numeric code cannot be a barcode (None when it can)."""
    return barcode_problem(code)
