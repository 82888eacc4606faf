"""A statement's opening and closing balances, and whether they agree with everything else.

The bank prints what the account held before the first line and after the last. Three
checks, none of which refuses the statement (the bank is the bank: a mismatch is shown,
clearly, so someone looks):

- the statement adds up: opening + sum(lines) = closing;
- it continues the previous one: opening = the previous statement's closing (same bank
  account, by date);
- the books agree: closing = the balance of the bank's GL account on the statement's last
  day (after matching: open lines and unposted items show up here).

CAMT.053 ``Bal`` elements (OPBD / CLBD, falling back to PRCD / CLAV); CSV: a running
balance column of the bank's format, or the balances typed into the import form / API.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy import func

from core.db import db
from core.i18n import _
from addons.finance.models import EntryLine, Statement

OPENING_CODES = ("OPBD", "PRCD")
CLOSING_CODES = ("CLBD", "CLAV")


def camt_balances(content: bytes) -> tuple[Decimal | None, Decimal | None]:
    """(opening, closing) of a CAMT.053 file: the first statement's opening, the last's closing."""
    from xml.etree import ElementTree
    from addons.finance.services import _parse_amount, _strip_ns, _text
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError:
        return None, None
    stmts = [el for el in root.iter() if _strip_ns(el.tag) == "Stmt"]
    found: list[dict] = []
    for stmt in stmts:
        by_code: dict[str, Decimal] = {}
        for bal in (el for el in stmt if _strip_ns(el.tag) == "Bal"):
            code = _text(bal, "Tp/CdOrPrtry/Cd") or _text(bal, "Tp/CdOrPrtry/Prtry")
            raw = _text(bal, "Amt")
            try:
                amount = _parse_amount(raw or "", False)
            except (ValueError, InvalidOperation):
                from addons.finance.services import StatementError
                raise StatementError(_("The balance %(code)s '%(value)s' is not a number.", code=code or "-",
                                       value=(raw or "")[:40])) from None
            if _text(bal, "CdtDbtInd") == "DBIT":
                amount = -amount
            if code and code not in by_code:
                by_code[code] = amount
        found.append(by_code)
    if not found:
        return None, None
    opening = next((found[0][c] for c in OPENING_CODES if c in found[0]), None)
    closing = next((found[-1][c] for c in CLOSING_CODES if c in found[-1]), None)
    return opening, closing


def csv_running_balances(rows: list[dict]) -> tuple[Decimal | None, Decimal | None, list[str]]:
    """(opening, closing, problems) from a running balance column (in file order): the
    opening is the first balance less its line, the closing the last balance; a line whose
    balance is not the one before plus its amount is named."""
    balances = [r.get("balance") for r in rows]
    if not rows or all(b is None for b in balances):
        return None, None, []
    problems = []
    if any(b is None for b in balances):
        problems.append(_("some lines have no balance"))
    known = [(r, r["balance"]) for r in rows if r.get("balance") is not None]
    opening = known[0][1] - known[0][0]["amount"]
    closing = known[-1][1]
    prev = None
    for r, bal in known:
        if prev is not None and prev + r["amount"] != bal and not problems:
            problems.append(_("line %(n)s: the balance %(bal)s is not %(prev)s + %(amount)s", n=r["line_no"],
                              bal=bal, prev=prev, amount=r["amount"]))
        prev = bal
    return opening, closing, problems


def book_balance(account_id: int, date) -> Decimal:
    """Debits less credits of an account up to and including ``date``."""
    from addons.finance.services import money
    el = EntryLine.__table__
    value = db.session.execute(sa.select(func.coalesce(func.sum(el.c.debit - el.c.credit), 0))
                               .where(el.c.account_id == account_id, el.c.date <= date)).scalar()
    return money(value)


def balance_checks(statements: list[Statement]) -> dict[int, dict]:
    """For each statement: its checks, a state (``ok``, ``mismatch`` or ``unknown`` when
    the file gave no balances) and the messages a person reads. Two queries for a page of
    statements: the previous statements' closings and the book balances per day."""
    from addons.finance.services import fmt, money
    out: dict[int, dict] = {}
    if not statements:
        return out
    # previous statement (by last day, then id) of each bank account
    bank_ids = sorted({s.bank_account_id for s in statements})
    st = Statement.__table__
    history = db.session.execute(
        sa.select(st.c.id, st.c.bank_account_id, st.c.date_to, st.c.closing_balance)
        .where(st.c.bank_account_id.in_(bank_ids)).order_by(st.c.bank_account_id, st.c.date_to, st.c.id)).all()
    previous: dict[int, tuple] = {}
    last: dict[int, tuple] = {}
    for row in history:
        previous[row.id] = last.get(row.bank_account_id)
        last[row.bank_account_id] = row
    # book balance of each bank's GL account per day, cumulated
    el = EntryLine.__table__
    accounts = sorted({s.bank_account.account_id for s in statements})
    max_date = max((s.date_to for s in statements if s.date_to), default=None)
    per_day: dict[int, list] = {a: [] for a in accounts}
    if max_date is not None:
        for r in db.session.execute(sa.select(el.c.account_id, el.c.date, func.sum(el.c.debit - el.c.credit))
                                    .where(el.c.account_id.in_(accounts), el.c.date <= max_date)
                                    .group_by(el.c.account_id, el.c.date).order_by(el.c.account_id, el.c.date)):
            per_day[r[0]].append((r[1], money(r[2])))

    def books_on(account_id, date):
        return sum((amount for d, amount in per_day.get(account_id, ()) if d <= date), money(0))

    for s in statements:
        messages, checks = [], {}
        lines_total = money(s.total)
        if s.opening_balance is None or s.closing_balance is None:
            checks["adds_up"] = None
            if s.opening_balance is None and s.closing_balance is None:
                messages.append(_("The statement gives no opening and closing balance."))
        else:
            expected_close = money(s.opening_balance + lines_total)
            checks["adds_up"] = expected_close == money(s.closing_balance)
            if not checks["adds_up"]:
                messages.append(_("Opening %(opening)s + lines %(lines)s = %(sum)s, but the closing balance is "
                                  "%(closing)s (difference %(diff)s).", opening=fmt(s.opening_balance),
                                  lines=fmt(lines_total), sum=fmt(expected_close), closing=fmt(s.closing_balance),
                                  diff=fmt(money(s.closing_balance) - expected_close)))
        prev = previous.get(s.id)
        if s.opening_balance is None or prev is None or prev.closing_balance is None:
            checks["continues_previous"] = None
        else:
            checks["continues_previous"] = money(prev.closing_balance) == money(s.opening_balance)
            if not checks["continues_previous"]:
                messages.append(_("The opening balance %(opening)s is not the closing balance %(closing)s of the "
                                  "previous statement %(id)s (difference %(diff)s): a statement may be missing.",
                                  opening=fmt(s.opening_balance), closing=fmt(prev.closing_balance), id=prev.id,
                                  diff=fmt(money(s.opening_balance) - money(prev.closing_balance))))
        books = books_on(s.bank_account.account_id, s.date_to) if s.date_to else None
        if s.closing_balance is None or books is None:
            checks["agrees_with_books"] = None
        else:
            checks["agrees_with_books"] = books == money(s.closing_balance)
            if not checks["agrees_with_books"]:
                messages.append(_("The closing balance %(closing)s is not the book balance %(books)s of account "
                                  "%(account)s on %(date)s (difference %(diff)s): lines not yet matched or booked, "
                                  "or postings missing.", closing=fmt(s.closing_balance), books=fmt(books),
                                  account=s.bank_account.account.code, date=s.date_to,
                                  diff=fmt(money(s.closing_balance) - books)))
        known = [v for v in checks.values() if v is not None]
        state = "unknown" if not known else ("ok" if all(known) else "mismatch")
        out[s.id] = {"state": state, "checks": checks, "messages": messages, "book_balance": books,
                     "opening_balance": s.opening_balance, "closing_balance": s.closing_balance,
                     "lines_total": lines_total}
    return out


def statement_json(s: Statement, check: dict) -> dict:
    return {"id": s.id, "bank": s.bank_account.code, "filename": s.filename, "format": s.format,
            "date_from": s.date_from, "date_to": s.date_to, "lines": s.line_count, "total": s.total,
            "opening_balance": s.opening_balance, "closing_balance": s.closing_balance,
            "balance_state": check["state"], "balance_checks": check["checks"],
            "balance_messages": [str(m) for m in check["messages"]], "book_balance": check["book_balance"],
            "imported_at": s.imported_at, "imported_by": s.imported_by}


def statements_for_store(store_id: int, date_from, date_to) -> list[Statement]:
    """Statements of the store's (and the shared) bank accounts overlapping the dates."""
    from addons.finance.models import BankAccount
    q = (sa.select(Statement).join(BankAccount, BankAccount.id == Statement.bank_account_id)
         .where(sa.or_(BankAccount.store_id.is_(None), BankAccount.store_id == store_id),
                Statement.date_from <= date_to, Statement.date_to >= date_from)
         .order_by(Statement.date_to, Statement.id))
    return db.session.scalars(q).all()
