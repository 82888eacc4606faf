"""The company's bank accounts and the suppliers' bank accounts (where a payment run pays
them), created and changed through the API. Never commits; a code, IBAN or supplier used
twice is a Conflict (409), an unknown account/journal/format or a wrong IBAN a ValidationError."""
from __future__ import annotations

import re

import sqlalchemy as sa

from addons.finance.models import Account, BankAccount, CsvFormat, Journal, PartnerBankAccount
from core.db import db
from core.errors import Conflict, NotFound, ValidationError
from core.i18n import _
from core.models import Partner, Store

_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")


def normalise_iban(value: str) -> str:
    """``value`` without spaces, in capitals, if its mod-97 check (ISO 13616) holds; else a ValidationError."""
    iban = re.sub(r"\s+", "", value or "").upper()
    if not _IBAN.match(iban):
        raise ValidationError(_("%(iban)s is not an IBAN (two letters, two check digits, up to 30 letters or "
                                "digits).", iban=value), field="iban")
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    if int(digits) % 97 != 1:
        raise ValidationError(_("The check digits of the IBAN %(iban)s are wrong.", iban=value), field="iban")
    return iban


def _by_code(model, code, field: str, what: str):
    row = db.session.scalar(sa.select(model).where(model.code == code))
    if row is None:
        raise ValidationError(_("There is no %(what)s with code %(code)s.", what=what, code=code), field=field)
    return row


def _apply_bank(bank: BankAccount, data: dict) -> BankAccount:
    for key in ("code", "name", "active"):
        if key in data:
            setattr(bank, key, data[key])
    if "iban" in data:
        bank.iban = normalise_iban(data["iban"]) if data["iban"] else None
    if "account" in data:
        bank.account_id = _by_code(Account, data["account"], "account", _("account")).id
    if "journal" in data:
        bank.journal_id = _by_code(Journal, data["journal"], "journal", _("journal")).id
    if "csv_format" in data:
        bank.csv_format_id = (_by_code(CsvFormat, data["csv_format"], "csv_format", _("CSV format")).id
                              if data["csv_format"] else None)
    if "store_id" in data:
        if data["store_id"] is not None and db.session.get(Store, data["store_id"]) is None:
            raise ValidationError(_("There is no store with id %(id)s.", id=data["store_id"]), field="store_id")
        bank.store_id = data["store_id"]
    for key, value in (("code", bank.code), ("iban", bank.iban)):
        if value is None:
            continue
        other = db.session.scalar(sa.select(BankAccount).where(getattr(BankAccount, key) == value,
                                                              BankAccount.id != (bank.id or -1)))
        if other is not None:
            raise Conflict(_("The bank account %(other)s already has this %(field)s: %(value)s.",
                             other=other.code, field=key, value=value), field=key)
    return bank


def create_bank_account(data: dict) -> BankAccount:
    """A new bank account: code, name, account (GL code) and journal (code) required."""
    for key in ("code", "name", "account", "journal"):
        if not data.get(key):
            raise ValidationError(_("%(field)s is required.", field=key), field=key)
    with db.session.no_autoflush:
        bank = _apply_bank(BankAccount(active=True), data)
    db.session.add(bank)
    db.session.flush()
    return bank


def update_bank_account(bank: BankAccount, data: dict) -> BankAccount:
    with db.session.no_autoflush:
        _apply_bank(bank, data)
    db.session.flush()
    return bank


def normalise_account_number(value: str) -> str:
    """An IBAN-looking number (two letters, two digits) is checked and written without
    spaces; any other (a local account number) is kept as typed."""
    compact = re.sub(r"\s+", "", value or "").upper()
    if re.match(r"^[A-Z]{2}[0-9]{2}", compact):
        return normalise_iban(compact)
    return value.strip()


def _apply_partner_bank(row: PartnerBankAccount, data: dict) -> PartnerBankAccount:
    if "partner_id" in data:
        partner = db.session.get(Partner, data["partner_id"])
        if partner is None:
            raise ValidationError(_("There is no customer or supplier with id %(id)s.", id=data["partner_id"]),
                                  field="partner_id")
        other = db.session.scalar(sa.select(PartnerBankAccount).where(
            PartnerBankAccount.partner_id == partner.id, PartnerBankAccount.id != (row.id or -1)))
        if other is not None:
            raise Conflict(_("%(partner)s already has a bank account (%(number)s): change that one.",
                             partner=partner.name, number=other.account_number), field="partner_id")
        row.partner_id = partner.id
    if "account_number" in data:
        number = normalise_account_number(data["account_number"])
        if not number:
            raise ValidationError(_("%(field)s is required.", field="account_number"), field="account_number")
        row.account_number = number
    if "bank_name" in data:
        row.bank_name = data["bank_name"] or None
    return row


def create_partner_bank_account(data: dict) -> PartnerBankAccount:
    """Where a supplier is paid (one account per supplier): partner_id and account_number required."""
    for key in ("partner_id", "account_number"):
        if not data.get(key):
            raise ValidationError(_("%(field)s is required.", field=key), field=key)
    with db.session.no_autoflush:
        row = _apply_partner_bank(PartnerBankAccount(), data)
    db.session.add(row)
    db.session.flush()
    return row


def update_partner_bank_account(row: PartnerBankAccount, data: dict) -> PartnerBankAccount:
    with db.session.no_autoflush:
        _apply_partner_bank(row, data)
    db.session.flush()
    return row


def get(model, ident: int, what: str):
    row = db.session.get(model, ident) if 0 < ident < 2**31 else None
    if row is None:
        raise NotFound(_("There is no %(what)s with id %(id)s.", what=what, id=ident))
    return row
