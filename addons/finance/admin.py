"""Finance admin screens: the books and their configuration, statements, the reconciliation
screen (automatic and manual matching, write-off, undo) and the report pages."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Response, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user

from addons.finance import models as m
from addons.finance import services
from core import timeutil
from core.admin.views import BaseView, ModelView
from core.db import db
from core.errors import O2OError
from core.i18n import _, _l


class AccountView(ModelView):
    permission = "finance.account"
    column_list = ["code", "name", "type", "reconcilable", "active"]
    column_searchable_list = ["code", "name"]
    column_filters = ["type", "reconcilable", "active"]
    column_default_sort = "code"
    form_choices = {"type": [(t, t) for t in m.ACCOUNT_TYPES]}
    form_excluded_columns = ["created_at", "updated_at"]
    allow_delete = False  # archive instead: lines may point at it


class JournalView(ModelView):
    permission = "finance.journal"
    column_list = ["code", "name", "kind", "store", "default_account", "active"]
    column_searchable_list = ["code", "name"]
    column_filters = ["kind", "active"]
    form_choices = {"kind": [(k, k) for k in m.JOURNAL_KINDS]}
    form_excluded_columns = ["created_at", "updated_at"]
    allow_delete = False


class PeriodView(ModelView):
    permission = "finance.period"
    column_list = ["name", "date_from", "date_to", "locked", "locked_at"]
    column_default_sort = ("date_from", True)
    form_excluded_columns = ["created_at", "updated_at", "locked_at"]

    def on_model_change(self, form, model, is_created):
        if not is_created and inspect_changed(model, "locked") and not self.can("lock"):
            raise ValueError(_("Locking a period needs the permission finance.period.lock."))
        super().on_model_change(form, model, is_created)


def inspect_changed(obj, attr) -> bool:
    return sa.inspect(obj).attrs[attr].history.has_changes()


class EntryView(ModelView):
    """Posted entries: read only (corrections are reversals, the 'Reverse' action)."""
    permission = "finance.entry"
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True
    store_field = "store_id"
    column_list = ["number", "date", "journal", "memo", "store", "channel", "source_type", "source_ref",
                   "reversal_of", "state"]
    column_searchable_list = ["number", "memo", "source_ref"]
    column_filters = ["date", "source_type", "channel", "journal.code", "state"]
    column_default_sort = ("id", True)
    column_details_list = ["number", "date", "journal", "memo", "store", "channel", "source_type", "source_id",
                           "source_ref", "reversal_of", "posted_at", "posted_by", "lines"]
    column_formatters_detail = {
        "lines": lambda v, c, model, n: "; ".join(
            f"{ln.account.code} D {services.fmt(ln.debit)} C {services.fmt(ln.credit)} {ln.label or ''}"
            for ln in model.lines),
    }

    @action("reverse", _l("Reverse"), _l("Post a reversal of the selected entries?"))
    def action_reverse(self, ids):
        try:
            for entry_id in ids:
                services.reverse_entry(int(entry_id))
            db.session.commit()
            flash(_("%(n)s entries reversed.", n=len(ids)), "success")
        except O2OError as exc:
            db.session.rollback()
            flash(exc.message, "error")

    def is_action_allowed(self, name):
        if name == "reverse":
            return self.can("reverse")
        return super().is_action_allowed(name)


class EntryLineView(ModelView):
    permission = "finance.entry"
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True
    store_field = "store_id"
    column_list = ["entry", "date", "account", "label", "debit", "credit", "partner", "store", "payment_method"]
    column_filters = ["date", "account.code", "payment_method", "store_id"]
    column_searchable_list = ["label"]
    column_default_sort = ("id", True)
    form_ajax_refs = {"partner": {"fields": ["name", "ref"], "page_size": 20}}


class AccountRoleView(ModelView):
    permission = "finance.mapping"
    column_list = ["role", "account"]
    allow_delete = False


class PaymentMethodAccountView(ModelView):
    permission = "finance.mapping"
    column_list = ["method_code", "account", "settlement", "fee_percent"]
    form_choices = {"settlement": [(s, s) for s in ("cash_deposit", "card_settlement", "wallet_settlement",
                                                    "none")]}


class TaxAccountView(ModelView):
    permission = "finance.mapping"
    column_list = ["rate", "sales_account", "purchase_account"]


class StoreJournalView(ModelView):
    permission = "finance.mapping"
    column_list = ["store", "journal"]
    store_field = "store_id"


class CsvFormatView(ModelView):
    permission = "finance.bank"
    column_list = ["code", "name", "delimiter", "date_column", "date_format", "amount_column", "reference_column",
                   "balance_column", "decimal_comma"]


class BankAccountView(ModelView):
    permission = "finance.bank"
    column_list = ["code", "name", "iban", "account", "journal", "csv_format", "store", "active"]
    form_excluded_columns = ["created_at", "updated_at"]
    allow_delete = False

    def on_model_change(self, form, model, is_created):
        from addons.finance.bank_accounts import normalise_iban
        model.iban = normalise_iban(model.iban) if model.iban else None  # the API's check
        super().on_model_change(form, model, is_created)


class StatementView(ModelView):
    permission = "finance.statement"
    allow_create = allow_edit = allow_delete = False
    column_list = ["id", "bank_account", "filename", "format", "date_from", "date_to", "line_count", "total",
                   "opening_balance", "closing_balance", "balance_check", "imported_at", "imported_by"]
    column_details_list = column_list
    column_labels = {"balance_check": _l("Balances")}
    column_default_sort = ("id", True)

    def __init__(self, *args, **kwargs):
        from addons.finance.admin_bank import format_balance_check
        self.column_formatters = {"balance_check": format_balance_check}
        self.column_formatters_detail = {"balance_check": format_balance_check}
        super().__init__(*args, **kwargs)

    def get_list(self, *args, **kwargs):
        from addons.finance.admin_bank import statement_checks_for_page
        count, data = super().get_list(*args, **kwargs)
        statement_checks_for_page(data)  # one pass for the page, not a query per row
        return count, data


class StatementLineView(ModelView):
    permission = "finance.statement"
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True
    column_list = ["id", "bank_account", "date", "amount", "reference", "description", "counterparty",
                   "statement"]
    column_searchable_list = ["reference", "description", "counterparty"]
    column_filters = ["date", "amount", "bank_account.code"]
    column_default_sort = ("id", True)


class ExpectedItemView(ModelView):
    permission = "finance.match"
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True
    store_field = "store_id"
    column_list = ["id", "kind", "date", "store", "partner", "reference", "gross", "fee", "amount", "account"]
    column_searchable_list = ["reference"]
    column_filters = ["kind", "date", "store_id"]
    column_default_sort = ("date", True)


class MatchRuleView(ModelView):
    permission = "finance.rule"
    column_list = ["sequence", "name", "active", "kind", "match_reference", "amount_tolerance", "date_window_days",
                   "bank_account"]
    column_default_sort = "sequence"
    form_choices = {"kind": [("", "any")] + [(k, k) for k in m.EXPECTED_KINDS]}
    form_excluded_columns = ["created_at", "updated_at"]

    def on_model_change(self, form, model, is_created):
        model.kind = model.kind or None
        if model.amount_tolerance is not None and model.amount_tolerance < 0:
            raise ValueError(_("The amount tolerance cannot be negative."))
        if model.date_window_days is not None and not 0 <= model.date_window_days <= 60:
            raise ValueError(_("The date window must be between 0 and 60 days."))
        super().on_model_change(form, model, is_created)


class MatchView(ModelView):
    permission = "finance.match"
    allow_create = allow_edit = allow_delete = False
    simple_list_pager = True
    column_list = ["id", "state", "method", "date", "bank_account", "bank_amount", "expected_amount", "difference",
                   "rule", "note", "created_by", "undone_at"]
    column_filters = ["state", "method", "date"]
    column_default_sort = ("id", True)

    @action("undo", _l("Undo"), _l("Undo the selected matches (their bank postings are reversed)?"))
    def action_undo(self, ids):
        if not services_can("finance.reconcile"):
            self.refuse(_("Undoing a match needs the permission finance.reconcile."))
        try:
            for match_id in ids:
                services.undo_match(int(match_id))
            db.session.commit()
            flash(_("%(n)s matches undone.", n=len(ids)), "success")
        except O2OError as exc:
            db.session.rollback()
            flash(exc.message, "error")

    def is_action_allowed(self, name):
        if name == "undo":
            return services_can("finance.reconcile")
        return super().is_action_allowed(name)


def services_can(code: str) -> bool:
    from core.auth import user_can
    return user_can(current_user, code)


def _parse_date(value, default):
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


class ReconcileView(BaseView):
    """The reconciliation screen: open statement lines and open expected items side by side;
    tick any number of each to match them (with an optional write-off), or run the rules."""
    permission = "finance.reconcile"

    def can(self, action_name):
        from core.auth import user_can
        if action_name == "read":
            return user_can(current_user, "finance.reconcile")
        return user_can(current_user, f"finance.reconcile.{action_name}")

    @expose("/", methods=["GET"])
    def index(self):
        limit = 300
        lines = db.session.scalars(services.open_lines_query().order_by(m.StatementLine.date,
                                                                        m.StatementLine.id).limit(limit)).all()
        q = services.open_expected_query().order_by(m.ExpectedItem.date, m.ExpectedItem.id)
        if current_user.store_ids is not None:
            q = q.where(sa.or_(m.ExpectedItem.store_id.in_(current_user.store_ids or [-1]),
                               m.ExpectedItem.store_id.is_(None)))
        items = db.session.scalars(q.limit(limit)).all()
        accounts = db.session.scalars(sa.select(m.Account).where(m.Account.active.is_(True))
                                      .order_by(m.Account.code)).all()
        from core.models import Store
        stores = db.session.scalars(sa.select(Store).order_by(Store.code)).all()
        from addons.finance.statement_balances import balance_checks
        recent = db.session.scalars(sa.select(m.Statement).order_by(m.Statement.id.desc()).limit(20)).all()
        checks = balance_checks(recent)
        mismatches = [(s, checks[s.id]) for s in recent if checks[s.id]["state"] == "mismatch"]
        return self.render("finance/reconcile.html", lines=lines, items=items, fmt=services.fmt,
                           status=services.reconciliation_status(), limit=limit, accounts=accounts,
                           stores=stores, mismatches=mismatches)

    @expose("/match", methods=["POST"])
    def do_match(self):
        try:
            line_ids = [int(x) for x in request.form.getlist("line_id")]
            item_ids = [int(x) for x in request.form.getlist("expected_id")]
            mt = services.match(line_ids, item_ids, writeoff=bool(request.form.get("writeoff")),
                                note=request.form.get("note") or None)
            db.session.commit()
            flash(_("Matched (match %(id)s).", id=mt.id), "success")
        except (O2OError, ValueError) as exc:
            db.session.rollback()
            flash(getattr(exc, "message", str(exc)), "error")
        return redirect(url_for(".index"))

    @expose("/book", methods=["POST"])
    def do_book(self):
        """Book the ticked statement lines (bank charges, interest) to the chosen account."""
        from addons.finance.bank_rules import book_statement_line
        try:
            line_ids = [int(x) for x in request.form.getlist("line_id")]
            if not line_ids:
                raise ValueError(_("Tick the statement lines to book."))
            store_id = request.form.get("store_id", type=int)
            for line_id in line_ids:
                book_statement_line(line_id, request.form.get("account") or "", store_id=store_id,
                                    label=request.form.get("note") or None)
            db.session.commit()
            flash(_("%(n)s statement lines booked.", n=len(line_ids)), "success")
        except (O2OError, ValueError) as exc:
            db.session.rollback()
            flash(getattr(exc, "message", str(exc)), "error")
        return redirect(url_for(".index"))

    @expose("/auto", methods=["POST"])
    def do_auto(self):
        try:
            result = services.auto_reconcile(request.form.get("bank") or None)
            db.session.commit()
            flash(_("%(n)s statement lines matched automatically.", n=result["matched"]), "success")
        except O2OError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        return redirect(url_for(".index"))

    @expose("/undo/<int:match_id>", methods=["POST"])
    def do_undo(self, match_id):
        try:
            services.undo_match(match_id)
            db.session.commit()
            flash(_("Match %(id)s undone.", id=match_id), "success")
        except O2OError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        return redirect(url_for(".index"))


class ImportStatementView(BaseView):
    permission = "finance.statement"

    def can(self, action_name):
        from core.auth import user_can
        return user_can(current_user, "finance.statement.import")

    @expose("/", methods=["GET", "POST"])
    def index(self):
        banks = db.session.scalars(sa.select(m.BankAccount).where(m.BankAccount.active.is_(True))
                                   .order_by(m.BankAccount.code)).all()
        if request.method == "POST":
            upload = request.files.get("file")
            try:
                if upload is None or not upload.filename:
                    raise services.StatementError(_("Choose a statement file."))
                stmt = services.import_statement(upload.read(), filename=upload.filename,
                                                 bank_code=request.form.get("bank") or None,
                                                 format=request.form.get("format") or None)
                db.session.commit()
                flash(_("Imported %(n)s lines from %(name)s.", n=stmt.line_count, name=stmt.filename), "success")
                return redirect(url_for(".index"))
            except O2OError as exc:
                db.session.rollback()
                flash(exc.message, "error")
                return self.render("finance/import.html", banks=banks), 422
        return self.render("finance/import.html", banks=banks)


class ReportsView(BaseView):
    """Reconciliation figures of a store and period on screen, and the same as PDF; trial
    balance and journal PDFs."""
    permission = "finance.report"

    def can(self, action_name):
        from core.auth import user_can
        return user_can(current_user, "finance.report")

    def _store_allowed(self, store_id):
        ids = current_user.store_ids
        return ids is None or store_id in ids

    def _params(self):
        # the chosen store's today (the company's for the whole chain)
        today = timeutil.today(request.args.get("store_id", type=int))
        d0 = _parse_date(request.args.get("date_from"), today.replace(day=1))
        d1 = _parse_date(request.args.get("date_to"), today)
        return d0, d1

    @expose("/")
    def index(self):
        from core.models import Store
        stores = db.session.scalars(sa.select(Store).order_by(Store.code)).all()
        if current_user.store_ids is not None:
            stores = [s for s in stores if s.id in current_user.store_ids]
        d0, d1 = self._params()
        store_id = request.args.get("store_id", type=int)
        fig = summary = None
        if store_id:
            if not self._store_allowed(store_id):
                flash(_("You can only see reports of your own stores."), "error")
                store_id = None
            else:
                try:
                    fig = services.reconciliation_figures(store_id, d0, d1)
                    summary = services.summary_figures(fig)
                except O2OError as exc:
                    flash(exc.message, "error")
        tb = services.trial_balance(d0, d1) if current_user.store_ids is None else None
        return self.render("finance/reports.html", stores=stores, store_id=store_id, d0=d0, d1=d1, fig=fig,
                           summary=summary, tb=tb, fmt=services.fmt, explanations=services.EXPLANATIONS)

    @expose("/reconciliation.pdf")
    def reconciliation_pdf(self):
        from addons.finance.reports import reconciliation_pdf
        d0, d1 = self._params()
        store_id = request.args.get("store_id", type=int)
        if not store_id or not self._store_allowed(store_id):
            return Response(_("Choose one of your stores."), status=400)
        try:
            pdf, _pages = reconciliation_pdf(store_id, d0, d1, detail=bool(request.args.get("detail")))
        except O2OError as exc:
            return Response(exc.message, status=exc.status)
        return Response(pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="reconciliation-{store_id}-{d0}-{d1}.pdf"'})

    @expose("/trial-balance.pdf")
    def trial_balance_pdf(self):
        from addons.finance.reports import trial_balance_pdf
        if current_user.store_ids is not None:
            return Response(_("The trial balance covers every store; ask a user with all stores."), status=403)
        d0, d1 = self._params()
        pdf, _pages = trial_balance_pdf(d0, d1)
        return Response(pdf, mimetype="application/pdf")

    @expose("/journal.pdf")
    def journal_pdf(self):
        from addons.finance.reports import journal_pdf
        if current_user.store_ids is not None:
            return Response(_("The journal report covers every store; ask a user with all stores."), status=403)
        d0, d1 = self._params()
        pdf, _pages = journal_pdf(request.args.get("journal") or None, d0, d1)
        return Response(pdf, mimetype="application/pdf")


def views():
    from addons.finance.admin_bank import views as bank_views
    books, config, bank = _l("Finance"), _l("Finance setup"), _l("Bank and reconciliation")
    return [
        EntryView(m.Entry, name=_l("Journal entries"), category=books, endpoint="finance_entry"),
        EntryLineView(m.EntryLine, name=_l("Journal items"), category=books, endpoint="finance_entry_line"),
        ReportsView(name=_l("Reports"), category=books, endpoint="finance_reports", url="/admin/finance/reports"),
        AccountView(m.Account, name=_l("Chart of accounts"), category=config, endpoint="finance_account"),
        JournalView(m.Journal, name=_l("Journals"), category=config, endpoint="finance_journal"),
        PeriodView(m.Period, name=_l("Periods"), category=config, endpoint="finance_period"),
        AccountRoleView(m.AccountRole, name=_l("Account roles"), category=config, endpoint="finance_account_role"),
        PaymentMethodAccountView(m.PaymentMethodAccount, name=_l("Payment method accounts"), category=config,
                                 endpoint="finance_payment_method_account"),
        TaxAccountView(m.TaxAccount, name=_l("Tax accounts"), category=config, endpoint="finance_tax_account"),
        StoreJournalView(m.StoreJournal, name=_l("Store cash journals"), category=config,
                         endpoint="finance_store_journal"),
        ReconcileView(name=_l("Reconcile"), category=bank, endpoint="finance_reconcile",
                      url="/admin/finance/reconcile"),
        ImportStatementView(name=_l("Import statement"), category=bank, endpoint="finance_import",
                            url="/admin/finance/import"),
        StatementView(m.Statement, name=_l("Statements"), category=bank, endpoint="finance_statement"),
        StatementLineView(m.StatementLine, name=_l("Statement lines"), category=bank,
                          endpoint="finance_statement_line"),
        ExpectedItemView(m.ExpectedItem, name=_l("Expected items"), category=bank, endpoint="finance_expected"),
        MatchView(m.Match, name=_l("Matches"), category=bank, endpoint="finance_match"),
        MatchRuleView(m.MatchRule, name=_l("Matching rules"), category=bank, endpoint="finance_match_rule"),
        BankAccountView(m.BankAccount, name=_l("Bank accounts"), category=bank, endpoint="finance_bank_account"),
        CsvFormatView(m.CsvFormat, name=_l("CSV formats"), category=bank, endpoint="finance_csv_format"),
        *bank_views(bank, books),
    ]
