"""The purchasing addon's public Python API: the only module other addons import.

Suppliers' terms, purchase orders (draft -> to_approve -> approved -> sent ->
partly_received -> received -> billed, or cancelled), receipts through the warehouse
services, vendor bills with a three-way match (order, receipt, bill), replenishment runs
computed from the warehouse reorder rules in one set-based statement, and supplier
performance computed in SQL.

Services never commit: the caller (API endpoint, CLI command, admin view) owns the
transaction. Everything a clerk can get wrong is checked before anything is written, and
the writes of one call run in a savepoint, so a refused call leaves nothing behind.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from flask import current_app

from core import timeutil
from core.auth import user_can
from core.db import db, utcnow
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.events import fire
from core.i18n import _
from core.models import Partner, Product, Store
from core.services.sequences import next_number

from addons.warehouse import services as wh
from addons.purchasing.models import (
    OPEN_ORDER_STATES, RECEIVABLE_STATES, BillMismatch, PriceBreak, ProposalLine, PurchaseOrder,
    PurchaseOrderLine, Receipt, ReceiptLine, ReplenishRun, SupplierProduct, VendorBill, VendorBillLine,
)

__all__ = [
    "SupplierProduct", "PriceBreak", "PurchaseOrder", "PurchaseOrderLine", "Receipt", "ReceiptLine",
    "VendorBill", "VendorBillLine", "BillMismatch", "ReplenishRun", "ProposalLine",
    "set_supplier_terms", "set_preferred_supplier", "supplier_price", "terms_for", "preferred_terms",
    "create_order", "add_order_line", "update_order_line", "remove_order_line", "confirm_order",
    "approve_order", "send_order", "cancel_order", "get_order", "needs_approval", "approval_threshold",
    "receive_order", "create_bill", "bill_from_receipts", "post_bill", "release_bill", "cancel_bill",
    "get_bill", "run_replenishment", "run_groups", "update_proposal_line", "convert_run",
    "supplier_performance", "ensure_sequences",
]

Q3 = Decimal("0.001")
C2 = Decimal("0.01")
U4 = Decimal("0.0001")
EPS = Decimal("0.0005")

SEQUENCES = (
    ("purchasing.order", "Purchase orders", "PO/{year}/{number}"),
    ("purchasing.receipt", "Goods receipts", "GR/{year}/{number}"),
    ("purchasing.bill", "Vendor bills", "BILL/{year}/{number}"),
)


# --- helpers -----------------------------------------------------------------------------

def _session():
    return db.session


def ensure_sequences(session=None) -> None:
    from core.services.sequences import ensure_sequence
    for code, name, pattern in SEQUENCES:
        ensure_sequence(session or _session(), code, name, pattern)


def _setting(key: str, default):
    try:
        return current_app.config.get(key, default)
    except RuntimeError:
        return default


def _dec_setting(key: str, default: str) -> Decimal:
    value = _setting(key, default)
    if isinstance(value, float):
        value = str(value)
    return Decimal(str(value))


def approval_threshold() -> Decimal:
    """Orders whose total is above this amount need a user with ``purchasing.approve``."""
    return _dec_setting("PURCHASING_APPROVAL_THRESHOLD", "5000")


def _over_tolerance() -> Decimal:
    return _dec_setting("PURCHASING_OVER_RECEIPT_TOLERANCE", "0")


def _price_tolerance() -> Decimal:
    return _dec_setting("PURCHASING_PRICE_TOLERANCE", "0")


def _dec(value, what: str, *, ctx: str = "") -> Decimal:
    if value is None or value == "":
        raise ValidationError(_("%(what)s is required%(ctx)s.", what=what, ctx=ctx))
    if isinstance(value, float):
        value = str(value)
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(_("%(what)s %(value)r is not a number%(ctx)s.", what=what, value=value, ctx=ctx)) from None
    if not d.is_finite():
        raise ValidationError(_("%(what)s must be a number%(ctx)s.", what=what, ctx=ctx))
    return d


def _qty(value, what: str, *, ctx: str = "", allow_zero=False) -> Decimal:
    q = _dec(value, what, ctx=ctx)
    if q < 0 or (q == 0 and not allow_zero):
        raise ValidationError(_("%(what)s must be more than zero, not %(value)s%(ctx)s.", what=what, value=q, ctx=ctx))
    if q != q.quantize(Q3):
        raise ValidationError(_("%(what)s %(value)s has more than 3 decimals%(ctx)s.", what=what, value=q, ctx=ctx))
    return q


def _price(value, what: str, *, ctx: str = "") -> Decimal:
    p = _dec(value, what, ctx=ctx)
    if p < 0:
        raise ValidationError(_("%(what)s cannot be negative (%(value)s)%(ctx)s.", what=what, value=p, ctx=ctx))
    if p >= Decimal("1e10"):
        raise ValidationError(_("%(what)s %(value)s is too large%(ctx)s.", what=what, value=p, ctx=ctx))
    return p.quantize(U4, rounding=ROUND_HALF_UP)


def _label(product) -> str:
    return f"[{product.sku}] {product.name}"


def _current_user():
    try:
        from flask import has_request_context
        from flask_login import current_user
        if has_request_context() and getattr(current_user, "is_authenticated", False):
            return current_user._get_current_object()
    except Exception:  # pragma: no cover
        pass
    return None


def _resolve_user(user):
    if user is None:
        return _current_user()
    if isinstance(user, int):
        from core.auth.models import User
        found = _session().get(User, user)
        if found is None:
            raise NotFound(_("There is no user #%(id)s.", id=user))
        return found
    return user


def _user_id(user):
    user = _resolve_user(user)
    return getattr(user, "id", None)


def _get_product(product_id) -> Product:
    product = _session().get(Product, int(product_id)) if product_id is not None else None
    if product is None:
        raise NotFound(_("There is no product #%(id)s.", id=product_id), product_id=product_id)
    return product


def _get_supplier(supplier_id) -> Partner:
    partner = _session().get(Partner, int(supplier_id)) if supplier_id is not None else None
    if partner is None:
        raise NotFound(_("There is no supplier #%(id)s.", id=supplier_id), supplier_id=supplier_id)
    if not partner.is_supplier:
        raise ValidationError(_("%(name)s is not marked as a supplier; mark the partner as a supplier first.",
                                name=partner.name), supplier_id=partner.id)
    if not partner.active:
        raise ValidationError(_("Supplier %(name)s is archived: no new purchases from it.", name=partner.name),
                              supplier_id=partner.id)
    return partner


def _lock(model, ident):
    stmt = sa.select(model).where(model.id == ident)
    if _session().get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=model.__table__)
    return _session().execute(stmt.execution_options(populate_existing=True)).unique().scalar_one_or_none()


def get_order(order_id, *, lock: bool = False) -> PurchaseOrder:
    order = _lock(PurchaseOrder, order_id) if lock else _session().get(PurchaseOrder, order_id)
    if order is None:
        raise NotFound(_("There is no purchase order #%(id)s.", id=order_id), order_id=order_id)
    return order


def get_bill(bill_id, *, lock: bool = False) -> VendorBill:
    bill = _lock(VendorBill, bill_id) if lock else _session().get(VendorBill, bill_id)
    if bill is None:
        raise NotFound(_("There is no vendor bill #%(id)s.", id=bill_id), bill_id=bill_id)
    return bill


def _tax_rate(product) -> Decimal:
    tax = product.tax
    return Decimal(tax.rate) if tax is not None and tax.active else Decimal(0)


def _amounts(quantity: Decimal, unit_price: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    net = (quantity * unit_price).quantize(C2, rounding=ROUND_HALF_UP)
    tax = (net * rate / 100).quantize(C2, rounding=ROUND_HALF_UP)
    return net, tax


# --- suppliers' terms ------------------------------------------------------------------------

def terms_for(supplier_id, product_id) -> SupplierProduct | None:
    return _session().scalar(sa.select(SupplierProduct).where(
        SupplierProduct.supplier_id == supplier_id, SupplierProduct.product_id == product_id))


def preferred_terms(product_id) -> SupplierProduct | None:
    """The preferred supplier's terms for a product (else the cheapest active supplier)."""
    return _session().scalar(
        sa.select(SupplierProduct).where(SupplierProduct.product_id == product_id, SupplierProduct.active.is_(True))
        .order_by(SupplierProduct.preferred.desc(), SupplierProduct.unit_price, SupplierProduct.id).limit(1))


