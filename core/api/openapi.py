"""OpenAPI 3.1 document built from the routes' own pydantic schemas.

Every route declared with ``ApiBlueprint.endpoint`` is listed, with its path and query
parameters, request body, response schema, the problem responses it can give and the
permission it needs (``x-permission``). The schemas are the pydantic models that validate
requests, so the document cannot drift from the code.
"""
from __future__ import annotations

import re
import sys

import pydantic
from pydantic.json_schema import DefsRef, GenerateJsonSchema

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

_STATUS_TEXT = {400: "Malformed request body (not JSON, or nested too deeply)",
                401: "Missing, unknown, revoked or expired token",
                403: "The token's user lacks the permission", 404: "Not found (the path's record, or one the "
                                                                   "request refers to)",
                409: "Conflict with existing data or the record's state", 413: "Request body too large",
                422: "Invalid input (field errors, an unknown query parameter, a refused value)",
                500: "Unexpected error"}


def component_prefix(module: str) -> str:
    """The addon a schema belongs to, from its module: ``addons.sales.api`` -> ``sales``,
    ``core.api.master`` -> ``core``, a third-party ``o2o_giftcards.api`` -> ``o2o_giftcards``."""
    parts = module.split(".")
    if parts[0] == "addons" and len(parts) > 1:
        return parts[1]
    return parts[0]


def _split_ref(dotted: str) -> tuple[str, str]:
    """``addons.sales.api.OrderIn`` -> (module, qualname): the longest imported module prefix."""
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        if ".".join(parts[:i]) in sys.modules:
            return ".".join(parts[:i]), ".".join(parts[i:])
    return parts[0], ".".join(parts[1:])


def component_name(core_ref: str, qualified: bool = False) -> str:
    """The component name of a pydantic core reference ("module.Qualname:id", generics as
    "A[B:1]:2"): the addon, a dot, the class name (``sales.OrderIn``); ``qualified``: the
    whole module path instead of the addon (``addons.sales.api.OrderIn``)."""
    out = []
    for piece in re.split(r"([\][,])", core_ref):
        if piece in ("[", "]", ","):
            out.append(piece)
            continue
        dotted = piece.rsplit(":", 1)[0]
        if "." not in dotted:
            out.append(dotted)
            continue
        module, qualname = _split_ref(dotted)
        qualname = ".".join(p for p in qualname.split(".") if p != "<locals>")
        out.append(f"{module if qualified else component_prefix(module)}.{qualname}")
    return re.sub(r"[^a-zA-Z0-9._-]", "_", "".join(out))


def component_names(core_refs) -> dict[str, str]:
    """A distinct component name for every core reference: ``addon.Class``; where two
    classes would share one, each gets its module path (``addons.finance.bank.LineIn``);
    classes alike even in that (made at run time) are numbered. Unique by construction."""
    refs = sorted(set(core_refs))
    names = {ref: component_name(ref) for ref in refs}
    for qualified in (True, None):
        groups: dict[str, list[str]] = {}
        for ref in refs:
            groups.setdefault(names[ref], []).append(ref)
        for name, same in groups.items():
            if len(same) == 1:
                continue
            for number, ref in enumerate(same, 1):
                names[ref] = component_name(ref, qualified=True) if qualified else f"{name}__{number}"
    return names


def _generator(on_ref):
    class AddonNamedSchema(GenerateJsonSchema):
        """Names every definition through ``on_ref(core_ref)``. A model whose validation and
        serialisation schemas differ gets ``-Input`` / ``-Output``, else the plain name."""

        def get_defs_ref(self, core_mode_ref):
            core_ref, mode = core_mode_ref
            name = on_ref(core_ref)
            moded = DefsRef(f"{name}-{'Input' if mode == 'validation' else 'Output'}")
            # pydantic picks the first choice that names one schema only: the plain name
            # when both modes agree, else the suffixed one (never another class's: the
            # names are distinct per class).
            self._prioritized_defsref_choices[moded] = [DefsRef(name), moded]
            return moded
    return AddonNamedSchema


_REF_TEMPLATE = "#/components/schemas/{model}"


class _Schemas:
    """Every schema of the document, generated together so that each class has one name
    over the whole document and each name one class."""

    def __init__(self):
        self.inputs: list = []

    def add(self, annotation, mode: str) -> int:
        self.inputs.append((len(self.inputs), mode, pydantic.TypeAdapter(annotation)))
        return len(self.inputs) - 1

    def _run(self, on_ref):
        return pydantic.TypeAdapter.json_schemas(self.inputs, ref_template=_REF_TEMPLATE,
                                                 schema_generator=_generator(on_ref))

    def generate(self) -> tuple[dict, dict]:
        if not self.inputs:
            return {}, {}
        seen: list[str] = []
        self._run(lambda ref: seen.append(ref) or component_name(ref, qualified=True) + "__" + ref.rsplit(":", 1)[-1])
        names = component_names(seen)
        schemas, defs = self._run(lambda ref: names.get(ref) or component_name(ref, qualified=True))
        return {key: value for (key, _mode), value in schemas.items()}, defs.get("$defs", {})


def openapi_path(rule: str) -> tuple[str, list[dict]]:
    """A Flask rule as an OpenAPI path, and its path parameters."""
    params = []
    for conv, name in _CONVERTER.findall(rule):
        params.append({"name": name, "in": "path", "required": True,
                       "schema": dict(_PARAM_TYPES.get(conv, {"type": "string"}))})
    return _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule), params


