"""What a user did through the admin forms or the CLI, through the API: taxes, stores, roles
and who has them. Happy paths, ugly input, refusals that change nothing."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.auth.models import Role, RolePermission, User
from core.models import Store, Tax

PROBLEM = "application/problem+json"
HUGE = 2**40


@pytest.fixture
def app(make_app):
    return make_app(addons=[])


def problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json()


def count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def stores(session):
    a = Store(code="SHA01", name="Jing'an shop", city="Shanghai")
    b = Store(code="BJ01", name="Chaoyang shop", city="Beijing", timezone="Asia/Shanghai")
    session.add_all([a, b])
    session.commit()
    return a, b


# --- taxes ------------------------------------------------------------------------------

def test_taxes_list_create_change_archive(api_client, session):
    api = api_client("core.tax.read", "core.tax.create", "core.tax.edit")
    r = api.post("/api/v1/taxes", json={"code": "VAT9", "name": "VAT 9%", "rate": "9"})
    assert r.status_code == 201, r.get_json()
    tax = r.get_json()
    assert tax["code"] == "VAT9" and Decimal(tax["rate"]) == Decimal("9") and tax["active"] is True
    api.post("/api/v1/taxes", json={"code": "ZERO", "name": "Zero rated", "rate": 0})
    page = api.get("/api/v1/taxes?per_page=1").get_json()
    assert page["total"] >= 2 and page["has_next"] is True and len(page["items"]) == 1
    assert [t["code"] for t in api.get("/api/v1/taxes?q=vat9").get_json()["items"]] == ["VAT9"]
    r = api.patch(f"/api/v1/taxes/{tax['id']}", json={"rate": "13.5", "name": "VAT 13.5%"})
    assert r.status_code == 200 and Decimal(r.get_json()["rate"]) == Decimal("13.5")
    assert api.get(f"/api/v1/taxes/{tax['id']}").get_json()["name"] == "VAT 13.5%"
    r = api.post(f"/api/v1/taxes/{tax['id']}/archive")
    assert r.status_code == 200 and r.get_json()["active"] is False
    assert "VAT9" not in [t["code"] for t in api.get("/api/v1/taxes?active=true&per_page=500").get_json()["items"]]
    assert session.get(Tax, tax["id"]).active is False  # archived, never deleted


@pytest.mark.parametrize("body", [
    {"code": "T1", "name": "x", "rate": "101"},            # above 100 %
    {"code": "T1", "name": "x", "rate": "-1"},
    {"code": "T1", "name": "x", "rate": "1e400"},           # huge
    {"code": "T1", "name": "x", "rate": "1.00001"},         # more decimals than stored
    {"code": "T1", "name": "x", "rate": "NaN"},
    {"code": "T1", "name": "x", "rate": [1]},               # wrong type
    {"code": "T 1", "name": "x", "rate": "1"},              # space in a code
    {"code": "T1\x00", "name": "x", "rate": "1"},           # NUL byte
    {"code": "T1", "name": "nul\x00", "rate": "1"},
    {"code": "T1", "name": "", "rate": "1"},
    {"code": "T1", "name": "x"},                            # rate missing
    {"code": "T1", "name": "x", "rate": "1", "extra": 1},   # unknown field
])
def test_bad_taxes_are_422_and_change_nothing(api_client, session, body):
    api = api_client("core.tax.create")
    before = count(session, Tax)
    problem(api.post("/api/v1/taxes", json=body), 422)
    assert count(session, Tax) == before


def test_tax_duplicates_missing_permission_and_unknown_ids(api_client, session):
    api = api_client("core.tax.read", "core.tax.create", "core.tax.edit")
    first = api.post("/api/v1/taxes", json={"code": "VAT6", "name": "VAT 6%", "rate": "6"}).get_json()
    body = problem(api.post("/api/v1/taxes", json={"code": "VAT6", "name": "again", "rate": "6"}), 409)
    assert "VAT6" in body["detail"]
    other = api.post("/api/v1/taxes", json={"code": "VAT7", "name": "VAT 7%", "rate": "7"}).get_json()
    problem(api.patch(f"/api/v1/taxes/{other['id']}", json={"code": "VAT6"}), 409)
    assert session.get(Tax, other["id"]).code == "VAT7"
    problem(api.patch(f"/api/v1/taxes/{other['id']}", json={"rate": None}), 422)
    for url in (f"/api/v1/taxes/{HUGE}", "/api/v1/taxes/999999"):
        problem(api.get(url), 404)
        problem(api.patch(url, json={"name": "x"}), 404)
        problem(api.post(url + "/archive"), 404)
    problem(api.get("/api/v1/taxes/abc"), 404)
    problem(api.get(f"/api/v1/taxes?per_page={HUGE}"), 422)
    reader = api_client("core.tax.read")
    before = count(session, Tax)
    assert problem(reader.post("/api/v1/taxes", json={"code": "X", "name": "x", "rate": "1"}), 403)["permission"] \
        == "core.tax.create"
    problem(reader.patch(f"/api/v1/taxes/{first['id']}", json={"name": "changed"}), 403)
    problem(reader.post(f"/api/v1/taxes/{first['id']}/archive"), 403)
    session.expire_all()
    assert count(session, Tax) == before and session.get(Tax, first["id"]).name == "VAT 6%"
    assert session.get(Tax, first["id"]).active is True


# --- stores -----------------------------------------------------------------------------

def test_store_search_takes_percent_and_underscore_literally(api_client, session, stores):
    session.add_all([Store(code="OUT50", name="50% Outlet"), Store(code="M500", name="500 Mall"),
                     Store(code="X_1", name="Depot x_1"), Store(code="XY1", name="Depot xy1")])
    session.commit()
    api = api_client("core.store.read")

    def codes(q):
        r = api.get("/api/v1/stores", query_string={"q": q})
        assert r.status_code == 200, r.get_json()
        return sorted(s["code"] for s in r.get_json()["items"])
    assert codes("50%") == ["OUT50"]  # not "500 Mall" (SQLite has no default LIKE escape)
    assert codes("x_1") == ["X_1"]


def test_store_create_and_change_with_timezone(api_client, session, stores):
    api = api_client("core.store.read", "core.store.create", "core.store.edit")
    r = api.post("/api/v1/stores", json={"code": "NY01", "name": "Manhattan", "city": "New York",
                                         "country": "us", "timezone": "America/New_York",
                                         "latitude": "40.7128", "longitude": "-74.006"})
    assert r.status_code == 201, r.get_json()
    store = r.get_json()
    assert store["timezone"] == "America/New_York" and store["country"] == "US" and store["kind"] == "shop"
    r = api.patch(f"/api/v1/stores/{store['id']}", json={"timezone": "America/Los_Angeles", "name": "Midtown"})
    assert r.status_code == 200 and r.get_json()["timezone"] == "America/Los_Angeles"
    assert session.get(Store, store["id"]).name == "Midtown"
    assert api.get(f"/api/v1/stores/{store['id']}").get_json()["timezone"] == "America/Los_Angeles"
    dc = api.post("/api/v1/stores", json={"code": "DC1", "name": "Central DC", "kind": "dc"}).get_json()
    assert dc["kind"] == "dc" and dc["timezone"] == "Asia/Shanghai"


@pytest.mark.parametrize("body", [
    {"code": "X1", "name": "x", "timezone": "Mars/Olympus"},
    {"code": "X1", "name": "x", "timezone": "\x00"},
    {"code": "X1", "name": "x", "kind": "warehouse"},
    {"code": "X1", "name": "x", "latitude": "91"},
    {"code": "X1", "name": "x", "latitude": 1e308},
    {"code": "X1", "name": "x", "country": "CHN"},
    {"code": "X1", "name": "x", "opening_hours": "<script>"},
    {"code": "X" * 17, "name": "x"},
    {"code": 12, "name": "x"},
    {"name": "no code"},
])
def test_bad_stores_are_422_and_change_nothing(api_client, session, stores, body):
    api = api_client("core.store.create", "core.store.edit")
    before = count(session, Store)
    problem(api.post("/api/v1/stores", json=body), 422)
    patch = {k: v for k, v in body.items() if k not in ("code", "name")} or {"code": body.get("code", "")}
    problem(api.patch(f"/api/v1/stores/{stores[0].id}", json=patch), 422)
    session.expire_all()
    assert count(session, Store) == before and session.get(Store, stores[0].id).timezone == "Asia/Shanghai"


def test_store_duplicates_scope_and_permissions(api_client, session, stores):
    a, b = stores
    api = api_client("core.store.read", "core.store.create", "core.store.edit")
    problem(api.post("/api/v1/stores", json={"code": "SHA01", "name": "again"}), 409)
    problem(api.patch(f"/api/v1/stores/{b.id}", json={"code": "SHA01"}), 409)
    problem(api.patch(f"/api/v1/stores/{HUGE}", json={"name": "x"}), 404)
    # a user limited to store A: cannot see or change B, cannot create stores (as in the admin)
    local = api_client("core.store.read", "core.store.create", "core.store.edit", stores=[a])
    problem(local.patch(f"/api/v1/stores/{b.id}", json={"name": "taken over"}), 404)
    before = count(session, Store)
    problem(local.post("/api/v1/stores", json={"code": "MINE", "name": "mine"}), 403)
    assert local.patch(f"/api/v1/stores/{a.id}", json={"phone": "+86 21 5555 0101"}).status_code == 200
    reader = api_client("core.store.read")
    problem(reader.post("/api/v1/stores", json={"code": "R1", "name": "r"}), 403)
    problem(reader.patch(f"/api/v1/stores/{a.id}", json={"name": "r"}), 403)
    session.expire_all()
    assert count(session, Store) == before and session.get(Store, b.id).name == "Chaoyang shop"


# --- roles and users ----------------------------------------------------------------------

def test_roles_list_create_change(api_client, session):
    api = api_client("core.role.read", "core.role.create", "core.role.edit")
    r = api.post("/api/v1/roles", json={"code": "cashier", "name": "Cashier",
                                        "permissions": ["core.product.read", "core.*"]})
    assert r.status_code == 201, r.get_json()
    role = r.get_json()
    assert role["permissions"] == ["core.*", "core.product.read"]
    # only what the admin's form offers: declared codes, an addon's wildcard, '*'
    problem(api.post("/api/v1/roles", json={"code": "r2", "name": "r", "permissions": ["core.store.*"]}), 422)
    listed = api.get("/api/v1/roles?q=cash").get_json()
    assert [x["code"] for x in listed["items"]] == ["cashier"] and listed["total"] == 1
    # a code of an addon switched off stays when the list is replaced (as in the admin)
    row = session.get(Role, role["id"])
    row.permissions.append(RolePermission(code="gone.thing"))
    session.commit()
    r = api.patch(f"/api/v1/roles/{role['id']}", json={"permissions": ["core.product.edit"], "name": "Till staff"})
    assert r.status_code == 200
    assert r.get_json()["permissions"] == ["core.product.edit", "gone.thing"]
    assert api.get(f"/api/v1/roles/{role['id']}").get_json()["name"] == "Till staff"


@pytest.mark.parametrize("body", [
    {"code": "r1", "name": "r", "permissions": ["made.up"]},
    {"code": "r1", "name": "r", "permissions": ["core.product.read\x00"]},
    {"code": "r1", "name": "r", "permissions": "core.product.read"},
    {"code": "r1", "name": "r", "permissions": [1]},
    {"code": "r 1", "name": "r"},
    {"code": "", "name": "r"},
    {"code": "r1", "name": "x" * 129},
])
def test_bad_roles_are_422_and_change_nothing(api_client, session, body):
    api = api_client("core.role.create")
    before = count(session, Role)
    problem(api.post("/api/v1/roles", json=body), 422)
    assert count(session, Role) == before


def test_role_duplicates_and_permissions(api_client, session):
    api = api_client("core.role.read", "core.role.create", "core.role.edit")
    api.post("/api/v1/roles", json={"code": "buyer", "name": "Buyer"})
    problem(api.post("/api/v1/roles", json={"code": "buyer", "name": "Buyer 2"}), 409)
    other = api.post("/api/v1/roles", json={"code": "seller", "name": "Seller"}).get_json()
    problem(api.patch(f"/api/v1/roles/{other['id']}", json={"code": "buyer"}), 409)
    problem(api.get(f"/api/v1/roles/{HUGE}"), 404)
    # only the role-management permission may change roles: no escalation by a user manager
    manager = api_client("core.user.read", "core.user.edit", "core.role.read")
    before = count(session, Role)
    problem(manager.post("/api/v1/roles", json={"code": "boss", "name": "Boss", "permissions": ["*"]}), 403)
    problem(manager.patch(f"/api/v1/roles/{other['id']}", json={"permissions": ["*"]}), 403)
    session.expire_all()
    assert count(session, Role) == before and session.get(Role, other["id"]).permission_codes == set()


def test_users_list_and_role_assignment(api_client, session, stores):
    a, b = stores
    admin = api_client("core.user.read", "core.role.read", "core.role.edit")
    role = Role(code="clerk", name="Clerk", permissions=[RolePermission(code="core.product.read")])
    clerk = User(username="clerk", display_name="Clerk Li", all_stores=False, stores=[a])
    elsewhere = User(username="bj", all_stores=False, stores=[b])
    session.add_all([role, clerk, elsewhere])
    session.commit()
    r = admin.put(f"/api/v1/users/{clerk.id}/roles/{role.id}")
    assert r.status_code == 200, r.get_json()
    assert [x["code"] for x in r.get_json()["roles"]] == ["clerk"] and r.get_json()["store_ids"] == [a.id]
    assert admin.put(f"/api/v1/users/{clerk.id}/roles/{role.id}").status_code == 200  # twice: still once
    session.expire_all()
    assert [x.code for x in session.get(User, clerk.id).roles] == ["clerk"]
    page = admin.get(f"/api/v1/users?role_id={role.id}").get_json()
    assert [u["username"] for u in page["items"]] == ["clerk"] and page["total"] == 1
    assert admin.get("/api/v1/users?q=Clerk%20Li").get_json()["items"][0]["id"] == clerk.id
    assert admin.get(f"/api/v1/users/{clerk.id}").get_json()["username"] == "clerk"
    r = admin.delete(f"/api/v1/users/{clerk.id}/roles/{role.id}")
    assert r.status_code == 200 and r.get_json()["roles"] == []
    problem(admin.delete(f"/api/v1/users/{clerk.id}/roles/{role.id}"), 404)  # not assigned any more
    for url in (f"/api/v1/users/{HUGE}/roles/{role.id}", f"/api/v1/users/{clerk.id}/roles/{HUGE}",
                f"/api/v1/users/999999/roles/{role.id}"):
        problem(admin.put(url), 404)
    problem(admin.get(f"/api/v1/users/{HUGE}"), 404)
    problem(admin.get("/api/v1/users?role_id=abc"), 422)
    problem(admin.get(f"/api/v1/users?role_id={HUGE}"), 422)


def test_role_assignment_refusals_change_nothing(api_client, session, stores):
    a, b = stores
    role = Role(code="boss", name="Boss", permissions=[RolePermission(code="*")])
    clerk = User(username="clerk", all_stores=False, stores=[a])
    beijing = User(username="bj", all_stores=False, stores=[b])
    root = User(username="root", is_superuser=True)
    session.add_all([role, clerk, beijing, root])
    session.commit()
    # a user manager without the role-management permission cannot hand out roles
    manager = api_client("core.user.read", "core.user.edit")
    assert problem(manager.put(f"/api/v1/users/{clerk.id}/roles/{role.id}"), 403)["permission"] == "core.role.edit"
    # a role manager limited to store A: sees and changes only users of store A
    local = api_client("core.user.read", "core.role.edit", stores=[a])
    problem(local.put(f"/api/v1/users/{beijing.id}/roles/{role.id}"), 404)
    problem(local.put(f"/api/v1/users/{root.id}/roles/{role.id}"), 404)
    assert {u["username"] for u in local.get("/api/v1/users").get_json()["items"]} == {"clerk", local.user.username}
    # only a superuser changes a superuser's roles
    problem(api_client("core.role.edit").put(f"/api/v1/users/{root.id}/roles/{role.id}"), 403)
    session.expire_all()
    for user_id in (clerk.id, beijing.id, root.id):
        assert session.get(User, user_id).roles == []
    superuser = api_client(superuser=True)
    assert superuser.put(f"/api/v1/users/{root.id}/roles/{role.id}").status_code == 200


# --- ugly input on any route (the API shell) ----------------------------------------------

def test_nul_bytes_huge_ids_and_huge_numbers_never_reach_the_database(api_client, session):
    api = api_client("core.product.read", "core.product.create", "core.partner.edit")
    problem(api.get("/api/v1/products/barcode/123%00"), 422)
    problem(api.get("/api/v1/products?q=milk%00"), 422)
    problem(api.get("/api/v1/products?%00=1"), 422)
    problem(api.patch(f"/api/v1/partners/{HUGE}", json={"name": "x"}), 404)
    problem(api.get(f"/api/v1/products/{2**31}"), 404)
    assert api.get(f"/api/v1/products/{2**31 - 1}").status_code == 404
    before = count(session, Tax)
    for category_id in (2**70, 2**40):  # beyond 64 bits (SQLite overflows) and beyond 32 (PostgreSQL)
        r = api.post("/api/v1/products", json={"sku": "S1", "name": "n", "unit": "pc", "category_id": category_id})
        assert r.status_code in (404, 422), r.get_json()
    assert count(session, Tax) == before
