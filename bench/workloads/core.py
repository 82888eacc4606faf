"""Core workloads: app start, admin product list and API barcode lookup over real HTTP.

- ``app_start``: ``create_app()`` with every built-in addon, in a new Python process (cold:
  imports included) and again in this process (warm: the assembly alone);
- the products (``SCALES[...]["products"]``, 100k at full scale) are written with one
  executemany per chunk, not the ORM;
- the app is served by werkzeug's threaded WSGI server on 127.0.0.1, on a free port, through ``core.wsgi.AppHolder`` as in production; requests go
  over one keep-alive ``http.client`` connection, one at a time, so the figures are
  latencies of a single client (``per_s`` = requests that client completes per second);
- admin: a superuser logged in through the real login form lists products (page 1,
  a search by name, and a page deep in the list);
- API: ``GET /api/v1/products/barcode/<ean>`` with a Bearer token for random existing
  barcodes, plus unknown barcodes (404 problem bodies).
"""
from __future__ import annotations

import http.client
import random
import re
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

from bench import latency_figures, timed

SCALES = {
    "small": {"products": 2_000, "requests": 60, "starts": 3, "cold_starts": 1},
    "full": {"products": 100_000, "requests": 400, "starts": 5, "cold_starts": 3},
}

PASSWORD = "bench password 123"
ROOT = Path(__file__).resolve().parents[2]


def ean13(number: int, prefix: str = "69") -> str:
    body = f"{prefix}{number:010d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def generate_products(app, count: int) -> list[str]:
    """``count`` products in a small category tree, by chunked executemany."""
    from core.db import db
    from core.models.master import Category, Product, Tax, Unit
    barcodes = []
    with app.app_context():
        with db.engine.begin() as conn:
            unit_id = conn.scalar(sa.select(Unit.id).where(Unit.code == "pc"))
            tax_id = conn.scalar(sa.select(Tax.id).order_by(Tax.id))
            cat_ids = []
            for top in ("Food", "Drinks", "Household", "Personal care"):
                top_id = conn.execute(sa.insert(Category.__table__).values(name=top)
                                      .returning(Category.__table__.c.id)).scalar()
                cat_ids.append(top_id)
                for sub in range(5):
                    cat_ids.append(conn.execute(sa.insert(Category.__table__).values(
                        name=f"{top} {sub + 1}", parent_id=top_id).returning(Category.__table__.c.id)).scalar())
            words = ["Organic", "Fresh", "Classic", "Premium", "Family", "Mini", "Jumbo", "Light"]
            things = ["rice", "tea", "noodles", "soap", "juice", "biscuits", "tissues", "milk", "soy sauce"]
            chunk = 5_000
            for start in range(0, count, chunk):
                rows = []
                for i in range(start, min(count, start + chunk)):
                    code = ean13(i + 1)
                    barcodes.append(code)
                    rows.append({
                        "sku": f"SKU{i + 1:07d}", "barcode": code,
                        "name": f"{words[i % len(words)]} {things[(i // 8) % len(things)]} {i + 1}",
                        "category_id": cat_ids[i % len(cat_ids)], "unit_id": unit_id, "tax_id": tax_id,
                        "list_price": Decimal(10 + i % 500) + Decimal("0.90"),
                        "cost": Decimal(6 + i % 300) + Decimal("0.25"), "active": True,
                    })
                conn.execute(sa.insert(Product.__table__), rows)
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("ANALYZE")
    return barcodes


def make_superuser_and_token(app) -> str:
    from core.auth.models import ApiToken
    from core.db import db
    from core.testing import make_user
    with app.app_context():
        user = make_user("bench", superuser=True, password=PASSWORD)
        row, clear = ApiToken.issue(user, "bench")
        db.session.add(row)
        db.session.commit()
        db.session.remove()
    return clear


class Server:
    """The app on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, wsgi_app):
        import logging
        from werkzeug.serving import make_server
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        self.server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


class Client:
    """One keep-alive HTTP/1.1 connection with a cookie jar of its own."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def close(self):
        self.conn.close()


