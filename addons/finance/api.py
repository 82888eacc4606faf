"""Finance JSON API under /api/v1/finance: accounts, entries (post, reverse), statements
(import), reconciliation (auto, manual match, undo), reports (figures and PDFs)."""
from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal

import pydantic
import sqlalchemy as sa
from flask import Response, g

from addons.finance import models as m
from addons.finance import services
from core.api import ApiBlueprint, Page, RowId, RowIds, decimal_type, paginate
from core.db import db
from core.errors import NotFound, PermissionDenied, ValidationError
from core.i18n import _

Amount = decimal_type(14, 2, ge=0)


class _In(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class LineIn(_In):
    account: str = pydantic.Field(description="account code")
    debit: Amount = Decimal("0")
    credit: Amount = Decimal("0")
    label: str | None = pydantic.Field(None, max_length=128)
    partner_id: RowId | None = None
    store_id: RowId | None = None


class EntryIn(_In):
    journal: str = pydantic.Field(description="journal code, e.g. MISC")
    date: dt.date
    memo: str | None = pydantic.Field(None, max_length=256)
    store_id: RowId | None = None
    lines: list[LineIn] = pydantic.Field(min_length=2)


class ReverseIn(_In):
    date: dt.date | None = None
    memo: str | None = pydantic.Field(None, max_length=256)


class StatementIn(_In):
    bank: str | None = pydantic.Field(None, description="bank account code")
    filename: str = pydantic.Field(min_length=1, max_length=256)
    format: str | None = pydantic.Field(None, description="csv or camt053 (detected when left out)")
    content: str | None = pydantic.Field(None, description="the file as text")
    content_base64: str | None = pydantic.Field(None, description="or the file base64-encoded")
    opening_balance: decimal_type(13, 2) | None = pydantic.Field(
        None, description="what the account held before the first line (default: from the file)")
    closing_balance: decimal_type(13, 2) | None = pydantic.Field(
        None, description="what it held after the last line (default: from the file)")


class MatchIn(_In):
    statement_line_ids: RowIds = pydantic.Field(min_length=1)
    expected_item_ids: RowIds = pydantic.Field(default_factory=list)
    writeoff: bool = False
    note: str | None = pydantic.Field(None, max_length=256)


class AutoIn(_In):
    bank: str | None = None


class AccountOut(pydantic.BaseModel):
    code: str
    name: str
    type: str
    reconcilable: bool
    active: bool


class PeriodQuery(pydantic.BaseModel):
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    store_id: RowId | None = None
    journal: str | None = None
    detail: bool = False


class EntryQuery(Page):
    source_type: str | None = None
    source_id: RowId | None = None
    journal: str | None = None


def _entry_json(e: m.Entry) -> dict:
    return {"id": e.id, "number": e.number, "journal": e.journal.code, "date": e.date, "memo": e.memo,
            "store_id": e.store_id, "channel": e.channel, "state": e.state,
            "source": {"type": e.source_type, "id": e.source_id, "ref": e.source_ref},
            "reversal_of_id": e.reversal_of_id,
            "lines": [{"account": ln.account.code, "debit": ln.debit, "credit": ln.credit, "label": ln.label,
                       "partner_id": ln.partner_id, "store_id": ln.store_id, "payment_method": ln.payment_method}
                      for ln in e.lines]}


def _check_store(store_id):
    ids = g.api_user.store_ids
    if store_id is not None and ids is not None and store_id not in ids:
        raise PermissionDenied(_("You can only see figures of your own stores."))
    if store_id is None and ids is not None:
        raise PermissionDenied(_("Your user is limited to some stores: choose one of them."))


def _json_figures(obj):
    if isinstance(obj, dict):
        return {k: _json_figures(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_figures(v) for v in obj]
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


def blueprint() -> ApiBlueprint:
    bp = ApiBlueprint("finance", __name__, url_prefix="/finance")

    @bp.endpoint("/accounts", permission="finance.account.read", response=list[AccountOut])
    def accounts():
        """The chart of accounts."""
        return [{"code": a.code, "name": a.name, "type": a.type, "reconcilable": a.reconcilable, "active": a.active}
                for a in db.session.scalars(sa.select(m.Account).order_by(m.Account.code))]

    @bp.endpoint("/entries", permission="finance.entry.read", query=EntryQuery)
    def entries(query: EntryQuery):
        """Journal entries, newest first; filter by source document to trace a posting."""
        _check_store(None) if g.api_user.store_ids is not None else None
        stmt = sa.select(m.Entry).order_by(m.Entry.id.desc())
        if query.source_type:
            stmt = stmt.where(m.Entry.source_type == query.source_type)
        if query.source_id is not None:
            stmt = stmt.where(m.Entry.source_id == query.source_id)
        if query.journal:
            stmt = stmt.join(m.Journal).where(m.Journal.code == query.journal)
        return paginate(stmt, query, _entry_json, count=False)

    @bp.endpoint("/entries/<int:entry_id>", permission="finance.entry.read")
    def entry(entry_id):
        """One entry with its lines and source document."""
        e = db.session.get(m.Entry, entry_id)
        if e is None:
            raise NotFound(_("There is no journal entry %(id)s.", id=entry_id))
        return _entry_json(e)

    @bp.endpoint("/entries", methods=["POST"], permission="finance.post_manual", body=EntryIn, status=201)
    def post_entry(body: EntryIn):
        """Post a manual entry at once (balanced, into an open period, up to the second-approval
        amount; above it create a draft under /manual-entries for a second person)."""
        from addons.finance import manual_entries
        draft = manual_entries.create_manual_entry(journal=body.journal, date=body.date, memo=body.memo,
                                                   store_id=body.store_id,
                                                   lines=[ln.model_dump() for ln in body.lines])
        return _entry_json(manual_entries.post_manual_entry(draft.id).entry)

    @bp.endpoint("/entries/<int:entry_id>", methods=["PATCH", "DELETE"], permission="finance.entry.edit")
    def change_entry(entry_id):
        """Posted entries cannot be changed or deleted (always refused: post a reversal)."""
        services.edit_entry(entry_id)
        return {}

    @bp.endpoint("/entries/<int:entry_id>/reverse", methods=["POST"], permission="finance.entry.reverse",
                 body=ReverseIn, status=201)
    def reverse(entry_id, body: ReverseIn):
        """Post the reversal of an entry."""
        return _entry_json(services.reverse_entry(entry_id, date=body.date, memo=body.memo))

    @bp.endpoint("/statements", methods=["POST"], permission="finance.statement.import", body=StatementIn,
                 status=201)
    def import_statement(body: StatementIn):
        """Import a statement (CSV with the bank's column mapping, or CAMT.053)."""
        if body.content_base64:
            try:
                content = base64.b64decode(body.content_base64, validate=True)
            except ValueError:
                raise ValidationError(_("content_base64 is not valid base64.")) from None
        elif body.content is not None:
            content = body.content.encode("utf-8")
        else:
            raise ValidationError(_("Send the file in 'content' or 'content_base64'."))
        stmt = services.import_statement(content, filename=body.filename, bank_code=body.bank, format=body.format,
                                         opening_balance=body.opening_balance,
                                         closing_balance=body.closing_balance)
        from addons.finance import statement_balances
        return statement_balances.statement_json(stmt, statement_balances.balance_checks([stmt])[stmt.id])

    @bp.endpoint("/reconcile/auto", methods=["POST"], permission="finance.reconcile", body=AutoIn)
    def auto(body: AutoIn):
        """Run the matching rules over the open lines and items."""
        return services.auto_reconcile(body.bank)

    @bp.endpoint("/matches", methods=["POST"], permission="finance.reconcile", body=MatchIn, status=201)
    def match(body: MatchIn):
        """Match statement lines with expected items by hand (optionally writing off the difference)."""
        mt = services.match(body.statement_line_ids, body.expected_item_ids, writeoff=body.writeoff, note=body.note)
        return {"id": mt.id, "bank_amount": mt.bank_amount, "expected_amount": mt.expected_amount,
                "difference": mt.difference, "entry_id": mt.entry_id}

    @bp.endpoint("/matches/<int:match_id>/undo", methods=["POST"], permission="finance.reconcile")
    def undo(match_id):
        """Undo a match."""
        mt = services.undo_match(match_id)
        return {"id": mt.id, "state": mt.state}

    @bp.endpoint("/reconcile/status", permission="finance.reconcile")
    def status():
        """How many statement lines and expected items are still open."""
        return services.reconciliation_status()

    @bp.endpoint("/reports/reconciliation", permission="finance.report", query=PeriodQuery)
    def reconciliation(query: PeriodQuery):
        """The reconciliation figures of a store and period (the same as the screen and PDF)."""
        if query.store_id is None or query.date_from is None or query.date_to is None:
            raise ValidationError(_("Give store_id, date_from and date_to."))
        _check_store(query.store_id)
        fig = services.reconciliation_figures(query.store_id, query.date_from, query.date_to)
        fig["summary"] = services.summary_figures(fig)
        return _json_figures(fig)

    @bp.endpoint("/reports/reconciliation.pdf", permission="finance.report", query=PeriodQuery)
    def reconciliation_pdf(query: PeriodQuery):
        """The reconciliation of a store and period as PDF."""
        from addons.finance.reports import reconciliation_pdf as render
        if query.store_id is None or query.date_from is None or query.date_to is None:
            raise ValidationError(_("Give store_id, date_from and date_to."))
        _check_store(query.store_id)
        pdf, _pages = render(query.store_id, query.date_from, query.date_to, detail=query.detail)
        return Response(pdf, mimetype="application/pdf")

    @bp.endpoint("/reports/trial-balance", permission="finance.report", query=PeriodQuery)
    def trial_balance(query: PeriodQuery):
        """Debits, credits and balance per account."""
        _check_store(query.store_id) if g.api_user.store_ids is not None else None
        return _json_figures(services.trial_balance(query.date_from, query.date_to, query.store_id))

    @bp.endpoint("/reports/trial-balance.pdf", permission="finance.report", query=PeriodQuery)
    def trial_balance_pdf(query: PeriodQuery):
        """The trial balance as PDF."""
        from addons.finance.reports import trial_balance_pdf as render
        _check_store(query.store_id) if g.api_user.store_ids is not None else None
        return Response(render(query.date_from, query.date_to, query.store_id)[0], mimetype="application/pdf")

    @bp.endpoint("/reports/journal.pdf", permission="finance.report", query=PeriodQuery)
    def journal_pdf(query: PeriodQuery):
        """A journal report as PDF."""
        from addons.finance.reports import journal_pdf as render
        _check_store(query.store_id) if g.api_user.store_ids is not None else None
        return Response(render(query.journal, query.date_from, query.date_to, query.store_id)[0],
                        mimetype="application/pdf")

    from addons.finance.api_bank import add_routes
    add_routes(bp)
    return bp
