"""JSON API under /api/v1/stock: availability across stores, transfers, counts, reservations."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import pydantic
import sqlalchemy as sa
from flask import g, request

from core.api import ApiBlueprint, Count32, Page, QuantityIn, RowId, RowIds, page_of, paginate
from core.db import db, utcnow
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.i18n import _
from core.models import Product

from addons.warehouse import services
from addons.warehouse.models import Count, NegativeStock, Transfer, Warehouse


class StoreAvailability(pydantic.BaseModel):
    store_id: int
    store_code: str
    warehouse_id: int
    on_hand: Decimal
    reserved: Decimal
    available: Decimal


class AvailabilityOut(pydantic.BaseModel):
    product_id: int
    sku: str
    barcode: str | None
    name: str
    stores: list[StoreAvailability]
    total_available: Decimal


class LineIn(pydantic.BaseModel):
    product_id: RowId
    quantity: QuantityIn


class TransferIn(pydantic.BaseModel):
    from_warehouse_id: RowId
    to_warehouse_id: RowId
    lines: list[LineIn] = pydantic.Field(min_length=1)
    note: str | None = None


class ReceiveLineIn(pydantic.BaseModel):
    product_id: RowId
    received: QuantityIn
    damaged: QuantityIn = Decimal(0)


class ReceiveIn(pydantic.BaseModel):
    lines: list[ReceiveLineIn] = []


class TransferLineOut(pydantic.BaseModel):
    id: int
    product_id: int
    quantity: Decimal
    received_quantity: Decimal | None
    damaged_quantity: Decimal | None
    difference: Decimal | None


class TransferOut(pydantic.BaseModel):
    id: int
    number: str | None
    from_warehouse_id: int
    to_warehouse_id: int
    state: str
    shipped_at: dt.datetime | None
    received_at: dt.datetime | None
    lines: list[TransferLineOut]


class CountIn(pydantic.BaseModel):
    warehouse_id: RowId
    location_id: RowId | None = None
    category_id: RowId | None = None


class CountedIn(pydantic.BaseModel):
    product_id: RowId | None = None
    barcode: str | None = None
    counted: QuantityIn


class CountLinesIn(pydantic.BaseModel):
    lines: list[CountedIn] = pydantic.Field(min_length=1)


class CountLineOut(pydantic.BaseModel):
    id: int
    product_id: int
    location_id: int
    expected: Decimal
    counted: Decimal | None
    difference: Decimal | None
    difference_value: Decimal | None


class CountOut(pydantic.BaseModel):
    id: int
    number: str | None
    warehouse_id: int
    state: str
    started_at: dt.datetime | None
    validated_at: dt.datetime | None
    difference_value: Decimal | None
    lines: list[CountLineOut]


class ReservationIn(pydantic.BaseModel):
    product_id: RowId
    store_id: RowId
    quantity: QuantityIn
    source: str = pydantic.Field(min_length=1, max_length=64)
    expires_in_minutes: Count32 | None = pydantic.Field(None, ge=1, le=60 * 24 * 30)


class ReservationOut(pydantic.BaseModel):
    id: int
    product_id: int
    location_id: int
    quantity: Decimal
    state: str
    expires_at: dt.datetime | None


class ValuationQuery(pydantic.BaseModel):
    as_of: dt.date | None = pydantic.Field(None, description="Up to the end of this local business day "
                                                            "(YYYY-MM-DD); without it, the stock now")
    warehouse_id: RowId | None = None
    store_id: RowId | None = None


class ValuationRowOut(pydantic.BaseModel):
    warehouse_id: int | None  # None: in transit
    warehouse_code: str
    warehouse_name: str
    store_id: int | None
    category_id: int | None
    category: str
    quantity: Decimal
    value: Decimal


class ValuationOut(pydantic.BaseModel):
    as_of: dt.date | None
    rows: list[ValuationRowOut]
    total_quantity: Decimal
    total_value: Decimal


class AverageCostQuery(pydantic.BaseModel):
    product_id: RowId | None = None
    warehouse_id: RowId | None = None


class AverageCostOut(pydantic.BaseModel):
    product_id: int
    sku: str
    name: str
    warehouse_id: int
    warehouse_code: str
    store_id: int | None
    average_cost: Decimal
    on_hand: Decimal
    updated_at: dt.datetime


class AverageCostsOut(pydantic.BaseModel):
    items: list[AverageCostOut]


def _transfer_out(tr: Transfer) -> TransferOut:
    return TransferOut(id=tr.id, number=tr.number, from_warehouse_id=tr.from_warehouse_id,
                       to_warehouse_id=tr.to_warehouse_id, state=tr.state, shipped_at=tr.shipped_at,
                       received_at=tr.received_at,
                       lines=[TransferLineOut.model_validate(line, from_attributes=True) for line in tr.lines])


def _count_out(c: Count) -> CountOut:
    return CountOut(id=c.id, number=c.number, warehouse_id=c.warehouse_id, state=c.state, started_at=c.started_at,
                    validated_at=c.validated_at, difference_value=c.difference_value,
                    lines=[CountLineOut.model_validate(line, from_attributes=True) for line in c.lines])


def _allowed_warehouses():
    store_ids = g.api_user.store_ids
    if store_ids is None:
        return None
    return set(db.session.scalars(sa.select(Warehouse.id).where(Warehouse.store_id.in_(store_ids or [-1]))))


def _check_warehouses(*ids):
    allowed = _allowed_warehouses()
    if allowed is not None and not any(i in allowed for i in ids):
        raise PermissionDenied(_("You can only work with your own stores' warehouses"))


def _availability(product: Product) -> AvailabilityOut:
    rows = services.availability_by_store(product.id)
    return AvailabilityOut(product_id=product.id, sku=product.sku, barcode=product.barcode, name=product.name,
                           stores=[StoreAvailability(**r) for r in rows],
                           total_available=sum((r["available"] for r in rows), Decimal(0)))


# --- warehouses (list) ----------------------------------------------------------------------

class WarehouseOut(pydantic.BaseModel):
    id: int
    code: str
    name: str
    kind: str = pydantic.Field(description="'store' (a store's stockroom) or 'central' (distribution centre)")
    store_id: int | None
    store_code: str | None
    store_name: str | None
    active: bool


class WarehouseQuery(Page):
    kind: Literal["store", "central"] | None = None
    store_id: RowId | None = None
    active: bool | None = None


def _warehouse_out(wh: Warehouse) -> WarehouseOut:
    return WarehouseOut(id=wh.id, code=wh.code, name=wh.name, kind=wh.kind, store_id=wh.store_id,
                        store_code=wh.store.code if wh.store else None,
                        store_name=wh.store.name if wh.store else None, active=wh.active)


def _warehouse_routes(bp: ApiBlueprint) -> None:
    @bp.endpoint("/warehouses", permission="warehouse.warehouse.read", query=WarehouseQuery,
                 response=page_of(WarehouseOut), summary="List warehouses with their store and kind",
                 tags=["warehouses"])
    def list_warehouses(query: WarehouseQuery):
        stmt = sa.select(Warehouse).order_by(Warehouse.code)
        store_ids = g.api_user.store_ids
        if store_ids is not None:  # as the admin: a user limited to stores sees their stockrooms
            stmt = stmt.where(Warehouse.store_id.in_(store_ids or [-1]))
        if query.kind:
            stmt = stmt.where(Warehouse.kind == query.kind)
        if query.store_id is not None:
            stmt = stmt.where(Warehouse.store_id == query.store_id)
        if query.active is not None:
            stmt = stmt.where(Warehouse.active == query.active)
        return paginate(stmt, query, _warehouse_out)


# --- till sales short of stock: the store's choice and the negative-stock exceptions -------
# (what the admin's Warehouses form and Negative stock list do, through the API)


class TillShortStockIn(pydantic.BaseModel):
    policy: Literal["record", "refuse"] = pydantic.Field(
        description="'record': the sale goes through, book stock may go negative and an exception is raised; "
                    "'refuse': the till refuses the sale before payment, naming the line")


class TillShortStockOut(pydantic.BaseModel):
    warehouse_id: int
    store_id: int | None
    policy: str


class NegativeStockQuery(Page):
    store_id: RowId | None = None
    warehouse_id: RowId | None = None
    state: Literal["open", "resolved"] | None = None


class NegativeStockOut(pydantic.BaseModel):
    id: int
    product_id: int
    sku: str
    product_name: str
    store_id: int | None
    warehouse_id: int
    location_id: int
    quantity_short: Decimal = pydantic.Field(description="how much the sale took beyond what was available")
    on_hand_after: Decimal = pydantic.Field(description="the on-hand quantity the sale left")
    source: str | None = pydantic.Field(description="the sale's document (order number)")
    state: str = pydantic.Field(description="'open' or 'resolved'")
    count_id: int | None = pydantic.Field(description="the count proposed for it, if any")
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    resolved_by_id: int | None
    note: str | None


class ResolveNegativeIn(pydantic.BaseModel):
    note: str | None = pydantic.Field(None, max_length=256)


class ProposeCountIn(pydantic.BaseModel):
    ids: RowIds = pydantic.Field(min_length=1, max_length=500,
                                                       description="negative-stock exception ids")


class ProposedCountsOut(pydantic.BaseModel):
    counts: list[CountOut] = pydantic.Field(description="one started count per warehouse")


def _negative_out(n: NegativeStock) -> NegativeStockOut:
    return NegativeStockOut(id=n.id, product_id=n.product_id, sku=n.product.sku, product_name=n.product.name,
                            store_id=n.store_id, warehouse_id=n.warehouse_id, location_id=n.location_id,
                            quantity_short=n.quantity_short, on_hand_after=n.on_hand_after, source=n.source,
                            state=n.state, count_id=n.count_id, created_at=n.created_at,
                            resolved_at=n.resolved_at, resolved_by_id=n.resolved_by_id, note=n.note)


def _negative_stock_routes(bp: ApiBlueprint) -> None:
    def _policy_out(wh: Warehouse) -> TillShortStockOut:
        return TillShortStockOut(warehouse_id=wh.id, store_id=wh.store_id,
                                 policy=services.till_short_stock(wh.id))

    @bp.endpoint("/warehouses/<int:warehouse_id>/till-short-stock", permission="warehouse.warehouse.read",
                 response=TillShortStockOut, summary="A store's choice for till sales short of stock",
                 tags=["negative stock"])
    def get_till_short_stock(warehouse_id: int):
        wh = services._get_warehouse(warehouse_id)
        _check_warehouses(warehouse_id)
        return _policy_out(wh)

    @bp.endpoint("/warehouses/<int:warehouse_id>/till-short-stock", methods=["PUT"],
                 permission="warehouse.warehouse.edit", body=TillShortStockIn, response=TillShortStockOut,
                 summary="Record or refuse till sales short of stock in this warehouse", tags=["negative stock"])
    def set_till_short_stock(warehouse_id: int, body: TillShortStockIn):
        services._get_warehouse(warehouse_id)
        _check_warehouses(warehouse_id)
        return _policy_out(services.set_till_short_stock(warehouse_id, body.policy))

    @bp.endpoint("/negative-stock", permission="warehouse.negative.read", query=NegativeStockQuery,
                 response=page_of(NegativeStockOut), summary="Negative-stock exceptions raised by till sales",
                 tags=["negative stock"])
    def list_negative_stock(query: NegativeStockQuery):
        stmt = sa.select(NegativeStock).order_by(NegativeStock.id.desc())
        allowed = _allowed_warehouses()
        if allowed is not None:  # as the admin: a user limited to stores sees their warehouses' exceptions
            stmt = stmt.where(NegativeStock.warehouse_id.in_(allowed or [-1]))
        if query.store_id is not None:
            stmt = stmt.where(NegativeStock.store_id == query.store_id)
        if query.warehouse_id is not None:
            stmt = stmt.where(NegativeStock.warehouse_id == query.warehouse_id)
        if query.state is not None:
            stmt = stmt.where(NegativeStock.state == query.state)
        return paginate(stmt, query, _negative_out)

    @bp.endpoint("/negative-stock/propose-count", methods=["POST"], permission="warehouse.negative.propose_count",
                 body=ProposeCountIn, response=ProposedCountsOut, status=201,
                 summary="Start a count of these exceptions' products (one per warehouse)", tags=["negative stock"])
    def propose_negative_count(body: ProposeCountIn):
        counts = services.propose_count(body.ids, store_ids=g.api_user.store_ids)
        return ProposedCountsOut(counts=[_count_out(c) for c in counts])

    @bp.endpoint("/negative-stock/<int:negative_id>/resolve", methods=["POST"],
                 permission="warehouse.negative.resolve", body=ResolveNegativeIn, response=NegativeStockOut,
                 summary="Resolve a negative-stock exception (counted, or the cause found)", tags=["negative stock"])
    def resolve_negative(negative_id: int, body: ResolveNegativeIn):
        if not services.resolve_negative_stock([negative_id], note=body.note, user_id=g.api_user.id,
                                               store_ids=g.api_user.store_ids):
            raise Conflict(_("Negative-stock exception #%(id)s is already resolved", id=negative_id),
                           negative_id=negative_id)
        return _negative_out(db.session.get(NegativeStock, negative_id))


def blueprint() -> ApiBlueprint:
    bp = ApiBlueprint("warehouse_api", __name__, url_prefix="/stock")
    _warehouse_routes(bp)
    _negative_stock_routes(bp)

    @bp.endpoint("/availability/<int:product_id>", permission="warehouse.availability.read",
                 response=AvailabilityOut, summary="Availability of a product in every store")
    def availability(product_id: int):
        product = db.session.get(Product, product_id)
        if product is None:
            raise NotFound(_("Unknown product: there is no product #%(id)s", id=product_id), product_id=product_id)
        return _availability(product)

    @bp.endpoint("/availability/barcode/<code>", permission="warehouse.availability.read",
                 response=AvailabilityOut, summary="Availability in every store, by barcode")
    def availability_by_barcode(code: str):
        product = db.session.scalar(sa.select(Product).where(Product.barcode == code))
        if product is None:
            raise NotFound(_("No product has the barcode %(code)r", code=code), barcode=code)
        return _availability(product)

    @bp.endpoint("/warehouses/<int:warehouse_id>/on-hand", permission="warehouse.quant.read",
                 summary="On hand and reserved of every product in a warehouse")
    def warehouse_on_hand(warehouse_id: int):
        services._get_warehouse(warehouse_id)
        _check_warehouses(warehouse_id)
        data = services.on_hand_by_product(warehouse_id)
        return {"warehouse_id": warehouse_id,
                "items": [{"product_id": pid, **v, "available": v["on_hand"] - v["reserved"]}
                          for pid, v in sorted(data.items())]}

    # --- valuation ---------------------------------------------------------------------
    @bp.endpoint("/valuation", permission="warehouse.valuation.read", query=ValuationQuery, response=ValuationOut,
                 summary="Stock value by warehouse and category, now or as of a date (from the ledger's values)")
    def stock_valuation(query: ValuationQuery):
        ids = None
        if query.warehouse_id is not None:
            services._get_warehouse(query.warehouse_id)
            _check_warehouses(query.warehouse_id)
            ids = [query.warehouse_id]
        allowed = _allowed_warehouses()
        if allowed is not None:
            ids = sorted(allowed if ids is None else set(ids) & allowed)
        data = services.valuation(warehouse_ids=ids, as_of=query.as_of,
                                  store_ids=[query.store_id] if query.store_id is not None else None)
        return ValuationOut(as_of=data["as_of"], rows=[ValuationRowOut(**r) for r in data["rows"]],
                            total_quantity=data["total_quantity"], total_value=data["total_value"])

    @bp.endpoint("/average-costs", permission="warehouse.valuation.read", query=AverageCostQuery,
                 response=AverageCostsOut, summary="Moving average cost per product and warehouse")
    def average_costs(query: AverageCostQuery):
        ids = None
        if query.warehouse_id is not None:
            services._get_warehouse(query.warehouse_id)
            _check_warehouses(query.warehouse_id)
            ids = [query.warehouse_id]
        allowed = _allowed_warehouses()
        if allowed is not None:
            ids = sorted(allowed if ids is None else set(ids) & allowed)
        if query.product_id is not None:
            services._get_product(query.product_id)
        rows = services.average_costs(product_ids=[query.product_id] if query.product_id is not None else None,
                                      warehouse_ids=ids)
        return AverageCostsOut(items=[AverageCostOut(**r) for r in rows])

    # --- transfers ---------------------------------------------------------------------
    @bp.endpoint("/transfers", permission="warehouse.transfer.read", query=Page, summary="List transfers")
    def list_transfers(query: Page):
        stmt = sa.select(Transfer).order_by(Transfer.id.desc())
        allowed = _allowed_warehouses()
        if allowed is not None:
            stmt = stmt.where(sa.or_(Transfer.from_warehouse_id.in_(allowed or [-1]),
                                     Transfer.to_warehouse_id.in_(allowed or [-1])))
        return paginate(stmt, query, _transfer_out)

    @bp.endpoint("/transfers", methods=["POST"], permission="warehouse.transfer.create", body=TransferIn,
                 response=TransferOut, status=201, summary="Create a draft transfer")
    def create_transfer(body: TransferIn):
        _check_warehouses(body.from_warehouse_id)
        tr = services.transfer(body.from_warehouse_id, body.to_warehouse_id,
                               [line.model_dump() for line in body.lines], note=body.note)
        return _transfer_out(tr)

    def _transfer(transfer_id):
        tr = db.session.get(Transfer, transfer_id)
        if tr is None:
            raise NotFound(_("Unknown transfer #%(id)s", id=transfer_id), transfer_id=transfer_id)
        _check_warehouses(tr.from_warehouse_id, tr.to_warehouse_id)
        return tr

    @bp.endpoint("/transfers/<int:transfer_id>", permission="warehouse.transfer.read", response=TransferOut,
                 summary="A transfer and its lines")
    def get_transfer(transfer_id: int):
        return _transfer_out(_transfer(transfer_id))

    @bp.endpoint("/transfers/<int:transfer_id>/ship", methods=["POST"], permission="warehouse.transfer.ship",
                 response=TransferOut, summary="Ship a transfer (into transit)")
    def ship_transfer(transfer_id: int):
        tr = _transfer(transfer_id)
        _check_warehouses(tr.from_warehouse_id)
        return _transfer_out(services.ship_transfer(transfer_id))

    @bp.endpoint("/transfers/<int:transfer_id>/receive", methods=["POST"], permission="warehouse.transfer.receive",
                 body=ReceiveIn, response=TransferOut,
                 summary="Receive a transfer; lines not given are received in full")
    def receive_transfer(transfer_id: int, body: ReceiveIn):
        tr = _transfer(transfer_id)
        _check_warehouses(tr.to_warehouse_id)
        return _transfer_out(services.receive_transfer(transfer_id, [line.model_dump() for line in body.lines]))

    # --- counts ------------------------------------------------------------------------
    def _count(count_id):
        c = db.session.get(Count, count_id)
        if c is None:
            raise NotFound(_("Unknown count #%(id)s", id=count_id), count_id=count_id)
        _check_warehouses(c.warehouse_id)
        return c

    @bp.endpoint("/counts", permission="warehouse.count.read", query=Page, summary="List counts")
    def list_counts(query: Page):
        stmt = sa.select(Count).order_by(Count.id.desc())
        allowed = _allowed_warehouses()
        if allowed is not None:
            stmt = stmt.where(Count.warehouse_id.in_(allowed or [-1]))
        return paginate(stmt, query, _count_out)

    @bp.endpoint("/counts", methods=["POST"], permission="warehouse.count.create", body=CountIn,
                 response=CountOut, status=201, summary="Create a draft count sheet")
    def create_count(body: CountIn):
        _check_warehouses(body.warehouse_id)
        return _count_out(services.create_count(body.warehouse_id, location_id=body.location_id,
                                                category_id=body.category_id))

    @bp.endpoint("/counts/<int:count_id>", permission="warehouse.count.read", response=CountOut,
                 summary="A count sheet and its lines")
    def get_count(count_id: int):
        return _count_out(_count(count_id))

    @bp.endpoint("/counts/<int:count_id>/start", methods=["POST"], permission="warehouse.count.start",
                 response=CountOut, summary="Start a count: freeze the expected quantities")
    def start_count(count_id: int):
        _count(count_id)
        return _count_out(services.start_count(count_id))

    @bp.endpoint("/counts/<int:count_id>/lines", methods=["PUT"], permission="warehouse.count.edit",
                 body=CountLinesIn, response=CountOut, summary="Enter counted quantities")
    def set_counted(count_id: int, body: CountLinesIn):
        _count(count_id)
        for line in body.lines:
            if line.product_id is None and not line.barcode:
                raise ValidationError(_("Each line needs a product_id or a barcode"))
            product = (db.session.get(Product, line.product_id) if line.product_id is not None
                       else db.session.scalar(sa.select(Product).where(Product.barcode == line.barcode)))
            if product is None:
                raise NotFound(_("Unknown product %(ref)s", ref=line.product_id or line.barcode))
            services.set_counted(count_id, product.id, line.counted)
        return _count_out(_count(count_id))

    @bp.endpoint("/counts/<int:count_id>/import", methods=["POST"], permission="warehouse.count.import",
                 response=CountOut, summary="Import counted quantities from a scanner CSV (text/csv body)")
    def import_count(count_id: int):
        _count(count_id)
        # the upload stream, read line by line: a sheet that is not UTF-8 is refused with its
        # line (decoding the whole body first replaced bad bytes silently)
        services.import_count_csv(count_id, request.stream)
        return _count_out(_count(count_id))

    @bp.endpoint("/counts/<int:count_id>/validate", methods=["POST"], permission="warehouse.count.validate",
                 response=CountOut, summary="Validate a count: post the differences")
    def validate_count(count_id: int):
        _count(count_id)
        return _count_out(services.validate_count(count_id))

    # --- reservations ------------------------------------------------------------------
    @bp.endpoint("/reservations", methods=["POST"], permission="warehouse.stock.issue", body=ReservationIn,
                 response=ReservationOut, status=201, summary="Reserve stock in a store (e.g. a web cart)")
    def create_reservation(body: ReservationIn):
        wh = services.warehouse_for_store(body.store_id)
        _check_warehouses(wh.id)
        expires = None
        if body.expires_in_minutes:
            expires = utcnow() + dt.timedelta(minutes=body.expires_in_minutes)
        res = services.reserve(body.product_id, services.stock_location(wh.id).id, body.quantity,
                               source=body.source, expires_at=expires)
        return ReservationOut.model_validate(res, from_attributes=True)

    @bp.endpoint("/reservations/<int:reservation_id>", methods=["DELETE"], permission="warehouse.stock.issue",
                 response=ReservationOut, summary="Release a reservation")
    def release_reservation(reservation_id: int):
        res = services.release(reservation_id)
        return ReservationOut.model_validate(res, from_attributes=True)

    return bp
