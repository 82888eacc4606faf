"""Booking what the bank shows and nobody expected: bank charges, interest, a standing order.

``book_statement_line`` books one open statement line to an account the user picks: a
posted bank entry (bank account's GL account against the chosen one, store optional) and
a match, so the line is reconciled. Bank-line rules (``BankLineRule``, data in the admin:
"fee lines from bank X whose description matches P go to 6100") do the same for the lines
``auto_reconcile`` could not match against an expected item; a booked line is matched, so a
second run books nothing more.

Services never commit: the caller owns the transaction.
"""
from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa

from core.db import db
from core.errors import Conflict, NotFound, ValidationError
from core.i18n import _
from addons.finance.manual_entries import check_amount, check_id, check_text, who
from addons.finance.models import (Account, BankAccount, BankLineRule, Match, MatchLine, StatementLine)

BANK_RULE_FIELDS = ("any", "description", "counterparty", "reference")
BANK_RULE_SIGNS = ("debit", "credit")
METHOD_BOOKED, METHOD_RULE = "booked", "rule"  # Match.method of a line booked by hand / by a rule


def compile_pattern(pattern: str):
    """The rule's regular expression (case-insensitive), or a clear refusal."""
    pattern = check_text(pattern, _("The pattern"), 256)
    if not pattern:
        raise ValidationError(_("A bank-line rule needs a pattern (text or a regular expression)."))
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValidationError(_("The pattern '%(pattern)s' is not a valid regular expression: %(error)s.",
                                pattern=pattern, error=str(exc))) from None


def _account_by_code(code) -> Account:
    if isinstance(code, Account):
        return code
    if isinstance(code, int) and not isinstance(code, bool):
        acc = db.session.get(Account, check_id(code, _("Account")))
    else:
        acc = db.session.scalar(sa.select(Account).where(Account.code == check_text(code, _("Account"), 16)))
    if acc is None:
        raise ValidationError(_("There is no account %(acc)s.", acc=str(code)[:20]))
    if not acc.active:
        raise ValidationError(_("Account %(acc)s is archived.", acc=acc))
    return acc


def validate_rule(rule: BankLineRule) -> BankLineRule:
    """Refuse a rule that could never work: a broken pattern, an unknown field or sign, a
    range upside down (the admin form and the API both call this)."""
    compile_pattern(rule.pattern)
    rule.name = check_text(rule.name, _("The name"), 128)
    if not rule.name:
        raise ValidationError(_("A bank-line rule needs a name."))
    rule.field = rule.field or "any"
    if rule.field not in BANK_RULE_FIELDS:
        raise ValidationError(_("The field must be one of %(fields)s.", fields=", ".join(BANK_RULE_FIELDS)))
    rule.sign = rule.sign or None
    if rule.sign is not None and rule.sign not in BANK_RULE_SIGNS:
        raise ValidationError(_("The sign must be debit (money out) or credit (money in), or empty for both."))
    for name in ("amount_min", "amount_max"):
        value = getattr(rule, name)
        if value is not None:
            setattr(rule, name, check_amount(value, _("The amount range")))
    if rule.amount_min is not None and rule.amount_max is not None and rule.amount_min > rule.amount_max:
        raise ValidationError(_("The smallest amount (%(lo)s) is larger than the largest (%(hi)s).",
                                lo=rule.amount_min, hi=rule.amount_max))
    if rule.account_id is None and rule.account is None:
        raise ValidationError(_("Choose the account the lines are booked to."))
    return rule


def create_bank_rule(*, name, pattern, account, bank=None, field="any", sign=None, amount_min=None,
                     amount_max=None, store_id=None, label=None, sequence=10, active=True) -> BankLineRule:
    from core.models import Store
    from addons.finance.services import bank_account
    acc = _account_by_code(account)
    bank_row = bank_account(bank) if bank else None
    store_id = check_id(store_id, _("Store"))
    if store_id is not None and db.session.get(Store, store_id) is None:
        raise ValidationError(_("Store %(id)s does not exist.", id=store_id))
    if db.session.scalar(sa.select(BankLineRule.id).where(BankLineRule.name == name)) is not None:
        raise Conflict(_("There is already a bank-line rule named %(name)s.", name=name))
    if not isinstance(sequence, int) or isinstance(sequence, bool) or not 0 <= sequence <= 10_000:
        raise ValidationError(_("The sequence must be a whole number from 0 to 10000."))
    rule = BankLineRule(name=name, pattern=pattern, account_id=acc.id, account=acc,
                        bank_account_id=bank_row.id if bank_row else None, field=field, sign=sign,
                        amount_min=amount_min, amount_max=amount_max, store_id=store_id,
                        label=check_text(label, _("The label"), 128), sequence=sequence, active=bool(active))
    validate_rule(rule)
    db.session.add(rule)
    db.session.flush()
    return rule


