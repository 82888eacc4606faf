"""Product categories through the API (what the admin's category screen does): list with
paths, create, rename, move (never under itself), ugly input and refusals that change nothing."""
import pytest
import sqlalchemy as sa

from core.models import Category

PROBLEM = "application/problem+json"
HUGE = 2**40
URL = "/api/v1/categories"


@pytest.fixture
def app(make_app):
    return make_app(addons=[])


def problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json()


def snapshot(session):
    session.expire_all()
    return session.execute(sa.select(Category.id, Category.name, Category.parent_id).order_by(Category.id)).all()


@pytest.fixture
def api(api_client):
    return api_client("core.category.read", "core.category.create", "core.category.edit")


def test_categories_create_list_rename_move(api, session):
    food = api.post(URL, json={"name": "Food"})
    assert food.status_code == 201, food.get_json()
    food = food.get_json()
    assert food["parent_id"] is None and food["path"] == "Food"
    dairy = api.post(URL, json={"name": " Dairy ", "parent_id": food["id"]}).get_json()
    assert dairy["name"] == "Dairy" and dairy["path"] == "Food / Dairy" and dairy["parent_id"] == food["id"]
    milk = api.post(URL, json={"name": "Milk", "parent_id": dairy["id"]}).get_json()
    assert milk["path"] == "Food / Dairy / Milk"
    drinks = api.post(URL, json={"name": "Drinks"}).get_json()

    page = api.get(URL + "?per_page=2").get_json()
    assert page["total"] == 4 and page["has_next"] is True and len(page["items"]) == 2
    assert [c["path"] for c in api.get(URL + "?q=mil").get_json()["items"]] == ["Food / Dairy / Milk"]
    assert [c["name"] for c in api.get(URL + f"?parent_id={food['id']}").get_json()["items"]] == ["Dairy"]
    assert [c["name"] for c in api.get(URL + "?top_level=true").get_json()["items"]] == ["Drinks", "Food"]
    assert api.get(URL + "?q=100%25").get_json()["total"] == 0  # % is a letter, not a wildcard

    # move Dairy under Drinks: its subcategory's path follows
    r = api.patch(f"{URL}/{dairy['id']}", json={"parent_id": drinks["id"]})
    assert r.status_code == 200 and r.get_json()["path"] == "Drinks / Dairy"
    assert api.get(f"{URL}/{milk['id']}").get_json()["path"] == "Drinks / Dairy / Milk"
    r = api.patch(f"{URL}/{milk['id']}", json={"name": "Fresh milk", "parent_id": None})
    assert r.get_json() == {"id": milk["id"], "name": "Fresh milk", "parent_id": None, "path": "Fresh milk"}
    session.expire_all()
    assert session.get(Category, milk["id"]).parent_id is None


@pytest.mark.parametrize("body", [
    {"name": ""},
    {"name": "   "},
    {"name": "a/b"},                     # '/' separates levels
    {"name": "nul\x00"},
    {"name": "x" * 129},
    {"name": 5},                         # wrong type
    {"name": ["Food"]},
    {"name": "Food", "parent_id": "one"},
    {"name": "Food", "parent_id": HUGE},  # beyond 32 bits
    {"name": "Food", "parent_id": 2**70},
    {"name": "Food", "parent_id": 0},
    {"name": "Food", "parent_id": 999999},  # no such parent
    {"name": "Food", "active": True},   # unknown field
    {},
])
def test_bad_categories_are_422_and_change_nothing(api, session, body):
    api.post(URL, json={"name": "Existing"})
    before = snapshot(session)
    problem(api.post(URL, json=body), 422)
    assert snapshot(session) == before


def test_cycles_duplicates_unknown_ids_and_permissions(api, api_client, session):
    food = api.post(URL, json={"name": "Food"}).get_json()
    dairy = api.post(URL, json={"name": "Dairy", "parent_id": food["id"]}).get_json()
    milk = api.post(URL, json={"name": "Milk", "parent_id": dairy["id"]}).get_json()
    before = snapshot(session)

    # under itself or one of its subcategories
    for parent in (food["id"], dairy["id"], milk["id"]):
        body = problem(api.patch(f"{URL}/{food['id']}", json={"parent_id": parent}), 422)
        assert "itself" in body["detail"]
    # the same name twice at one level; the same name at another level is fine
    assert "Dairy" in problem(api.post(URL, json={"name": "Dairy", "parent_id": food["id"]}), 409)["detail"]
    problem(api.patch(f"{URL}/{milk['id']}", json={"parent_id": food["id"], "name": "Dairy"}), 409)
    top = api.post(URL, json={"name": "Top"}).get_json()
    problem(api.patch(f"{URL}/{top['id']}", json={"name": "Food"}), 409)
    problem(api.patch(f"{URL}/{milk['id']}", json={"name": None}), 422)
    problem(api.patch(f"{URL}/{milk['id']}", json={"name": "bad\x00"}), 422)
    problem(api.patch(f"{URL}/{milk['id']}", json={"parent_id": HUGE}), 422)
    for url in (f"{URL}/{HUGE}", f"{URL}/{2**31}", f"{URL}/999999"):
        problem(api.get(url), 404)
        problem(api.patch(url, json={"name": "x"}), 404)
    problem(api.get(f"{URL}/abc"), 404)
    problem(api.get(f"{URL}?per_page={HUGE}"), 422)
    problem(api.get(f"{URL}?q=milk%00"), 422)
    problem(api.get(f"{URL}?parent_id=x"), 422)
    assert api.delete(f"{URL}/{milk['id']}").status_code in (404, 405)
    api.patch(f"{URL}/{top['id']}", json={"name": "Top"})  # unchanged: no duplicate with itself

    reader = api_client("core.category.read")
    assert problem(reader.post(URL, json={"name": "New"}), 403)["permission"] == "core.category.create"
    assert problem(reader.patch(f"{URL}/{milk['id']}", json={"name": "x"}), 403)["permission"] \
        == "core.category.edit"
    problem(api_client("core.product.read").get(URL), 403)
    after = snapshot(session)
    assert [row for row in after if row.id != top["id"]] == before


def test_admin_refuses_the_same_duplicate_with_a_message(client_as, session):
    client = client_as("core.category.read", "core.category.create")
    r = client.submit("/admin/category/new/", {"name": "Food"})
    assert r.status_code == 302
    before = snapshot(session)
    r = client.submit("/admin/category/new/", {"name": "Food"})
    assert r.status_code == 200 and "already a category" in r.get_data(as_text=True)
    assert snapshot(session) == before
