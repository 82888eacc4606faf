"""Purchasing API under /api/v1/purchasing.

An order for a shop, approved, received in two deliveries and billed::

    PUT  /api/v1/purchasing/terms
    {"supplier_id": 7, "product_id": 12, "unit_price": "4.00", "lead_time_days": 5,
     "pack_size": "6", "min_qty": "12", "preferred": true,
     "breaks": [{"min_quantity": "100", "unit_price": "3.50"}]}
    POST /api/v1/purchasing/orders
    {"supplier_id": 7, "store_id": 3, "lines": [{"product_id": 12, "quantity": "48"}]}
    -> 201 {"id": 5, "number": "PO/2026/00005", "state": "draft", "total": "325.44", ...}
    POST /api/v1/purchasing/orders/5/confirm          -> approved, or to_approve above the limit
    POST /api/v1/purchasing/orders/5/approve          -> (purchasing.approve; not the creator)
    GET  /api/v1/purchasing/orders/5/pdf              -> application/pdf
    POST /api/v1/purchasing/orders/5/receipts
    {"lines": [{"product_id": 12, "quantity": "30", "damaged": "1"}]}
    POST /api/v1/purchasing/orders/5/bill  {"supplier_ref": "INV-7781", "prices": {"12": "4.20"}}
    POST /api/v1/purchasing/bills/9/post               -> posted, or on_hold with its mismatches
    POST /api/v1/purchasing/bills/9/release            -> (purchasing.release_bill)

Replenishment: ``POST /replenishment/runs`` proposes, ``GET /replenishment/runs/<id>`` shows
the proposed orders grouped by supplier and warehouse, ``PATCH /replenishment/lines/<id>``
edits a line, ``POST /replenishment/runs/<id>/convert`` turns the run into orders and
transfers in one action. Users limited to some stores only see those stores' documents.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import pydantic
import sqlalchemy as sa
from flask import current_app, g

from core.api import (ApiBlueprint, Count32, Page, PercentIn, QuantityIn, RowId, RowIdKey, RowIds, UnitPriceIn,
                      paginate)
from core.db import db
from core.errors import NotFound
from core.i18n import _

from addons.purchasing import services as ps


# --- schemas ---------------------------------------------------------------------------------

class _In(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class BreakIn(_In):
    min_quantity: QuantityIn
    unit_price: UnitPriceIn


class TermsIn(_In):
    supplier_id: RowId
    product_id: RowId
    unit_price: UnitPriceIn
    supplier_code: str | None = pydantic.Field(None, max_length=64)
    supplier_name: str | None = pydantic.Field(None, max_length=256)
    min_qty: QuantityIn = Decimal(0)
    pack_size: QuantityIn = Decimal(1)
    lead_time_days: Count32 = 7
    preferred: bool | None = None
    active: bool = True
    breaks: list[BreakIn] | None = None


class TermsQuery(Page):
    supplier_id: RowId | None = None
    product_id: RowId | None = None


class PreferredIn(_In):
    supplier_id: RowId


class OrderLineIn(_In):
    product_id: RowId
    quantity: QuantityIn
    unit_price: UnitPriceIn | None = pydantic.Field(None, description="net; default: the supplier's price")
    free_of_charge: bool = False
    description: str | None = pydantic.Field(None, max_length=256)


class OrderIn(_In):
    supplier_id: RowId
    warehouse_id: RowId | None = None
    store_id: RowId | None = pydantic.Field(None, description="deliver to this store's warehouse")
    order_date: dt.date | None = None
    supplier_ref: str | None = pydantic.Field(None, max_length=64)
    note: str | None = None
    lines: list[OrderLineIn] = pydantic.Field(min_length=1)
    confirm: bool = False


class LinePatch(_In):
    quantity: QuantityIn | None = None
    unit_price: UnitPriceIn | None = None
    free_of_charge: bool | None = None


class CancelIn(_In):
    reason: str = pydantic.Field("", max_length=2000)


class OrderQuery(Page):
    state: str | None = None
    supplier_id: RowId | None = None
    store_id: RowId | None = None
    warehouse_id: RowId | None = None
    number: str | None = None


class ReceiptLineIn(_In):
    order_line_id: RowId | None = None
    product_id: RowId | None = None
    quantity: QuantityIn
    damaged: QuantityIn = Decimal(0)
    close: bool = pydantic.Field(False, description="the supplier will not deliver the rest of the line")


class ReceiptIn(_In):
    lines: list[ReceiptLineIn] | None = pydantic.Field(None, description="default: everything outstanding")
    supplier_ref: str | None = pydantic.Field(None, max_length=64)
    note: str | None = None
    close_short: bool = False
    received_at: dt.datetime | None = None


class ReceiptQuery(Page):
    order_id: RowId | None = None
    supplier_id: RowId | None = None
    store_id: RowId | None = None


class BillLineIn(_In):
    order_line_id: RowId | None = None
    product_id: RowId | None = None
    quantity: QuantityIn
    unit_price: UnitPriceIn
    tax_rate: PercentIn | None = None
    free_of_charge: bool = False
    description: str | None = pydantic.Field(None, max_length=256)


class BillIn(_In):
    supplier_id: RowId
    order_id: RowId | None = None
    supplier_ref: str | None = pydantic.Field(None, max_length=64)
    bill_date: dt.date | None = None
    due_date: dt.date | None = None
    lines: list[BillLineIn] = pydantic.Field(min_length=1)
    post: bool = False


class BillFromReceiptsIn(_In):
    supplier_ref: str | None = pydantic.Field(None, max_length=64)
    bill_date: dt.date | None = None
    prices: dict[RowIdKey, UnitPriceIn] | None = pydantic.Field(None, description="product id -> billed unit price")
    post: bool = False


class ReleaseIn(_In):
    note: str | None = pydantic.Field(None, max_length=2000)


class BillQuery(Page):
    state: Literal["draft", "on_hold", "posted", "cancelled"] | None = None
    supplier_id: RowId | None = None
    order_id: RowId | None = None


class RunIn(_In):
    warehouse_ids: RowIds | None = None


class ProposalQuery(Page):
    action: Literal["buy", "transfer"] | None = None
    supplier_id: RowId | None = None
    warehouse_id: RowId | None = None


class ProposalPatch(_In):
    quantity: QuantityIn | None = None
    supplier_id: RowId | None = None
    action: Literal["buy", "transfer"] | None = None
    selected: bool | None = None


class ConvertIn(_In):
    line_ids: RowIds | None = None
    confirm: bool = pydantic.Field(False, description="also confirm the new orders")


class PerformanceQuery(_In):
    supplier_id: RowId | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


# --- serialisers -------------------------------------------------------------------------------

def terms_out(t: ps.SupplierProduct) -> dict:
    return {"id": t.id, "supplier_id": t.supplier_id, "supplier": t.supplier.name, "product_id": t.product_id,
            "sku": t.product.sku, "supplier_code": t.supplier_code, "supplier_name": t.supplier_name,
            "unit_price": t.unit_price, "min_qty": t.min_qty, "pack_size": t.pack_size,
            "lead_time_days": t.lead_time_days, "preferred": t.preferred, "active": t.active,
            "breaks": [{"min_quantity": b.min_quantity, "unit_price": b.unit_price} for b in t.breaks]}


def order_out(o: ps.PurchaseOrder, lines: bool = True) -> dict:
    out = {"id": o.id, "number": o.number, "state": o.state, "supplier_id": o.supplier_id,
           "supplier": o.supplier.name, "warehouse_id": o.warehouse_id, "store_id": o.store_id,
           "order_date": o.order_date, "expected_date": o.expected_date, "supplier_ref": o.supplier_ref,
           "currency": o.currency, "net_total": o.net_total, "tax_total": o.tax_total, "total": o.total,
           "needs_approval": ps.needs_approval(o), "created_by_id": o.created_by_id,
           "approved_by_id": o.approved_by_id, "approved_at": o.approved_at, "sent_at": o.sent_at,
           "cancelled_at": o.cancelled_at, "cancel_reason": o.cancel_reason, "run_id": o.run_id}
    if lines:
        out["lines"] = [{"id": l.id, "sequence": l.sequence, "product_id": l.product_id,
                         "description": l.description, "supplier_code": l.supplier_code, "quantity": l.quantity,
                         "unit_price": l.unit_price, "free_of_charge": l.free_of_charge, "tax_rate": l.tax_rate,
                         "net_amount": l.net_amount, "tax_amount": l.tax_amount, "expected_date": l.expected_date,
                         "received_qty": l.received_qty, "damaged_qty": l.damaged_qty, "billed_qty": l.billed_qty,
                         "closed": l.closed, "backorder_qty": l.outstanding, "short_qty": l.short_qty}
                        for l in o.lines]
        out["backorder_qty"] = sum((l.outstanding for l in o.lines), Decimal(0))
    return out


def receipt_out(r: ps.Receipt) -> dict:
    return {"id": r.id, "number": r.number, "order_id": r.order_id, "order_number": r.order.number,
            "warehouse_id": r.warehouse_id, "store_id": r.store_id, "supplier_id": r.supplier_id,
            "received_at": r.received_at, "supplier_ref": r.supplier_ref, "value": r.value,
            "has_backorder": r.has_backorder, "backorder_qty": r.backorder_qty,
            "lines": [{"id": l.id, "order_line_id": l.order_line_id, "product_id": l.product_id,
                       "quantity": l.quantity, "damaged_quantity": l.damaged_quantity, "unit_cost": l.unit_cost,
                       "value": l.value, "closed_short": l.closed_short} for l in r.lines]}


def bill_out(b: ps.VendorBill) -> dict:
    return {"id": b.id, "number": b.number, "state": b.state, "on_hold": b.on_hold, "matched": b.matched,
            "supplier_id": b.supplier_id, "supplier_ref": b.supplier_ref, "order_id": b.order_id,
            "bill_date": b.bill_date, "due_date": b.due_date, "net_total": b.net_total, "tax_total": b.tax_total,
            "total": b.total, "released_by_id": b.released_by_id, "released_at": b.released_at,
            "posted_at": b.posted_at,
            "lines": [{"id": l.id, "order_line_id": l.order_line_id, "product_id": l.product_id,
                       "quantity": l.quantity, "unit_price": l.unit_price, "tax_rate": l.tax_rate,
                       "net_amount": l.net_amount, "tax_amount": l.tax_amount,
                       "quantity_matched": l.quantity_matched, "price_matched": l.price_matched}
                      for l in b.lines],
            "mismatches": [{"kind": m.kind, "product_id": m.product_id, "bill_line_id": m.bill_line_id,
                            "ordered": m.ordered, "received": m.received, "billed": m.billed, "message": m.message}
                           for m in b.mismatches]}


def proposal_out(l: ps.ProposalLine) -> dict:
    return {"id": l.id, "run_id": l.run_id, "product_id": l.product_id, "sku": l.product.sku,
            "warehouse_id": l.warehouse_id, "action": l.action, "supplier_id": l.supplier_id,
            "source_warehouse_id": l.source_warehouse_id, "on_hand": l.on_hand, "reserved": l.reserved,
            "incoming": l.incoming, "min_qty": l.min_qty, "max_qty": l.max_qty, "shortfall": l.shortfall,
            "quantity": l.quantity, "unit_price": l.unit_price, "selected": l.selected, "order_id": l.order_id,
            "transfer_id": l.transfer_id}


def run_out(run: ps.ReplenishRun) -> dict:
    return {"id": run.id, "state": run.state, "created_at": run.created_at, "line_count": run.line_count,
            "converted_at": run.converted_at, "groups": ps.run_groups(run.id)}


# --- store scoping -------------------------------------------------------------------------------

def _store_ids():
    user = getattr(g, "api_user", None)
    return None if user is None else user.store_ids


def _scoped(stmt, column):
    ids = _store_ids()
    if ids is None:
        return stmt
    return stmt.where(column.in_(ids or [-1]))


def _visible(obj, what):
    ids = _store_ids()
    if ids is not None and getattr(obj, "store_id", None) not in ids:
        raise NotFound(_("There is no %(what)s #%(id)s.", what=what, id=obj.id))
    return obj


def _order(order_id):
    return _visible(ps.get_order(order_id), _("purchase order"))


def _bill(bill_id):
    return _visible(ps.get_bill(bill_id), _("vendor bill"))


def blueprint() -> ApiBlueprint:
    bp = ApiBlueprint("purchasing_api", __name__, url_prefix="/purchasing")

    # --- terms ---
    @bp.endpoint("/terms", methods=["GET"], permission="purchasing.supplier.read", query=TermsQuery)
    def list_terms(query: TermsQuery):
        """Suppliers' terms (filter by supplier or product)."""
        stmt = sa.select(ps.SupplierProduct).order_by(ps.SupplierProduct.id)
        if query.supplier_id:
            stmt = stmt.where(ps.SupplierProduct.supplier_id == query.supplier_id)
        if query.product_id:
            stmt = stmt.where(ps.SupplierProduct.product_id == query.product_id)
        return paginate(stmt, query, terms_out)

    @bp.endpoint("/terms", methods=["PUT"], permission="purchasing.supplier.edit", body=TermsIn)
    def put_terms(body: TermsIn):
        """Create or change a supplier's terms for a product."""
        data = body.model_dump(exclude={"supplier_id", "product_id", "breaks"})
        breaks = None if body.breaks is None else [(b.min_quantity, b.unit_price) for b in body.breaks]
        return terms_out(ps.set_supplier_terms(body.supplier_id, body.product_id, breaks=breaks, **data))

    @bp.endpoint("/products/<int:product_id>/preferred-supplier", methods=["PUT"],
                 permission="purchasing.supplier.edit", body=PreferredIn)
    def put_preferred(product_id: int, body: PreferredIn):
        """Make a supplier the product's preferred one."""
        return terms_out(ps.set_preferred_supplier(product_id, body.supplier_id))

    # --- orders ---
    @bp.endpoint("/orders", methods=["GET"], permission="purchasing.order.read", query=OrderQuery)
    def list_orders(query: OrderQuery):
        """Purchase orders, newest first."""
        O = ps.PurchaseOrder
        stmt = _scoped(sa.select(O).order_by(O.id.desc()), O.store_id)
        for field in ("state", "supplier_id", "store_id", "warehouse_id", "number"):
            value = getattr(query, field)
            if value is not None:
                stmt = stmt.where(getattr(O, field) == value)
        return paginate(stmt, query, lambda o: order_out(o, lines=False))

    @bp.endpoint("/orders", methods=["POST"], permission="purchasing.order.create", body=OrderIn, status=201)
    def create_order(body: OrderIn):
        """Create a purchase order (draft; ``confirm`` confirms it at once)."""
        ids = _store_ids()
        order = ps.create_order(supplier_id=body.supplier_id, warehouse_id=body.warehouse_id, store_id=body.store_id,
                                order_date=body.order_date, supplier_ref=body.supplier_ref, note=body.note,
                                lines=[l.model_dump() for l in body.lines], user=g.api_user)
        if ids is not None and order.store_id not in ids:
            from core.errors import PermissionDenied
            raise PermissionDenied(_("You can only order for your own stores."))
        if body.confirm:
            ps.confirm_order(order.id, user=g.api_user)
        return order_out(order)

    @bp.endpoint("/orders/<int:order_id>", methods=["GET"], permission="purchasing.order.read")
    def get_order(order_id: int):
        """One purchase order with its lines (received, billed, backorder)."""
        return order_out(_order(order_id))

    @bp.endpoint("/orders/<int:order_id>/lines", methods=["POST"], permission="purchasing.order.edit",
                 body=OrderLineIn, status=201)
    def add_line(order_id: int, body: OrderLineIn):
        """Add a line to a draft order."""
        _order(order_id)
        ps.add_order_line(order_id, body.model_dump())
        return order_out(ps.get_order(order_id))

    @bp.endpoint("/order-lines/<int:line_id>", methods=["PATCH"], permission="purchasing.order.edit",
                 body=LinePatch)
    def patch_line(line_id: int, body: LinePatch):
        """Change a line of a draft order."""
        line = ps.update_order_line(line_id, **body.model_dump())
        return order_out(_order(line.order_id))

    @bp.endpoint("/order-lines/<int:line_id>", methods=["DELETE"], permission="purchasing.order.edit")
    def delete_line(line_id: int):
        """Remove a line from a draft order."""
        return order_out(ps.remove_order_line(line_id))

    @bp.endpoint("/orders/<int:order_id>/confirm", methods=["POST"], permission="purchasing.order.confirm")
    def confirm(order_id: int):
        """Confirm: approved within the limit, else waiting for approval."""
        _order(order_id)
        return order_out(ps.confirm_order(order_id, user=g.api_user))

    @bp.endpoint("/orders/<int:order_id>/approve", methods=["POST"], permission="purchasing.approve")
    def approve(order_id: int):
        """Approve an order above the limit (not one's own)."""
        _order(order_id)
        return order_out(ps.approve_order(order_id, user=g.api_user))

    @bp.endpoint("/orders/<int:order_id>/send", methods=["POST"], permission="purchasing.order.send")
    def send(order_id: int):
        """Mark an approved order as sent to the supplier."""
        _order(order_id)
        return order_out(ps.send_order(order_id))

    @bp.endpoint("/orders/<int:order_id>/cancel", methods=["POST"], permission="purchasing.order.cancel",
                 body=CancelIn)
    def cancel(order_id: int, body: CancelIn):
        """Cancel an order nothing was received on."""
        _order(order_id)
        return order_out(ps.cancel_order(order_id, body.reason))

    @bp.endpoint("/orders/<int:order_id>/pdf", methods=["GET"], permission="purchasing.order.read")
    def order_pdf(order_id: int):
        """The purchase order as a PDF."""
        from addons.purchasing.reports import order_pdf as render
        order = _order(order_id)
        response = current_app.response_class(render(order), mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="{order.number.replace("/", "-")}.pdf"'
        return response

    # --- receipts ---
    @bp.endpoint("/orders/<int:order_id>/receipts", methods=["POST"], permission="purchasing.receipt.receive",
                 body=ReceiptIn, status=201)
    def receive(order_id: int, body: ReceiptIn):
        """Receive goods against an order (partial, short, over within tolerance, damaged)."""
        _order(order_id)
        lines = None if body.lines is None else [l.model_dump() for l in body.lines]
        receipt = ps.receive_order(order_id, lines, supplier_ref=body.supplier_ref, note=body.note,
                                   close_short=body.close_short, received_at=body.received_at, user=g.api_user)
        return receipt_out(receipt)

    @bp.endpoint("/receipts", methods=["GET"], permission="purchasing.receipt.read", query=ReceiptQuery)
    def list_receipts(query: ReceiptQuery):
        """Goods receipts, newest first."""
        R = ps.Receipt
        stmt = _scoped(sa.select(R).order_by(R.id.desc()), R.store_id)
        for field in ("order_id", "supplier_id", "store_id"):
            value = getattr(query, field)
            if value is not None:
                stmt = stmt.where(getattr(R, field) == value)
        return paginate(stmt, query, receipt_out)

    @bp.endpoint("/receipts/<int:receipt_id>", methods=["GET"], permission="purchasing.receipt.read")
    def get_receipt(receipt_id: int):
        """One goods receipt."""
        receipt = db.session.get(ps.Receipt, receipt_id)
        if receipt is None:
            raise NotFound(_("There is no goods receipt #%(id)s.", id=receipt_id))
        return receipt_out(_visible(receipt, _("goods receipt")))

    # --- bills ---
    @bp.endpoint("/bills", methods=["POST"], permission="purchasing.bill.create", body=BillIn, status=201)
    def create_bill(body: BillIn):
        """Enter a vendor bill (``post`` matches and posts it at once)."""
        if body.order_id is not None:
            _order(body.order_id)
        bill = ps.create_bill(supplier_id=body.supplier_id, order_id=body.order_id, supplier_ref=body.supplier_ref,
                              bill_date=body.bill_date, due_date=body.due_date,
                              lines=[l.model_dump() for l in body.lines], user=g.api_user)
        if body.post:
            ps.post_bill(bill.id, user=g.api_user)
        return bill_out(bill)

    @bp.endpoint("/orders/<int:order_id>/bill", methods=["POST"], permission="purchasing.bill.create",
                 body=BillFromReceiptsIn, status=201)
    def bill_order(order_id: int, body: BillFromReceiptsIn):
        """A bill for everything received and not billed on an order."""
        _order(order_id)
        bill = ps.bill_from_receipts(order_id, supplier_ref=body.supplier_ref, bill_date=body.bill_date,
                                     prices=body.prices, user=g.api_user)
        if body.post:
            ps.post_bill(bill.id, user=g.api_user)
        return bill_out(bill)

    @bp.endpoint("/bills", methods=["GET"], permission="purchasing.bill.read", query=BillQuery)
    def list_bills(query: BillQuery):
        """Vendor bills, newest first (``state=on_hold`` for the ones waiting for release)."""
        B = ps.VendorBill
        stmt = _scoped(sa.select(B).order_by(B.id.desc()), B.store_id)
        for field in ("state", "supplier_id", "order_id"):
            value = getattr(query, field)
            if value is not None:
                stmt = stmt.where(getattr(B, field) == value)
        return paginate(stmt, query, bill_out)

    @bp.endpoint("/bills/<int:bill_id>", methods=["GET"], permission="purchasing.bill.read")
    def get_bill(bill_id: int):
        """One vendor bill with its match flags and mismatches."""
        return bill_out(_bill(bill_id))

    @bp.endpoint("/bills/<int:bill_id>/post", methods=["POST"], permission="purchasing.bill.post")
    def post_bill(bill_id: int):
        """Three-way match, then posted or on hold."""
        _bill(bill_id)
        return bill_out(ps.post_bill(bill_id, user=g.api_user))

    @bp.endpoint("/bills/<int:bill_id>/release", methods=["POST"], permission="purchasing.release_bill",
                 body=ReleaseIn)
    def release(bill_id: int, body: ReleaseIn):
        """Release a bill on hold: it is posted."""
        _bill(bill_id)
        return bill_out(ps.release_bill(bill_id, user=g.api_user, note=body.note))

    @bp.endpoint("/bills/<int:bill_id>/cancel", methods=["POST"], permission="purchasing.bill.edit")
    def cancel_bill(bill_id: int):
        """Cancel a draft bill or one on hold."""
        _bill(bill_id)
        return bill_out(ps.cancel_bill(bill_id))

    # --- replenishment ---
    @bp.endpoint("/replenishment/runs", methods=["POST"], permission="purchasing.replenish.run", body=RunIn,
                 status=201)
    def new_run(body: RunIn):
        """Propose orders and transfers from the warehouse reorder rules."""
        return run_out(ps.run_replenishment(body.warehouse_ids, user=g.api_user))

    @bp.endpoint("/replenishment/runs/<int:run_id>", methods=["GET"], permission="purchasing.replenish.read")
    def get_run(run_id: int):
        """A run with its proposed orders grouped by supplier and deliver-to warehouse."""
        run = db.session.get(ps.ReplenishRun, run_id)
        if run is None:
            raise NotFound(_("There is no replenishment run #%(id)s.", id=run_id))
        return run_out(run)

    @bp.endpoint("/replenishment/runs/<int:run_id>/lines", methods=["GET"], permission="purchasing.replenish.read",
                 query=ProposalQuery)
    def run_lines(run_id: int, query: ProposalQuery):
        """The proposal lines of a run."""
        PL = ps.ProposalLine
        stmt = sa.select(PL).where(PL.run_id == run_id).order_by(PL.id)
        for field in ("action", "supplier_id", "warehouse_id"):
            value = getattr(query, field)
            if value is not None:
                stmt = stmt.where(getattr(PL, field) == value)
        return paginate(stmt, query, proposal_out)

    @bp.endpoint("/replenishment/lines/<int:line_id>", methods=["PATCH"], permission="purchasing.replenish.edit",
                 body=ProposalPatch)
    def patch_proposal(line_id: int, body: ProposalPatch):
        """Edit a proposal line: quantity, supplier, buy or transfer, selected."""
        return proposal_out(ps.update_proposal_line(line_id, **body.model_dump()))

    @bp.endpoint("/replenishment/runs/<int:run_id>/convert", methods=["POST"],
                 permission="purchasing.replenish.convert", body=ConvertIn)
    def convert(run_id: int, body: ConvertIn):
        """Turn the selected lines into purchase orders and transfers, in one action."""
        result = ps.convert_run(run_id, line_ids=body.line_ids, user=g.api_user, confirm=body.confirm)
        return {"orders": [order_out(o, lines=False) for o in result["orders"]],
                "transfers": [{"id": t.id, "number": t.number, "from_warehouse_id": t.from_warehouse_id,
                               "to_warehouse_id": t.to_warehouse_id, "lines": len(t.lines)}
                              for t in result["transfers"]]}

    # --- performance ---
    @bp.endpoint("/performance", methods=["GET"], permission="purchasing.performance.read", query=PerformanceQuery)
    def performance(query: PerformanceQuery):
        """Supplier performance: on-time rate, fill rate, average lead time."""
        ids = [query.supplier_id] if query.supplier_id else None
        return {"items": ps.supplier_performance(supplier_ids=ids, date_from=query.date_from,
                                                 date_to=query.date_to)}

    return bp
