"""Core demo data: a believable Shanghai chain, deterministic and quick."""
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.auth import user_can
from core.barcodes import is_valid_gtin
from core.demo import DEMO_PASSWORD, load_core_demo
from core.models import Category, Partner, Product, Store, Tax, User
from core.testing import FormClient


@pytest.fixture
def app(make_app):
    return make_app(addons=[])


def fingerprint(session):
    products = session.execute(sa.select(Product.sku, Product.barcode, Product.name, Product.list_price,
                                         Product.cost).order_by(Product.sku)).all()
    partners = session.execute(sa.select(Partner.ref, Partner.name, Partner.phone).order_by(Partner.ref)).all()
    return products, partners


def test_demo_chain_in_shanghai(session):
    started = time.process_time()  # CPU time: the test machine may be shared
    counts = load_core_demo(session)
    assert time.process_time() - started < 5
    assert counts["products"] >= 250
    stores = session.scalars(sa.select(Store).order_by(Store.code)).all()
    assert [s.kind for s in stores].count("dc") == 1 and [s.kind for s in stores].count("shop") == 5
    for s in stores:
        assert s.city == "Shanghai" and s.timezone == "Asia/Shanghai" and s.street and s.opening_hours
        assert Decimal("30.9") < s.latitude < Decimal("31.5") and Decimal("121.1") < s.longitude < Decimal("121.8")
    products = session.scalars(sa.select(Product)).all()
    barcodes = [p.barcode for p in products if p.barcode]
    assert len(barcodes) >= 200 and len(set(barcodes)) == len(barcodes)
    assert all(is_valid_gtin(b) and len(b) == 13 and b.startswith("69") for b in barcodes)
    for p in products:
        assert p.list_price > 0 and p.cost > 0 and p.tax is not None and p.category is not None
        net = p.list_price / (1 + p.tax.rate / 100)
        assert p.cost < net, f"{p} is sold below cost"
    weighed = [p for p in products if p.unit.code == "kg"]
    assert weighed and all(p.barcode is None for p in weighed)
    assert {t.code: t.rate for t in session.scalars(sa.select(Tax))}.items() >= {
        "VAT13": Decimal("13.0000"), "VAT9": Decimal("9.0000"), "VAT0": Decimal("0.0000")}.items()
    paths = {c.full_name for c in session.scalars(sa.select(Category))}
    assert {"Food", "Food / Dairy", "Drinks / Tea", "Household / Cleaning"} <= paths
    suppliers = session.scalar(sa.select(sa.func.count()).select_from(Partner).where(Partner.is_supplier))
    customers = session.scalar(sa.select(sa.func.count()).select_from(Partner).where(Partner.is_customer))
    assert suppliers >= 10 and customers >= 30
    refs = session.scalars(sa.select(Partner.ref)).all()
    assert len(set(refs)) == len(refs) and all(r.startswith("P") for r in refs)


def test_demo_staff_roles_and_store_limits(session):
    load_core_demo(session)
    users = {u.username: u for u in session.scalars(sa.select(User))}
    assert {"admin", "manager1", "cashier1", "clerk1", "buyer", "finance"} <= set(users)
    assert users["admin"].is_superuser
    assert [s.code for s in users["manager1"].stores] == ["SH01"] and users["manager1"].store_ids is not None
    assert [s.code for s in users["cashier1"].stores] == ["SH01"]
    assert [s.code for s in users["clerk1"].stores] == ["DC01"]
    assert users["buyer"].store_ids is None and users["finance"].store_ids is None
    for name, user in users.items():
        assert user.check_password(DEMO_PASSWORD), name
    can = lambda name, code: user_can(users[name], code)  # noqa: E731
    assert can("cashier1", "pos.sell") and not can("cashier1", "finance.post_manual")
    assert not can("cashier1", "core.product.edit")
    assert can("manager1", "warehouse.transfer.ship") and can("manager1", "pos.refund")
    assert can("clerk1", "warehouse.count.validate") and not can("clerk1", "pos.sell")
    assert can("buyer", "purchasing.order.confirm") and can("buyer", "core.product.edit")
    assert can("finance", "finance.reconcile") and not can("finance", "pos.sell")
    assert can("admin", "anything.at.all")
    roles = {r.code for u in users.values() for r in u.roles}
    assert roles >= {"admin", "store_manager", "cashier", "warehouse_clerk", "buyer", "finance"}


def test_demo_users_log_in_with_the_demo_password(app, session):
    load_core_demo(session)
    session.commit()
    client = FormClient(app.test_client())
    response = client.submit("/login", {"username": "manager1", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    client = FormClient(app.test_client())
    response = client.submit("/login", {"username": "manager1", "password": "wrong password"})
    assert response.status_code != 302


def test_demo_is_deterministic_and_idempotent(session):
    load_core_demo(session)
    first = fingerprint(session)
    assert load_core_demo(session) == {}  # a second call adds nothing
    assert fingerprint(session) == first
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0
    load_core_demo(session)
    assert fingerprint(session) == first
