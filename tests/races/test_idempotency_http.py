"""The same till sale (one idempotency key) sent 50 times at once over real HTTP, from
client processes released by one barrier, spread over two server processes on one
database: one sale is recorded, every answer is that sale, no 5xx."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from tests.races.helpers import CONNECTION_ERRORS, D, app_for, books, race, sell, stock_of

pytestmark = pytest.mark.slow

PROCESSES, THREADS = 10, 5  # 50 requests in flight at once
KEY = "same-key-50"


def _client(n, ports, ids, barrier, queue):
    """One client process: THREADS connections, each sends the same sale once the barrier
    (every thread of every process) opens."""
    answers = []

    def one(t):
        port = ports[(n * THREADS + t) % len(ports)]
        try:
            barrier.wait(60)
            status, headers, body = sell(port, ids, ids.registers[0], key=KEY, quantity="2")
        except CONNECTION_ERRORS as exc:
            status, headers, body = None, {}, repr(exc)
        answers.append({"port": port, "status": status, "replayed": headers.get("idempotent-replayed"),
                        "body": body})

    threads = [threading.Thread(target=one, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    queue.put(answers)


def test_one_key_sent_fifty_times_at_once_is_one_sale(fresh_database, tmp_path):
    run = race(fresh_database, tmp_path, seed_kwargs={"stock": 20, "till_short_stock": "record", "registers": 1},
               parties=PROCESSES * THREADS,
               clients=lambda ids, ports: [(_client, (n, ports, ids)) for n in range(PROCESSES)])
    ids, answers, ports, logs = run.ids, run.answers, run.ports, run.logs

    assert len(answers) == PROCESSES * THREADS
    assert {a["port"] for a in answers} == set(ports)
    statuses = sorted(a["status"] or 0 for a in answers)
    assert statuses == [200] * (len(answers) - 1) + [201], (statuses, [a["body"] for a in answers
                                                                       if a["status"] not in (200, 201)], logs)
    assert all(a["replayed"] == "true" for a in answers if a["status"] == 200)
    first = next(a["body"] for a in answers if a["status"] == 201)
    assert all(a["body"] == first for a in answers), "every answer must be the same sale, word for word"
    assert "Traceback" not in logs, logs

    recorded = books(fresh_database)
    assert recorded.problems == []
    assert recorded.count == 1
    sale = recorded.sales[(ids.registers[0], KEY)]
    assert (first["id"], first["receipt_number"]) == (sale.id, sale.receipt_number) == (first["id"], 1)
    assert stock_of(fresh_database, ids).on_hand == ids.stock - 2
    from core.db import db
    app = app_for(fresh_database)
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT COUNT(*) FROM sales_order")) == 1
        assert db.session.scalar(sa.text("SELECT COUNT(*) FROM pos_sale_payment")) == 1
        assert D(str(db.session.scalar(sa.text("SELECT last_receipt FROM pos_register_counter")))) == 1
        db.session.remove()
        db.engine.dispose()
    print(f"\nsame key: {len(answers)} concurrent requests ({PROCESSES} processes x {THREADS} connections, "
          f"2 server processes): one 201, {statuses.count(200)} replays, {run.seconds:.1f} s")
