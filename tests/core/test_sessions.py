"""Sessions end when they should: a copied session (or remember-me) cookie replayed after
logout, a password change or a deactivation loads nobody. And the login's ``next=``, the
throttling per user name and per (name, address), TRUSTED_PROXIES."""
import pytest
import sqlalchemy as sa

from core.auth.models import User
from core.db import db
from core.testing import FormClient, make_user

PASSWORD = "correct horse battery"


def log_in(app, username, password=PASSWORD, **data):
    client = FormClient(app.test_client())
    r = client.submit("/login", {"username": username, "password": password, **data})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return client


def replay(app, client, name="session"):
    """A new browser holding only a copy of ``client``'s cookie ``name``."""
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    thief = app.test_client()
    thief.set_cookie(name, cookie.value)
    return thief


def is_logged_out(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_copied_session_cookie_is_dead_after_logout(app):
    make_user("copycat", ["core.store.read"])
    client = log_in(app, "copycat")
    copy = replay(app, client)
    assert copy.get("/admin/").status_code == 200  # the copy works while the session lives
    r = client.submit("/admin/", {}, post_url="/logout")
    assert r.status_code == 302
    assert is_logged_out(copy.get("/admin/"))
    assert is_logged_out(client.get("/admin/"))
    assert is_logged_out(copy.get("/admin/account/"))


def test_logout_ends_every_session_of_the_user(app):
    make_user("twodevices", [])
    laptop, phone = log_in(app, "twodevices"), log_in(app, "twodevices")
    laptop.submit("/admin/", {}, post_url="/logout")
    assert is_logged_out(phone.get("/admin/"))
    assert log_in(app, "twodevices").get("/admin/").status_code == 200  # logging in again works


def test_the_till_api_refuses_a_replayed_cookie_after_logout(app):
    make_user("cashier", ["pos.sell"])
    client = log_in(app, "cashier")
    copy = replay(app, client)
    assert copy.get("/api/v1/pos/registers").status_code != 401
    client.submit("/admin/", {}, post_url="/logout")
    assert copy.get("/api/v1/pos/registers").status_code == 401


def test_a_remember_me_cookie_dies_at_logout_too(app):
    make_user("rememberer", [])
    client = log_in(app, "rememberer", remember="y")
    remembered = replay(app, client, "remember_token")  # no session cookie: the remember-me one
    assert remembered.get("/admin/").status_code == 200
    stale = replay(app, client, "remember_token")  # another copy, taken before the logout
    client.submit("/admin/", {}, post_url="/logout")
    assert is_logged_out(stale.get("/admin/"))
    assert is_logged_out(remembered.get("/admin/"))
    assert stale.get_cookie("remember_token") is None  # the dead cookie is cleared, not retried


def test_requests_that_load_no_user_keep_the_session_and_remember_cookie(app):
    make_user("keeper", [])
    client = log_in(app, "keeper", remember="y")
    for url in ("/static/o2o-admin.js", "/login", "/api/v1/openapi.json", "/admin/"):
        assert client.get(url).status_code == 200, url
    assert client.get_cookie("remember_token") is not None
    assert client.get("/admin/account/").status_code == 200


def test_own_password_change_keeps_this_session_and_ends_the_others(app):
    make_user("changer", [])
    here, elsewhere = log_in(app, "changer"), log_in(app, "changer")
    copy = replay(app, here)
    r = here.submit("/admin/account/", {"current": PASSWORD, "new": "Moon-Cake-Festival", "repeat": "Moon-Cake-Festival"},
                    post_url="/admin/account/password")
    assert r.status_code == 302
    assert here.get("/admin/account/").status_code == 200  # the session that knew the password stays
    assert is_logged_out(elsewhere.get("/admin/"))
    assert is_logged_out(copy.get("/admin/"))  # a copy taken before the change is dead


def test_a_logout_elsewhere_during_a_request_is_not_undone_by_it(app):
    """Another worker ends the sessions while this request runs: this session must not carry
    the new version on (only a change made by the request itself does)."""
    user = make_user("racer", [])

    @app.route("/test-logout-elsewhere")
    def logout_elsewhere():
        from flask_login import current_user
        assert current_user.is_authenticated  # this request's user is loaded, then:
        db.session.execute(sa.update(User).where(User.id == user.id)
                           .values(session_version=User.session_version + 1))  # as another worker would
        db.session.commit()
        db.session.expire_all()
        return "ok"
    client = log_in(app, "racer")
    assert client.get("/test-logout-elsewhere").status_code == 200
    assert is_logged_out(client.get("/admin/"))


def test_a_password_set_by_an_administrator_ends_the_users_sessions(app):
    target = make_user("staff", [])
    victim = log_in(app, "staff")
    admin = log_in(app, make_user("boss", ["core.user.read", "core.user.edit"]).username)
    r = admin.submit(f"/admin/user/edit/?id={target.id}",
                     {"username": "staff", "new_password": "Lantern-Riddle-77", "active": "y", "all_stores": "y"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert is_logged_out(victim.get("/admin/"))
    assert admin.get("/admin/").status_code == 200


def test_deactivation_from_another_session_ends_the_users_sessions(app):
    target = make_user("leaver", [])
    victim = log_in(app, "leaver")
    copy = replay(app, victim)
    admin = log_in(app, make_user("hr", ["core.user.read", "core.user.edit"]).username)
    r = admin.submit(f"/admin/user/edit/?id={target.id}", {"username": "leaver", "all_stores": "y"})  # active unticked
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    db.session.expire_all()
    assert db.session.get(User, target.id).active is False
    assert is_logged_out(victim.get("/admin/"))
    assert is_logged_out(copy.get("/admin/"))
    # reactivated, the old cookies stay dead: only a new login works
    db.session.get(User, target.id).active = True
    db.session.commit()
    assert is_logged_out(copy.get("/admin/"))


def test_the_password_command_ends_the_users_sessions(app):
    make_user("scripted", [])
    client = log_in(app, "scripted")
    result = app.test_cli_runner().invoke(args=["user", "password", "scripted", "--password-stdin"],
                                          input="Dragon-Boat-Race-5\n")
    assert result.exit_code == 0, result.output
    assert is_logged_out(client.get("/admin/"))
    assert log_in(app, "scripted", "Dragon-Boat-Race-5").get("/admin/").status_code == 200


def test_a_session_without_a_version_loads_nobody(app):
    """Cookies signed before session versions existed carry the bare id: they are logged out."""
    user = make_user("legacy", [])
    client = log_in(app, "legacy")
    with client.session_transaction() as s:
        s["_user_id"] = str(user.id)
    assert is_logged_out(client.get("/admin/"))
    with client.session_transaction() as s:
        s["_user_id"] = "99999999999999999999:1"  # beyond any id: nobody, not a database error
    assert is_logged_out(client.get("/admin/"))


# --- next= after login -----------------------------------------------------------------------

EVIL_NEXT = [
    "/%09/evil.example", "/%0a/x", "/%0d%0aSet-Cookie:%20x=1", "//evil.example", "///evil.example",
    "/%5Cevil.example", "%5C%5Cevil.example", "/%5C/evil.example", "https://evil.example/", "http:evil.example",
    "javascript:alert(1)", "evil.example", "%20/x", "/x%00y", "/%E2%80%AE/x", "",
]


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_login_ignores_every_offsite_or_malformed_next(app, target):
    make_user("nav", [])
    client = FormClient(app.test_client())
    r = client.submit(f"/login?next={target}", {"username": "nav", "password": PASSWORD})
    assert r.status_code == 302
    assert r.headers["Location"] == "/admin/"


@pytest.mark.parametrize("target", ["/pos/", "/admin/product/?page=2&sort=1", "/admin/account/#tokens"])
def test_login_follows_a_local_next(app, target):
    make_user("nav", [])
    client = FormClient(app.test_client())
    r = client.submit("/login?next=" + target.replace("&", "%26").replace("#", "%23"),
                      {"username": "nav", "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == target


@pytest.mark.parametrize("url", ["/foo\nbar", "/\t/evil.example", "/a\r\nX-Injected: 1", "/\\evil.example"])
def test_admin_return_url_cannot_break_or_leave_the_site(app, client_as, url):
    from core.models import Store
    client = client_as("core.store.read", "core.store.delete")
    store = Store(code="GONE", name="Gone")
    db.session.add(store)
    db.session.commit()
    r = client.submit("/admin/store/", {"id": str(store.id), "url": url}, post_url="/admin/store/delete/")
    assert r.status_code == 302
    location = r.headers["Location"]
    assert "evil" not in location and "\n" not in location and "X-Injected" not in r.headers


# --- throttling ------------------------------------------------------------------------------

def attempt(app, username, password, address):
    client = FormClient(app.test_client())
    return client.submit("/login", {"username": username, "password": password},
                         environ_base={"REMOTE_ADDR": address})


def test_a_name_guessed_from_many_addresses_is_blocked_everywhere(app):
    make_user("target", [])
    for i in range(20):  # 4 guesses from each of 5 addresses: under the per-address-pair limit
        assert attempt(app, "target", "guess", f"10.0.{i // 4}.1").status_code == 401
    r = attempt(app, "target", PASSWORD, "10.9.9.9")
    assert r.status_code == 401 and "Too many failed logins for this user name." in r.get_data(as_text=True)
    assert attempt(app, "someone", "x", "10.9.9.9").status_code == 401  # other names are not touched
    make_user("bystander", [])
    assert attempt(app, "bystander", PASSWORD, "10.0.0.1").status_code == 302


def test_one_client_guessing_one_name_is_blocked_only_there(app):
    make_user("pair", [])
    for _ in range(5):
        attempt(app, "pair", "guess", "10.1.1.1")
    r = attempt(app, "pair", PASSWORD, "10.1.1.1")
    assert r.status_code == 401 and "from your address" in r.get_data(as_text=True)
    assert attempt(app, "pair", PASSWORD, "10.2.2.2").status_code == 302


def test_the_throttle_message_is_in_chinese_too(app):
    make_user("zhong", [])
    for _ in range(5):
        attempt(app, "zhong", "guess", "10.3.3.3")
    client = FormClient(app.test_client())
    page = client.get("/login", headers={"Accept-Language": "zh-CN"})
    from core.testing import csrf_token_from
    r = client.post("/login", data={"username": "zhong", "password": PASSWORD,
                                    "csrf_token": csrf_token_from(page.get_data(as_text=True))},
                    headers={"Accept-Language": "zh-CN"}, environ_base={"REMOTE_ADDR": "10.3.3.3"})
    text = r.get_data(as_text=True)
    assert r.status_code == 401 and "登录失败次数过多" in text and "Too many" not in text


@pytest.mark.parametrize("proxies, peer, believed", [
    (["10.0.0.5"], "10.0.0.5", True),              # the listed proxy: its header counts
    (["10.0.0.0/24"], "10.0.0.9", True),
    (["10.0.0.5"], "192.0.2.50", False),           # anyone else: the header is theirs to forge
    (0, "10.0.0.5", False),                        # the default trusts nobody
])
def test_forwarded_for_counts_only_from_a_trusted_proxy(make_app, proxies, peer, believed):
    app = make_app(TRUSTED_PROXIES=proxies)
    make_user("fwd", [])
    for _ in range(5):  # five bad guesses, each claiming another client address
        FormClient(app.test_client()).submit(
            "/login", {"username": "fwd", "password": "x"},
            environ_base={"REMOTE_ADDR": peer}, headers={"X-Forwarded-For": "203.0.113.1"})
    r = FormClient(app.test_client()).submit(
        "/login", {"username": "fwd", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": peer}, headers={"X-Forwarded-For": "198.51.100.2"})
    # believed: the guesses came from 203.0.113.1, so 198.51.100.2 logs in; not believed:
    # everything came from the peer, whose five failures block the name there
    assert r.status_code == (302 if believed else 401)


def test_trusted_proxies_skip_the_proxy_chain_and_a_bad_setting_is_refused():
    from flask import Flask
    from core.auth.proxies import TrustedProxies, install
    seen = {}

    def inner(environ, start_response):
        seen.update(addr=environ["REMOTE_ADDR"], scheme=environ["wsgi.url_scheme"])
        return []
    mw = TrustedProxies(inner, ["10.0.0.0/8"])
    mw({"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9, 10.0.0.2",
        "HTTP_X_FORWARDED_PROTO": "https", "wsgi.url_scheme": "http"}, None)
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}  # the forged left entry is not taken
    mw({"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "not-an-ip", "wsgi.url_scheme": "http"}, None)
    assert seen["addr"] == "10.0.0.1"
    bare = Flask("bare")
    bare.config["TRUSTED_PROXIES"] = ["nginx.internal"]  # a name, not an address: said at start-up
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        install(bare)


def test_failures_are_recorded_under_both_keys_only(app):
    from core.auth.models import LoginFailure
    attempt(app, "Keys", "x", "10.4.4.4")
    keys = set(db.session.scalars(sa.select(LoginFailure.key)))
    assert keys == {"user:keys", "pair:keys|10.4.4.4"}
