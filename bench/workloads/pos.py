"""Point of sale: a till sale with 3 lines (by barcode) and a cash payment, through the API,
everything posted in the one request (order, lines, payment, stock moves, receipt number,
hash-chained journal entry, events).

- ``api_sale``: Flask test client (no network), one sale per request, one at a time;
- ``http_sale``: the same over real loopback HTTP (werkzeug's threaded server in a thread,
  one keep-alive ``http.client`` connection);
- ``end_to_end_per_s``: sales completed per second over the HTTP run's wall time;
- ``queries_per_sale``: SQL statements per sale request (N+1 check: constant whatever the
  number of lines), and the same for a 10-line sale;
- ``retry_median_ms``: a retried request (same idempotency key) answering the first result;
- ``api_sale_cpu_median_ms``: this process's CPU time per sale (the machine is shared: wall
  times grow with the load average, reported as ``load_average_1min``).
Products are bulk-inserted with executemany; stock with one ``post_moves`` call.
"""
from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from decimal import Decimal

import sqlalchemy as sa

from bench import latency_figures

SCALES = {
    "small": {"products": 500, "sales": 150, "http_sales": 100},
    "full": {"products": 20_000, "sales": 1_000, "http_sales": 500},
}


def _ean13(number: int) -> str:
    body = f"48{number:010d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def seed(app, products: int) -> dict:
    from core.auth.models import ApiToken
    from core.db import db
    from core.models import Product, Store, Tax, Unit
    from core.testing import make_user
    from addons.pos import services as pos
    from addons.warehouse import services as wh
    with app.app_context():
        store = Store(code="B01", name="Bench shop")
        db.session.add(store)
        db.session.flush()
        wh.ensure_store_warehouses()
        unit_id = db.session.scalar(sa.select(Unit.id).order_by(Unit.id))
        tax = Tax(code="BVAT13", name="VAT 13%", rate=Decimal("13"))
        db.session.add(tax)
        db.session.flush()
        rows = [{"sku": f"B{i:07d}", "barcode": _ean13(i), "name": f"Bench product {i}", "unit_id": unit_id,
                 "tax_id": tax.id, "list_price": Decimal(3 + i % 40) + Decimal("0.90"), "cost": Decimal("1.5"),
                 "active": True} for i in range(1, products + 1)]
        for start in range(0, len(rows), 5000):
            db.session.execute(sa.insert(Product.__table__), rows[start:start + 5000])
        ids = dict(db.session.execute(sa.select(Product.barcode, Product.id).where(Product.sku.like("B%"))).all())
        location = wh.stock_location(wh.warehouse_for_store(store.id).id)
        supplier = wh.virtual_location("supplier")
        moves = [{"product_id": pid, "from_location_id": supplier.id, "to_location_id": location.id,
                  "quantity": Decimal("100000"), "unit_cost": Decimal("1.5"), "source": "bench"}
                 for pid in ids.values()]
        for start in range(0, len(moves), 500):  # one huge call overflows PostgreSQL's parser stack
            wh.post_moves(moves[start:start + 500])
        register = pos.create_register(store.id, "R1", "Bench till")
        pos.open_session(register.id, "500")
        user = make_user("bench_cashier", ["pos.sell", "pos.session"], stores=[store])
        token_row, token = ApiToken.issue(user, "bench")
        db.session.add(token_row)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        out = {"register": register.id, "barcodes": list(ids), "token": token, "session": register.id}
        db.session.remove()
    return out


def sale_body(data: dict, rng: random.Random, lines: int = 3) -> bytes:
    codes = rng.sample(data["barcodes"], lines)
    return json.dumps({"register_id": data["register"],
                       "lines": [{"barcode": c, "quantity": str(rng.randint(1, 3))} for c in codes],
                       "payments": [{"method": "cash", "amount": "1000.00"}]}).encode()


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def _count(self, *args, **kwargs):
        self.count += 1

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._count)


def run(ctx) -> dict:
    from core.db import db
    scale = {**SCALES["small"], **(ctx.scale or {})}
    app = ctx.make_app()
    data = seed(app, scale["products"])
    rng = random.Random(7)
    headers = {"Authorization": f"Bearer {data['token']}", "Content-Type": "application/json"}
    client = app.test_client()
    figures: dict = {}

    def post(body: bytes, key: str | None = None):
        r = client.post("/api/v1/pos/sales", data=body,
                        headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex})
        if r.status_code not in (200, 201):
            raise RuntimeError(f"sale answered {r.status_code}: {r.get_data(as_text=True)[:300]}")
        return r

    for _ in range(10):  # warm up
        post(sale_body(data, rng))

    # queries per sale: 3 lines and 10 lines (a constant difference would mean no N+1 per line)
    with app.app_context():
        engine = db.engine
    per_lines = {}
    for n in (3, 10):
        counts = []
        for _ in range(5):
            with QueryCounter(engine) as qc:
                post(sale_body(data, rng, n))
            counts.append(qc.count)
        per_lines[n] = statistics.median(counts)
    figures["queries_per_sale_3_lines"] = {"value": per_lines[3], "unit": "queries"}
    figures["queries_per_sale_10_lines"] = {"value": per_lines[10], "unit": "queries"}

    samples, cpu = [], []
    for _ in range(scale["sales"]):
        body = sale_body(data, rng)
        start, start_cpu = time.perf_counter(), time.process_time()
        post(body)
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    figures.update(latency_figures("api_sale", samples))
    # CPU time of this process per sale: what a sale costs when the machine is not shared
    # (the database work of SQLite runs in-process and is included; PostgreSQL's is not)
    figures["api_sale_cpu_median_ms"] = {"value": round(statistics.median(cpu) * 1000, 3), "unit": "ms"}
    figures["load_average_1min"] = {"value": round(__import__("os").getloadavg()[0], 2), "unit": "load"}

    body = sale_body(data, rng)
    post(body, "retry-me")
    retries = []
    for _ in range(50):
        start = time.perf_counter()
        r = post(body, "retry-me")
        retries.append(time.perf_counter() - start)
        assert r.status_code == 200
    figures["retry_median_ms"] = {"value": round(statistics.median(retries) * 1000, 3), "unit": "ms"}

    # real loopback HTTP
    from bench.workloads.core import Client, Server
    from werkzeug.serving import WSGIRequestHandler
    WSGIRequestHandler.protocol_version = "HTTP/1.1"  # keep-alive, as a till would
    with Server(app) as server:
        http = Client(server.port)
        http_samples = []
        wall = time.perf_counter()
        for _ in range(scale["http_sales"]):
            body = sale_body(data, rng)
            start = time.perf_counter()
            status, answer = http.request("POST", "/api/v1/pos/sales", body,
                                          {**headers, "Idempotency-Key": uuid.uuid4().hex})
            http_samples.append(time.perf_counter() - start)
            if status != 201:
                raise RuntimeError(f"HTTP sale answered {status}: {answer[:300]!r}")
        wall = time.perf_counter() - wall
        http.close()
    figures.update(latency_figures("http_sale", http_samples))
    figures["end_to_end_per_s"] = {"value": round(len(http_samples) / wall, 1), "unit": "per_s"}

    with app.app_context():
        from addons.pos.services import verify_journal
        result = verify_journal()
        if not result["ok"]:
            raise RuntimeError(f"journal broken after the bench: {result}")
        figures["journal_entries_verified"] = {"value": result["entries"], "unit": "entries"}
        start = time.perf_counter()
        verify_journal()
        figures["verify_journal_s"] = {"value": round(time.perf_counter() - start, 3), "unit": "s"}
        db.session.remove()
        db.engine.dispose()
    return figures
