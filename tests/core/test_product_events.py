"""o2o_product_changed: every path that writes a product fires it once per product, with
the right change and the old/new values: services, the API, the admin form, the CSV import
(service, CLI and admin screen). A listener runs inside the transaction (it may write and
flush; raising refuses the change) and the bulk import stays a handful of statements."""
from __future__ import annotations

import io
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.barcodes import make_ean13
from core.db import db
from core.errors import Conflict
from core.models import Category, Product, Unit
from core.plugins import hookimpl
from core.services import master as svc
from core.services.products import import_products

HEADER = "sku,barcode,name,category,unit,tax,list_price,cost,active\n"


class Recorder:
    def __init__(self):
        self.calls = []

    @hookimpl
    def o2o_product_changed(self, product, change, changes):
        self.calls.append((product.sku, change, dict(changes)))

    def changes_of(self, sku):
        return [(c, ch) for s, c, ch in self.calls if s == sku]


@pytest.fixture
def app(make_app):
    return make_app(addons=[])


@pytest.fixture
def recorder(temp_plugin):
    return temp_plugin(Recorder())


@pytest.fixture
def pc(session):
    return session.scalar(sa.select(Unit).where(Unit.code == "pc"))


def test_services_fire_created_price_changed_updated_archived(session, recorder, pc):
    product = svc.create_product({"sku": "SVC-1", "name": "Soap", "unit": "pc", "list_price": Decimal("3.50")})
    assert recorder.calls == [("SVC-1", "created", recorder.calls[0][2])]
    created = recorder.calls[0][2]
    assert created["list_price"] == (None, Decimal("3.50")) and created["unit_id"] == (None, pc.id)

    bath = svc.category_by_path("Home / Bath", create=True)
    recorder.calls.clear()
    svc.update_product(product, {"list_price": Decimal("3.90")})
    svc.update_product(product, {"name": "Lavender soap", "category": "Home / Bath"})
    svc.update_product(product, {"list_price": Decimal("3.90")})  # the same price: no change, no event
    svc.update_product(product, {"active": False})
    svc.update_product(product, {"active": True})
    assert recorder.calls == [
        ("SVC-1", "price_changed", {"list_price": (Decimal("3.5000"), Decimal("3.90"))}),
        ("SVC-1", "updated", {"name": ("Soap", "Lavender soap"), "category_id": (None, bath.id)}),
        ("SVC-1", "archived", {"active": (True, False)}),
        ("SVC-1", "updated", {"active": (False, True)}),
    ]
    session.commit()
    assert len(recorder.calls) == 4  # the commit's flush has nothing new to announce

    recorder.calls.clear()
    session.delete(product)
    session.flush()
    assert [(s, c) for s, c, _ch in recorder.calls] == [("SVC-1", "deleted")]


def test_any_orm_write_fires_it_once_per_product_per_flush(session, recorder, pc):
    a = Product(sku="ORM-A", name="A", unit=pc, list_price=Decimal("1"))
    b = Product(sku="ORM-B", name="B", unit=pc, list_price=Decimal("2"))
    session.add_all([a, b])
    session.flush()
    a.list_price, a.active = Decimal("1.50"), False  # both: archived, with both changes
    b.cost = Decimal("1.20")
    session.flush()
    assert sorted((s, c) for s, c, _ch in recorder.calls) == [
        ("ORM-A", "archived"), ("ORM-A", "created"), ("ORM-B", "created"), ("ORM-B", "updated")]
    assert recorder.changes_of("ORM-A")[1][1] == {"list_price": (Decimal("1.0000"), Decimal("1.50")),
                                                  "active": (True, False)}


def test_api_create_patch_and_archive_fire_once_each(api_client, recorder):
    client = api_client("core.product.create", "core.product.edit", "core.product.read")
    created = client.post("/api/v1/products", json={"sku": "API-1", "name": "Tea", "unit": "pc",
                                                    "list_price": "18.00"})
    assert created.status_code == 201, created.json
    pid = created.json["id"]
    assert client.patch(f"/api/v1/products/{pid}", json={"list_price": "19.50"}).status_code == 200
    assert client.patch(f"/api/v1/products/{pid}", json={"active": False}).status_code == 200
    assert [(c, ch.get("list_price")) for c, ch in recorder.changes_of("API-1")] == [
        ("created", (None, Decimal("18.00"))), ("price_changed", (Decimal("18.0000"), Decimal("19.50"))),
        ("archived", None)]


