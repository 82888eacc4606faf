"""The JSON API shell at /api/v1.

Routes are declared with ``ApiBlueprint.endpoint(...)``: one place that authenticates the
token, checks the permission, validates the body and query against pydantic schemas, owns
the transaction (commit on success, rollback on any error), answers every error as an RFC
9457 problem document and records the route for /api/v1/openapi.json, so the document is
generated from the same schemas that validate requests.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import types
import typing
from dataclasses import dataclass, field
from decimal import Decimal
from functools import wraps
from typing import Annotated, Any, Callable

import pydantic
import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from core.auth import csrf, login_manager, user_can
from core.auth.models import ApiToken, hash_token
from core.db import Money, Quantity, UnitPrice, db, has_nul, take_write_lock, utcnow, write_lock_held
from core.errors import O2OError
from core.i18n import _
from core.timeutil import iso

API_PREFIX = "/api/v1"
PROBLEM_TYPE_BASE = "https://o2o.invalid/problems/"
INT32_MAX = 2**31 - 1  # sa.Integer is 32-bit on PostgreSQL (SQLite would take more, PostgreSQL crashes)
MAX_ROW_ID = INT32_MAX  # id columns are 32-bit integers on every database
MAX_JSON_DEPTH = 32  # no body of this API nests deeper than a handful of levels
# query parameters every route ignores: a cache buster ("_", as jQuery sends it)
IGNORED_QUERY_PARAMS = frozenset({"_"})


# --- input types shared by every schema ------------------------------------------------
# Every number a request carries is bounded by the column it ends in, so it is refused with
# a 422 naming the field (and documented in OpenAPI), never a database overflow (a 500 on
# PostgreSQL: "integer out of range", "numeric field overflow"). tests/core/test_api_hardening
# walks every registered schema and fails on an id, int or Decimal field without its bound.
# Integers are strict in bodies (JSON 5, not "5" nor 5.5 nor true, as documented); query
# strings are parsed from their text.

RowId = Annotated[int, pydantic.Field(strict=True, ge=1, le=MAX_ROW_ID)]
"""A row's id in a body or query (id columns are 32-bit)."""
RowIds = list[RowId]
RowIdKey = Annotated[int, pydantic.Field(ge=1, le=MAX_ROW_ID)]
"""An id as a JSON object's key (a string holding the number)."""
Int32 = Annotated[int, pydantic.Field(strict=True, ge=-INT32_MAX - 1, le=INT32_MAX)]
"""Any other integer that ends in an Integer column."""
Count32 = Annotated[int, pydantic.Field(strict=True, ge=0, le=INT32_MAX)]
"""A count, minutes, days...: non-negative, 32-bit."""

_DECIMAL_TEXT = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_DECIMAL_RE = re.compile(_DECIMAL_TEXT)


def _decimal_text(value):
    """A decimal sent as text must look like one: not ' 1', '1_000', 'NaN' (what
    Python's Decimal would also take), so the documented pattern is the whole truth."""
    if isinstance(value, bool):
        raise ValueError(_('a decimal is a number or a string like "12.50", not true or false'))
    if isinstance(value, str) and not _DECIMAL_RE.match(value):
        raise ValueError(_('a decimal is a number or a string like "12.50"'))
    return value


def decimal_type(precision: int, scale: int, *, ge=None, le=None, gt=None):
    """A Decimal input that fits ``Numeric(precision, scale)``: at most ``precision -
    scale`` digits before the point and ``scale`` after (more is refused, not rounded),
    sent as a JSON number or string, and so documented."""
    limit = Decimal(10) ** (precision - scale) - Decimal(1).scaleb(-scale)
    low = Decimal(ge) if ge is not None else Decimal(gt) if gt is not None else -limit
    high = min(Decimal(le), limit) if le is not None else limit
    number: dict = {"type": "number", "maximum": float(high)}  # float ok: a JSON Schema bound in the OpenAPI document, never money arithmetic
    number["exclusiveMinimum" if gt is not None else "minimum"] = float(low)  # float ok
    schema = {"anyOf": [number, {"type": "string", "pattern": _DECIMAL_TEXT}],
              "description": f"a decimal (number or string) with at most {precision - scale} digits before "
                             f"the point and {scale} after, from {low} to {high}"}
    return Annotated[Decimal, pydantic.BeforeValidator(_decimal_text),
                     pydantic.Field(max_digits=precision, decimal_places=scale, ge=ge, le=le, gt=gt,
                                    allow_inf_nan=False),
                     pydantic.WithJsonSchema(schema, mode="validation")]


