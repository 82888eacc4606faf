"""Personal API tokens: create (shown once), list and revoke your own.

A token is created from the command line (``o2o user token USER``), on the "My account" page or, with the
permission ``core.token.create``, through the API by a user who already has a token. Only
the token's SHA-256 is stored.

A token carries no scope of its own: it acts with its user's permissions and stores, so a
token it mints (always for the same user) is never wider. It may not outlive its minter
either: a token that expires can only create tokens that expire no later than itself, or a
leaked short-lived token could mint itself a permanent successor. (A user logged in to the
back office creates tokens on "My account"; the rule is for tokens minting tokens.)
"""
from __future__ import annotations

import datetime as dt

import pydantic
import sqlalchemy as sa
from flask import g

from core.api import PROBLEM_TYPE_BASE, ApiBlueprint, ApiProblem
from core.auth import user_can
from core.auth.models import ApiToken
from core.db import db, utcnow
from core.errors import NotFound
from core.i18n import _


class TokenOut(pydantic.BaseModel):
    id: int
    name: str
    prefix: str = pydantic.Field(description="the token's first characters, to tell tokens apart")
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked: bool


class NewTokenOut(TokenOut):
    token: str = pydantic.Field(description="the token itself: shown only in this answer")


class TokenIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    name: str = pydantic.Field(min_length=1, max_length=64, description="what the token is for")
    expires_in_days: int | None = pydantic.Field(None, ge=1, le=3650)


def token_out(row: ApiToken, cls=TokenOut, **extra):
    return cls(id=row.id, name=row.name, prefix=row.prefix, created_at=row.created_at, expires_at=row.expires_at,
               last_used_at=row.last_used_at, revoked=row.revoked, **extra)


def issue_token(user, name: str, expires_in_days: int | None = None, session=None) -> tuple[ApiToken, str]:
    """A new token for ``user``: the row (added, flushed) and the clear token to show once."""
    session = session if session is not None else db.session
    expires = utcnow() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    row, clear = ApiToken.issue(user, name, expires_at=expires)
    session.add(row)
    session.flush()
    return row, clear


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.timezone.utc) if value is not None and value.tzinfo is None else value


def check_mint_expiry(minter: ApiToken | None, expires_in_days: int | None) -> None:
    """Refuse (422) a token that would expire later than ``minter``, the caller's token."""
    limit = _aware(minter.expires_at) if minter is not None else None
    if limit is None:
        return
    now = utcnow()
    wanted = now + dt.timedelta(days=expires_in_days) if expires_in_days else None
    if wanted is not None and wanted <= limit:
        return
    days = (limit - now).days
    when = limit.strftime("%Y-%m-%d %H:%M UTC")
    if days < 1:
        message = _("The token you are using expires at %(when)s, in less than a day, so it cannot create "
                    "tokens (the shortest lasts one day). Create one on the “My account” page instead.", when=when)
    else:
        message = _("The token you are using expires at %(when)s; a token it creates must expire no later. "
                    "Send expires_in_days of at most %(days)d.", when=when, days=days)
    raise ApiProblem(422, "Token would outlive yours", message, PROBLEM_TYPE_BASE + "validation",
                     errors=[{"location": "body", "field": "expires_in_days", "message": message}],
                     max_expires_in_days=max(days, 0))


def blueprint() -> ApiBlueprint:
    bp = ApiBlueprint("core_tokens", __name__)

    @bp.endpoint("/tokens", response=list[TokenOut], summary="Your API tokens", tags=["tokens"])
    def list_tokens():
        rows = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == g.api_user.id)
                                  .order_by(ApiToken.id)).all()
        return [token_out(r) for r in rows]

    @bp.endpoint("/tokens", methods=["POST"], permission="core.token.create", body=TokenIn, response=NewTokenOut,
                 status=201, summary="Create an API token for yourself (the answer is the only time it is shown); it may "
                         "not expire later than the token you call with",
                 tags=["tokens"])
    def create_token(body: TokenIn):
        check_mint_expiry(g.get("api_token"), body.expires_in_days)
        row, clear = issue_token(g.api_user, body.name, body.expires_in_days)
        return token_out(row, NewTokenOut, token=clear)

    @bp.endpoint("/tokens/<int:token_id>", methods=["DELETE"], response=TokenOut,
                 summary="Revoke one of your API tokens (or anyone's, with core.token.delete)", tags=["tokens"])
    def revoke_token(token_id: int):
        row = db.session.get(ApiToken, token_id)
        if row is None or (row.user_id != g.api_user.id and not user_can(g.api_user, "core.token.delete")):
            raise NotFound(f"There is no API token with id {token_id}.")
        row.revoked = True
        db.session.flush()
        return token_out(row)

    return bp
