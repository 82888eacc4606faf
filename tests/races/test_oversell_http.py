"""The oversell race as an attacker runs it: client processes released at once by a barrier
over real HTTP against two server processes on one database, two tills selling through the
till API and web pickup orders (sales API) on the last units of a product, in a store that
refuses till sales short of stock. Nothing is oversold, no unit is lost, every success is
exactly one recorded sale or order, every refusal a 409/422 problem body, no 5xx."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.races.helpers import (CONNECTION_ERRORS, D, app_for, books, confirm_order, pickup_order, problem_errors, race,
                                 sell, stock_of)

pytestmark = pytest.mark.slow

# 4 till processes (2 per till) and 4 web shop processes, 4 attempts each, 1 unit an
# attempt: 32 asked for 10. Half the web shop confirms in the order's own call, half
# creates a draft and then confirms it (the confirm route reserves). The same on SQLite
# (the embedded default), whose one writer at a time must hold it too, without a 5xx.
TILL_PROCS, WEB_PROCS, ATTEMPTS, STOCK = 4, 4, 4, 10


def _racer(kind, n, ports, ids, barrier, queue):
    """One client process: wait for the others, then make its attempts one after the other.
    ``kind``: "till" (a till sale), "web" (an order confirmed at once) or "confirm" (a
    draft, then its confirmation; the draft's creation is answered as kind "draft")."""
    answers = []
    port = ports[n % len(ports)]
    register = ids.registers[n % len(ids.registers)]

    def call(what, kind, fn, *args, **kwargs):
        try:
            status, headers, body = fn(*args, **kwargs)
        except CONNECTION_ERRORS as exc:
            status, headers, body = None, {}, repr(exc)
        answers.append({"what": what, "kind": kind, "register": register, "port": port, "status": status,
                        "headers": headers, "body": body})
        return status, body

    try:
        barrier.wait(60)
        for i in range(ATTEMPTS):
            what = f"{kind}{n}-{i}"
            if kind == "till":
                call(what, kind, sell, port, ids, register, key=what)
            elif kind == "web":
                call(what, kind, pickup_order, port, ids)
            else:
                status, body = call(what, "draft", pickup_order, port, ids, confirm=False)
                if status == 201:
                    call(what, kind, confirm_order, port, ids, body["id"])
    finally:
        queue.put(answers)


def test_tills_and_web_pickups_race_for_the_last_units_over_http(fresh_database, tmp_path):
    procs_n = TILL_PROCS + WEB_PROCS
    run = race(fresh_database, tmp_path, seed_kwargs={"stock": STOCK, "till_short_stock": "refuse"}, parties=procs_n,
               clients=lambda ids, ports: [(_racer, ("till", n, ports, ids)) for n in range(TILL_PROCS)]
               + [(_racer, ("web" if n % 2 else "confirm", n, ports, ids)) for n in range(WEB_PROCS)])
    ids, answers, ports, logs = run.ids, run.answers, run.ports, run.logs

    drafts = [a for a in answers if a["kind"] == "draft"]
    assert all(a["status"] == 201 and a["body"]["state"] == "draft" for a in drafts), drafts
    assert len(drafts) == WEB_PROCS // 2 * ATTEMPTS
    answers = [a for a in answers if a["kind"] != "draft"]
    assert len(answers) == procs_n * ATTEMPTS
    assert not [a for a in answers if a["status"] is None or a["status"] >= 500], (
        [a for a in answers if a["status"] is None or a["status"] >= 500], logs)
    assert problem_errors(answers) == [], logs
    assert "Traceback" not in logs, logs
    assert {a["port"] for a in answers} == set(ports)  # both server processes took part

    till_won = [a for a in answers if a["kind"] == "till" and a["status"] == 201]
    web_won = [a for a in answers if (a["kind"], a["status"]) in (("web", 201), ("confirm", 200))]
    refused = [a for a in answers if a["status"] in (409, 422)]
    assert not [a for a in answers if a["kind"] == "till" and a["status"] == 200], "a new key is no replay"
    # one unit each: every unit went to exactly one winner, no more (oversold), no fewer
    # (a refusal while stock was left)
    assert len(till_won) + len(web_won) == STOCK, (len(till_won), len(web_won))
    assert len(refused) == procs_n * ATTEMPTS - STOCK
    assert all(a["status"] == 409 and a["body"]["type"].endswith("insufficient-stock") for a in refused), \
        [a["body"] for a in refused if a["status"] != 409 or not a["body"]["type"].endswith("insufficient-stock")]

    stock = stock_of(fresh_database, ids)
    assert stock.on_hand == STOCK - len(till_won) >= 0
    assert stock.reserved == len(web_won)
    assert stock.available == 0

    # every success is exactly one recorded sale or order, and nothing else was recorded
    recorded = books(fresh_database)
    assert recorded.problems == []
    assert recorded.count == len(till_won)
    for a in till_won:
        sale = recorded.sales[(a["register"], a["what"])]
        assert a["body"]["id"] == sale.id and a["body"]["receipt_number"] == sale.receipt_number
    from core.db import db
    app = app_for(fresh_database)
    with app.app_context():
        web_orders = db.session.execute(sa.text(
            "SELECT o.id, o.number, o.state, r.quantity, r.state AS rstate FROM sales_order o "
            "JOIN sales_order_line l ON l.order_id = o.id "
            "LEFT JOIN warehouse_reservation r ON r.id = l.reservation_id WHERE o.channel = 'web'")).all()
        confirmed = [o for o in web_orders if o.state == "confirmed"]
        assert sorted(o.id for o in confirmed) == sorted(a["body"]["id"] for a in web_won)
        assert all(o.rstate == "active" and D(str(o.quantity)) == 1 for o in confirmed)
        # a refused confirmation leaves its draft as it was: nothing reserved
        refused_drafts = {a["body"]["id"] for a in drafts} - {a["body"]["id"] for a in web_won}
        left = [o for o in web_orders if o.state != "confirmed"]
        assert sorted(o.id for o in left) == sorted(refused_drafts)
        assert all(o.state == "draft" and o.rstate is None for o in left)
        assert db.session.scalar(sa.text("SELECT COUNT(*) FROM warehouse_negative_stock")) == 0
        # a refused till sale takes no receipt number: per till, numbers 1..n without a gap
        for register in ids.registers:
            numbers = db.session.scalars(sa.text(
                "SELECT receipt_number FROM pos_sale WHERE register_id = :r ORDER BY receipt_number"),
                {"r": register}).all()
            assert numbers == list(range(1, len(numbers) + 1))
        db.session.remove()
        db.engine.dispose()
    print(f"\noversell race: {procs_n} client processes x {ATTEMPTS} attempts (+{len(drafts)} drafts) over 2 server processes, "
          f"{len(till_won)} till sales + {len(web_won)} pickups ({sum(a['kind'] == 'confirm' for a in web_won)} by "
          f"/confirm) won {STOCK} units, {len(refused)} refused, "
          f"{run.seconds:.1f} s")
