"""The warehouse addon's public Python API: the only module other addons import.

Stock only moves through :func:`post_moves` (and the services built on it). Each posting
updates the quants of the stock-holding locations in the caller's transaction:

- one quant row per (product, location) (a unique constraint); a missing row is inserted
  with ``INSERT ... ON CONFLICT DO NOTHING``, never read-then-insert, so concurrent
  postings cannot create duplicates;
- on PostgreSQL the quant rows a posting touches are locked in one fixed order (product
  id, location id), so concurrent tills never deadlock: by ``SELECT ... FOR UPDATE``, or,
  when the posting only decreases (a sale), by its one UPDATE running in that order;
- a decrease is a guarded ``UPDATE ... WHERE on_hand - reserved >= :q``, all the lines in
  one executemany: if the row count (the sum over the lines) is short, the posting is
  refused with InsufficientStock naming the line that cannot give, and the savepoint
  around it is rolled back, so nothing is written;
- then the moves are inserted and ``o2o_stock_moved`` fires, inside the transaction.

A posting sends the same number of statements whatever its number of lines.

Services never commit: the caller owns the transaction.
"""
from __future__ import annotations

import datetime as dt
import operator
from collections import defaultdict
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached

from core.cache import cached, watch
from core.db import db, utcnow
from core.errors import Conflict, InsufficientStock, NotFound, ValidationError
from core.events import fire
from core.i18n import _
from core.models import Product, Store
from core.timeutil import local_date

from addons.warehouse.models import (
    CUSTOMER, INTERNAL, INVENTORY, NEGATIVE_OPEN, NEGATIVE_RESOLVED, SCRAP, STOCK_USAGES, SUPPLIER,
    TILL_RECORD, TILL_REFUSE, TILL_SHORT_STOCK, TRANSIT,
    Count, CountLine, Location, NegativeStock, ProductCost, Quant, ReorderRule, Reservation, Revaluation,
    StockMove,
    Transfer, TransferLine, Warehouse,
)

__all__ = [
    "Warehouse", "Location", "StockMove", "Quant", "Reservation", "Transfer", "TransferLine",
    "Count", "CountLine", "ReorderRule", "Revaluation",
    "warehouse_for_store", "ensure_store_warehouses", "create_warehouse", "stock_location",
    "virtual_location", "receive", "issue", "reserve", "reserve_many", "release",
    "release_expired", "issue_reservation", "transfer", "ship_transfer", "receive_transfer",
    "scrap", "adjust", "post_moves", "on_hand", "available", "availability_by_store",
    "on_hand_by_product", "average_cost", "average_costs", "revalue", "valuation", "verify", "replenishment_proposal",
    "create_count", "start_count", "set_counted", "import_count_csv", "validate_count",
    "NegativeStock", "till_short_stock", "set_till_short_stock", "till_shortages",
    "propose_count", "resolve_negative_stock",
]

Q3 = Decimal("0.001")
MAX_QUANTITY = Decimal("1E11")  # Numeric(14, 3)
C2 = Decimal("0.01")
U4 = Decimal("0.0001")
EPS = Decimal("0.0005")  # SQLite keeps NUMERIC as REAL: compare quantities to half a unit of 0.001

VIRTUAL_CODES = {
    SUPPLIER: ("VIRTUAL/SUPPLIER", "Suppliers"),
    CUSTOMER: ("VIRTUAL/CUSTOMER", "Customers"),
    INVENTORY: ("VIRTUAL/INVENTORY", "Inventory loss"),
    SCRAP: ("VIRTUAL/SCRAP", "Scrap"),
    TRANSIT: ("VIRTUAL/TRANSIT", "In transit"),
}

quant_t = Quant.__table__
move_t = StockMove.__table__
loc_t = Location.__table__
cost_t = ProductCost.__table__
_p_t = Product.__table__
_QTY = Quant.on_hand.type

# the products with their average cost in each warehouse the posting touches, in the same
# statement: a join on the cost table's primary key (product, warehouse), an index probe
# per product and warehouse
_PRODUCTS_SQL = (sa.select(_p_t.c.id, _p_t.c.sku, _p_t.c.name, _p_t.c.active, _p_t.c.cost,
                           cost_t.c.warehouse_id, cost_t.c.average_cost)
                 .select_from(_p_t.outerjoin(cost_t, sa.and_(
                     cost_t.c.product_id == _p_t.c.id,
                     cost_t.c.warehouse_id.in_(sa.bindparam("whs", expanding=True)))))
                 .where(_p_t.c.id.in_(sa.bindparam("ids", expanding=True))))
_wh_t = Warehouse.__table__
_LOCATIONS_SQL = (sa.select(loc_t.c.id, loc_t.c.code, loc_t.c.name, loc_t.c.usage, loc_t.c.warehouse_id,
                            loc_t.c.allow_negative, loc_t.c.active,
                            # the store's choice for a till sale short of stock (cached with the location)
                            sa.select(_wh_t.c.till_short_stock).where(_wh_t.c.id == loc_t.c.warehouse_id)
                            .scalar_subquery().label("till_short_stock"),
                            sa.select(_wh_t.c.store_id).where(_wh_t.c.id == loc_t.c.warehouse_id)
                            .scalar_subquery().label("store_id"))
                  .where(loc_t.c.id.in_(sa.bindparam("ids", expanding=True))))
# Bounds that carry the half-unit tolerance (EPS) are bound as plain Numeric: the Quantity
# type would round them back to 0.001 and lose it.
_BOUND = sa.Numeric(28, 4)
_KEY = (quant_t.c.product_id == sa.bindparam("p"), quant_t.c.location_id == sa.bindparam("l"))
_INCREASE_SQL = quant_t.update().where(*_KEY).values(on_hand=quant_t.c.on_hand + sa.bindparam("d", type_=_QTY))
_GUARDED = {
    # on hand - reserved must cover what leaves (and the reservation consumed must exist)
    "available": quant_t.update().where(
        *_KEY, quant_t.c.on_hand - quant_t.c.reserved >= sa.bindparam("need", type_=_BOUND),
        quant_t.c.reserved >= sa.bindparam("rmin", type_=_BOUND)),
    # counts: what was physically counted, whatever is reserved
    "on_hand": quant_t.update().where(
        *_KEY, quant_t.c.on_hand >= sa.bindparam("need", type_=_BOUND),
        quant_t.c.reserved >= sa.bindparam("rmin", type_=_BOUND)),
    "none": quant_t.update().where(*_KEY),
}
# a till issue (check "till"): guarded as "available"; when it is short the sale is recorded
# anyway, see _apply_quant_updates (so the sale's one statement is the same)
_GUARDED["till"] = _GUARDED["available"]
for _k in _GUARDED:
    _GUARDED[_k] = _GUARDED[_k].values(on_hand=quant_t.c.on_hand + sa.bindparam("d", type_=_QTY),
                                       reserved=quant_t.c.reserved - sa.bindparam("r", type_=_QTY))
_LOCK_SQL = (sa.select(quant_t.c.id)
             .where(sa.tuple_(quant_t.c.product_id, quant_t.c.location_id).in_(sa.bindparam("keys", expanding=True)))
             .order_by(quant_t.c.product_id, quant_t.c.location_id).with_for_update())
_QUANTS_SQL = (sa.select(quant_t.c.product_id, quant_t.c.location_id, quant_t.c.on_hand, quant_t.c.reserved)
               .where(quant_t.c.product_id.in_(sa.bindparam("pids", expanding=True)),
                      quant_t.c.location_id.in_(sa.bindparam("lids", expanding=True))))
_RESERVE_SQL = (quant_t.update()
                .where(*_KEY, quant_t.c.on_hand - quant_t.c.reserved >= sa.bindparam("need", type_=_BOUND))
                .values(reserved=quant_t.c.reserved + sa.bindparam("q", type_=_QTY)))
_RESERVE_NEGATIVE_SQL = quant_t.update().where(*_KEY).values(reserved=quant_t.c.reserved + sa.bindparam("q", type_=_QTY))
_UNRESERVE_SQL = quant_t.update().where(*_KEY).values(reserved=quant_t.c.reserved - sa.bindparam("q", type_=_QTY))
# moving average per (product, warehouse): runs after the quants were updated, so stock
# before = the warehouse's stock now - received. (Constants are literal SQL: the statement
# is run with driver parameters, see _DriverSQL.)
_ZERO = sa.literal_column("0")
_STOCK_AFTER = (sa.select(sa.func.coalesce(sa.func.sum(quant_t.c.on_hand), _ZERO))
                .where(quant_t.c.product_id == sa.bindparam("pid"), quant_t.c.warehouse_id == sa.bindparam("wh"))
                .scalar_subquery())
_RQ, _RV = sa.bindparam("rq", type_=_QTY), sa.bindparam("rv", type_=sa.Numeric(28, 8))
_NEW_COST = sa.func.round(sa.case(
    (_STOCK_AFTER - _RQ <= _ZERO, _RV / _RQ),
    else_=((_STOCK_AFTER - _RQ) * cost_t.c.average_cost + _RV) / _STOCK_AFTER), sa.literal_column("4"))
_COST_UPDATE_SQL = (cost_t.update().where(cost_t.c.product_id == sa.bindparam("pid"),
                                         cost_t.c.warehouse_id == sa.bindparam("wh"))
                    .values(average_cost=_NEW_COST, updated_at=sa.bindparam("t")))
_COST_LOCK_SQL = (sa.select(cost_t.c.product_id, cost_t.c.warehouse_id)
                  .where(sa.tuple_(cost_t.c.product_id, cost_t.c.warehouse_id)
                         .in_(sa.bindparam("keys", expanding=True)))
                  .order_by(cost_t.c.product_id, cost_t.c.warehouse_id).with_for_update())
# on hand of a warehouse: one row per quant in product order (the warehouse index's order);
# the few products on several shelves are added up while reading
_WAREHOUSE_STOCK_SQL = (sa.select(quant_t.c.product_id, quant_t.c.on_hand, quant_t.c.reserved)
                        .where(quant_t.c.warehouse_id == sa.bindparam("wh"))
                        .order_by(quant_t.c.product_id))
# the ledger's columns as _post inserts them (the id is the database's, or drawn first on
# PostgreSQL)
_MOVE_COLUMNS = ("product_id", "quantity", "from_location_id", "to_location_id", "state", "unit_cost",
                 "value", "value_date", "source", "partner_id", "transfer_id", "user_id", "done_at", "created_at")


class _DriverSQL:
    """The posting statements compiled once per dialect and run with ``exec_driver_sql``,
    their parameters already in the driver's types: SQLAlchemy's per-row parameter
    processing was most of the Python time of a posting. Quantities stay Decimal up to
    here; on SQLite they are handed over the way SQLAlchemy's own Numeric type does (the
    database keeps NUMERIC as REAL anyway)."""

    def __init__(self, dialect):
        self.pg = dialect.name == "postgresql"
        num = sa.Numeric(14, 4).dialect_impl(dialect).bind_processor(dialect)
        self.num = num or _same
        when = move_t.c.done_at.type.dialect_impl(dialect).bind_processor(dialect)
        self.when = when or _same
        day = move_t.c.value_date.type.dialect_impl(dialect).bind_processor(dialect)
        self.day = day or _same
        self.mark = "%s" if self.pg else "?"
        self.guarded = {mode: self._compile(stmt, dialect) for mode, stmt in _GUARDED.items()}
        self.increase = self._compile(_INCREASE_SQL, dialect)
        ins = _dialect_insert_for(dialect.name, quant_t)
        self.quant_upsert = self._compile(
            ins.values(product_id=sa.bindparam("p"), location_id=sa.bindparam("l"),
                       warehouse_id=sa.bindparam("w"), on_hand=sa.bindparam("d", type_=_QTY),
                       reserved=_ZERO)
            .on_conflict_do_update(index_elements=["product_id", "location_id"],
                                   set_={"on_hand": quant_t.c.on_hand + ins.excluded.on_hand}), dialect)
        self.quant_missing = self._compile(
            ins.values(product_id=sa.bindparam("p"), location_id=sa.bindparam("l"),
                       warehouse_id=sa.bindparam("w"), on_hand=_ZERO, reserved=_ZERO)
            .on_conflict_do_nothing(index_elements=["product_id", "location_id"]), dialect)
        cost_ins = _dialect_insert_for(dialect.name, cost_t)
        self.cost_missing = self._compile(
            cost_ins.values(product_id=sa.bindparam("pid"), warehouse_id=sa.bindparam("wh"), average_cost=_ZERO,
                            updated_at=sa.bindparam("t"))
            .on_conflict_do_nothing(index_elements=["product_id", "warehouse_id"]),
            dialect)
        self.cost_update = self._compile(_COST_UPDATE_SQL, dialect)
        cols = ", ".join(_MOVE_COLUMNS)
        marks = ", ".join([self.mark] * len(_MOVE_COLUMNS))
        if self.pg:
            self.move_insert_one = f"INSERT INTO {move_t.name} ({cols}) VALUES ({marks}) RETURNING id"
            self.move_insert_ids = f"INSERT INTO {move_t.name} (id, {cols}) VALUES (%s, {marks})"
            self.move_ids = (f"SELECT nextval(pg_get_serial_sequence('{move_t.name}', 'id')) "
                             "FROM generate_series(1, %s)")
        else:
            self.move_insert = f"INSERT INTO {move_t.name} ({cols}) VALUES ({marks})"
        wh = _WAREHOUSE_STOCK_SQL.compile(dialect=dialect)
        self.warehouse_stock = (wh.string, wh.positional)

    @staticmethod
    def _compile(stmt, dialect):
        """(sql, to_params): ``to_params`` turns a dict of named values into what the
        driver takes for this statement (a tuple for positional parameter styles)."""
        compiled = stmt.compile(dialect=dialect)
        if compiled.positional:
            names = tuple(compiled.positiontup)
            if len(names) == 1:
                name = names[0]
                return compiled.string, lambda row: (row[name],)
            return compiled.string, operator.itemgetter(*names)
        return compiled.string, _same


