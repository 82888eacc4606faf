"""What the HTTP race tests share: a shop with its last units, two tills and a web shop's
token (committed in the test's own database), the client processes' requests, and a check
of the books that a half-written sale cannot pass."""
from __future__ import annotations

import http.client
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa

from core.testing import http_json

D = Decimal
PRICE = D("10.00")
COST = D("4.00")
SEED_SOURCE = "RACE-SEED"


_APPS: dict = {}


def app_for(url):
    """The test process's own app on the race's database (built once: seeding, checking);
    its connections are given back after each use (``db.engine.dispose()``), so none is
    inherited by the forked client processes."""
    if url not in _APPS:
        from core.app import create_app
        from core.testing import app_config
        _APPS.clear()  # one database at a time: the previous test's is dropped
        _APPS[url] = create_app(app_config(url, TESTING=False))
    return _APPS[url]


def seed(url, *, stock, till_short_stock="refuse", registers=2) -> SimpleNamespace:
    """A store with ``stock`` units of one product, ``registers`` tills each with an open
    session, a till token (pos.sell) and a web shop token (create and confirm orders), both
    limited to the store."""
    from core.auth.models import ApiToken
    from core.barcodes import make_ean13
    from core.db import db
    from core.models import Product, Store, Unit
    from core.testing import make_user
    from addons.pos import services as pos
    from addons.warehouse import services as wh
    app = app_for(url)
    with app.app_context():
        store = Store(code="HR", name="HTTP race shop")
        db.session.add(store)
        db.session.flush()
        wh.ensure_store_warehouses()
        unit = db.session.scalar(sa.select(Unit).where(Unit.code == "pc"))
        product = Product(sku="HR-LAST", barcode=make_ean13("400638133394"), name="Last units", unit=unit,
                          list_price=PRICE)
        db.session.add(product)
        db.session.flush()
        warehouse = wh.warehouse_for_store(store.id)
        wh.receive(product.id, wh.stock_location(warehouse.id).id, D(stock), COST, source=SEED_SOURCE)
        wh.set_till_short_stock(warehouse.id, till_short_stock)
        regs = [pos.create_register(store.id, f"T{i}") for i in range(1, registers + 1)]
        for r in regs:
            pos.open_session(r.id, "0")
        till_user = make_user("race_till", ["pos.sell"], stores=[store])
        web_user = make_user("race_web", ["sales.order.create", "sales.order.confirm", "sales.order.read"],
                             stores=[store])
        till_row, till_token = ApiToken.issue(till_user, "race till")
        web_row, web_token = ApiToken.issue(web_user, "race web")
        db.session.add_all([till_row, web_row])
        db.session.commit()
        ids = SimpleNamespace(store=store.id, product=product.id, sku=product.sku, warehouse=warehouse.id,
                              registers=[r.id for r in regs], till_token=till_token, web_token=web_token,
                              stock=D(stock))
        db.session.remove()
        db.engine.dispose()
    return ids


def sale_body(ids, register_id, quantity="1"):
    return {"register_id": register_id, "lines": [{"sku": ids.sku, "quantity": quantity}],
            "payments": [{"method": "cash", "amount": str(PRICE * D(quantity))}]}


def sell(port, ids, register_id, key, quantity="1", timeout=60):
    """A till sale over HTTP: (status, headers, body); connection errors raise."""
    return http_json(port, "POST", "/api/v1/pos/sales", sale_body(ids, register_id, quantity), timeout=timeout,
                     headers={"Authorization": f"Bearer {ids.till_token}", "Idempotency-Key": key})


def pickup_order(port, ids, quantity="1", confirm=True, timeout=60):
    """A web pickup order, confirmed (so reserved) in the same call, or left a draft."""
    return http_json(port, "POST", "/api/v1/sales/orders", timeout=timeout,
                     headers={"Authorization": f"Bearer {ids.web_token}"},
                     body={"channel": "web", "store_id": ids.store, "fulfilment": "pickup",
                           "pickup_store_id": ids.store, "confirm": confirm,
                           "lines": [{"product_id": ids.product, "quantity": quantity}]})


def confirm_order(port, ids, order_id, timeout=60):
    """Confirm a draft order: a pickup reserves its goods now."""
    return http_json(port, "POST", f"/api/v1/sales/orders/{order_id}/confirm", timeout=timeout,
                     headers={"Authorization": f"Bearer {ids.web_token}"})


CONNECTION_ERRORS = (OSError, http.client.HTTPException)


