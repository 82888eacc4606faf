"""JSON API routes, mounted under /api/v1/giftwrap. ApiBlueprint.endpoint authenticates the
token, checks the permission, validates the body, commits (or rolls back) and documents the
route in /api/v1/openapi.json."""
from __future__ import annotations

from decimal import Decimal

import pydantic

from core.api import ApiBlueprint
from o2o_giftwrap import services


class WrapOut(pydantic.BaseModel):
    code: str
    name: str
    fee: Decimal
    active: bool

    model_config = pydantic.ConfigDict(from_attributes=True)


class WrapIn(pydantic.BaseModel):
    code: str = pydantic.Field(min_length=1, max_length=16)
    name: str = pydantic.Field(min_length=1, max_length=64)
    fee: Decimal = pydantic.Field(ge=0, max_digits=14, decimal_places=2)


def blueprint() -> ApiBlueprint:
    bp = ApiBlueprint("giftwrap", __name__, url_prefix="/giftwrap")

    @bp.endpoint("/wraps", methods=["GET"], permission="giftwrap.wrap.read", response=list[WrapOut])
    def list_wraps():
        """The gift wraps on offer."""
        return [WrapOut.model_validate(w) for w in services.active_wraps()]

    @bp.endpoint("/wraps", methods=["POST"], permission="giftwrap.wrap.create", body=WrapIn,
                 response=WrapOut, status=201)
    def create_wrap(body: WrapIn):
        """Offer a new gift wrap."""
        return WrapOut.model_validate(services.create_wrap(body.code, body.name, body.fee))

    return bp
