"""SQLite (the embedded default) under concurrent API calls: a request that has read (its
token, say) and then writes fails at once with 'database is locked' (a 500) when another
connection committed in between: SQLite cannot upgrade a stale read snapshot, and the busy
timeout does not help. The oversell race over HTTP found it (web orders racing the tills:
the token's last-use write). Here the other connection's commit is placed exactly there."""
from __future__ import annotations

import os
import sqlite3

import pytest
import sqlalchemy as sa

from tests.races.helpers import app_for, seed

pytestmark = pytest.mark.skipif((os.environ.get("O2O_TEST_DATABASE_URL") or "").startswith("postgres"),
                                reason="SQLite's write lock only: PostgreSQL locks rows, its snapshots never go stale "
                                       "for a write")


@pytest.fixture
def intruder(fresh_database):
    """Once the request has read its token, another connection commits a write (if it can:
    where the request already holds the write lock, it cannot, and gives up at once)."""
    from core.db import db
    path = fresh_database[len("sqlite:///"):]
    fired, watched = [], ["api_token"]

    def after(conn, cursor, statement, params, context, executemany):
        if fired or not statement.lstrip().upper().startswith("SELECT") or f"FROM {watched[0]}" not in statement:
            return
        fired.append(True)
        other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
        try:
            other.execute("INSERT INTO login_failure (key, at) VALUES ('intruder', '2026-01-01 00:00:00')")
            fired.append("committed")
        except sqlite3.OperationalError as exc:
            fired.append(str(exc))
        finally:
            other.close()

    def arm(app, table="api_token"):
        watched[0] = table
        with app.app_context():
            sa.event.listen(db.engine, "after_cursor_execute", after)
        return fired
    return arm


def test_a_write_request_waits_for_the_write_lock_instead_of_failing(fresh_database, intruder):
    ids = seed(fresh_database, stock=5)
    app = app_for(fresh_database)
    fired = intruder(app)
    r = app.test_client().post("/api/v1/sales/orders", headers={"Authorization": f"Bearer {ids.web_token}"},
                               json={"channel": "web", "store_id": ids.store, "fulfilment": "pickup",
                                     "pickup_store_id": ids.store, "confirm": True,
                                     "lines": [{"product_id": ids.product, "quantity": "1"}]})
    assert fired[:1] == [True]
    assert r.status_code == 201, r.get_data(as_text=True)[:500]
    # the request held the write lock from its first read: the other writer had to wait
    assert fired[1] != "committed", fired


def test_a_read_request_that_records_the_token_use_does_not_fail(fresh_database, intruder):
    ids = seed(fresh_database, stock=5)
    app = app_for(fresh_database)
    fired = intruder(app)
    r = app.test_client().get("/api/v1/sales/payment-methods", headers={"Authorization": f"Bearer {ids.web_token}"})
    assert fired == [True, "committed"]  # the other connection did commit between read and write
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    from core.auth.models import ApiToken
    from core.db import db
    with app.app_context():
        used = db.session.scalars(sa.select(ApiToken.last_used_at).where(ApiToken.name == "race web")).one()
        assert used is not None  # the token's use was still recorded
        db.session.remove()
        db.engine.dispose()


def test_a_back_office_login_waits_for_the_write_lock_instead_of_failing(fresh_database, intruder):
    """Not only the API: a form post (here the login, which reads the failure counts and the
    user, then clears the failures) takes the lock before its first read too (core.app)."""
    import re
    seed(fresh_database, stock=1)
    app = app_for(fresh_database)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    fired = intruder(app, table="user_account")
    r = client.post("/login", data={"csrf_token": token, "username": "race_web",
                                    "password": "correct horse battery"})
    assert fired[:1] == [True]
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert fired[1] != "committed", fired
