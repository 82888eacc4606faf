"""Master-data workloads: product CSV import, document numbers, core demo data.

- ``import_check_s``: checking a CSV of ``rows`` products (every row validated, a handful
  of bulk queries, nothing written) — ``import_create_s`` the same file imported into an
  empty catalogue and committed, ``import_update_s`` imported again (every product
  updated), ``import_bad_s`` a file where every 9th row is bad (all reported);
  ``*_cpu_s`` figures are this process's CPU time (the machine may be shared);
- ``sequence_per_s``: document numbers taken one per committed transaction, one process;
- ``demo_load_s``: the core demo data (chain, ~280 products, partners, staff) into a
  database with no demo yet.
"""
from __future__ import annotations

import time

SCALES = {
    "small": {"rows": 5_000, "numbers": 200},
    "full": {"rows": 100_000, "numbers": 2_000},
}


def make_csv(rows: int, bad_every: int = 0) -> bytes:
    from core.barcodes import make_ean13
    lines = ["sku,barcode,name,category,unit,tax,list_price,cost,active"]
    for i in range(rows):
        tax = "VAT77" if bad_every and i % bad_every == 0 else "VAT0"
        lines.append(f"IMP-{i:07d},{make_ean13(f'69{i:010d}')},Imported product {i},"
                     f"Group {i % 20} / Family {i % 7},pc,{tax},{i % 90 + 1}.90,{i % 50 + 1}.10,yes")
    return ("\n".join(lines) + "\n").encode()


def _clock(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run(ctx) -> dict:
    from core.db import db
    from core.services.products import import_products
    from core.services.sequences import ensure_sequence, next_number
    rows = ctx.scale["rows"]
    app = ctx.make_app(addons=[])
    figures = {"rows": {"value": rows, "unit": "rows"}}
    good, bad = make_csv(rows), make_csv(rows, bad_every=9)
    with app.app_context():
        def check():
            result = import_products(good, dry_run=True)
            db.session.rollback()
            assert result.ok
        def write():
            result = import_products(good)
            db.session.commit()
            assert result.ok, result.errors[:3]
        def refuse():
            result = import_products(bad)
            db.session.rollback()
            assert len(result.errors) == len(range(0, rows, 9))
        for name, fn in (("import_check", check), ("import_create", write), ("import_update", write),
                         ("import_bad", refuse)):
            _r, wall, cpu = _clock(fn)
            figures[f"{name}_s"] = {"value": round(wall, 2), "unit": "s"}
            figures[f"{name}_cpu_s"] = {"value": round(cpu, 2), "unit": "s"}
        figures["import_create_rows_per_s"] = {"value": round(rows / figures["import_create_s"]["value"]),
                                               "unit": "per_s"}

        ensure_sequence(db.session, "bench.doc", "Bench documents", "B/{year}/{number}", padding=6)
        db.session.commit()
        count = ctx.scale["numbers"]

        def numbers():
            for _i in range(count):
                next_number("bench.doc")
                db.session.commit()
        _r, wall, _cpu = _clock(numbers)
        figures["sequence_per_s"] = {"value": round(count / wall), "unit": "per_s"}
        db.session.remove()
        db.engine.dispose()

    app = ctx.make_app(addons=[])
    with app.app_context():
        from core.demo import load_core_demo
        from core.models import Product
        import sqlalchemy as sa
        db.session.execute(sa.delete(Product))  # the demo wants an empty chain; products came from the import
        db.session.commit()
        def demo():
            load_core_demo(db.session, app)
            db.session.commit()
        _r, wall, _cpu = _clock(demo)
        figures["demo_load_s"] = {"value": round(wall, 2), "unit": "s"}
        db.session.remove()
        db.engine.dispose()
    return figures
