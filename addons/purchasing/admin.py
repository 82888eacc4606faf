"""Purchasing admin: suppliers' terms, purchase orders (new order, confirm, approve, send,
cancel, PDF, receive), receipts, vendor bills (enter, post, release), replenishment (run,
review and edit lines, turn into orders in one action) and supplier performance.

Users limited to some stores see only those stores' orders, receipts and bills."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import Response, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user
from markupsafe import Markup, escape

from core.admin.views import BaseView, ModelView
from core.auth import user_can
from core.db import db
from core.errors import O2OError, ValidationError
from core.i18n import _, _l
from core.models import Partner, Product, Store

from addons.purchasing import services as ps
from addons.purchasing.models import (
    PriceBreak, ProposalLine, PurchaseOrder, Receipt, ReplenishRun, SupplierProduct, VendorBill,
)


def _check_csrf():
    from flask_wtf.csrf import validate_csrf
    validate_csrf(request.form.get("csrf_token"))


def _decimal(text, what):
    text = (text or "").strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValidationError(_("%(what)s %(value)r is not a number.", what=what, value=text)) from None


def parse_lines(text: str, *, with_price: bool) -> list[dict]:
    """Lines typed one per row: ``SKU-or-barcode quantity [unit price] [free]``."""
    lines = []
    for number, row in enumerate((text or "").splitlines(), start=1):
        parts = row.replace(";", " ").replace(",", " ").split()
        if not parts:
            continue
        ref = parts[0]
        product = db.session.scalar(sa.select(Product).where(sa.or_(Product.sku == ref, Product.barcode == ref)))
        if product is None:
            raise ValidationError(_("Row %(n)s: no product has the SKU or barcode %(ref)r.", n=number, ref=ref))
        if len(parts) < 2:
            raise ValidationError(_("Row %(n)s: give a quantity after %(ref)s.", n=number, ref=ref))
        entry = {"product_id": product.id, "quantity": _decimal(parts[1], _("Quantity"))}
        rest = parts[2:]
        if rest and rest[-1].lower() in ("free", "foc"):
            entry["free_of_charge"] = True
            rest = rest[:-1]
        if rest:
            entry["unit_price"] = _decimal(rest[0], _("Unit price"))
        elif with_price and not entry.get("free_of_charge"):
            raise ValidationError(_("Row %(n)s: give the billed unit price of %(ref)s.", n=number, ref=ref))
        lines.append(entry)
    if not lines:
        raise ValidationError(_("Enter at least one line."))
    return lines


class SupplierTermsView(ModelView):
    permission = "purchasing.supplier"
    column_list = ["supplier", "product.sku", "product.name", "supplier_code", "unit_price", "min_qty",
                   "pack_size", "lead_time_days", "preferred", "active"]
    column_labels = {"product.sku": _l("SKU"), "product.name": _l("Product"), "supplier_code": _l("Supplier's code"),
                     "min_qty": _l("Minimum order"), "lead_time_days": _l("Lead time (days)")}
    column_filters = ["supplier.name", "product.sku", "preferred", "active"]
    column_searchable_list = ["supplier_code", "product.sku", "product.name"]
    form_columns = ["supplier", "product", "supplier_code", "supplier_name", "unit_price", "min_qty", "pack_size",
                    "lead_time_days", "preferred", "active", "breaks"]
    form_ajax_refs = {"supplier": {"fields": ["name", "ref"], "page_size": 20},
                      "product": {"fields": ["sku", "name", "barcode"], "page_size": 20}}
    inline_models = [(PriceBreak, {"form_columns": ["id", "min_quantity", "unit_price"]})]

    def on_model_change(self, form, model, is_created):
        if model.supplier is not None and not model.supplier.is_supplier:
            raise ValueError(_("%(name)s is not marked as a supplier.", name=model.supplier.name))
        if model.unit_price is None or model.unit_price < 0:
            raise ValueError(_("The unit price cannot be negative."))
        if model.pack_size is None or model.pack_size <= 0:
            raise ValueError(_("The pack size must be more than zero."))
        super().on_model_change(form, model, is_created)

    def after_model_change(self, form, model, is_created):
        if model.preferred:
            ps.set_preferred_supplier(model.product_id, model.supplier_id)
            db.session.commit()


def _order_link(view, context, model, name):
    return Markup('<a href="{}">{}</a>'.format(url_for("purchasing_orders.details_view", id=model.id),
                                              escape(model.number)))


class PurchaseOrderView(ModelView):
    permission = "purchasing.order"
    store_field = "store_id"
    allow_create = allow_edit = allow_delete = False
    column_list = ["number", "state", "supplier", "warehouse", "order_date", "expected_date", "total"]
    column_details_list = ["number", "state", "supplier", "warehouse", "order_date", "expected_date", "supplier_ref",
                           "net_total", "tax_total", "total", "approved_at", "sent_at", "cancel_reason", "note"]
    column_filters = ["state", "supplier.name", "warehouse.code", "order_date", "expected_date", "number"]
    column_searchable_list = ["number", "supplier_ref"]
    column_default_sort = ("id", True)
    column_formatters = {"number": _order_link}
    details_template = "purchasing/order_details.html"
    list_template = "purchasing/order_list.html"

    def is_action_allowed(self, name):
        if name == "approve":
            return user_can(current_user, "purchasing.approve")
        return super().is_action_allowed(name)

    @action("confirm", _l("Confirm"), _l("Confirm the selected orders (above the limit they wait for approval)?"))
    def action_confirm(self, ids):
        self.run_service(ids, lambda i: ps.confirm_order(i, user=current_user._get_current_object()),
                         _("Confirmed."))

    @action("approve", _l("Approve"), _l("Approve the selected orders?"))
    def action_approve(self, ids):
        self.run_service(ids, lambda i: ps.approve_order(i, user=current_user._get_current_object()),
                         _("Approved."))

    @action("send", _l("Mark as sent"), _l("Mark the selected orders as sent to the supplier?"))
    def action_send(self, ids):
        self.run_service(ids, ps.send_order, _("Marked as sent."))

    @action("cancel", _l("Cancel"), _l("Cancel the selected orders?"))
    def action_cancel(self, ids):
        self.run_service(ids, lambda i: ps.cancel_order(i, _("cancelled in the admin")), _("Cancelled."))

    @action("bill", _l("Bill received goods"), _l("Create a draft bill for what was received and not billed?"))
    def action_bill(self, ids):
        if not user_can(current_user, "purchasing.bill.create"):
            self.refuse(_("You may not create vendor bills."))
        self.run_service(ids, lambda i: ps.bill_from_receipts(i, user=current_user._get_current_object()),
                         _("Draft bill created: see Vendor bills."))

    @expose("/pdf/<int:order_id>")
    def pdf_view(self, order_id):
        from addons.purchasing.reports import order_pdf
        order = self.get_one(str(order_id))
        if order is None:
            return redirect(url_for(".index_view"))
        filename = order.number.replace("/", "-") + ".pdf"
        return Response(order_pdf(order), mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{filename}"'})

    @expose("/new", methods=["GET", "POST"])
    def new_view(self):
        """A new order: supplier, deliver-to store or warehouse, lines typed as SKU qty [price]."""
        if not self.can("create"):
            return self.inaccessible_callback("new")
        store_ids = self.user_store_ids()
        stores = db.session.scalars(sa.select(Store).where(Store.active.is_(True)).order_by(Store.code)).all()
        stores = [s for s in stores if store_ids is None or s.id in store_ids]
        suppliers = db.session.scalars(sa.select(Partner).where(Partner.is_supplier.is_(True),
                                                                Partner.active.is_(True)).order_by(Partner.name)).all()
        form = request.form
        if request.method == "POST":
            try:
                _check_csrf()
                store_id = int(form.get("store_id") or 0)
                if store_ids is not None and store_id not in store_ids:
                    raise ValidationError(_("You can only order for your own stores."))
                order = ps.create_order(supplier_id=int(form.get("supplier_id") or 0), store_id=store_id,
                                        supplier_ref=form.get("supplier_ref") or None, note=form.get("note") or None,
                                        lines=parse_lines(form.get("lines"), with_price=False),
                                        user=current_user._get_current_object())
                if form.get("confirm"):
                    ps.confirm_order(order.id, user=current_user._get_current_object())
                db.session.commit()
                flash(_("Purchase order %(number)s created (%(state)s).", number=order.number, state=order.state),
                      "success")
                return redirect(url_for(".details_view", id=order.id))
            except (O2OError, ValueError) as exc:
                db.session.rollback()
                flash(getattr(exc, "message", str(exc)), "error")
        return self.render("purchasing/order_new.html", stores=stores, suppliers=suppliers, form=form)

    @expose("/receive/<int:order_id>", methods=["GET", "POST"])
    def receive_view(self, order_id):
        """Receive a delivery: quantity, damaged and 'no more coming' per line."""
        if not user_can(current_user, "purchasing.receipt.receive"):
            return self.inaccessible_callback("receive")
        order = self.get_one(str(order_id))
        if order is None:
            return redirect(url_for(".index_view"))
        if request.method == "POST":
            try:
                _check_csrf()
                lines = []
                for line in order.lines:
                    qty = _decimal(request.form.get(f"qty_{line.id}"), _("Quantity"))
                    close = bool(request.form.get(f"close_{line.id}"))
                    if (qty is None or qty == 0) and not close:
                        continue
                    lines.append({"order_line_id": line.id, "quantity": qty or Decimal(0),
                                  "damaged": _decimal(request.form.get(f"damaged_{line.id}"), _("Damaged")) or 0,
                                  "close": close})
                if not lines:
                    raise ValidationError(_("Enter the quantities received."))
                receipt = ps.receive_order(order.id, lines, supplier_ref=request.form.get("supplier_ref") or None,
                                           user=current_user._get_current_object())
                db.session.commit()
                flash(_("Receipt %(number)s posted.", number=receipt.number)
                      + (" " + _("Backorder: %(q)s still expected.", q=receipt.backorder_qty)
                         if receipt.has_backorder else ""), "success")
                return redirect(url_for(".details_view", id=order.id))
            except (O2OError, ValueError) as exc:
                db.session.rollback()
                flash(getattr(exc, "message", str(exc)), "error")
        return self.render("purchasing/order_receive.html", order=order)


class ReceiptView(ModelView):
    permission = "purchasing.receipt"
    store_field = "store_id"
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True
    column_list = ["number", "received_at", "order", "supplier", "warehouse", "value", "has_backorder"]
    column_filters = ["number", "received_at", "supplier.name", "has_backorder"]
    column_searchable_list = ["number", "supplier_ref"]
    column_default_sort = ("id", True)


def _mismatches(view, context, model, name):
    if not model.mismatches:
        return ""
    return Markup("<br>".join(escape(m.message) for m in model.mismatches))


class VendorBillView(ModelView):
    permission = "purchasing.bill"
    store_field = "store_id"
    allow_create = allow_edit = allow_delete = False
    column_list = ["number", "state", "supplier", "supplier_ref", "order", "bill_date", "due_date", "total",
                   "matched", "mismatches"]
    column_details_list = ["number", "state", "supplier", "supplier_ref", "order", "bill_date", "due_date",
                           "net_total", "tax_total", "total", "matched", "mismatches", "released_at",
                           "release_note", "posted_at"]
    column_formatters = {"mismatches": _mismatches}
    column_formatters_detail = {"mismatches": _mismatches}
    column_filters = ["state", "supplier.name", "bill_date", "due_date", "matched"]
    column_searchable_list = ["number", "supplier_ref"]
    column_default_sort = ("id", True)
    list_template = "purchasing/bill_list.html"

    def is_action_allowed(self, name):
        if name == "release":
            return user_can(current_user, "purchasing.release_bill")
        return super().is_action_allowed(name)

    @action("post", _l("Match and post"), _l("Match the selected bills with their orders and receipts?"))
    def action_post(self, ids):
        self.run_service(ids, lambda i: ps.post_bill(i, user=current_user._get_current_object()),
                         _("Matched: bills that agree are posted, the others are on hold."))

    @action("release", _l("Release from hold"), _l("Release the selected bills despite their mismatches?"))
    def action_release(self, ids):
        self.run_service(ids, lambda i: ps.release_bill(i, user=current_user._get_current_object()),
                         _("Released and posted."))

    @action("cancel", _l("Cancel"), _l("Cancel the selected bills?"))
    def action_cancel(self, ids):
        self.run_service(ids, ps.cancel_bill, _("Cancelled."))

    @expose("/enter", methods=["GET", "POST"])
    def enter_view(self):
        """Enter a supplier's invoice against an order: lines as SKU qty price."""
        if not self.can("create"):
            return self.inaccessible_callback("enter")
        form = request.form
        if request.method == "POST":
            try:
                _check_csrf()
                number = (form.get("order") or "").strip()
                order = db.session.scalar(sa.select(PurchaseOrder).where(PurchaseOrder.number == number))
                store_ids = self.user_store_ids()
                if order is None or (store_ids is not None and order.store_id not in store_ids):
                    raise ValidationError(_("There is no purchase order %(number)s.", number=number))
                user = current_user._get_current_object()
                if (form.get("lines") or "").strip():
                    bill = ps.create_bill(supplier_id=order.supplier_id, order_id=order.id,
                                          supplier_ref=form.get("supplier_ref") or None,
                                          lines=parse_lines(form.get("lines"), with_price=True), user=user)
                else:
                    bill = ps.bill_from_receipts(order.id, supplier_ref=form.get("supplier_ref") or None, user=user)
                if form.get("post"):
                    ps.post_bill(bill.id, user=user)
                db.session.commit()
                flash(_("Vendor bill %(number)s: %(state)s.", number=bill.number, state=bill.state.replace("_", " ")),
                      "success" if bill.state != "on_hold" else "warning")
                return redirect(url_for(".details_view", id=bill.id))
            except (O2OError, ValueError) as exc:
                db.session.rollback()
                flash(getattr(exc, "message", str(exc)), "error")
        return self.render("purchasing/bill_enter.html", form=form)