def _same(value):
    return value


_DRIVER: dict[tuple, _DriverSQL] = {}


def _driver(connection) -> _DriverSQL:
    dialect = connection.dialect
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    found = _DRIVER.get(key)
    if found is None:
        found = _DRIVER[key] = _DriverSQL(dialect)
    return found


_VIRTUAL_IDS: dict[tuple[str, str], int] = {}


# --- helpers -----------------------------------------------------------------------------

def _session():
    return db.session


def _is_pg() -> bool:
    return _session().get_bind().dialect.name == "postgresql"


def _dialect_insert(table):
    return _dialect_insert_for("postgresql" if _is_pg() else "sqlite", table)


def _dialect_insert_for(name: str, table):
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _qty(value, what: str = "quantity", *, allow_zero: bool = False, product=None, place=None) -> Decimal:
    """A quantity as a Decimal rounded to 0.001; refuses floats' cousins, zero and negatives."""
    if value.__class__ is Decimal:
        q = value
    else:
        if isinstance(value, float):
            value = Decimal(str(value))
        try:
            q = Decimal(value)
        except (InvalidOperation, TypeError, ValueError):
            raise ValidationError(_("%(what)s %(value)r is not a number%(ctx)s", what=what, value=value,
                                    ctx=_ctx(product, place))) from None
    if not q.is_finite():
        raise ValidationError(_("%(what)s must be a number%(ctx)s", what=what, ctx=_ctx(product, place)))
    if q < 0 or (q == 0 and not allow_zero):
        raise ValidationError(_("%(what)s must be more than zero, not %(value)s%(ctx)s", what=what.capitalize(),
                                value=q, ctx=_ctx(product, place)), quantity=str(q))
    if q >= MAX_QUANTITY:  # the column holds Numeric(14, 3)
        raise ValidationError(_("%(what)s %(value)s is too large%(ctx)s", what=what.capitalize(), value=q,
                                ctx=_ctx(product, place)), quantity=str(q))
    if q.quantize(Q3, rounding=ROUND_HALF_UP) != q:
        raise ValidationError(_("%(what)s %(value)s has more than 3 decimals%(ctx)s", what=what.capitalize(),
                                value=q, ctx=_ctx(product, place)))
    return q


def _ctx(product=None, place=None) -> str:
    parts = []
    if product is not None:
        parts.append(_(" for %(product)s", product=_product_label(product)))
    if place is not None:
        parts.append(_(" at %(place)s", place=_place_label(place)))
    return "".join(parts)


def _product_label(product) -> str:
    if isinstance(product, Product):
        return f"[{product.sku}] {product.name}"
    if isinstance(product, dict):
        return f"[{product['sku']}] {product['name']}"
    return _("product #%(id)s", id=product)


def _place_label(place) -> str:
    if isinstance(place, Location):
        if place.warehouse is not None and place.usage == INTERNAL:
            return f"{place.code} ({place.warehouse.name})"
        return f"{place.code} ({place.name})"
    if isinstance(place, Warehouse):
        return f"{place.code} {place.name}"
    if isinstance(place, dict):
        return f"{place['code']} ({place['name']})"
    return _("location #%(id)s", id=place)


def _products(ids, warehouse_ids=()) -> dict[int, dict]:
    """id, sku, name, active, list cost (``cost``) and the average cost in each of
    ``warehouse_ids`` (``costs``: {warehouse id: cost}, only where one is known) of each
    product, in one query."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    whs = sorted({int(w) for w in warehouse_ids if w is not None})
    rows = _session().connection().execute(_PRODUCTS_SQL, {"ids": list(ids), "whs": whs}).all()
    found: dict[int, dict] = {}
    for r in rows:
        p = found.get(r.id)
        if p is None:
            p = found[r.id] = {"id": r.id, "sku": r.sku, "name": r.name, "active": r.active, "cost": r.cost,
                               "costs": {}}
        if r.warehouse_id is not None:
            p["costs"][r.warehouse_id] = r.average_cost
    missing = sorted(ids - set(found))
    if missing:
        raise NotFound(_("Unknown product: there is no product #%(id)s", id=missing[0]), product_id=missing[0])
    return found


def _locations(ids) -> dict[int, dict]:
    """Locations by id, from the config cache (they are set up, rarely changed)."""
    ids = {int(i) for i in ids}
    found = {}
    for location_id in ids:
        row = cached(("warehouse.location", location_id), lambda: _load_location(location_id))
        if row is not None:
            found[location_id] = row
    missing = sorted(ids - set(found))
    if missing:
        raise NotFound(_("Unknown location: there is no stock location #%(id)s", id=missing[0]),
                       location_id=missing[0])
    return found


def _load_location(location_id: int) -> dict | None:
    row = _session().connection().execute(_LOCATIONS_SQL, {"ids": [location_id]}).first()
    return dict(row._mapping) if row is not None else None


# locations (usage, archived, negative stock allowed) and warehouses are cached
watch("warehouse_location", "warehouse_warehouse")


def _get_product(product_id) -> Product:
    product = _session().get(Product, int(product_id)) if product_id is not None else None
    if product is None:
        raise NotFound(_("Unknown product: there is no product #%(id)s", id=product_id), product_id=product_id)
    return product


def _get_location(location_id) -> Location:
    location = _session().get(Location, int(location_id)) if location_id is not None else None
    if location is None:
        raise NotFound(_("Unknown location: there is no stock location #%(id)s", id=location_id),
                       location_id=location_id)
    return location


def _get_warehouse(warehouse_id) -> Warehouse:
    wh = _session().get(Warehouse, int(warehouse_id)) if warehouse_id is not None else None
    if wh is None:
        raise NotFound(_("Unknown warehouse: there is no warehouse #%(id)s", id=warehouse_id),
                       warehouse_id=warehouse_id)
    return wh


def _current_user_id():
    try:
        from flask import has_request_context
        from flask_login import current_user
        if has_request_context() and getattr(current_user, "is_authenticated", False):
            return current_user.id
    except Exception:  # pragma: no cover - outside a request
        pass
    return None


# --- warehouses and locations ------------------------------------------------------------

def virtual_location(usage: str) -> Location:
    """The shared virtual location for ``usage`` (supplier, customer, inventory, scrap,
    transit), created on first use."""
    code, name = VIRTUAL_CODES[usage]
    session = _session()
    bind = session.get_bind()
    cache_key = (str(bind.engine.url), code)
    cached = _VIRTUAL_IDS.get(cache_key)
    if cached is not None:
        loc = session.get(Location, cached)
        if loc is not None and loc.code == code:
            return loc
    loc = session.scalar(sa.select(Location).where(Location.code == code))
    if loc is not None:
        _VIRTUAL_IDS[cache_key] = loc.id  # committed before (base data): safe to remember
    else:
        stmt = _dialect_insert(loc_t).values(code=code, name=name, usage=usage, allow_negative=False,
                                             active=True).on_conflict_do_nothing(index_elements=["code"])
        session.execute(stmt)
        loc = session.scalar(sa.select(Location).where(Location.code == code))
    return loc


def _virtual_id(usage: str) -> int:
    """The id of a virtual location, remembered per database after the first look-up."""
    session = _session()
    cached = _VIRTUAL_IDS.get((str(session.get_bind().engine.url), VIRTUAL_CODES[usage][0]))
    return cached if cached is not None else virtual_location(usage).id


def ensure_virtual_locations() -> dict[str, Location]:
    return {usage: virtual_location(usage) for usage in VIRTUAL_CODES}


def create_warehouse(code: str, name: str, *, kind: str = "central", store_id=None) -> Warehouse:
    """A warehouse with its stock location (``<code>/STOCK``)."""
    code = (code or "").strip()
    if not code or not (name or "").strip():
        raise ValidationError(_("A warehouse needs a code and a name"))
    session = _session()
    if session.scalar(sa.select(Warehouse.id).where(Warehouse.code == code)) is not None:
        raise Conflict(_("A warehouse with the code %(code)s already exists", code=code))
    wh = Warehouse(code=code, name=name, kind=kind, store_id=store_id, active=True)
    session.add(wh)
    session.flush()
    session.add(Location(code=f"{code}/STOCK", name=_("%(name)s stock", name=name), usage=INTERNAL,
                         warehouse_id=wh.id))
    session.flush()
    return wh


def _store_warehouse_rows(connection, store_id, code, name, kind):
    """Insert a store's warehouse and stock location with plain SQL (used from a flush)."""
    wh_t = Warehouse.__table__
    now = utcnow()
    exists = connection.execute(sa.select(wh_t.c.id).where(wh_t.c.store_id == store_id)).scalar()
    if exists is not None:
        return exists
    wh_code = code
    if connection.execute(sa.select(wh_t.c.id).where(wh_t.c.code == wh_code)).scalar() is not None:
        wh_code = f"S{store_id}-{code}"[:16]
    wh_id = connection.execute(wh_t.insert().values(
        code=wh_code, name=name, kind="central" if kind == "dc" else "store", store_id=store_id,
        active=True, created_at=now, updated_at=now)).inserted_primary_key[0]
    connection.execute(loc_t.insert().values(code=f"{wh_code}/STOCK", name=f"{name} stock", usage=INTERNAL,
                                             warehouse_id=wh_id, allow_negative=False, active=True))
    return wh_id


def on_store_inserted(mapper, connection, target) -> None:
    """SQLAlchemy ``after_insert`` listener on Store: a warehouse for every new store (only
    in apps where the warehouse addon is enabled)."""
    try:
        from flask import current_app, has_app_context
        if not has_app_context() or not current_app.extensions["o2o"].is_enabled("warehouse"):
            return
    except (KeyError, RuntimeError):
        return
    _store_warehouse_rows(connection, target.id, target.code, target.name, target.kind)


_listening = False


def install_store_listener() -> None:
    """Listen to Store inserts (once per process; the listener checks the app)."""
    global _listening
    if not _listening:
        sa.event.listen(Store, "after_insert", on_store_inserted)
        _listening = True


def ensure_store_warehouses(session=None) -> int:
    """Create the warehouse (and stock location) of every store that has none; returns how
    many were created."""
    session = session or _session()
    ensure_virtual_locations()
    stores = session.execute(sa.select(Store.id, Store.code, Store.name, Store.kind)
                             .where(~sa.exists().where(Warehouse.store_id == Store.id))
                             .order_by(Store.id)).all()
    connection = session.connection()
    for s in stores:
        _store_warehouse_rows(connection, s.id, s.code, s.name, s.kind)
    return len(stores)


def warehouse_for_store(store_id) -> Warehouse:
    """The warehouse of a store (created now if the store predates the addon)."""
    session = _session()
    wh = session.scalar(sa.select(Warehouse).where(Warehouse.store_id == store_id))
    if wh is None:
        store = session.get(Store, int(store_id)) if store_id is not None else None
        if store is None:
            raise NotFound(_("Unknown store: there is no store #%(id)s", id=store_id), store_id=store_id)
        _store_warehouse_rows(session.connection(), store.id, store.code, store.name, store.kind)
        wh = session.scalar(sa.select(Warehouse).where(Warehouse.store_id == store_id))
    return wh


