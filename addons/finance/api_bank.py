"""Finance API routes of manual entries, bank-line booking and rules, statements with their
balances, open statement lines and expected items, payment runs and the AP ageing (added
to finance's blueprint by ``add_routes``)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import pydantic
import sqlalchemy as sa
from flask import Response, g
from sqlalchemy.orm import contains_eager, joinedload

from addons.finance import models as m
from addons.finance import services
from addons.finance.manual_entries import MAX_ID
from core.api import Page, RowId, contains, decimal_type, page_of, paginate
from core.db import db
from core.errors import NotFound, PermissionDenied, ValidationError
from core.i18n import _


def _no_control(value: str | None) -> str | None:
    if value is not None and any(ord(ch) < 32 and ch != "\t" for ch in value):
        raise ValueError("control characters (such as NUL) are not allowed")
    return value


Id = RowId
Text = Annotated[str, pydantic.AfterValidator(_no_control)]
Amount = decimal_type(13, 2, ge=0)
SignedAmount = decimal_type(13, 2)


class _In(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class FinanceManualLineIn(_In):
    account: Text = pydantic.Field(max_length=16, description="account code")
    debit: Amount = Decimal("0")
    credit: Amount = Decimal("0")
    label: Text | None = pydantic.Field(None, max_length=128)
    partner_id: Id | None = None
    store_id: Id | None = None


class FinanceManualEntryIn(_In):
    journal: Text = pydantic.Field("MISC", max_length=16, description="journal code")
    date: dt.date | None = pydantic.Field(None, description="default: today (the store's, or the company's)")
    memo: Text | None = pydantic.Field(None, max_length=256)
    store_id: Id | None = None
    lines: list[FinanceManualLineIn] = pydantic.Field(default_factory=list, max_length=500)


class FinanceManualEntryPatch(_In):
    journal: Text | None = pydantic.Field(None, max_length=16)
    date: dt.date | None = None
    memo: Text | None = pydantic.Field(None, max_length=256)
    store_id: Id | None = None
    lines: list[FinanceManualLineIn] | None = pydantic.Field(None, max_length=500)


class FinanceReverseIn(_In):
    date: dt.date | None = None
    memo: Text | None = pydantic.Field(None, max_length=256)


class FinanceManualQuery(Page):
    state: str | None = pydantic.Field(None, description="draft, posted or reversed")


class FinanceBookLineIn(_In):
    account: Text = pydantic.Field(max_length=16, description="account code, e.g. 6100 bank charges")
    store_id: Id | None = None
    label: Text | None = pydantic.Field(None, max_length=128)
    note: Text | None = pydantic.Field(None, max_length=256)


class FinanceBankRuleIn(_In):
    name: Text = pydantic.Field(min_length=1, max_length=128)
    pattern: Text = pydantic.Field(min_length=1, max_length=256, description="regular expression, case-insensitive")
    account: Text = pydantic.Field(max_length=16)
    bank: Text | None = pydantic.Field(None, max_length=32, description="bank account code; empty: every bank")
    field: str = pydantic.Field("any", description="any, description, counterparty or reference")
    sign: str | None = pydantic.Field(None, description="debit (money out), credit (money in) or empty")
    amount_min: Amount | None = None
    amount_max: Amount | None = None
    store_id: Id | None = None
    label: Text | None = pydantic.Field(None, max_length=128)
    sequence: int = pydantic.Field(10, ge=0, le=10_000)
    active: bool = True


class FinanceStatementQuery(Page):
    bank: str | None = pydantic.Field(None, max_length=32)


class FinanceOpenLinesQuery(Page):
    bank: str | None = pydantic.Field(None, max_length=32, description="bank account code")
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class FinanceOpenItemsQuery(Page):
    store_id: Id | None = None
    kind: str | None = pydantic.Field(None, description="cash_deposit, card_settlement, wallet_settlement, "
                                                        "supplier_payment or other")
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class FinanceStatementLineOut(pydantic.BaseModel):
    id: int
    statement_id: int
    bank: str
    date: dt.date
    amount: Decimal
    reference: str | None
    description: str | None
    counterparty: str | None


class FinanceExpectedItemOut(pydantic.BaseModel):
    id: int
    kind: str
    date: dt.date
    store_id: int | None
    partner_id: int | None
    method_code: str | None
    reference: str | None
    gross: Decimal
    fee: Decimal
    amount: Decimal
    account: str


class FinancePaymentRunIn(_In):
    due_by: dt.date | None = pydantic.Field(None, description="bills due on or before (default: today)")
    partner_ids: list[Id] = pydantic.Field(default_factory=list, max_length=1000, description="only these suppliers")
    bank: Text | None = pydantic.Field(None, max_length=32, description="the bank account paying")
    payment_date: dt.date | None = None
    via: str = pydantic.Field("clearing", description="clearing (payments in transit) or bank")
    batch_booking: bool = pydantic.Field(False, description="the bank shows one line for the whole run")
    note: Text | None = pydantic.Field(None, max_length=256)


class FinancePostRunIn(_In):
    date: dt.date | None = None


class FinanceAgeingQuery(pydantic.BaseModel):
    as_of: dt.date | None = None
    partner_id: Id | None = None


Code = Annotated[str, pydantic.StringConstraints(strip_whitespace=True, min_length=1, max_length=32,
                                                  pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
RefCode = Annotated[str, pydantic.StringConstraints(strip_whitespace=True, min_length=1, max_length=32),
                    pydantic.AfterValidator(_no_control)]
Name = Annotated[str, pydantic.StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
                 pydantic.AfterValidator(_no_control)]


class FinanceBankAccountOut(pydantic.BaseModel):
    id: int
    code: str
    name: str
    iban: str | None
    account: str = pydantic.Field(description="GL account code")
    journal: str = pydantic.Field(description="journal code")
    csv_format: str | None = pydantic.Field(description="code of the statement CSV format")
    store_id: int | None = pydantic.Field(description="null: every store")
    active: bool


class FinanceBankAccountIn(_In):
    code: Code
    name: Name
    iban: Annotated[str, pydantic.StringConstraints(max_length=42), pydantic.AfterValidator(_no_control)] | None = \
        pydantic.Field(None, description="checked (mod 97), stored without spaces")
    account: RefCode = pydantic.Field(description="GL account code, e.g. 1000")
    journal: RefCode = pydantic.Field(description="journal code, e.g. BANK")
    csv_format: RefCode | None = pydantic.Field(None, description="statement CSV format code, e.g. generic")
    store_id: Id | None = None
    active: bool = True


class FinanceBankAccountPatch(FinanceBankAccountIn):
    """Only the fields sent are changed."""
    code: Code | None = None  # type: ignore[assignment]
    name: Name | None = None  # type: ignore[assignment]
    account: RefCode | None = None  # type: ignore[assignment]
    journal: RefCode | None = None  # type: ignore[assignment]
    active: bool | None = None  # type: ignore[assignment]


class FinanceBankAccountQuery(Page):
    q: str | None = pydantic.Field(None, max_length=64, description="code, name or IBAN contains")
    active: bool | None = None


class FinanceSupplierBankOut(pydantic.BaseModel):
    id: int
    partner_id: int
    partner: str
    account_number: str
    bank_name: str | None


class FinanceSupplierBankIn(_In):
    partner_id: Id
    account_number: Annotated[str, pydantic.StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
                              pydantic.AfterValidator(_no_control)] = pydantic.Field(
        description="IBAN (checked, stored without spaces) or a local account number")
    bank_name: Name | None = None


class FinanceSupplierBankPatch(FinanceSupplierBankIn):
    """Only the fields sent are changed."""
    partner_id: Id | None = None  # type: ignore[assignment]
    account_number: Annotated[str, pydantic.StringConstraints(  # type: ignore[assignment]
        strip_whitespace=True, min_length=1, max_length=64), pydantic.AfterValidator(_no_control)] | None = None


class FinanceSupplierBankQuery(Page):
    partner_id: Id | None = None
    q: str | None = pydantic.Field(None, max_length=64, description="supplier name, account number or bank contains")


def _bank_out(b: m.BankAccount) -> FinanceBankAccountOut:
    return FinanceBankAccountOut(id=b.id, code=b.code, name=b.name, iban=b.iban, account=b.account.code,
                                 journal=b.journal.code, csv_format=b.csv_format.code if b.csv_format else None,
                                 store_id=b.store_id, active=b.active)


def _supplier_bank_out(row: m.PartnerBankAccount) -> FinanceSupplierBankOut:
    return FinanceSupplierBankOut(id=row.id, partner_id=row.partner_id, partner=row.partner.name,
                                  account_number=row.account_number, bank_name=row.bank_name)


def _not_null(data: dict, *keys) -> dict:
    for key in keys:
        if key in data and data[key] is None:
            raise ValidationError(_("%(field)s cannot be null.", field=key), field=key)
    return data


def _limited_to_stores():
    if g.api_user.store_ids is not None:
        raise PermissionDenied(_("Your user is limited to some stores; this covers the whole company."))


def _line_out(ln: m.StatementLine) -> dict:
    return {"id": ln.id, "statement_id": ln.statement_id, "bank": ln.bank_account.code, "date": ln.date,
            "amount": ln.amount, "reference": ln.reference, "description": ln.description,
            "counterparty": ln.counterparty}


def _item_out(it: m.ExpectedItem) -> dict:
    return {"id": it.id, "kind": it.kind, "date": it.date, "store_id": it.store_id, "partner_id": it.partner_id,
            "method_code": it.method_code, "reference": it.reference, "gross": it.gross, "fee": it.fee,
            "amount": it.amount, "account": it.account.code}


def add_routes(bp) -> None:
    from addons.finance import ageing, bank_rules, manual_entries as me, payment_runs as pr
    from addons.finance import statement_balances as sb

    # --- manual journal entries ------------------------------------------------------------
    @bp.endpoint("/manual-entries", permission="finance.manual.read", query=FinanceManualQuery)
    def manual_entries(query: FinanceManualQuery):
        """Manual journal entries (drafts, posted, reversed), newest first."""
        _limited_to_stores()
        stmt = sa.select(m.ManualEntry).order_by(m.ManualEntry.id.desc())
        if query.state:
            stmt = stmt.where(m.ManualEntry.state == query.state)
        return paginate(stmt, query, me.manual_entry_json)

    @bp.endpoint("/manual-entries", methods=["POST"], permission="finance.manual.create", body=FinanceManualEntryIn,
                 status=201)
    def create_manual_entry(body: FinanceManualEntryIn):
        """Create a draft manual entry (its lines may not balance yet)."""
        _limited_to_stores()
        row = me.create_manual_entry(journal=body.journal, date=body.date, memo=body.memo, store_id=body.store_id,
                                     lines=[ln.model_dump() for ln in body.lines])
        return me.manual_entry_json(row)

    @bp.endpoint("/manual-entries/<int:entry_id>", permission="finance.manual.read")
    def manual_entry(entry_id):
        """One manual entry with its lines and who did what."""
        _limited_to_stores()
        return me.manual_entry_json(me.get_manual_entry(entry_id))

    @bp.endpoint("/manual-entries/<int:entry_id>", methods=["PATCH"], permission="finance.manual.edit",
                 body=FinanceManualEntryPatch)
    def update_manual_entry(entry_id, body: FinanceManualEntryPatch):
        """Change a draft (lines replaced when given); an approval is taken back."""
        _limited_to_stores()
        data = body.model_dump(exclude_unset=True)
        if "lines" in data and data["lines"] is None:
            raise ValidationError(_("lines: give the list of lines, or leave it out."))
        return me.manual_entry_json(me.update_manual_entry(entry_id, **data))

    @bp.endpoint("/manual-entries/<int:entry_id>", methods=["DELETE"], permission="finance.manual.delete")
    def delete_manual_entry(entry_id):
        """Throw a draft away (posted entries are reversed, never deleted)."""
        _limited_to_stores()
        me.delete_manual_entry(entry_id)
        return {}

    @bp.endpoint("/manual-entries/<int:entry_id>/approve", methods=["POST"], permission="finance.post_manual")
    def approve_manual_entry(entry_id):
        """Approve a draft as the second person (never the creator)."""
        _limited_to_stores()
        return me.manual_entry_json(me.approve_manual_entry(entry_id))

    @bp.endpoint("/manual-entries/<int:entry_id>/post", methods=["POST"], permission="finance.post_manual")
    def post_manual_entry(entry_id):
        """Post a balanced draft (above the second-approval amount: once approved)."""
        _limited_to_stores()
        return me.manual_entry_json(me.post_manual_entry(entry_id))

    @bp.endpoint("/manual-entries/<int:entry_id>/reverse", methods=["POST"], permission="finance.entry.reverse",
                 body=FinanceReverseIn)
    def reverse_manual_entry(entry_id, body: FinanceReverseIn):
        """Post the reversal of a posted manual entry."""
        _limited_to_stores()
        return me.manual_entry_json(me.reverse_manual_entry(entry_id, date=body.date, memo=body.memo))

    # --- bank accounts and suppliers' bank accounts ----------------------------------------
    from addons.finance import bank_accounts as ba

    @bp.endpoint("/bank-accounts", permission="finance.bank.read", query=FinanceBankAccountQuery,
                 response=page_of(FinanceBankAccountOut))
    def bank_accounts(query: FinanceBankAccountQuery):
        """The company's bank and payment-provider accounts, by code."""
        stmt = (sa.select(m.BankAccount).order_by(m.BankAccount.code)
                .options(joinedload(m.BankAccount.account), joinedload(m.BankAccount.journal),
                         joinedload(m.BankAccount.csv_format)))
        if query.q:
            stmt = stmt.where(contains(query.q, m.BankAccount.code, m.BankAccount.name, m.BankAccount.iban))
        if query.active is not None:
            stmt = stmt.where(m.BankAccount.active == query.active)
        return paginate(stmt, query, _bank_out)

    @bp.endpoint("/bank-accounts/<int:bank_id>", permission="finance.bank.read", response=FinanceBankAccountOut)
    def bank_account(bank_id):
        """One bank account."""
        return _bank_out(ba.get(m.BankAccount, bank_id, _("bank account")))

    @bp.endpoint("/bank-accounts", methods=["POST"], permission="finance.bank.create", body=FinanceBankAccountIn,
                 response=FinanceBankAccountOut, status=201)
    def create_bank_account(body: FinanceBankAccountIn):
        """Add a bank account: its GL account, journal and statement CSV format by code."""
        _limited_to_stores()
        return _bank_out(ba.create_bank_account(body.model_dump()))

    @bp.endpoint("/bank-accounts/<int:bank_id>", methods=["PATCH"], permission="finance.bank.edit",
                 body=FinanceBankAccountPatch, response=FinanceBankAccountOut)
    def update_bank_account(bank_id, body: FinanceBankAccountPatch):
        """Change a bank account (active false takes it out of use)."""
        _limited_to_stores()
        bank = ba.get(m.BankAccount, bank_id, _("bank account"))
        data = _not_null(body.model_dump(exclude_unset=True), "code", "name", "account", "journal", "active")
        return _bank_out(ba.update_bank_account(bank, data))

    @bp.endpoint("/supplier-bank-accounts", permission="finance.payment_run.read", query=FinanceSupplierBankQuery,
                 response=page_of(FinanceSupplierBankOut))
    def supplier_bank_accounts(query: FinanceSupplierBankQuery):
        """Where suppliers are paid (printed in a payment run's payment file)."""
        from core.models import Partner
        stmt = (sa.select(m.PartnerBankAccount).join(Partner, Partner.id == m.PartnerBankAccount.partner_id)
                .options(contains_eager(m.PartnerBankAccount.partner))
                .order_by(Partner.name, m.PartnerBankAccount.id))
        if query.partner_id is not None:
            stmt = stmt.where(m.PartnerBankAccount.partner_id == query.partner_id)
        if query.q:
            stmt = stmt.where(contains(query.q, Partner.name, m.PartnerBankAccount.account_number,
                                       m.PartnerBankAccount.bank_name))
        return paginate(stmt, query, _supplier_bank_out)

    @bp.endpoint("/supplier-bank-accounts/<int:row_id>", permission="finance.payment_run.read",
                 response=FinanceSupplierBankOut)
    def supplier_bank_account(row_id):
        """One supplier's bank account."""
        return _supplier_bank_out(ba.get(m.PartnerBankAccount, row_id, _("supplier bank account")))

    @bp.endpoint("/supplier-bank-accounts", methods=["POST"], permission="finance.payment_run.create",
                 body=FinanceSupplierBankIn, response=FinanceSupplierBankOut, status=201)
    def create_supplier_bank_account(body: FinanceSupplierBankIn):
        """Record where a supplier is paid (one account per supplier)."""
        _limited_to_stores()
        return _supplier_bank_out(ba.create_partner_bank_account(body.model_dump()))

    @bp.endpoint("/supplier-bank-accounts/<int:row_id>", methods=["PATCH"], permission="finance.payment_run.edit",
                 body=FinanceSupplierBankPatch, response=FinanceSupplierBankOut)
    def update_supplier_bank_account(row_id, body: FinanceSupplierBankPatch):
        """Change a supplier's bank account (runs already exported keep the number they printed)."""
        _limited_to_stores()
        row = ba.get(m.PartnerBankAccount, row_id, _("supplier bank account"))
        data = _not_null(body.model_dump(exclude_unset=True), "partner_id", "account_number")
        return _supplier_bank_out(ba.update_partner_bank_account(row, data))

    # --- statements, open lines and items, booking, rules -----------------------------------
    @bp.endpoint("/statements", permission="finance.statement.read", query=FinanceStatementQuery)
    def statements(query: FinanceStatementQuery):
        """Imported statements with their balances and whether they agree (adds up, follows
        the previous statement, equals the books)."""
        stmt = sa.select(m.Statement).order_by(m.Statement.id.desc())
        if query.bank:
            stmt = stmt.where(m.Statement.bank_account_id == services.bank_account(query.bank).id)
        page = paginate(stmt, query, lambda s: s)
        checks = sb.balance_checks(page["items"])
        page["items"] = [sb.statement_json(s, checks[s.id]) for s in page["items"]]
        return page

    @bp.endpoint("/statements/<int:statement_id>", permission="finance.statement.read")
    def statement(statement_id):
        """One statement with its balance checks."""
        s = db.session.get(m.Statement, min(statement_id, MAX_ID))
        if s is None:
            raise NotFound(_("There is no statement %(id)s.", id=statement_id))
        return sb.statement_json(s, sb.balance_checks([s])[s.id])

    @bp.endpoint("/statement-lines/open", permission="finance.reconcile", query=FinanceOpenLinesQuery,
                 response=page_of(FinanceStatementLineOut))
    def open_statement_lines(query: FinanceOpenLinesQuery):
        """Statement lines not matched yet (filter by bank account and dates), oldest first."""
        bank_id = services.bank_account(query.bank).id if query.bank else None
        stmt = services.open_lines_query(bank_id).order_by(m.StatementLine.date, m.StatementLine.id)
        if query.date_from:
            stmt = stmt.where(m.StatementLine.date >= query.date_from)
        if query.date_to:
            stmt = stmt.where(m.StatementLine.date <= query.date_to)
        return paginate(stmt, query, _line_out)

    @bp.endpoint("/expected-items/open", permission="finance.reconcile", query=FinanceOpenItemsQuery,
                 response=page_of(FinanceExpectedItemOut))
    def open_expected_items(query: FinanceOpenItemsQuery):
        """Expected items not matched yet (filter by store, kind and dates), oldest first."""
        ids = g.api_user.store_ids
        if query.store_id is not None and ids is not None and query.store_id not in ids:
            raise PermissionDenied(_("You can only see figures of your own stores."))
        if query.kind is not None and query.kind not in m.EXPECTED_KINDS:
            raise ValidationError(_("kind must be one of %(kinds)s.", kinds=", ".join(m.EXPECTED_KINDS)))
        stmt = services.open_expected_query(query.store_id).order_by(m.ExpectedItem.date, m.ExpectedItem.id)
        if query.store_id is None and ids is not None:
            stmt = stmt.where(m.ExpectedItem.store_id.in_(ids or [-1]))
        if query.kind:
            stmt = stmt.where(m.ExpectedItem.kind == query.kind)
        if query.date_from:
            stmt = stmt.where(m.ExpectedItem.date >= query.date_from)
        if query.date_to:
            stmt = stmt.where(m.ExpectedItem.date <= query.date_to)
        return paginate(stmt, query, _item_out)

    @bp.endpoint("/statement-lines/<int:line_id>/book", methods=["POST"], permission="finance.reconcile",
                 body=FinanceBookLineIn, status=201)
    def book_statement_line(line_id, body: FinanceBookLineIn):
        """Book an open statement line (a bank charge, interest) to an account: posted and matched."""
        mt = bank_rules.book_statement_line(line_id, body.account, store_id=body.store_id, label=body.label,
                                            note=body.note)
        return {"match_id": mt.id, "entry_id": mt.entry_id, "amount": mt.bank_amount,
                "account": mt.writeoff_account.code}

    @bp.endpoint("/bank-rules", permission="finance.bank_rule.read", response=list[dict])
    def bank_rules_list():
        """The bank-line rules auto-reconcile books unexplained lines by."""
        return [bank_rules.bank_rule_json(r) for r in db.session.scalars(
            sa.select(m.BankLineRule).order_by(m.BankLineRule.sequence, m.BankLineRule.id))]

    @bp.endpoint("/bank-rules", methods=["POST"], permission="finance.bank_rule.create", body=FinanceBankRuleIn,
                 status=201)
    def create_bank_rule(body: FinanceBankRuleIn):
        """Add a bank-line rule (the pattern is checked)."""
        return bank_rules.bank_rule_json(bank_rules.create_bank_rule(**body.model_dump()))

    # --- supplier payments ------------------------------------------------------------------
    @bp.endpoint("/payment-runs", permission="finance.payment_run.read", query=Page)
    def payment_runs(query: Page):
        """Payment runs, newest first."""
        return paginate(sa.select(m.PaymentRun).order_by(m.PaymentRun.id.desc()), query, pr.payment_run_json)

    @bp.endpoint("/payment-runs", methods=["POST"], permission="finance.payment_run.create",
                 body=FinancePaymentRunIn, status=201)
    def create_payment_run(body: FinancePaymentRunIn):
        """Select the open supplier bills due by a date into a draft payment run."""
        return pr.payment_run_json(pr.create_payment_run(**body.model_dump()))

    @bp.endpoint("/payment-runs/<int:run_id>", permission="finance.payment_run.read")
    def payment_run(run_id):
        """One payment run with its payments and bills."""
        return pr.payment_run_json(pr.get_payment_run(run_id))

    @bp.endpoint("/payment-runs/<int:run_id>/approve", methods=["POST"], permission="finance.payment_run.approve")
    def approve_payment_run(run_id):
        """Approve a draft run."""
        return pr.payment_run_json(pr.approve_payment_run(run_id))

    @bp.endpoint("/payment-runs/<int:run_id>/export", methods=["POST"], permission="finance.payment_run.post")
    def export_payment_run(run_id):
        """The payment file (CSV, UTF-8 with BOM) of an approved run; the run is exported."""
        run, data = pr.export_payment_run(run_id)
        return Response(data, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{run.number}.csv"'})

    @bp.endpoint("/payment-runs/<int:run_id>/post", methods=["POST"], permission="finance.payment_run.post",
                 body=FinancePostRunIn)
    def post_payment_run(run_id, body: FinancePostRunIn):
        """Post an exported run: payable debited per supplier, bank or payments in transit credited."""
        return pr.payment_run_json(pr.post_payment_run(run_id, date=body.date))

    @bp.endpoint("/payment-runs/<int:run_id>/cancel", methods=["POST"], permission="finance.payment_run.edit")
    def cancel_payment_run(run_id):
        """Cancel a run that is not posted (its bills are due again)."""
        return pr.payment_run_json(pr.cancel_payment_run(run_id))

    @bp.endpoint("/reports/ap-ageing", permission="finance.report", query=FinanceAgeingQuery)
    def ap_ageing(query: FinanceAgeingQuery):
        """Accounts payable ageing as of a date: per supplier, current / 1-30 / 31-60 / 61-90 / 90+."""
        _limited_to_stores()
        return ageing.ageing_json(ageing.ap_ageing(query.as_of, query.partner_id))

    @bp.endpoint("/reports/ap-ageing.pdf", permission="finance.report", query=FinanceAgeingQuery)
    def ap_ageing_pdf(query: FinanceAgeingQuery):
        """The AP ageing as PDF."""
        _limited_to_stores()
        return Response(ageing.ap_ageing_pdf(query.as_of, query.partner_id)[0], mimetype="application/pdf")