def test_a_listener_that_refuses_undoes_the_api_change(api_client, temp_plugin, session):
    class NoFreeGoods:
        @hookimpl
        def o2o_product_changed(self, product, change, changes):
            if product.list_price == 0:
                raise Conflict("The scale cannot take a price of 0.")

    temp_plugin(NoFreeGoods())
    client = api_client("core.product.create")
    refused = client.post("/api/v1/products", json={"sku": "FREE-1", "name": "Free", "unit": "pc", "list_price": "0"})
    assert refused.status_code == 409 and "scale" in refused.json["detail"]
    assert session.scalar(sa.select(Product).where(Product.sku == "FREE-1")) is None


def test_a_listener_may_write_and_flush_in_the_transaction(session, temp_plugin, pc):
    class LabelQueue:
        @hookimpl
        def o2o_product_changed(self, product, change):
            if change == "price_changed":
                db.session.add(Category(name=f"label {product.sku}"))
                db.session.flush()

    temp_plugin(LabelQueue())
    product = Product(sku="LBL-1", name="Label me", unit=pc, list_price=Decimal("5"))
    session.add(product)
    session.flush()
    product.list_price = Decimal("6")
    session.commit()
    assert session.scalar(sa.select(Category).where(Category.name == "label LBL-1")) is not None


def test_admin_create_edit_and_archive_fire_once_each(client_as, recorder, session, pc):
    client = client_as("core.product.read", "core.product.create", "core.product.edit")
    form = {"sku": "ADM-1", "name": "Via admin", "barcode": make_ean13("695000000011"), "unit": str(pc.id),
            "list_price": "3.00", "cost": "1.00", "active": "y"}
    assert client.submit("/admin/product/new/", form).status_code == 302
    product = session.scalar(sa.select(Product).where(Product.sku == "ADM-1"))
    url = f"/admin/product/edit/?id={product.id}"
    assert client.submit(url, {**form, "list_price": "3.20"}).status_code == 302
    archived = {k: v for k, v in form.items() if k != "active"}  # an unticked box is not sent
    assert client.submit(url, {**archived, "list_price": "3.20"}).status_code == 302
    assert [c for c, _ch in recorder.changes_of("ADM-1")] == ["created", "price_changed", "archived"]
    assert recorder.changes_of("ADM-1")[1][1] == {"list_price": (Decimal("3.0000"), Decimal("3.20"))}


def test_csv_import_fires_once_per_created_or_changed_product(session, recorder, pc):
    first = HEADER + ("IMP-1,,Rice 5kg,Food / Grain,pc,,49.90,31.20,yes\n"
                      "IMP-2,,Milk 1L,Food / Dairy,pc,,12.50,8.10,yes\n"
                      "IMP-3,,Eggs 10,Food / Dairy,pc,,15.00,9.00,yes\n")
    assert import_products(first).written
    assert sorted((s, c) for s, c, _ch in recorder.calls) == [
        ("IMP-1", "created"), ("IMP-2", "created"), ("IMP-3", "created")]
    assert recorder.changes_of("IMP-1")[0][1]["list_price"] == (None, Decimal("49.90"))

    recorder.calls.clear()
    second = HEADER + ("IMP-1,,Rice 5kg,Food / Grain,pc,,52.00,31.20,yes\n"   # re-priced
                       "IMP-2,,Milk 1L,Food / Dairy,pc,,12.50,8.10,no\n"      # archived
                       "IMP-3,,Eggs 10,Food / Dairy,pc,,15.00,9.00,yes\n")    # unchanged: no event
    assert import_products(second).written
    assert sorted((s, c, ch) for s, c, ch in recorder.calls) == [
        ("IMP-1", "price_changed", {"list_price": (Decimal("49.9000"), Decimal("52.00"))}),
        ("IMP-2", "archived", {"active": (True, False)})]

    recorder.calls.clear()
    import_products(HEADER + "IMP-3,,Eggs 10,Food / Dairy,pc,,16.00,9.00,yes\n", dry_run=True)
    import_products(HEADER + "IMP-3,,Eggs 10,Food / Dairy,pc,,-1,9.00,yes\n")  # refused
    assert recorder.calls == []


