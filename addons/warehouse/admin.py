"""Admin screens: warehouses, locations, on-hand, the ledger, transfers, counts, reorder
rules and the valuation report. Users limited to some stores see only those stores'
warehouses (filtered in the query itself)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import Response, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from markupsafe import Markup, escape

from core.admin.views import BaseView, ModelView
from core.db import db
from core.errors import O2OError
from core.i18n import _, _l

from addons.warehouse import services
from addons.warehouse.models import (
    Count, Location, NegativeStock, ProductCost, Quant, ReorderRule, StockMove, Transfer, TransferLine,
    Warehouse,
)


def user_warehouse_ids():
    """None (all) or the ids of the warehouses of the current user's stores."""
    store_ids = current_user.store_ids if current_user.is_authenticated else []
    if store_ids is None:
        return None
    return list(db.session.scalars(sa.select(Warehouse.id).where(Warehouse.store_id.in_(store_ids or [-1]))))


class WarehouseScoped(ModelView):
    """Scope by a warehouse column (or an expression of warehouse ids) of the model."""
    warehouse_field: str = "warehouse_id"

    def warehouse_filter(self, warehouse_ids):
        return getattr(self.model, self.warehouse_field).in_(warehouse_ids or [-1])

    def scope(self, query):
        ids = user_warehouse_ids()
        return query if ids is None else query.filter(self.warehouse_filter(ids))

    def get_one(self, id):
        obj = super().get_one(str(id))
        ids = user_warehouse_ids()
        if obj is None or ids is None:
            return obj
        return obj if db.session.scalar(sa.select(self.model.id).where(
            self.model.id == obj.id, self.warehouse_filter(ids))) is not None else None

    def on_model_change(self, form, model, is_created):
        ids = user_warehouse_ids()
        if ids is not None:
            value = getattr(model, self.warehouse_field, None)
            if value is not None and value not in ids:
                raise ValueError(_("You can only record data for your own stores' warehouses."))
        super().on_model_change(form, model, is_created)


class WarehouseView(ModelView):
    permission = "warehouse.warehouse"
    store_field = "store_id"
    column_list = ["code", "name", "kind", "store", "till_short_stock", "active"]
    column_searchable_list = ["code", "name"]
    column_filters = ["kind", "active"]
    form_columns = ["code", "name", "kind", "store", "till_short_stock", "active"]
    form_choices = {"kind": [("store", _l("Store")), ("central", _l("Central (distribution centre)"))],
                    "till_short_stock": [("record", _l("Record the sale (stock goes negative, an exception is raised)")),
                                         ("refuse", _l("Refuse the sale at the till, before payment"))]}
    column_labels = {"till_short_stock": _l("Till sale short of stock")}

    def after_model_change(self, form, model, is_created):
        if is_created:
            services.stock_location(model.id)
            db.session.commit()


class LocationView(WarehouseScoped):
    permission = "warehouse.location"
    column_list = ["code", "name", "usage", "warehouse", "parent", "allow_negative", "active"]
    column_searchable_list = ["code", "name"]
    column_filters = ["usage", "active", "allow_negative", "warehouse.code"]
    form_columns = ["code", "name", "usage", "warehouse", "parent", "allow_negative", "active"]
    form_choices = {"usage": [("internal", _l("Stock (shelf)")), ("transit", _l("Transit")),
                              ("supplier", _l("Supplier")), ("customer", _l("Customer")),
                              ("inventory", _l("Inventory loss")), ("scrap", _l("Scrap"))]}
    form_ajax_refs = {"parent": {"fields": ["code", "name"], "page_size": 20},
                      "warehouse": {"fields": ["code", "name"], "page_size": 20}}
    allow_delete = False

    def on_model_change(self, form, model, is_created):
        if model.usage == "internal" and model.warehouse_id is None and model.parent is not None:
            model.warehouse_id = model.parent.warehouse_id
        super().on_model_change(form, model, is_created)


class QuantView(WarehouseScoped):
    """On hand and reserved, by product and warehouse."""
    permission = "warehouse.quant"
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True
    can_view_details = False
    column_list = ["product.sku", "product.name", "warehouse.code", "location.code", "on_hand", "reserved",
                   "available"]
    column_labels = {"product.sku": _l("SKU"), "product.name": _l("Product"), "warehouse.code": _l("Warehouse"),
                     "location.code": _l("Location"), "on_hand": _l("On hand"), "reserved": _l("Reserved"),
                     "available": _l("Available")}
    column_sortable_list = ["on_hand", "reserved"]
    column_filters = ["product.sku", "product.name", "warehouse.code", "location.code", "on_hand"]
    column_searchable_list = ["product.sku", "product.name", "product.barcode"]
    column_default_sort = ("id", False)


