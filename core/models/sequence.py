"""Document sequences (PO/2026/00001): gapless and unique under concurrency.

The counter row is incremented with one UPDATE ... RETURNING inside the caller's
transaction: the row lock (PostgreSQL) or the write lock (SQLite) serialises takers until
the document is committed, so a rolled-back document gives its number back and no number
is ever issued twice or skipped.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import IdMixin, db


class Sequence(IdMixin, db.Model):
    __tablename__ = "sequence"

    code: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    # Python format with {year}, {month}, {store} and {number}; padding applies to number.
    pattern: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="{year}/{number}")
    padding: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=5)
    # never | year | month: when numbering starts again at 1
    reset: Mapped[str] = mapped_column(sa.String(8), nullable=False, default="year")
    # per store: each store has its own counter (receipt numbers per register/store)
    per_store: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    def __str__(self):
        return self.code


class SequenceCounter(db.Model):
    __tablename__ = "sequence_counter"

    sequence_id: Mapped[int] = mapped_column(sa.ForeignKey("sequence.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # "2026", "2026-11", "-"; + "@store"
    last_value: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
