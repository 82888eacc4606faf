"""Product CSV import: every bad row named with its line and reason; all or nothing.

The file (UTF-8, comma-separated; a ';' or tab separator is recognised from the header) has
a header line with these columns, in any order::

    sku, barcode, name, category, unit, tax, list_price, cost, active

``sku``, ``name``, ``unit`` and ``list_price`` are required columns; the others may be left
out (a left-out column is not touched on existing products). A row whose SKU exists updates
that product, any other row creates one. ``category`` is a path (``Food / Dairy``); missing
categories are created. Empty ``barcode``/``category``/``tax`` cells mean none; an empty
``cost`` is 0 and an empty ``active`` is true.

The whole file is checked first with a few bulk queries (units, taxes, categories, every
product's SKU and barcode), never a query per row; only a file without a single bad row is
written, with bulk INSERT/UPDATE statements in the caller's transaction.
"""
from __future__ import annotations

import csv
import functools
import itertools
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from core import csvio
from core.barcodes import barcode_problem
from core.db import db, utcnow
from core.errors import ValidationError
from core.i18n import _
from core.models import AuditLog, Product, Tax, Unit

COLUMNS = ("sku", "barcode", "name", "category", "unit", "tax", "list_price", "cost", "active")
REQUIRED_COLUMNS = ("sku", "name", "unit", "list_price")
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TRUE = {"1", "true", "yes", "y", "t", "x", "on"}
_FALSE = {"0", "false", "no", "n", "f", "off"}
_MAX_PRICE = Decimal("1e10")
_FOUR = Decimal("0.0001")


@dataclass
class RowError:
    line: int
    message: str
    column: str | None = None

    def __str__(self):
        return _("line %(line)s: %(message)s", line=self.line, message=self.message)


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    categories_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_lines(self) -> list[int]:
        return sorted({e.line for e in self.errors})

    def summary(self) -> str:
        if self.errors:
            return _("%(n)s problems on %(lines)s lines; nothing was imported.",
                     n=len(self.errors), lines=len(self.bad_lines))
        if self.dry_run:
            return _("The file is valid: %(rows)s rows would create %(c)s products and update %(u)s "
                     "(dry run: nothing was written).", rows=self.rows, c=self.created, u=self.updated)
        return _("Imported %(rows)s rows: %(c)s products created, %(u)s updated.",
                 rows=self.rows, c=self.created, u=self.updated)


def _price(text: str, column: str, errors: list, line: int):
    text = text.strip()
    if not text:
        return None
    try:
        value = Decimal(text)
        if value.is_finite() and value >= 0 and value < _MAX_PRICE and value == value.quantize(_FOUR):
            return value  # the usual case, without building any message
    except InvalidOperation:
        pass
    label = _("The list price") if column == "list_price" else _("The cost")
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors.append(RowError(line, _("%(label)s %(v)r is not a number (write it like 12.50).",
                                       label=label, v=text), column))
        return None
    if not value.is_finite():
        errors.append(RowError(line, _("%(label)s %(v)r is not a number (write it like 12.50).",
                                       label=label, v=text), column))
        return None
    if value < 0:
        errors.append(RowError(line, _("%(label)s cannot be negative (%(v)s).", label=label, v=text), column))
        return None
    if value >= _MAX_PRICE:
        errors.append(RowError(line, _("%(label)s %(v)s is too large.", label=label, v=text), column))
        return None
    if value != value.quantize(_FOUR):
        errors.append(RowError(line, _("%(label)s %(v)s has more than 4 decimals.", label=label, v=text), column))
        return None
    return value