def _problem_responses(doc, method: str) -> dict:
    """The problems an operation can answer: whatever the shell maps a service's refusal to
    (core.errors: not found, conflict, invalid) wherever the request carries input."""
    codes = [500]
    has_input = doc.body is not None or doc.query is not None or "<" in doc.rule
    if doc.body is not None:
        codes += [400, 413]
    if has_input:
        codes += [404, 422]
    if method != "GET" and not doc.public:
        codes.append(409)
    if not doc.public:
        codes.append(401)
        if doc.permission or doc.auth is not None:
            codes.append(403)
    ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {str(c): {"description": _STATUS_TEXT[c], "content": ref} for c in sorted(set(codes))}


def _query_schema(prop: dict) -> dict:
    """A query parameter's schema: a parameter is sent or not, never JSON null, so
    ``X | None`` documents as ``X`` (with its default); a boolean is the text true/false."""
    schema = {k: v for k, v in prop.items() if k != "description"}
    alternatives = schema.get("anyOf")
    if alternatives and any(a.get("type") == "null" for a in alternatives):
        rest = [a for a in alternatives if a.get("type") != "null"]
        schema.pop("anyOf")
        if len(rest) == 1:
            schema.update(rest[0])
        elif rest:
            schema["anyOf"] = rest
        if schema.get("default", "") is None:
            schema.pop("default")
    return schema


def _security(doc) -> list[dict]:
    """Any one of the schemes lets the caller in: OpenAPI's list of alternatives."""
    if doc.public:
        return []
    schemes = doc.auth.schemes if doc.auth is not None else ("bearer",)
    return [{scheme: []} for scheme in schemes]


def _description(doc) -> str:
    if doc.public:
        return "Public: no token needed."
    who = "Needs a token (or the login cookie)" if doc.auth is not None and "session" in doc.auth.schemes \
        else "Needs a token"
    if doc.permission:
        return f"{who} whose user has the permission `{doc.permission}`."
    return f"{who}; any active user may call it."


def _file_schema(media_type: str) -> dict:
    if media_type in ("text/html", "text/csv"):
        return {"type": "string"}
    return {"type": "string", "format": "binary"}


def build_openapi(app, blueprints) -> dict:
    schemas = _Schemas()
    keys: dict = {}  # (id(doc), "body" | "query" | "response") -> key in the one generation
    for bp in blueprints:
        for doc in bp.docs:
            if doc.query is not None:
                keys[id(doc), "query"] = schemas.add(doc.query, "validation")
            if doc.body is not None:
                keys[id(doc), "body"] = schemas.add(doc.body, "validation")
            if doc.response is not None:
                keys[id(doc), "response"] = schemas.add(doc.response, "serialization")
    generated, definitions = schemas.generate()
    components: dict = {"Problem": PROBLEM_SCHEMA, **dict(sorted(definitions.items()))}

    paths: dict = {}
    for bp in blueprints:
        prefix = API_PREFIX + (bp.url_prefix or "")
        for doc in bp.docs:
            path, params = openapi_path(prefix + doc.rule)
            if doc.query is not None:
                qschema = generated[keys[id(doc), "query"]]
                if "$ref" in qschema:
                    qschema = components[qschema["$ref"].rsplit("/", 1)[1]]
                for name, prop in qschema.get("properties", {}).items():
                    param = {"name": name, "in": "query", "required": name in qschema.get("required", []),
                             "schema": _query_schema(prop)}
                    if prop.get("description"):
                        param["description"] = prop["description"]
                    params.append(param)
            if doc.media_type != "application/json":
                answer = _file_schema(doc.media_type)
            elif doc.response is None:
                answer = {"type": "object"}
            else:
                answer = generated[keys[id(doc), "response"]]
            for method in doc.methods:
                op = {
                    "operationId": doc.endpoint.replace(".", "_") + "_" + method.lower(),
                    "summary": doc.summary or doc.endpoint, "tags": doc.tags, "parameters": params,
                    "description": _description(doc),
                    "responses": {str(doc.status): {"description": "OK", "content": {doc.media_type: {
                        "schema": answer}}}, **_problem_responses(doc, method)},
                    "security": _security(doc),
                }
                if doc.permission:
                    op["x-permission"] = doc.permission
                if doc.body is not None:
                    op["requestBody"] = {"required": True, "content": {"application/json": {
                        "schema": generated[keys[id(doc), "body"]]}}}
                paths.setdefault(path, {})[method.lower()] = op
    paths[API_PREFIX + "/openapi.json"] = {"get": {
        "operationId": "api_openapi_get", "summary": "This OpenAPI document", "tags": ["api"], "security": [],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}
    return {
        "openapi": "3.1.0",
        "info": {"title": "o2o API", "version": "1",
                 "description": "Errors are RFC 9457 problem documents (application/problem+json). "
                                "Authenticate with 'Authorization: Bearer <token>'. Each operation names "
                                "the permission it needs in `x-permission`. Schemas are named by the "
                                "addon that defines them (`sales.OrderIn`). An unknown query "
                                "parameter is refused (422), except `_` (a cache buster)."},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "a personal API token: `o2o user token USER` or 'My account'"},
            "session": {"type": "apiKey", "in": "cookie", "name": app.config.get("SESSION_COOKIE_NAME", "session"),
                        "description": "the back office's login cookie (the web till); a request that "
                                       "changes something, or prints, also sends the page's CSRF token in "
                                       "the X-CSRFToken header"},
        }},
    }
