"""Product CSV import: every bad line named with its reason, nothing written unless all is valid."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.barcodes import make_ean13
from core.cli import products_group
from core.models import AuditLog, Category, Product, Tax, Unit
from core.services.master import category_paths
from core.services.products import import_products

HEADER = "sku,barcode,name,category,unit,tax,list_price,cost,active\n"
EAN = [make_ean13(f"6920000{n:05d}") for n in range(1, 40)]


@pytest.fixture
def app(make_app):
    return make_app(addons=[])


@pytest.fixture
def base(session):
    session.add(Tax(code="VAT13", name="VAT 13%", rate=Decimal("13")))
    session.add(Tax(code="VAT9", name="VAT 9%", rate=Decimal("9")))
    pc = session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    old = Product(sku="OLD-1", barcode=EAN[30], name="Old product", unit=pc, list_price=Decimal("3"))
    session.add(old)
    session.commit()
    return {"old": old, "pc": pc}


def products(session):
    return {p.sku: p for p in session.scalars(sa.select(Product)).all()}


def test_valid_file_creates_and_updates_products_and_categories(session, base):
    csv = HEADER + (
        f"MILK-1,{EAN[0]},Bright Milk 1L,Food / Dairy,pc,VAT9,12.50,8.10,yes\n"
        f"RICE-5,{EAN[1]},Northeast Rice 5kg,Food / Grain,pc,VAT9,49.9,31.2,1\n"
        "\n"  # blank lines are skipped
        f"OLD-1,{EAN[30]},Old product renamed, Household ,pc,,4.00,,no\n"
        f"SOAP-1,,Lemon Soap,Household / Cleaning,pc,VAT13,5,2.5,\n"
    )
    result = import_products(csv.encode("utf-8-sig"))
    assert result.ok and result.written, [str(e) for e in result.errors]
    assert (result.rows, result.created, result.updated) == (4, 3, 1)
    session.commit()
    found = products(session)
    milk = found["MILK-1"]
    assert milk.category.full_name == "Food / Dairy" and milk.tax.code == "VAT9"
    assert milk.list_price == Decimal("12.5000") and milk.cost == Decimal("8.1000") and milk.active
    assert milk.barcode == EAN[0] and milk.unit.code == "pc"
    old = found["OLD-1"]
    assert old.name == "Old product renamed" and old.active is False and old.tax is None
    assert old.category.full_name == "Household" and old.list_price == Decimal("4.0000")
    assert found["SOAP-1"].barcode is None and found["SOAP-1"].active is True
    assert {"Food", "Food / Dairy", "Food / Grain", "Household", "Household / Cleaning"} <= set(category_paths())
    log = session.scalars(sa.select(AuditLog).where(AuditLog.action == "import")).all()
    assert len(log) == 1 and '"created": 3' in log[0].changes


def test_left_out_columns_are_not_touched(session, base):
    base["old"].cost = Decimal("1.25")
    session.commit()
    result = import_products("sku;name;unit;list_price\nOLD-1;Old again;pc;9.99\n")
    assert result.ok and result.updated == 1
    old = session.get(Product, base["old"].id)
    assert old.name == "Old again" and old.list_price == Decimal("9.9900")
    assert old.cost == Decimal("1.2500") and old.barcode == EAN[30]


def test_every_bad_row_is_reported_and_nothing_is_written(session, base):
    rows = [
        f"OK-1,{EAN[2]},Fine product,Food,pc,VAT13,1.00,0.50,yes",                   # 2 fine
        "BAD-1,6901234567891,Wrong check digit,Food,pc,VAT13,1,1,yes",               # 3
        f"BAD-2,{EAN[3]},Unknown unit,Food,box,VAT13,1,1,yes",                       # 4
        f"BAD-3,{EAN[4]},Unknown tax,Food,pc,VAT99,1,1,yes",                         # 5
        f"BAD-4,{EAN[5]},Negative price,Food,pc,VAT13,-2,1,yes",                     # 6
        f"BAD-5,{EAN[6]},Not a number,Food,pc,VAT13,abc,1,yes",                      # 7
        f"OK-1,{EAN[7]},Duplicate SKU in file,Food,pc,VAT13,1,1,yes",                # 8
        f"BAD-7,{EAN[2]},Duplicate barcode in file,Food,pc,VAT13,1,1,yes",           # 9
        f"BAD-8,{EAN[30]},Barcode of another product,Food,pc,VAT13,1,1,yes",         # 10
        f",{EAN[8]},Missing SKU,Food,pc,VAT13,1,1,yes",                              # 11
        f"BAD-10,{EAN[9]},,Food,pc,VAT13,1,1,yes",                                   # 12
        f"BAD-11,{EAN[10]},Missing price,Food,pc,VAT13,,1,yes",                      # 13
        f"BAD-12,{EAN[11]},Too few cells,Food,pc",                                   # 14
        f"BAD-13,{EAN[12]},Bad active,Food,pc,VAT13,1,1,maybe",                      # 15
        f"BAD 14,{EAN[13]},Space in SKU,Food,pc,VAT13,1,1,yes",                      # 16
        f"BAD-15,{EAN[14]},Five decimals,Food,pc,VAT13,1.00001,1,yes",               # 17
        f"BAD-16,12345,Short barcode,Food,pc,VAT13,1,-1,yes",                        # 18 two problems
    ]
    before = products(session)
    categories_before = set(category_paths())
    result = import_products(HEADER + "\n".join(rows) + "\n")
    assert not result.ok and not result.written
    assert result.bad_lines == list(range(3, 19))
    by_line = {}
    for e in result.errors:
        by_line.setdefault(e.line, []).append(e.message)
    text = {line: " ".join(msgs) for line, msgs in by_line.items()}
    assert "check digit" in text[3] and "should be 2" in text[3]
    assert "box" in text[4] and "pc" in text[4]
    assert "VAT99" in text[5] and "VAT13" in text[5]
    assert "negative" in text[6]
    assert "'abc'" in text[7] and "not a number" in text[7]
    assert "OK-1" in text[8] and "line 2" in text[8]
    assert EAN[2] in text[9] and "line 2" in text[9]
    assert "OLD-1" in text[10]
    assert "SKU is missing" in text[11]
    assert "name is missing" in text[12]
    assert "list price is missing" in text[13]
    assert "5 cells" in text[14] and "9 columns" in text[14]
    assert "maybe" in text[15]
    assert "BAD 14" in text[16]
    assert "4 decimals" in text[17]
    assert len(by_line[18]) == 2 and "5 digits" in text[18] and "cost" in text[18].lower()
    assert "line 3:" in str(result.errors[0])
    assert "nothing was imported" in result.summary()
    session.rollback()
    assert products(session).keys() == before.keys()
    assert set(category_paths()) == categories_before  # not even the category 'Food'


@pytest.mark.parametrize("header, reason", [
    ("sku,name,unit\n", "missing column(s) list_price"),
    ("sku,name,unit,list_price,colour\n", "unknown column(s) 'colour'"),
    ("sku,name,unit,list_price,name\n", "named twice: name"),
])
def test_wrong_header_is_refused(session, base, header, reason):
    result = import_products(header + "X,Y,pc,1,z\n")
    assert result.errors[0].line == 1 and reason in result.errors[0].message
    assert "sku, barcode, name" in result.errors[0].message


def test_empty_file_header_only_and_non_utf8(session, base):
    assert "empty" in import_products(b"").errors[0].message
    assert "no products" in import_products(HEADER).errors[0].message
    bad = import_products(HEADER.encode() + "X,,Caf\u00e9,,pc,,1,,\n".encode("latin-1"))
    assert "UTF-8" in bad.errors[0].message


def test_barcodes_may_move_between_products_in_one_file(session, base):
    pc = base["pc"]
    session.add(Product(sku="OTHER", barcode=EAN[31], name="Other", unit=pc, list_price=Decimal("1")))
    session.commit()
    csv = HEADER + (f"OLD-1,{EAN[31]},Old,,pc,,1,,\n"
                    f"OTHER,{EAN[30]},Other,,pc,,1,,\n")
    result = import_products(csv)
    assert result.ok, [str(e) for e in result.errors]
    found = products(session)
    assert found["OLD-1"].barcode == EAN[31] and found["OTHER"].barcode == EAN[30]


def test_dry_run_checks_and_writes_nothing(session, base):
    result = import_products(HEADER + f"NEW-1,{EAN[20]},New,Toys,pc,,1,,\nOLD-1,,Old,,pc,,2,,\n", dry_run=True)
    assert result.ok and not result.written and (result.created, result.updated) == (1, 1)
    assert "dry run" in result.summary()
    assert "NEW-1" not in products(session) and "Toys" not in category_paths()


def test_cli_import_reports_lines_and_exit_status(app, session, base, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + f"CLI-1,{EAN[21]},From the CLI,Food / Snacks,pc,VAT13,3.50,2,yes\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"CLI-2,{EAN[22]},Fine,,pc,,1,,\nCLI-3,6901234567891,Bad,,kg2,,x,,\n",
                   encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(products_group, ["import", str(bad)])
    assert result.exit_code == 1
    assert "line 3:" in result.output and "check digit" in result.output and "kg2" in result.output
    assert "nothing was imported" in result.output
    assert "CLI-2" not in products(session)
    result = runner.invoke(products_group, ["import", "--dry-run", str(good)])
    assert result.exit_code == 0 and "dry run" in result.output and "CLI-1" not in products(session)
    result = runner.invoke(products_group, ["import", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 products created" in result.output
    assert products(session)["CLI-1"].category.full_name == "Food / Snacks"


def test_import_of_thousands_of_rows_uses_a_few_queries(session, base, app):
    from sqlalchemy import event
    n = 2000
    lines = [HEADER.strip()]
    for i in range(n):
        lines.append(f"BULK-{i:05d},{make_ean13(f'693{i:09d}')},Bulk product {i},Bulk / Group {i % 7},pc,VAT13,"
                     f"{i % 90 + 1}.90,{i % 50 + 1}.10,yes")
    statements = []
    engine_conn = session.connection()
    listener = lambda *a, **k: statements.append(1)  # noqa: E731
    event.listen(engine_conn, "before_cursor_execute", listener)
    try:
        result = import_products("\n".join(lines) + "\n")
    finally:
        event.remove(engine_conn, "before_cursor_execute", listener)
    assert result.ok and result.created == n
    assert len(statements) < 60, f"{len(statements)} statements for {n} rows"
    assert session.scalar(sa.select(sa.func.count()).select_from(Product).where(Product.sku.like("BULK-%"))) == n
    assert session.scalar(sa.select(sa.func.count()).select_from(Category)) >= 8
