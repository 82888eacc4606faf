"""The OpenAPI document tells the truth: every route's documented request, query and response
schemas are the pydantic models the route really uses, schema names never collide across
addons, and every route documents the authentication and permission it really enforces."""
from __future__ import annotations

import re
import typing

import pydantic
import pytest

from core.api import ApiBlueprint
from core.api.openapi import build_openapi, component_names

PARAM = re.compile(r"<(?:([a-z_]+)(?:\([^)]*\))?:)?([a-zA-Z_]\w*)>")


@pytest.fixture
def app(make_app):
    return make_app()  # every built-in addon: their names are the ones that collided


def _inline(schema, defs: dict, prefix: str, seen=()):
    """``schema`` with every ``$ref`` (``prefix`` + name) replaced by its definition."""
    if isinstance(schema, list):
        return [_inline(s, defs, prefix, seen) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    if "$ref" in schema:
        name = schema["$ref"][len(prefix):]
        assert schema["$ref"].startswith(prefix) and name in defs, f"dangling $ref {schema['$ref']}"
        if name in seen:  # a recursive schema: compare the reference, not an endless tree
            return {"$recursive": name}
        out.update(_inline(defs[name], defs, prefix, seen + (name,)))
    for key, value in schema.items():
        if key in ("$ref", "$defs"):
            continue
        out[key] = _inline(value, defs, prefix, seen)
    return out


def _own_schema(annotation, mode: str) -> dict:
    schema = pydantic.TypeAdapter(annotation).json_schema(mode=mode)
    return _inline(schema, schema.get("$defs", {}), "#/$defs/")


def _documented(schema: dict, doc: dict) -> dict:
    return _inline(schema, doc["components"]["schemas"], "#/components/schemas/")


def _routes(app):
    """(route doc, OpenAPI path) of every declared route."""
    for bp in app.extensions["o2o.api"]:
        for route in bp.docs:
            path = PARAM.sub(lambda m: "{" + m.group(2) + "}", "/api/v1" + (bp.url_prefix or "") + route.rule)
            yield route, path


def _openapi(app) -> dict:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _models(annotation, found: dict) -> None:
    """Every pydantic model reachable from ``annotation`` (fields, lists, unions)."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        if annotation in found.values():
            return
        found.setdefault(f"{annotation.__module__}.{annotation.__qualname__}:{id(annotation)}", annotation)
        for field in annotation.model_fields.values():
            _models(field.annotation, found)
        return
    for arg in typing.get_args(annotation):
        _models(arg, found)


# --- schemas ----------------------------------------------------------------------------

def test_every_documented_schema_is_the_one_the_route_uses(app):
    doc = _openapi(app)
    checked = 0
    for route, path in _routes(app):
        for method in route.methods:
            op = doc["paths"][path][method.lower()]
            where = f"{method} {path}"
            if route.body is not None:
                documented = op["requestBody"]["content"]["application/json"]["schema"]
                assert _documented(documented, doc) == _own_schema(route.body, "validation"), where
                checked += 1
            else:
                assert "requestBody" not in op, where
            ok = op["responses"][str(route.status)]["content"]
            assert list(ok) == [route.media_type], where
            if route.response is not None:
                documented = ok[route.media_type]["schema"]
                assert _documented(documented, doc) == _own_schema(route.response, "serialization"), where
                checked += 1
            if route.query is not None:
                own = _own_schema(route.query, "validation")
                params = {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
                assert set(params) == set(own["properties"]), where
                for name, prop in own["properties"].items():
                    expected = {k: v for k, v in prop.items() if k != "description"}
                    if any(alt.get("type") == "null" for alt in expected.get("anyOf", [])):
                        # a query parameter is sent or not, never null: X | None documents as X
                        rest = [alt for alt in expected.pop("anyOf") if alt.get("type") != "null"]
                        expected.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
                        if expected.get("default", "") is None:
                            del expected["default"]
                    assert _documented(params[name]["schema"], doc) == expected, f"{where} ?{name}"
                    assert params[name]["required"] == (name in own.get("required", [])), f"{where} ?{name}"
    assert checked > 50


def test_same_named_schemas_of_two_addons_are_two_components(app):
    doc = _openapi(app)
    schemas = doc["components"]["schemas"]
    sales = doc["paths"]["/api/v1/sales/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    purchasing = doc["paths"]["/api/v1/purchasing/orders"]["post"]["requestBody"]["content"]["application/json"]
    assert sales["$ref"] == "#/components/schemas/sales.OrderIn"
    assert purchasing["schema"]["$ref"] == "#/components/schemas/purchasing.OrderIn"
    assert schemas["sales.OrderIn"] != schemas["purchasing.OrderIn"]
    # the line models of transfers, manual entries and till sales are each their own
    assert {"warehouse.LineIn", "finance.LineIn", "pos.LineIn", "sales.LineIn"} <= set(schemas)
    for name in schemas:
        assert name == "Problem" or re.fullmatch(r"[a-z_0-9]+\.[A-Za-z0-9_.]+(-Input|-Output)?", name), name


def test_no_two_models_share_a_component_name(app):
    found: dict = {}
    for route, _path in _routes(app):
        for annotation in (route.body, route.query, route.response):
            if annotation is not None:
                _models(annotation, found)
    names = component_names(found)
    assert len(set(names.values())) == len(found) > 50
    documented = {n.removesuffix("-Input").removesuffix("-Output") for n in _openapi(app)["components"]["schemas"]}
    assert documented - {"Problem"} == set(names.values())


def _twin_routes(*models):
    bp = ApiBlueprint("twins", __name__)
    for number, model in enumerate(models):
        def view(body):
            return {}
        view.__name__ = f"twin{number}"
        bp.endpoint(f"/t{number}", methods=["POST"], permission="x.y", body=model)(view)
    return bp


def test_same_named_classes_of_one_addon_get_their_module_path(app):
    """Unique by construction: a second ``LineIn`` in another module of the same addon is
    named by its module path; two classes alike even in that are numbered."""
    import sys
    import types
    for name in ("addons.sales.bank_api", "addons.sales.web_api"):
        sys.modules.setdefault(name, types.ModuleType(name))
    first = pydantic.create_model("Twin", __module__="addons.sales.bank_api", a=(int, ...))
    second = pydantic.create_model("Twin", __module__="addons.sales.web_api", b=(str, ...))
    third = pydantic.create_model("Twin", __module__="addons.sales.web_api", c=(bool, ...))
    alone = pydantic.create_model("Single", __module__="addons.sales.web_api", d=(int, ...))
    doc = build_openapi(app, [_twin_routes(first, second, third, alone)])
    names = set(doc["components"]["schemas"]) - {"Problem"}
    assert names == {"addons.sales.bank_api.Twin", "addons.sales.web_api.Twin__1", "addons.sales.web_api.Twin__2",
                     "sales.Single"}
    bodies = [doc["paths"][f"/api/v1/t{n}"]["post"]["requestBody"]["content"]["application/json"]["schema"]
              for n in range(4)]
    resolved = [_documented(b, doc) for b in bodies]
    assert [set(r["properties"]) for r in resolved] == [{"a"}, {"b"}, {"c"}, {"d"}]


def test_input_and_output_of_one_model_are_named_apart_only_when_they_differ(app):
    from decimal import Decimal

    class Amount(pydantic.BaseModel):  # a Decimal reads a number or string, writes a string
        value: Decimal

    class Same(pydantic.BaseModel):
        name: str

    bp = ApiBlueprint("modes", __name__)

    @bp.endpoint("/amount", methods=["POST"], permission="x.y", body=Amount, response=Amount)
    def amount(body):
        return body

    @bp.endpoint("/same", methods=["POST"], permission="x.y", body=Same, response=Same)
    def same(body):
        return body

    schemas = build_openapi(app, [bp])["components"]["schemas"]
    names = {n.rsplit(".", 1)[1] for n in schemas if n != "Problem"}  # not an addon: named by module
    assert names == {"Amount-Input", "Amount-Output", "Same"}


# --- authentication and permissions -------------------------------------------------------

def test_every_route_documents_its_real_security(app):
    doc = _openapi(app)
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "session"}
    for route, path in _routes(app):
        for method in route.methods:
            op = doc["paths"][path][method.lower()]
            where = f"{method} {path}"
            if route.public:
                assert op["security"] == [] and not {"401", "403"} & set(op["responses"]), where
                continue
            assert op["security"] and {"bearer": []} in op["security"], where
            assert "401" in op["responses"], where
            if route.permission:
                assert "403" in op["responses"] and op["x-permission"] == route.permission, where
                assert route.permission in op["description"], where
            else:  # any user with a token: there is no permission to lack
                assert "403" not in op["responses"] and "x-permission" not in op, where
    till = doc["paths"]["/api/v1/pos/sales"]["post"]
    assert till["x-permission"] == "pos.sell" and {"session": []} in till["security"]
    assert {"401", "403"} <= set(till["responses"])
    pdf = doc["paths"]["/api/v1/pos/sales/{sale_id}/receipt.pdf"]["get"]["responses"]["200"]["content"]
    assert list(pdf) == ["application/pdf"]


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _token_client(app, permissions):
    """An API client whose user has exactly ``permissions`` (no password: hashing one per
    permission would make this test slow)."""
    from core.auth.models import ApiToken, Role, RolePermission, User
    from core.db import db
    from core.testing import ApiClient
    name = f"perm{len(db.session.new) + db.session.query(User).count()}"
    user = User(username=name, roles=[Role(code=name, name=name,
                                           permissions=[RolePermission(code=c) for c in permissions])])
    row, clear = ApiToken.issue(user, "test")
    db.session.add_all([user, row])
    db.session.commit()
    return ApiClient(app.test_client(), clear, user)


def test_every_route_behaves_as_documented(app):
    """Without a token: 401. With a token whose user has every permission but the route's: 403.
    With only the route's permission: neither (and never a 5xx)."""
    from core.auth import permissions
    every = set(permissions(app))
    client = app.test_client()
    calls = 0
    lacking_by, allowed_by = {}, {}  # one user per permission, not per route
    for route, path in _routes(app):
        url = _url(path)
        for method in route.methods:
            where = f"{method} {path}"
            kwargs = {"json": {}} if method != "GET" else {}
            anonymous = getattr(client, method.lower())(url, **kwargs)
            if route.public:
                assert anonymous.status_code not in (401, 403), where
                continue
            assert anonymous.status_code == 401, f"{where}: {anonymous.status_code}"
            assert anonymous.mimetype == "application/problem+json", where
            if route.permission:
                if route.permission not in lacking_by:
                    lacking_by[route.permission] = _token_client(app, every - {route.permission})
                lacking = lacking_by[route.permission]
                refused = getattr(lacking, method.lower())(url, **kwargs)
                assert refused.status_code == 403, f"{where}: {refused.status_code}"
                assert refused.get_json()["permission"] == route.permission, where
            if route.permission not in allowed_by:
                allowed_by[route.permission] = _token_client(app, [route.permission] if route.permission else [])
            allowed = allowed_by[route.permission]
            answer = getattr(allowed, method.lower())(url, **kwargs)
            assert answer.status_code not in (401, 403) and answer.status_code < 500, \
                f"{where}: {answer.status_code} {answer.get_data(as_text=True)[:300]}"
            calls += 1
    assert calls > 50
