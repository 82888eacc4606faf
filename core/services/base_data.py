"""Rows core cannot work without. Idempotent."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from core.models import Role, Sequence, Tax, Unit

UNITS = [("pc", "Piece", 0), ("kg", "Kilogram", 3), ("g", "Gram", 0), ("l", "Litre", 3), ("m", "Metre", 3),
         ("pack", "Pack", 0)]


def get_or_create(session, model, lookup: dict, **defaults):
    obj = session.scalar(sa.select(model).filter_by(**lookup))
    if obj is None:
        obj = model(**lookup, **defaults)
        session.add(obj)
        session.flush()
    return obj


def create_core_base_data(session) -> None:
    for code, name, digits in UNITS:
        get_or_create(session, Unit, {"code": code}, name=name, digits=digits)
    get_or_create(session, Tax, {"code": "VAT0"}, name="No tax (0%)", rate=Decimal("0"))
    admin = get_or_create(session, Role, {"code": "admin"}, name="Administrator")
    from core.auth.models import RolePermission
    if not any(p.code == "*" for p in admin.permissions):
        admin.permissions.append(RolePermission(code="*"))
    get_or_create(session, Sequence, {"code": "core.partner"}, name="Partner references",
                  pattern="P{number}", padding=6, reset="never")