class ProposalLineView(ModelView):
    """The lines of the current replenishment run: edit quantities, then create the orders."""
    permission = "purchasing.replenish"
    allow_create = allow_delete = False
    simple_list_pager = True
    can_view_details = False
    column_list = ["action", "supplier.name", "warehouse.code", "product.sku", "product.name", "on_hand",
                   "reserved", "incoming", "min_qty", "max_qty", "shortfall", "quantity", "unit_price", "selected",
                   "order_id", "transfer_id"]
    column_labels = {"supplier.name": _l("Supplier"), "warehouse.code": _l("Deliver to"), "product.sku": _l("SKU"),
                     "product.name": _l("Product")}
    column_editable_list = ["quantity", "selected"]
    column_filters = ["action", "supplier.name", "warehouse.code", "product.sku", "selected"]
    column_sortable_list = ["id"]
    form_columns = ["quantity", "selected"]

    def get_query(self):
        run_id = db.session.scalar(sa.select(sa.func.max(ReplenishRun.id)))
        return super().get_query().filter(ProposalLine.run_id == (run_id or -1))

    def get_count_query(self):
        run_id = db.session.scalar(sa.select(sa.func.max(ReplenishRun.id)))
        return super().get_count_query().filter(ProposalLine.run_id == (run_id or -1))

    def update_model(self, form, model):
        try:
            ps.update_proposal_line(model.id, quantity=form.quantity.data if "quantity" in form else None,
                                    selected=form.selected.data if "selected" in form else None)
            db.session.commit()
            return True
        except O2OError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return False

    @action("create_orders", _l("Create orders and transfers"),
            _l("Turn the selected lines into draft purchase orders and transfers?"))
    def action_create_orders(self, ids):
        if not user_can(current_user, "purchasing.replenish.convert"):
            self.refuse(_("You may not turn proposals into orders."))
        try:
            line = db.session.get(ProposalLine, int(ids[0]))
            result = ps.convert_run(line.run_id, line_ids=[int(i) for i in ids],
                                    user=current_user._get_current_object())
            db.session.commit()
            flash(_("%(o)s purchase order(s) and %(t)s transfer(s) created.", o=len(result["orders"]),
                    t=len(result["transfers"])), "success")
        except O2OError as exc:
            db.session.rollback()
            flash(exc.message, "error")


