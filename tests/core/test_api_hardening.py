"""No input gets a 5xx (issue 11): the API shell's guards, each with the crash it prevents.

- every number a body or query carries is bounded by its column (documented in OpenAPI,
  refused with 422): ids beyond 32 bits, ints for Integer columns, decimals beyond a
  column's precision ("integer out of range", "numeric field overflow" on PostgreSQL);
- deeply nested JSON is a 400 (Python's parser raises RecursionError), a NUL byte a 422;
- an unknown query parameter is a 422 (schemathesis: "accepted negative data"), a query
  boolean is exactly true or false;
- a body over MAX_CONTENT_LENGTH is a 413 problem document.
"""
from __future__ import annotations

import json
import re

import pytest

from core.api import INT32_MAX, MAX_JSON_DEPTH, MAX_ROW_ID

ID_NAME = re.compile(r"^(id|.*_id|.*_ids)$")


def _openapi(app) -> dict:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _resolve(schema: dict, doc: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _unbounded(schema: dict, doc: dict, where: str, name: str, out: list, seen: set) -> None:
    """Every number in ``schema`` (an input's) that its column could not hold."""
    schema = _resolve(schema, doc) if "$ref" in schema else schema
    for alt in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        _unbounded(alt, doc, where, name, out, seen)
    kind = schema.get("type")
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is None or high is None or low < -INT32_MAX - 1 or high > INT32_MAX:
            out.append(f"{where}: {name} is an integer without 32-bit bounds ({low}..{high})")
        elif ID_NAME.match(name) and (low < 1 or high != MAX_ROW_ID):
            out.append(f"{where}: {name} is an id without RowId's bounds ({low}..{high})")
    elif kind == "number":
        if schema.get("minimum", schema.get("exclusiveMinimum")) is None or schema.get("maximum") is None:
            out.append(f"{where}: {name} is a number (a decimal) without its column's bounds")
    elif kind == "string" and name.endswith("_ids"):
        pass
    if kind == "object" or "properties" in schema:
        key = id(schema)
        if key in seen:
            return
        seen.add(key)
        for prop, sub in schema.get("properties", {}).items():
            _unbounded(sub, doc, where, prop, out, seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            _unbounded(extra, doc, where, f"{name}[*]", out, seen)
        names = schema.get("propertyNames")
        if isinstance(names, dict) and names.get("pattern") is None and names.get("type") == "integer":
            out.append(f"{where}: {name} has unbounded integer keys")
    if kind == "array" or "items" in schema:
        _unbounded(schema.get("items", {}), doc, where, name, out, seen)


def test_every_number_an_input_carries_is_bounded_by_its_column(app):
    """So a new route cannot bring back PostgreSQL's 'integer out of range' / 'numeric field
    overflow': every integer a body or query documents has 32-bit bounds (ids: 1..2**31-1,
    RowId), every decimal its column's (core.api.decimal_of); the OpenAPI document is
    generated from the very schemas that validate, so documented means validated."""
    doc = _openapi(app)
    problems: list[str] = []
    inputs = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                if param["in"] == "query":
                    inputs += 1
                    _unbounded(param["schema"], doc, where, param["name"], problems, set())
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is not None:
                inputs += 1
                _unbounded(body, doc, where, "body", problems, set())
    assert inputs > 100
    assert not problems, "\n".join(problems)


# --- permission before input ------------------------------------------------------------------

def _bad_inputs(doc, app):
    """(method, url, JSON text) of every route with a permission: its path ids 1, a body
    that is invalid in every way at once, an unknown query parameter."""
    for bp in app.extensions["o2o.api"]:
        for route in bp.docs:
            if not route.permission:
                continue
            url = "/api/v1" + (bp.url_prefix or "") + re.sub(r"<(?:int:)?(\w+)>", "1", route.rule)
            if route.query is not None:
                url += "?no_such_parameter=1&page=x"
            for method in route.methods:
                body = '{"lines": "x", "register_id": "x", "x": [[[[' + "[" * 100 + "]" * 104 + "}" \
                    if route.body is not None else None
                yield route, method, url, body


def test_permission_is_checked_before_the_input_is_read(app, api_client):
    """A user without the route's permission gets 403, never a 400/422 about a body or query
    they may not send at all (issue 11: till routes answered 422 first); no token: 401."""
    doc = _openapi(app)
    nobody = api_client("core.product.read")  # a real user, lacking every route's permission
    client = app.test_client()
    checked = 0
    for route, method, url, body in _bad_inputs(doc, app):
        if route.permission == "core.product.read":
            continue
        response = getattr(nobody, method.lower())(url, data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 403, (method, url, response.status_code, response.get_json())
        assert response.get_json()["permission"] == route.permission
        response = client.open(url, method=method, data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 401, (method, url, response.status_code)
        checked += 1
    assert checked > 150


def test_web_till_user_without_the_permission_gets_403_before_422(app, client_as):
    """The web till (login cookie and the page's CSRF token), a cashier who may sell but not
    refund, open sessions or resolve refused sales: 403 whatever the body."""
    cashier = client_as("pos.sell")
    token = cashier.get("/pos/csrf").get_json()["csrf_token"]
    headers = {"X-CSRFToken": token, "Content-Type": "application/json"}
    for url, permission in (("/api/v1/pos/sales/1/refund", "pos.refund"),
                            ("/api/v1/pos/registers/1/sessions", "pos.session"),
                            ("/api/v1/pos/sessions/1/cash", "pos.session"),
                            ("/api/v1/pos/sessions/1/close", "pos.session"),
                            ("/api/v1/pos/attention/1/void", "pos.attention.void")):
        for body in ('{"amount": "1e30", "kind": 5}', "[" * 10_000 + "]" * 10_000, "not json"):
            response = cashier.post(url, data=body, headers=headers)
            assert response.status_code == 403, (url, body[:20], response.status_code, response.get_json())
            assert response.get_json()["permission"] == permission
    # and with the permission, the same body is the input's fault
    response = cashier.post("/api/v1/pos/sales", data='{"register_id": 1, "lines": [{"quantity": "1e30"}]}',
                            headers=headers)
    assert response.status_code == 422


# --- each crash class of issue 11, as one regression each ---------------------------------

@pytest.fixture
def superuser(api_client):
    return api_client(superuser=True)


def _post(client, url, text):
    return client.post(url, data=text, headers={"Content-Type": "application/json"})


def test_deeply_nested_json_is_a_400_problem_not_a_recursion_error(superuser):
    for depth in (MAX_JSON_DEPTH + 1, 900, 100_000):  # parsable by Python, and far beyond
        text = '{"name": ' + "[" * depth + "]" * depth + "}"
        response = _post(superuser, "/api/v1/categories", text)
        assert response.status_code == 400, depth
        assert response.mimetype == "application/problem+json"
        assert "nests too deeply" in response.get_json()["detail"]
    ok = '{"name": "Deep enough", "parent_id": null}'
    assert _post(superuser, "/api/v1/categories", ok).status_code == 201


def test_nul_bytes_anywhere_are_a_422(superuser, session):
    from core.models import Partner
    before = session.query(Partner).count()
    for text in ('{"name": "a\\u0000b"}', '{"name": "ab", "\\u0000": 1}', '{"name": "ab", "street": ["\\u0000"]}'):
        response = _post(superuser, "/api/v1/partners", text)
        assert response.status_code == 422, text
        assert "NUL" in response.get_json()["detail"]
    assert superuser.get("/api/v1/partners?q=a%00b").status_code == 422
    assert superuser.get("/api/v1/partners?%00=1").status_code == 422
    assert superuser.get("/api/v1/products/barcode/12%0034").status_code == 422
    assert session.query(Partner).count() == before


@pytest.mark.parametrize("url, body, field", [
    # ids beyond 32 bits in bodies: 'integer out of range' on PostgreSQL
    ("/api/v1/pos/registers", {"store_id": 2**31, "code": "T9"}, "store_id"),
    ("/api/v1/stock/reservations", {"product_id": 1, "store_id": 2**63, "quantity": "1", "source": "x"},
     "store_id"),
    ("/api/v1/finance/matches", {"statement_line_ids": [1, 2**31]}, "statement_line_ids.1"),
    ("/api/v1/purchasing/replenishment/runs", {"warehouse_ids": [2**40]}, "warehouse_ids.0"),
    ("/api/v1/purchasing/orders/1/bill", {"prices": {str(2**31): "1"}}, f"prices.{2**31}.[key]"),
    # other integers for Integer columns
    ("/api/v1/purchasing/terms", {"supplier_id": 1, "product_id": 1, "unit_price": "1", "lead_time_days": 2**31},
     "lead_time_days"),
    ("/api/v1/stock/reservations", {"product_id": 1, "store_id": 1, "quantity": "1", "source": "x",
                                    "expires_in_minutes": "30"}, "expires_in_minutes"),
    # decimals beyond their column: 'numeric field overflow' on PostgreSQL
    ("/api/v1/products", {"sku": "X1", "name": "x", "unit": "pc", "list_price": "1e30"}, "list_price"),
    ("/api/v1/pos/registers/1/check", {"lines": [{"product_id": 1, "quantity": 10**40}]}, "lines.0.quantity"),
    ("/api/v1/sales/orders", {"channel": "web", "store_id": 1, "lines": [{"product_id": 1, "quantity": "1",
                                                                          "discount": "100.5"}]},
     "lines.0.discount"),
    ("/api/v1/finance/entries", {"journal": "MISC", "date": "2026-01-01",
                                 "lines": [{"account": "1000", "debit": "1234567890123.45"},
                                           {"account": "1010", "credit": "1"}]}, "lines.0.debit"),
    # wrong types and nulls the issue named
    ("/api/v1/purchasing/replenishment/runs", {"warehouse_ids": ["1"]}, "warehouse_ids.0"),
    ("/api/v1/purchasing/terms", {"supplier_id": 1, "product_id": 1, "unit_price": "1", "breaks": [None]},
     "breaks.0"),
    ("/api/v1/stock/counts", {"warehouse_id": 1, "location_id": "1"}, "location_id"),
    ("/api/v1/stock/reservations", {"product_id": 1, "store_id": 1, "quantity": "1", "source": None}, "source"),
    ("/api/v1/pos/sales", {"register_id": True, "lines": [{"code": "1"}],
                           "payments": [{"method": "cash", "amount": "1"}]}, "register_id"),
    ("/api/v1/sales/orders", {"channel": "web", "store_id": 1, "lines": [{"product_id": 1, "quantity": " 1"}]},
     "lines.0.quantity"),
])
def test_numbers_beyond_their_column_and_wrong_types_are_a_422_naming_the_field(superuser, url, body, field):
    response = superuser.post(url, json=body) if "terms" not in url else superuser.put(url, json=body)
    assert response.status_code == 422, (response.status_code, response.get_json())
    problem = response.get_json()
    assert field in [e["field"] for e in problem["errors"]], problem


def test_unknown_query_parameters_and_loose_booleans_are_refused(superuser):
    assert superuser.get("/api/v1/products?per_page=1").status_code == 200
    assert superuser.get("/api/v1/products?per_page=1&_=1733300000").status_code == 200  # a cache buster
    for query in ("=false", "actve=true", "active=False", "active=1", "active=yes", "category_id=1.5",
                  f"category_id={2**31}"):
        response = superuser.get(f"/api/v1/products?{query}")
        assert response.status_code == 422, query
        assert response.mimetype == "application/problem+json"
    assert superuser.get("/api/v1/products?active=false").status_code == 200
    assert superuser.get("/api/v1/products?active=true&category_id=1").status_code == 200


def test_the_web_till_may_send_its_csrf_token_in_the_query(app, client_as):
    cashier = client_as("pos.sell", "pos.session")
    token = cashier.get("/pos/csrf").get_json()["csrf_token"]
    response = cashier.get(f"/api/v1/pos/registers/1/attention?state=open&csrf_token={token}")
    assert response.status_code in (200, 404)  # not 422: a parameter the till sends


def test_a_body_over_max_content_length_is_a_413_problem(make_app, api_client):
    app = make_app(MAX_CONTENT_LENGTH=1000)
    client = api_client(superuser=True)
    client.client = app.test_client()
    response = client.post("/api/v1/partners", data=json.dumps({"name": "x" * 5000}),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 413
