"""Master-data endpoints: stores, partners, products, product lookup by barcode."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import pydantic
import sqlalchemy as sa
from flask import g

from core.api import ApiBlueprint, Page, RowId, contains, decimal_of, decimal_type, page_of, paginate
from core.db import UnitPrice, db
from core.errors import NotFound
from core.models import Category, Partner, Product, Store, Tax
from core.services import master as svc

Str = Annotated[str, pydantic.StringConstraints(strip_whitespace=True)]
Price = decimal_of(UnitPrice, ge=0)  # list price, cost: the UnitPrice columns


class _In(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


# --- schemas ---------------------------------------------------------------------------

class StoreOut(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    kind: str = pydantic.Field(description="'shop' or 'dc' (distribution centre)")
    street: str | None
    city: str | None
    postcode: str | None
    country: str | None
    phone: str | None
    latitude: Decimal | None
    longitude: Decimal | None
    opening_hours: str | None = pydantic.Field(description="OpenStreetMap opening_hours syntax")
    timezone: str
    active: bool


class StoreQuery(Page):
    q: str | None = pydantic.Field(None, description="code, name or city contains")
    kind: str | None = pydantic.Field(None, description="shop or dc")
    active: bool | None = None


StoreCode = Annotated[Str, pydantic.Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Latitude = decimal_type(9, 6, ge=-90, le=90)
Longitude = decimal_type(9, 6, ge=-180, le=180)


class StoreIn(_In):
    code: StoreCode
    name: Annotated[Str, pydantic.Field(min_length=1, max_length=128)]
    kind: Literal["shop", "dc"] = pydantic.Field("shop", description="'shop' or 'dc' (distribution centre)")
    street: Annotated[Str, pydantic.Field(max_length=256)] | None = None
    city: Annotated[Str, pydantic.Field(max_length=128)] | None = None
    postcode: Annotated[Str, pydantic.Field(max_length=16)] | None = None
    country: Annotated[Str, pydantic.Field(min_length=2, max_length=2)] | None = None
    phone: Annotated[Str, pydantic.Field(max_length=32)] | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    opening_hours: Annotated[Str, pydantic.Field(max_length=256)] | None = pydantic.Field(
        None, description="OpenStreetMap opening_hours syntax, e.g. 'Mo-Fr 09:00-21:00; Sa-Su 10:00-22:00'")
    timezone: Annotated[Str, pydantic.Field(min_length=1, max_length=64)] = pydantic.Field(
        "Asia/Shanghai", description="IANA time zone: the store's business dates and times follow it")
    active: bool = True


class StorePatch(StoreIn):
    """Only the fields sent are changed."""
    code: StoreCode | None = None  # type: ignore[assignment]
    name: Annotated[Str, pydantic.Field(min_length=1, max_length=128)] | None = None  # type: ignore[assignment]
    kind: Literal["shop", "dc"] | None = None  # type: ignore[assignment]
    timezone: Annotated[Str, pydantic.Field(min_length=1, max_length=64)] | None = None  # type: ignore[assignment]
    active: bool | None = None  # type: ignore[assignment]


class TaxOut(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    rate: Decimal = pydantic.Field(description="percent, e.g. 13.0000")
    active: bool


Rate = decimal_type(7, 4, ge=0, le=100)  # percent


class TaxIn(_In):
    code: StoreCode
    name: Annotated[Str, pydantic.Field(min_length=1, max_length=64)]
    rate: Rate
    active: bool = True


class TaxPatch(TaxIn):
    """Only the fields sent are changed."""
    code: StoreCode | None = None  # type: ignore[assignment]
    name: Annotated[Str, pydantic.Field(min_length=1, max_length=64)] | None = None  # type: ignore[assignment]
    rate: Rate | None = None  # type: ignore[assignment]
    active: bool | None = None  # type: ignore[assignment]


class TaxQuery(Page):
    q: str | None = pydantic.Field(None, max_length=64, description="code or name contains")
    active: bool | None = None


class PartnerOut(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(from_attributes=True)
    id: int
    ref: str | None
    name: str
    is_customer: bool
    is_supplier: bool
    email: str | None
    phone: str | None
    street: str | None
    city: str | None
    postcode: str | None
    country: str | None
    tax_id: str | None
    active: bool


class PartnerIn(_In):
    ref: Annotated[Str, pydantic.Field(max_length=32)] | None = pydantic.Field(
        None, description="left out: the next number of sequence core.partner")
    name: Annotated[Str, pydantic.Field(min_length=1, max_length=128)]
    is_customer: bool = False
    is_supplier: bool = False
    email: Annotated[Str, pydantic.Field(max_length=254)] | None = None
    phone: Annotated[Str, pydantic.Field(max_length=32)] | None = None
    street: Annotated[Str, pydantic.Field(max_length=256)] | None = None
    city: Annotated[Str, pydantic.Field(max_length=128)] | None = None
    postcode: Annotated[Str, pydantic.Field(max_length=16)] | None = None
    country: Annotated[Str, pydantic.Field(min_length=2, max_length=2)] | None = None
    tax_id: Annotated[Str, pydantic.Field(max_length=32)] | None = None
    active: bool = True


class PartnerPatch(PartnerIn):
    """Only the fields sent are changed."""
    name: Annotated[Str, pydantic.Field(min_length=1, max_length=128)] | None = None  # type: ignore[assignment]
    is_customer: bool | None = None  # type: ignore[assignment]
    is_supplier: bool | None = None  # type: ignore[assignment]
    active: bool | None = None  # type: ignore[assignment]


class PartnerQuery(Page):
    q: str | None = pydantic.Field(None, description="name, reference, e-mail or phone contains")
    is_customer: bool | None = None
    is_supplier: bool | None = None
    active: bool | None = None


class ProductOut(pydantic.BaseModel):
    id: int
    sku: str
    barcode: str | None
    name: str
    description: str | None
    category_id: int | None
    category: str | None = pydantic.Field(description="category path, e.g. 'Food / Dairy'")
    unit: str
    tax: str | None
    tax_rate: Decimal | None = pydantic.Field(description="percent")
    list_price: Decimal = pydantic.Field(description="tax-inclusive shelf price")
    cost: Decimal
    active: bool


def product_out(p: Product) -> ProductOut:
    return ProductOut(id=p.id, sku=p.sku, barcode=p.barcode, name=p.name, description=p.description,
                      category_id=p.category_id, category=p.category.full_name if p.category else None,
                      unit=p.unit.code, tax=p.tax.code if p.tax else None,
                      tax_rate=p.tax.rate if p.tax else None, list_price=p.list_price, cost=p.cost,
                      active=p.active)


class ProductIn(_In):
    sku: Annotated[Str, pydantic.Field(min_length=1, max_length=32)]
    barcode: Annotated[Str, pydantic.Field(max_length=14)] | None = pydantic.Field(
        None, description="EAN-13, UPC-A or EAN-8 with a correct check digit")
    name: Annotated[Str, pydantic.Field(min_length=1, max_length=256)]
    description: str | None = None
    category_id: RowId | None = None
    category: Str | None = pydantic.Field(None, description="category path, e.g. 'Food / Dairy' "
                                                            "(instead of category_id)")
    unit: Annotated[Str, pydantic.Field(min_length=1, max_length=16)] = pydantic.Field(
        description="unit code, e.g. 'pc'")
    tax: Str | None = pydantic.Field(None, description="tax code, e.g. 'VAT13'")
    list_price: Price = Decimal("0")
    cost: Price = Decimal("0")
    active: bool = True


class ProductPatch(ProductIn):
    """Only the fields sent are changed."""
    sku: Annotated[Str, pydantic.Field(min_length=1, max_length=32)] | None = None  # type: ignore[assignment]
    name: Annotated[Str, pydantic.Field(min_length=1, max_length=256)] | None = None  # type: ignore[assignment]
    unit: Annotated[Str, pydantic.Field(min_length=1, max_length=16)] | None = None  # type: ignore[assignment]
    list_price: Price | None = None  # type: ignore[assignment]
    cost: Price | None = None  # type: ignore[assignment]
    active: bool | None = None  # type: ignore[assignment]


class ProductQuery(Page):
    q: str | None = pydantic.Field(None, description="SKU or barcode equals, or name contains")
    category_id: RowId | None = pydantic.Field(None, description="this category and its subcategories")
    active: bool | None = None


class CategoryOut(pydantic.BaseModel):
    id: int
    name: str
    parent_id: int | None
    path: str = pydantic.Field(description="the full path, e.g. 'Food / Dairy'")


CategoryName = Annotated[Str, pydantic.Field(min_length=1, max_length=128, pattern=r"^[^/]*$",
                                             description="no '/' (it separates levels in a path)")]
CategoryId = RowId


class CategoryIn(_In):
    name: CategoryName
    parent_id: CategoryId | None = pydantic.Field(None, description="left out or null: a top-level category")


class CategoryPatch(_In):
    """Only the fields sent are changed; ``parent_id`` null moves the category to the top level."""
    name: CategoryName | None = None
    parent_id: CategoryId | None = None


class CategoryQuery(Page):
    q: str | None = pydantic.Field(None, max_length=128, description="name contains")
    parent_id: RowId | None = pydantic.Field(None, description="only the direct children of this category")
    top_level: bool | None = pydantic.Field(None, description="true: only categories without a parent")


def _category_out(paths: dict[int, str]):
    return lambda c: CategoryOut(id=c.id, name=c.name, parent_id=c.parent_id, path=paths.get(c.id, c.name))


def _paths() -> dict[int, str]:
    return {cid: path for path, cid in svc.category_paths().items()}


def _not_null(data: dict, *keys) -> dict:
    """PATCH: an explicit null for a required field means 'leave it' is wrong; refuse it."""
    for key in keys:
        if key in data and data[key] is None:
            from core.models.master import InvalidValue
            raise InvalidValue(key, f"{key} cannot be null")
    return data


def _descendants(category_id: int) -> list[int]:
    rows = db.session.execute(sa.select(Category.id, Category.parent_id)).all()
    children: dict = {}
    for cid, parent in rows:
        children.setdefault(parent, []).append(cid)
    out, todo = [], [category_id]
    while todo:
        cid = todo.pop()
        if cid in out:
            continue
        out.append(cid)
        todo.extend(children.get(cid, []))
    return out


# --- routes ----------------------------------------------------------------------------

def blueprint() -> ApiBlueprint:
    bp = ApiBlueprint("core_api", __name__)

    # stores --------------------------------------------------------------------------
    @bp.endpoint("/stores", permission="core.store.read", query=StoreQuery, response=page_of(StoreOut),
                 summary="List the stores you may see", tags=["stores"])
    def list_stores(query: StoreQuery):
        stmt = svc.visible_stores(g.api_user, sa.select(Store)).order_by(Store.code)
        if query.q:
            stmt = stmt.where(contains(query.q, Store.code, Store.name, Store.city))
        if query.kind:
            stmt = stmt.where(Store.kind == query.kind)
        if query.active is not None:
            stmt = stmt.where(Store.active == query.active)
        return paginate(stmt, query, lambda s: StoreOut.model_validate(s))

    @bp.endpoint("/stores/<int:store_id>", permission="core.store.read", response=StoreOut,
                 summary="Get a store", tags=["stores"])
    def get_store(store_id: int):
        store = db.session.scalar(svc.visible_stores(g.api_user).where(Store.id == store_id))
        if store is None:  # another store than the user's looks the same as none at all
            raise NotFound(f"There is no store with id {store_id}.")
        return StoreOut.model_validate(store)

    @bp.endpoint("/stores", methods=["POST"], permission="core.store.create", body=StoreIn, response=StoreOut,
                 status=201, summary="Create a shop or distribution centre", tags=["stores"])
    def create_store(body: StoreIn):
        return StoreOut.model_validate(svc.create_store(body.model_dump(), user=g.api_user))

    @bp.endpoint("/stores/<int:store_id>", methods=["PATCH"], permission="core.store.edit", body=StorePatch,
                 response=StoreOut, summary="Change a store (its time zone too)", tags=["stores"])
    def update_store(store_id: int, body: StorePatch):
        store = db.session.scalar(svc.visible_stores(g.api_user).where(Store.id == store_id))
        if store is None:
            raise NotFound(f"There is no store with id {store_id}.")
        data = _not_null(body.model_dump(exclude_unset=True), "code", "name", "kind", "timezone", "active")
        return StoreOut.model_validate(svc.update_store(store, data))

    # taxes ---------------------------------------------------------------------------
    @bp.endpoint("/taxes", permission="core.tax.read", query=TaxQuery, response=page_of(TaxOut),
                 summary="List taxes", tags=["taxes"])
    def list_taxes(query: TaxQuery):
        stmt = sa.select(Tax).order_by(Tax.code)
        if query.q:
            stmt = stmt.where(contains(query.q, Tax.code, Tax.name))
        if query.active is not None:
            stmt = stmt.where(Tax.active == query.active)
        return paginate(stmt, query, lambda t: TaxOut.model_validate(t))

    @bp.endpoint("/taxes/<int:tax_id>", permission="core.tax.read", response=TaxOut, summary="Get a tax",
                 tags=["taxes"])
    def get_tax(tax_id: int):
        return TaxOut.model_validate(svc.get_or_404(Tax, tax_id, "tax"))

    @bp.endpoint("/taxes", methods=["POST"], permission="core.tax.create", body=TaxIn, response=TaxOut,
                 status=201, summary="Create a tax", tags=["taxes"])
    def create_tax(body: TaxIn):
        return TaxOut.model_validate(svc.create_tax(body.model_dump()))

    @bp.endpoint("/taxes/<int:tax_id>", methods=["PATCH"], permission="core.tax.edit", body=TaxPatch,
                 response=TaxOut, summary="Change a tax (a new rate applies to sales from now on)", tags=["taxes"])
    def update_tax(tax_id: int, body: TaxPatch):
        tax = svc.get_or_404(Tax, tax_id, "tax")
        data = _not_null(body.model_dump(exclude_unset=True), "code", "name", "rate", "active")
        return TaxOut.model_validate(svc.update_tax(tax, data))

    @bp.endpoint("/taxes/<int:tax_id>/archive", methods=["POST"], permission="core.tax.edit", response=TaxOut,
                 summary="Archive a tax: kept for what names it, offered no more", tags=["taxes"])
    def archive_tax(tax_id: int):
        return TaxOut.model_validate(svc.archive_tax(svc.get_or_404(Tax, tax_id, "tax")))

    # partners ------------------------------------------------------------------------
    @bp.endpoint("/partners", permission="core.partner.read", query=PartnerQuery, response=page_of(PartnerOut),
                 summary="List customers and suppliers", tags=["partners"])
    def list_partners(query: PartnerQuery):
        stmt = sa.select(Partner).order_by(Partner.name, Partner.id)
        if query.q:
            stmt = stmt.where(contains(query.q, Partner.name, Partner.ref, Partner.email, Partner.phone))
        for flag in ("is_customer", "is_supplier", "active"):
            value = getattr(query, flag)
            if value is not None:
                stmt = stmt.where(getattr(Partner, flag) == value)
        return paginate(stmt, query, lambda p: PartnerOut.model_validate(p))

    @bp.endpoint("/partners/<int:partner_id>", permission="core.partner.read", response=PartnerOut,
                 summary="Get a customer or supplier", tags=["partners"])
    def get_partner(partner_id: int):
        return PartnerOut.model_validate(svc.get_or_404(Partner, partner_id, "customer or supplier"))

    @bp.endpoint("/partners", methods=["POST"], permission="core.partner.create", body=PartnerIn,
                 response=PartnerOut, status=201, summary="Create a customer or supplier", tags=["partners"])
    def create_partner(body: PartnerIn):
        return PartnerOut.model_validate(svc.create_partner(body.model_dump()))

    @bp.endpoint("/partners/<int:partner_id>", methods=["PATCH"], permission="core.partner.edit",
                 body=PartnerPatch, response=PartnerOut, summary="Change a customer or supplier",
                 tags=["partners"])
    def update_partner(partner_id: int, body: PartnerPatch):
        partner = svc.get_or_404(Partner, partner_id, "customer or supplier")
        data = _not_null(body.model_dump(exclude_unset=True), "name", "is_customer", "is_supplier", "active")
        return PartnerOut.model_validate(svc.update_partner(partner, data))

    # categories ----------------------------------------------------------------------
    @bp.endpoint("/categories", permission="core.category.read", query=CategoryQuery,
                 response=page_of(CategoryOut), summary="List product categories with their paths",
                 tags=["categories"])
    def list_categories(query: CategoryQuery):
        stmt = sa.select(Category).order_by(Category.name, Category.id)
        if query.q:
            stmt = stmt.where(contains(query.q, Category.name))
        if query.parent_id is not None:
            stmt = stmt.where(Category.parent_id == query.parent_id)
        if query.top_level is not None:
            stmt = stmt.where(Category.parent_id.is_(None) if query.top_level else Category.parent_id.is_not(None))
        return paginate(stmt, query, _category_out(_paths()))

    @bp.endpoint("/categories/<int:category_id>", permission="core.category.read", response=CategoryOut,
                 summary="Get a product category", tags=["categories"])
    def get_category(category_id: int):
        return _category_out(_paths())(svc.get_or_404(Category, category_id, "category"))

    @bp.endpoint("/categories", methods=["POST"], permission="core.category.create", body=CategoryIn,
                 response=CategoryOut, status=201, summary="Create a product category", tags=["categories"])
    def create_category(body: CategoryIn):
        category = svc.create_category(body.model_dump())
        return _category_out(_paths())(category)

    @bp.endpoint("/categories/<int:category_id>", methods=["PATCH"], permission="core.category.edit",
                 body=CategoryPatch, response=CategoryOut,
                 summary="Rename a category or move it under another (never under itself)", tags=["categories"])
    def update_category(category_id: int, body: CategoryPatch):
        category = svc.get_or_404(Category, category_id, "category")
        data = _not_null(body.model_dump(exclude_unset=True), "name")
        category = svc.update_category(category, data)
        return _category_out(_paths())(category)

    # products ------------------------------------------------------------------------
    @bp.endpoint("/products", permission="core.product.read", query=ProductQuery, response=page_of(ProductOut),
                 summary="List and search products", tags=["products"])
    def list_products(query: ProductQuery):
        stmt = sa.select(Product).order_by(Product.sku)
        if query.q:
            text = query.q.strip()
            stmt = stmt.where(sa.or_(Product.sku == text, Product.barcode == text, contains(text, Product.name)))
        if query.category_id is not None:
            stmt = stmt.where(Product.category_id.in_(_descendants(query.category_id)))
        if query.active is not None:
            stmt = stmt.where(Product.active == query.active)
        return paginate(stmt, query, product_out)

    @bp.endpoint("/products/<int:product_id>", permission="core.product.read", response=ProductOut,
                 summary="Get a product", tags=["products"])
    def get_product(product_id: int):
        return product_out(svc.get_or_404(Product, product_id, "product"))

    @bp.endpoint("/products/barcode/<code>", permission="core.product.read", response=ProductOut,
                 summary="Find a product by its barcode", tags=["products"])
    def product_by_barcode(code: str):
        return product_out(svc.product_by_barcode(code))

    @bp.endpoint("/products", methods=["POST"], permission="core.product.create", body=ProductIn,
                 response=ProductOut, status=201, summary="Create a product", tags=["products"])
    def create_product(body: ProductIn):
        data = body.model_dump(exclude_unset=True)
        data.setdefault("unit", body.unit)
        return product_out(svc.create_product(data))

    @bp.endpoint("/products/<int:product_id>", methods=["PATCH"], permission="core.product.edit",
                 body=ProductPatch, response=ProductOut, summary="Change a product", tags=["products"])
    def update_product(product_id: int, body: ProductPatch):
        product = svc.get_or_404(Product, product_id, "product")
        data = _not_null(body.model_dump(exclude_unset=True), "sku", "name", "unit", "list_price", "cost", "active")
        return product_out(svc.update_product(product, data))

    return bp
