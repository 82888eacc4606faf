"""Audit log of who changed what, written in the same flush as the change."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Session, db, utcnow


class Audited:
    """Mixin: creations, changes and deletions of this model are written to audit_log."""
    __audit_exclude__ = ("updated_at", "created_at", "image", "password_hash")


class AuditLog(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_table_row", "table_name", "row_id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)  # no FK: users may be deleted
    username: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(8), nullable=False)  # create | update | delete
    table_name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    row_id: Mapped[str | None] = mapped_column(sa.String(64))
    changes: Mapped[str | None] = mapped_column(sa.Text)  # JSON {column: [old, new]}


def _jsonable(value):
    if isinstance(value, (Decimal, dt.date, dt.datetime)):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _same(old, new) -> bool:
    try:
        return old == new
    except Exception:  # values that cannot be compared are different
        return False


def _actor():
    """The user behind the change: the logged-in user, or the CLI's --as user, or None."""
    try:
        from flask import g, has_request_context
        from flask_login import current_user
        if has_request_context() and getattr(current_user, "is_authenticated", False):
            return current_user.id, current_user.username
        actor = g.get("o2o_actor") if g else None
        if actor is not None:
            return actor
    except RuntimeError:
        pass
    return None, None


def _changes(obj, action):
    state = inspect(obj)
    exclude = set(getattr(obj, "__audit_exclude__", ()))
    out = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in exclude:
            continue
        hist = state.attrs[key].history
        if action == "update":
            if hist.has_changes():
                old = hist.deleted[0] if hist.deleted else None
                new = hist.added[0] if hist.added else None
                if old is not None and new is not None and _same(old, new):
                    continue  # set to an equal value (12.5 -> 12.5000): not a change
                out[key] = [_jsonable(old), _jsonable(new)]
        elif action == "create":
            value = getattr(obj, key, None)
            if value is not None:
                out[key] = _jsonable(value)
        else:
            out[key] = _jsonable(state.attrs[key].loaded_value if key in state.dict else None)
    return out


def _after_flush(session, _flush_context):
    rows = []
    for action, objs in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objs:
            if not isinstance(obj, Audited):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes = _changes(obj, action)
            if action == "update" and not changes:
                continue
            state = inspect(obj)
            # New rows get their identity only after the flush; read the primary key instead.
            ident = state.identity or (state.mapper.primary_key_from_instance(obj) if action == "create" else None)
            rows.append(dict(
                at=utcnow(), action=action, table_name=obj.__tablename__,
                row_id=",".join(str(i) for i in ident) if ident else None,
                changes=json.dumps(changes, default=str, ensure_ascii=False),
            ))
    if rows:
        user_id, username = _actor()
        for row in rows:
            row.update(user_id=user_id, username=username)
        session.connection().execute(sa.insert(AuditLog.__table__), rows)


_installed = False


def install_audit_listener() -> None:
    """Hook the audit writer into every session (once per process)."""
    global _installed
    if not _installed:
        event.listen(Session, "after_flush", _after_flush)
        _installed = True