def set_supplier_terms(supplier_id, product_id, *, unit_price, supplier_code=None, supplier_name=None,
                       min_qty=0, pack_size=1, lead_time_days=7, preferred=None, breaks=None,
                       active=True) -> SupplierProduct:
    """Create or change a supplier's terms for a product. ``breaks``: list of
    ``(min_quantity, unit_price)`` (or dicts) replacing the existing quantity breaks;
    ``preferred=True`` makes this supplier the product's preferred one."""
    supplier, product = _get_supplier(supplier_id), _get_product(product_id)
    ctx = _(" (%(supplier)s, %(product)s)", supplier=supplier.name, product=_label(product))
    price = _price(unit_price, _("Unit price"), ctx=ctx)
    min_q = _qty(min_qty or 0, _("Minimum order"), ctx=ctx, allow_zero=True)
    pack = _qty(pack_size or 1, _("Pack size"), ctx=ctx)
    try:
        lead = int(lead_time_days)
    except (TypeError, ValueError):
        raise ValidationError(_("Lead time must be a whole number of days%(ctx)s.", ctx=ctx)) from None
    if lead < 0 or lead > 3650:
        raise ValidationError(_("Lead time must be between 0 and 3650 days, not %(n)s%(ctx)s.", n=lead, ctx=ctx))
    parsed = []
    for b in breaks or ():
        mq, up = (b["min_quantity"], b["unit_price"]) if isinstance(b, dict) else b
        parsed.append((_qty(mq, _("Break quantity"), ctx=ctx), _price(up, _("Break price"), ctx=ctx)))
    if len({mq for mq, _p in parsed}) != len(parsed):
        raise ValidationError(_("Two price breaks start at the same quantity%(ctx)s.", ctx=ctx))
    terms = terms_for(supplier.id, product.id)
    session = _session()
    if terms is None:
        terms = SupplierProduct(supplier_id=supplier.id, product_id=product.id)
        session.add(terms)
    terms.unit_price, terms.min_qty, terms.pack_size, terms.lead_time_days = price, min_q, pack, lead
    terms.supplier_code, terms.supplier_name, terms.active = supplier_code, supplier_name, bool(active)
    if breaks is not None:
        terms.breaks = [PriceBreak(min_quantity=mq.quantize(Q3), unit_price=up) for mq, up in sorted(parsed)]
    session.flush()
    if preferred:
        set_preferred_supplier(product.id, supplier.id)
    elif preferred is False:
        terms.preferred = False
    elif not session.scalar(sa.select(sa.func.count()).select_from(SupplierProduct).where(
            SupplierProduct.product_id == product.id, SupplierProduct.preferred.is_(True))):
        terms.preferred = True  # a product's first supplier is its preferred one
    session.flush()
    return terms


def set_preferred_supplier(product_id, supplier_id) -> SupplierProduct:
    terms = terms_for(supplier_id, product_id)
    if terms is None:
        raise ValidationError(_("Supplier #%(s)s has no terms for product #%(p)s: enter its price first.",
                                s=supplier_id, p=product_id))
    for other in _session().scalars(sa.select(SupplierProduct).where(SupplierProduct.product_id == product_id,
                                                                     SupplierProduct.id != terms.id)):
        other.preferred = False
    terms.preferred = True
    _session().flush()
    return terms


def supplier_price(supplier_id, product_id, quantity) -> Decimal | None:
    """The supplier's unit price for ``quantity``: the highest quantity break reached, else
    the base price; None when the supplier has no (active) terms for the product."""
    terms = terms_for(supplier_id, product_id)
    if terms is None or not terms.active:
        return None
    price = terms.unit_price
    for b in terms.breaks:
        if Decimal(quantity) >= b.min_quantity:
            price = b.unit_price
    return price


# --- purchase orders ------------------------------------------------------------------------

def _resolve_warehouse(warehouse_id=None, store_id=None):
    if warehouse_id is None and store_id is None:
        raise ValidationError(_("Choose where the goods are delivered: a warehouse or a store."))
    if warehouse_id is not None:
        w = _session().get(wh.Warehouse, int(warehouse_id))
        if w is None:
            raise NotFound(_("There is no warehouse #%(id)s.", id=warehouse_id), warehouse_id=warehouse_id)
    else:
        w = wh.warehouse_for_store(store_id)
    if not w.active:
        raise ValidationError(_("Warehouse %(code)s is archived: goods cannot be delivered there.", code=w.code))
    return w


def _prepare_line(supplier, entry: dict, order_date: dt.date) -> dict:
    product = _get_product(entry.get("product_id"))
    label = _label(product)
    ctx = _(" for %(product)s", product=label)
    if not product.active:
        raise ValidationError(_("%(product)s is inactive and cannot be ordered.", product=label),
                              product_id=product.id)
    quantity = _qty(entry.get("quantity"), _("Quantity"), ctx=ctx)
    terms = terms_for(supplier.id, product.id)
    if terms is not None and not terms.active:
        terms = None
    if terms is not None:
        if quantity < terms.min_qty:
            raise ValidationError(_("%(supplier)s sells %(product)s from %(min)s units; %(q)s is below the "
                                    "minimum order.", supplier=supplier.name, product=label, min=terms.min_qty,
                                    q=quantity), product_id=product.id)
        if terms.pack_size and (quantity / terms.pack_size) != (quantity / terms.pack_size).to_integral_value():
            raise ValidationError(_("%(supplier)s packs %(product)s by %(pack)s; order a multiple of %(pack)s, "
                                    "not %(q)s.", supplier=supplier.name, product=label, pack=terms.pack_size,
                                    q=quantity), product_id=product.id)
    free = bool(entry.get("free_of_charge"))
    if entry.get("unit_price") is not None and entry.get("unit_price") != "":
        price = _price(entry["unit_price"], _("Unit price"), ctx=ctx)
    elif free:
        price = Decimal(0)
    else:
        price = supplier_price(supplier.id, product.id, quantity)
        if price is None:
            raise ValidationError(_("%(supplier)s has no price for %(product)s: enter a unit price or the "
                                    "supplier's terms.", supplier=supplier.name, product=label),
                                  product_id=product.id)
    if price == 0 and not free:
        raise ValidationError(_("The price of %(product)s is zero: mark the line free of charge if the supplier "
                                "really gives it for nothing.", product=label), product_id=product.id)
    if free and price != 0:
        raise ValidationError(_("%(product)s is marked free of charge but has a price of %(price)s.",
                                product=label, price=price), product_id=product.id)
    lead = terms.lead_time_days if terms is not None else int(_setting("PURCHASING_DEFAULT_LEAD_TIME", 7))
    rate = _tax_rate(product)
    net, tax = _amounts(quantity, price, rate)
    return dict(product_id=product.id, description=(entry.get("description") or product.name)[:256],
                supplier_code=terms.supplier_code if terms is not None else None, quantity=quantity,
                unit_price=price, free_of_charge=free, tax_rate=rate, net_amount=net, tax_amount=tax,
                expected_date=order_date + dt.timedelta(days=lead))


def _recompute(order: PurchaseOrder) -> None:
    net = tax = Decimal(0)
    expected = None
    for i, line in enumerate(order.lines, start=1):
        line.sequence = i
        line.net_amount, line.tax_amount = _amounts(line.quantity, line.unit_price, Decimal(line.tax_rate))
        net += line.net_amount
        tax += line.tax_amount
        if line.expected_date is not None and (expected is None or line.expected_date > expected):
            expected = line.expected_date
    order.net_total, order.tax_total, order.total = net, tax, net + tax
    order.expected_date = expected or order.order_date


