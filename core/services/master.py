"""Master-data services: create and change partners and products, find categories by path.

Shared by the API, the admin and the CSV import. Never commits. Errors a clerk can act on
are ``ValidationError`` (422, naming the field) or ``Conflict`` (409: a SKU or barcode
another product already has).
"""
from __future__ import annotations

import sqlalchemy as sa

from core.db import db
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.i18n import _
from core.models import Category, Partner, Product, Store, Tax, Unit
from core.models.master import InvalidValue

PRODUCT_FIELDS = ("sku", "barcode", "name", "description", "list_price", "cost", "active")
PARTNER_FIELDS = ("ref", "name", "is_customer", "is_supplier", "email", "phone", "street", "city",
                  "postcode", "country", "tax_id", "active")


def _session(session):
    return session if session is not None else db.session


# --- categories ------------------------------------------------------------------------

def split_category_path(path: str) -> list[str]:
    return [part.strip() for part in (path or "").split("/") if part.strip()]


def category_by_path(path: str, *, create: bool = False, session=None) -> Category | None:
    """The category ``"Food / Dairy"`` (None for an empty path). With ``create`` missing
    levels are created; without, an unknown path is a ValidationError."""
    session = _session(session)
    parent = None
    for name in split_category_path(path):
        stmt = sa.select(Category).where(Category.name == name)
        stmt = stmt.where(Category.parent_id.is_(None) if parent is None else Category.parent_id == parent.id)
        node = session.scalars(stmt).first()
        if node is None:
            if not create:
                raise InvalidValue("category", _("There is no category %(path)r.", path=path))
            node = Category(name=name, parent=parent)
            session.add(node)
            session.flush()
        parent = node
    return parent


def category_paths(session=None) -> dict[str, int]:
    """Every category's full path (``"Food / Dairy"``) -> id, in one query."""
    session = _session(session)
    rows = session.execute(sa.select(Category.id, Category.name, Category.parent_id)).all()
    by_id = {r.id: r for r in rows}
    out = {}
    for r in rows:
        names, node, guard = [], r, 0
        while node is not None and guard < 100:
            names.append(node.name)
            node = by_id.get(node.parent_id)
            guard += 1
        out[" / ".join(reversed(names))] = r.id
    return out


def _check_category_unique(session, category: Category) -> None:
    parent_id = category.parent.id if category.parent is not None else None
    stmt = sa.select(Category).where(Category.name == category.name, Category.id != (category.id or -1))
    stmt = stmt.where(Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id)
    if session.scalar(stmt) is not None:
        raise Conflict(_("There is already a category %(name)r at this level.", name=category.name), field="name")


def _category_parent(session, parent_id) -> Category | None:
    if parent_id is None:
        return None
    parent = session.get(Category, parent_id)
    if parent is None:
        raise InvalidValue("parent_id", _("There is no category with id %(id)s.", id=parent_id))
    return parent


def create_category(data: dict, session=None) -> Category:
    """A new category ``name`` under ``parent_id`` (None: top level). Two categories of one
    parent cannot share a name (Conflict)."""
    session = _session(session)
    if not data.get("name"):
        raise InvalidValue("name", _("%(label)s is required.", label=_("Category name")))
    with session.no_autoflush:
        category = Category(name=data["name"], parent=_category_parent(session, data.get("parent_id")))
        _check_category_unique(session, category)
    session.add(category)
    session.flush()
    return category


def update_category(category: Category, data: dict, session=None) -> Category:
    """Rename a category or move it under another parent (``parent_id`` None: top level).
    Moving it under itself or one of its subcategories is a ValidationError."""
    session = _session(session)
    with session.no_autoflush:
        if "name" in data:
            category.name = data["name"]
        if "parent_id" in data:
            # through the relationship, so the model's cycle check runs
            category.parent = _category_parent(session, data["parent_id"])
        _check_category_unique(session, category)
    session.flush()
    return category


# --- lookups ---------------------------------------------------------------------------

def unit_by_code(code: str, session=None) -> Unit:
    """The unit ``code`` (``"pc"``, ``"kg"``); an unknown code is a ValidationError listing the known ones."""
    session = _session(session)
    unit = session.scalar(sa.select(Unit).where(Unit.code == (code or "").strip()))
    if unit is None:
        known = ", ".join(session.scalars(sa.select(Unit.code).order_by(Unit.code)).all())
        raise InvalidValue("unit", _("There is no unit %(code)r (known units: %(known)s).", code=code, known=known))
    return unit


