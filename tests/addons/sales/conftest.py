"""Shared fixtures for the sales tests: two shops, taxed products with stock."""
from __future__ import annotations

import os
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db
from core.models import Partner, Product, Store, Tax, Unit

D = Decimal

if os.environ.get("O2O_SALES_ONLY"):
    # Development aid: migrate only sales (and warehouse) when other addons are mid-work.
    @pytest.fixture(scope="session")
    def database_url(tmp_path_factory):
        from core.testing import create_database, migrate_database
        url, drop = create_database(os.environ.get("O2O_TEST_DATABASE_URL"), tmp_path_factory.mktemp("db"))
        migrate_database(url, addons=["sales"])
        yield url
        drop()


@pytest.fixture
def sales_app(make_app):
    return make_app(addons=["sales"])


@pytest.fixture
def world(sales_app):
    """Stores A (Shanghai) and B, a 13% and a 6% tax, products, 10 units of each in A and B."""
    from addons.warehouse import services as wh
    session = db.session
    pc = session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    kg = session.scalar(sa.select(Unit).where(Unit.code == "kg"))
    vat13 = Tax(code="T13", name="VAT 13%", rate=D("13"))
    vat6 = Tax(code="T6", name="VAT 6%", rate=D("6"))
    store_a = Store(code="SA", name="Shop A")
    store_b = Store(code="SB", name="Shop B")
    web = Store(code="WEB", name="Web shop", kind="dc")
    session.add_all([vat13, vat6, store_a, store_b, web])
    session.flush()
    tea = Product(sku="TEA", name="Green tea", unit=pc, tax=vat13, list_price=D("12.90"), cost=D("5"))
    rice = Product(sku="RICE", name="Rice", unit=kg, tax=vat6, list_price=D("8.99"), cost=D("3"))
    mug = Product(sku="MUG", name="Mug", unit=pc, tax=vat13, list_price=D("25.00"), cost=D("9"))
    old = Product(sku="OLD", name="Discontinued", unit=pc, tax=vat13, list_price=D("1"), active=False)
    customer = Partner(name="Li Wei", is_customer=True)
    session.add_all([tea, rice, mug, old, customer])
    session.flush()
    for store in (store_a, store_b):
        loc = wh.stock_location(wh.warehouse_for_store(store.id).id)
        for p in (tea, rice, mug):
            wh.receive(p.id, loc.id, D("10"), p.cost, source="INIT")
    session.flush()

    class World:
        pass
    w = World()
    w.__dict__.update(session=session, a=store_a, b=store_b, web=web, tea=tea, rice=rice, mug=mug, old=old,
                      customer=customer, vat13=vat13, vat6=vat6, wh=wh)

    def loc(store):
        return wh.stock_location(wh.warehouse_for_store(store.id).id)

    def stock(product, store):
        wid = wh.warehouse_for_store(store.id).id
        return wh.on_hand(product.id, wid), wh.available(product.id, wid)
    w.loc, w.stock = loc, stock
    return w


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def plugin(sales_app):
    """Register a plugin object on the sales app for one test."""
    pm = sales_app.extensions["o2o"].pm
    registered = []

    def register(obj):
        pm.register(obj, name=f"test_plugin_{len(registered)}_{id(obj)}")
        registered.append(obj)
        return obj
    yield register
    for obj in registered:
        pm.unregister(obj)


@pytest.fixture
def events(plugin):
    """Every sales order event fired, in order: [(name, order number, state)]."""
    from core.plugins import hookimpl
    seen = []

    class Listener:
        @hookimpl
        def o2o_order_confirmed(self, order):
            seen.append(("confirmed", order.number, order.state))

        @hookimpl
        def o2o_order_paid(self, order):
            seen.append(("paid", order.number, order.state))

        @hookimpl
        def o2o_order_fulfilled(self, order):
            seen.append(("fulfilled", order.number, order.state))

        @hookimpl
        def o2o_order_cancelled(self, order, reason):
            seen.append(("cancelled", order.number, reason))
    plugin(Listener())
    return seen


@pytest.fixture
def sales_api(sales_app):
    """``sales_api(*permissions, stores=None)`` -> an API client of the sales app."""
    from core.auth.models import ApiToken
    from core.testing import ApiClient, make_user
    counter = iter(range(1, 10_000))

    def factory(*permissions, stores=None):
        user = make_user(f"salesapi{next(counter)}", permissions, stores)
        row, clear = ApiToken.issue(user, "test")
        db.session.add(row)
        db.session.flush()
        return ApiClient(sales_app.test_client(), clear, user)
    return factory


@pytest.fixture
def sales_client(sales_app):
    """``sales_client(*permissions, stores=None)`` -> a logged-in admin client of the sales app."""
    from core.testing import FormClient, make_user
    counter = iter(range(1, 10_000))

    def factory(*permissions, stores=None):
        username = f"salesuser{next(counter)}"
        user = make_user(username, permissions, stores)
        client = FormClient(sales_app.test_client(), user)
        response = client.submit("/login", {"username": username, "password": "correct horse battery"})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client
    return factory