def stock_location(warehouse_id) -> Location:
    """The warehouse's main stock location (its shelves are children of it)."""
    loc = _session().scalar(sa.select(Location).where(
        Location.warehouse_id == warehouse_id, Location.usage == INTERNAL, Location.parent_id.is_(None))
        .order_by(Location.id).limit(1))
    if loc is None:
        wh = _get_warehouse(warehouse_id)
        loc = Location(code=f"{wh.code}/STOCK", name=_("%(name)s stock", name=wh.name), usage=INTERNAL,
                       warehouse_id=wh.id)
        _session().add(loc)
        _session().flush()
    return loc


def _warehouse_location_ids(warehouse_id) -> list[int]:
    return list(_session().scalars(sa.select(Location.id).where(Location.warehouse_id == warehouse_id,
                                                                 Location.usage == INTERNAL)))


# --- posting -----------------------------------------------------------------------------

def post_moves(moves: list[dict], *, check: str = "available") -> int:
    """Post done moves in one go (imports, bench): each dict has ``product_id``,
    ``from_location_id``, ``to_location_id``, ``quantity`` and optionally ``unit_cost``,
    ``source``, ``partner_id``. All or nothing; returns how many were posted.

    ``check``: "available" (refuse what on hand - reserved cannot cover), or, for goods a
    till already handed over, "till": the store's ``till_short_stock`` decides, "record"
    (book stock may go negative; each shortfall raises a :class:`NegativeStock` exception)
    or "refuse" (as "available"); "till_record" records whatever the store chose (a
    refused till sale the store manager converts)."""
    if check not in ("available", "till", "till_record"):
        raise ValidationError(_("Unknown stock check %(check)r", check=check))
    return len(_post(moves, check=check, rows=False))


class _Short(Exception):
    """A guarded decrease did not apply to every row (raised inside the savepoint)."""


def _post(moves: list[dict], *, check: str = "available", unreserve: dict | None = None,
          transfer_id=None, expect: str | None = None, rows: bool = True, store_id=None) -> list:
    """The one place stock moves. ``check``: "available" (on hand - reserved must cover an
    outgoing quantity), "on_hand" (ignore reservations: counts) or "none"; ``unreserve``
    maps (product, location) to a reserved quantity consumed by this posting. A move's
    ``unit_cost`` of ``"average"`` is the product's current average cost in the warehouse
    it leaves (or, coming from outside, enters); the last known one when the stock is
    zero or negative, the product's cost when none is known. A move's ``value`` (quantity
    x unit cost at the currency's precision) is computed here unless given (a transfer's
    parts share the value the goods left at). ``expect``: "receive" (destination must be a
    stock location) or "issue" (source must be). ``store_id``: whose local date the
    posting has (``value_date``); by default the store of the first stock side.

    Returns the posted StockMove rows, attached to the session. With ``rows=False`` (the
    caller only counts them) and nobody listening to ``o2o_stock_moved``, the rows are not
    built and their ids are returned instead.

    The number of statements does not depend on the number of moves: the products, the
    locations, the quant writes (one statement per kind: insert missing rows, guarded
    decreases per check, increases; a savepoint around them when a refusal could follow
    another write), the average costs on receipts, and the ledger rows."""
    if not moves:
        return []
    session = _session()
    conn = session.connection()
    drv = _driver(conn)
    locations = _locations([m["from_location_id"] for m in moves] + [m["to_location_id"] for m in moves])
    products = _products([m["product_id"] for m in moves],
                         {loc["warehouse_id"] for loc in locations.values() if loc["usage"] == INTERNAL})
    clean = []
    deltas: dict[tuple[int, int], Decimal] = {}
    receipts: dict[tuple[int, int], list[Decimal]] = {}
    zero = _D0
    for m in moves:
        pid, src, dst = int(m["product_id"]), int(m["from_location_id"]), int(m["to_location_id"])
        product, src_loc, dst_loc = products[pid], locations[src], locations[dst]
        src_usage, dst_usage = src_loc["usage"], dst_loc["usage"]
        if expect == "receive" and dst_usage != INTERNAL:
            raise ValidationError(_("Cannot receive %(product)s into %(place)s: it is a virtual location, "
                                    "not a place where stock is kept",
                                    product=_product_label(product), place=_place_label(dst_loc)))
        if expect == "issue" and src_usage != INTERNAL:
            raise ValidationError(_("Cannot take %(product)s out of %(place)s: it is a virtual location, "
                                    "not a place where stock is kept",
                                    product=_product_label(product), place=_place_label(src_loc)))
        src_stock, dst_stock = src_usage in STOCK_USAGES, dst_usage in STOCK_USAGES
        q = _qty(m["quantity"], product=product, place=src_loc if src_stock or not dst_stock else dst_loc)
        if src == dst:
            raise ValidationError(_("A move of %(product)s needs two different locations, not %(place)s twice",
                                    product=_product_label(product), place=_place_label(src_loc)))
        for loc in (src_loc, dst_loc):
            if not loc["active"]:
                raise ValidationError(_("%(place)s is archived: no stock may move in or out of it (%(product)s)",
                                        place=_place_label(loc), product=_product_label(product)))
        unit_cost = m.get("unit_cost")
        if expect == "receive" and unit_cost is None:
            raise ValidationError(_("A receipt of %(product)s at %(place)s needs a unit cost",
                                    product=_product_label(product), place=_place_label(dst_loc)))
        if unit_cost == "average":
            # the cost of the warehouse it leaves, or (restocking) enters
            cost_wh = src_loc["warehouse_id"] if src_usage == INTERNAL else dst_loc["warehouse_id"]
            unit_cost = product["costs"].get(cost_wh)
            if unit_cost is None:
                unit_cost = product["cost"]
        if unit_cost is not None:
            if unit_cost.__class__ is not Decimal:
                if isinstance(unit_cost, float):
                    unit_cost = Decimal(str(unit_cost))
                try:
                    unit_cost = Decimal(unit_cost)
                except (InvalidOperation, TypeError, ValueError):
                    raise ValidationError(_("The unit cost %(value)r of %(product)s is not a number",
                                            value=unit_cost, product=_product_label(product))) from None
            if unit_cost < 0 or not unit_cost.is_finite():
                raise ValidationError(_("The unit cost of %(product)s cannot be negative",
                                        product=_product_label(product)))
            unit_cost = unit_cost.quantize(U4, ROUND_HALF_UP)  # as the column keeps it
        value = m.get("value")
        if value is None:
            value = None if unit_cost is None else (q * unit_cost).quantize(C2, ROUND_HALF_UP)
        else:
            value = Decimal(value).quantize(C2, ROUND_HALF_UP)
        if src_stock:
            key = (pid, src)
            deltas[key] = deltas.get(key, zero) - q
        if dst_stock:
            key = (pid, dst)
            deltas[key] = deltas.get(key, zero) + q
            # a receipt with a value into a warehouse from outside it moves its average cost
            dst_wh = dst_loc["warehouse_id"]
            if (value is not None and dst_usage == INTERNAL
                    and (src_usage in _COSTED_SOURCES
                         or (src_usage == INTERNAL and src_loc["warehouse_id"] != dst_wh))):
                acc = receipts.get((pid, dst_wh))
                if acc is None:
                    receipts[(pid, dst_wh)] = [q, value]
                else:
                    acc[0] += q
                    acc[1] += value
        clean.append((pid, q, src, dst, unit_cost, value, m.get("source"), m.get("partner_id"),
                      m.get("transfer_id", transfer_id)))
    unreserve = unreserve or {}
    for key in unreserve:
        deltas.setdefault(key, zero)

    now = utcnow()
    if store_id is None:
        store_id = next((loc["store_id"] for m in clean for loc in (locations[m[2]], locations[m[3]])
                         if loc["usage"] == INTERNAL and loc["store_id"] is not None), None)
    value_date = local_date(now, store_id)
    user_id = _current_user_id()
    plan = _plan_quant_updates(deltas, locations, check, unreserve, drv)
    shortfalls = _apply_quant_updates(conn, drv, plan, products, locations, check)
    if shortfalls:
        _record_negative_stock(conn, shortfalls, clean, locations, now)
    if receipts:
        _update_average_costs(conn, drv, receipts, now)
    ids = _insert_moves(conn, drv, clean, user_id, now, value_date)
    short = _receipts_from_below_zero(receipts) if receipts else []
    if not rows and not _listened():
        if short:
            _settle_below_zero(short, now, value_date, user_id, clean[0][6])
        return ids
    new_instance = _new_move
    out = []
    for move_id, (pid, q, src, dst, unit_cost, value, source, partner_id, tr_id) in zip(ids, clean):
        # the row as inserted: loaded values straight into the instance, no change events
        src_loc, dst_loc = locations[src], locations[dst]
        obj = new_instance()
        obj.__dict__.update(id=move_id, product_id=pid, quantity=q, from_location_id=src, to_location_id=dst,
                            state="done", unit_cost=unit_cost, value=value, value_date=value_date,
                            source=source, partner_id=partner_id, transfer_id=tr_id, user_id=user_id,
                            done_at=now, created_at=now)
        make_transient_to_detached(obj)
        # what listeners need beyond the row (see the hookspec): not mapped, not stored
        obj.__dict__.update(from_usage=src_loc["usage"], to_usage=dst_loc["usage"],
                            from_warehouse_id=src_loc["warehouse_id"], to_warehouse_id=dst_loc["warehouse_id"],
                            from_store_id=src_loc["store_id"], to_store_id=dst_loc["store_id"],
                            store_id=store_id)
        out.append(obj)
    session.add_all(out)
    fire("o2o_stock_moved", moves=out)
    if short:
        _settle_below_zero(short, now, value_date, user_id, clean[0][6])
    return out


def _receipts_from_below_zero(receipts) -> list[tuple[int, int, Decimal]]:
    """The (product, warehouse, stock now) of the receipts of this posting that started from
    zero or below (one read of the quants; receipts only, never a sale)."""
    keys = sorted(receipts)
    stock = {(r.product_id, r.warehouse_id): Decimal(str(r.q)) for r in _session().execute(
        sa.select(quant_t.c.product_id, quant_t.c.warehouse_id, sa.func.sum(quant_t.c.on_hand).label("q"))
        .where(sa.tuple_(quant_t.c.product_id, quant_t.c.warehouse_id).in_(keys))
        .group_by(quant_t.c.product_id, quant_t.c.warehouse_id))}
    return [(p, w, stock.get((p, w), _D0)) for p, w in keys
            if stock.get((p, w), _D0) - receipts[(p, w)][0] <= EPS]


def _settle_below_zero(short, now, value_date, user_id, source) -> None:
    """Goods sold from zero or negative stock left at the last known average; the receipt
    that refills the shelf sets the real cost. What the ledger's value then differs from
    stock x the new average (what those sales should have cost, and rounding left over at
    zero) is revalued against cost of goods sold (reason "negative"), so the value of the
    stock is never a residue of the shortage."""
    session = _session()
    rv_t = Revaluation.__table__
    rows = []
    for pid, wh_id, held in short:
        locs = sa.select(loc_t.c.id).where(loc_t.c.warehouse_id == wh_id, loc_t.c.usage == INTERNAL).scalar_subquery()
        value = sa.func.coalesce(move_t.c.value, 0)
        ledger = session.execute(sa.select(
            sa.select(sa.func.coalesce(sa.func.sum(value), 0)).where(
                move_t.c.product_id == pid, move_t.c.state == "done", move_t.c.to_location_id.in_(locs))
            .scalar_subquery(),
            sa.select(sa.func.coalesce(sa.func.sum(value), 0)).where(
                move_t.c.product_id == pid, move_t.c.state == "done", move_t.c.from_location_id.in_(locs))
            .scalar_subquery(),
            sa.select(sa.func.coalesce(sa.func.sum(rv_t.c.value), 0)).where(
                rv_t.c.product_id == pid, rv_t.c.warehouse_id == wh_id).scalar_subquery(),
            sa.select(cost_t.c.average_cost).where(cost_t.c.product_id == pid, cost_t.c.warehouse_id == wh_id)
            .scalar_subquery())).one()
        booked = (Decimal(str(ledger[0])) - Decimal(str(ledger[1])) + Decimal(str(ledger[2]))).quantize(C2, ROUND_HALF_UP)
        target = (held * Decimal(str(ledger[3] or 0))).quantize(C2, ROUND_HALF_UP)
        if target != booked:
            rows.append(Revaluation(product_id=pid, warehouse_id=wh_id, value=target - booked, quantity=held,
                                    reason="negative", source=source, value_date=value_date, user_id=user_id,
                                    done_at=now))
    if not rows:
        return
    stores = dict(session.execute(sa.select(Warehouse.id, Warehouse.store_id)
                                  .where(Warehouse.id.in_({r.warehouse_id for r in rows}))).all())
    session.add_all(rows)
    session.flush()
    for r in rows:
        r.store_id = stores.get(r.warehouse_id)
    fire("o2o_stock_revalued", revaluations=rows)