def tax_by_code(code: str | None, session=None) -> Tax | None:
    """The tax ``code`` (``"VAT13"``), None for an empty code; an unknown code is a ValidationError."""
    if code is None or not str(code).strip():
        return None
    session = _session(session)
    tax = session.scalar(sa.select(Tax).where(Tax.code == str(code).strip()))
    if tax is None:
        known = ", ".join(session.scalars(sa.select(Tax.code).order_by(Tax.code)).all())
        raise InvalidValue("tax", _("There is no tax %(code)r (known taxes: %(known)s).", code=code, known=known))
    return tax


def product_by_barcode(code: str, session=None) -> Product:
    """The product with this barcode; NotFound (404) when none has it."""
    session = _session(session)
    product = session.scalar(sa.select(Product).where(Product.barcode == (code or "").strip()))
    if product is None:
        raise NotFound(_("No product has the barcode %(code)s.", code=code), barcode=code)
    return product


def get_or_404(model, ident, what: str, session=None):
    session = _session(session)
    obj = session.get(model, ident)
    if obj is None:
        raise NotFound(_("There is no %(what)s with id %(id)s.", what=what, id=ident))
    return obj


def visible_stores(user, stmt=None):
    """Limit a Store query to the stores ``user`` may see."""
    stmt = stmt if stmt is not None else sa.select(Store)
    store_ids = getattr(user, "store_ids", None)
    if store_ids is not None:
        stmt = stmt.where(Store.id.in_(store_ids or [-1]))
    return stmt


# --- products --------------------------------------------------------------------------

def _check_product_unique(session, product: Product) -> None:
    if product.sku:
        other = session.scalar(sa.select(Product).where(Product.sku == product.sku, Product.id != (product.id or -1)))
        if other is not None:
            raise Conflict(_("The SKU %(sku)s is already used by the product %(other)s.",
                             sku=product.sku, other=str(other)), field="sku")
    if product.barcode:
        other = session.scalar(sa.select(Product).where(Product.barcode == product.barcode,
                                                        Product.id != (product.id or -1)))
        if other is not None:
            raise Conflict(_("The barcode %(code)s is already used by the product %(other)s.",
                             code=product.barcode, other=str(other)), field="barcode")


def _apply_product(session, product: Product, data: dict) -> Product:
    for key in PRODUCT_FIELDS:
        if key in data:
            setattr(product, key, data[key])
    if "unit" in data:
        product.unit = unit_by_code(data["unit"], session)
    if "tax" in data:
        product.tax = tax_by_code(data["tax"], session)
    if "category_id" in data:
        product.category = (None if data["category_id"] is None
                            else get_or_404(Category, data["category_id"], _("category"), session))
    elif "category" in data:
        product.category = category_by_path(data["category"], session=session) if data["category"] else None
    return product


def create_product(data: dict, session=None) -> Product:
    """A new product from ``data`` (sku, name, unit code required; tax code, category path or
    category_id, barcode, prices optional)."""
    session = _session(session)
    for key, label in (("sku", _("SKU")), ("name", _("Product name")), ("unit", _("Unit"))):
        if not data.get(key):
            raise InvalidValue(key, _("%(label)s is required.", label=label))
    product = _apply_product(session, Product(), data)
    with session.no_autoflush:
        _check_product_unique(session, product)
    session.add(product)
    session.flush()
    return product


def update_product(product: Product, data: dict, session=None) -> Product:
    """Change the fields of ``product`` named in ``data`` (as for ``create_product``); a SKU
    or barcode another product has is a Conflict. Fires ``o2o_product_changed`` at the flush."""
    session = _session(session)
    with session.no_autoflush:
        _apply_product(session, product, data)
        _check_product_unique(session, product)
    session.flush()
    return product


# --- partners --------------------------------------------------------------------------

def _check_partner_unique(session, partner: Partner) -> None:
    if partner.ref:
        other = session.scalar(sa.select(Partner).where(Partner.ref == partner.ref, Partner.id != (partner.id or -1)))
        if other is not None:
            raise Conflict(_("The reference %(ref)s is already used by %(other)s.", ref=partner.ref,
                             other=other.name), field="ref")