def rule_applies(rule: BankLineRule, regex, line: dict) -> bool:
    """Whether ``rule`` books ``line`` (a dict: bank_account_id, amount, reference,
    description, counterparty)."""
    if rule.bank_account_id is not None and line["bank_account_id"] != rule.bank_account_id:
        return False
    amount = Decimal(line["amount"])
    if rule.sign == "debit" and amount >= 0 or rule.sign == "credit" and amount <= 0:
        return False
    if rule.amount_min is not None and abs(amount) < rule.amount_min:
        return False
    if rule.amount_max is not None and abs(amount) > rule.amount_max:
        return False
    fields = ("description", "counterparty", "reference") if rule.field == "any" else (rule.field,)
    return any(regex.search(line.get(f) or "") for f in fields)


def _open_line(line_id) -> StatementLine:
    line = db.session.get(StatementLine, check_id(line_id, _("Statement line")) or 0)
    if line is None:
        raise NotFound(_("There is no statement line %(id)s.", id=line_id))
    taken = db.session.scalar(sa.select(MatchLine.match_id).where(MatchLine.active_line_id == line.id))
    if taken is not None:
        from addons.finance.services import fmt
        raise Conflict(_("The statement line of %(date)s for %(amount)s (%(ref)s) is already matched (match "
                         "%(match)s); undo that match first.", date=line.date, amount=fmt(line.amount),
                         ref=line.reference or "-", match=taken))
    return line


def book_statement_line(line_id, account, *, store_id=None, label=None, note=None, rule: BankLineRule | None = None,
                        _line: StatementLine | None = None) -> Match:
    """Book an open statement line to ``account`` (code, id or Account): the bank's GL
    account against it, dated the line's date, and the line matched."""
    from core.models import Store
    from addons.finance import services
    line = _line or _open_line(line_id)
    acc = _account_by_code(account)
    bank = db.session.get(BankAccount, line.bank_account_id)
    if acc.id == bank.account_id:
        raise ValidationError(_("Choose another account than the bank's own (%(acc)s).", acc=acc))
    store_id = check_id(store_id, _("Store"))
    if store_id is not None and db.session.get(Store, store_id) is None:
        raise ValidationError(_("Store %(id)s does not exist.", id=store_id))
    label = check_text(label, _("The label"), 128) or line.description or line.reference or _("Bank")
    note = check_text(note, _("The note"), 256)
    services.check_period_open(line.date)
    amount = services.money(line.amount)
    m = Match(method=METHOD_RULE if rule else METHOD_BOOKED, bank_account_id=bank.id, date=line.date,
              bank_amount=amount, expected_amount=services.ZERO, difference=amount, writeoff_account_id=acc.id,
              note=(note or (_("Booked by rule %(rule)s", rule=rule.name) if rule else
                             _("Booked to %(acc)s", acc=acc)))[:256],
              created_by=who())
    db.session.add(m)
    db.session.flush()
    db.session.add(MatchLine(match_id=m.id, statement_line_id=line.id, active_line_id=line.id))
    lines = [dict(account=bank.account_id, debit=amount if amount > 0 else services.ZERO,
                  credit=-amount if amount < 0 else services.ZERO, label=label[:128], store_id=store_id),
             dict(account=acc.id, debit=-amount if amount < 0 else services.ZERO,
                  credit=amount if amount > 0 else services.ZERO, label=label[:128], store_id=store_id)]
    entry = services.post_entry(bank.journal, line.date, lines, memo=m.note, store_id=store_id,
                                source_type=services.SRC_MATCH, source_id=m.id, source_ref=f"match {m.id}")
    m.entry_id = entry.id
    db.session.flush()
    return m


def apply_bank_rules(bank_account_id: int | None = None) -> dict:
    """Book the still-open statement lines that an active bank-line rule covers (first rule
    in ``sequence`` order wins). Lines already matched are never touched."""
    from addons.finance.services import open_lines_query
    rules = db.session.scalars(sa.select(BankLineRule).where(BankLineRule.active.is_(True))
                               .order_by(BankLineRule.sequence, BankLineRule.id)).all()
    if not rules:
        return {"booked": 0, "by_bank_rule": {}}
    compiled = []
    for rule in rules:
        try:
            compiled.append((rule, compile_pattern(rule.pattern)))
        except ValidationError:
            continue  # refused at save time; one stored by other means must not stop the run
    lines = db.session.scalars(open_lines_query(bank_account_id).order_by(StatementLine.date, StatementLine.id)).all()
    booked: dict[str, int] = {}
    for line in lines:
        data = dict(bank_account_id=line.bank_account_id, amount=line.amount, reference=line.reference,
                    description=line.description, counterparty=line.counterparty)
        rule = next((r for r, rx in compiled if rule_applies(r, rx, data)), None)
        if rule is None:
            continue
        book_statement_line(line.id, rule.account, store_id=rule.store_id, label=rule.label, rule=rule, _line=line)
        booked[rule.name] = booked.get(rule.name, 0) + 1
    return {"booked": sum(booked.values()), "by_bank_rule": booked}


def bank_rule_json(rule: BankLineRule) -> dict:
    return {"id": rule.id, "name": rule.name, "sequence": rule.sequence, "active": rule.active,
            "bank": rule.bank_account.code if rule.bank_account else None, "field": rule.field,
            "pattern": rule.pattern, "sign": rule.sign, "amount_min": rule.amount_min,
            "amount_max": rule.amount_max, "account": rule.account.code, "store_id": rule.store_id,
            "label": rule.label}