# receipts from these (and from another warehouse) move the average cost of the warehouse
# the goods enter: suppliers, transfers arriving, customers' returns put back on the shelf
_COSTED_SOURCES = (SUPPLIER, TRANSIT, CUSTOMER)


_D0 = Decimal(0)
_new_move = StockMove.__mapper__.class_manager.new_instance


def _listened() -> bool:
    """Whether any addon listens to the stock event (directly or after the commit)."""
    from core.events import hook
    relay = hook()
    return bool(relay.o2o_stock_moved.get_hookimpls() or relay.o2o_after_commit.get_hookimpls())


def _insert_moves(conn, drv: _DriverSQL, clean: list[tuple], user_id, now, value_date) -> list[int]:
    """Insert the ledger rows and return their ids, in order. SQLite: one executemany (this
    transaction holds the write lock, so its rowids are consecutive up to the last one;
    cheaper than a multi-row INSERT or RETURNING); PostgreSQL: the ids are drawn from the
    sequence first."""
    num, when, day = drv.num, drv.when(now), drv.day(value_date)

    def params(row):
        pid, q, src, dst, unit_cost, value, source, partner_id, tr_id = row
        cost = None if unit_cost is None else num(unit_cost)  # quantized as UnitPrice would
        return (pid, num(q), src, dst, "done", cost, None if value is None else num(value), day, source,
                partner_id, tr_id, user_id, when, when)

    if drv.pg:
        if len(clean) == 1:
            return [conn.exec_driver_sql(drv.move_insert_one, params(clean[0])).scalar_one()]
        ids = conn.exec_driver_sql(drv.move_ids, (len(clean),)).scalars().all()
        ids.sort()
        conn.exec_driver_sql(drv.move_insert_ids, [(move_id, *params(row)) for move_id, row in zip(ids, clean)])
        return ids
    if len(clean) == 1:
        return [conn.exec_driver_sql(drv.move_insert, params(clean[0])).lastrowid]
    conn.exec_driver_sql(drv.move_insert, [params(row) for row in clean])
    last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar()
    return list(range(last - len(clean) + 1, last + 1))


def _plan_quant_updates(deltas, locations, check, unreserve, drv: _DriverSQL) -> dict:
    """What the posting does to each quant, in (product, location) order: ``creatable``
    rows to insert if missing, ``plain`` increases, ``guarded`` decreases by check mode
    (each with its bounds, already in the driver's types)."""
    num = drv.num
    keys = sorted(k for k in deltas if locations[k[1]]["usage"] in STOCK_USAGES)
    creatable, plain, guarded = [], [], []
    by_mode: dict[str, list] = {}
    for key in keys:
        d, r = deltas[key], unreserve.get(key, _D0)
        loc = locations[key[1]]
        mode = "none" if (check == "none" or loc["allow_negative"]) else check
        if mode in ("till", "till_record"):
            # goods already in the shopper's hand: recorded short unless the store refuses
            mode = "available" if (mode == "till" and loc.get("till_short_stock") == TILL_REFUSE) else "till"
        if d > 0 or mode == "none":
            creatable.append({"p": key[0], "l": key[1], "w": loc["warehouse_id"]})
        if d >= 0 and r == 0:
            if d != 0:
                plain.append({"p": key[0], "l": key[1], "w": loc["warehouse_id"], "d": num(d)})
        else:
            need = -d - EPS if mode == "on_hand" else -d - r - EPS
            guarded.append({"p": key[0], "l": key[1], "d": d, "r": r, "need": need, "rmin": r - EPS, "mode": mode})
            by_mode.setdefault(mode, []).append({"p": key[0], "l": key[1], "d": num(d), "r": num(r),
                                                 "need": num(need), "rmin": num(r - EPS)})
    return {"keys": keys, "creatable": creatable, "plain": plain, "guarded": guarded, "by_mode": by_mode}


def _apply_quant_updates(conn, drv: _DriverSQL, plan, products, locations, check) -> list[dict]:
    """1. insert missing rows (never read-then-insert); 2. on PostgreSQL lock every row the
    posting touches in one fixed order; 3. guarded decreases, one statement per check
    mode, checked by the row count (the sum over the rows); 4. increases in one round trip.

    Receipts alone are one upsert per row in key order, which also takes the row locks in
    that order. Decreases of one mode and nothing else (a sale) need no separate lock
    statement: their one statement updates, so locks, the rows in key order.

    Till rows (mode "till") are guarded like "available"; only when the guard falls short
    are the quants read (one SELECT), the short rows posted unguarded (stock goes negative)
    and returned as shortfalls ``[{"p", "l", "short", "after"}]``: a sale that fits costs
    nothing more."""
    shortfalls: list[dict] = []
    if not plan["keys"]:
        return shortfalls
    if not plan["guarded"]:
        if plan["plain"]:
            sql, to_params = drv.quant_upsert
            conn.exec_driver_sql(sql, [to_params(r) for r in plan["plain"]])
        return shortfalls
    session = _session()
    # a savepoint only where a refusal could follow another write of this posting
    savepoint = bool(plan["creatable"]) or len(plan["guarded"]) > 1

    def apply():
        conn = session.connection()
        if plan["creatable"]:
            sql, to_params = drv.quant_missing
            conn.exec_driver_sql(sql, [to_params(r) for r in plan["creatable"]])
        # (decided per attempt: a till posting short of stock has a second mode on the retry)
        if drv.pg and len(plan["keys"]) > 1 and (bool(plan["plain"]) or len(plan["by_mode"]) > 1):
            conn.execute(_LOCK_SQL, {"keys": plan["keys"]})
        for mode, params in plan["by_mode"].items():
            sql, to_params = drv.guarded[mode]
            if len(params) == 1:
                done = conn.exec_driver_sql(sql, to_params(params[0])).rowcount
            else:
                done = conn.exec_driver_sql(sql, [to_params(r) for r in params]).rowcount
            if done != len(params):
                raise _Short()

    attempt = 0
    while True:
        try:
            if savepoint:
                # on the connection, not the session: a session savepoint would first flush
                # the caller's pending rows, which are not this posting's business
                with session.connection().begin_nested():
                    apply()
            else:
                apply()
        except _Short:
            # nothing of the posting is written: name the first row that cannot give, or
            # (till rows) post the short ones unguarded and try again
            short = _refuse_short_row(plan["guarded"], products, locations, check, anyway=attempt == 2)
            if short:
                shortfalls.extend(short)
                _record_short_anyway(plan, short, drv)
                savepoint = True
            else:
                attempt += 1  # a concurrent posting gave the stock back in between: try again
            continue
        break
    if plan["plain"]:
        sql, to_params = drv.increase
        conn.exec_driver_sql(sql, [to_params(r) for r in plan["plain"]])
    return shortfalls


def _record_short_anyway(plan, short: list[dict], drv: _DriverSQL) -> None:
    """Turn the short till rows of a plan into unguarded decreases (their quant row is
    inserted first if the shop never had the product)."""
    keys = {(s["p"], s["l"]) for s in short}
    by_mode = plan["by_mode"]
    kept = [r for r in by_mode.get("till", ()) if (r["p"], r["l"]) not in keys]
    moved = [r for r in by_mode.get("till", ()) if (r["p"], r["l"]) in keys]
    if kept:
        by_mode["till"] = kept
    else:
        by_mode.pop("till", None)
    by_mode.setdefault("none", []).extend(moved)
    for g in plan["guarded"]:
        if (g["p"], g["l"]) in keys:
            g["mode"] = "none"
    known = {(c["p"], c["l"]) for c in plan["creatable"]}
    for s in short:
        if (s["p"], s["l"]) not in known:
            plan["creatable"].append({"p": s["p"], "l": s["l"], "w": s["w"]})
    plan["creatable"].sort(key=lambda c: (c["p"], c["l"]))


def _refuse_short_row(guarded, products, locations, check, *, anyway: bool) -> list[dict]:
    """Read the guarded rows in one SELECT and raise InsufficientStock for the first (in
    key order) whose guard fails now. Till rows whose guard fails are not refused: they are
    returned (with how much is short and the on hand they leave). Returns [] if no row
    fails (and ``anyway`` is false)."""
    found = {(r.product_id, r.location_id): (r.on_hand, r.reserved) for r in _session().execute(
        _QUANTS_SQL, {"pids": sorted({g["p"] for g in guarded}), "lids": sorted({g["l"] for g in guarded})})}
    short = []
    for g in guarded:
        on_hand, reserved = found.get((g["p"], g["l"]), (_D0, _D0))
        if g["mode"] == "till":
            wanted = -g["d"]
            avail = Decimal(on_hand) - Decimal(reserved)
            if avail < g["need"]:
                short.append({"p": g["p"], "l": g["l"], "w": locations[g["l"]]["warehouse_id"],
                              "short": (wanted - max(avail, _D0)).quantize(Q3),
                              "after": (Decimal(on_hand) - wanted).quantize(Q3)})
            continue
        if g["mode"] == "available":
            fits = on_hand - reserved >= g["need"] and reserved >= g["rmin"]
        elif g["mode"] == "on_hand":
            fits = on_hand >= g["need"] and reserved >= g["rmin"]
        else:  # unguarded (negative stock allowed): its row was inserted first, it cannot miss
            fits = True
        if not fits:
            _refuse_shortage(g["p"], g["l"], -g["d"], products, locations, check, row=(on_hand, reserved))
    if short:
        return short
    if anyway:
        g = guarded[0]
        _refuse_shortage(g["p"], g["l"], -g["d"], products, locations, check,
                         row=found.get((g["p"], g["l"]), (_D0, _D0)))
    return []


_NEGATIVE_INSERT = sa.insert(NegativeStock.__table__)


def _record_negative_stock(conn, shortfalls: list[dict], clean: list[tuple], locations, now) -> None:
    """One negative-stock exception per short (product, location) of a till posting, for
    the store manager (admin list, count proposal); the document is the moves' source."""
    sources = {}
    for pid, _q, src, _dst, _cost, _value, source, _partner, _tr in clean:
        sources.setdefault((pid, src), source)
    conn.execute(_NEGATIVE_INSERT, [
        {"product_id": s["p"], "location_id": s["l"], "warehouse_id": s["w"],
         "store_id": locations[s["l"]].get("store_id"), "quantity_short": s["short"], "on_hand_after": s["after"],
         "source": (sources.get((s["p"], s["l"])) or "")[:64] or None, "state": NEGATIVE_OPEN, "created_at": now}
        for s in shortfalls])


def _quant_insert_missing():
    return _dialect_insert(quant_t).on_conflict_do_nothing(index_elements=["product_id", "location_id"])


def _refuse_shortage(product_id, location_id, wanted, products, locations, check, row=None):
    """Raise InsufficientStock for a product at a place; ``row`` is its quant's (on hand,
    reserved) if already read."""
    if row is None:
        q = _session().execute(sa.select(quant_t.c.on_hand, quant_t.c.reserved).where(
            quant_t.c.product_id == product_id, quant_t.c.location_id == location_id)).first()
        row = (q.on_hand, q.reserved) if q else (_D0, _D0)
    on_hand_now, reserved_now = row
    avail = on_hand_now - (reserved_now if check != "on_hand" else 0)
    product, place = products[product_id], locations[location_id]
    raise InsufficientStock(
        _("Not enough %(product)s at %(place)s: %(available)s available, %(wanted)s needed",
          product=_product_label(product), place=_place_label(place),
          available=Decimal(avail).quantize(Q3), wanted=Decimal(wanted).quantize(Q3)),
        product_id=product_id, location_id=location_id, available=str(Decimal(avail).quantize(Q3)),
        requested=str(Decimal(wanted).quantize(Q3)))


