"""Master data: validation worded for a clerk, admin screens, the product import screen."""
import io
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.barcodes import barcode_problem, make_ean13
from core.errors import ValidationError
from core.models import Category, Partner, Product, Store, Tax, Unit
from core.models.master import InvalidValue
from core.services import master as svc


@pytest.fixture
def app(make_app):
    return make_app(addons=[])


@pytest.fixture
def pc(session):
    return session.scalar(sa.select(Unit).where(Unit.code == "pc"))


# --- validation -------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, field, words", [
    ({"code": "SH 01"}, "code", "no spaces"),
    ({"code": ""}, "code", "required"),
    ({"kind": "kiosk"}, "kind", "distribution centre"),
    ({"latitude": Decimal("91")}, "latitude", "between -90 and 90"),
    ({"longitude": "181.5"}, "longitude", "between -180 and 180"),
    ({"latitude": "north"}, "latitude", "must be a number"),
    ({"timezone": "Shanghai"}, "timezone", "Asia/Shanghai"),
    ({"opening_hours": "9am<->5pm!"}, "opening_hours", "Mo-Fr 09:00-21:00"),
    ({"country": "China"}, "country", "two-letter"),
])
def test_store_validation_names_field_and_fix(kwargs, field, words):
    with pytest.raises(InvalidValue) as info:
        Store(**{"code": "SH01", "name": "Shop", **kwargs})
    assert info.value.field == field and words in info.value.message
    assert isinstance(info.value, ValidationError) and isinstance(info.value, ValueError)


def test_valid_store_is_normalised():
    s = Store(code="SH01", name=" Jing'an ", latitude="31.2236", longitude=Decimal("121.4458"),
              opening_hours="Mo-Su 07:00-23:00", timezone="Asia/Shanghai", country="cn")
    assert s.name == "Jing'an" and s.latitude == Decimal("31.2236") and s.country == "CN"


def test_product_validation_messages(pc):
    with pytest.raises(InvalidValue, match="last digit should be 2") as info:
        Product(sku="A1", name="A", unit=pc, barcode="6901234567891")
    assert info.value.field == "barcode"
    with pytest.raises(InvalidValue, match="has 10 digits"):
        Product(sku="A1", name="A", unit=pc, barcode="6901234567")
    with pytest.raises(InvalidValue, match="digits only"):
        Product(sku="A1", name="A", unit=pc, barcode="69012A4567891")
    with pytest.raises(InvalidValue, match="cannot be negative"):
        Product(sku="A1", name="A", unit=pc, list_price=Decimal("-0.01"))
    with pytest.raises(InvalidValue, match="must be a number"):
        Product(sku="A1", name="A", unit=pc, cost="cheap")
    with pytest.raises(InvalidValue, match="no spaces"):
        Product(sku="A 1", name="A", unit=pc)
    with pytest.raises(TypeError):
        Product(sku="A1", name="A", unit=pc, list_price=1.5)
    ok = Product(sku="A1", name="A", unit=pc, barcode=" 036000291452 ", list_price="12.5")
    assert ok.barcode == "036000291452" and ok.list_price == Decimal("12.5")


def test_barcode_problem_lengths():
    assert barcode_problem(make_ean13("690123456789")) is None
    assert "has 3 digits; an EAN-13 has 13" in barcode_problem("123")


def test_tax_unit_category_partner_validation(session):
    with pytest.raises(InvalidValue, match="between 0 and 100"):
        Tax(code="T", name="T", rate=Decimal("130"))
    with pytest.raises(InvalidValue, match="0 to 3 decimals"):
        Unit(code="x", name="X", digits=7)
    food = Category(name="Food")
    dairy = Category(name="Dairy", parent=food)
    with pytest.raises(InvalidValue, match="under itself"):
        food.parent = dairy
    with pytest.raises(InvalidValue, match="'/'"):
        Category(name="Food/Dairy")
    with pytest.raises(InvalidValue, match="e-mail"):
        Partner(name="Wu", email="wu at example")
    with pytest.raises(InvalidValue, match="phone"):
        Partner(name="Wu", phone="call me")
    with pytest.raises(InvalidValue, match="customer, a supplier"):
        svc.create_partner({"name": "Nobody"})