def create_order(*, supplier_id, lines: list[dict], warehouse_id=None, store_id=None, order_date=None,
                 supplier_ref=None, note=None, user=None, run_id=None) -> PurchaseOrder:
    """A draft purchase order. ``lines``: ``product_id``, ``quantity`` and optionally
    ``unit_price`` (default: the supplier's price with quantity breaks), ``free_of_charge``,
    ``description``. The expected date follows from the suppliers' lead times."""
    supplier = _get_supplier(supplier_id)
    warehouse = _resolve_warehouse(warehouse_id, store_id)
    if not lines:
        raise ValidationError(_("A purchase order needs at least one line."))
    order_date = order_date or timeutil.today(warehouse.store_id)  # the ordering store's today
    prepared = [_prepare_line(supplier, entry, order_date) for entry in lines]
    session = _session()
    with session.begin_nested():
        order = PurchaseOrder(
            number=next_number("purchasing.order", date=order_date), supplier_id=supplier.id,
            warehouse_id=warehouse.id, store_id=warehouse.store_id, state="draft", order_date=order_date,
            supplier_ref=supplier_ref, note=note, currency=_setting("CURRENCY", "CNY"),
            created_by_id=_user_id(user), run_id=run_id)
        order.lines = [PurchaseOrderLine(**p) for p in prepared]
        _recompute(order)
        session.add(order)
        session.flush()
    return order


def _draft(order_id) -> PurchaseOrder:
    order = get_order(order_id, lock=True)
    if order.state != "draft":
        raise Conflict(_("Purchase order %(number)s is %(state)s: only a draft can be changed.",
                         number=order.number, state=order.state))
    return order


def add_order_line(order_id, entry: dict) -> PurchaseOrderLine:
    order = _draft(order_id)
    line = PurchaseOrderLine(**_prepare_line(order.supplier, entry, order.order_date))
    order.lines.append(line)
    _recompute(order)
    _session().flush()
    return line


def _order_line(line_id) -> PurchaseOrderLine:
    line = _session().get(PurchaseOrderLine, line_id)
    if line is None:
        raise NotFound(_("There is no purchase order line #%(id)s.", id=line_id))
    return line


def update_order_line(line_id, *, quantity=None, unit_price=None, free_of_charge=None) -> PurchaseOrderLine:
    line = _order_line(line_id)
    order = _draft(line.order_id)
    entry = {"product_id": line.product_id, "description": line.description,
             "quantity": line.quantity if quantity is None else quantity,
             "unit_price": line.unit_price if unit_price is None and quantity is None else unit_price,
             "free_of_charge": line.free_of_charge if free_of_charge is None else free_of_charge}
    prepared = _prepare_line(order.supplier, entry, order.order_date)
    for key, value in prepared.items():
        setattr(line, key, value)
    _recompute(order)
    _session().flush()
    return line


def remove_order_line(line_id) -> PurchaseOrder:
    line = _order_line(line_id)
    order = _draft(line.order_id)
    if len(order.lines) == 1:
        raise ValidationError(_("%(number)s needs at least one line; cancel the order instead.", number=order.number))
    order.lines.remove(line)
    _recompute(order)
    _session().flush()
    return order


def needs_approval(order: PurchaseOrder) -> bool:
    return order.total > approval_threshold()


def confirm_order(order_id, *, user=None) -> PurchaseOrder:
    """Confirm a draft: approved at once when its total is within the approval threshold,
    else waiting for a user with ``purchasing.approve`` (state ``to_approve``)."""
    order = _draft(order_id)
    if not order.lines:
        raise ValidationError(_("Purchase order %(number)s has no lines.", number=order.number))
    if needs_approval(order):
        order.state = "to_approve"
    else:
        order.state, order.approved_by_id, order.approved_at = "approved", _user_id(user), utcnow()
    _session().flush()
    return order


def approve_order(order_id, *, user=None) -> PurchaseOrder:
    """Approve an order above the threshold: needs ``purchasing.approve``; nobody approves
    an order they created."""
    order = get_order(order_id, lock=True)
    approver = _resolve_user(user)
    if order.state == "draft" and not needs_approval(order):
        return confirm_order(order_id, user=approver)
    if order.state not in ("draft", "to_approve"):
        raise Conflict(_("Purchase order %(number)s is %(state)s; only an order waiting for approval can be "
                         "approved.", number=order.number, state=order.state))
    if approver is None or not user_can(approver, "purchasing.approve"):
        raise PermissionDenied(_("Purchase order %(number)s (%(total)s) is above the approval limit of "
                                 "%(limit)s: it needs a user allowed to approve purchase orders.",
                                 number=order.number, total=order.total, limit=approval_threshold()))
    if order.created_by_id is not None and approver.id == order.created_by_id:
        raise PermissionDenied(_("You created purchase order %(number)s: another user must approve it.",
                                 number=order.number))
    order.state, order.approved_by_id, order.approved_at = "approved", approver.id, utcnow()
    _session().flush()
    return order


def send_order(order_id) -> PurchaseOrder:
    """Mark an approved order as sent to the supplier (print or mail its PDF)."""
    order = get_order(order_id, lock=True)
    if order.state == "sent":
        return order
    if order.state != "approved":
        raise Conflict(_("Purchase order %(number)s is %(state)s: only an approved order can be sent to the "
                         "supplier.", number=order.number, state=order.state))
    order.state, order.sent_at = "sent", utcnow()
    _session().flush()
    return order


def cancel_order(order_id, reason: str = "") -> PurchaseOrder:
    order = get_order(order_id, lock=True)
    if order.state == "cancelled":
        raise Conflict(_("Purchase order %(number)s is already cancelled.", number=order.number))
    if order.state in ("partly_received", "received", "billed") or any(l.received_qty > 0 for l in order.lines):
        raise Conflict(_("Purchase order %(number)s has goods received: it cannot be cancelled; close the "
                         "remaining lines short instead.", number=order.number))
    order.state, order.cancelled_at, order.cancel_reason = "cancelled", utcnow(), (reason or None)
    _session().flush()
    return order


def _refresh_order_state(order: PurchaseOrder) -> None:
    if order.state in ("cancelled",):
        return
    received_any = any(l.received_qty > 0 for l in order.lines)
    complete = all(l.closed or l.received_qty >= l.quantity for l in order.lines)
    if complete:
        billed = all(l.billed_qty >= l.received_qty and (l.received_qty > 0 or l.closed) for l in order.lines) \
            and any(l.billed_qty > 0 for l in order.lines) and _posted_bills_cover(order)
        order.state = "billed" if billed else "received"
        order.received_at = order.received_at or utcnow()
    elif received_any:
        order.state = "partly_received"


def _posted_bills_cover(order: PurchaseOrder) -> bool:
    """Every received quantity is on a posted bill."""
    bl = VendorBillLine.__table__
    b = VendorBill.__table__
    rows = dict(_session().execute(
        sa.select(bl.c.order_line_id, sa.func.sum(bl.c.quantity))
        .join(b, b.c.id == bl.c.bill_id)
        .where(b.c.state == "posted", bl.c.order_line_id.in_([l.id for l in order.lines]))
        .group_by(bl.c.order_line_id)).all())
    return all(Decimal(str(rows.get(l.id) or 0)) + EPS >= l.received_qty for l in order.lines)


# --- receipts -------------------------------------------------------------------------------