def login(client: Client, username: str, password: str) -> None:
    status, page = client.request("GET", "/login")
    assert status == 200, status
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"', page)
    form = urlencode({"username": username, "password": password,
                      "csrf_token": (token.group(1) or token.group(2)).decode()}).encode()
    status, _ = client.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 302, f"login answered {status}"


def measure(client: Client, paths, expect: int, repeat: int, headers=None) -> list[float]:
    paths = list(paths)
    samples = []
    for i in range(repeat):
        path = paths[i % len(paths)]
        start = time.perf_counter()
        status, _ = client.request("GET", path, headers=headers)
        samples.append(time.perf_counter() - start)
        if status != expect:
            raise RuntimeError(f"GET {path} answered {status}, expected {expect}")
    return samples


def cold_start_seconds(database_url: str) -> float:
    code = ("import time; t=time.perf_counter();"
            "from core.app import create_app; from core.testing import BUILTIN_ADDONS, app_config;"
            f"create_app(app_config({database_url!r}, TESTING=False), addons=BUILTIN_ADDONS);"
            "print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run(ctx) -> dict:
    from core.db import db
    from core.wsgi import AppHolder
    scale = ctx.scale
    figures: dict = {}

    # --- app start ----------------------------------------------------------------------
    cold = sorted(cold_start_seconds(ctx.database_url) for _ in range(scale["cold_starts"]))
    figures["app_start_cold_median_ms"] = {"value": round(cold[len(cold) // 2] * 1000, 1), "unit": "ms"}
    apps = []

    def start():
        apps.append(ctx.make_app())
    samples = timed(start, repeat=scale["starts"], warmup=1)
    figures["app_start_warm_median_ms"] = {"value": round(sorted(samples)[len(samples) // 2] * 1000, 1),
                                           "unit": "ms"}
    for a in apps:
        with a.app_context():
            db.engine.dispose()

    # --- data -----------------------------------------------------------------------------
    app = ctx.make_app()
    t0 = time.perf_counter()
    barcodes = generate_products(app, scale["products"])
    figures["generate_products_s"] = {"value": round(time.perf_counter() - t0, 1), "unit": "s"}
    figures["products"] = {"value": len(barcodes), "unit": "rows"}
    token = make_superuser_and_token(app)
    with app.app_context():
        db.engine.dispose()

    holder = AppHolder(ctx.make_app)
    rng = random.Random(2026)
    n = scale["requests"]
    with Server(holder) as server:
        # --- admin, superuser logged in -----------------------------------------------
        admin = Client(server.port)
        login(admin, "bench", PASSWORD)
        measure(admin, ["/admin/product/"], 200, 5)  # warm-up (templates, caches)
        figures.update(latency_figures("admin_product_list", measure(admin, ["/admin/product/"], 200, n)))
        searches = [f"/admin/product/?search={w}" for w in ("jumbo", "tea", "SKU00123", "69000004")]
        figures.update(latency_figures("admin_product_search", measure(admin, searches, 200, n // 2)))
        deep = [f"/admin/product/?page={p}" for p in (10, 100, max(1, len(barcodes) // 50 - 1))]
        figures.update(latency_figures("admin_product_deep_page", measure(admin, deep, 200, n // 4)))
        admin.close()

        # --- API barcode lookup ---------------------------------------------------------
        api = Client(server.port)
        auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        hits = [f"/api/v1/products/barcode/{rng.choice(barcodes)}" for _ in range(n)]
        measure(api, hits[:10], 200, 10, auth)
        figures.update(latency_figures("api_barcode_lookup", measure(api, hits, 200, n, auth)))
        misses = [f"/api/v1/products/barcode/{ean13(len(barcodes) + 1000 + i, '68')}" for i in range(50)]
        figures.update(latency_figures("api_barcode_unknown", measure(api, misses, 404, n // 2, auth)))
        api.close()
    app_ = holder.app
    if app_ is not None:
        with app_.app_context():
            db.engine.dispose()
    return figures