def test_category_paths_and_lookup(session):
    dairy = svc.category_by_path("Food / Dairy", create=True)
    assert dairy.full_name == "Food / Dairy"
    assert svc.category_by_path(" Food/Dairy ").id == dairy.id
    with pytest.raises(InvalidValue, match="no category"):
        svc.category_by_path("Food / Meat")
    assert svc.category_paths()["Food / Dairy"] == dairy.id


def test_product_service_conflicts_name_the_other_product(session, pc):
    svc.create_product({"sku": "MILK", "name": "Milk", "unit": "pc", "barcode": make_ean13("690000000011")})
    from core.errors import Conflict
    with pytest.raises(Conflict, match=r"\[MILK\] Milk"):
        svc.create_product({"sku": "MILK2", "name": "Milk 2", "unit": "pc", "barcode": make_ean13("690000000011")})
    with pytest.raises(InvalidValue, match="known units"):
        svc.create_product({"sku": "X", "name": "X", "unit": "crate"})


# --- admin screens ----------------------------------------------------------------------

def test_admin_product_form_refuses_a_bad_barcode_and_writes_nothing(client_as, session, pc):
    client = client_as("core.product.read", "core.product.create")
    response = client.submit("/admin/product/new/", {
        "sku": "ADM-1", "name": "Admin product", "barcode": "6901234567891", "unit": str(pc.id),
        "list_price": "3.50", "cost": "1.00", "active": "y"})
    page = response.get_data(as_text=True)
    assert "last digit should be 2" in page
    assert session.scalar(sa.select(Product).where(Product.sku == "ADM-1")) is None
    response = client.submit("/admin/product/new/", {
        "sku": "ADM-1", "name": "Admin product", "barcode": make_ean13("690123456789"), "unit": str(pc.id),
        "list_price": "3.50", "cost": "1.00", "active": "y"})
    assert response.status_code == 302
    assert session.scalar(sa.select(Product).where(Product.sku == "ADM-1")).list_price == Decimal("3.5000")


def test_admin_master_lists_need_permissions(client_as, session):
    session.add(Store(code="SHX", name="Searchable shop", city="Shanghai"))
    session.commit()
    reader = client_as("core.store.read")
    assert "Searchable shop" in reader.get("/admin/store/?search=Searchable").get_data(as_text=True)
    assert reader.get("/admin/product/").status_code == 403
    assert reader.get("/admin/store/new/").status_code in (302, 403)


IMPORT_CSV = ("sku,barcode,name,category,unit,tax,list_price,cost,active\n"
              f"IMP-1,{make_ean13('694000000001')},Imported tea,Drinks / Tea,pc,,5.50,3,yes\n"
              f"IMP-2,{make_ean13('694000000002')},Imported water,Drinks / Water,pc,,2.00,1,yes\n")


def _upload(client, text, name="products.csv"):
    page = client.get("/admin/product-import/")
    assert page.status_code == 200
    from core.testing import csrf_token_from
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post("/admin/product-import/check", data={
        "csrf_token": token, "file": (io.BytesIO(text.encode()), name)}, content_type="multipart/form-data")