def _find_order_line(order: PurchaseOrder, entry: dict, *, for_bill=False) -> PurchaseOrderLine:
    if entry.get("order_line_id") is not None:
        line = next((l for l in order.lines if l.id == int(entry["order_line_id"])), None)
        if line is None:
            raise ValidationError(_("Line #%(id)s is not on purchase order %(number)s.", id=entry["order_line_id"],
                                    number=order.number))
        return line
    pid = entry.get("product_id")
    candidates = [l for l in order.lines if pid is not None and l.product_id == int(pid)]
    if not candidates:
        product = _session().get(Product, int(pid)) if pid is not None else None
        raise ValidationError(_("%(product)s is not on purchase order %(number)s.",
                                product=_label(product) if product else _("product #%(id)s", id=pid),
                                number=order.number), product_id=pid)
    if for_bill:
        return next((l for l in candidates if l.received_qty > l.billed_qty), candidates[0])
    return next((l for l in candidates if l.outstanding > 0), candidates[0])


def receive_order(order_id, lines: list[dict] | None = None, *, received_at=None, supplier_ref=None,
                  note=None, user=None, close_short: bool = False) -> Receipt:
    """Receive goods against an order. ``lines``: ``order_line_id`` or ``product_id``,
    ``quantity`` (delivered, damaged included), optionally ``damaged`` (scrapped at once) and
    ``close`` (the supplier will not deliver the rest: no backorder for the line). Without
    ``lines`` everything outstanding is received. ``close_short`` closes every line of the
    order that is still short after this receipt.

    More than ordered is accepted up to PURCHASING_OVER_RECEIPT_TOLERANCE percent of the
    line and refused beyond. What remains outstanding is the backorder."""
    order = get_order(order_id, lock=True)
    if order.state == "cancelled":
        raise Conflict(_("Purchase order %(number)s is cancelled: goods cannot be received against it.",
                         number=order.number))
    if order.state == "draft" or order.state == "to_approve":
        raise Conflict(_("Purchase order %(number)s is not approved yet: goods cannot be received against it.",
                         number=order.number))
    if order.state not in RECEIVABLE_STATES:
        raise Conflict(_("Purchase order %(number)s is already fully received.", number=order.number))
    if lines is None:
        lines = [{"order_line_id": l.id, "quantity": l.outstanding} for l in order.lines if l.outstanding > 0]
    if not lines:
        raise ValidationError(_("Nothing to receive on purchase order %(number)s.", number=order.number))
    tolerance = _over_tolerance()
    wanted: dict[int, Decimal] = defaultdict(Decimal)
    prepared = []
    for entry in lines:
        line = _find_order_line(order, entry)
        label = _label(line.product)
        ctx = _(" for %(product)s on %(number)s", product=label, number=order.number)
        q = _qty(entry.get("quantity"), _("Received quantity"), ctx=ctx, allow_zero=bool(entry.get("close")))
        damaged = _qty(entry.get("damaged") or 0, _("Damaged quantity"), ctx=ctx, allow_zero=True)
        if damaged > q:
            raise ValidationError(_("Damaged quantity %(d)s is more than the %(q)s delivered%(ctx)s.",
                                    d=damaged, q=q, ctx=ctx))
        if line.closed:
            raise Conflict(_("The line of %(product)s on %(number)s was closed short; nothing more is expected.",
                             product=label, number=order.number))
        wanted[line.id] += q
        limit = (line.quantity * (1 + tolerance / 100)).quantize(Q3, rounding=ROUND_HALF_UP)
        if line.received_qty + wanted[line.id] > limit + EPS:
            raise ValidationError(
                _("Receiving %(q)s of %(product)s would bring %(number)s to %(total)s received against %(ordered)s "
                  "ordered, more than the %(tol)s%% over-receipt tolerance allows (at most %(limit)s).",
                  q=q, product=label, number=order.number, total=line.received_qty + wanted[line.id],
                  ordered=line.quantity, tol=format(tolerance.normalize(), "f"), limit=limit), product_id=line.product_id)
        prepared.append((line, q, damaged, bool(entry.get("close"))))
    location = wh.stock_location(order.warehouse_id)
    supplier_loc = wh.virtual_location("supplier")
    session = _session()
    with session.begin_nested():
        number = next_number("purchasing.receipt", date=timeutil.local_date(received_at, order.store_id))
        receipt = Receipt(number=number, order_id=order.id, warehouse_id=order.warehouse_id,
                          store_id=order.store_id, supplier_id=order.supplier_id,
                          received_at=received_at if isinstance(received_at, dt.datetime) else utcnow(),
                          supplier_ref=supplier_ref, note=note, user_id=_user_id(user))
        moves, scraps, total = [], [], Decimal(0)
        for line, q, damaged, close in prepared:
            if q > 0:
                value = (q * line.unit_price).quantize(C2, rounding=ROUND_HALF_UP)
                receipt.lines.append(ReceiptLine(order_line_id=line.id, product_id=line.product_id, quantity=q,
                                                 damaged_quantity=damaged, unit_cost=line.unit_price, value=value,
                                                 closed_short=close))
                total += value
                moves.append({"product_id": line.product_id, "from_location_id": supplier_loc.id,
                              "to_location_id": location.id, "quantity": q, "unit_cost": line.unit_price,
                              "source": number, "partner_id": order.supplier_id})
                if damaged > 0:
                    scraps.append((line.product_id, damaged))
                line.received_qty += q
                line.damaged_qty += damaged
            if close:
                line.closed = True
        if not receipt.lines:
            raise ValidationError(_("Nothing was received on purchase order %(number)s.", number=order.number))
        if close_short:
            for line in order.lines:
                if line.received_qty < line.quantity:
                    line.closed = True
        receipt.value = total
        session.add(receipt)
        session.flush()
        if moves:
            wh.post_moves(moves)
        for product_id, damaged in scraps:
            wh.scrap(product_id, location.id, damaged, source=number)
        backorder = sum((l.outstanding for l in order.lines), Decimal(0))
        receipt.backorder_qty, receipt.has_backorder = backorder, backorder > 0
        _refresh_order_state(order)
        session.flush()
    fire("o2o_goods_received", receipt=receipt)
    return receipt


# --- vendor bills -----------------------------------------------------------------------------

def create_bill(*, supplier_id, lines: list[dict], order_id=None, supplier_ref=None, bill_date=None,
                due_date=None, user=None) -> VendorBill:
    """A draft vendor bill as the supplier wrote it. ``lines``: ``product_id`` (or
    ``order_line_id``), ``quantity``, ``unit_price`` (net), optionally ``tax_rate`` and
    ``free_of_charge``. Billing more than was received is refused."""
    supplier = _get_supplier(supplier_id)
    order = get_order(order_id) if order_id is not None else None
    if order is not None:
        if order.supplier_id != supplier.id:
            raise ValidationError(_("Purchase order %(number)s is from %(other)s, not %(supplier)s.",
                                    number=order.number, other=order.supplier.name, supplier=supplier.name))
        if order.state in ("draft", "to_approve", "cancelled"):
            raise Conflict(_("Purchase order %(number)s is %(state)s: there is nothing to bill.",
                             number=order.number, state=order.state))
    if not lines:
        raise ValidationError(_("A vendor bill needs at least one line."))
    if supplier_ref:
        clash = _session().scalar(sa.select(VendorBill.number).where(
            VendorBill.supplier_id == supplier.id, VendorBill.supplier_ref == supplier_ref,
            VendorBill.state != "cancelled"))
        if clash:
            raise Conflict(_("Invoice %(ref)s of %(supplier)s is already entered as %(number)s.",
                             ref=supplier_ref, supplier=supplier.name, number=clash))
    bill_date = bill_date or timeutil.today(order.store_id if order is not None else None)
    adding: dict[int, Decimal] = defaultdict(Decimal)
    prepared = []
    for entry in lines:
        oline = _find_order_line(order, entry, for_bill=True) if order is not None else None
        product = oline.product if oline is not None else _get_product(entry.get("product_id"))
        label = _label(product)
        ctx = _(" for %(product)s", product=label)
        q = _qty(entry.get("quantity"), _("Billed quantity"), ctx=ctx)
        price = _price(entry.get("unit_price"), _("Billed unit price"), ctx=ctx)
        free = bool(entry.get("free_of_charge"))
        if price == 0 and not free:
            raise ValidationError(_("The billed price of %(product)s is zero: mark the line free of charge if "
                                    "the supplier really bills it at nothing.", product=label))
        if oline is not None:
            adding[oline.id] += q
            if oline.billed_qty + adding[oline.id] > oline.received_qty + EPS:
                raise ValidationError(
                    _("Cannot bill %(q)s of %(product)s on %(number)s: %(received)s received, %(billed)s already "
                      "billed.", q=q, product=label, number=order.number, received=oline.received_qty,
                      billed=oline.billed_qty), product_id=product.id)
        rate = _dec(entry["tax_rate"], _("Tax rate"), ctx=ctx) if entry.get("tax_rate") is not None \
            else (Decimal(oline.tax_rate) if oline is not None else _tax_rate(product))
        net, tax = _amounts(q, price, rate)
        prepared.append(dict(order_line_id=oline.id if oline is not None else None, product_id=product.id,
                             description=(entry.get("description") or product.name)[:256], quantity=q,
                             unit_price=price, tax_rate=rate, net_amount=net, tax_amount=tax))
    session = _session()
    with session.begin_nested():
        terms_days = int(_setting("PURCHASING_PAYMENT_TERM_DAYS", 30))
        bill = VendorBill(number=next_number("purchasing.bill", date=bill_date), supplier_id=supplier.id,
                          supplier_ref=supplier_ref, order_id=order.id if order else None,
                          store_id=order.store_id if order else None, bill_date=bill_date,
                          due_date=due_date or bill_date + dt.timedelta(days=terms_days), state="draft",
                          created_by_id=_user_id(user))
        bill.lines = [VendorBillLine(**p) for p in prepared]
        bill.net_total = sum((l.net_amount for l in bill.lines), Decimal(0))
        bill.tax_total = sum((l.tax_amount for l in bill.lines), Decimal(0))
        bill.total = bill.net_total + bill.tax_total
        if order is not None:
            for oline in order.lines:
                oline.billed_qty += adding.get(oline.id, Decimal(0))
        session.add(bill)
        session.flush()
    return bill