def problem_errors(answers) -> list[str]:
    """Every refusal must be a 409/422 problem body; nothing else but 200/201 is allowed."""
    bad = []
    for a in answers:
        status, headers, body = a["status"], a["headers"], a["body"]
        if status in (200, 201):
            continue
        if status not in (409, 422):
            bad.append(f"{a.get('what')}: status {status}: {str(body)[:300]}")
        elif not (headers.get("content-type", "").startswith("application/problem+json")
                  and isinstance(body, dict) and body.get("status") == status and body.get("title")
                  and body.get("detail")):
            bad.append(f"{a.get('what')}: {status} without a problem body: {headers.get('content-type')} "
                       f"{str(body)[:300]}")
    return bad


def books(url) -> SimpleNamespace:
    """Everything the database says about the till sales, checked for half-written ones:
    each sale has its number, document, order (fulfilled, with lines and payments), till
    payments, journal line, stock moves and both finance entries (sale and cost of goods),
    each balanced; nothing is left over that belongs to no sale. ``problems`` lists what
    fails; ``sales`` maps (register, key) to the document recorded."""
    from core.db import db
    from addons.pos import services as pos
    from addons.warehouse import services as wh
    app = app_for(url)
    problems: list[str] = []
    with app.app_context():
        q = lambda sql, **kw: db.session.execute(sa.text(sql), kw).all()  # noqa: E731
        sales = q("SELECT s.id, s.register_id, s.idempotency_key, s.receipt_number, s.document, s.order_id, "
                  "s.kind, o.number, o.state, o.channel, o.total FROM pos_sale s "
                  "LEFT JOIN sales_order o ON o.id = s.order_id ORDER BY s.id")
        recorded = {}
        for s in sales:
            label = f"sale {s.id} ({s.idempotency_key})"
            if s.kind != "sale":
                problems.append(f"{label}: kind {s.kind}")
            if s.receipt_number is None or s.document is None or s.order_id is None:
                problems.append(f"{label}: half-written (receipt {s.receipt_number}, order {s.order_id}, "
                                f"document {'set' if s.document else 'missing'})")
                continue
            if (s.state, s.channel) != ("fulfilled", "pos"):
                problems.append(f"{label}: its order {s.number} is {s.state} on channel {s.channel}")
            recorded[(s.register_id, s.idempotency_key)] = s
            lines = q("SELECT COALESCE(SUM(quantity), 0) AS qty, COUNT(*) AS n FROM sales_order_line "
                      "WHERE order_id = :o", o=s.order_id)[0]
            paid = q("SELECT COUNT(*) AS n FROM sales_payment WHERE order_id = :o", o=s.order_id)[0]
            till_paid = q("SELECT COALESCE(SUM(amount), 0) AS amount, COUNT(*) AS n FROM pos_sale_payment "
                          "WHERE sale_id = :s", s=s.id)[0]
            moved = q("SELECT COALESCE(SUM(quantity), 0) AS qty, COUNT(*) AS n FROM warehouse_move "
                      "WHERE source = :src AND state = 'done'", src=s.number)[0]
            if lines.n < 1 or paid.n < 1 or till_paid.n < 1 or moved.n < 1:
                problems.append(f"{label}: lines {lines.n}, payments {paid.n}, till payments {till_paid.n}, "
                                f"moves {moved.n}")
            if D(str(moved.qty)) != D(str(lines.qty)):
                problems.append(f"{label}: {lines.qty} sold but {moved.qty} left the stock")
            if D(str(till_paid.amount)) != D(str(s.total)):
                problems.append(f"{label}: till payments {till_paid.amount} for a total of {s.total}")
            for source_type, key, value in (("sales_order", "source_id", s.order_id),
                                            ("stock_move", "source_ref", s.number)):
                entries = q(f"SELECT e.id, COALESCE(SUM(l.debit), 0) AS dr, COALESCE(SUM(l.credit), 0) AS cr, "
                            f"COUNT(l.id) AS n FROM finance_entry e LEFT JOIN finance_entry_line l "
                            f"ON l.entry_id = e.id WHERE e.source_type = :t AND e.{key} = :v GROUP BY e.id",
                            t=source_type, v=value)
                if len(entries) != 1:
                    problems.append(f"{label}: {len(entries)} {source_type} finance entries")
                for e in entries:
                    if e.n < 2 or D(str(e.dr)) != D(str(e.cr)) or D(str(e.dr)) == 0:
                        problems.append(f"{label}: {source_type} entry {e.id} debits {e.dr} credits {e.cr} "
                                        f"in {e.n} lines")
        journal = q("SELECT COUNT(*) AS n FROM pos_journal WHERE kind = 'sale'")[0].n
        if journal != len(sales):
            problems.append(f"{journal} sale lines in the till journal for {len(sales)} sales")
        # nothing that belongs to no sale
        orphans = {
            "till orders without a sale": "SELECT COUNT(*) FROM sales_order o WHERE o.channel = 'pos' AND NOT "
                                          "EXISTS (SELECT 1 FROM pos_sale s WHERE s.order_id = o.id)",
            "till payments of no recorded sale": "SELECT COUNT(*) FROM pos_sale_payment p JOIN pos_sale s "
                                                 "ON s.id = p.sale_id WHERE s.document IS NULL",
            "moves of no order": "SELECT COUNT(*) FROM warehouse_move m WHERE m.source <> :seed AND NOT EXISTS "
                                 "(SELECT 1 FROM sales_order o WHERE o.number = m.source)",
            "sale entries of no order": "SELECT COUNT(*) FROM finance_entry e WHERE e.source_type = 'sales_order' "
                                        "AND NOT EXISTS (SELECT 1 FROM sales_order o WHERE o.id = e.source_id)",
            "stock entries of no order": "SELECT COUNT(*) FROM finance_entry e WHERE e.source_type = 'stock_move' "
                                         "AND e.source_ref <> :seed AND NOT EXISTS "
                                         "(SELECT 1 FROM sales_order o WHERE o.number = e.source_ref)",
            "entry lines of no entry": "SELECT COUNT(*) FROM finance_entry_line l WHERE NOT EXISTS "
                                       "(SELECT 1 FROM finance_entry e WHERE e.id = l.entry_id)",
        }
        for what, sql in orphans.items():
            n = db.session.execute(sa.text(sql), {"seed": SEED_SOURCE}).scalar()
            if n:
                problems.append(f"{n} {what}")
        totals = q("SELECT COALESCE(SUM(debit), 0) AS dr, COALESCE(SUM(credit), 0) AS cr FROM finance_entry_line")[0]
        if D(str(totals.dr)) != D(str(totals.cr)):
            problems.append(f"the books do not balance: debits {totals.dr}, credits {totals.cr}")
        stock = wh.verify()
        if stock:
            problems.append(f"stock ledger and quants disagree: {stock}")
        chain = pos.verify_journal()
        if not chain["ok"]:
            problems.append(f"till journal chain broken: {chain['broken']}")
        result = SimpleNamespace(problems=problems, sales=recorded, count=len(sales),
                                 documents={k: s.document for k, s in recorded.items()})
        db.session.remove()
        db.engine.dispose()
    return result


