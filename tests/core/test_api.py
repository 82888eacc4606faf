"""The JSON API shell: tokens, RFC 9457 problems, pagination, OpenAPI, master-data routes."""
import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.auth.models import ApiToken
from core.barcodes import make_ean13
from core.models import Category, Partner, Product, Store, Tax, Unit

PROBLEM = "application/problem+json"


@pytest.fixture
def app(make_app):
    """Core alone: these tests are about core's routes (addons' routes have their own tests)."""
    return make_app(addons=[])


def assert_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


@pytest.fixture
def data(session):
    food = Category(name="Food")
    dairy = Category(name="Dairy", parent=food)
    drinks = Category(name="Drinks")
    vat13 = Tax(code="VAT13", name="VAT 13%", rate=Decimal("13"))
    pc = session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    session.add_all([food, dairy, drinks, vat13])
    session.flush()
    products = {
        "milk": Product(sku="MILK-1", barcode=make_ean13("690000000001"), name="Bright Milk 1L", category=dairy,
                        unit=pc, tax=vat13, list_price=Decimal("12.50"), cost=Decimal("8.1")),
        "yogurt": Product(sku="YOG-1", barcode=make_ean13("690000000002"), name="Plain Yogurt", category=dairy,
                          unit=pc, tax=vat13, list_price=Decimal("6.90")),
        "tea": Product(sku="TEA-1", barcode=make_ean13("690000000003"), name="Green Tea", category=drinks,
                       unit=pc, list_price=Decimal("4.00")),
    }
    session.add_all(products.values())
    a = Store(code="SHA01", name="Jing'an shop", city="Shanghai")
    b = Store(code="SHA02", name="Xuhui shop", city="Shanghai")
    session.add_all([a, b])
    session.commit()  # API errors roll back the request's work; the fixture's rows must survive
    return {"stores": (a, b), "categories": (food, dairy, drinks), **products}


def count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


# --- authentication ---------------------------------------------------------------------

def test_missing_and_bad_tokens_get_401_problems_and_write_nothing(app, session, data):
    client = app.test_client()
    before = count(session, Product)
    body = assert_problem(client.get("/api/v1/stores"), 401)
    assert "Bearer" in body["detail"]
    assert client.get("/api/v1/stores").headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(client.get("/api/v1/stores", headers={"Authorization": "Bearer nope"}), 401)
    assert_problem(client.get("/api/v1/stores", headers={"Authorization": "Basic abc"}), 401)
    response = client.post("/api/v1/products", json={"sku": "NEW-1", "name": "X", "unit": "pc"},
                           headers={"Authorization": "Bearer o2o_wrong"})
    assert_problem(response, 401)
    assert count(session, Product) == before


def test_revoked_expired_and_inactive_tokens_are_refused(api_client, session, data):
    api = api_client("core.store.read")
    assert api.get("/api/v1/stores").status_code == 200
    row = session.scalar(sa.select(ApiToken).where(ApiToken.user_id == api.user.id))
    row.expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    session.commit()
    assert "expired" in assert_problem(api.get("/api/v1/stores"), 401)["detail"]
    row.expires_at = None
    row.revoked = True
    session.commit()
    assert_problem(api.get("/api/v1/stores"), 401)
    row.revoked = False
    api.user.active = False
    session.commit()
    assert_problem(api.get("/api/v1/stores"), 401)