def bill_from_receipts(order_id, *, supplier_ref=None, bill_date=None, prices: dict | None = None,
                       user=None) -> VendorBill:
    """A draft bill for everything received and not billed yet on an order, at the order's
    prices (``prices`` maps product id to the price the supplier actually billed)."""
    order = get_order(order_id)
    prices = {int(k): v for k, v in (prices or {}).items()}
    lines = [{"order_line_id": l.id, "quantity": l.received_qty - l.billed_qty,
              "unit_price": prices.get(l.product_id, l.unit_price), "free_of_charge": l.free_of_charge}
             for l in order.lines if l.received_qty - l.billed_qty > 0]
    if not lines:
        raise ValidationError(_("Everything received on %(number)s is already billed.", number=order.number))
    return create_bill(supplier_id=order.supplier_id, order_id=order.id, lines=lines, supplier_ref=supplier_ref,
                       bill_date=bill_date, user=user)


def _match(bill: VendorBill) -> list[BillMismatch]:
    """Three-way match: each bill line against its order line (price) and what was
    received and not billed elsewhere (quantity)."""
    tol = _price_tolerance()
    found = []
    for line in bill.lines:
        oline = line.order_line
        label = _label(line.product)
        if oline is None:
            line.quantity_matched = line.price_matched = False
            found.append(BillMismatch(bill_line_id=line.id, product_id=line.product_id, kind="not_ordered",
                                      billed=line.quantity,
                                      message=_("%(product)s is billed but not on a purchase order.",
                                                product=label)))
            continue
        # billed_qty already includes this bill's lines
        other_billed = oline.billed_qty - sum((l.quantity for l in bill.lines if l.order_line_id == oline.id),
                                              Decimal(0))
        expected_qty = oline.received_qty - other_billed
        same_line = [l for l in bill.lines if l.order_line_id == oline.id]
        billed_here = sum((l.quantity for l in same_line), Decimal(0))
        line.quantity_matched = abs(billed_here - expected_qty) <= EPS
        if not line.quantity_matched and line is same_line[0]:
            found.append(BillMismatch(
                bill_line_id=line.id, product_id=line.product_id, kind="quantity", ordered=oline.quantity,
                received=expected_qty, billed=billed_here,
                message=_("%(product)s: billed %(b)s, received %(r)s (ordered %(o)s) on %(number)s.",
                          product=label, b=billed_here, r=expected_qty, o=oline.quantity,
                          number=oline.order.number)))
        allowed = (oline.unit_price * tol / 100).quantize(U4, rounding=ROUND_HALF_UP)
        line.price_matched = abs(line.unit_price - oline.unit_price) <= allowed
        if not line.price_matched:
            found.append(BillMismatch(
                bill_line_id=line.id, product_id=line.product_id, kind="price", ordered=oline.unit_price,
                billed=line.unit_price,
                message=_("%(product)s: billed at %(b)s, ordered at %(o)s on %(number)s.",
                          product=label, b=line.unit_price, o=oline.unit_price, number=oline.order.number)))
    return found


def _post(bill: VendorBill) -> None:
    bill.state, bill.posted_at = "posted", utcnow()
    _session().flush()
    if bill.order is not None:
        _refresh_order_state(bill.order)
        _session().flush()
    _price_difference(bill)
    fire("o2o_vendor_bill_posted", bill=bill)


def _price_difference(bill: VendorBill) -> None:
    """What each line's price difference from its receipt does (perpetual inventory): sets
    on every line ``received_value`` (billed quantity at the receipt's cost: what the
    receipt put in goods received not invoiced), ``inventory_value`` (the share of the
    difference still on hand in the order's warehouse, revalued there by the warehouse),
    ``price_variance`` (the rest: stock already gone, or everything when
    PURCHASING_PRICE_VARIANCE is "ppv") and ``store_id``. net_amount = the three added up."""
    mode = str(_setting("PURCHASING_PRICE_VARIANCE", "inventory") or "inventory").strip().lower()
    if mode not in ("inventory", "ppv"):
        raise ValidationError(_("PURCHASING_PRICE_VARIANCE must be \"inventory\" or \"ppv\", not %(value)r.",
                                value=mode))
    order = bill.order
    for line in bill.lines:
        oline = line.order_line
        line.store_id = bill.store_id
        line.inventory_value = line.price_variance = Decimal("0.00")
        if oline is None:  # nothing was received for it: GRNI takes the bill's amount
            line.received_value = line.net_amount
            continue
        line.received_value = (line.quantity * oline.unit_price).quantize(C2, rounding=ROUND_HALF_UP)
        diff = line.net_amount - line.received_value
        if diff == 0:
            continue
        if mode == "inventory" and order is not None and order.warehouse_id is not None:
            row = wh.revalue(line.product_id, order.warehouse_id, diff, quantity=line.quantity, source=bill.number,
                             reason="price")
            if row is not None:
                line.inventory_value = row.value
        line.price_variance = diff - line.inventory_value


def post_bill(bill_id, *, user=None) -> VendorBill:
    """Match a draft bill: posted (``o2o_vendor_bill_posted``) when order, receipt and
    bill agree, else on hold with each mismatch recorded."""
    bill = get_bill(bill_id, lock=True)
    if bill.state != "draft":
        raise Conflict(_("Vendor bill %(number)s is %(state)s: only a draft can be posted.",
                         number=bill.number, state=bill.state.replace("_", " ")))
    bill.mismatches = []
    _session().flush()
    mismatches = _match(bill)
    bill.mismatches = mismatches
    bill.matched = not mismatches
    if mismatches:
        bill.state = "on_hold"
        _session().flush()
    else:
        _post(bill)
    return bill


