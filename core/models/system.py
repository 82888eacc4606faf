"""Platform state: which addons are enabled, and counters every worker watches."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, utcnow


class AddonState(db.Model):
    """One row per addon ever enabled; ``enabled`` false keeps its data."""
    __tablename__ = "addon_state"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    version: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    demo_loaded: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    changed_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)


class SystemCounter(db.Model):
    """Named integer counters; ``addons`` moves whenever the enabled set changes, which
    tells every worker to rebuild its app."""
    __tablename__ = "system_counter"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
