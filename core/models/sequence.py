"""Document sequences (PO/2026/00001): gapless and unique under concurrency.

The counter row is incremented with one UPDATE ... RETURNING inside the caller's
transaction: the row lock (PostgreSQL) or the write lock (SQLite) serialises takers until
the document is committed, so a rolled-back document gives its number back and no number
is ever issued twice or skipped.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, validates

from core.db import IdMixin, db
from core.models.audit import Audited


class Sequence(IdMixin, Audited, db.Model):
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

    @validates("pattern")
    def _check_pattern(self, key, value):
        from core.i18n import _
        from core.models.master import InvalidValue
        value = (value or "").strip()
        try:
            sample = value.format(year="2026", month="01", day="01", store="SH01", number="00001")
        except (KeyError, IndexError, ValueError):
            sample = None
        if "{number}" not in value or sample is None:
            raise InvalidValue(key, _("The pattern %(p)r must contain {number} and may use only {year}, {month}, "
                                      "{day} and {store}, e.g. 'PO/{year}/{number}'.", p=value))
        return value

    @validates("reset")
    def _check_reset(self, key, value):
        from core.i18n import _
        from core.models.master import InvalidValue
        if value not in ("never", "year", "month"):
            raise InvalidValue(key, _("Numbering restarts 'never', every 'year' or every 'month', not %(v)r.",
                                      v=value))
        return value

    @validates("padding")
    def _check_padding(self, key, value):
        from core.i18n import _
        from core.models.master import InvalidValue
        if value is None or not 1 <= int(value) <= 12:
            raise InvalidValue(key, _("The number is padded to 1 to 12 digits, not %(v)s.", v=value))
        return int(value)

    def __str__(self):
        return self.code


class SequenceCounter(db.Model):
    __tablename__ = "sequence_counter"

    sequence_id: Mapped[int] = mapped_column(sa.ForeignKey("sequence.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # "2026", "2026-11", "-"; + "@store"
    last_value: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