class AverageCostView(WarehouseScoped):
    """The moving average cost of each product in each warehouse (read-only: receipts and
    revaluations move it)."""
    permission = "warehouse.valuation"
    allow_create = allow_edit = allow_delete = False
    can_view_details = False
    column_list = ["product.sku", "product.name", "warehouse.code", "average_cost", "updated_at"]
    column_labels = {"product.sku": _l("SKU"), "product.name": _l("Product"), "warehouse.code": _l("Warehouse"),
                     "average_cost": _l("Average cost"), "updated_at": _l("Updated")}
    column_sortable_list = ["average_cost", "updated_at"]
    column_filters = ["product.sku", "product.name", "warehouse.code"]
    column_searchable_list = ["product.sku", "product.name", "product.barcode"]
    column_default_sort = ("updated_at", True)


class MoveView(ModelView):
    """The stock ledger: append-only, so read-only here."""
    permission = "warehouse.move"
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True
    column_list = ["id", "done_at", "product.sku", "product.name", "quantity", "from_location.code",
                   "to_location.code", "unit_cost", "value", "value_date", "source", "state"]
    column_labels = {"product.sku": _l("SKU"), "product.name": _l("Product"), "from_location.code": _l("From"),
                     "to_location.code": _l("To"), "done_at": _l("Date"), "source": _l("Document"),
                     "unit_cost": _l("Unit cost"), "value": _l("Value"), "value_date": _l("Value date")}
    column_default_sort = ("id", True)
    column_sortable_list = ["id", "done_at"]
    column_filters = ["product.sku", "product.name", "from_location.code", "to_location.code", "done_at",
                      "source", "state"]
    column_searchable_list = ["source"]

    def scope(self, query):
        ids = user_warehouse_ids()
        if ids is None:
            return query
        locs = sa.select(Location.id).where(Location.warehouse_id.in_(ids or [-1]))
        return query.filter(sa.or_(StockMove.from_location_id.in_(locs), StockMove.to_location_id.in_(locs)))

    def get_one(self, id):
        obj = super().get_one(str(id))
        if obj is None:
            return None
        return obj if self.scope(db.session.query(StockMove).filter(StockMove.id == obj.id)).first() else None


class TransferView(WarehouseScoped):
    permission = "warehouse.transfer"
    warehouse_field = "from_warehouse_id"
    column_list = ["number", "from_warehouse", "to_warehouse", "state", "shipped_at", "received_at"]
    column_filters = ["state", "number", "shipped_at"]
    column_searchable_list = ["number"]
    column_default_sort = ("id", True)
    form_columns = ["from_warehouse", "to_warehouse", "note", "lines"]
    inline_models = [(TransferLine, {"form_columns": ["id", "product", "quantity"],
                                     "form_ajax_refs": {"product": {"fields": ["sku", "name", "barcode"],
                                                                    "page_size": 20}}})]
    column_formatters = {"number": lambda v, c, m, n: Markup(
        '<a href="{}">{}</a>'.format(url_for(".receive_view", transfer_id=m.id), escape(m.number or m.id)))
        if m.state == "shipped" else (m.number or m.id)}
    allow_delete = False

    def warehouse_filter(self, warehouse_ids):
        return sa.or_(Transfer.from_warehouse_id.in_(warehouse_ids or [-1]),
                      Transfer.to_warehouse_id.in_(warehouse_ids or [-1]))

    def on_model_change(self, form, model, is_created):
        if not is_created and model.state != "draft":
            raise ValueError(_("Transfer %(number)s is %(state)s and can no longer be changed",
                               number=model.number, state=model.state))
        if model.from_warehouse is not None and model.from_warehouse is model.to_warehouse:
            raise ValueError(_("A transfer needs two different warehouses"))
        for line in model.lines:
            if line.quantity is None or line.quantity <= 0:
                raise ValueError(_("Every line of a transfer needs a quantity above zero (%(product)s)",
                                   product=line.product))
        if is_created:
            model.state = "draft"
        super().on_model_change(form, model, is_created)

    def after_model_change(self, form, model, is_created):
        if is_created and not model.number:
            model.number = f"TR{model.id:06d}"
            db.session.commit()

    @action("ship", _l("Ship"), _l("Take the goods out of the sending warehouse into transit?"))
    def action_ship(self, ids):
        self.run_service(ids, services.ship_transfer, _("Shipped."))

    @action("receive", _l("Receive in full"), _l("Receive every line as shipped?"))
    def action_receive(self, ids):
        self.run_service(ids, services.receive_transfer, _("Received."))

    @expose("/receive/<int:transfer_id>", methods=["GET", "POST"])
    def receive_view(self, transfer_id):
        """Receive with differences: received and damaged per line."""
        if not self.can("receive"):
            return self.inaccessible_callback("receive")
        tr = self.get_one(transfer_id)
        if tr is None:
            self.refuse(_("Not found or not yours."), 404)
        if request.method == "POST":
            from flask_wtf.csrf import validate_csrf
            try:
                validate_csrf(request.form.get("csrf_token"))
                lines = []
                for line in tr.lines:
                    lines.append({"line_id": line.id,
                                  "received": _decimal(request.form.get(f"received_{line.id}", "0")),
                                  "damaged": _decimal(request.form.get(f"damaged_{line.id}", "0") or "0")})
                services.receive_transfer(tr.id, lines)
                db.session.commit()
                flash(_("Transfer %(number)s received.", number=tr.number), "success")
                return redirect(url_for(".details_view", id=tr.id))
            except O2OError as exc:
                db.session.rollback()
                flash(exc.message, "error")
            except Exception as exc:  # bad CSRF token
                db.session.rollback()
                flash(str(exc), "error")
            tr = self.get_one(transfer_id)
        return self.render("warehouse/transfer_receive.html", transfer=tr)