def test_import_screen_shows_every_bad_line_and_imports_nothing(client_as, session):
    client = client_as("core.product.read", "core.product.import")
    bad = IMPORT_CSV + "IMP-3,6901234567891,Bad,Drinks,pc,,x,,\nIMP-1,,Twice,,box,,1,,\n"
    response = _upload(client, bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "<td>4</td>" in page and "<td>5</td>" in page and "check digit" in page and "box" in page
    assert "already on line 2" in page and "nothing was imported" in page
    assert "Import: create" not in page
    assert session.scalar(sa.select(Product).where(Product.sku.like("IMP-%"))) is None


def test_import_screen_checks_then_imports(client_as, session):
    client = client_as("core.product.read", "core.product.import")
    response = _upload(client, IMPORT_CSV)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Import: create 2 and update 0 products" in page
    assert session.scalar(sa.select(Product).where(Product.sku.like("IMP-%"))) is None  # only checked
    import re
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    from core.testing import csrf_token_from
    response = client.post("/admin/product-import/import", data={"csrf_token": csrf_token_from(page),
                                                                  "token": token})
    assert response.status_code == 302
    found = session.scalars(sa.select(Product).where(Product.sku.like("IMP-%")).order_by(Product.sku)).all()
    assert [p.category.full_name for p in found] == ["Drinks / Tea", "Drinks / Water"]
    again = client.post("/admin/product-import/import", data={"csrf_token": csrf_token_from(page), "token": token})
    assert again.status_code == 302  # the file was used up: back to the upload page
    assert client.post("/admin/product-import/import", data={"csrf_token": csrf_token_from(page),
                                                             "token": "../../etc/passwd"}).status_code == 302


def test_import_screen_needs_the_import_permission(client_as):
    client = client_as("core.product.read", "core.product.create")
    assert client.get("/admin/product-import/").status_code == 403


def test_store_limited_users_see_only_their_stores_in_the_admin(client_as, session):
    a = Store(code="LIM1", name="Limited one")
    b = Store(code="LIM2", name="Limited two")
    session.add_all([a, b])
    session.commit()
    client = client_as("core.store.read", "core.store.edit", stores=[a])
    page = client.get("/admin/store/").get_data(as_text=True)
    assert "Limited one" in page and "Limited two" not in page
    assert client.get(f"/admin/store/edit/?id={b.id}").status_code in (302, 404)
    assert client.get(f"/admin/store/edit/?id={a.id}").status_code == 200


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00\x00\x00IEND\xaeB`\x82")


def test_product_image_upload_and_display(client_as, session, pc):
    product = Product(sku="IMG-1", name="Pictured", unit=pc, list_price=Decimal("1"))
    session.add(product)
    session.commit()
    client = client_as("core.product.read", "core.product.edit")
    form = {"sku": "IMG-1", "name": "Pictured", "unit": str(pc.id), "list_price": "1", "cost": "0", "active": "y"}
    url = f"/admin/product/edit/?id={product.id}"
    response = client.submit(url, {**form, "image_upload": (io.BytesIO(b"just text"), "notes.txt")},
                             content_type="multipart/form-data")
    assert "PNG, JPEG or WebP" in response.get_data(as_text=True)
    assert client.get(f"/admin/product/image/{product.id}").status_code == 404
    response = client.submit(url, {**form, "image_upload": (io.BytesIO(PNG), "milk.png")},
                             content_type="multipart/form-data")
    assert response.status_code == 302
    image = client.get(f"/admin/product/image/{product.id}")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == PNG
    assert f"/admin/product/image/{product.id}" in client.get(
        f"/admin/product/details/?id={product.id}").get_data(as_text=True)
    assert client_as("core.store.read").get(f"/admin/product/image/{product.id}").status_code == 403


def test_admin_partner_gets_a_number_and_duplicate_sku_is_refused(client_as, session, pc):
    client = client_as("core.partner.read", "core.partner.create", "core.product.read", "core.product.create")
    response = client.submit("/admin/partner/new/", {"name": "Walk-in customer", "is_customer": "y",
                                                     "active": "y"})
    assert response.status_code == 302
    partner = session.scalar(sa.select(Partner).where(Partner.name == "Walk-in customer"))
    assert partner.ref and partner.ref.startswith("P")
    response = client.submit("/admin/partner/new/", {"name": "Neither", "active": "y"})
    assert "customer, a supplier or both" in response.get_data(as_text=True)
    session.add(Product(sku="DUP-1", name="First", unit=pc))
    session.commit()
    response = client.submit("/admin/product/new/", {"sku": "DUP-1", "name": "Second", "unit": str(pc.id),
                                                     "list_price": "1", "cost": "0", "active": "y"})
    assert "already exists" in response.get_data(as_text=True).lower()  # the form's own unique check
    assert session.scalar(sa.select(sa.func.count()).select_from(Product).where(Product.sku == "DUP-1")) == 1
