"""Statement import: CSV with a per-bank column mapping, CAMT.053, duplicates, bad input."""
import datetime as dt
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from addons.finance import services
from addons.finance.models import BankAccount, CsvFormat, Statement, StatementLine
from core.db import db
from core.errors import Conflict, NotFound, ValidationError

CSV = (b"date,amount,reference,description,counterparty\n"
       b"2026-11-21,475.00,DEP-F1-20261120,Cash deposit,Store F1\n"
       b"2026-11-22,\"1,052.47\",CARD-F1-20261120,Card payout,Acquirer\n"
       b"2026-11-22,-12.50,,Bank charges,\n")


def counts():
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Statement)),
            db.session.scalar(sa.select(sa.func.count()).select_from(StatementLine)))


def test_csv_import(app):
    stmt = services.import_statement(CSV, filename="nov.csv", bank_code="MAIN")
    assert (stmt.line_count, stmt.total, stmt.format) == (3, D("1514.97"), "csv")
    lines = db.session.scalars(sa.select(StatementLine).where(StatementLine.statement_id == stmt.id)
                               .order_by(StatementLine.line_no)).all()
    assert [(ln.line_no, ln.date, ln.amount, ln.reference) for ln in lines] == [
        (2, dt.date(2026, 11, 21), D("475.00"), "DEP-F1-20261120"),
        (3, dt.date(2026, 11, 22), D("1052.47"), "CARD-F1-20261120"),
        (4, dt.date(2026, 11, 22), D("-12.50"), None)]


def test_same_file_twice_is_refused(app):
    services.import_statement(CSV, filename="nov.csv", bank_code="MAIN")
    before = counts()
    with pytest.raises(Conflict, match="already imported"):
        services.import_statement(CSV, filename="nov-again.csv", bank_code="MAIN")
    # a different file repeating a line already imported is refused too, whole
    overlap = CSV.replace(b"description", b"description").replace(b"-12.50,,Bank charges,\n",
                                                                    b"-12.50,,Bank charges,\n2026-11-23,5.00,X,new,\n")
    with pytest.raises(Conflict, match=r"Line 2 .*already imported.*3 of the 4 lines.*Nothing was imported"):
        services.import_statement(overlap, filename="overlap.csv", bank_code="MAIN")
    assert counts() == before


def test_identical_lines_inside_one_file_are_both_kept(app):
    data = b"date,amount,reference,description,counterparty\n2026-11-21,10.00,A,x,\n2026-11-21,10.00,A,x,\n"
    assert services.import_statement(data, filename="twins.csv", bank_code="MAIN").line_count == 2


def test_wrong_column_names_the_column_and_imports_nothing(app):
    before = counts()
    bad = CSV.replace(b"amount,", b"amt,", 1)
    with pytest.raises(ValidationError, match=r"Line 1: the column\(s\) 'amount' .* not in the file"):
        services.import_statement(bad, filename="bad.csv", bank_code="MAIN")
    assert counts() == before


def test_non_numeric_amount_names_the_line_and_imports_nothing(app):
    before = counts()
    bad = CSV.replace(b"-12.50", b"12.5O")
    with pytest.raises(ValidationError, match=r"line 4: the amount '12.5O' is not a number"):
        services.import_statement(bad, filename="bad.csv", bank_code="MAIN")
    bad = CSV.replace(b"2026-11-21", b"21/11/2026")
    with pytest.raises(ValidationError, match=r"line 2: the date '21/11/2026' does not match"):
        services.import_statement(bad, filename="bad2.csv", bank_code="MAIN")
    with pytest.raises(ValidationError, match="empty"):
        services.import_statement(b"  ", filename="empty.csv", bank_code="MAIN")
    with pytest.raises(NotFound):
        services.import_statement(CSV, filename="x.csv", bank_code="NOPE")
    assert counts() == before


def test_per_bank_mapping_semicolon_decimal_comma(app):
    fmt = CsvFormat(code="eu", name="EU", delimiter=";", date_column="Buchungstag", date_format="%d.%m.%Y",
                    amount_column="Betrag", reference_column="Verwendungszweck", description_column=None,
                    id_column="Umsatz-ID", decimal_comma=True)
    db.session.add(fmt)
    db.session.flush()
    bank = BankAccount(code="EUBANK", name="EU bank", account_id=services.account("1000").id,
                       journal_id=services.journal("BANK").id, csv_format_id=fmt.id)
    db.session.add(bank)
    db.session.flush()
    data = "Buchungstag;Betrag;Verwendungszweck;Umsatz-ID\n21.11.2026;1.234,56;DEP-F1;u1\n22.11.2026;-3,10;Gebühr;u2\n"
    stmt = services.import_statement(data.encode(), filename="eu.csv", bank_code="EUBANK")
    assert stmt.total == D("1231.46")
    with pytest.raises(Conflict):  # same bank line ids again, in another file
        services.import_statement((data + "23.11.2026;1,00;x;u3\n").encode(), filename="eu2.csv", bank_code="EUBANK")


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-23T08:00:00</CreDtTm></GrpHdr>
  <Stmt><Id>S1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
   <Ntry><Amt Ccy="EUR">475.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-11-21</Dt></BookgDt><AcctSvcrRef>B-0001</AcctSvcrRef>
    <NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
     <RltdPties><Dbtr><Nm>Store F1</Nm></Dbtr></RltdPties>
     <RmtInf><Ustrd>Deposit DEP-F1-20261120</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
   <Ntry><Amt Ccy="EUR">50.85</Amt><CdtDbtInd>DBIT</CdtDbtInd>
    <BookgDt><Dt>2026-11-22</Dt></BookgDt><AcctSvcrRef>B-0002</AcctSvcrRef>
    <NtryDtls><TxDtls><RltdPties><Cdtr><Nm>Supplier</Nm></Cdtr></RltdPties>
     <RmtInf><Strd><CdtrRefInf><Ref>INV-778</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>
  </Stmt></BkToCstmrStmt></Document>"""


def test_camt053_import_by_iban(app):
    bank = services.bank_account("MAIN")
    bank.iban = "DE89370400440532013000"
    stmt = services.import_statement(CAMT.encode(), filename="camt.xml")
    assert stmt.format == "camt053" and stmt.bank_account_id == bank.id
    lines = db.session.scalars(sa.select(StatementLine).where(StatementLine.statement_id == stmt.id)
                               .order_by(StatementLine.line_no)).all()
    assert [(ln.amount, ln.reference, ln.description, ln.counterparty) for ln in lines] == [
        (D("475.00"), None, "Deposit DEP-F1-20261120", "Store F1"),
        (D("-50.85"), "INV-778", None, "Supplier")]
    with pytest.raises(Conflict):
        services.import_statement(CAMT.encode(), filename="camt.xml")


def test_camt053_bad_amount_names_the_entry(app):
    before = counts()
    with pytest.raises(ValidationError, match=r"entry 2 \(B-0002\): the amount 'fifty' is not a number"):
        services.import_statement(CAMT.replace("50.85", "fifty").encode(), filename="bad.xml", bank_code="MAIN")
    with pytest.raises(ValidationError, match="not valid XML"):
        services.import_statement(b"<Document><oops></Document>", filename="bad.xml", bank_code="MAIN")
    bank = services.bank_account("MAIN")
    bank.iban = "GB00OTHER"
    with pytest.raises(ValidationError, match="not for MAIN"):
        services.import_statement(CAMT.encode(), filename="c.xml", bank_code="MAIN")
    assert counts() == before
