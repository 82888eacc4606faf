"""Admin forms refuse what the database cannot store (issue 11, section 1): a NUL in any
text field (PostgreSQL refuses it) and numbers beyond their column's precision, scale or
integer range (PostgreSQL: 'numeric field overflow', 'integer out of range'). A form
error on the field, in the user's language; nothing written. Run on both databases."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.db import db
from core.models import Partner, Unit

NUL = "Remove the NUL character (a zero byte): it cannot be stored."


@pytest.fixture
def boss(client_as):
    return client_as(superuser=True)


def count(model):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_nul_in_any_text_field_is_a_form_error(boss):
    before = count(Partner)
    r = boss.submit("/admin/partner/new/", {"name": "Evil\x00Corp", "is_customer": "y"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and NUL in html
    r = boss.submit("/admin/partner/new/", {"name": "Fine", "street": "Road\x00 1", "is_customer": "y"})
    assert NUL in r.get_data(as_text=True)
    assert count(Partner) == before


def test_a_nul_when_editing_is_a_form_error_and_changes_nothing(boss):
    unit = Unit(code="nulbox", name="Box", digits=0)
    db.session.add(unit)
    db.session.commit()
    r = boss.submit(f"/admin/unit/edit/?id={unit.id}", {"code": "nulbox", "name": "B\x00ox", "digits": "0"})
    assert NUL in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Unit, unit.id).name == "Box"


@pytest.fixture
def shelf():
    from addons.warehouse import services as ws
    from core.models import Product, Store
    store = Store(code="PRC1", name="Precision shop", kind="shop")
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    product = Product(sku="PRC-1", name="Precise", unit_id=unit.id, list_price=1, cost=0)
    db.session.add_all([store, product])
    db.session.flush()
    warehouse = ws.warehouse_for_store(store.id)
    db.session.commit()
    return warehouse, product


def rules():
    from addons.warehouse.models import ReorderRule
    return count(ReorderRule)


def test_numbers_beyond_the_columns_precision_are_form_errors(boss, shelf):
    warehouse, product = shelf
    form = {"warehouse": str(warehouse.id), "product": str(product.id), "min_qty": "1", "max_qty": "10",
            "multiple": "1", "active": "y"}
    # quantities are Numeric(14, 3): eleven digits before the point, three after
    r = boss.submit("/admin/warehouse_reorder/new/", {**form, "max_qty": "123456789012345"})
    assert "At most 11 digits before the decimal point." in r.get_data(as_text=True)
    r = boss.submit("/admin/warehouse_reorder/new/", {**form, "multiple": "0.0001"})
    assert "At most 3 decimal places." in r.get_data(as_text=True)
    assert rules() == 0
    # Unit.digits is a 32-bit integer
    units = count(Unit)
    r = boss.submit("/admin/unit/new/", {"code": "huge", "name": "Huge", "digits": str(2**31)})
    assert "The number must be between -2147483648 and 2147483647." in r.get_data(as_text=True)
    assert count(Unit) == units
    # what fits is saved
    r = boss.submit("/admin/warehouse_reorder/new/", {**form, "max_qty": "99999999999.999"})
    assert r.status_code == 302, r.get_data(as_text=True)[-3000:]
    assert rules() == 1


def test_the_form_errors_are_in_the_users_language(boss):
    r = boss.submit("/admin/partner/new/", {"name": "Evil\x00Corp", "is_customer": "y"},
                    headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "请删除 NUL 字符" in r.get_data(as_text=True)


def test_inline_rows_are_checked_too(boss):
    from addons.finance import services as fs
    from addons.finance.models import ManualEntry
    before = count(ManualEntry)
    journal, cash, equity = fs.journal("MISC"), fs.account("1000"), fs.account("3000")
    form = {"journal": str(journal.id), "date": "2026-11-20", "memo": "inline",
            "lines-0-account": str(cash.id), "lines-0-debit": "10", "lines-0-credit": "0",
            "lines-1-account": str(equity.id), "lines-1-debit": "0", "lines-1-credit": "10"}
    r = boss.submit("/admin/finance_manual_entry/new/", {**form, "lines-0-debit": "1234567890123",
                                                          "lines-1-credit": "1234567890123"})
    assert "At most 12 digits before the decimal point." in r.get_data(as_text=True)
    r = boss.submit("/admin/finance_manual_entry/new/", {**form, "lines-0-label": "Cash\x00"})
    assert NUL in r.get_data(as_text=True)
    assert count(ManualEntry) == before