def _update_average_costs(conn, drv: _DriverSQL, receipts: dict[tuple[int, int], list[Decimal]], now) -> None:
    """Moving average per (product, warehouse): (stock before x old cost + received value)
    / stock after, computed in SQL after the quants were updated (stock before = the
    warehouse's stock now - received; at zero or below, the received cost). On PostgreSQL
    the cost rows are locked first (in key order), so the statement that reads the stock
    runs after any concurrent receipt of the same product into the warehouse committed."""
    session = _session()
    keys = sorted(receipts)
    when, num = drv.when(now), drv.num
    missing_sql, missing_params = drv.cost_missing
    if drv.pg:
        locked = {tuple(r) for r in session.execute(_COST_LOCK_SQL, {"keys": keys})}
        missing = [k for k in keys if k not in locked]
        if missing:
            conn.exec_driver_sql(missing_sql, [missing_params({"pid": p, "wh": w, "t": when}) for p, w in missing])
            session.execute(_COST_LOCK_SQL, {"keys": missing})
    else:
        conn.exec_driver_sql(missing_sql, [missing_params({"pid": p, "wh": w, "t": when}) for p, w in keys])
    sql, to_params = drv.cost_update
    conn.exec_driver_sql(sql, [to_params({"pid": p, "wh": w, "rq": num(receipts[(p, w)][0]),
                                          "rv": num(receipts[(p, w)][1]), "t": when})
                               for p, w in keys])


# --- the stock services -------------------------------------------------------------------

def receive(product_id, location_id, quantity, unit_cost, *, source: str, partner_id=None) -> StockMove:
    """Goods in from a supplier; updates the moving average cost. Refuses a virtual
    destination."""
    return _post([{"product_id": product_id, "from_location_id": _virtual_id(SUPPLIER),
                   "to_location_id": location_id, "quantity": quantity, "unit_cost": unit_cost,
                   "source": source, "partner_id": partner_id}], expect="receive")[0]


def issue(product_id, location_id, quantity, *, source: str, to: str = "customer") -> StockMove:
    """Goods out to a customer (or ``to="scrap"``/``"inventory"``); refuses more than is
    available unless the location allows negative stock."""
    if to not in (CUSTOMER, SCRAP, INVENTORY):
        raise ValidationError(_("Cannot issue to %(to)r: use customer, scrap or inventory", to=to))
    return _post([{"product_id": product_id, "from_location_id": location_id,
                   "to_location_id": _virtual_id(to), "quantity": quantity,
                   "unit_cost": "average", "source": source}], expect="issue")[0]


def scrap(product_id, location_id, quantity, *, source: str) -> StockMove:
    """Damaged or expired goods out of stock, to the scrap location."""
    return issue(product_id, location_id, quantity, source=source, to=SCRAP)


def adjust(product_id, location_id, quantity, *, source: str) -> StockMove:
    """Correct the stock of a location by a signed ``quantity`` (positive: found, from
    inventory loss; negative: lost, to inventory loss)."""
    product, location = _get_product(product_id), _get_location(location_id)
    if location.usage != INTERNAL:
        raise ValidationError(_("Cannot adjust %(product)s at %(place)s: it is a virtual location",
                                product=_product_label(product), place=_place_label(location)))
    if isinstance(quantity, float):
        quantity = Decimal(str(quantity))
    try:
        delta = Decimal(quantity)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError(_("Adjustment %(value)r is not a number for %(product)s at %(place)s",
                                value=quantity, product=_product_label(product),
                                place=_place_label(location))) from None
    if delta == 0:
        raise ValidationError(_("An adjustment of %(product)s at %(place)s cannot be zero",
                                product=_product_label(product), place=_place_label(location)))
    inv = _virtual_id(INVENTORY)
    src, dst = (inv, location.id) if delta > 0 else (location.id, inv)
    return _post([{"product_id": product.id, "from_location_id": src, "to_location_id": dst,
                   "quantity": abs(delta), "unit_cost": "average", "source": source}],
                 check="on_hand")[0]


# --- reservations --------------------------------------------------------------------------

def reserve(product_id, location_id, quantity, *, source: str, expires_at=None) -> Reservation:
    """Hold stock for an order or a cart. Refuses more than is available with
    InsufficientStock (expired reservations are released first)."""
    return reserve_many([{"product_id": product_id, "location_id": location_id, "quantity": quantity}],
                        source=source, expires_at=expires_at)[0]


def reserve_many(lines: list[dict], *, source: str, expires_at=None) -> list[Reservation]:
    """Reserve several lines (an order) all or nothing, locking in the fixed order."""
    session = _session()
    products = _products(line["product_id"] for line in lines)
    locations = _locations(line["location_id"] for line in lines)
    wanted: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    prepared = []
    for line in lines:
        pid, lid = int(line["product_id"]), int(line["location_id"])
        loc = locations[lid]
        q = _qty(line["quantity"], product=products[pid], place=loc)
        if loc["usage"] != INTERNAL:
            raise ValidationError(_("Cannot reserve %(product)s at %(place)s: it is not a stock location",
                                    product=_product_label(products[pid]), place=_place_label(loc)))
        wanted[(pid, lid)] += q
        prepared.append((pid, lid, q))
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.timezone.utc)
    def apply():
        for key in sorted(wanted):
            if not _reserve_row(key, wanted[key], locations):
                if release_expired(product_id=key[0], location_id=key[1]) and _reserve_row(key, wanted[key], locations):
                    continue
                _refuse_shortage(key[0], key[1], wanted[key], products, locations, "available")

    if len(wanted) > 1:  # a refusal after an earlier line reserved: undo that line too
        with session.begin_nested():
            apply()
    else:
        apply()
    rows = [Reservation(product_id=pid, location_id=lid, quantity=q, issued_quantity=Decimal(0),
                        state="active", source=source, expires_at=expires_at) for pid, lid, q in prepared]
    session.add_all(rows)
    session.flush()
    return rows


def _reserve_row(key, q: Decimal, locations) -> bool:
    session = _session()
    pid, lid = key
    if locations[lid]["allow_negative"]:
        session.execute(_quant_insert_missing(),
                        [{"product_id": pid, "location_id": lid, "warehouse_id": locations[lid]["warehouse_id"],
                          "on_hand": Decimal(0), "reserved": Decimal(0)}])
        return session.execute(_RESERVE_NEGATIVE_SQL, {"p": pid, "l": lid, "q": q}).rowcount == 1
    return session.execute(_RESERVE_SQL, {"p": pid, "l": lid, "q": q, "need": q - EPS}).rowcount == 1


def _lock_reservation(reservation_id) -> Reservation:
    stmt = sa.select(Reservation).where(Reservation.id == reservation_id)
    if _is_pg():
        stmt = stmt.with_for_update(of=Reservation.__table__)
    res = _session().execute(stmt.execution_options(populate_existing=True)).unique().scalar_one_or_none()
    if res is None:
        raise NotFound(_("Unknown reservation #%(id)s", id=reservation_id), reservation_id=reservation_id)
    return res


def _unreserve(res: Reservation, state: str) -> None:
    _session().execute(_UNRESERVE_SQL, {"p": res.product_id, "l": res.location_id, "q": res.quantity})
    res.quantity, res.state, res.closed_at = Decimal(0), state, utcnow()


def release(reservation_id) -> Reservation:
    """Give reserved stock back to the pool."""
    res = _lock_reservation(reservation_id)
    if res.state != "active":
        raise Conflict(_("Reservation #%(id)s of %(product)s at %(place)s is already %(state)s",
                         id=res.id, product=_product_label(res.product), place=_place_label(res.location),
                         state=res.state))
    _unreserve(res, "released")
    _session().flush()
    return res


def release_expired(now=None, *, product_id=None, location_id=None) -> int:
    """Release every active reservation whose expiry has passed; returns how many."""
    now = now or utcnow()
    stmt = (sa.select(Reservation).where(Reservation.state == "active", Reservation.expires_at.is_not(None),
                                         Reservation.expires_at <= now)
            .order_by(Reservation.product_id, Reservation.location_id, Reservation.id))
    if product_id is not None:
        stmt = stmt.where(Reservation.product_id == product_id)
    if location_id is not None:
        stmt = stmt.where(Reservation.location_id == location_id)
    if _is_pg():
        stmt = stmt.with_for_update(of=Reservation.__table__, skip_locked=True)
    rows = _session().execute(stmt.execution_options(populate_existing=True)).unique().scalars().all()
    for res in rows:
        _unreserve(res, "expired")
    _session().flush()
    return len(rows)


def issue_reservation(reservation_id, *, quantity=None) -> StockMove:
    """Issue reserved stock to the customer location (all of it, or ``quantity``; what is
    left stays reserved until issued or released)."""
    res = _lock_reservation(reservation_id)
    label = dict(product=_product_label(res.product), place=_place_label(res.location))
    if res.state != "active":
        raise Conflict(_("Reservation #%(id)s of %(product)s at %(place)s is already %(state)s",
                         id=res.id, state=res.state, **label))
    q = res.quantity if quantity is None else _qty(quantity, product=res.product, place=res.location)
    if q > res.quantity:
        raise ValidationError(_("Cannot issue %(q)s of %(product)s at %(place)s: only %(r)s reserved",
                                q=q, r=res.quantity, **label))
    move = _post([{"product_id": res.product_id, "from_location_id": res.location_id,
                   "to_location_id": _virtual_id(CUSTOMER), "quantity": q,
                   "unit_cost": "average", "source": res.source}],
                 unreserve={(res.product_id, res.location_id): q})[0]
    res.quantity -= q
    res.issued_quantity += q
    if res.quantity == 0:
        res.state, res.closed_at = "issued", utcnow()
    _session().flush()
    return move


# --- transfers ------------------------------------------------------------------------------

def transfer(from_warehouse_id, to_warehouse_id, lines: list[dict], *, note=None) -> Transfer:
    """A draft transfer between two warehouses: ``lines`` of ``product_id``, ``quantity``."""
    src, dst = _get_warehouse(from_warehouse_id), _get_warehouse(to_warehouse_id)
    if src.id == dst.id:
        raise ValidationError(_("A transfer needs two different warehouses, not %(wh)s twice", wh=_place_label(src)))
    if not lines:
        raise ValidationError(_("A transfer from %(src)s to %(dst)s needs at least one line",
                                src=_place_label(src), dst=_place_label(dst)))
    products = _products(line["product_id"] for line in lines)
    tr = Transfer(from_warehouse_id=src.id, to_warehouse_id=dst.id, state="draft", note=note)
    for line in lines:
        pid = int(line["product_id"])
        q = _qty(line["quantity"], product=products[pid], place=src)
        tr.lines.append(TransferLine(product_id=pid, quantity=q))
    session = _session()
    session.add(tr)
    session.flush()
    tr.number = f"TR{tr.id:06d}"
    session.flush()
    return tr


def _get_transfer(transfer_id) -> Transfer:
    stmt = sa.select(Transfer).where(Transfer.id == transfer_id)
    if _is_pg():
        stmt = stmt.with_for_update(of=Transfer.__table__)
    tr = _session().execute(stmt.execution_options(populate_existing=True)).unique().scalar_one_or_none()
    if tr is None:
        raise NotFound(_("Unknown transfer #%(id)s", id=transfer_id), transfer_id=transfer_id)
    return tr


def ship_transfer(transfer_id) -> Transfer:
    """Take the goods out of the sending warehouse into transit."""
    tr = _get_transfer(transfer_id)
    if tr.state != "draft":
        raise Conflict(_("Transfer %(number)s from %(src)s has already been %(state)s; it cannot be shipped again",
                         number=tr.number, src=_place_label(tr.from_warehouse), state=tr.state))
    src = stock_location(tr.from_warehouse_id).id
    transit = virtual_location(TRANSIT).id
    # the goods leave at the sending warehouse's average cost and keep it in transit
    costs = _products([line.product_id for line in tr.lines], [tr.from_warehouse_id])
    for line in tr.lines:
        product = costs[line.product_id]
        cost = product["costs"].get(tr.from_warehouse_id)
        cost = Decimal(cost if cost is not None else (product["cost"] or 0)).quantize(U4, ROUND_HALF_UP)
        line.unit_cost, line.value = cost, (line.quantity * cost).quantize(C2, ROUND_HALF_UP)
    _post([{"product_id": line.product_id, "from_location_id": src, "to_location_id": transit,
            "quantity": line.quantity, "unit_cost": line.unit_cost, "value": line.value, "source": tr.number}
           for line in tr.lines], transfer_id=tr.id, store_id=tr.from_warehouse.store_id)
    tr.state, tr.shipped_at = "shipped", utcnow()
    _session().flush()
    return tr