def release_bill(bill_id, *, user=None, note: str | None = None) -> VendorBill:
    """Release a bill on hold (needs ``purchasing.release_bill``): it is posted as billed."""
    bill = get_bill(bill_id, lock=True)
    releaser = _resolve_user(user)
    if bill.state != "on_hold":
        raise Conflict(_("Vendor bill %(number)s is %(state)s, not on hold.", number=bill.number,
                         state=bill.state.replace("_", " ")))
    if releaser is None or not user_can(releaser, "purchasing.release_bill"):
        raise PermissionDenied(_("Vendor bill %(number)s is on hold for mismatches: only a user allowed to "
                                 "release bills can release it.", number=bill.number))
    bill.released_by_id, bill.released_at, bill.release_note = releaser.id, utcnow(), note
    _post(bill)
    return bill


def cancel_bill(bill_id) -> VendorBill:
    bill = get_bill(bill_id, lock=True)
    if bill.state not in ("draft", "on_hold"):
        raise Conflict(_("Vendor bill %(number)s is %(state)s: only a draft or a bill on hold can be cancelled.",
                         number=bill.number, state=bill.state))
    for line in bill.lines:
        if line.order_line is not None:
            line.order_line.billed_qty -= line.quantity
    bill.state = "cancelled"
    _session().flush()
    return bill


# --- replenishment ----------------------------------------------------------------------------

def _dc_warehouse_id():
    code = _setting("PURCHASING_DC_WAREHOUSE", "") or ""
    W = wh.Warehouse
    if code:
        found = _session().scalar(sa.select(W.id).where(W.code == code))
        if found is None:
            raise ValidationError(_("PURCHASING_DC_WAREHOUSE names the warehouse %(code)s, which does not exist.",
                                    code=code))
        return found
    return _session().scalar(sa.select(W.id).where(W.kind == "central", W.active.is_(True)).order_by(W.id).limit(1))


def _ceil(x):
    return sa.func.ceil(x)


def run_replenishment(warehouse_ids=None, *, user=None) -> ReplenishRun:
    """Propose what to buy (grouped by supplier and deliver-to warehouse) or transfer from
    the distribution centre, from the warehouse reorder rules, in one INSERT ... SELECT.

    For every active rule of an active product whose projected stock (on hand - reserved +
    incoming transfers + open purchase orders) is below its minimum, the shortfall is the
    quantity that brings it back to the maximum, rounded up to the rule's multiple. A
    store's shortfall is covered from the DC while the DC's free stock (on hand - reserved
    - its own minimum) lasts, stores taken in warehouse order; the rest is bought from the
    product's preferred supplier, rounded up to its pack size and minimum order. Earlier
    draft runs are superseded."""
    session = _session()
    R, Q = wh.ReorderRule.__table__, wh.Quant.__table__
    T, TL = wh.Transfer.__table__, wh.TransferLine.__table__
    O, OL = PurchaseOrder.__table__, PurchaseOrderLine.__table__
    SP, P, PL = SupplierProduct.__table__, Product.__table__, ProposalLine.__table__
    num = sa.Numeric(14, 3)
    zero = sa.literal(0, type_=num)
    with session.begin_nested():
        session.execute(sa.update(ReplenishRun).where(ReplenishRun.state == "draft").values(state="superseded"))
        run = ReplenishRun(state="draft", user_id=_user_id(user), created_at=utcnow(),
                           warehouse_ids=",".join(str(int(i)) for i in warehouse_ids) if warehouse_ids else None)
        session.add(run)
        session.flush()
        dc_id = _dc_warehouse_id()

        transfers = (sa.select(T.c.to_warehouse_id.label("warehouse_id"), TL.c.product_id,
                               sa.func.sum(TL.c.quantity).label("qty"))
                     .select_from(TL.join(T, T.c.id == TL.c.transfer_id))
                     .where(T.c.state.in_(("draft", "shipped")))
                     .group_by(T.c.to_warehouse_id, TL.c.product_id).cte("tin"))
        purchases = (sa.select(O.c.warehouse_id, OL.c.product_id,
                               sa.func.sum(OL.c.quantity - OL.c.received_qty).label("qty"))
                     .select_from(OL.join(O, O.c.id == OL.c.order_id))
                     .where(O.c.state.in_(OPEN_ORDER_STATES), OL.c.closed.is_(False), OL.c.quantity > OL.c.received_qty)
                     .group_by(O.c.warehouse_id, OL.c.product_id).cte("pin"))

        if session.get_bind().dialect.name == "postgresql":
            # PostgreSQL: one hash aggregate of the quants joined to the rules; no JIT for
            # this one statement (compiling it costs more than it saves)
            session.execute(sa.text("SET LOCAL jit = off"))
            session.execute(sa.text("SET LOCAL work_mem = '128MB'"))
            stock = (sa.select(Q.c.warehouse_id, Q.c.product_id, sa.func.sum(Q.c.on_hand).label("oh"),
                               sa.func.sum(Q.c.reserved).label("rs"))
                     .where(Q.c.warehouse_id.is_not(None)).group_by(Q.c.warehouse_id, Q.c.product_id).subquery())
            oh, rs = sa.func.coalesce(stock.c.oh, zero), sa.func.coalesce(stock.c.rs, zero)
            cand_sel = (sa.select(R.c.product_id, R.c.warehouse_id, R.c.min_qty, R.c.max_qty, R.c.multiple,
                                  oh.label("oh"), rs.label("rs"))
                        .select_from(R.outerjoin(stock, sa.and_(stock.c.warehouse_id == R.c.warehouse_id,
                                                                stock.c.product_id == R.c.product_id)))
                        .where(R.c.active.is_(True), oh - rs < R.c.min_qty - EPS))
        else:
            def stock_of(expr):
                # SQLite: one probe per rule into warehouse_quant (warehouse_id, product_id)
                return (sa.select(sa.func.coalesce(sa.func.sum(expr), zero))
                        .where(Q.c.warehouse_id == R.c.warehouse_id, Q.c.product_id == R.c.product_id)
                        .scalar_subquery())

            cand_sel = (sa.select(R.c.product_id, R.c.warehouse_id, R.c.min_qty, R.c.max_qty, R.c.multiple,
                                  stock_of(Q.c.on_hand).label("oh"), stock_of(Q.c.reserved).label("rs"))
                        .where(R.c.active.is_(True), stock_of(Q.c.on_hand - Q.c.reserved) < R.c.min_qty - EPS))
        # 1. candidates: rules whose stock alone (no incoming) is below the minimum, a superset
        #    of the answer
        if warehouse_ids:
            cand_sel = cand_sel.where(R.c.warehouse_id.in_([int(i) for i in warehouse_ids]))
        cand = cand_sel.cte("cand").prefix_with("MATERIALIZED")
        # 2. with what is already coming (transfers, open purchase orders), of active products
        inc = sa.func.coalesce(transfers.c.qty, zero) + sa.func.coalesce(purchases.c.qty, zero)
        projected = cand.c.oh - cand.c.rs + inc
        need = (sa.select(cand.c.product_id, cand.c.warehouse_id, cand.c.min_qty, cand.c.max_qty, cand.c.oh,
                          cand.c.rs, inc.label("inc"),
                          (_ceil((cand.c.max_qty - projected) / cand.c.multiple) * cand.c.multiple).label("shortfall"))
                .select_from(cand.join(P, P.c.id == cand.c.product_id)
                             .outerjoin(transfers, sa.and_(transfers.c.warehouse_id == cand.c.warehouse_id,
                                                           transfers.c.product_id == cand.c.product_id))
                             .outerjoin(purchases, sa.and_(purchases.c.warehouse_id == cand.c.warehouse_id,
                                                           purchases.c.product_id == cand.c.product_id)))
                .where(P.c.active.is_(True), projected < cand.c.min_qty - EPS)
                .cte("need"))

        if dc_id is not None:
            # the DC's free stock of the product: on hand - reserved - its own minimum
            if session.get_bind().dialect.name == "postgresql":
                dc_rule = sa.select(R.c.product_id, R.c.min_qty).where(R.c.warehouse_id == dc_id,
                                                                       R.c.active.is_(True)).subquery()
                dc_stock = (sa.select(Q.c.product_id, sa.func.sum(Q.c.on_hand - Q.c.reserved).label("avail"))
                            .where(Q.c.warehouse_id == dc_id).group_by(Q.c.product_id).subquery())
                dc_free = (sa.select(dc_stock.c.product_id,
                                     (dc_stock.c.avail - sa.func.coalesce(dc_rule.c.min_qty, zero)).label("free"))
                           .select_from(dc_stock.outerjoin(dc_rule, dc_rule.c.product_id == dc_stock.c.product_id))
                           .subquery())
                free = sa.func.coalesce(dc_free.c.free, zero)
                source = need.outerjoin(dc_free, dc_free.c.product_id == need.c.product_id)
            else:
                # SQLite builds no index on a derived table here: probe the indexes instead
                dc_avail = (sa.select(sa.func.coalesce(sa.func.sum(Q.c.on_hand - Q.c.reserved), zero))
                            .where(Q.c.warehouse_id == dc_id, Q.c.product_id == need.c.product_id)
                            .scalar_subquery())
                dc_min = (sa.select(sa.func.coalesce(sa.func.max(R.c.min_qty), zero))
                          .where(R.c.warehouse_id == dc_id, R.c.product_id == need.c.product_id,
                                 R.c.active.is_(True))
                          .scalar_subquery())
                free = dc_avail - dc_min
                source = need
            running = sa.func.sum(need.c.shortfall).over(
                partition_by=need.c.product_id, order_by=need.c.warehouse_id,
                rows=(None, 0))
            alloc = (sa.select(need, sa.case((sa.and_(need.c.warehouse_id != dc_id,
                                                      running <= free + EPS),
                                               sa.literal("transfer")), else_=sa.literal("buy")).label("action"))
                     .select_from(source).cte("alloc"))
        else:
            alloc = sa.select(need, sa.literal("buy").label("action")).cte("alloc")

        ranked = (sa.select(SP.c.product_id, SP.c.supplier_id, SP.c.unit_price, SP.c.pack_size, SP.c.min_qty,
                            sa.func.row_number().over(partition_by=SP.c.product_id,
                                                      order_by=(SP.c.preferred.desc(), SP.c.unit_price, SP.c.id))
                            .label("rn"))
                  .where(SP.c.active.is_(True)).subquery())
        best = sa.select(ranked).where(ranked.c.rn == 1).cte("best")
        is_buy = alloc.c.action == "buy"
        packed = _ceil(alloc.c.shortfall / best.c.pack_size) * best.c.pack_size
        buy_qty = sa.case((best.c.pack_size.is_(None), alloc.c.shortfall),
                          (packed < best.c.min_qty, best.c.min_qty), else_=packed)
        final = (sa.select(
            sa.literal(run.id).label("run_id"), alloc.c.product_id, alloc.c.warehouse_id, alloc.c.action,
            sa.case((is_buy, best.c.supplier_id), else_=sa.null()).label("supplier_id"),
            (sa.case((is_buy, sa.null()), else_=sa.literal(dc_id)) if dc_id is not None else sa.null())
            .label("source_warehouse_id"),
            alloc.c.oh, alloc.c.rs, alloc.c.inc, alloc.c.min_qty, alloc.c.max_qty, alloc.c.shortfall,
            sa.case((is_buy, buy_qty), else_=alloc.c.shortfall).label("quantity"),
            sa.case((is_buy, best.c.unit_price), else_=sa.null()).label("unit_price"),
            sa.true().label("selected"))
            .select_from(alloc.outerjoin(best, best.c.product_id == alloc.c.product_id)))
        cols = ["run_id", "product_id", "warehouse_id", "action", "supplier_id", "source_warehouse_id", "on_hand",
                "reserved", "incoming", "min_qty", "max_qty", "shortfall", "quantity", "unit_price", "selected"]
        result = session.execute(PL.insert().from_select(cols, final))
        count = result.rowcount
        if count is None or count < 0:
            count = session.scalar(sa.select(sa.func.count()).select_from(PL).where(PL.c.run_id == run.id))
        run.line_count = count
        session.flush()
    return run