def _decimal(text):
    try:
        return Decimal((text or "0").strip().replace(",", "."))
    except InvalidOperation:
        raise O2OError(_("%(value)r is not a quantity", value=text)) from None


class CountView(WarehouseScoped):
    permission = "warehouse.count"
    column_list = ["number", "warehouse", "location", "category", "state", "started_at", "validated_at",
                   "difference_value"]
    column_filters = ["state", "number", "validated_at"]
    column_searchable_list = ["number"]
    column_default_sort = ("id", True)
    form_columns = ["warehouse", "location", "category"]
    form_ajax_refs = {"location": {"fields": ["code", "name"], "page_size": 20}}
    allow_delete = False
    allow_edit = False
    column_formatters = {"number": lambda v, c, m, n: Markup(
        '<a href="{}">{}</a>'.format(url_for(".sheet_view", count_id=m.id), escape(m.number or m.id)))}

    def on_model_change(self, form, model, is_created):
        model.state = "draft"
        super().on_model_change(form, model, is_created)

    def after_model_change(self, form, model, is_created):
        if is_created and not model.number:
            model.number = f"CNT{model.id:06d}"
            db.session.commit()

    @action("start", _l("Start (freeze expected quantities)"))
    def action_start(self, ids):
        self.run_service(ids, services.start_count, _("Started: expected quantities are frozen."))

    @action("validate", _l("Validate (post differences)"), _l("Post every difference to inventory loss?"))
    def action_validate(self, ids):
        self.run_service(ids, services.validate_count, _("Validated: differences posted."))

    @expose("/sheet/<int:count_id>", methods=["GET", "POST"])
    def sheet_view(self, count_id):
        """Enter counted quantities, or import them from a scanner's CSV."""
        count = self.get_one(count_id)
        if count is None:
            self.refuse(_("Not found or not yours."), 404)
        status = 200
        if request.method == "POST":
            from flask_wtf.csrf import validate_csrf
            try:
                validate_csrf(request.form.get("csrf_token"))
                upload = request.files.get("csv")
                if upload is not None and upload.filename:
                    if not self.can("import"):
                        return self.inaccessible_callback("import")
                    # the upload's stream, read line by line (a big file is never held whole)
                    n = services.import_count_csv(count.id, upload.stream)
                    flash(_("%(n)s product(s) imported.", n=n), "success")
                else:
                    if not self.can("edit") and not self.can("start"):
                        return self.inaccessible_callback("edit")
                    for line in count.lines:
                        raw = request.form.get(f"counted_{line.id}", "").strip()
                        if raw != "":
                            services.set_counted(count.id, line.product_id, _decimal(raw), location_id=line.location_id)
                    flash(_("Counted quantities saved."), "success")
                db.session.commit()
                return redirect(url_for(".sheet_view", count_id=count.id))
            except O2OError as exc:
                db.session.rollback()
                flash(exc.message, "error")
                status = exc.status
            except HTTPException:  # a file over MAX_CONTENT_LENGTH: 413, not a flashed error text
                db.session.rollback()
                raise
            except Exception as exc:
                db.session.rollback()
                flash(str(exc), "error")
                status = 400  # a missing or stale CSRF token
            count = self.get_one(count_id)
        return self.render("warehouse/count_sheet.html", count=count), status