def receive_transfer(transfer_id, lines: list[dict] | None = None) -> Transfer:
    """Receive a shipped transfer. ``lines``: ``product_id`` (or ``line_id``), ``received``
    and optionally ``damaged``; a line not given is received in full. Damaged goods go to
    scrap, missing ones to inventory loss: each difference is recorded on its line."""
    tr = _get_transfer(transfer_id)
    if tr.state != "shipped":
        raise Conflict(_("Transfer %(number)s to %(dst)s is %(state)s: only a shipped transfer can be received",
                         number=tr.number, dst=_place_label(tr.to_warehouse), state=tr.state))
    given: dict[int, dict] = {}
    by_product = {}
    for line in tr.lines:
        by_product.setdefault(line.product_id, line)
    for entry in lines or ():
        if entry.get("line_id") is not None:
            target = next((ln for ln in tr.lines if ln.id == int(entry["line_id"])), None)
        else:
            target = by_product.get(int(entry.get("product_id") or 0))
        if target is None:
            raise ValidationError(_("Product #%(id)s is not on transfer %(number)s to %(dst)s",
                                    id=entry.get("product_id") or entry.get("line_id"), number=tr.number,
                                    dst=_place_label(tr.to_warehouse)))
        given[target.id] = entry
    dst = stock_location(tr.to_warehouse_id).id
    transit, scrap_loc, loss = (virtual_location(TRANSIT).id, virtual_location(SCRAP).id,
                                virtual_location(INVENTORY).id)
    moves = []
    for line in tr.lines:
        entry = given.get(line.id)
        if entry is None:
            received, damaged = line.quantity, Decimal(0)
        else:
            received = _qty(entry.get("received", 0), "received quantity", allow_zero=True,
                            product=line.product, place=tr.to_warehouse)
            damaged = _qty(entry.get("damaged", 0) or 0, "damaged quantity", allow_zero=True,
                           product=line.product, place=tr.to_warehouse)
        if received + damaged > line.quantity:
            raise ValidationError(_("Cannot receive %(n)s of %(product)s at %(place)s: only %(shipped)s were shipped",
                                    n=received + damaged, product=_product_label(line.product),
                                    place=_place_label(tr.to_warehouse), shipped=line.quantity))
        missing = line.quantity - received - damaged
        # received, damaged and missing leave transit at the cost the goods left at; the
        # last part takes what rounding left, so transit empties to the cent
        cost = line.unit_cost if line.unit_cost is not None else average_cost(line.product_id,
                                                                              tr.from_warehouse_id)
        left = line.value if line.value is not None else (line.quantity * cost).quantize(C2, ROUND_HALF_UP)
        parts = [(qty, to) for qty, to in ((received, dst), (damaged, scrap_loc), (missing, loss)) if qty > 0]
        for i, (qty, to) in enumerate(parts):
            value = left if i == len(parts) - 1 else (qty * cost).quantize(C2, ROUND_HALF_UP)
            left -= value
            moves.append({"product_id": line.product_id, "from_location_id": transit, "to_location_id": to,
                          "quantity": qty, "unit_cost": cost, "value": value, "source": tr.number})
        line.received_quantity, line.damaged_quantity, line.difference = received, damaged, missing
    _post(moves, transfer_id=tr.id, store_id=tr.to_warehouse.store_id)
    tr.state, tr.received_at = "received", utcnow()
    _session().flush()
    return tr


# --- counts --------------------------------------------------------------------------------

def create_count(warehouse_id, *, location_id=None, category_id=None) -> Count:
    """A draft count sheet for a warehouse (optionally one shelf, or one category)."""
    wh = _get_warehouse(warehouse_id)
    if location_id is not None:
        loc = _get_location(location_id)
        if loc.warehouse_id != wh.id:
            raise ValidationError(_("%(place)s is not in warehouse %(wh)s", place=_place_label(loc),
                                    wh=_place_label(wh)))
    count = Count(warehouse_id=wh.id, location_id=location_id, category_id=category_id, state="draft")
    _session().add(count)
    _session().flush()
    count.number = f"CNT{count.id:06d}"
    _session().flush()
    return count


def _get_count(count_id) -> Count:
    stmt = sa.select(Count).where(Count.id == count_id)
    if _is_pg():
        stmt = stmt.with_for_update(of=Count.__table__)
    count = _session().execute(stmt.execution_options(populate_existing=True)).unique().scalar_one_or_none()
    if count is None:
        raise NotFound(_("Unknown count #%(id)s", id=count_id), count_id=count_id)
    return count


def _count_locations(count: Count) -> list[int]:
    if count.location_id is not None:
        return [count.location_id] + list(_session().scalars(
            sa.select(Location.id).where(Location.parent_id == count.location_id)))
    return _warehouse_location_ids(count.warehouse_id)


def start_count(count_id, *, product_ids=None) -> Count:
    """Freeze the expected quantities (every quant in scope, or of ``product_ids`` only) and
    open the sheet."""
    count = _get_count(count_id)
    if count.state != "draft":
        raise Conflict(_("Count %(number)s at %(wh)s has already been started",
                         number=count.number, wh=_place_label(count.warehouse)))
    session = _session()
    line_t = CountLine.__table__
    sel = (sa.select(sa.literal(count.id), quant_t.c.product_id, quant_t.c.location_id, quant_t.c.on_hand)
           .where(quant_t.c.location_id.in_(_count_locations(count))))
    if count.category_id is not None:
        sel = sel.join(Product.__table__, Product.id == quant_t.c.product_id) \
            .where(Product.category_id == count.category_id)
    if product_ids is not None:
        sel = sel.where(quant_t.c.product_id.in_(sorted({int(p) for p in product_ids}) or [-1]))
    session.execute(line_t.insert().from_select(["count_id", "product_id", "location_id", "expected"], sel))
    count.state, count.started_at = "in_progress", utcnow()
    session.flush()
    session.expire(count, ["lines"])
    return count


def _find_product(ref) -> Product | None:
    ref = str(ref).strip()
    session = _session()
    p = session.scalar(sa.select(Product).where(sa.or_(Product.barcode == ref, Product.sku == ref)))
    if p is None and ref.isdigit():
        p = session.get(Product, int(ref))
    return p


def set_counted(count_id, product_id, counted, *, location_id=None) -> CountLine:
    """Enter the counted quantity of a product (a line is added for a product found on the
    shelf that the sheet did not expect)."""
    count = _get_count(count_id)
    return _set_counted(count, _get_product(product_id), counted, location_id)


def _set_counted(count: Count, product: Product, counted, location_id=None) -> CountLine:
    if count.state != "in_progress":
        raise Conflict(_("Count %(number)s at %(wh)s is %(state)s: counted quantities can only be entered "
                         "while it is in progress", number=count.number, wh=_place_label(count.warehouse),
                         state=count.state))
    q = _qty(counted, "counted quantity", allow_zero=True, product=product, place=count.warehouse)
    if count.category_id is not None and product.category_id != count.category_id:
        raise ValidationError(_("%(product)s is not in the category counted by %(number)s",
                                product=_product_label(product), number=count.number))
    session = _session()
    loc_id = location_id or count.location_id or stock_location(count.warehouse_id).id
    if location_id is not None and loc_id not in _count_locations(count):
        raise ValidationError(_("Location #%(id)s is not counted by %(number)s", id=location_id,
                                number=count.number))
    line = session.scalar(sa.select(CountLine).where(CountLine.count_id == count.id,
                                                     CountLine.product_id == product.id,
                                                     CountLine.location_id == loc_id))
    if line is None:
        # not expected at start: nothing was on hand then for this product and place
        line = CountLine(count_id=count.id, product_id=product.id, location_id=loc_id, expected=Decimal(0))
        session.add(line)
    line.counted = q
    session.flush()
    return line


_COUNT_CHUNK = 1000  # rows whose products are looked up in one query


def import_count_csv(count_id, data) -> int:
    """Counted quantities from a handheld scanner's CSV: a header with ``barcode`` (or
    ``sku`` or ``product_id``) and ``counted`` (or ``quantity``). ``data`` is the file as
    bytes (UTF-8), str or a binary stream (an upload: read line by line, never whole).
    All or nothing: the first bad line (not UTF-8, a NUL, an unknown product, a bad
    quantity) is refused with its number and nothing is set; returns the number of
    products set."""
    from core import csvio
    count = _get_count(count_id)
    reader = csvio.LineReader(csvio.text_lines(data))
    try:
        header = next(reader)
    except StopIteration:
        header = []
    fields = [f.strip().lower() for f in header]
    key = next((k for k in ("barcode", "sku", "product_id", "product") if k in fields), None)
    qty_key = next((k for k in ("counted", "quantity", "qty") if k in fields), None)
    if key is None or qty_key is None:
        raise ValidationError(_("The CSV needs a 'barcode' (or 'sku') column and a 'counted' column"))
    key_at, qty_at = fields.index(key), fields.index(qty_key)
    totals: dict[int, Decimal] = defaultdict(Decimal)
    products: dict[int, Product] = {}
    found: dict[str, Product | None] = {}  # reference -> product, for every reference seen
    what = _("counted quantity")  # once: a translation lookup per line was a third of the time

    def settle(chunk):
        refs = {ref for _n, ref, _q in chunk if ref not in found}
        found.update(_find_products(refs))
        for number, ref, raw_qty in chunk:
            product = found.get(ref)
            if product is None:
                raise ValidationError(_("Line %(n)s: no product has the %(key)s %(value)r (count %(number)s at "
                                        "%(wh)s)", n=number, key=key, value=ref, number=count.number,
                                        wh=_place_label(count.warehouse)), line=number)
            try:
                q = _qty(raw_qty, what, allow_zero=True, product=product, place=count.warehouse)
            except ValidationError as exc:
                raise ValidationError(_("Line %(n)s: %(problem)s", n=number, problem=exc.message),
                                      line=number) from None
            totals[product.id] += q  # a product scanned twice is counted twice
            products[product.id] = product

    chunk: list[tuple[int, str, str]] = []
    for cells in reader:
        ref = cells[key_at].strip() if key_at < len(cells) else ""
        raw_qty = cells[qty_at].strip() if qty_at < len(cells) else ""
        if not ref and not raw_qty:
            continue
        chunk.append((reader.line, ref, raw_qty))
        if len(chunk) >= _COUNT_CHUNK:
            settle(chunk)
            chunk = []
    settle(chunk)
    with _session().begin_nested():
        for pid, q in totals.items():
            _set_counted(count, products[pid], q)
    return len(totals)


def _find_products(refs) -> dict[str, Product]:
    """``_find_product`` for many references in two queries: barcode, then SKU, then id."""
    refs = {r for r in refs if r}
    if not refs:
        return {}
    session = _session()
    out: dict[str, Product] = {}
    rows = session.scalars(sa.select(Product).where(sa.or_(Product.barcode.in_(refs), Product.sku.in_(refs)))).all()
    for p in rows:  # a barcode wins over another product's SKU, as in _find_product
        if p.sku in refs and p.sku not in out:
            out[p.sku] = p
    for p in rows:
        if p.barcode in refs:
            out[p.barcode] = p
    ids = {int(r) for r in refs - out.keys() if r.isdigit() and int(r) <= 2**31 - 1}  # 32-bit id columns
    if ids:
        by_id = {p.id: p for p in session.scalars(sa.select(Product).where(Product.id.in_(ids)))}
        for r in refs - out.keys():
            if r.isdigit() and int(r) in by_id:
                out[r] = by_id[int(r)]
    return out


def validate_count(count_id) -> Count:
    """Post every difference (counted - expected) to or from inventory loss at the average
    cost, and close the sheet. Lines left uncounted change nothing."""
    count = _get_count(count_id)
    if count.state == "validated":
        raise Conflict(_("Count %(number)s at %(wh)s has already been validated",
                         number=count.number, wh=_place_label(count.warehouse)))
    if count.state != "in_progress":
        raise Conflict(_("Count %(number)s at %(wh)s must be started before it is validated",
                         number=count.number, wh=_place_label(count.warehouse)))
    loss = virtual_location(INVENTORY).id
    moves, total = [], Decimal(0)
    for line in count.lines:
        if line.counted is None:
            continue
        diff = line.counted - line.expected
        cost = average_cost(line.product_id, count.warehouse_id)
        line.difference, line.unit_cost = diff, cost
        line.difference_value = (diff * cost).quantize(C2, rounding=ROUND_HALF_UP)
        total += line.difference_value
        if diff > 0:
            moves.append({"product_id": line.product_id, "from_location_id": loss,
                          "to_location_id": line.location_id, "quantity": diff, "unit_cost": cost,
                          "source": count.number})
        elif diff < 0:
            moves.append({"product_id": line.product_id, "from_location_id": line.location_id,
                          "to_location_id": loss, "quantity": -diff, "unit_cost": cost, "source": count.number})
    _post(moves, check="on_hand", store_id=count.warehouse.store_id)
    count.state, count.validated_at, count.difference_value = "validated", utcnow(), total
    _session().flush()
    return count