def test_tokens_are_stored_hashed_and_created_once_through_the_api(api_client, session, app):
    api = api_client("core.token.create")
    response = api.post("/api/v1/tokens", json={"name": "till sync", "expires_in_days": 30})
    assert response.status_code == 201, response.get_json()
    new = response.get_json()
    clear = new["token"]
    assert clear.startswith("o2o_") and new["prefix"] == clear[:12]
    stored = session.get(ApiToken, new["id"])
    assert stored.token_hash != clear and clear not in stored.token_hash and len(stored.token_hash) == 64
    listed = api.get("/api/v1/tokens").get_json()
    assert {t["name"] for t in listed} >= {"till sync"} and all("token" not in t for t in listed)
    client = app.test_client()
    assert client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {clear}"}).status_code == 200
    assert api.delete(f"/api/v1/tokens/{new['id']}").get_json()["revoked"] is True
    assert_problem(client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {clear}"}), 401)
    other = api_client()
    assert_problem(other.delete(f"/api/v1/tokens/{new['id']}"), 404)  # not theirs


def test_creating_a_token_needs_the_permission(api_client):
    api = api_client("core.store.read")
    body = assert_problem(api.post("/api/v1/tokens", json={"name": "x"}), 403)
    assert body["permission"] == "core.token.create"


# --- problem documents ----------------------------------------------------------------

def test_403_404_405_problems(api_client, data):
    api = api_client("core.store.read")
    assert_problem(api.get("/api/v1/products"), 403)
    body = assert_problem(api.get("/api/v1/no-such-route"), 404)
    assert body["instance"] == "/api/v1/no-such-route"
    response = api.delete("/api/v1/stores")
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_unknown_barcode_is_a_404_problem(api_client, data):
    api = api_client("core.product.read")
    body = assert_problem(api.get("/api/v1/products/barcode/6900000009999"), 404)
    assert "6900000009999" in body["detail"] and body["barcode"] == "6900000009999"
    ok = api.get(f"/api/v1/products/barcode/{data['milk'].barcode}")
    assert ok.status_code == 200 and ok.get_json()["sku"] == "MILK-1"


def test_malformed_json_is_a_400_problem_and_writes_nothing(api_client, session, data):
    api = api_client("core.partner.create", "core.product.create")
    before = (count(session, Partner), count(session, Product))
    body = assert_problem(api.post("/api/v1/partners", data="{name: oops", content_type="application/json"), 400)
    assert "JSON" in body["detail"]
    assert_problem(api.post("/api/v1/partners", data="name=x", content_type="application/x-www-form-urlencoded"),
                   400)
    assert_problem(api.post("/api/v1/products", data="[1, 2", content_type="application/json"), 400)
    assert (count(session, Partner), count(session, Product)) == before


def test_validation_errors_name_the_fields(api_client, session, data):
    api = api_client("core.partner.create", "core.product.create")
    before = count(session, Partner)
    body = assert_problem(api.post("/api/v1/partners", json={"email": "x@example.com", "colour": "red"}), 422)
    fields = {e["field"] for e in body["errors"]}
    assert {"name", "colour"} <= fields
    body = assert_problem(api.post("/api/v1/partners", json={"name": "Wu", "is_customer": True,
                                                             "email": "not-an-email"}), 422)
    assert body["field"] == "email" and "not-an-email" in body["detail"]
    body = assert_problem(api.post("/api/v1/partners", json={"name": "Wu"}), 422)
    assert "customer" in body["detail"]
    body = assert_problem(api.post("/api/v1/products", json={
        "sku": "NEW-1", "name": "New", "unit": "pc", "barcode": "6901234567891"}), 422)
    assert body["field"] == "barcode" and "check digit" in body["detail"] and "2" in body["detail"]
    body = assert_problem(api.post("/api/v1/products", json={
        "sku": "NEW-1", "name": "New", "unit": "box"}), 422)
    assert body["field"] == "unit" and "box" in body["detail"]
    body = assert_problem(api.post("/api/v1/products", json={
        "sku": "NEW-1", "name": "New", "unit": "pc", "list_price": "-1"}), 422)
    assert body["errors"][0]["field"] == "list_price"
    assert_problem(api.post("/api/v1/products", json={"sku": "NEW 1", "name": "N", "unit": "pc"}), 422)
    assert_problem(api.post("/api/v1/products", json=[1, 2]), 422)
    assert count(session, Partner) == before
    assert session.scalar(sa.select(Product).where(Product.sku.like("NEW%"))) is None


def test_query_validation(api_client, data):
    api = api_client("core.product.read")
    body = assert_problem(api.get("/api/v1/products?per_page=100000"), 422)
    assert body["errors"][0]["location"] == "query" and body["errors"][0]["field"] == "per_page"
    assert_problem(api.get("/api/v1/products?page=0"), 422)
    assert_problem(api.get("/api/v1/products?active=perhaps"), 422)
    assert api.get("/api/v1/products?_=1234").status_code == 200  # unknown parameters are ignored


def test_duplicates_are_409_conflicts(api_client, session, data):
    api = api_client("core.product.create", "core.product.edit")
    body = assert_problem(api.post("/api/v1/products", json={"sku": "MILK-1", "name": "Again", "unit": "pc"}), 409)
    assert "MILK-1" in body["detail"] and "Bright Milk" in body["detail"]
    body = assert_problem(api.post("/api/v1/products", json={
        "sku": "MILK-2", "name": "Again", "unit": "pc", "barcode": data["milk"].barcode}), 409)
    assert body["field"] == "barcode"
    body = assert_problem(api.patch(f"/api/v1/products/{data['tea'].id}", json={"sku": "YOG-1"}), 409)
    assert session.get(Product, data["tea"].id).sku == "TEA-1"


def test_unexpected_errors_are_500_problems(api_client, data, monkeypatch):
    from core.services import master
    def boom(code, session=None):
        raise RuntimeError("database on fire")
    monkeypatch.setattr(master, "product_by_barcode", boom)
    api = api_client("core.product.read")
    body = assert_problem(api.get("/api/v1/products/barcode/123"), 500)
    assert "fire" not in body.get("detail", "")


# --- master data -----------------------------------------------------------------------

def test_stores_are_limited_to_the_users_stores(api_client, data):
    a, b = data["stores"]
    limited = api_client("core.store.read", stores=[a])
    items = limited.get("/api/v1/stores").get_json()["items"]
    assert [s["code"] for s in items] == ["SHA01"]
    assert limited.get(f"/api/v1/stores/{a.id}").get_json()["name"] == "Jing'an shop"
    assert_problem(limited.get(f"/api/v1/stores/{b.id}"), 404)
    everyone = api_client("core.store.read")
    codes = [s["code"] for s in everyone.get("/api/v1/stores?q=SHA").get_json()["items"]]
    assert codes == ["SHA01", "SHA02"]


def test_partner_create_update_and_pagination(api_client, session, data):
    api = api_client("core.partner.read", "core.partner.create", "core.partner.edit")
    response = api.post("/api/v1/partners", json={"name": "  Oriental Dairy Co. ", "is_supplier": True,
                                                  "email": "sales@oriental.example", "country": "cn"})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["name"] == "Oriental Dairy Co." and created["ref"].startswith("P") and created["country"] == "CN"
    partner = session.get(Partner, created["id"])
    assert partner.is_supplier and not partner.is_customer
    patched = api.patch(f"/api/v1/partners/{partner.id}", json={"phone": "+86 21 5555 0101", "is_customer": True})
    assert patched.status_code == 200 and patched.get_json()["phone"] == "+86 21 5555 0101"
    assert_problem(api.patch(f"/api/v1/partners/{partner.id}", json={"name": None}), 422)
    assert_problem(api.patch("/api/v1/partners/999999", json={"phone": "1234"}), 404)
    for i in range(6):
        api.post("/api/v1/partners", json={"name": f"Customer {i}", "is_customer": True})
    page = api.get("/api/v1/partners?is_customer=true&per_page=3&page=3").get_json()
    assert page["total"] == 7 and page["page"] == 3 and len(page["items"]) == 1 and page["has_next"] is False
    page1 = api.get("/api/v1/partners?is_customer=true&per_page=3").get_json()
    assert page1["has_next"] is True and len(page1["items"]) == 3
    assert api.get("/api/v1/partners?q=oriental").get_json()["total"] == 1


def test_products_list_search_filter_get_create_update(api_client, session, data):
    api = api_client("core.product.read", "core.product.create", "core.product.edit")
    food, dairy, drinks = data["categories"]
    listed = api.get(f"/api/v1/products?category_id={food.id}").get_json()
    assert [p["sku"] for p in listed["items"]] == ["MILK-1", "YOG-1"]  # subcategories included
    assert api.get("/api/v1/products?q=green").get_json()["items"][0]["sku"] == "TEA-1"
    assert api.get(f"/api/v1/products?q={data['tea'].barcode}").get_json()["total"] == 1
    one = api.get(f"/api/v1/products/{data['milk'].id}").get_json()
    assert one["category"] == "Food / Dairy" and one["list_price"] == "12.5000" and one["tax_rate"] == "13.0000"
    barcode = make_ean13("690000000077")
    response = api.post("/api/v1/products", json={
        "sku": "RICE-5", "barcode": barcode, "name": "Northeast Rice 5kg", "category": "Food / Rice",
        "unit": "pc", "tax": "VAT13", "list_price": "49.90", "cost": 31.2})
    assert response.status_code == 422  # the category path does not exist
    response = api.post("/api/v1/products", json={
        "sku": "RICE-5", "barcode": barcode, "name": "Northeast Rice 5kg", "category_id": food.id,
        "unit": "pc", "tax": "VAT13", "list_price": "49.90", "cost": 31.2})
    assert response.status_code == 201, response.get_json()
    product = session.scalar(sa.select(Product).where(Product.sku == "RICE-5"))
    assert product.list_price == Decimal("49.9000") and product.cost == Decimal("31.2000")
    response = api.patch(f"/api/v1/products/{product.id}", json={"list_price": "45", "category": "Food / Dairy",
                                                                  "active": False})
    assert response.status_code == 200
    assert response.get_json()["category"] == "Food / Dairy" and response.get_json()["active"] is False
    assert api.get("/api/v1/products?active=false").get_json()["total"] == 1


def test_audit_records_the_api_user(api_client, session, data):
    from core.models import AuditLog
    api = api_client("core.partner.create")
    api.post("/api/v1/partners", json={"name": "Audit Me", "is_customer": True})
    row = session.scalars(sa.select(AuditLog).where(AuditLog.table_name == "partner")
                          .order_by(AuditLog.id.desc())).first()
    assert row.action == "create" and row.username == api.user.username and row.user_id == api.user.id


# --- OpenAPI ---------------------------------------------------------------------------

@pytest.mark.parametrize("addons", ["core", "all"])
def test_openapi_document_lists_every_route(make_app, addons):
    app = make_app(addons=[] if addons == "core" else None)
    client = app.test_client()
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    import re
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([a-zA-Z_]\w*)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path} missing from openapi.json"
    schemas = doc["components"]["schemas"]
    refs = re.findall(r'"#/components/schemas/([^"]+)"', response.get_data(as_text=True))
    assert refs and all(r in schemas for r in refs)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["responses"] and op["operationId"]
            for p in op.get("parameters", []):
                if p["in"] == "path":
                    assert "{" + p["name"] + "}" in path
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if op.get("security") != []:
                assert "401" in op["responses"], f"{method} {path} does not document 401"
    create = doc["paths"]["/api/v1/products"]["post"]
    assert create["x-permission"] == "core.product.create"
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/core.ProductIn")
    assert {"400", "401", "403", "422"} <= set(create["responses"])
    assert schemas["core.ProductIn"]["required"] and "sku" in schemas["core.ProductIn"]["required"]
    barcode = doc["paths"]["/api/v1/products/barcode/{code}"]["get"]
    assert "404" in barcode["responses"]
    try:
        from openapi_spec_validator import validate
    except ImportError:
        return
    validate(doc)
