"""Auth: `o2o user create|token`, password rules, hashing, login throttling, the
account page (language, password, personal API tokens shown once)."""
import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa

from core.auth.models import ApiToken, LoginFailure, User
from core.db import db, utcnow
from core.testing import FormClient, make_user


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def user_named(name):
    return db.session.scalar(sa.select(User).where(User.username == name))


@pytest.fixture
def store(session):
    from core.models import Store
    s = Store(code="SH01", name="Shop One", kind="shop")
    session.add(s)
    session.commit()  # a failing command rolls its session back: keep the fixture's rows
    return s


def test_user_create_from_stdin_with_role_and_store(app, store):
    from core.models import Role
    db.session.add(Role(code="clerk", name="Clerk"))
    db.session.flush()
    result = run(app, "user", "create", "mei", "--password-stdin", "--role", "clerk", "--store", "SH01",
                 "--name", "Mei Lin", input="Tea-Leaf-Harbour-42\n")
    assert result.exit_code == 0, result.output
    user = user_named("mei")
    assert user.display_name == "Mei Lin"
    assert [r.code for r in user.roles] == ["clerk"]
    assert user.store_ids == {store.id} and not user.all_stores and not user.is_superuser
    # hashed, salted, never the clear text
    assert "Tea-Leaf" not in user.password_hash and user.password_hash.split(":")[0] in ("scrypt", "pbkdf2")
    assert user.check_password("Tea-Leaf-Harbour-42") and not user.check_password("tea-leaf-harbour-42")


def test_user_create_superuser_with_password_option(app):
    result = run(app, "user", "create", "boss", "--password", "Plum blossom 1987", "--superuser")
    assert result.exit_code == 0, result.output
    assert user_named("boss").is_superuser and user_named("boss").store_ids is None


@pytest.mark.parametrize("password, message", [
    ("short1!", "too short"),
    ("password123", "too common"),
    ("aaaaaaaaaaaa", "too few different"),
    ("xiaoming-2024!", "must not contain the user name"),
])
def test_user_create_refuses_weak_passwords(app, password, message):
    result = run(app, "user", "create", "xiaoming", "--password-stdin", input=password + "\n")
    assert result.exit_code == 1
    assert message in result.output
    assert user_named("xiaoming") is None


def test_user_create_refuses_missing_password_without_a_terminal(app):
    result = run(app, "user", "create", "nopass")
    assert result.exit_code == 1 and "a password is required" in result.output
    assert user_named("nopass") is None
    result = run(app, "user", "create", "nopass", "--password-stdin", input="\n")
    assert result.exit_code == 1 and "A password is required" in result.output
    assert user_named("nopass") is None


def test_user_create_refuses_unknown_role_store_and_duplicates(app, store):
    db.session.commit()
    result = run(app, "user", "create", "li", "--password", "Lantern Festival 88", "--role", "nosuch")
    assert result.exit_code == 1 and "no role with code 'nosuch'" in result.output and "admin" in result.output
    result = run(app, "user", "create", "li", "--password", "Lantern Festival 88", "--store", "XX99")
    assert result.exit_code == 1 and "no store with code 'XX99'" in result.output and "SH01" in result.output
    assert user_named("li") is None
    assert run(app, "user", "create", "li", "--password", "Lantern Festival 88").exit_code == 0
    result = run(app, "user", "create", "LI", "--password", "Lantern Festival 88")
    assert result.exit_code == 1 and "already exists" in result.output


def test_user_token_is_printed_once_and_stored_hashed(app):
    user = make_user("integrator", ["core.store.read"])
    result = run(app, "user", "token", "integrator", "--name", "till 3")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert "cannot be shown again" in result.stderr
    assert token.startswith("o2o_") and len(token) > 30
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.name == "till 3" and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.prefix, row.token_hash) and row.prefix == token[:12]
    ok = app.test_client().get("/api/v1/stores", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200, ok.get_data(as_text=True)
    bad = app.test_client().get("/api/v1/stores", headers={"Authorization": f"Bearer {token}x"})
    assert bad.status_code == 401
    assert run(app, "user", "token", "ghost", "--name", "x").exit_code == 1


def test_user_password_command(app):
    make_user("wang", [])
    db.session.commit()
    assert run(app, "user", "password", "wang", "--password-stdin", input="123456\n").exit_code == 1
    assert user_named("wang").check_password("correct horse battery")
    assert run(app, "user", "password", "wang", "--password-stdin", input="Dumpling-Season-9\n").exit_code == 0
    assert user_named("wang").check_password("Dumpling-Season-9")


# --- login throttling -----------------------------------------------------------------------

def login(client, username, password):
    return client.submit("/login", {"username": username, "password": password})


def test_throttle_per_user_name_blocks_even_the_right_password_then_expires(app):
    make_user("victim", [])
    client = FormClient(app.test_client())
    for _ in range(5):
        assert login(client, "victim", "guess").status_code == 401
    r = login(client, "victim", "correct horse battery")
    assert r.status_code == 401 and b"Too many failed logins" in r.data
    # the window passes: old failures no longer count
    db.session.execute(sa.update(LoginFailure).values(at=utcnow() - dt.timedelta(hours=1)))
    assert login(client, "victim", "correct horse battery").status_code == 302


def test_successful_login_clears_the_user_counter(app):
    make_user("clerk", [])
    client = FormClient(app.test_client())
    for _ in range(4):
        login(client, "clerk", "guess")
    assert login(client, "clerk", "correct horse battery").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)
                             .where(LoginFailure.key == "user:clerk")) == 0