def test_cli_and_admin_import_fire_it(app, session, recorder, client_as):
    from core.cli import cli
    data = HEADER + "CLI-1,,Noodles,Food,pc,,6.50,3.00,yes\n"
    result = app.test_cli_runner().invoke(cli, ["products", "import", "-"], input=data)
    assert result.exit_code == 0, result.output
    assert [(s, c) for s, c, _ch in recorder.calls] == [("CLI-1", "created")]

    recorder.calls.clear()
    clerk = client_as("core.product.read", "core.product.import")
    upload = HEADER + "CLI-1,,Noodles,Food,pc,,6.80,3.00,yes\n"
    page = clerk.get("/admin/product-import/")
    assert page.status_code == 200, page.status_code
    from core.testing import csrf_token_from
    token = csrf_token_from(page.get_data(as_text=True))
    checked = clerk.post("/admin/product-import/check", data={
        "csrf_token": token, "file": (io.BytesIO(upload.encode()), "p.csv")}, content_type="multipart/form-data")
    assert checked.status_code == 200 and recorder.calls == []  # a check writes nothing
    import re
    file_token = re.search(r'name="token"[^>]*value="([0-9a-f]{32})"', checked.get_data(as_text=True)).group(1)
    done = clerk.post("/admin/product-import/import", data={"csrf_token": token, "token": file_token})
    assert done.status_code == 302
    assert [(s, c) for s, c, _ch in recorder.calls] == [("CLI-1", "price_changed")]


def _import_statements(session, data) -> tuple[int, float]:
    statements = []
    engine_conn = session.connection()
    listen = lambda *a, **k: statements.append(1)  # noqa: E731
    sa.event.listen(engine_conn, "before_cursor_execute", listen)
    started = time.perf_counter()
    try:
        assert import_products(data).written
    finally:
        sa.event.remove(engine_conn, "before_cursor_execute", listen)
    return len(statements), time.perf_counter() - started


def test_a_bulk_import_of_1000_products_fires_1000_events_in_a_few_statements(session, recorder):
    rows = "".join(f"BULK-{n:04d},{make_ean13(f'69300{n:07d}')},Product {n},Bulk / Shelf {n % 7},pc,,"
                   f"{n % 90 + 1}.50,1.00,yes\n" for n in range(1000))
    count, seconds = _import_statements(session, HEADER + rows)
    assert len(recorder.calls) == 1000 and {c for _s, c, _ch in recorder.calls} == {"created"}
    assert len({s for s, _c, _ch in recorder.calls}) == 1000
    assert count <= 20, f"{count} statements for 1000 products: a query per product?"

    recorder.calls.clear()
    repriced = rows.replace(".50,1.00", ".90,1.00")
    count, seconds = _import_statements(session, HEADER + repriced)
    assert len(recorder.calls) == 1000 and {c for _s, c, _ch in recorder.calls} == {"price_changed"}
    assert count <= 20, f"{count} statements for 1000 products: a query per product?"


def test_after_commit_hears_of_it_and_a_rollback_forgets_it(session, temp_plugin, pc):
    class Scale:
        def __init__(self):
            self.pushed = []

        @hookimpl
        def o2o_after_commit(self, events):
            self.pushed += [(kw["product"].sku, kw["change"]) for name, kw in events
                            if name == "o2o_product_changed"]

    scale = temp_plugin(Scale())
    session.add(Product(sku="SCL-1", name="Apples", unit=pc, list_price=Decimal("9.80")))
    session.flush()
    session.rollback()
    assert scale.pushed == []
    session.add(Product(sku="SCL-2", name="Pears", unit=pc, list_price=Decimal("8.80")))
    session.commit()
    assert scale.pushed == [("SCL-2", "created")]