def decimal_of(column_type, **bounds):
    """``decimal_type`` of one of core's column types (``Money``, ``UnitPrice``, ``Quantity``)."""
    return decimal_type(column_type.precision, column_type.scale, **bounds)


MoneyIn = decimal_of(Money)
UnitPriceIn = decimal_of(UnitPrice)
QuantityIn = decimal_of(Quantity)
PercentIn = decimal_type(7, 4, ge=0, le=100)
"""A percentage (a discount, a tax rate): Numeric(7, 4), 0 to 100."""


class ApiProblem(Exception):
    def __init__(self, status: int, title: str, detail: str | None = None, type_: str = "about:blank", **extra):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.type, self.extra = status, title, detail, type_, extra


def problem_response(status: int, title: str, detail: str | None = None, type_: str = "about:blank", **extra):
    body = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    body.update({k: _json_default(v) for k, v in extra.items()})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="o2o"'
    return response


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):  # UTC with its offset, also SQLite's naive values
        return iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclass
class RouteDoc:
    rule: str
    methods: list[str]
    endpoint: str
    summary: str
    permission: str | None
    body: type[pydantic.BaseModel] | None
    query: type[pydantic.BaseModel] | None
    response: Any
    status: int
    tags: list[str] = field(default_factory=list)
    public: bool = False
    auth: "ApiAuth | None" = None
    media_type: str = "application/json"


@dataclass(frozen=True)
class ApiAuth:
    """How a route finds its user, when not by the Bearer token alone.

    ``authenticate(permission)`` returns the user or raises an ``ApiProblem`` 401 (no or bad
    credentials) or 403 (lacking ``permission``); it runs before the body is read, as token
    authentication does. ``schemes`` names the OpenAPI security schemes it accepts (any one
    of them): "bearer" and "session" (the back office's login cookie) are declared by core."""
    schemes: tuple[str, ...]
    authenticate: Callable[[str | None], Any]


def authenticate_token():
    """The user behind the Bearer token, or an ApiProblem 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(401, "Authentication required",
                         "Send an API token in the header 'Authorization: Bearer <token>'.")
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip())))
    now = utcnow()
    if row is None or row.revoked:
        raise ApiProblem(401, "Invalid token", "The API token is unknown or has been revoked.")
    expires = row.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.timezone.utc)
    if expires is not None and expires <= now:
        raise ApiProblem(401, "Expired token", "The API token has expired; create a new one.")
    if not row.user.active:
        raise ApiProblem(401, "Inactive user", "The user of this API token is deactivated.")
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=dt.timezone.utc)
    if last is None or now - last > dt.timedelta(minutes=1):
        _lock_for_token_write()
        row.last_used_at = now  # at most once a minute: no write per request
    g.api_token = row  # what the caller holds: a token it mints may not outlive it (core.api.tokens)
    return row.user


def _lock_for_token_write() -> None:
    """SQLite, a read request that records its token's use: its write fails at once
    ('database is locked', a 500) when another connection committed since the token was
    read (a stale read snapshot cannot take the write lock, whatever the busy timeout).
    Take the lock now; if the snapshot is stale, this transaction has not written anything
    (one that has holds the lock), so end its reads and wait for the lock instead.
    PostgreSQL, or the lock already held (a change request): nothing."""
    if write_lock_held():
        return
    try:
        take_write_lock()
    except sa.exc.OperationalError:
        db.session.rollback()
        take_write_lock()


def _validation_problem(exc: pydantic.ValidationError, where: str):
    errors = [{"location": where, "field": ".".join(str(p) for p in e["loc"]) or where, "message": e["msg"]}
              for e in exc.errors(include_url=False)]
    return ApiProblem(422, "Invalid input", "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                      PROBLEM_TYPE_BASE + "validation", errors=errors)


def json_depth(value) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (a scalar: 0), iteratively."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest  # enough to refuse it: no need to walk the rest
        todo.extend((child, depth + 1) for child in children)
    return deepest


def _too_deep() -> str:
    return _("The JSON body nests too deeply (at most %(depth)s levels).", depth=MAX_JSON_DEPTH)


def _malformed(detail: str) -> ApiProblem:
    return ApiProblem(400, "Malformed body", detail, PROBLEM_TYPE_BASE + "malformed-body")


def read_json_body():
    """The request's JSON body, parsed: a 400 problem when it is not JSON, not sent as
    application/json, or nested deeper than ``MAX_JSON_DEPTH`` (Python's parser would
    raise RecursionError on a very deep one); a 422 when a string holds a NUL. A body
    beyond MAX_CONTENT_LENGTH raises werkzeug's 413, answered as a problem too."""
    if not request.is_json:
        raise _malformed(_("The request body must be a JSON object sent with 'Content-Type: application/json'."))
    raw = request.get_data(cache=True)
    try:
        payload = json.loads(raw)
    except RecursionError:
        raise _malformed(_too_deep()) from None
    except ValueError:  # also a UnicodeDecodeError: bytes that are no UTF-8/16/32 text
        raise _malformed(_("The request body is not valid JSON.")) from None
    if json_depth(payload) > MAX_JSON_DEPTH:
        raise _malformed(_too_deep())
    if has_nul(payload):
        raise _nul_problem()
    return payload


