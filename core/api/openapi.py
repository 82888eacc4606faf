"""OpenAPI 3.1 document built from the routes' own pydantic schemas."""
from __future__ import annotations

import re

import pydantic

from core.api import API_PREFIX


def _schema_ref(model, components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _response_schema(response, components: dict) -> dict:
    if response is None:
        return {"type": "object"}
    if isinstance(response, type) and issubclass(response, pydantic.BaseModel):
        return _schema_ref(response, components)
    adapter = pydantic.TypeAdapter(response)
    schema = adapter.json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    return schema


def build_openapi(app, blueprints) -> dict:
    components: dict = {
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details",
            "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                           "detail": {"type": "string"}, "instance": {"type": "string"}},
            "required": ["type", "title", "status"],
        }
    }
    paths: dict = {}
    problem = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for bp in blueprints:
        prefix = API_PREFIX + (bp.url_prefix or "")
        for doc in bp.docs:
            path = re.sub(r"<(?:[a-z_]+:)?([a-zA-Z_]+)>", r"{\1}", prefix + doc.rule)
            params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                      for n in re.findall(r"{([a-zA-Z_]+)}", path)]
            if doc.query is not None:
                qschema = doc.query.model_json_schema()
                for name, prop in qschema.get("properties", {}).items():
                    params.append({"name": name, "in": "query", "required": name in qschema.get("required", []),
                                   "schema": prop, "description": prop.get("description", "")})
            for method in doc.methods:
                op = {
                    "operationId": doc.endpoint.replace(".", "_") + "_" + method.lower(),
                    "summary": doc.summary, "tags": doc.tags, "parameters": params,
                    "responses": {str(doc.status): {"description": "OK", "content": {"application/json": {
                        "schema": _response_schema(doc.response, components)}}},
                        "4XX": {"description": "Problem", **problem}},
                    "security": [{"bearer": []}],
                }
                if doc.permission:
                    op["x-permission"] = doc.permission
                if doc.body is not None:
                    op["requestBody"] = {"required": True, "content": {"application/json": {
                        "schema": _schema_ref(doc.body, components)}}}
                paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "o2o API", "version": "1"},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