# --- queries -------------------------------------------------------------------------------

def _milli(expr):
    """A quantity sum as an integer number of thousandths: exact, and cheap to turn into a
    Decimal (SQLite hands NUMERIC back as floats)."""
    return sa.cast(sa.func.round(expr * 1000), sa.BigInteger)


_MILLI: dict[int, Decimal] = {}


def _from_milli(value) -> Decimal:
    """Thousandths back to a Decimal; stock quantities repeat a lot, so remember them."""
    value = int(value or 0)
    found = _MILLI.get(value)
    if found is None:
        found = Decimal(value).scaleb(-3)
        if len(_MILLI) < 100_000:
            _MILLI[value] = found
    return found


def _warehouse_quants(warehouse_id):
    return quant_t.c.warehouse_id == warehouse_id


def on_hand(product_id, warehouse_id) -> Decimal:
    """On-hand quantity of a product in a warehouse (all its stock locations)."""
    value = _session().execute(sa.select(sa.func.coalesce(sa.func.sum(quant_t.c.on_hand), 0))
                               .where(quant_t.c.product_id == product_id, _warehouse_quants(warehouse_id))).scalar()
    return Decimal(str(value)).quantize(Q3)


def available(product_id, warehouse_id) -> Decimal:
    """On hand minus reserved, for a product in a warehouse."""
    value = _session().execute(sa.select(sa.func.coalesce(sa.func.sum(quant_t.c.on_hand - quant_t.c.reserved), 0))
                               .where(quant_t.c.product_id == product_id, _warehouse_quants(warehouse_id))).scalar()
    return Decimal(str(value)).quantize(Q3)


def availability_by_store(product_id) -> list[dict]:
    """Which shop has it: on hand, reserved and available in every active store."""
    wh_t = Warehouse.__table__
    store_t = Store.__table__
    stmt = (sa.select(store_t.c.id, store_t.c.code, wh_t.c.id.label("warehouse_id"),
                      _milli(sa.func.coalesce(sa.func.sum(quant_t.c.on_hand), 0)).label("on_hand"),
                      _milli(sa.func.coalesce(sa.func.sum(quant_t.c.reserved), 0)).label("reserved"))
            .select_from(wh_t.join(store_t, store_t.c.id == wh_t.c.store_id)
                         .outerjoin(quant_t, sa.and_(quant_t.c.warehouse_id == wh_t.c.id,
                                                     quant_t.c.product_id == product_id)))
            .where(store_t.c.active.is_(True), wh_t.c.active.is_(True))
            .group_by(store_t.c.id, store_t.c.code, wh_t.c.id).order_by(store_t.c.code))
    out = []
    for r in _session().execute(stmt):
        oh, res = _from_milli(r.on_hand), _from_milli(r.reserved)
        out.append({"store_id": r.id, "store_code": r.code, "warehouse_id": r.warehouse_id,
                    "on_hand": oh, "reserved": res, "available": oh - res})
    return out


def on_hand_by_product(warehouse_id) -> dict[int, dict]:
    """Every product's on hand and reserved in a warehouse: {product_id: {on_hand, reserved}}.

    One row per quant, read in product order from the warehouse's index and added up
    while reading (a product on several shelves has several rows), row by row from the
    cursor: 20,000 products must not leave 20,000 short-lived rows and tuples behind for
    the garbage collector, whose full collections were what made the slow calls slow."""
    conn = _session().connection()
    sql, positional = _driver(conn).warehouse_stock
    result = conn.exec_driver_sql(sql, (warehouse_id,) if positional else {"wh": warehouse_id})
    out: dict[int, dict] = {}
    if conn.dialect.name == "postgresql":
        # numeric(14, 3) arrives as Decimal with three places, as the other backend's below
        last, oh_sum, rs_sum = None, _D0, _D0
        try:
            for pid, oh, rs in result.cursor:
                if pid != last:
                    if last is not None:
                        out[last] = {"on_hand": oh_sum, "reserved": rs_sum}
                    last, oh_sum, rs_sum = pid, oh, rs
                else:
                    oh_sum += oh
                    rs_sum += rs
        finally:
            result.close()
        if last is not None:
            out[last] = {"on_hand": oh_sum, "reserved": rs_sum}
        return out
    # SQLite hands NUMERIC back as integers or floats: add them up as exact thousandths
    from_milli = _from_milli
    last, oh_sum, rs_sum = None, 0, 0
    try:
        for pid, oh, rs in result.cursor:
            if pid != last:
                if last is not None:
                    out[last] = {"on_hand": from_milli(oh_sum), "reserved": from_milli(rs_sum)}
                last, oh_sum, rs_sum = pid, round(oh * 1000), round(rs * 1000)
            else:
                oh_sum += round(oh * 1000)
                rs_sum += round(rs * 1000)
    finally:
        result.close()
    if last is not None:
        out[last] = {"on_hand": from_milli(oh_sum), "reserved": from_milli(rs_sum)}
    return out


def average_cost(product_id, warehouse_id=None) -> Decimal:
    """The product's moving average cost in a warehouse (its list cost until the first
    receipt there). Without a warehouse: the average over the warehouses holding it,
    weighted by their stock (the single warehouse's cost when only one has a cost)."""
    session = _session()
    if warehouse_id is not None:
        cost = session.execute(sa.select(cost_t.c.average_cost).where(
            cost_t.c.product_id == product_id, cost_t.c.warehouse_id == warehouse_id)).scalar()
    else:
        stock = (sa.select(quant_t.c.warehouse_id, sa.func.sum(quant_t.c.on_hand).label("q"))
                 .where(quant_t.c.product_id == product_id).group_by(quant_t.c.warehouse_id).subquery())
        rows = session.execute(sa.select(cost_t.c.average_cost, stock.c.q)
                               .select_from(cost_t.outerjoin(stock, stock.c.warehouse_id == cost_t.c.warehouse_id))
                               .where(cost_t.c.product_id == product_id)
                               .order_by(cost_t.c.updated_at.desc())).all()
        cost = None
        if rows:
            held = [(Decimal(r.average_cost), Decimal(str(r.q))) for r in rows if r.q is not None and r.q > 0]
            total = sum((q for _c, q in held), Decimal(0))
            if total > 0:
                cost = (sum((c * q for c, q in held), Decimal(0)) / total).quantize(U4, ROUND_HALF_UP)
            else:
                cost = rows[0].average_cost  # the last one that moved
    if cost is None:
        cost = session.execute(sa.select(Product.cost).where(Product.id == product_id)).scalar()
    return cost if cost is not None else Decimal(0)


def average_costs(*, product_ids=None, warehouse_ids=None, store_ids=None) -> list[dict]:
    """The moving average cost per product and warehouse, with the on-hand quantity there:
    dicts of product_id, sku, name, warehouse_id, warehouse_code, store_id, average_cost,
    on_hand, updated_at; in warehouse code and product sku order."""
    wh_t = Warehouse.__table__
    stock = (sa.select(sa.func.coalesce(sa.func.sum(quant_t.c.on_hand), 0))
             .where(quant_t.c.product_id == cost_t.c.product_id, quant_t.c.warehouse_id == cost_t.c.warehouse_id)
             .scalar_subquery())
    stmt = (sa.select(cost_t.c.product_id, _p_t.c.sku, _p_t.c.name, cost_t.c.warehouse_id,
                      wh_t.c.code.label("warehouse_code"), wh_t.c.store_id, cost_t.c.average_cost,
                      _milli(stock).label("on_hand"), cost_t.c.updated_at)
            .select_from(cost_t.join(_p_t, _p_t.c.id == cost_t.c.product_id)
                         .join(wh_t, wh_t.c.id == cost_t.c.warehouse_id))
            .order_by(wh_t.c.code, _p_t.c.sku))
    if product_ids is not None:
        stmt = stmt.where(cost_t.c.product_id.in_([int(p) for p in product_ids]))
    if warehouse_ids is not None:
        stmt = stmt.where(cost_t.c.warehouse_id.in_([int(w) for w in warehouse_ids]))
    if store_ids is not None:
        stmt = stmt.where(wh_t.c.store_id.in_(list(store_ids) or [-1]))
    return [{"product_id": r.product_id, "sku": r.sku, "name": r.name, "warehouse_id": r.warehouse_id,
             "warehouse_code": r.warehouse_code, "store_id": r.store_id,
             "average_cost": Decimal(r.average_cost).quantize(U4), "on_hand": _from_milli(r.on_hand),
             "updated_at": r.updated_at}
            for r in _session().execute(stmt)]