def create_partner(data: dict, session=None) -> Partner:
    """A new customer or supplier; without a ``ref`` it gets the next ``core.partner`` number."""
    session = _session(session)
    partner = Partner()
    for key in PARTNER_FIELDS:
        if key in data:
            setattr(partner, key, data[key])
    if not partner.name:
        raise InvalidValue("name", _("%(label)s is required.", label=_("Name")))
    if not (partner.is_customer or partner.is_supplier):
        raise InvalidValue("is_customer", _("Say whether %(name)s is a customer, a supplier or both.",
                                            name=partner.name))
    with session.no_autoflush:
        _check_partner_unique(session, partner)
    if not partner.ref:
        from core.services.sequences import next_number
        partner.ref = next_number("core.partner", session=session)
    session.add(partner)
    session.flush()
    return partner


def update_partner(partner: Partner, data: dict, session=None) -> Partner:
    """Change the fields of ``partner`` named in ``data``; it must stay a customer, a supplier or both."""
    session = _session(session)
    with session.no_autoflush:
        for key in PARTNER_FIELDS:
            if key in data:
                setattr(partner, key, data[key])
        if not (partner.is_customer or partner.is_supplier):
            raise InvalidValue("is_customer", _("Say whether %(name)s is a customer, a supplier or both.",
                                                name=partner.name))
        _check_partner_unique(session, partner)
    session.flush()
    return partner


# --- taxes -----------------------------------------------------------------------------

TAX_FIELDS = ("code", "name", "rate", "active")


def _check_tax_unique(session, tax: Tax) -> None:
    other = session.scalar(sa.select(Tax).where(Tax.code == tax.code, Tax.id != (tax.id or -1)))
    if other is not None:
        raise Conflict(_("The tax code %(code)s is already used by %(other)s.", code=tax.code, other=other.name),
                       field="code")


def _apply(obj, fields, data: dict):
    for key in fields:
        if key in data:
            setattr(obj, key, data[key])
    return obj


def create_tax(data: dict, session=None) -> Tax:
    """A new tax: code, name and rate (percent, 0 to 100) required."""
    session = _session(session)
    for key, label in (("code", _("Tax code")), ("name", _("Name")), ("rate", _("Tax rate"))):
        if data.get(key) in (None, ""):
            raise InvalidValue(key, _("%(label)s is required.", label=label))
    tax = _apply(Tax(), TAX_FIELDS, data)
    with session.no_autoflush:
        _check_tax_unique(session, tax)
    session.add(tax)
    session.flush()
    return tax


def update_tax(tax: Tax, data: dict, session=None) -> Tax:
    session = _session(session)
    with session.no_autoflush:
        _apply(tax, TAX_FIELDS, data)
        _check_tax_unique(session, tax)
    session.flush()
    return tax


def archive_tax(tax: Tax, session=None) -> Tax:
    """Take a tax out of use. It is never deleted: products and posted documents name it."""
    tax.active = False
    _session(session).flush()
    return tax


# --- stores ----------------------------------------------------------------------------

STORE_FIELDS = ("code", "name", "kind", "street", "city", "postcode", "country", "phone", "latitude", "longitude",
                "opening_hours", "timezone", "active")


def _check_store_unique(session, store: Store) -> None:
    other = session.scalar(sa.select(Store).where(Store.code == store.code, Store.id != (store.id or -1)))
    if other is not None:
        raise Conflict(_("The store code %(code)s is already used by %(other)s.", code=store.code,
                         other=other.name), field="code")


def create_store(data: dict, user=None, session=None) -> Store:
    """A new shop or distribution centre (code and name required). A user limited to some
    stores cannot create one, as in the admin: the new store would not be theirs."""
    session = _session(session)
    if user is not None and getattr(user, "store_ids", None) is not None:
        raise PermissionDenied(_("You can only record data for your own stores."))
    for key, label in (("code", _("Store code")), ("name", _("Store name"))):
        if not data.get(key):
            raise InvalidValue(key, _("%(label)s is required.", label=label))
    store = _apply(Store(), STORE_FIELDS, data)
    with session.no_autoflush:
        _check_store_unique(session, store)
    session.add(store)
    session.flush()
    return store


def update_store(store: Store, data: dict, session=None) -> Store:
    session = _session(session)
    with session.no_autoflush:
        _apply(store, STORE_FIELDS, data)
        _check_store_unique(session, store)
    session.flush()
    return store


__all__ = ["archive_tax", "category_by_path", "category_paths", "create_category", "create_partner", "create_product",
           "create_store", "create_tax", "product_by_barcode", "tax_by_code", "unit_by_code", "update_category",
           "update_partner", "update_product", "update_store", "update_tax", "visible_stores", "ValidationError"]
