"""Master-data endpoints: stores, partners, products, product lookup by barcode."""
from __future__ import annotations

from decimal import Decimal

import pydantic
import sqlalchemy as sa

from core.api import ApiBlueprint, Page, paginate
from core.db import db
from core.errors import NotFound
from core.models import Product, Store


class ProductOut(pydantic.BaseModel):
    id: int
    sku: str
    barcode: str | None
    name: str
    category: str | None
    unit: str
    list_price: Decimal
    tax_rate: Decimal | None
    active: bool


def product_out(p: Product) -> ProductOut:
    return ProductOut(id=p.id, sku=p.sku, barcode=p.barcode, name=p.name,
                      category=p.category.full_name if p.category else None, unit=p.unit.code,
                      list_price=p.list_price, tax_rate=p.tax.rate if p.tax else None, active=p.active)


class StoreOut(pydantic.BaseModel):
    id: int
    code: str
    name: str
    kind: str
    city: str | None
    timezone: str
    active: bool


def blueprint() -> ApiBlueprint:
    bp = ApiBlueprint("core_api", __name__)

    @bp.endpoint("/products/barcode/<code>", permission="core.product.read", response=ProductOut,
                 summary="Find a product by its barcode")
    def product_by_barcode(code: str):
        product = db.session.scalar(sa.select(Product).where(Product.barcode == code))
        if product is None:
            raise NotFound(f"no product has the barcode {code!r}", barcode=code)
        return product_out(product)

    @bp.endpoint("/stores", permission="core.store.read", query=Page, summary="List stores")
    def list_stores(query: Page):
        return paginate(sa.select(Store).order_by(Store.code), query,
                        lambda s: StoreOut.model_validate(s, from_attributes=True))

    return bp