class ReplenishView(BaseView):
    """Run the replenishment, see the proposed orders grouped by supplier and warehouse,
    and turn them all into orders in one click."""
    permission = "purchasing.replenish"

    @expose("/", methods=["GET", "POST"])
    def index(self):
        run = db.session.scalar(sa.select(ReplenishRun).order_by(ReplenishRun.id.desc()).limit(1))
        if request.method == "POST":
            try:
                _check_csrf()
                what = request.form.get("do")
                user = current_user._get_current_object()
                if what == "run":
                    if not self.can("run"):
                        return self.inaccessible_callback("run")
                    run = ps.run_replenishment(user=user)
                    db.session.commit()
                    flash(_("%(n)s line(s) proposed.", n=run.line_count), "success")
                elif what == "convert" and run is not None:
                    if not self.can("convert"):
                        return self.inaccessible_callback("convert")
                    result = ps.convert_run(run.id, user=user)
                    db.session.commit()
                    flash(_("%(o)s purchase order(s) and %(t)s transfer(s) created.", o=len(result["orders"]),
                            t=len(result["transfers"])), "success")
                return redirect(url_for(".index"))
            except O2OError as exc:
                db.session.rollback()
                flash(exc.message, "error")
        groups = ps.run_groups(run.id) if run is not None else []
        return self.render("purchasing/replenish.html", run=run, groups=groups)


class PerformanceView(BaseView):
    permission = "purchasing.performance"

    @expose("/")
    def index(self):
        return self.render("purchasing/performance.html", rows=ps.supplier_performance())


def views():
    return [
        PurchaseOrderView(PurchaseOrder, name=_l("Purchase orders"), endpoint="purchasing_orders"),
        ReceiptView(Receipt, name=_l("Goods receipts"), endpoint="purchasing_receipts"),
        VendorBillView(VendorBill, name=_l("Vendor bills"), endpoint="purchasing_bills"),
        SupplierTermsView(SupplierProduct, name=_l("Suppliers' prices"), endpoint="purchasing_terms"),
        ReplenishView(name=_l("Replenishment"), endpoint="purchasing_replenish"),
        ProposalLineView(ProposalLine, name=_l("Replenishment lines"), endpoint="purchasing_proposals"),
        PerformanceView(name=_l("Supplier performance"), endpoint="purchasing_performance"),
    ]
