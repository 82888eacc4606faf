"""Till API (/api/v1/pos/...).

Two ways in, both checked on every call:
- ``Authorization: Bearer <token>`` (tills, integrations), as everywhere in the API;
- the web till at /pos, same-origin, with the login cookie: then every request that changes
  something (every POST) must carry the page's CSRF token in the ``X-CSRFToken`` header (or
  ``csrf_token`` query parameter), so another site cannot make a logged-in cashier's browser
  sell or print. Reading a document (GET of a receipt or Z report) changes nothing and needs
  no token: it is marked DUPLICATE once the document was printed. Printing is the POST of
  the same address, which records the print (the fiscal journal counts duplicates).
A sale carries an idempotency key chosen by the till (``Idempotency-Key`` header or
``idempotency_key`` field): a retry answers the first result (status 200 and header
``Idempotent-Replayed: true`` instead of 201) and never records the sale twice.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pydantic
import sqlalchemy as sa
from flask import current_app, g, jsonify, make_response, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError as WTFValidationError

from core.api import (PROBLEM_TYPE_BASE, ApiAuth, ApiBlueprint, ApiProblem, MoneyIn, PercentIn, QuantityIn, RowId,
                      authenticate_token, decimal_of)
from core.auth import login_manager, user_can
from core.db import db, take_write_lock
from core.errors import O2OError, PermissionDenied
from core.i18n import _
from core.models import Product

from addons.pos import services
from addons.pos.models import PosRegister, PosSale, PosZReport
from addons.sales.money import Amount

PaymentAmountIn = decimal_of(Amount)  # sales' Numeric(14, 3): the 3-decimal currencies fit

bp = ApiBlueprint("pos", __name__, url_prefix="/pos")

SAFE = ("GET", "HEAD", "OPTIONS")


def till_user(permission: str):
    """The user of this call (Bearer token, or the web till's cookie with its CSRF token).
    Found once per request (the route's ``TILL`` auth runs first); a view asking again only
    re-checks the CSRF token its kind of request needs and the permission."""
    user, by_cookie = g.get("till_user"), g.get("till_by_cookie", False)
    if user is None:
        if request.headers.get("Authorization"):
            user = authenticate_token()
            login_manager._update_request_context_with_user(user)
        elif current_user.is_authenticated:
            user, by_cookie = current_user._get_current_object(), True
        else:
            raise ApiProblem(401, "Authentication required",
                             "Send an API token in the header 'Authorization: Bearer <token>' or log in.")
        g.till_user, g.till_by_cookie = user, by_cookie
    if by_cookie and request.method not in SAFE:  # a GET changes nothing: it never needs one
        token = request.headers.get("X-CSRFToken") or request.args.get("csrf_token")
        try:
            validate_csrf(token)
        except (CSRFError, WTFValidationError):
            raise ApiProblem(403, "CSRF token missing or invalid",
                             _("Reload the till page: its security token is missing or expired."),
                             PROBLEM_TYPE_BASE + "csrf") from None
    g.api_user = user
    if not user_can(user, permission):
        raise ApiProblem(403, "Forbidden", f"This needs the permission '{permission}'.",
                         PROBLEM_TYPE_BASE + "forbidden", permission=permission)
    return user


def _till_auth(permission: str):
    # A change takes SQLite's write lock before anything is read (see write_lock).
    if request.method not in SAFE:
        write_lock()
    return till_user(permission)


# Every till route: a token or the web till's login cookie, then the route's permission.
TILL = ApiAuth(schemes=("bearer", "session"), authenticate=_till_auth)


def write_lock() -> None:
    """SQLite only: begin the request's transaction with the write lock (BEGIN IMMEDIATE), so
    it waits its turn (busy timeout) instead of failing with 'database is locked' when
    another till commits after this transaction took its read snapshot. Called before
    anything is read.
    PostgreSQL needs nothing: row locks and the unique constraint serialise what matters."""
    if db.session.get_bind().dialect.name != "sqlite" or g.get("till_write_locked"):
        return  # the route's TILL auth took it already: a view asking again changes nothing
    from core.auth.models import ApiToken
    touched = [(t.id, t.last_used_at) for t in db.session.dirty if isinstance(t, ApiToken)]
    if touched:
        db.session.rollback()  # only reads and the token's last-use time happened yet
    take_write_lock()
    for token_id, used_at in touched:
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=used_at))
    g.till_write_locked = True


# --- schemas ------------------------------------------------------------------------------

class LineIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    barcode: str | None = pydantic.Field(None, max_length=32, description="EAN-13/UPC-A/EAN-8 or a scale label")
    sku: str | None = pydantic.Field(None, max_length=32)
    code: str | None = pydantic.Field(None, max_length=32, description="what was scanned or typed: barcode or SKU")
    product_id: RowId | None = None
    quantity: QuantityIn | None = pydantic.Field(None, description="default 1 (a scale label gives its own)")
    discount: PercentIn | None = pydantic.Field(None, description="percent off the line")

    @pydantic.model_validator(mode="after")
    def _one_reference(self):
        if not (self.barcode or self.sku or self.code or self.product_id):
            raise ValueError("each line needs a barcode, sku, code or product_id")
        return self


class PaymentIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    method: str = pydantic.Field(..., max_length=32, description="payment method code: cash, card, ...")
    amount: PaymentAmountIn = pydantic.Field(..., description="for cash: what the customer handed over")
    reference: str | None = pydantic.Field(None, max_length=128)


class SaleIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    register_id: RowId
    idempotency_key: str | None = pydantic.Field(None, max_length=64,
                                                 description="or the Idempotency-Key header")
    customer_id: RowId | None = None
    lines: list[LineIn] = pydantic.Field(..., min_length=1, max_length=500)
    payments: list[PaymentIn] = pydantic.Field(..., min_length=1, max_length=20)
    queued_at: dt.datetime | None = pydantic.Field(
        None, description="when the till took the money and queued the sale (offline or not): such a sale is a "
                          "fact; if the server refuses it, it is kept as a needs-attention item for the store "
                          "manager (the refusal's problem document carries its attention_id)")


class OpenSessionIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    opening_float: MoneyIn = pydantic.Field(..., description="the cash counted in the drawer")


class CashIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    kind: str = pydantic.Field(..., pattern="^(in|out)$")
    amount: MoneyIn
    reason: str = pydantic.Field(..., min_length=1, max_length=256)


class CloseIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    counts: dict[str, MoneyIn] = pydantic.Field(..., description="counted amount per payment method code")
    difference_reason: str | None = pydantic.Field(None, max_length=256)


class RefundLineIn(pydantic.BaseModel):
    product_id: RowId
    quantity: QuantityIn


class RefundIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    idempotency_key: str | None = pydantic.Field(None, max_length=64)
    reason: str = pydantic.Field(..., min_length=1, max_length=256)
    method: str | None = None
    lines: list[RefundLineIn] | None = None
    restock: bool = pydantic.Field(True, description="put the returned goods back in the store's stock "
                                                      "(false: damaged or not resellable)")


class LookupQuery(pydantic.BaseModel):
    code: str = pydantic.Field(..., min_length=1, max_length=32)


class PosSaleCheckIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    lines: list[LineIn] = pydantic.Field(..., min_length=1, max_length=500)


class PosShortLineOut(pydantic.BaseModel):
    line: int
    product_id: int
    name: str
    available: str
    wanted: str


class PosSaleCheckOut(pydantic.BaseModel):
    ok: bool
    policy: str = pydantic.Field(..., description="the store's choice for short stock: record or refuse")
    short: list[PosShortLineOut] = pydantic.Field(..., description="lines beyond book stock (recorded, with a "
                                                                   "negative-stock exception, where the store records them)")


class PosRefusedRequestIn(pydantic.BaseModel):
    lines: list[dict] = pydantic.Field(..., min_length=1, max_length=500)
    payments: list[dict] = pydantic.Field(..., min_length=1, max_length=20)
    customer_id: RowId | None = None


class PosAttentionIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    idempotency_key: str = pydantic.Field(..., min_length=1, max_length=64)
    request: PosRefusedRequestIn
    error: str = pydantic.Field(..., max_length=4000, description="the refusal the till was given")
    error_status: int | None = pydantic.Field(None, ge=100, le=599)
    error_type: str | None = pydantic.Field(None, max_length=128)
    queued_at: dt.datetime | None = None
    total: str | None = pydantic.Field(None, max_length=24)


class PosAttentionOut(pydantic.BaseModel):
    id: int
    register_id: int
    store_id: int
    session_id: int | None
    idempotency_key: str
    request: dict
    total: str | None
    queued_at: str | None
    error: str
    error_status: int | None
    error_type: str | None
    state: str = pydantic.Field(..., description="open, retried, voided or converted")
    created_at: str
    reported_by_id: int | None
    resolved_at: str | None
    resolved_by_id: int | None
    reason: str | None
    sale_id: int | None


class PosAttentionQuery(pydantic.BaseModel):
    state: str | None = pydantic.Field("open", pattern="^(open|retried|voided|converted|all)$")


class PosVoidIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    reason: str = pydantic.Field(..., max_length=256, description="why the refused sale is not recorded")


class PosZTaxOut(pydantic.BaseModel):
    rate: str
    net: str
    tax: str
    total: str


class PosZReportOut(pydantic.BaseModel):
    """The Z report's figures, exactly as its PDF prints them."""
    id: int
    number: int
    z_number: int
    session_id: int
    model_config = pydantic.ConfigDict(populate_by_name=True)
    session: str
    register_label: str = pydantic.Field(..., alias="register", description="store/register code and name")
    register_id: int
    store_id: int
    opened_at: str
    closed_at: str
    opening_float: str
    cash_in_out_total: str
    sales_count: int
    sales_total: str
    refunds_count: int
    refunds_total: str
    net_total: str
    tax_total: str
    discounts_total: str
    taxes: list[PosZTaxOut]
    methods: dict[str, dict[str, str]]
    cash_expected: str
    cash_counted: str
    cash_difference: str
    difference_reason: str | None
    grand_total: str
    pdf: str


# --- helpers ------------------------------------------------------------------------------

def _plain(value):
    return str(value) if isinstance(value, Decimal) else value


def _key(body_key: str | None) -> str | None:
    header = request.headers.get("Idempotency-Key")
    if header and body_key and header.strip() != body_key.strip():
        raise ApiProblem(422, "Invalid input", _("The Idempotency-Key header and the idempotency_key field differ."),
                         PROBLEM_TYPE_BASE + "validation")
    return (header or body_key or "").strip() or None


def _document_response(document: dict, created: bool):
    response = jsonify(document)
    response.status_code = 201 if created else 200
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def register_json(register: PosRegister) -> dict:
    open_session = services.open_session_of(register.id)
    return {"id": register.id, "code": register.code, "name": register.name, "store_id": register.store_id,
            "store": register.store.name, "active": register.active,
            "open_session": services.session_summary(open_session) if open_session else None}


def product_json(product: Product, found: dict | None = None) -> dict:
    out = {"product_id": product.id, "sku": product.sku, "barcode": product.barcode, "name": product.name,
           "unit_price": str(product.list_price), "unit": product.unit.code if product.unit else None}
    if found:
        out["quantity"] = _plain(found.get("quantity"))
        if found.get("unit_price") is not None:
            out["unit_price"] = str(found["unit_price"])
        out["code"] = found.get("code")
    return out


# --- registers and sessions ---------------------------------------------------------------

@bp.endpoint("/registers", permission="pos.sell", auth=TILL, response=list[dict],
             summary="Registers of the stores the user works at")
def list_registers():
    user = till_user("pos.sell")
    stmt = sa.select(PosRegister).where(PosRegister.active.is_(True)).order_by(PosRegister.store_id, PosRegister.code)
    if not user.is_superuser and user.store_ids is not None:
        stmt = stmt.where(PosRegister.store_id.in_(user.store_ids or [-1]))
    return [register_json(r) for r in db.session.scalars(stmt)]


@bp.endpoint("/registers/<int:register_id>", permission="pos.sell", auth=TILL, summary="A register and its open session")
def get_register(register_id):
    user = till_user("pos.sell")
    return register_json(services.get_register(register_id, user))


class RegisterIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    store_id: RowId
    code: str = pydantic.Field(..., min_length=1, max_length=16, pattern=r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*$",
                               description="unique within the store, e.g. 'T1'")
    name: str | None = pydantic.Field(None, max_length=128, description="default: the code")


@bp.endpoint("/registers", methods=["POST"], permission="pos.register.create", body=RegisterIn, status=201,
             summary="Add a register (till) to a store")
def create_register(body: RegisterIn):
    # back-office work: a token, as everywhere in the API (not the till's cookie)
    store_ids = g.api_user.store_ids
    if store_ids is not None and body.store_id not in store_ids:
        raise PermissionDenied(_("You can only add registers to your own stores."))
    register = services.create_register(body.store_id, body.code.strip(), (body.name or "").strip() or None)
    response = jsonify(register_json(register))
    response.status_code = 201
    return response


@bp.endpoint("/registers/<int:register_id>/sessions", methods=["POST"], permission="pos.session", auth=TILL, body=OpenSessionIn,
             status=201, summary="Open a session with the counted float")
def open_session(register_id, body: OpenSessionIn):
    write_lock()
    user = till_user("pos.session")
    pos_session = services.open_session(register_id, body.opening_float, user=user)
    response = jsonify(services.session_summary(pos_session))
    response.status_code = 201
    return response


@bp.endpoint("/sessions/<int:session_id>", permission="pos.sell", auth=TILL, summary="A session with its expected (or counted) totals")
def get_session(session_id):
    user = till_user("pos.sell")
    return services.session_summary(services.get_session(session_id, user))


@bp.endpoint("/sessions/<int:session_id>/cash", methods=["POST"], permission="pos.session", auth=TILL, body=CashIn, status=201,
             summary="Put cash into the drawer or take it out, with a reason")
def cash_move(session_id, body: CashIn):
    write_lock()
    user = till_user("pos.session")
    move = services.cash_move(session_id, body.amount, body.reason, kind=body.kind, user=user)
    return {"id": move.id, "session_id": move.session_id, "amount": str(move.amount), "reason": move.reason}


@bp.endpoint("/sessions/<int:session_id>/close", methods=["POST"], permission="pos.session", auth=TILL, body=CloseIn,
             summary="Close a session: counted amount per payment method, reason for a difference")
def close_session(session_id, body: CloseIn):
    write_lock()
    user = till_user("pos.session")
    z = services.close_session(session_id, dict(body.counts), difference_reason=body.difference_reason, user=user)
    out = services.session_summary(z.session)
    out["z_report"] = {"id": z.id, "number": z.number, "grand_total": str(z.grand_total),
                       "pdf": f"/api/v1/pos/z-reports/{z.id}.pdf"}
    return out


def _z_report(z_id, *, printing: bool):
    user = till_user("pos.session")
    from addons.pos import reports
    z = services._by_id(PosZReport, z_id)
    if z is None:
        raise ApiProblem(404, "Not found", _("There is no Z report with id %(id)s.", id=z_id))
    services.check_store_access(user, z.session.store_id, z.register)
    if printing:
        duplicate = services.record_print("z", z.id, z.register_id, f"Z{z.number:06d}", user=user)
    else:
        duplicate = services.printed_before("z", z.id)
    response = make_response(reports.z_report_pdf(z.data, duplicate=duplicate))
    response.mimetype = "application/pdf"
    return response


@bp.endpoint("/z-reports/<int:z_id>.pdf", permission="pos.session", auth=TILL,
             summary="Read the Z report as PDF (marked DUPLICATE once printed; records nothing)")
def z_report_pdf(z_id):
    return _z_report(z_id, printing=False)


@bp.endpoint("/z-reports/<int:z_id>.pdf", methods=["POST"], permission="pos.session", auth=TILL,
             summary="Print the Z report: records the print (later prints DUPLICATE)")
def z_report_print(z_id):
    write_lock()
    return _z_report(z_id, printing=True)


@bp.endpoint("/sessions/<int:session_id>/z", permission="pos.session", auth=TILL, response=PosZReportOut,
             summary="The Z report of a closed session as JSON: the figures its PDF prints")
def z_report_json(session_id):
    user = till_user("pos.session")
    return services.z_report_json(services.z_report_of(session_id, user))


# --- scanning -----------------------------------------------------------------------------

@bp.endpoint("/lookup", permission="pos.sell", auth=TILL, query=LookupQuery, summary="The product behind a scanned code")
def lookup(query: LookupQuery):
    till_user("pos.sell")
    found = services.resolve_code(query.code)
    return product_json(found["product"], found)


@bp.endpoint("/registers/<int:register_id>/catalogue", permission="pos.sell", auth=TILL, response=list[dict],
             summary="Products with a barcode, for selling while offline")
def catalogue(register_id):
    user = till_user("pos.sell")
    services.get_register(register_id, user)
    limit = int(current_app.config.get("POS_OFFLINE_CATALOGUE_LIMIT", 5000))
    rows = db.session.execute(
        sa.select(Product.id, Product.sku, Product.barcode, Product.name, Product.list_price)
        .where(Product.active.is_(True)).order_by(Product.id).limit(limit)).all()
    return [{"product_id": r.id, "sku": r.sku, "barcode": r.barcode, "name": r.name,
             "unit_price": str(r.list_price)} for r in rows]


# --- sales --------------------------------------------------------------------------------

@bp.endpoint("/sales", methods=["POST"], permission="pos.sell", auth=TILL, body=SaleIn, status=201,
             summary="Record a till sale (idempotent: Idempotency-Key header or idempotency_key field)")
def create_sale(body: SaleIn):
    write_lock()  # first: the request then reads only under the write lock
    user = till_user("pos.sell")
    key = _key(body.idempotency_key)
    lines = [{k: _plain(v) for k, v in line.model_dump(exclude_none=True).items()} for line in body.lines]
    payments = [{k: _plain(v) for k, v in p.model_dump(exclude_none=True).items()} for p in body.payments]
    try:
        document, created = services.sell(body.register_id, idempotency_key=key, lines=lines, payments=payments,
                                          customer_id=body.customer_id, user=user)
    except O2OError as refused:
        if body.queued_at is None or refused.extra.get("retry_later"):
            raise
        # the till took the money: keep the sale on the server before answering the refusal,
        # so it is not lost even if the till is wiped afterwards
        refused.extra["attention_id"] = _keep_refused(body, key, lines, payments, refused, user)
        raise
    return _document_response(document, created)


def _keep_refused(body: SaleIn, key, lines, payments, refused: O2OError, user) -> int | None:
    db.session.rollback()
    g.till_write_locked = False  # the rollback ended the transaction that held it
    write_lock()
    try:
        item, _created = services.report_attention(
            body.register_id, idempotency_key=key,
            request={"lines": lines, "payments": payments, "customer_id": body.customer_id},
            error=refused.message, error_status=refused.status, error_type=PROBLEM_TYPE_BASE + refused.type_suffix,
            queued_at=body.queued_at, user=user)
    except O2OError:  # no such register, the key is missing...: the till reports it itself
        db.session.rollback()
        return None
    item_id = item.id
    db.session.commit()
    return item_id


@bp.endpoint("/sales/<int:sale_id>", permission="pos.sell", auth=TILL, summary="A till document (sale or refund)")
def get_sale(sale_id):
    user = till_user("pos.sell")
    return services.get_sale(sale_id, user).data


@bp.endpoint("/sales/<int:sale_id>/refund", methods=["POST"], permission="pos.refund", auth=TILL, body=RefundIn, status=201,
             summary="Refund a sale: a new negative document (idempotent)")
def refund_sale(sale_id, body: RefundIn):
    write_lock()
    user = till_user("pos.refund")
    key = _key(body.idempotency_key)
    lines = [{"product_id": l.product_id, "quantity": str(l.quantity)} for l in body.lines] if body.lines else None
    document, created = services.refund(sale_id, idempotency_key=key, reason=body.reason, lines=lines,
                                        method=body.method, restock=body.restock, user=user)
    return _document_response(document, created)


def _receipt(sale_id, fmt: str):
    user = till_user("pos.sell")
    from addons.pos import reports
    sale = services.get_sale(sale_id, user)
    document = sale.data
    if request.method == "POST":  # printing: recorded, the second and later are DUPLICATE
        write_lock()
        duplicate = services.record_print("receipt", sale.id, sale.register_id, document["receipt"], user=user)
    else:  # reading changes nothing
        duplicate = services.printed_before("receipt", sale.id)
    footer = reports.footer_text(current_app.config.get("POS_RECEIPT_FOOTER", ""))
    if fmt == "pdf":
        response = make_response(reports.receipt_pdf(document, duplicate=duplicate, footer=footer))
        response.mimetype = "application/pdf"
    else:
        response = make_response(render_template("pos/receipt.html", doc=document, duplicate=duplicate,
                                                 footer=footer, method_label=reports.method_label))
        response.mimetype = "text/html"
    return response


@bp.endpoint("/sales/<int:sale_id>/receipt.pdf", permission="pos.sell", auth=TILL,
             summary="Read the receipt, 80 mm wide PDF (marked DUPLICATE once printed; records nothing)")
def receipt_pdf(sale_id):
    return _receipt(sale_id, "pdf")


@bp.endpoint("/sales/<int:sale_id>/receipt.pdf", methods=["POST"], permission="pos.sell", auth=TILL,
             summary="Print the receipt as PDF: the first print is the original, later ones DUPLICATE")
def receipt_pdf_print(sale_id):
    return _receipt(sale_id, "pdf")


@bp.endpoint("/sales/<int:sale_id>/receipt.html", permission="pos.sell", auth=TILL,
             summary="Read the receipt as HTML (marked DUPLICATE once printed; records nothing)")
def receipt_html(sale_id):
    return _receipt(sale_id, "html")


@bp.endpoint("/sales/<int:sale_id>/receipt.html", methods=["POST"], permission="pos.sell", auth=TILL,
             summary="Print the receipt as HTML for the till's printer (later prints DUPLICATE)")
def receipt_html_print(sale_id):
    return _receipt(sale_id, "html")


# --- refused sales that need attention, and the check before payment ----------------------

@bp.endpoint("/registers/<int:register_id>/check", methods=["POST"], permission="pos.sell", auth=TILL, body=PosSaleCheckIn,
             response=PosSaleCheckOut,
             summary="Before taking the money: would the store refuse this sale for its stock? (409 names the line)")
def check_sale(register_id, body: PosSaleCheckIn):
    user = till_user("pos.sell")
    lines = [{k: _plain(v) for k, v in line.model_dump(exclude_none=True).items()} for line in body.lines]
    return services.check_sale(register_id, lines, user=user)


@bp.endpoint("/registers/<int:register_id>/attention", permission="pos.sell", auth=TILL, query=PosAttentionQuery,
             response=list[PosAttentionOut], summary="Refused sales of a register that need attention")
def list_attention(register_id, query: PosAttentionQuery):
    user = till_user("pos.sell")
    state = None if query.state == "all" else query.state
    return [services.attention_json(a) for a in services.attention_items(register_id, state=state, user=user)]


@bp.endpoint("/registers/<int:register_id>/attention", methods=["POST"], permission="pos.sell", auth=TILL, body=PosAttentionIn,
             response=PosAttentionOut, status=201,
             summary="Report a queued sale the server refused after the money was taken (idempotent per key)")
def report_attention(register_id, body: PosAttentionIn):
    write_lock()
    user = till_user("pos.sell")
    item, created = services.report_attention(
        register_id, idempotency_key=body.idempotency_key, request=body.request.model_dump(mode="json"),
        error=body.error, error_status=body.error_status, error_type=body.error_type, queued_at=body.queued_at,
        total=body.total, user=user)
    response = jsonify(services.attention_json(item))
    response.status_code = 201 if created else 200
    return response


@bp.endpoint("/attention/<int:attention_id>", permission="pos.sell", auth=TILL, response=PosAttentionOut,
             summary="A refused sale that needs attention")
def get_attention(attention_id):
    user = till_user("pos.sell")
    return services.attention_json(services.get_attention(attention_id, user))


def _resolved(attention_id, document, created):
    out = {"attention": services.attention_json(services.get_attention(attention_id)), "sale": document}
    response = jsonify(out)
    response.status_code = 201 if created else 200
    return response


@bp.endpoint("/attention/<int:attention_id>/retry", methods=["POST"], permission="pos.attention.retry", auth=TILL, status=201,
             summary="Send the refused sale again as it was, in the register's open session (never twice)")
def retry_attention(attention_id):
    write_lock()
    user = till_user("pos.attention.retry")
    document, created = services.retry_attention(attention_id, user=user)
    return _resolved(attention_id, document, created)


@bp.endpoint("/attention/<int:attention_id>/convert", methods=["POST"], permission="pos.attention.convert", auth=TILL, status=201,
             summary="Record the refused sale in the register's open session whatever the stock says")
def convert_attention(attention_id):
    write_lock()
    user = till_user("pos.attention.convert")
    document, created = services.convert_attention(attention_id, user=user)
    return _resolved(attention_id, document, created)


@bp.endpoint("/attention/<int:attention_id>/void", methods=["POST"], permission="pos.attention.void", auth=TILL, body=PosVoidIn,
             response=PosAttentionOut, summary="Void the refused sale (not recorded), with a reason")
def void_attention(attention_id, body: PosVoidIn):
    write_lock()
    user = till_user("pos.attention.void")
    return services.attention_json(services.void_attention(attention_id, body.reason, user=user))