def _pg_copy(conn, table_name: str, columns: list[str], rows) -> None:
    """COPY rows into a table on the transaction's own psycopg connection."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(f'COPY {table_name} ({", ".join(columns)}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


def _pg_update(conn, keys: list[str], params: list[dict], now, release_barcodes: bool) -> None:
    """UPDATE many products at once: COPY the new values into a temporary table, then one
    UPDATE ... FROM (PostgreSQL)."""
    conn.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS o2o_import_product ON COMMIT DROP AS "
        "SELECT id, barcode, name, unit_id, tax_id, category_id, list_price, cost, active FROM product WITH NO DATA")
    conn.exec_driver_sql("TRUNCATE o2o_import_product")
    _pg_copy(conn, "o2o_import_product", ["id"] + keys, ([p["_id"]] + [p[k] for k in keys] for p in params))
    if release_barcodes:  # release changed barcodes first, so two products may swap theirs
        conn.exec_driver_sql(
            "UPDATE product SET barcode = NULL FROM o2o_import_product t WHERE product.id = t.id "
            "AND product.barcode IS NOT NULL AND product.barcode IS DISTINCT FROM t.barcode")
    sets = ", ".join(f"{k} = t.{k}" for k in keys)
    conn.execute(sa.text(f"UPDATE product SET {sets}, updated_at = :now FROM o2o_import_product t "
                         "WHERE product.id = t.id"), {"now": now})


def _create_categories(session, paths, categories: dict) -> int:
    """Create every missing category (and missing parents) of ``paths``, one INSERT per
    tree level; ``categories`` (path -> id) is completed in place. Returns how many."""
    from core.models import Category
    missing: set[str] = set()
    for path in paths:
        parts = path.split(" / ")
        for depth in range(1, len(parts) + 1):
            prefix = " / ".join(parts[:depth])
            if prefix not in categories:
                missing.add(prefix)
    table = Category.__table__
    by_depth: dict[int, list[str]] = {}
    for path in missing:
        by_depth.setdefault(path.count(" / "), []).append(path)
    for depth in sorted(by_depth):
        level = sorted(by_depth[depth])
        params = []
        for path in level:
            parent, _sep, name = path.rpartition(" / ")
            params.append({"name": name, "parent_id": categories[parent] if parent else None})
        ids = session.connection().execute(
            sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), params).scalars().all()
        categories.update(zip(level, ids))
    return len(missing)


@functools.lru_cache(maxsize=8192)
def _split_path(path: str) -> str:
    return " / ".join(p.strip() for p in path.split("/") if p.strip())


def import_products(data, *, dry_run: bool = False, session=None, username: str | None = None) -> ImportResult:
    """Check the CSV ``data`` (bytes, str or a binary file object, read line by line) and, if every row is valid and not ``dry_run``,
    create/update the products. Returns an ImportResult; never commits."""
    from core.services.master import category_paths
    session = session if session is not None else db.session
    result = ImportResult(dry_run=dry_run)
    errors = result.errors

    lines = csvio.text_lines(data)  # line by line: a big upload is never held whole as text
    try:
        first = next(lines)
    except StopIteration:
        first = ""
    except ValidationError as exc:  # not UTF-8, or a NUL, on the first line
        errors.append(RowError(1, exc.message))
        return result
    delimiter = "," if "," in first or ("\t" not in first and ";" not in first) else (";" if ";" in first else "\t")
    reader = csvio.LineReader(itertools.chain([first] if first else [], lines), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        errors.append(RowError(1, _("The file is empty; the first line must name the columns: %(cols)s.",
                                    cols=", ".join(COLUMNS))))
        return result
    except csv.Error as exc:
        errors.append(RowError(1, _("The header line cannot be read: %(e)s.", e=exc)))
        return result
    header = [h.strip().lower() for h in header]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    doubled = sorted({h for h in header if header.count(h) > 1 and h})
    if unknown or missing or doubled:
        parts = []
        if missing:
            parts.append(_("missing column(s) %(c)s", c=", ".join(missing)))
        if unknown:
            parts.append(_("unknown column(s) %(c)s", c=", ".join(repr(u) for u in unknown)))
        if doubled:
            parts.append(_("column(s) named twice: %(c)s", c=", ".join(doubled)))
        errors.append(RowError(1, _("Wrong header (%(p)s). The columns are: %(cols)s.",
                                    p="; ".join(parts), cols=", ".join(COLUMNS))))
        return result
    index = {name: i for i, name in enumerate(header)}
    has = set(header)

    # bulk lookups: a handful of queries whatever the file size
    units = dict(session.execute(sa.select(Unit.code, Unit.id)).all())
    taxes = dict(session.execute(sa.select(Tax.code, Tax.id)).all())
    categories = category_paths(session)
    existing = {}  # sku -> (id, barcode)
    barcode_owner = {}  # barcode -> sku
    old_values = {}  # sku -> {field: value}, for o2o_product_changed
    for pid, sku, barcode, *old in session.execute(sa.select(Product.id, Product.sku, Product.barcode,
                                                              *(getattr(Product, f) for f in _EVENT_FIELDS))):
        existing[sku] = (pid, barcode)
        old_values[sku] = dict(zip(_EVENT_FIELDS, old), barcode=barcode)
        if barcode:
            barcode_owner[barcode] = sku

    rows = []  # (line, values dict)
    sku_line: dict[str, int] = {}
    barcode_line: dict[str, tuple[int, str]] = {}
    width = len(header)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(reader.line, _("This line cannot be read as CSV: %(e)s.", e=exc)))
            break
        except ValidationError as exc:  # a line that is not UTF-8 or holds a NUL: named, nothing written
            errors.append(RowError(exc.extra.get("line", reader.line), exc.message))
            break
        line = reader.line
        if not cells or all(not c.strip() for c in cells):
            continue
        result.rows += 1
        if len(cells) != width:
            errors.append(RowError(line, _("This row has %(n)s cells but the header has %(m)s columns.",
                                           n=len(cells), m=width)))
            continue
        cells = [c.strip() for c in cells]
        get = lambda name: cells[index[name]] if name in index else ""  # noqa: E731
        row_errors: list[RowError] = []
        values: dict = {}

        sku = get("sku")
        if not sku:
            row_errors.append(RowError(line, _("The SKU is missing."), "sku"))
        elif len(sku) > 32 or not _SKU.match(sku):
            row_errors.append(RowError(line, _("The SKU %(sku)r is not valid: at most 32 letters, digits, '.', "
                                               "'_' or '-', no spaces.", sku=sku), "sku"))
        elif sku in sku_line:
            row_errors.append(RowError(line, _("The SKU %(sku)s is already on line %(other)s of this file.",
                                               sku=sku, other=sku_line[sku]), "sku"))
        else:
            sku_line[sku] = line
        values["sku"] = sku

        name = get("name")
        if not name:
            row_errors.append(RowError(line, _("The product name is missing (SKU %(sku)s).", sku=sku or "?"), "name"))
        elif len(name) > 256:
            row_errors.append(RowError(line, _("The product name is longer than 256 characters."), "name"))
        values["name"] = name

        if "barcode" in has:
            barcode = get("barcode")
            if barcode:
                problem = barcode_problem(barcode)
                if problem:
                    row_errors.append(RowError(line, problem, "barcode"))
                elif barcode in barcode_line:
                    row_errors.append(RowError(line, _("The barcode %(code)s is already on line %(other)s of this "
                                                       "file.", code=barcode, other=barcode_line[barcode][0]),
                                               "barcode"))
                else:
                    barcode_line[barcode] = (line, sku)
            values["barcode"] = barcode or None

        unit = get("unit")
        if not unit:
            row_errors.append(RowError(line, _("The unit is missing."), "unit"))
        elif unit not in units:
            row_errors.append(RowError(line, _("There is no unit %(code)r (known units: %(known)s).",
                                               code=unit, known=", ".join(sorted(units))), "unit"))
        else:
            values["unit_id"] = units[unit]

        if "tax" in has:
            tax = get("tax")
            if tax and tax not in taxes:
                row_errors.append(RowError(line, _("There is no tax %(code)r (known taxes: %(known)s).",
                                                   code=tax, known=", ".join(sorted(taxes))), "tax"))
            values["tax_id"] = taxes.get(tax) if tax else None

        if "category" in has:
            path = _split_path(get("category"))
            if any(len(p.strip()) > 128 for p in path.split("/")):
                row_errors.append(RowError(line, _("A category name is longer than 128 characters."), "category"))
            values["category"] = path or None

        price_text = get("list_price")
        if not price_text:
            row_errors.append(RowError(line, _("The list price is missing."), "list_price"))
        else:
            values["list_price"] = _price(price_text, "list_price", row_errors, line)
        if "cost" in has:
            cost = _price(get("cost"), "cost", row_errors, line)
            values["cost"] = cost if cost is not None else Decimal("0")
        if "active" in has:
            flag = get("active").lower()
            if flag in _TRUE or flag == "":
                values["active"] = True
            elif flag in _FALSE:
                values["active"] = False
            else:
                row_errors.append(RowError(line, _("Active must be yes or no (or 1/0, true/false), not %(v)r.",
                                                   v=get("active")), "active"))
        if row_errors:
            errors.extend(row_errors)
        else:
            rows.append((line, values))

    if result.rows == 0 and not errors:
        errors.append(RowError(2, _("The file has a header but no products.")))

    # barcodes already used by another product (which this file does not give another barcode)
    if "barcode" in has:
        for barcode, (line, sku) in barcode_line.items():
            owner = barcode_owner.get(barcode)
            if owner is None or owner == sku:
                continue
            if owner in sku_line:
                own_line = sku_line[owner]
                new = next((v.get("barcode") for ln, v in rows if ln == own_line), barcode)
                if new != barcode:
                    continue  # the other product gets a new barcode in this same file
            errors.append(RowError(line, _("The barcode %(code)s already belongs to the product with SKU "
                                           "%(other)s.", code=barcode, other=owner), "barcode"))
    errors.sort(key=lambda e: e.line)

    creates = [v for _line, v in rows if v["sku"] not in existing]
    updates = [v for _line, v in rows if v["sku"] in existing]
    result.created, result.updated = len(creates), len(updates)
    if errors or dry_run:
        if errors:
            result.created = result.updated = 0
        return result

    # --- write -------------------------------------------------------------------------
    if "category" in has:
        wanted = {v["category"] for _l, v in rows if v.get("category")}
        result.categories_created = _create_categories(session, wanted, categories)
        for _l, v in rows:
            path = v.pop("category")
            v["category_id"] = categories[path] if path else None
    table = Product.__table__
    now = utcnow()
    keys = [k for k in (rows[0][1] if rows else {}) if k != "sku"]
    conn = session.connection()
    fast = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
    if updates:
        params = [{"_id": existing[v["sku"]][0], **{k: v[k] for k in keys}} for v in updates]
        if fast:
            _pg_update(conn, keys, params, now, release_barcodes="barcode" in keys)
        else:
            if "barcode" in keys:  # release changed barcodes first, so two products may swap theirs
                freed = [{"_id": existing[v["sku"]][0]} for v in updates
                         if existing[v["sku"]][1] and existing[v["sku"]][1] != v.get("barcode")]
                if freed:
                    conn.execute(sa.update(table).where(table.c.id == sa.bindparam("_id")).values(barcode=None),
                                 freed)
            stmt = (sa.update(table).where(table.c.id == sa.bindparam("_id"))
                    .values({k: sa.bindparam(k) for k in keys + ["updated_at"]}))
            conn.execute(stmt, [{**p, "updated_at": now} for p in params])
    if creates:
        defaults = {"barcode": None, "category_id": None, "tax_id": None, "cost": Decimal("0"), "active": True,
                    "description": None}
        params = [{**defaults, **v, "created_at": now, "updated_at": now} for v in creates]
        if fast:
            columns = list(params[0])
            _pg_copy(conn, "product", columns, ([p[c] for c in columns] for p in params))
        else:
            conn.execute(sa.insert(table), params)
    from core.models.audit import _actor
    user_id, actor_name = _actor()
    session.execute(sa.insert(AuditLog.__table__), [dict(
        at=now, action="import", table_name="product", row_id=None, user_id=user_id,
        username=username or actor_name,
        changes=json.dumps({"created": len(creates), "updated": len(updates), "rows": result.rows}),
    )])
    session.expire_all()
    result.written = True
    _fire_product_changes(session, creates, updates, old_values)
    return result


# What an imported row can change, besides sku and barcode.
_EVENT_FIELDS = ("name", "category_id", "unit_id", "tax_id", "list_price", "cost", "active")


def _fire_product_changes(session, creates: list[dict], updates: list[dict], old_values: dict) -> None:
    """o2o_product_changed once per created or changed product, as the ORM's flush listener
    does for other paths (core.events). The products are loaded a few hundred per query,
    and only when someone listens."""
    from core.events import _same, fire_product_changes, has_listeners, product_change
    if not has_listeners("o2o_product_changed", "o2o_after_commit"):
        return
    events = {}  # sku -> (change, changes)
    for values in creates:
        events[values["sku"]] = ("created", {k: (None, v) for k, v in values.items() if v is not None})
    for values in updates:
        old = old_values[values["sku"]]
        changes = {k: (old[k], v) for k, v in values.items() if k in old and not _same(old[k], v)}
        change = product_change(changes)
        if change:
            events[values["sku"]] = (change, changes)
    skus = list(events)
    items = []
    for start in range(0, len(skus), 500):
        chunk = skus[start:start + 500]
        by_sku = {p.sku: p for p in session.scalars(sa.select(Product).where(Product.sku.in_(chunk)))}
        items.extend((by_sku[sku], *events[sku]) for sku in chunk)
    fire_product_changes(items, session)