def _run(run_id, *, draft=True) -> ReplenishRun:
    run = _session().get(ReplenishRun, run_id)
    if run is None:
        raise NotFound(_("There is no replenishment run #%(id)s.", id=run_id))
    if draft and run.state != "draft":
        raise Conflict(_("Replenishment run %(id)s is %(state)s: it can no longer be changed; start a new run.",
                         id=run.id, state=run.state))
    return run


def run_groups(run_id) -> list[dict]:
    """The proposed orders of a run: one group per (supplier, deliver-to warehouse) for
    purchases and per (DC, warehouse) for transfers, with line count and value."""
    PL = ProposalLine.__table__
    W = wh.Warehouse.__table__
    Pt = Partner.__table__
    stmt = (sa.select(PL.c.action, PL.c.supplier_id, Pt.c.name.label("supplier_name"), PL.c.warehouse_id,
                      W.c.code.label("warehouse_code"), PL.c.source_warehouse_id,
                      sa.func.count().label("lines"),
                      sa.func.sum(sa.case((PL.c.selected.is_(True), 1), else_=0)).label("selected_lines"),
                      sa.func.sum(PL.c.quantity).label("quantity"),
                      sa.func.sum(PL.c.quantity * sa.func.coalesce(PL.c.unit_price, 0)).label("value"),
                      sa.func.max(PL.c.order_id).label("order_id"), sa.func.max(PL.c.transfer_id).label("transfer_id"))
            .select_from(PL.join(W, W.c.id == PL.c.warehouse_id).outerjoin(Pt, Pt.c.id == PL.c.supplier_id))
            .where(PL.c.run_id == run_id)
            .group_by(PL.c.action, PL.c.supplier_id, Pt.c.name, PL.c.warehouse_id, W.c.code, PL.c.source_warehouse_id)
            .order_by(PL.c.action, Pt.c.name, W.c.code))
    out = []
    for r in _session().execute(stmt):
        out.append({"action": r.action, "supplier_id": r.supplier_id, "supplier_name": r.supplier_name,
                    "warehouse_id": r.warehouse_id, "warehouse_code": r.warehouse_code,
                    "source_warehouse_id": r.source_warehouse_id, "lines": r.lines,
                    "selected_lines": int(r.selected_lines or 0),
                    "quantity": Decimal(str(r.quantity or 0)).quantize(Q3),
                    "value": Decimal(str(r.value or 0)).quantize(C2, rounding=ROUND_HALF_UP),
                    "order_id": r.order_id, "transfer_id": r.transfer_id})
    return out


def update_proposal_line(line_id, *, quantity=None, supplier_id=None, action=None, selected=None) -> ProposalLine:
    """A buyer's edit of a proposal line before the run is turned into orders."""
    line = _session().get(ProposalLine, line_id)
    if line is None:
        raise NotFound(_("There is no proposal line #%(id)s.", id=line_id))
    _run(line.run_id)
    label = _label(line.product)
    if quantity is not None:
        line.quantity = _qty(quantity, _("Quantity"), ctx=_(" for %(product)s", product=label))
    if action is not None:
        if action not in ("buy", "transfer"):
            raise ValidationError(_("A proposal is 'buy' or 'transfer', not %(a)r.", a=action))
        if action == "transfer":
            dc = _dc_warehouse_id()
            if dc is None or dc == line.warehouse_id:
                raise ValidationError(_("%(product)s cannot be transferred: there is no distribution centre to "
                                        "send it from.", product=label))
            line.source_warehouse_id, line.supplier_id, line.unit_price = dc, None, None
        else:
            line.source_warehouse_id = None
            if line.supplier_id is None and supplier_id is None:
                terms = preferred_terms(line.product_id)
                if terms is not None:
                    line.supplier_id, line.unit_price = terms.supplier_id, terms.unit_price
        line.action = action
    if supplier_id is not None:
        supplier = _get_supplier(supplier_id)
        terms = terms_for(supplier.id, line.product_id)
        if terms is None or not terms.active:
            raise ValidationError(_("%(supplier)s has no terms for %(product)s.", supplier=supplier.name,
                                    product=label))
        line.supplier_id, line.unit_price, line.action, line.source_warehouse_id = (
            supplier.id, terms.unit_price, "buy", None)
    if selected is not None:
        line.selected = bool(selected)
    _session().flush()
    return line


