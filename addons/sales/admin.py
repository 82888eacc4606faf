"""Sales admin: orders across channels and stores (filters, detail with lines, payments,
stock moves and history), payments and payment methods. Store-scoped: a user limited to some
stores sees only their orders (in the query itself)."""
from __future__ import annotations

from flask import flash
from flask_admin.actions import action
from flask_login import current_user
from markupsafe import Markup, escape

from core.admin.converters import FilterConverter
from core.admin.views import ModelView
from core.db import db
from core.errors import O2OError
from core.i18n import _, _l

from addons.sales import services
from addons.sales.models import Order, Payment, PaymentMethod


class AmountFilterConverter(FilterConverter):
    """Decimal filters for the sales ``Amount`` columns too."""
    from flask_admin.model import filters as _filters

    @_filters.convert("amount")
    def conv_amount(self, column, name, **kwargs):
        return [f(column, name, **kwargs) for f in self.decimal_filters]


def _money(view, context, model, name):
    value = getattr(model, name)
    return "" if value is None else f"{value}"


class OrderView(ModelView):
    permission = "sales.order"
    store_field = "store_id"
    filter_converter = AmountFilterConverter()
    allow_create = False
    allow_delete = False
    allow_edit = False
    simple_list_pager = True
    details_template = "sales/order_details.html"
    list_template = "admin/model/list.html"
    column_list = ["number", "order_date", "channel", "store", "customer", "fulfilment", "pickup_store", "state",
                   "total", "external_ref"]
    column_default_sort = ("id", True)
    column_searchable_list = ["number", "external_ref"]
    column_filters = ["channel", "store.code", "store.name", "state", "fulfilment", "order_date",
                      "customer.name", "customer.phone", "total"]
    column_labels = {"store.code": _l("Store code"), "store.name": _l("Store"), "customer.name": _l("Customer"),
                     "customer.phone": _l("Customer phone")}
    column_details_list = ["number", "channel", "store", "customer", "state", "fulfilment", "pickup_store",
                           "delivery_address", "external_ref", "currency", "order_date", "net_total", "tax_total",
                           "total", "discount_total", "cash_rounding", "amount_paid", "change_given", "confirmed_at",
                           "paid_at", "fulfilled_at", "cancelled_at", "cancel_reason", "note"]
    column_formatters = {"total": _money}

    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            order = kwargs["model"]
            kwargs.update(order_lines=order.lines, order_payments=order.payments,
                          stock_moves=services.stock_moves(order), history=services.order_history(order),
                          history_changes=history_changes, products={l.product_id: l.product for l in order.lines})
        return super().render(template, **kwargs)

    def _run(self, ids, fn, done_message):
        done = 0
        orders = self.get_query().filter(Order.id.in_(self.coerce_ids(ids))).order_by(Order.id).all()
        for order in orders:
            try:
                with db.session.begin_nested():
                    fn(order.id)
                done += 1
            except O2OError as exc:
                flash(f"{order.number}: {exc.message}", "error")
        db.session.commit()
        if done:
            flash(done_message % {"n": done}, "success")

    @action("confirm", _l("Confirm"), _l("Confirm the selected orders (pickup and delivery reserve stock)?"))
    def action_confirm(self, ids):
        self._run(ids, services.confirm_order, _("%(n)s order(s) confirmed."))

    @action("fulfil", _l("Hand over"), _l("Hand the selected paid orders over to the customer (issues the stock)?"))
    def action_fulfil(self, ids):
        self._run(ids, services.fulfil_order, _("%(n)s order(s) handed over."))


class PaymentView(ModelView):
    """Every tender, for reconciling takings (store-scoped through the order)."""
    permission = "sales.payment"
    filter_converter = AmountFilterConverter()
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True
    column_list = ["paid_at", "order", "method", "amount", "tendered", "change", "reference"]
    column_default_sort = ("id", True)
    column_filters = ["method", "is_cash", "paid_at", "order.number", "order.store_id", "order.channel"]
    column_searchable_list = ["reference"]
    column_labels = {"order.number": _l("Order"), "order.store_id": _l("Store id"), "order.channel": _l("Channel")}

    def scope(self, query):
        store_ids = current_user.store_ids if current_user.is_authenticated else None
        if store_ids is None:
            return query
        order_ids = db.select(Order.id).where(Order.store_id.in_(store_ids or [-1]))
        return query.filter(Payment.order_id.in_(order_ids))

    def get_one(self, id):
        obj = super().get_one(id)
        store_ids = current_user.store_ids
        if obj is not None and store_ids is not None and obj.order.store_id not in store_ids:
            return None
        return obj


class PaymentMethodView(ModelView):
    permission = "sales.payment_method"
    allow_delete = False  # payments refer to them: deactivate instead
    column_list = ["code", "name", "kind", "is_cash", "needs_reference", "sequence", "active"]
    column_default_sort = "sequence"
    column_searchable_list = ["code", "name"]
    column_filters = ["kind", "is_cash", "active"]
    form_choices = {"kind": [(k, k) for k in ("cash", "card", "wallet", "voucher", "store_credit", "other")]}


def history_changes(entry) -> Markup:
    import json
    try:
        changes = json.loads(entry.changes or "{}")
    except ValueError:
        return Markup(escape(entry.changes or ""))
    parts = []
    for key, value in changes.items():
        if key in ("state", "paid_at", "confirmed_at", "fulfilled_at", "cancelled_at", "cancel_reason", "total",
                   "note", "number", "channel", "store_id", "customer_id", "fulfilment"):
            if isinstance(value, list):
                parts.append(f"{escape(key)}: {escape(value[0])} → {escape(value[1])}")
            else:
                parts.append(f"{escape(key)}: {escape(value)}")
    return Markup("; ".join(parts))


def admin_views():
    return [
        OrderView(Order, name=_l("Orders"), endpoint="sales_order"),
        PaymentView(Payment, name=_l("Payments"), endpoint="sales_payment"),
        PaymentMethodView(PaymentMethod, name=_l("Payment methods"), endpoint="sales_payment_method"),
    ]