def stock_of(url, ids) -> SimpleNamespace:
    from core.db import db
    from addons.warehouse import services as wh
    app = app_for(url)
    with app.app_context():
        out = SimpleNamespace(on_hand=wh.on_hand(ids.product, ids.warehouse),
                              available=wh.available(ids.product, ids.warehouse))
        out.reserved = out.on_hand - out.available
        db.session.remove()
        db.engine.dispose()
    return out


def race(url, tmp_path, *, seed_kwargs: dict, clients, parties: int, servers: int = 2) -> SimpleNamespace:
    """Start ``servers`` server processes (seeding the database meanwhile), then fork one
    client process per ``(target, args)`` of ``clients(ids, ports)``; each is called with
    ``*args, barrier, queue`` (``barrier`` for ``parties`` waiters: release them at once)
    and puts its list of answers on ``queue``. Returns ids, answers, ports, the seconds the
    race took and the servers' logs; the servers are stopped."""
    import multiprocessing
    import time
    from core.testing import LiveServer
    live = [LiveServer(url, tmp_path / f"server{i}.log") for i in range(servers)]
    try:
        for s in live:
            s.launch()
        ids = seed(url, **seed_kwargs)  # while the servers start
        for s in live:
            s.wait_ready()
        started = time.monotonic()
        ports = [s.port for s in live]
        ctx = multiprocessing.get_context("fork")
        barrier, queue = ctx.Barrier(parties), ctx.Queue()
        procs = [ctx.Process(target=target, args=(*args, barrier, queue)) for target, args in clients(ids, ports)]
        for p in procs:
            p.start()
        answers = [a for _ in procs for a in queue.get(timeout=120)]
        for p in procs:
            p.join(30)
        seconds = time.monotonic() - started
        logs = "\n".join(s.log()[-4000:] for s in live)
    finally:
        for s in live:
            s.stop()
    return SimpleNamespace(ids=ids, answers=answers, ports=ports, seconds=seconds, logs=logs)
