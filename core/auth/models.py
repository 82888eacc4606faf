"""Users, roles, the permissions roles carry, store scoping, API tokens."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from core.cache import cached, watch
from core.db import IdMixin, TimestampMixin, db, utcnow
from core.models.audit import Audited

user_role = sa.Table(
    "user_role", db.metadata,
    sa.Column("user_id", sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role_id", sa.ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
)

# Stores a user is limited to. A user with ``all_stores`` ignores this table.
user_store = sa.Table(
    "user_store", db.metadata,
    sa.Column("user_id", sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("store_id", sa.ForeignKey("store.id", ondelete="CASCADE"), primary_key=True),
)


class Role(IdMixin, Audited, db.Model):
    """A set of permissions (codes the addons declare) given to users."""
    __tablename__ = "role"

    code: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    permissions: Mapped[list["RolePermission"]] = relationship(
        back_populates="role", cascade="all, delete-orphan", lazy="selectin")

    @property
    def permission_codes(self) -> set[str]:
        return {p.code for p in self.permissions}

    def __str__(self):
        return self.name


class RolePermission(db.Model):
    """A permission code (declared by an addon through o2o_permissions) granted to a role."""
    __tablename__ = "role_permission"

    role_id: Mapped[int] = mapped_column(sa.ForeignKey("role.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    role: Mapped[Role] = relationship(back_populates="permissions")


class User(IdMixin, TimestampMixin, Audited, UserMixin, db.Model):
    """A member of staff who logs in to the admin or uses the API (shoppers are not users)."""
    __tablename__ = "user_account"

    username: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    display_name: Mapped[str | None] = mapped_column(sa.String(128))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    password_hash: Mapped[str | None] = mapped_column(sa.String(256))
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    is_superuser: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    all_stores: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(16))  # None: from the browser
    # Stored in every login session (and remember-me cookie) and checked on each request: the
    # session is a signed cookie on the client, so ending it means making it stale. Bumped at
    # logout, password change and deactivation, which ends every session of the user at once.
    session_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")

    # Loaded on use: permission checks read the cached ``security_profile`` instead.
    roles: Mapped[list[Role]] = relationship(secondary=user_role, lazy="select")
    stores = relationship("Store", secondary=user_store, lazy="select")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """What a login session holds: the user's id and session version, as "12:3".

        A session made before the last logout, password change or deactivation carries an
        older version and no longer loads."""
        return f"{self.id}:{self.session_version or 1}"

    def end_sessions(self) -> None:
        """End every login session and remember-me cookie of this user (on every device)."""
        self.session_version = (self.session_version or 1) + 1
        # Only a change made in this very request may carry the request's own session on
        # (core.auth: a password change); a bump by another worker must never revive it.
        self._sessions_ended_here = True

    def set_password(self, password: str) -> None:
        """Store a hash of ``password`` (at least 8 characters); ends the user's sessions."""
        if not password or len(password) < 8:
            raise ValueError("a password needs at least 8 characters")
        had_password = bool(self.password_hash)
        self.password_hash = generate_password_hash(password)
        if had_password:
            self.end_sessions()

    def check_password(self, password: str) -> bool:
        """Whether ``password`` is this user's (hashed comparison)."""
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def permission_codes(self) -> frozenset[str]:
        """Every permission code the user's roles give."""
        return security_profile(self.id)[0] if self.id is not None else frozenset(
            code for role in self.roles for code in role.permission_codes)

    def can(self, code: str) -> bool:
        """Whether this (active) user has permission ``code``; a superuser has every one."""
        return self.active and (self.is_superuser or code in self.permission_codes)

    @property
    def store_ids(self) -> set[int] | None:
        """The stores this user is limited to, or None for every store."""
        if self.is_superuser or self.all_stores:
            return None
        if self.id is None:
            return {s.id for s in self.stores}
        return set(security_profile(self.id)[1])

    def __str__(self):
        return self.display_name or self.username


@sa.event.listens_for(User.active, "set", active_history=True)
def _deactivation_ends_sessions(user: User, value, old, _initiator) -> None:
    # Every way of deactivating a user (admin form, script, service) goes through this.
    if old is True and not value:
        user.end_sessions()


def security_profile(user_id: int) -> tuple[frozenset[str], frozenset[int]]:
    """(permission codes, store ids) of a user, from one query, kept in the config cache."""
    def load():
        rows = db.session.execute(sa.union_all(
            sa.select(sa.literal("p"), RolePermission.code.label("value"))
            .join(user_role, user_role.c.role_id == RolePermission.role_id)
            .where(user_role.c.user_id == user_id),
            sa.select(sa.literal("s"), sa.cast(user_store.c.store_id, sa.String).label("value"))
            .where(user_store.c.user_id == user_id))).all()
        return (frozenset(v for kind, v in rows if kind == "p"),
                frozenset(int(v) for kind, v in rows if kind == "s"))
    return cached(("security_profile", user_id), load)


# What a user may do and where: roles, their permissions, store limits, the flags.
watch("role", "role_permission", "user_role", "user_store")
watch("user_account", columns={"roles", "stores"})


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(IdMixin, db.Model):
    """A personal API token. Only its SHA-256 is stored; the token is shown once."""
    __tablename__ = "api_token"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    prefix: Mapped[str] = mapped_column(sa.String(12), nullable=False)  # shown in lists to tell tokens apart
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    user: Mapped[User] = relationship(lazy="joined")

    @classmethod
    def issue(cls, user: User, name: str, expires_at=None) -> tuple["ApiToken", str]:
        """Create a token for ``user``; returns the row and the clear token (show it once)."""
        clear = "o2o_" + secrets.token_urlsafe(32)
        row = cls(user=user, name=name, prefix=clear[:12], token_hash=hash_token(clear), expires_at=expires_at)
        return row, clear


class LoginFailure(IdMixin, db.Model):
    """Failed logins, to throttle guessing across every worker."""
    __tablename__ = "login_failure"
    __table_args__ = (sa.Index("ix_login_failure_key_at", "key", "at"),)

    key: Mapped[str] = mapped_column(sa.String(128), nullable=False)  # "user:<name>" or "pair:<name>|<addr>"
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
