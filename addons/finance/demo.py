"""Finance demo data: a European-style CSV format and a payment-provider account."""
from __future__ import annotations

import sqlalchemy as sa

from addons.finance.models import BankAccount, CsvFormat


def load_demo(session, app) -> None:
    from addons.finance import services
    services.create_base_data(session)
    fmt = session.scalar(sa.select(CsvFormat).where(CsvFormat.code == "eu-semicolon"))
    if fmt is None:
        fmt = CsvFormat(code="eu-semicolon", name="Semicolon CSV with decimal comma (Buchungstag;Betrag;...)",
                        delimiter=";", date_column="Buchungstag", date_format="%d.%m.%Y", amount_column="Betrag",
                        reference_column="Verwendungszweck", description_column="Buchungstext",
                        counterparty_column="Auftraggeber", decimal_comma=True)
        session.add(fmt)
        session.flush()
    if session.scalar(sa.select(BankAccount).where(BankAccount.code == "PROVIDER")) is None:
        session.add(BankAccount(code="PROVIDER", name="Card provider payouts", account_id=services.account("1000").id,
                                journal_id=services.journal("BANK").id, csv_format_id=fmt.id))
    session.flush()