def test_failures_under_other_names_from_one_address_lock_nobody_out(app):
    # Behind the reverse proxy (or one office NAT) every user shares an address: 20 bad
    # guesses under made-up names used to lock every user of that address out.
    make_user("real", [])
    client = FormClient(app.test_client())
    for i in range(20):
        login(client, f"guess{i}", "x")
    assert login(client, "real", "correct horse battery").status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_address_is_throttled(make_app):
    app = make_app(TRUSTED_PROXIES=1)
    make_user("real", [])
    client = FormClient(app.test_client())
    for _ in range(5):
        client.submit("/login", {"username": "real", "password": "x"}, headers={"X-Forwarded-For": "203.0.113.7"})
    r = client.submit("/login", {"username": "real", "password": "correct horse battery"},
                      headers={"X-Forwarded-For": "203.0.113.7"})
    assert r.status_code == 401 and b"Too many failed logins" in r.data
    r = client.submit("/login", {"username": "real", "password": "correct horse battery"},
                      headers={"X-Forwarded-For": "198.51.100.2"})
    assert r.status_code == 302  # the real user, elsewhere behind the same proxy, is not locked out


def test_inactive_user_cannot_log_in(app):
    user = make_user("gone", [])
    user.active = False
    assert login(FormClient(app.test_client()), "gone", "correct horse battery").status_code == 401


def test_login_refuses_offsite_next(app):
    make_user("nav", [])
    client = FormClient(app.test_client())
    r = client.submit("/login?next=//evil.example/x", {"username": "nav", "password": "correct horse battery"})
    assert r.status_code == 302 and "evil" not in r.headers["Location"]


def test_logout_needs_post_with_token(client_as):
    client = client_as()
    assert client.post("/logout").status_code == 400
    assert client.get("/admin/").status_code == 200


# --- my account ------------------------------------------------------------------------------

def test_account_language_choice_is_saved(client_as):
    client = client_as()
    r = client.submit("/admin/account/", {"locale": "zh_Hans_CN"}, post_url="/admin/account/locale")
    assert r.status_code == 302
    assert client.user.locale == "zh_Hans_CN"
    r = client.submit("/admin/account/", {"locale": "xx"}, post_url="/admin/account/locale")
    assert client.user.locale == "zh_Hans_CN"
    client.submit("/admin/account/", {"locale": ""}, post_url="/admin/account/locale")
    assert client.user.locale is None


def test_account_password_change(client_as):
    client = client_as()
    r = client.submit("/admin/account/", {"current": "wrong", "new": "Moon-Cake-Festival", "repeat": "Moon-Cake-Festival"},
                      post_url="/admin/account/password")
    assert r.status_code == 400 and b"current password is wrong" in r.data
    r = client.submit("/admin/account/", {"current": "correct horse battery", "new": "password1234", "repeat": "password1234"},
                      post_url="/admin/account/password")
    assert r.status_code == 400 and b"too common" in r.data
    r = client.submit("/admin/account/", {"current": "correct horse battery", "new": "Moon-Cake-Festival",
                                          "repeat": "Moon-Cake-Festival2"}, post_url="/admin/account/password")
    assert r.status_code == 400
    assert client.user.check_password("correct horse battery")
    r = client.submit("/admin/account/", {"current": "correct horse battery", "new": "Moon-Cake-Festival",
                                          "repeat": "Moon-Cake-Festival"}, post_url="/admin/account/password")
    assert r.status_code == 302 and client.user.check_password("Moon-Cake-Festival")


def test_account_token_is_shown_once_and_can_be_revoked(client_as, app):
    client = client_as("core.store.read")
    r = client.submit("/admin/account/", {"name": "my script"}, post_url="/admin/account/tokens")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    import re
    token = re.search(r"data-token>(o2o_[^<]+)<", html).group(1)
    assert client.get("/api/v1/stores", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    again = client.get("/admin/account/").get_data(as_text=True)
    assert token not in again and token[:12] in again  # only the prefix is ever shown again
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == client.user.id))
    # somebody else cannot revoke it
    other = client_as()
    assert other.submit("/admin/account/", {}, post_url=f"/admin/account/tokens/{row.id}/revoke").status_code == 404
    assert not row.revoked
    assert client.submit("/admin/account/", {}, post_url=f"/admin/account/tokens/{row.id}/revoke").status_code == 302
    assert row.revoked
    assert client.get("/api/v1/stores", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_account_needs_login_and_csrf(app, client_as):
    assert app.test_client().get("/admin/account/").status_code == 302
    client = client_as()
    assert client.post("/admin/account/tokens", data={"name": "x"}).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
