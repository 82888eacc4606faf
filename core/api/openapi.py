"""OpenAPI 3.1 document built from the routes' own pydantic schemas.

Every route declared with ``ApiBlueprint.endpoint`` is listed, with its path and query
parameters, request body, response schema, the problem responses it can give and the
permission it needs (``x-permission``). The schemas are the pydantic models that validate
requests, so the document cannot drift from the code.
"""
from __future__ import annotations

import re

import pydantic

from core.api import API_PREFIX

_CONVERTER = re.compile(r"<(?:([a-z_]+)(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
_PARAM_TYPES = {"int": {"type": "integer"}, "float": {"type": "number"}, "uuid": {"type": "string", "format": "uuid"}}

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string", "description": "URI identifying the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "what went wrong, for a person"},
        "instance": {"type": "string", "description": "the request path"},
        "errors": {"type": "array", "description": "field errors (422)", "items": {
            "type": "object", "properties": {"location": {"type": "string"}, "field": {"type": "string"},
                                             "message": {"type": "string"}}}},
    },
    "required": ["type", "title", "status"],
}

_STATUS_TEXT = {400: "Malformed request body", 401: "Missing, unknown, revoked or expired token",
                403: "The token's user lacks the permission", 404: "Not found",
                409: "Conflict with existing data", 422: "Invalid input (field errors)",
                500: "Unexpected error"}


def _collect(schema: dict, components: dict) -> dict:
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    return schema


def _schema_ref(model, components: dict, mode: str = "validation") -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
    components[model.__name__] = _collect(schema, components)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _response_schema(response, components: dict) -> dict:
    if response is None:
        return {"type": "object"}
    if isinstance(response, type) and issubclass(response, pydantic.BaseModel):
        return _schema_ref(response, components, mode="serialization")
    adapter = pydantic.TypeAdapter(response)
    return _collect(adapter.json_schema(ref_template="#/components/schemas/{model}", mode="serialization"),
                    components)


def openapi_path(rule: str) -> tuple[str, list[dict]]:
    """A Flask rule as an OpenAPI path, and its path parameters."""
    params = []
    for conv, name in _CONVERTER.findall(rule):
        params.append({"name": name, "in": "path", "required": True,
                       "schema": dict(_PARAM_TYPES.get(conv, {"type": "string"}))})
    return _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule), params


def _problem_responses(doc) -> dict:
    codes = [500]
    if doc.body is not None:
        codes += [400, 422, 409]
    if doc.query is not None:
        codes.append(422)
    if "{" in doc.rule or "<" in doc.rule:
        codes.append(404)
    if not doc.public:
        codes += [401, 403] if doc.permission else [401]
    ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {str(c): {"description": _STATUS_TEXT[c], "content": ref} for c in sorted(set(codes))}


def build_openapi(app, blueprints) -> dict:
    components: dict = {"Problem": PROBLEM_SCHEMA}
    paths: dict = {}
    for bp in blueprints:
        prefix = API_PREFIX + (bp.url_prefix or "")
        for doc in bp.docs:
            path, params = openapi_path(prefix + doc.rule)
            if doc.query is not None:
                qschema = _collect(doc.query.model_json_schema(ref_template="#/components/schemas/{model}"),
                                   components)
                for name, prop in qschema.get("properties", {}).items():
                    param = {"name": name, "in": "query", "required": name in qschema.get("required", []),
                             "schema": {k: v for k, v in prop.items() if k != "description"}}
                    if prop.get("description"):
                        param["description"] = prop["description"]
                    params.append(param)
            for method in doc.methods:
                op = {
                    "operationId": doc.endpoint.replace(".", "_") + "_" + method.lower(),
                    "summary": doc.summary or doc.endpoint, "tags": doc.tags, "parameters": params,
                    "responses": {str(doc.status): {"description": "OK", "content": {"application/json": {
                        "schema": _response_schema(doc.response, components)}}},
                        **_problem_responses(doc)},
                    "security": [] if doc.public else [{"bearer": []}],
                }
                if doc.permission:
                    op["x-permission"] = doc.permission
                    op["description"] = f"Needs the permission `{doc.permission}`."
                if doc.body is not None:
                    op["requestBody"] = {"required": True, "content": {"application/json": {
                        "schema": _schema_ref(doc.body, components)}}}
                paths.setdefault(path, {})[method.lower()] = op
    paths[API_PREFIX + "/openapi.json"] = {"get": {
        "operationId": "api_openapi_get", "summary": "This OpenAPI document", "tags": ["api"], "security": [],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}
    return {
        "openapi": "3.1.0",
        "info": {"title": "o2o API", "version": "1",
                 "description": "Errors are RFC 9457 problem documents (application/problem+json). "
                                "Authenticate with 'Authorization: Bearer <token>'."},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
