"""A token can mint tokens only for its own user (so no wider scope) and never outliving itself."""
import datetime as dt

import pytest
import sqlalchemy as sa

from core.auth.models import ApiToken
from core.db import db, utcnow
from core.testing import ApiClient, make_user


def caller(app, expires_in: dt.timedelta | None, *permissions):
    user = make_user(f"minter{utcnow().timestamp():.0f}{len(permissions)}", ["core.token.create", *permissions])
    row, clear = ApiToken.issue(user, "parent", expires_at=utcnow() + expires_in if expires_in else None)
    db.session.add(row)
    db.session.commit()
    return ApiClient(app.test_client(), clear, user), row


def tokens_of(user):
    return db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.user_id == user.id))


def aware(value):
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


@pytest.mark.parametrize("body", [{"name": "forever"}, {"name": "longer", "expires_in_days": 31},
                                  {"name": "null", "expires_in_days": None}])
def test_an_expiring_token_cannot_mint_one_that_outlives_it(app, body):
    client, parent = caller(app, dt.timedelta(days=30))
    r = client.post("/api/v1/tokens", json=body)
    assert r.status_code == 422, r.get_json()
    problem = r.get_json()
    assert problem["title"] == "Token would outlive yours"
    assert "at most 29" in problem["detail"] and problem["max_expires_in_days"] == 29
    assert problem["errors"][0]["field"] == "expires_in_days"
    assert tokens_of(client.user) == 1  # nothing was created


def test_an_expiring_token_mints_a_shorter_one(app):
    client, parent = caller(app, dt.timedelta(days=30))
    r = client.post("/api/v1/tokens", json={"name": "child", "expires_in_days": 29})
    assert r.status_code == 201, r.get_json()
    child = db.session.get(ApiToken, r.get_json()["id"])
    assert child.user_id == client.user.id  # the same user: the same permissions and stores
    assert aware(child.expires_at) <= aware(parent.expires_at)
    # and the child, in turn, cannot outlive itself
    grandchild = ApiClient(app.test_client(), r.get_json()["token"], client.user)
    assert grandchild.post("/api/v1/tokens", json={"name": "g", "expires_in_days": 29}).status_code == 422
    assert grandchild.post("/api/v1/tokens", json={"name": "g", "expires_in_days": 28}).status_code == 201


def test_a_token_expiring_within_a_day_cannot_mint_at_all(app):
    client, _parent = caller(app, dt.timedelta(hours=5))
    r = client.post("/api/v1/tokens", json={"name": "x", "expires_in_days": 1})
    assert r.status_code == 422 and "less than a day" in r.get_json()["detail"]


def test_a_token_without_expiry_mints_as_before(app):
    client, _parent = caller(app, None)
    assert client.post("/api/v1/tokens", json={"name": "forever"}).status_code == 201
    assert client.post("/api/v1/tokens", json={"name": "year", "expires_in_days": 365}).status_code == 201


def test_the_refusal_speaks_chinese(app):
    client, _parent = caller(app, dt.timedelta(days=10))
    r = client.post("/api/v1/tokens", json={"name": "x"}, headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 422 and "不超过 9" in r.get_json()["detail"]


def test_the_back_office_still_creates_tokens_without_expiry(client_as):
    client = client_as()
    r = client.submit("/admin/account/", {"name": "script"}, post_url="/admin/account/tokens")
    assert r.status_code == 200
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == client.user.id))
    assert row is not None and row.expires_at is None