def _annotation_is(annotation, kind) -> bool:
    """``annotation`` is ``kind`` or ``kind | None`` (Annotated metadata looked through)."""
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return len(args) == 1 and _annotation_is(args[0], kind)
    return annotation is kind


_QUERY_FIELDS: dict = {}


def _query_fields(model) -> tuple[frozenset, frozenset]:
    """A query model's parameter names, and those of them that are booleans."""
    if model not in _QUERY_FIELDS:
        names, bools = set(), set()
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
            if _annotation_is(info.annotation, bool):
                bools.add(info.alias or name)
        _QUERY_FIELDS[model] = frozenset(names), frozenset(bools)
    return _QUERY_FIELDS[model]


def validate_query(model, allowed_extra=frozenset()):
    """The query string as ``model``: unknown parameters are refused (a typo'd filter
    would otherwise silently list everything), except ``IGNORED_QUERY_PARAMS`` and
    ``allowed_extra``; a boolean is exactly ``true`` or ``false``, as documented."""
    names, bools = _query_fields(model)
    errors = [{"location": "query", "field": key or "(empty name)", "message": _("unknown query parameter")}
              for key in request.args if key not in names and key not in IGNORED_QUERY_PARAMS
              and key not in allowed_extra]
    args = request.args.to_dict()
    errors += [{"location": "query", "field": key, "message": _("must be true or false")}
               for key in bools if key in args and args[key] not in ("true", "false")]
    if errors:
        raise ApiProblem(422, "Invalid input", "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                         PROBLEM_TYPE_BASE + "validation", errors=errors)
    try:
        return model.model_validate_strings(args)
    except pydantic.ValidationError as exc:
        raise _validation_problem(exc, "query") from None


def _nul_problem() -> ApiProblem:
    return ApiProblem(422, "Invalid input", "Text may not contain NUL characters (\\u0000).",
                      PROBLEM_TYPE_BASE + "validation")


def to_json(value):
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return _json_default(value)


_MEDIA_TYPES = {"pdf": "application/pdf", "html": "text/html", "csv": "text/csv"}


class ApiBlueprint(Blueprint):
    """A blueprint of JSON routes; see the module docstring."""

    def __init__(self, name, import_name, **kwargs):
        super().__init__(name, import_name, **kwargs)
        self.docs: list[RouteDoc] = []

    def endpoint(self, rule: str, methods=("GET",), *, permission: str | None = None,
                 body: type[pydantic.BaseModel] | None = None, query: type[pydantic.BaseModel] | None = None,
                 response: Any = None, status: int = 200, summary: str = "", tags=None, public: bool = False,
                 auth: ApiAuth | None = None, media_type: str | None = None):
        """Declare a route. The view gets ``body=`` / ``query=`` (validated models) when
        schemas are given, and returns a pydantic model, dict or list (serialised as JSON)
        or a Flask response.

        Every route but a ``public`` one needs a user: the Bearer token's, or whoever
        ``auth`` (an ``ApiAuth``) finds; then ``permission`` is checked. The OpenAPI
        document declares exactly that. ``media_type`` is what a successful answer is
        (default: JSON; a rule ending in .pdf, .html or .csv: that file type)."""
        if public and auth is not None:
            raise ValueError(f"route {rule}: a public route has no authentication")
        # the web till may send its CSRF token as a query parameter (see addons.pos.api)
        extra_query = frozenset({"csrf_token"}) if auth is not None and "session" in auth.schemes else frozenset()
        if media_type is None:
            last = rule.rsplit("/", 1)[-1]
            media_type = _MEDIA_TYPES.get(last.rpartition(".")[2] if "." in last else "", "application/json")

        def decorator(view: Callable):
            @wraps(view)
            def wrapped(*args, **kwargs):
                try:
                    # (a change request holds SQLite's write lock already: core.app takes it first)
                    if auth is not None:
                        g.api_user = auth.authenticate(permission)
                    elif not public:
                        user = authenticate_token()
                        login_manager._update_request_context_with_user(user)
                        g.api_user = user
                        if permission and not user_can(user, permission):
                            raise ApiProblem(403, "Forbidden", f"This needs the permission '{permission}'.",
                                             PROBLEM_TYPE_BASE + "forbidden", permission=permission)
                    if any(has_nul(v) for v in kwargs.values()) or \
                            any(has_nul(k) or has_nul(v) for k, v in request.args.items(multi=True)):
                        raise _nul_problem()
                    for name, value in kwargs.items():
                        if isinstance(value, int) and not 0 <= value <= MAX_ROW_ID:
                            # ids are 32-bit: a larger one is no row, never a database overflow
                            raise ApiProblem(404, "Not found", f"There is nothing with {name} {value}.",
                                             PROBLEM_TYPE_BASE + "not-found")
                    if body is not None:
                        payload = read_json_body()
                        try:
                            kwargs["body"] = body.model_validate(payload)
                        except pydantic.ValidationError as exc:
                            raise _validation_problem(exc, "body") from None
                    if query is not None:
                        kwargs["query"] = validate_query(query, extra_query)
                    result = view(*args, **kwargs)
                    db.session.commit()
                except ApiProblem as exc:
                    db.session.rollback()
                    return problem_response(exc.status, exc.title, exc.detail, exc.type, **exc.extra)
                except O2OError as exc:
                    db.session.rollback()
                    return problem_response(exc.status, exc.title, exc.message,
                                            PROBLEM_TYPE_BASE + exc.type_suffix, **exc.extra)
                except sa.exc.IntegrityError as exc:
                    db.session.rollback()
                    current_app.logger.info("integrity error in %s: %s", request.path, exc.orig)
                    return problem_response(409, "Conflict with the current state",
                                            "This clashes with an existing record (a code, number or "
                                            "barcode that must be unique is already used), or refers "
                                            "to a record that does not exist.", PROBLEM_TYPE_BASE + "conflict")
                except (sa.exc.DataError, OverflowError) as exc:
                    # a number no column can hold (an id beyond 32 bits, say): the input's fault
                    db.session.rollback()
                    current_app.logger.info("out-of-range value in %s: %s", request.path, exc)
                    return problem_response(422, "Invalid input", "A number in the request is too large (or a "
                                            "value too long) for what it refers to.",
                                            PROBLEM_TYPE_BASE + "validation")
                except ValueError as exc:  # model validators speak to the clerk with ValueError
                    db.session.rollback()
                    if isinstance(exc, pydantic.ValidationError):  # a bug in a response model
                        raise
                    return problem_response(422, "Invalid input", str(exc), PROBLEM_TYPE_BASE + "validation")
                except Exception:
                    db.session.rollback()
                    raise
                if isinstance(result, current_app.response_class):
                    return result
                response = jsonify(to_json(result))
                response.status_code = status
                return response

            self.add_url_rule(rule, view_func=wrapped, methods=list(methods))
            self.docs.append(RouteDoc(rule, list(methods), f"{self.name}.{view.__name__}",
                                      summary or (view.__doc__ or "").strip().split("\n")[0],
                                      permission, body, query, response, status, list(tags or [self.name]),
                                      public, auth, media_type))
            return wrapped
        return decorator


class Page(pydantic.BaseModel):
    """Pagination query parameters shared by every list (subclass it to add filters).
    An unknown query parameter is refused (422), but for the cache buster ``_``."""

    page: int = pydantic.Field(1, ge=1, le=1_000_000, description="1-based page number")
    per_page: int = pydantic.Field(50, ge=1, le=500, description="items per page (at most 500)")


_PAGE_MODELS: dict = {}


def contains(text: str, *columns):
    """A list's ``q`` filter: any of ``columns`` contains ``text``, case-insensitive, with
    ``%``, ``_`` and ``\\`` taken literally (escaped, and the escape declared, which SQLite
    needs: it has no default LIKE escape character)."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return sa.or_(*(column.ilike(pattern, escape="\\") for column in columns))


def page_of(item: type[pydantic.BaseModel]) -> type[pydantic.BaseModel]:
    """The response schema of a list of ``item`` as ``paginate`` returns it."""
    if item not in _PAGE_MODELS:
        _PAGE_MODELS[item] = pydantic.create_model(
            f"{item.__name__}Page", __module__=item.__module__,  # named by the item's addon in OpenAPI
            items=(list[item], ...), page=(int, ...), per_page=(int, ...),
            has_next=(bool, pydantic.Field(..., description="true when a next page exists")),
            total=(int | None, pydantic.Field(None, description="number of items over all pages")),
        )
    return _PAGE_MODELS[item]


def paginate(stmt, page: Page, serialise: Callable, count: bool = True) -> dict:
    """One page of ``stmt``: items, page, per_page, has_next and (when cheap) total."""
    rows = db.session.scalars(stmt.limit(page.per_page + 1).offset((page.page - 1) * page.per_page)).all()
    has_next = len(rows) > page.per_page
    out = {"items": [serialise(r) for r in rows[: page.per_page]], "page": page.page,
           "per_page": page.per_page, "has_next": has_next}
    if count:
        out["total"] = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    return out


def init_api(app: Flask) -> None:
    from core.api.openapi import build_openapi

    root = Blueprint("api", __name__, url_prefix=API_PREFIX)
    children: list[ApiBlueprint] = []
    for _addon, blueprints in app.extensions["o2o"].call_in_order("o2o_api_blueprints", app=app):
        for bp in blueprints or ():
            root.register_blueprint(bp)
            csrf.exempt(bp)  # Flask-WTF checks the nested blueprint ("api.x"), not root
            children.append(bp)

    @root.route("/openapi.json")
    def openapi():
        """The OpenAPI 3.1 document of every route (no token needed)."""
        if "o2o.openapi" not in current_app.extensions:
            current_app.extensions["o2o.openapi"] = build_openapi(current_app, children)
        return jsonify(current_app.extensions["o2o.openapi"])

    csrf.exempt(root)
    app.register_blueprint(root)
    app.extensions["o2o.api"] = children

    @app.errorhandler(HTTPException)
    def _http_problem(exc: HTTPException):
        if request.path.startswith("/api/"):
            if exc.code == 400 and "JSON" in (exc.description or ""):
                return problem_response(400, "Malformed body", exc.description,
                                        PROBLEM_TYPE_BASE + "malformed-body")
            response = problem_response(exc.code or 500, exc.name, exc.description)
            allowed = exc.get_response().headers.get("Allow")
            if allowed:
                response.headers["Allow"] = allowed
            return response
        return exc

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http_problem(exc)
        if request.path.startswith("/api/"):
            current_app.logger.exception("unhandled error in %s", request.path)
            return problem_response(500, "Internal Server Error", "An unexpected error occurred; it has been logged.")
        raise exc