class ReorderRuleView(WarehouseScoped):
    permission = "warehouse.reorder"
    column_list = ["warehouse", "product", "min_qty", "max_qty", "multiple", "active"]
    column_filters = ["warehouse.code", "product.sku", "active"]
    column_searchable_list = ["product.sku", "product.name"]
    form_columns = ["warehouse", "product", "min_qty", "max_qty", "multiple", "active"]
    form_ajax_refs = {"product": {"fields": ["sku", "name", "barcode"], "page_size": 20}}

    def on_model_change(self, form, model, is_created):
        if model.min_qty is None or model.max_qty is None or model.min_qty < 0 or model.max_qty < model.min_qty:
            raise ValueError(_("The maximum must be at least the minimum, and neither below zero"))
        if model.multiple is None or model.multiple <= 0:
            raise ValueError(_("The multiple must be above zero"))
        super().on_model_change(form, model, is_created)


class ValuationView(BaseView):
    """Stock value by warehouse and category, on screen and as a PDF."""
    permission = "warehouse.valuation"

    def _as_of(self):
        """The ``as_of`` date of the query string (None: now); a bad one is said and ignored."""
        raw = (request.args.get("as_of") or "").strip()
        if not raw:
            return None
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            flash(_("%(value)s is not a date (YYYY-MM-DD): showing the stock now.", value=raw), "error")
            return None

    def _data(self, as_of=None):
        ids = user_warehouse_ids()
        return services.valuation(warehouse_ids=ids, as_of=as_of)

    @expose("/")
    def index(self):
        as_of = self._as_of()
        return self.render("warehouse/valuation.html", data=self._data(as_of), as_of=as_of,
                           currency=current_app.config.get("CURRENCY", ""))

    @expose("/pdf")
    def pdf(self):
        from addons.warehouse.reports import valuation_pdf
        as_of = self._as_of()
        title = _("Stock valuation as of %(date)s", date=as_of.isoformat()) if as_of else None
        body = valuation_pdf(self._data(as_of), title=title, currency=current_app.config.get("CURRENCY", ""))
        return Response(body, mimetype="application/pdf",
                        headers={"Content-Disposition": "inline; filename=stock-valuation.pdf"})


class NegativeStockView(WarehouseScoped):
    """Till sales that took book stock below what was there: count those products
    ("propose a count") and resolve."""
    permission = "warehouse.negative"
    allow_create = allow_edit = allow_delete = False
    column_list = ["created_at", "store", "warehouse", "location", "product", "quantity_short", "on_hand_after",
                   "source", "state", "count", "resolved_at"]
    column_default_sort = ("id", True)
    column_filters = ["state", "created_at", "store.code", "warehouse.code", "source"]
    column_searchable_list = ["source"]
    column_labels = {"source": _l("Sale document")}

    @action("propose_count", _l("Propose a count of these products"),
            _l("Start a count of the selected products at their warehouse?"))
    def action_propose_count(self, ids):
        try:
            visible = [i for i in ids if self.get_one(str(i)) is not None]
            if len(visible) != len(ids):
                raise O2OError(_("Not found or not yours."))
            counts = services.propose_count(visible)
            db.session.commit()
            flash(_("Count %(numbers)s started for these products.",
                    numbers=", ".join(c.number for c in counts)), "success")
        except O2OError as exc:
            db.session.rollback()
            flash(exc.message, "error")

    @action("resolve", _l("Resolve"), _l("Mark the selected exceptions resolved?"))
    def action_resolve(self, ids):
        self.run_service(ids, lambda i: services.resolve_negative_stock([i]), _("Resolved."))


def views():
    cat = _l("Warehouse")
    return [
        NegativeStockView(NegativeStock, name=_l("Negative stock"), category=cat, endpoint="warehouse_negative"),
        QuantView(Quant, name=_l("On hand"), category=cat, endpoint="warehouse_quant"),
        MoveView(StockMove, name=_l("Stock moves"), category=cat, endpoint="warehouse_move"),
        TransferView(Transfer, name=_l("Transfers"), category=cat, endpoint="warehouse_transfer"),
        CountView(Count, name=_l("Counts"), category=cat, endpoint="warehouse_count"),
        ReorderRuleView(ReorderRule, name=_l("Reorder rules"), category=cat, endpoint="warehouse_reorder"),
        ValuationView(name=_l("Valuation"), category=cat, endpoint="warehouse_valuation"),
        AverageCostView(ProductCost, name=_l("Average costs"), category=cat, endpoint="warehouse_average_cost"),
        WarehouseView(Warehouse, name=_l("Warehouses"), category=cat, endpoint="warehouse_warehouse"),
        LocationView(Location, name=_l("Locations"), category=cat, endpoint="warehouse_location"),
    ]
