"""The configuration cache (core.cache): served without SQL while nothing changed, dropped
when a watched table changes: at once in the writing process, within the check interval in
every other one, never keeping a rolled-back change. Real commits, two apps (two workers)."""
from __future__ import annotations

import sqlalchemy as sa

from core.app import create_app
from core.auth.models import RolePermission, User, security_profile, user_role
from core.cache import cached
from core.db import db
from core.testing import app_config, make_user


def _app(url, interval):
    return create_app(app_config(url, CONFIG_CHECK_INTERVAL=interval), addons=[])


class _Queries:
    def __init__(self):
        self.count = 0

    def __enter__(self):
        sa.event.listen(db.engine, "before_cursor_execute", self._count)
        return self

    def _count(self, *args, **kwargs):
        self.count += 1

    def __exit__(self, *exc):
        sa.event.remove(db.engine, "before_cursor_execute", self._count)


def _profile(app, user_id):
    with app.app_context():
        try:
            return security_profile(user_id)
        finally:
            db.session.remove()


def test_other_workers_see_a_change_within_the_interval(fresh_database):
    writer, reader, lazy = _app(fresh_database, 0), _app(fresh_database, 0), _app(fresh_database, 3600)
    with writer.app_context():
        user_id = make_user("cashier", ["pos.sell", "pos.session"]).id
        db.session.commit()
    assert _profile(reader, user_id)[0] == {"pos.sell", "pos.session"}
    assert _profile(lazy, user_id)[0] == {"pos.sell", "pos.session"}
    with lazy.app_context():
        with _Queries() as q:  # warm: no SQL at all
            assert security_profile(user_id)[0] == {"pos.sell", "pos.session"}
        assert q.count == 0
        db.session.remove()

    with writer.app_context():  # an ORM change: a permission taken away
        perm = db.session.scalar(sa.select(RolePermission).where(RolePermission.code == "pos.session"))
        db.session.delete(perm)
        db.session.commit()
        assert security_profile(user_id)[0] == {"pos.sell"}  # the writer at once
        db.session.remove()
    assert _profile(reader, user_id)[0] == {"pos.sell"}         # another worker: next check
    assert _profile(lazy, user_id)[0] == {"pos.sell", "pos.session"}  # ...not before its interval

    with writer.app_context():  # a Core statement on a watched table counts too
        db.session.execute(sa.delete(user_role).where(user_role.c.user_id == user_id))
        db.session.commit()
        db.session.remove()
    assert _profile(reader, user_id)[0] == frozenset()
    with reader.app_context():
        user = db.session.get(User, user_id)
        assert not user.can("pos.sell")
        db.session.remove()


def test_a_rolled_back_change_is_never_kept(fresh_database):
    app = _app(fresh_database, 3600)
    with app.app_context():
        user_id = make_user("clerk", ["core.product"]).id
        db.session.commit()
        assert security_profile(user_id)[0] == {"core.product"}
        role_id = db.session.scalar(sa.select(user_role.c.role_id).where(user_role.c.user_id == user_id))
        db.session.add(RolePermission(role_id=role_id, code="core.user"))
        db.session.flush()
        # this transaction sees its own change, and does not keep it
        assert security_profile(user_id)[0] == {"core.product", "core.user"}
        db.session.rollback()
        assert security_profile(user_id)[0] == {"core.product"}
        db.session.remove()


def test_unwatched_writes_keep_the_cache(fresh_database):
    app = _app(fresh_database, 3600)
    with app.app_context():
        calls = []

        def load():
            calls.append(1)
            return "value"
        assert cached(("test", 1), load) == "value"
        user = make_user("someone", [])  # a new user and role: watched inserts
        db.session.commit()
        assert cached(("test", 1), load) == "value"
        assert len(calls) == 2
        user.display_name = "Renamed"     # a column no cached value depends on
        db.session.commit()
        assert cached(("test", 1), load) == "value"
        assert len(calls) == 2
        db.session.remove()
