"""Audit log: who created, changed and deleted what, written in the same flush."""
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.barcodes import make_ean13
from core.models import AuditLog, Category, Product, Unit


@pytest.fixture
def app(make_app):
    return make_app(addons=[])


def entries(session, table, row_id=None):
    stmt = sa.select(AuditLog).where(AuditLog.table_name == table).order_by(AuditLog.id)
    if row_id is not None:
        stmt = stmt.where(AuditLog.row_id == str(row_id))
    return session.scalars(stmt).all()


def test_create_update_delete_are_recorded_without_a_user(session):
    pc = session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    food = Category(name="Food")
    p = Product(sku="AUD-1", name="Audited", unit=pc, list_price=Decimal("10"), category=food)
    session.add(p)
    session.flush()
    created = entries(session, "product", p.id)
    assert [e.action for e in created] == ["create"]
    values = json.loads(created[0].changes)
    assert values["sku"] == "AUD-1" and Decimal(values["list_price"]) == 10 and created[0].username is None
    assert "created_at" not in values and "image" not in values

    p.list_price = Decimal("10.0000")  # the same value: no entry
    session.flush()
    assert len(entries(session, "product", p.id)) == 1

    drinks = Category(name="Drinks")
    p.list_price = Decimal("12.5")
    p.category = drinks
    session.flush()
    update = entries(session, "product", p.id)[-1]
    assert update.action == "update"
    changes = json.loads(update.changes)
    assert [Decimal(v) for v in changes["list_price"]] == [10, Decimal("12.5")]
    assert changes["category_id"] == [food.id, drinks.id]
    assert set(changes) == {"list_price", "category_id"}

    pid = p.id
    session.delete(p)
    session.flush()
    deleted = entries(session, "product", pid)[-1]
    assert deleted.action == "delete" and json.loads(deleted.changes)["sku"] == "AUD-1"


def test_rolled_back_changes_leave_no_audit_entry(session):
    session.commit()
    pc = session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    session.add(Product(sku="GONE-1", name="Gone", unit=pc))
    session.flush()
    assert entries(session, "product")
    session.rollback()
    assert not [e for e in entries(session, "product") if "GONE-1" in (e.changes or "")]


def test_admin_changes_record_the_logged_in_user(client_as, session):
    pc = session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    client = client_as("core.product.read", "core.product.create", "core.product.edit", "core.product.delete",
                       username="auditor")
    response = client.submit("/admin/product/new/", {
        "sku": "ADM-A", "name": "Via admin", "barcode": make_ean13("695000000001"), "unit": str(pc.id),
        "list_price": "3.00", "cost": "1.00", "active": "y"})
    assert response.status_code == 302
    product = session.scalar(sa.select(Product).where(Product.sku == "ADM-A"))
    response = client.submit(f"/admin/product/edit/?id={product.id}", {
        "sku": "ADM-A", "name": "Via admin, renamed", "barcode": product.barcode, "unit": str(pc.id),
        "list_price": "3.00", "cost": "1.00", "active": "y"})
    assert response.status_code == 302
    response = client.submit("/admin/product/", {"id": str(product.id)}, post_url="/admin/product/delete/")
    assert response.status_code == 302
    log = entries(session, "product", product.id)
    assert [(e.action, e.username) for e in log] == [("create", "auditor"), ("update", "auditor"),
                                                     ("delete", "auditor")]
    assert json.loads(log[1].changes) == {"name": ["Via admin", "Via admin, renamed"]}
    assert log[0].user_id == client.user.id


def test_audit_log_screen_needs_its_permission(client_as, session):
    pc = session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    session.add(Product(sku="SEEN-1", name="Seen in the log", unit=pc))
    session.commit()
    reader = client_as("core.audit.read")
    page = reader.get("/admin/auditlog/?search=product")
    assert page.status_code == 200 and "SEEN-1" in page.get_data(as_text=True)
    assert reader.get("/admin/auditlog/new/").status_code in (302, 403)
    assert client_as("core.product.read").get("/admin/auditlog/").status_code == 403
