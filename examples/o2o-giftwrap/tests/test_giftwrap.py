"""Tests of the giftwrap addon, run with the package installed:

    pip install ./examples/o2o-giftwrap && python -m pytest examples/o2o-giftwrap/tests
"""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.db import db
from core.errors import Conflict, ValidationError
from core.models.master import Product, Unit
from core.plugins import hookimpl
from o2o_giftwrap import services
from o2o_giftwrap.models import GiftWrap, WrappedProduct


def _product(sku="HAMPER-1", price="88.00"):
    unit = db.session.scalar(sa.select(Unit).order_by(Unit.id)) or Unit(code="pc", name="Piece")
    product = Product(sku=sku, name="Christmas hamper", unit=unit, list_price=Decimal(price))
    db.session.add(product)
    db.session.flush()
    return product


class ListPrice:
    """The innermost price, as the pricing base implementation gives it."""

    @hookimpl(trylast=True)
    def o2o_compute_price(self, product):
        return product.list_price


def _price(app, product):
    return app.extensions["o2o"].hook.o2o_compute_price(
        product=product, quantity=Decimal("1"), store=None, customer=None, channel="pos", when=None)


def test_enabling_creates_the_standard_wrap_once(app, session):
    wraps = session.scalars(sa.select(GiftWrap)).all()
    assert [(w.code, w.fee) for w in wraps] == [("STD", Decimal("5.00"))]
    services.ensure_standard_wrap(session, "5.00")  # base data is idempotent
    assert session.scalar(sa.select(sa.func.count()).select_from(GiftWrap)) == 1


def test_a_gift_wrapped_product_costs_its_price_plus_the_fee(app, session, temp_plugin):
    temp_plugin(ListPrice())
    hamper, plain = _product(), _product(sku="PLAIN-1", price="10.00")
    services.create_wrap("box", "Gift box", "15.00")
    services.wrap_product(hamper, "BOX")
    assert _price(app, hamper) == Decimal("103.0000")
    assert _price(app, plain) == Decimal("10.0000")
    session.scalar(sa.select(GiftWrap).where(GiftWrap.code == "BOX")).active = False
    assert _price(app, hamper) == Decimal("88.0000")  # a withdrawn wrap adds nothing


def test_bad_wraps_are_refused_and_nothing_is_written(app, session):
    for code, name, fee, error in [("", "Nameless", "1", ValidationError), ("x", "Negative", "-1", ValidationError),
                                   ("x", "Fraction", "1.005", ValidationError), ("x", "Text", "abc", ValidationError),
                                   ("std", "Duplicate", "1", Conflict)]:
        with pytest.raises(error):
            services.create_wrap(code, name, fee)
    assert session.scalar(sa.select(sa.func.count()).select_from(GiftWrap)) == 1


def test_admin_list_needs_the_permission(app, client_as):
    clerk = client_as("giftwrap.wrap.read")
    page = clerk.get("/admin/giftwrap_wrap/")
    assert page.status_code == 200 and "Standard paper" in page.get_data(as_text=True)
    assert client_as("core.product.read").get("/admin/giftwrap_wrap/").status_code == 403


def test_admin_form_creates_a_wrap(app, client_as, session):
    manager = client_as("giftwrap.wrap.read", "giftwrap.wrap.create")
    response = manager.submit("/admin/giftwrap_wrap/new/", {"code": "RED", "name": "Red paper", "fee": "8.00",
                                                             "active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert session.scalar(sa.select(GiftWrap.fee).where(GiftWrap.code == "RED")) == Decimal("8.00")


def test_api_lists_and_creates_wraps(app, api_client, session):
    client = api_client("giftwrap.wrap.read", "giftwrap.wrap.create")
    created = client.post("/api/v1/giftwrap/wraps", json={"code": "GOLD", "name": "Gold foil", "fee": "12.50"})
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.json["fee"] == "12.50"
    listed = client.get("/api/v1/giftwrap/wraps").json
    assert [w["code"] for w in listed] == ["GOLD", "STD"]


def test_api_refuses_bad_input_with_a_problem_body(app, api_client, session):
    reader = api_client("giftwrap.wrap.read")
    forbidden = reader.post("/api/v1/giftwrap/wraps", json={"code": "A", "name": "A", "fee": "1"})
    assert forbidden.status_code == 403 and forbidden.mimetype == "application/problem+json"
    writer = api_client("giftwrap.wrap.create")
    bad = writer.post("/api/v1/giftwrap/wraps", json={"code": "A", "name": "A", "fee": "-1"})
    assert bad.status_code == 422 and bad.json["title"] == "Invalid input"
    duplicate = writer.post("/api/v1/giftwrap/wraps", json={"code": "std", "name": "Again", "fee": "1"})
    assert duplicate.status_code == 409
    assert session.scalar(sa.select(sa.func.count()).select_from(GiftWrap)) == 1


def test_wrapping_a_product_twice_changes_its_wrap(app, session):
    hamper = _product()
    services.create_wrap("box", "Gift box", "15.00")
    services.wrap_product(hamper, "STD")
    services.wrap_product(hamper, "BOX")
    rows = session.scalars(sa.select(WrappedProduct)).all()
    assert [(r.product.sku, r.wrap.code) for r in rows] == [("HAMPER-1", "BOX")]
