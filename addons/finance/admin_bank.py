"""Admin screens of manual entries, bank-line rules, supplier bank accounts, payment runs and
the AP ageing; plus the statement list's balance check (used by admin.StatementView)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Response, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user
from markupsafe import Markup, escape

from addons.finance import models as m
from addons.finance import services
from core import timeutil
from core.admin.views import BaseView, ModelView
from core.auth import user_can
from core.db import db
from core.errors import O2OError
from core.i18n import _, _l


def _can(code: str) -> bool:
    return user_can(current_user, code)


def _run_all(ids, fn, done):
    try:
        for obj_id in ids:
            fn(int(obj_id))
        db.session.commit()
        flash(done, "success")
    except O2OError as exc:
        db.session.rollback()
        flash(exc.message, "error")


class ManualEntryView(ModelView):
    """Manual journal entries: drafts are edited here with their lines; approve, post and
    reverse are list actions (posting: finance.post_manual; above the second-approval
    amount a second person approves first)."""
    permission = "finance.manual"
    store_field = "store_id"
    column_list = ["id", "date", "journal", "memo", "store", "total", "state", "created_by", "approved_by",
                   "posted_by", "reversed_by"]
    column_filters = ["state", "date", "created_by"]
    column_searchable_list = ["memo"]
    column_default_sort = ("id", True)
    column_details_list = ["id", "date", "journal", "memo", "store", "total", "state", "created_by", "created_at",
                           "approved_by", "approved_at", "posted_by", "posted_at", "entry", "reversed_by",
                           "reversed_at", "reversal_entry", "lines"]
    column_formatters_detail = {
        "lines": lambda v, c, model, n: "; ".join(
            f"{ln.account.code} D {services.fmt(ln.debit)} C {services.fmt(ln.credit)} {ln.label or ''}"
            for ln in model.lines),
    }
    form_columns = ["journal", "date", "memo", "store", "lines"]
    inline_models = [(m.ManualEntryLine, {"form_columns": ["id", "account", "debit", "credit", "label", "store"]})]

    def on_form_prefill(self, form, id):
        model = self.get_one(id)
        if model is not None and model.state != "draft":
            flash(_("Manual entry %(number)s is %(state)s: only a draft can be changed; post a reversal instead.",
                    number=model.number, state=model.state), "error")

    def on_model_change(self, form, model, is_created):
        from addons.finance.manual_entries import check_text, totals, who
        if not is_created:
            before = sa.inspect(model).attrs.state.history
            state = before.deleted[0] if before.deleted else model.state
            if state != "draft":
                raise ValueError(_("Manual entry %(number)s is %(state)s: only a draft can be changed; post a "
                                   "reversal instead.", number=model.number, state=state))
        else:
            model.created_by = who()
        model.state = "draft"
        model.memo = check_text(model.memo, _("The memo"), 256)
        for ln in model.lines:
            ln.debit, ln.credit = services.money(ln.debit or 0), services.money(ln.credit or 0)
            if ln.debit < 0 or ln.credit < 0:
                raise ValueError(_("Debit and credit cannot be negative."))
            if ln.debit and ln.credit:
                raise ValueError(_("A line has both a debit and a credit; use two lines."))
        model.total = totals(model)[0]
        if not is_created and model.approved_by is not None:
            model.approved_by, model.approved_at = None, None  # approved was the old content
        super().on_model_change(form, model, is_created)

    def on_model_delete(self, model):
        if model.state != "draft":
            raise ValueError(_("Manual entry %(number)s is %(state)s: only a draft can be deleted; post a "
                               "reversal instead.", number=model.number, state=model.state))

    @action("approve", _l("Approve"), _l("Approve the selected drafts as the second person?"))
    def action_approve(self, ids):
        from addons.finance.manual_entries import approve_manual_entry
        _run_all(ids, approve_manual_entry, _("%(n)s manual entries approved.", n=len(ids)))

    @action("post", _l("Post"), _l("Post the selected drafts?"))
    def action_post(self, ids):
        from addons.finance.manual_entries import post_manual_entry
        _run_all(ids, post_manual_entry, _("%(n)s manual entries posted.", n=len(ids)))

    @action("reverse", _l("Reverse"), _l("Post a reversal of the selected entries?"))
    def action_reverse(self, ids):
        from addons.finance.manual_entries import reverse_manual_entry
        _run_all(ids, reverse_manual_entry, _("%(n)s manual entries reversed.", n=len(ids)))

    def is_action_allowed(self, name):
        if name in ("approve", "post"):
            return _can("finance.post_manual")
        if name == "reverse":
            return _can("finance.entry.reverse")
        return super().is_action_allowed(name)


class BankLineRuleView(ModelView):
    permission = "finance.bank_rule"
    column_list = ["sequence", "name", "active", "bank_account", "field", "pattern", "sign", "amount_min",
                   "amount_max", "account", "store", "label"]
    column_default_sort = "sequence"
    form_columns = ["name", "sequence", "active", "bank_account", "field", "pattern", "sign", "amount_min",
                    "amount_max", "account", "store", "label"]
    form_choices = {"field": [("any", _l("any text")), ("description", _l("description")),
                              ("counterparty", _l("counterparty")), ("reference", _l("reference"))],
                    "sign": [("", _l("money in or out")), ("debit", _l("money out")), ("credit", _l("money in"))]}

    def on_model_change(self, form, model, is_created):
        from addons.finance.bank_rules import validate_rule
        try:
            validate_rule(model)
        except O2OError as exc:
            raise ValueError(exc.message) from None
        super().on_model_change(form, model, is_created)


class PartnerBankAccountView(ModelView):
    permission = "finance.payment_run"
    column_list = ["partner", "account_number", "bank_name"]
    form_columns = ["partner", "account_number", "bank_name"]
    form_ajax_refs = {"partner": {"fields": ["name", "ref"], "page_size": 20}}

    def on_model_change(self, form, model, is_created):
        from addons.finance.bank_accounts import normalise_account_number
        model.account_number = normalise_account_number(model.account_number or "")  # the API's check
        super().on_model_change(form, model, is_created)


class PaymentRunView(ModelView):
    """Payment runs: select due bills (the 'New run' page), then approve, export the
    payment file, post, or cancel with the list actions."""
    permission = "finance.payment_run"
    allow_create = allow_edit = allow_delete = False
    list_template = "finance/payment_runs.html"
    column_list = ["id", "state", "due_by", "payment_date", "bank_account", "credit_account", "total",
                   "created_by", "approved_by", "exported_by", "posted_by"]
    column_filters = ["state", "due_by"]
    column_default_sort = ("id", True)
    column_details_list = column_list + ["batch_booking", "note", "entry", "cancelled_by", "lines"]
    column_formatters_detail = {
        "lines": lambda v, c, model, n: "; ".join(
            f"{ln.payment_ref} {ln.partner.name if ln.partner else '-'} {ln.reference or ''} "
            f"{services.fmt(ln.amount)} ({ln.due_date})" for ln in model.lines),
    }

    @expose("/select/", methods=["GET", "POST"])
    def select_view(self):
        from core.models import Partner
        from addons.finance import payment_runs
        if not self.can("create"):
            return Response(_("This needs the permission finance.payment_run.create."), status=403)
        banks = db.session.scalars(sa.select(m.BankAccount).where(m.BankAccount.active.is_(True))
                                   .order_by(m.BankAccount.code)).all()
        today = timeutil.today()
        due_by = _parse_date(request.values.get("due_by"), today)
        partner_id = request.values.get("partner_id", type=int)
        if request.method == "POST":
            try:
                run = payment_runs.create_payment_run(
                    due_by=due_by, partner_ids=[partner_id] if partner_id else None,
                    bank=request.form.get("bank") or None, payment_date=_parse_date(request.form.get("payment_date"),
                                                                                    today),
                    via=request.form.get("via") or "clearing", batch_booking=bool(request.form.get("batch_booking")))
                db.session.commit()
                flash(_("Payment run %(number)s created: %(total)s.", number=run.number,
                        total=services.fmt(run.total)), "success")
                return redirect(self.get_url(".details_view", id=run.id))
            except O2OError as exc:
                db.session.rollback()
                flash(exc.message, "error")
        items = db.session.scalars(payment_runs.due_items_query(due_by, [partner_id] if partner_id else None)
                                   .limit(500)).all()
        suppliers = db.session.scalars(sa.select(Partner).where(Partner.is_supplier.is_(True))
                                       .order_by(Partner.name).limit(500)).all()
        return self.render("finance/payment_run_new.html", items=items, banks=banks, suppliers=suppliers,
                           due_by=due_by, partner_id=partner_id, today=today, fmt=services.fmt)

    @action("approve", _l("Approve"), _l("Approve the selected payment runs?"))
    def action_approve(self, ids):
        from addons.finance.payment_runs import approve_payment_run
        _run_all(ids, approve_payment_run, _("%(n)s payment runs approved.", n=len(ids)))

    @action("export", _l("Export payment file"), None)
    def action_export(self, ids):
        from addons.finance.payment_runs import export_payment_run
        if len(ids) != 1:
            flash(_("Export one payment run at a time."), "error")
            return None
        try:
            run, data = export_payment_run(int(ids[0]))
            number = run.number
            db.session.commit()  # the file is the run's: it is exported once the file leaves
        except O2OError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return None
        return Response(data, mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{number}.csv"'})

    @action("post", _l("Post"), _l("Post the selected payment runs?"))
    def action_post(self, ids):
        from addons.finance.payment_runs import post_payment_run
        _run_all(ids, post_payment_run, _("%(n)s payment runs posted.", n=len(ids)))

    @action("cancel", _l("Cancel"), _l("Cancel the selected payment runs (their bills are due again)?"))
    def action_cancel(self, ids):
        from addons.finance.payment_runs import cancel_payment_run
        _run_all(ids, cancel_payment_run, _("%(n)s payment runs cancelled.", n=len(ids)))

    def is_action_allowed(self, name):
        if name == "approve":
            return _can("finance.payment_run.approve")
        if name in ("export", "post"):
            return _can("finance.payment_run.post")
        if name == "cancel":
            return _can("finance.payment_run.edit")
        return super().is_action_allowed(name)


def _parse_date(value, default):
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


class PayablesAgeingView(BaseView):
    """The AP ageing as of a day, on screen and as PDF."""
    permission = "finance.report"

    def can(self, action_name):
        return _can("finance.report")

    @expose("/")
    def index(self):
        from addons.finance import ageing
        as_of = _parse_date(request.args.get("as_of"), timeutil.today())
        fig = ageing.ap_ageing(as_of)
        return self.render("finance/ageing.html", fig=fig, fmt=services.fmt)

    @expose("/ageing.pdf")
    def pdf(self):
        from addons.finance import ageing
        as_of = _parse_date(request.args.get("as_of"), timeutil.today())
        pdf, _pages = ageing.ap_ageing_pdf(as_of)
        return Response(pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="ap-ageing-{as_of}.pdf"'})


# --- the statement list's balance check ----------------------------------------------------

def statement_checks_for_page(statements) -> None:
    from addons.finance import statement_balances
    g.finance_statement_checks = statement_balances.balance_checks(list(statements))


def format_balance_check(view, context, model, name):
    from addons.finance import statement_balances
    checks = g.get("finance_statement_checks") or {}
    check = checks.get(model.id) or statement_balances.balance_checks([model])[model.id]
    labels = {"ok": _("agrees"), "mismatch": _("MISMATCH"), "unknown": _("no balances")}
    css = {"ok": "text-success", "mismatch": "text-danger font-weight-bold", "unknown": "text-muted"}[check["state"]]
    text = escape(labels[check["state"]])
    if check["messages"] and check["state"] != "unknown":
        text = text + Markup("<br><small>") + escape(" ".join(str(x) for x in check["messages"])) + Markup("</small>")
    return Markup(f'<span class="{css}" data-balance-state="{check["state"]}">') + text + Markup("</span>")


def views(bank, books):
    return [
        ManualEntryView(m.ManualEntry, name=_l("Manual entries"), category=books, endpoint="finance_manual_entry"),
        PayablesAgeingView(name=_l("Payables ageing"), category=books, endpoint="finance_ageing",
                           url="/admin/finance/ageing"),
        PaymentRunView(m.PaymentRun, name=_l("Payment runs"), category=bank, endpoint="finance_payment_run"),
        PartnerBankAccountView(m.PartnerBankAccount, name=_l("Supplier bank accounts"), category=bank,
                               endpoint="finance_partner_bank"),
        BankLineRuleView(m.BankLineRule, name=_l("Bank-line rules"), category=bank, endpoint="finance_bank_rule"),
    ]
