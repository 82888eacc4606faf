"""Admin views of the point of sale: registers, sessions with their totals and differences,
till sales per session, Z reports and the journal (read-only), all scoped to the user's stores."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user
from markupsafe import Markup, escape

from core.admin.views import ModelView
from core.db import db
from core.errors import O2OError
from core.i18n import _, _l

from addons.pos import services
from addons.pos.models import PosAttention, PosJournalEntry, PosRegister, PosSale, PosSession, PosZReport

CATEGORY = _l("Point of sale")


class RegisterView(ModelView):
    permission = "pos.register"
    store_field = "store_id"
    allow_delete = False  # a register with sales keeps its history; deactivate it instead
    column_list = ["store", "code", "name", "active"]
    form_columns = ["store", "code", "name", "active"]
    column_searchable_list = ["code", "name"]
    column_filters = ["active", "store.code"]

    def after_model_change(self, form, model, is_created):
        if is_created:
            from addons.pos.services import _ensure_counter
            from core.db import db
            _ensure_counter(model.id)
            db.session.commit()


def _sales_link(view, context, model, name):
    url = url_for("pos_sale.index_view", search=model.name)
    return Markup(f'<a href="{escape(url)}">{escape(_l("sales"))}</a>')


def _totals(view, context, model, name):
    rows = "".join(
        f"<tr><td>{escape(m)}</td><td>{escape(t['expected'])}</td><td>{escape(t['counted'] if t['counted'] is not None else '')}</td>"
        f"<td>{escape(t['difference'] if t['difference'] is not None else '')}</td></tr>"
        for m, t in sorted(model.totals_by_method.items()))
    return Markup(f'<table class="table table-sm"><tr><th>{escape(_l("Method"))}</th><th>{escape(_l("Expected"))}</th>'
                  f'<th>{escape(_l("Counted"))}</th><th>{escape(_l("Difference"))}</th></tr>{rows}</table>')


class SessionView(ModelView):
    permission = "pos.session_admin"
    store_field = "store_id"
    allow_create = allow_edit = allow_delete = False
    column_list = ["name", "register", "state", "opened_at", "closed_at", "opening_float", "cash_in_out_total",
                   "cash_expected", "cash_counted", "cash_difference", "difference_reason", "sales"]
    column_details_list = ["name", "register", "state", "opened_by", "opened_at", "closed_by", "closed_at",
                           "opening_float", "cash_in_out_total", "cash_expected", "cash_counted", "cash_difference",
                           "difference_reason", "totals", "sales"]
    column_formatters = {"sales": _sales_link, "totals": _totals}
    column_formatters_detail = {"sales": _sales_link, "totals": _totals}
    column_default_sort = ("id", True)
    column_searchable_list = ["name"]
    column_filters = ["state", "opened_at", "closed_at", "register.code"]
    column_labels = {"totals": _l("Totals by payment method")}


class SaleView(ModelView):
    permission = "pos.sale"
    store_field = "store_id"
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True
    column_list = ["receipt_number", "kind", "register", "session", "created_at", "total", "tax_total",
                   "discount_total", "change_given", "order_id", "cashier"]
    column_details_list = column_list + ["idempotency_key", "refund_of_id", "customer", "document"]
    column_default_sort = ("id", True)
    column_searchable_list = ["idempotency_key", "session.name"]
    column_filters = ["kind", "created_at", "session.name", "register.code"]


class ZReportView(ModelView):
    permission = "pos.zreport"
    store_field = "store_id"
    allow_create = allow_edit = allow_delete = False
    column_list = ["register", "number", "session", "created_at", "sales_count", "sales_total", "refunds_total",
                   "discounts_total", "tax_total", "cash_difference", "grand_total", "pdf"]
    column_formatters = {"pdf": lambda v, c, m, n: Markup(
        f'<a href="/api/v1/pos/z-reports/{m.id}.pdf">PDF</a>')}
    column_default_sort = ("id", True)


class JournalView(ModelView):
    permission = "pos.journal"
    store_field = "store_id"
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True
    can_view_details = True
    column_list = ["register_id", "seq", "kind", "document_ref", "amount", "recorded_at", "hash"]
    column_default_sort = [("register_id", False), ("seq", True)]
    column_filters = ["register_id", "kind", "document_ref"]


def _void_link(view, context, model, name):
    if model.state != "open":
        return model.reason or ""
    url = url_for(".void_view", attention_id=model.id)
    return Markup(f'<a href="{escape(url)}">{escape(_l("Void with a reason"))}</a>')


class AttentionView(ModelView):
    """Refused till sales the till had taken the money for: the store manager retries,
    converts (records in the open session) or voids them; a register's session cannot
    close while one is open."""
    permission = "pos.attention"
    store_field = "store_id"
    allow_create = allow_edit = allow_delete = False
    can_view_details = True
    column_list = ["id", "register", "session", "created_at", "queued_at", "total", "error", "state", "sale",
                   "resolved_at", "resolved_by", "void"]
    column_details_list = ["id", "register", "session", "idempotency_key", "request", "total", "queued_at",
                           "error", "error_status", "error_type", "state", "created_at", "reported_by",
                           "resolved_at", "resolved_by", "reason", "sale"]
    column_formatters = {"void": _void_link}
    column_labels = {"void": _l("Void")}
    column_default_sort = ("id", True)
    column_filters = ["state", "created_at", "register.code", "store.code"]
    column_searchable_list = ["idempotency_key", "error"]

    def _each(self, ids, fn, done):
        self.run_service(ids, lambda i: fn(i, user=current_user._get_current_object()), done)

    @action("retry", _l("Retry (send the sale again)"), _l("Send the selected sales again as they were?"))
    def action_retry(self, ids):
        self._each(ids, services.retry_attention, _("Sent again and recorded."))

    @action("convert", _l("Convert (record in the open session)"),
            _l("Record the selected sales in their register's open session whatever the stock says?"))
    def action_convert(self, ids):
        self._each(ids, services.convert_attention, _("Recorded in the open session."))

    @expose("/void/<int:attention_id>", methods=["GET", "POST"])
    def void_view(self, attention_id):
        if not self.can("void"):
            return self.inaccessible_callback("void")
        item = self.get_one(str(attention_id))
        if item is None:
            self.refuse(_("Not found or not yours."), 404)
        if request.method == "POST":
            from flask_wtf.csrf import CSRFError, validate_csrf
            from wtforms.validators import ValidationError as WTFValidationError
            try:
                validate_csrf(request.form.get("csrf_token"))
                services.void_attention(item.id, request.form.get("reason", ""),
                                        user=current_user._get_current_object())
                db.session.commit()
                flash(_("Voided."), "success")
                return redirect(url_for(".index_view"))
            except O2OError as exc:
                db.session.rollback()
                flash(exc.message, "error")
            except (CSRFError, WTFValidationError):
                db.session.rollback()
                flash(_("The form expired; try again."), "error")
            item = self.get_one(str(attention_id))
        return self.render("pos/attention_void.html", item=item)


def views():
    return [
        RegisterView(PosRegister, name=_l("Registers"), category=CATEGORY, endpoint="pos_register"),
        SessionView(PosSession, name=_l("Sessions"), category=CATEGORY, endpoint="pos_session"),
        SaleView(PosSale, name=_l("Till sales"), category=CATEGORY, endpoint="pos_sale"),
        ZReportView(PosZReport, name=_l("Z reports"), category=CATEGORY, endpoint="pos_zreport"),
        JournalView(PosJournalEntry, name=_l("Journal"), category=CATEGORY, endpoint="pos_journal"),
        AttentionView(PosAttention, name=_l("Sales needing attention"), category=CATEGORY,
                      endpoint="pos_attention"),
    ]