def convert_run(run_id, *, line_ids=None, user=None, confirm: bool = False) -> dict:
    """Turn the selected lines of a run into draft purchase orders (one per supplier and
    deliver-to warehouse) and draft transfers from the DC (one per receiving warehouse),
    in one action. Returns ``{"orders": [...], "transfers": [...]}``."""
    run = _run(run_id)
    stmt = sa.select(ProposalLine).where(ProposalLine.run_id == run.id, ProposalLine.selected.is_(True),
                                         ProposalLine.order_id.is_(None), ProposalLine.transfer_id.is_(None))
    if line_ids is not None:
        stmt = stmt.where(ProposalLine.id.in_([int(i) for i in line_ids]))
    lines = _session().scalars(stmt.order_by(ProposalLine.id)).all()
    if not lines:
        raise ValidationError(_("No selected proposal lines to turn into orders."))
    missing = [l for l in lines if l.action == "buy" and l.supplier_id is None]
    if missing:
        raise ValidationError(_("%(product)s (for %(wh)s) has no supplier: choose one or unselect the line.",
                                product=_label(missing[0].product), wh=missing[0].warehouse.code))
    buys: dict[tuple, list] = defaultdict(list)
    moves: dict[tuple, list] = defaultdict(list)
    for l in lines:
        if l.action == "buy":
            buys[(l.supplier_id, l.warehouse_id)].append(l)
        else:
            moves[(l.source_warehouse_id, l.warehouse_id)].append(l)
    orders, transfers = [], []
    with _session().begin_nested():
        for (supplier_id, warehouse_id), group in sorted(buys.items()):
            order = create_order(supplier_id=supplier_id, warehouse_id=warehouse_id, user=user, run_id=run.id,
                                 lines=[{"product_id": l.product_id, "quantity": l.quantity} for l in group])
            if confirm:
                confirm_order(order.id, user=user)
            for l in group:
                l.order_id = order.id
            orders.append(order)
        for (source_id, warehouse_id), group in sorted(moves.items()):
            tr = wh.transfer(source_id, warehouse_id, [{"product_id": l.product_id, "quantity": l.quantity}
                                                       for l in group], note=_("Replenishment run %(id)s", id=run.id))
            for l in group:
                l.transfer_id = tr.id
            transfers.append(tr)
        remaining = _session().scalar(sa.select(sa.func.count()).select_from(ProposalLine).where(
            ProposalLine.run_id == run.id, ProposalLine.selected.is_(True), ProposalLine.order_id.is_(None),
            ProposalLine.transfer_id.is_(None)))
        if not remaining:
            run.state, run.converted_at = "done", utcnow()
        _session().flush()
    return {"orders": orders, "transfers": transfers}


# --- supplier performance ---------------------------------------------------------------------

def _days_between(later, earlier):
    if _session().get_bind().dialect.name == "postgresql":
        return sa.extract("epoch", later - sa.cast(earlier, sa.DateTime(timezone=True))) / 86400.0
    return sa.func.julianday(later) - sa.func.julianday(earlier)


def _as_date(col):
    if _session().get_bind().dialect.name == "postgresql":
        return sa.cast(col, sa.Date)
    return sa.func.date(col)


def supplier_performance(*, supplier_ids=None, date_from: dt.date | None = None,
                         date_to: dt.date | None = None) -> list[dict]:
    """Per supplier, computed in SQL over orders dated in the period (cancelled and drafts
    left out): ``orders``, ``receipts``, ``on_time_rate`` (receipts on or before the order's
    expected date / receipts), ``fill_rate`` (good quantity received, up to what was
    ordered / quantity ordered, on orders whose receiving is over: received, billed, or
    past their expected date) and ``avg_lead_time_days`` (order date to receipt)."""
    O, OL, RC = PurchaseOrder.__table__, PurchaseOrderLine.__table__, Receipt.__table__
    Pt = Partner.__table__
    conds = [O.c.state.notin_(("draft", "to_approve", "cancelled"))]
    if supplier_ids is not None:
        conds.append(O.c.supplier_id.in_(list(supplier_ids)))
    if date_from is not None:
        conds.append(O.c.order_date >= date_from)
    if date_to is not None:
        conds.append(O.c.order_date <= date_to)
    today = timeutil.today()
    rec = (sa.select(O.c.supplier_id, sa.func.count(sa.distinct(O.c.id)).label("orders"),
                     sa.func.count(RC.c.id).label("receipts"),
                     sa.func.sum(sa.case((_as_date(RC.c.received_at) <= O.c.expected_date, 1), else_=0)).label("on_time"),
                     sa.func.avg(_days_between(RC.c.received_at, O.c.order_date)).label("lead"))
           .select_from(O.outerjoin(RC, RC.c.order_id == O.c.id)).where(*conds).group_by(O.c.supplier_id)
           .subquery())
    good = OL.c.received_qty - OL.c.damaged_qty
    due = sa.or_(O.c.state.in_(("received", "billed")), O.c.expected_date < today)
    fill = (sa.select(O.c.supplier_id,
                      sa.func.sum(sa.case((good > OL.c.quantity, OL.c.quantity), else_=good)).label("good"),
                      sa.func.sum(OL.c.quantity).label("ordered"))
            .select_from(OL.join(O, O.c.id == OL.c.order_id)).where(*conds, due).group_by(O.c.supplier_id)
            .subquery())
    stmt = (sa.select(rec.c.supplier_id, Pt.c.name, rec.c.orders, rec.c.receipts, rec.c.on_time, rec.c.lead,
                      fill.c.good, fill.c.ordered)
            .select_from(rec.join(Pt, Pt.c.id == rec.c.supplier_id)
                         .outerjoin(fill, fill.c.supplier_id == rec.c.supplier_id))
            .order_by(Pt.c.name))
    out = []
    for r in _session().execute(stmt):
        receipts = int(r.receipts or 0)
        on_time = (Decimal(int(r.on_time or 0)) / receipts).quantize(U4) if receipts else None
        ordered = Decimal(str(r.ordered or 0))
        fill_rate = (Decimal(str(r.good or 0)) / ordered).quantize(U4) if ordered else None
        lead = Decimal(str(r.lead)).quantize(Decimal("0.1")) if r.lead is not None else None
        out.append({"supplier_id": r.supplier_id, "supplier_name": r.name, "orders": int(r.orders or 0),
                    "receipts": receipts, "on_time_rate": on_time, "fill_rate": fill_rate,
                    "avg_lead_time_days": lead})
    return out


def backfill_sources(since: dt.date, until: dt.date | None = None) -> list[tuple[str, object]]:
    """Past receipts and posted bills as ``(event name, document)`` pairs, for finance's
    backfill (documents dated on or after ``since`` and, if given, on or before ``until``)."""
    start, end = timeutil.any_zone_bounds(since, until)  # then each receipt on its store's local days
    rq = sa.select(Receipt).where(Receipt.received_at >= start).order_by(Receipt.id)
    bq = sa.select(VendorBill).where(VendorBill.state == "posted", VendorBill.bill_date >= since) \
        .order_by(VendorBill.id)
    if until is not None:
        rq = rq.where(Receipt.received_at < end)
        bq = bq.where(VendorBill.bill_date <= until)
    out: list[tuple[str, object]] = [("o2o_goods_received", r) for r in _session().scalars(rq)
                                     if timeutil.on_local_days(r.received_at, since, until, r.store_id)]
    out += [("o2o_vendor_bill_posted", b) for b in _session().scalars(bq)]
    return out
