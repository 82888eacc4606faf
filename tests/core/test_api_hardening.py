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