def revalue(product_id, warehouse_id, value, *, quantity=None, source: str, reason: str = "price"):
    """Change the value of a product's stock in a warehouse without goods moving (a vendor
    bill priced differently from the receipt): ``value`` concerns ``quantity`` units (all of
    the stock when None); the share still on hand there revalues the stock (a value-only
    ledger row, the average cost moves by it), the rest is not the stock's any more.
    Returns the revaluation row (None when nothing is on hand); ``o2o_stock_revalued``
    fires with it."""
    product, wh = _get_product(product_id), _get_warehouse(warehouse_id)
    try:
        value = Decimal(value).quantize(C2, ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError(_("The revaluation %(value)r of %(product)s is not an amount",
                                value=value, product=_product_label(product))) from None
    session = _session()
    if _is_pg():  # the average and the stock read below stay as they are until the commit
        session.execute(_COST_LOCK_SQL, {"keys": [(product.id, wh.id)]})
    held = on_hand(product.id, wh.id)
    if held <= 0 or value == 0:
        return None
    if quantity is None:
        share = value
    else:
        quantity = _qty(quantity, product=product, place=wh)
        share = value if held >= quantity else (value * held / quantity).quantize(C2, ROUND_HALF_UP)
    if share == 0:
        return None
    now = utcnow()
    cost = average_cost(product.id, wh.id)
    new_cost = max(Decimal(0), (cost + share / held)).quantize(U4, ROUND_HALF_UP)
    session.execute(_dialect_insert(cost_t).values(product_id=product.id, warehouse_id=wh.id, average_cost=new_cost,
                                                    updated_at=now)
                    .on_conflict_do_update(index_elements=["product_id", "warehouse_id"],
                                           set_={"average_cost": new_cost, "updated_at": now}))
    row = Revaluation(product_id=product.id, warehouse_id=wh.id, value=share, quantity=held, reason=reason,
                      source=source, value_date=local_date(now, wh.store_id), user_id=_current_user_id(),
                      done_at=now)
    session.add(row)
    session.flush()
    row.store_id = wh.store_id  # for listeners (not stored)
    fire("o2o_stock_revalued", revaluations=[row])
    return row


def _valuation_day_end(as_of):
    if as_of is None:
        return None
    if isinstance(as_of, dt.datetime):
        return as_of.date()
    if isinstance(as_of, dt.date):
        return as_of
    try:
        return dt.date.fromisoformat(str(as_of).strip())
    except ValueError:
        raise ValidationError(_("%(value)r is not a date (YYYY-MM-DD)", value=as_of)) from None


def valuation(warehouse_ids=None, *, store_ids=None, as_of=None) -> dict:
    """Stock value by warehouse and category from the ledger: the values of the moves in
    and out of every stock location plus the revaluations, ``{"rows": [...],
    "total_quantity", "total_value", "as_of"}``; stock in transit is its own row.
    ``as_of`` (a date): up to the end of that local business day (each posting's
    ``value_date``, the same date its journal entry has); without it, everything so far.
    Each row has warehouse_id, warehouse_code, warehouse_name, store_id, category_id,
    category, quantity, value."""
    day = _valuation_day_end(as_of)
    wh_t, p_t = Warehouse.__table__, Product.__table__
    cat_t = Product.category.property.mapper.local_table
    rv_t = Revaluation.__table__
    dst, src = loc_t.alias("dst"), loc_t.alias("src")
    zero_q = sa.literal(0, type_=sa.Numeric(14, 3))
    value = sa.func.coalesce(move_t.c.value, 0)
    done = [move_t.c.state == "done"]
    if day is not None:
        done.append(move_t.c.value_date <= day)
    parts = sa.union_all(
        sa.select(move_t.c.product_id, dst.c.warehouse_id, move_t.c.quantity.label("q"), value.label("v"))
        .select_from(move_t.join(dst, dst.c.id == move_t.c.to_location_id))
        .where(*done, dst.c.usage.in_(STOCK_USAGES)),
        sa.select(move_t.c.product_id, src.c.warehouse_id, -move_t.c.quantity, -value)
        .select_from(move_t.join(src, src.c.id == move_t.c.from_location_id))
        .where(*done, src.c.usage.in_(STOCK_USAGES)),
        sa.select(rv_t.c.product_id, rv_t.c.warehouse_id, zero_q, rv_t.c.value)
        .where(*([rv_t.c.value_date <= day] if day is not None else [])),
    ).subquery()
    stmt = (sa.select(wh_t.c.id.label("warehouse_id"), wh_t.c.code.label("warehouse_code"),
                      wh_t.c.name.label("warehouse_name"), wh_t.c.store_id, cat_t.c.id.label("category_id"),
                      cat_t.c.name.label("category"),
                      _milli(sa.func.sum(parts.c.q)).label("quantity"),
                      sa.cast(sa.func.round(sa.func.sum(parts.c.v) * 100), sa.BigInteger).label("cents"))
            .select_from(parts.join(p_t, p_t.c.id == parts.c.product_id)
                         .outerjoin(cat_t, cat_t.c.id == p_t.c.category_id)
                         .outerjoin(wh_t, wh_t.c.id == parts.c.warehouse_id))
            .group_by(wh_t.c.id, wh_t.c.code, wh_t.c.name, wh_t.c.store_id, cat_t.c.id, cat_t.c.name)
            .order_by(wh_t.c.code, cat_t.c.name))
    if warehouse_ids is not None:
        stmt = stmt.where(parts.c.warehouse_id.in_(list(warehouse_ids)))
    if store_ids is not None:
        stmt = stmt.where(wh_t.c.store_id.in_(list(store_ids) or [-1]))
    rows, total_q, total_v = [], Decimal(0), Decimal(0)
    for r in _session().execute(stmt):
        q = _from_milli(r.quantity)
        v = Decimal(int(r.cents or 0)).scaleb(-2)
        if q == 0 and v == 0:
            continue
        rows.append({"warehouse_id": r.warehouse_id, "warehouse_code": r.warehouse_code or "TRANSIT",
                     "warehouse_name": r.warehouse_name or _("In transit"), "store_id": r.store_id,
                     "category_id": r.category_id, "category": r.category or _("(no category)"),
                     "quantity": q, "value": v})
        total_q += q
        total_v += v
    return {"rows": rows, "total_quantity": total_q, "total_value": total_v, "as_of": day}


def valuation_by_store(*, as_of=None) -> dict:
    """Stock value per store ({store id or None (transit, central warehouses): value}),
    the figure the inventory account's balance per store equals."""
    out: dict = defaultdict(Decimal)
    for row in valuation(as_of=as_of)["rows"]:
        out[row["store_id"]] += row["value"]
    return dict(out)


def verify(limit: int | None = None) -> list[dict]:
    """Every (product, location) whose quant disagrees with the ledger (on hand = done
    moves in - out), and every quant whose reserved disagrees with its active
    reservations. Computed in SQL with GROUP BY; an empty list means the stock is sound."""
    session = _session()
    stock_locs = sa.select(loc_t.c.id).where(loc_t.c.usage.in_(STOCK_USAGES)).scalar_subquery()
    zero = sa.literal(0, type_=sa.Numeric(14, 3))
    done = move_t.c.state == "done"
    parts = sa.union_all(
        sa.select(move_t.c.product_id, move_t.c.to_location_id.label("location_id"),
                  sa.func.sum(move_t.c.quantity).label("ledger"), zero.label("quant"), zero.label("reserved"),
                  zero.label("held"))
        .where(done, move_t.c.to_location_id.in_(stock_locs))
        .group_by(move_t.c.product_id, move_t.c.to_location_id),
        sa.select(move_t.c.product_id, move_t.c.from_location_id,
                  -sa.func.sum(move_t.c.quantity), zero, zero, zero)
        .where(done, move_t.c.from_location_id.in_(stock_locs))
        .group_by(move_t.c.product_id, move_t.c.from_location_id),
        sa.select(quant_t.c.product_id, quant_t.c.location_id, zero, quant_t.c.on_hand, quant_t.c.reserved, zero),
        sa.select(Reservation.product_id, Reservation.location_id, zero, zero, zero,
                  sa.func.sum(Reservation.quantity))
        .where(Reservation.state == "active")
        .group_by(Reservation.product_id, Reservation.location_id),
    ).subquery()
    ledger, quant, reserved, held = (sa.func.sum(parts.c.ledger), sa.func.sum(parts.c.quant),
                                     sa.func.sum(parts.c.reserved), sa.func.sum(parts.c.held))
    stmt = (sa.select(parts.c.product_id, parts.c.location_id, ledger, quant, reserved, held)
            .group_by(parts.c.product_id, parts.c.location_id)
            .having(sa.or_(sa.func.abs(ledger - quant) > EPS, sa.func.abs(reserved - held) > EPS))
            .order_by(parts.c.product_id, parts.c.location_id))
    if limit:
        stmt = stmt.limit(limit)
    out = []
    for pid, lid, lg, qt, rs, hd in session.execute(stmt):
        out.append({"product_id": pid, "location_id": lid,
                    "ledger": Decimal(str(lg or 0)).quantize(Q3), "on_hand": Decimal(str(qt or 0)).quantize(Q3),
                    "reserved": Decimal(str(rs or 0)).quantize(Q3),
                    "reservations": Decimal(str(hd or 0)).quantize(Q3)})
    return out


def replenishment_proposal(warehouse_ids=None) -> list[dict]:
    """What to order or transfer, per warehouse, from the reorder rules: for each rule whose
    projected stock (on hand - reserved + incoming transfers) is below its minimum, the
    quantity that brings it back to the maximum, rounded up to the multiple. Computed in
    SQL; returns dicts with product_id, warehouse_id, on_hand, reserved, incoming, min, max,
    multiple, quantity. (Purchasing subtracts its own open orders.)"""
    r = ReorderRule.__table__
    tl, tr = TransferLine.__table__, Transfer.__table__
    oh = (sa.select(sa.func.coalesce(sa.func.sum(quant_t.c.on_hand), 0))
          .where(quant_t.c.warehouse_id == r.c.warehouse_id, quant_t.c.product_id == r.c.product_id)
          .scalar_subquery())
    rs = (sa.select(sa.func.coalesce(sa.func.sum(quant_t.c.reserved), 0))
          .where(quant_t.c.warehouse_id == r.c.warehouse_id, quant_t.c.product_id == r.c.product_id)
          .scalar_subquery())
    inc = (sa.select(sa.func.coalesce(sa.func.sum(tl.c.quantity), 0))
           .select_from(tl.join(tr, tr.c.id == tl.c.transfer_id))
           .where(tr.c.to_warehouse_id == r.c.warehouse_id, tl.c.product_id == r.c.product_id,
                  tr.c.state.in_(("draft", "shipped")))
           .scalar_subquery())
    inner = (sa.select(r.c.product_id, r.c.warehouse_id, r.c.min_qty, r.c.max_qty, r.c.multiple,
                       oh.label("on_hand"), rs.label("reserved"), inc.label("incoming"))
             .where(r.c.active.is_(True)))
    if warehouse_ids is not None:
        inner = inner.where(r.c.warehouse_id.in_(list(warehouse_ids)))
    sub = inner.subquery()
    stmt = (sa.select(sub).where(sub.c.on_hand - sub.c.reserved + sub.c.incoming < sub.c.min_qty - EPS)
            .order_by(sub.c.warehouse_id, sub.c.product_id))
    out = []
    for row in _session().execute(stmt):
        d = {k: Decimal(str(v)).quantize(Q3) for k, v in (("on_hand", row.on_hand), ("reserved", row.reserved),
                                                         ("incoming", row.incoming), ("min", row.min_qty),
                                                         ("max", row.max_qty), ("multiple", row.multiple))}
        need = d["max"] - (d["on_hand"] - d["reserved"] + d["incoming"])
        multiple = d["multiple"] if d["multiple"] > 0 else Decimal(1)
        quantity = ((need / multiple).to_integral_value(rounding=ROUND_CEILING) * multiple).quantize(Q3)
        if quantity <= 0:
            continue
        out.append({"product_id": row.product_id, "warehouse_id": row.warehouse_id, **d, "quantity": quantity})
    return out


# --- till sales short of stock --------------------------------------------------------------

def till_short_stock(warehouse_id) -> str:
    """The store's choice when a till sells more than the books have: "record" or "refuse"."""
    return _get_warehouse(warehouse_id).till_short_stock or TILL_RECORD


def set_till_short_stock(warehouse_id, choice: str) -> Warehouse:
    wh = _get_warehouse(warehouse_id)
    if choice not in TILL_SHORT_STOCK:
        raise ValidationError(_("A till sale short of stock is either recorded (record) or refused (refuse), "
                                "not %(choice)r", choice=choice))
    wh.till_short_stock = choice
    _session().flush()
    return wh


def till_shortages(location_id, lines: list[dict]) -> list[dict]:
    """What a till sale of ``lines`` (``[{"product_id", "quantity"}]``) would take beyond
    what is available at a stock location, in one query: ``[{"product_id", "available",
    "wanted"}]`` in the order of the lines (a product on several lines is added up)."""
    wanted: dict[int, Decimal] = {}
    for line in lines:
        pid = int(line["product_id"])
        wanted[pid] = wanted.get(pid, _D0) + Decimal(str(line["quantity"]))
    if not wanted:
        return []
    found = {r.product_id: Decimal(r.on_hand) - Decimal(r.reserved) for r in _session().execute(
        _QUANTS_SQL, {"pids": sorted(wanted), "lids": [int(location_id)]})}
    out = []
    for pid, q in wanted.items():
        avail = found.get(pid, _D0)
        if avail + EPS < q:
            out.append({"product_id": pid, "available": avail.quantize(Q3), "wanted": q.quantize(Q3)})
    return out


def _negative_stock_rows(ids, store_ids=None) -> list[NegativeStock]:
    ids = sorted({int(i) for i in ids})
    stmt = sa.select(NegativeStock).where(NegativeStock.id.in_(ids or [-1])).order_by(NegativeStock.id)
    if store_ids is not None:
        stmt = stmt.where(NegativeStock.store_id.in_(list(store_ids) or [-1]))
    rows = list(_session().scalars(stmt))
    missing = sorted(set(ids) - {r.id for r in rows})
    if missing:
        raise NotFound(_("There is no negative-stock exception #%(id)s", id=missing[0]))
    return rows


def propose_count(negative_ids, *, store_ids=None) -> list[Count]:
    """A count of the products of these negative-stock exceptions, one per warehouse,
    started (expected quantities frozen now) with only those products on the sheet; the
    exceptions point to it."""
    rows = [r for r in _negative_stock_rows(negative_ids, store_ids) if r.state == NEGATIVE_OPEN]
    if not rows:
        raise Conflict(_("These negative-stock exceptions are already resolved"))
    by_wh: dict[int, list[NegativeStock]] = defaultdict(list)
    for r in rows:
        by_wh[r.warehouse_id].append(r)
    counts = []
    for wh_id, items in sorted(by_wh.items()):
        count = create_count(wh_id)
        products = sorted({r.product_id for r in items})
        start_count(count.id, product_ids=products)
        # a product the quants do not know at all still needs a line to count
        have = set(_session().scalars(sa.select(CountLine.product_id).where(CountLine.count_id == count.id)))
        for r in items:
            if r.product_id not in have:
                _session().add(CountLine(count_id=count.id, product_id=r.product_id, location_id=r.location_id,
                                         expected=_D0))
                have.add(r.product_id)
            r.count_id = count.id
        counts.append(count)
    _session().flush()
    return counts


def resolve_negative_stock(negative_ids, *, note: str | None = None, user_id=None, store_ids=None) -> int:
    """Mark negative-stock exceptions resolved (the count was taken, or the cause found)."""
    rows = _negative_stock_rows(negative_ids, store_ids)
    done = 0
    now = utcnow()
    for r in rows:
        if r.state == NEGATIVE_RESOLVED:
            continue
        r.state, r.resolved_at, r.resolved_by_id = NEGATIVE_RESOLVED, now, user_id or _current_user_id()
        if note:
            r.note = note.strip()[:256]
        done += 1
    _session().flush()
    return done
