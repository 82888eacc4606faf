"""Security headers on every kind of answer, the CSP of HTML pages, no-store on what carries a
user's data, and SameSite / HttpOnly / Secure on every cookie (core.http_security)."""
import re

import pytest

from core.db import db
from core.testing import FormClient, make_user

PASSWORD = "correct horse battery"
COMMON = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}


def assert_common(response):
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def csp(response) -> dict[str, list[str]]:
    out = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.fixture
def clients(app, client_as, api_client):
    return {"page": client_as("core.store.read", "core.store.export", "finance.report"),
            "api": api_client("core.store.read", "finance.report"), "anonymous": app.test_client()}


def answers(clients):
    page, api, anonymous = clients["page"], clients["api"], clients["anonymous"]
    return {
        "login page": anonymous.get("/login"),
        "redirect to login": anonymous.get("/admin/"),
        "admin page": page.get("/admin/"),
        "admin list": page.get("/admin/store/"),
        "admin CSV export": page.get("/admin/store/export/csv/"),
        "404 page": page.get("/no/such/page"),
        "API list": api.get("/api/v1/stores"),
        "API problem (no token)": anonymous.get("/api/v1/stores"),
        "API PDF": api.get("/api/v1/finance/reports/trial-balance.pdf"),
        "OpenAPI": anonymous.get("/api/v1/openapi.json"),
        "static file": anonymous.get("/static/o2o-admin.js"),
        "Flask-Admin static": anonymous.get("/admin/static/admin/js/helpers.js"),
    }


def test_every_kind_of_answer_has_the_security_headers(clients):
    for what, response in answers(clients).items():
        assert response.status_code < 500, what
        assert_common(response)


def test_documents_and_pages_with_a_user_are_never_stored(clients):
    found = answers(clients)
    for what in ("login page", "admin page", "admin list", "admin CSV export", "API list", "API PDF",
                 "API problem (no token)", "404 page", "OpenAPI"):
        assert found[what].headers.get("Cache-Control") == "no-store", what
    assert found["API PDF"].mimetype == "application/pdf"
    assert found["admin CSV export"].mimetype == "text/csv"
    for what in ("static file", "Flask-Admin static"):  # cacheable, and nothing personal
        assert "no-store" not in (found[what].headers.get("Cache-Control") or ""), what


def test_html_pages_have_a_strict_csp_with_a_fresh_nonce(clients):
    page = clients["page"]
    first, second = page.get("/admin/store/"), page.get("/admin/store/")
    policy = csp(first)
    nonce = [v for v in policy["script-src"] if v.startswith("'nonce-")]
    assert len(nonce) == 1 and nonce[0] not in csp(second)["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    html = first.get_data(as_text=True)
    value = nonce[0][len("'nonce-"):-1]
    for tag in re.findall(r"<script\b[^>]*>", html):
        src = re.search(r'src="([^"]+)"', tag)
        assert (src and src.group(1).startswith("/")) or f'nonce="{value}"' in tag, tag
    assert "/static/o2o-admin.js" in html  # rebinds Flask-Admin's inline handlers
    assert csp(clients["api"].get("/api/v1/stores"))["default-src"] == ["'none'"]


def test_our_templates_have_no_inline_script_or_handler():
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in list(root.glob("core/templates/**/*.html")) + list(root.glob("addons/*/templates/**/*.html")):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and "csp_nonce()" not in tag:
                offenders.append(f"{path.relative_to(root)}: {tag}")
        for handler in re.findall(r"\son[a-z]+\s*=\s*[\"']", text):
            offenders.append(f"{path.relative_to(root)}: inline handler{handler}")
        if "javascript:" in text:
            offenders.append(f"{path.relative_to(root)}: javascript: URL")
    assert offenders == []


# --- cookies ---------------------------------------------------------------------------------

def set_cookies(response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}


def attributes(cookie: str) -> set[str]:
    return {part.strip().split("=", 1)[0].lower() for part in cookie.split(";")[1:]}


def login(app, base_url="http://localhost", remember=True, **environ):
    make_user("cookie", [])
    client = FormClient(app.test_client())
    page = client.get("/login", base_url=base_url, environ_base=environ)
    from core.testing import csrf_token_from
    data = {"username": "cookie", "password": PASSWORD, "csrf_token": csrf_token_from(page.get_data(as_text=True))}
    if remember:
        data["remember"] = "y"
    # over HTTPS Flask-WTF wants a same-site Referer, which Referrer-Policy: same-origin keeps
    r = client.post("/login", data=data, base_url=base_url, environ_base=environ,
                    headers={"Referer": f"{base_url}/login"})
    assert r.status_code == 302
    return r


def test_session_and_remember_cookies_are_samesite_lax_httponly_and_not_secure_over_http(app):
    cookies = set_cookies(login(app))
    assert {"session", "remember_token"} <= set(cookies)
    for name in ("session", "remember_token"):
        attrs = attributes(cookies[name])
        assert "httponly" in attrs and "secure" not in attrs, cookies[name]
        assert "SameSite=Lax" in cookies[name]


def test_cookies_are_secure_when_served_over_https(app):
    cookies = set_cookies(login(app, base_url="https://localhost"))
    for name in ("session", "remember_token"):
        assert "secure" in attributes(cookies[name]) and "SameSite=Lax" in cookies[name], cookies[name]


def test_behind_a_trusted_proxy_the_forwarded_https_makes_cookies_secure(make_app):
    app = make_app(TRUSTED_PROXIES=["127.0.0.1"])
    make_user("proxied", [])
    client = FormClient(app.test_client())
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4", "Referer": "https://localhost/login"}
    r = client.submit("/login", {"username": "proxied", "password": PASSWORD}, headers=headers)
    assert "secure" in attributes(set_cookies(r)["session"])
    # the same header from a client that is not a listed proxy does not count
    other = FormClient(app.test_client())
    r = other.submit("/login", {"username": "proxied", "password": PASSWORD}, headers=headers,
                     environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert "secure" not in attributes(set_cookies(r)["session"])


@pytest.mark.parametrize("setting, base_url, secure", [(True, "http://localhost", True),
                                                        (False, "https://localhost", False),
                                                        ("auto", "https://localhost", True)])
def test_cookie_secure_setting(make_app, setting, base_url, secure):
    app = make_app(COOKIE_SECURE=setting)
    cookie = set_cookies(login(app, base_url=base_url))["session"]
    assert ("secure" in attributes(cookie)) is secure


def test_a_cookie_any_view_sets_gets_the_attributes(app):
    from flask import make_response

    @app.route("/test-addon-cookie")
    def addon_cookie():
        response = make_response("ok")
        response.set_cookie("addon_pref", "1")
        response.set_cookie("explicit", "1", samesite="Strict")
        return response
    r = app.test_client().get("/test-addon-cookie", base_url="https://localhost")
    cookies = set_cookies(r)
    assert {"httponly", "secure", "samesite"} <= attributes(cookies["addon_pref"])
    assert "SameSite=Lax" in cookies["addon_pref"]
    assert "SameSite=Strict" in cookies["explicit"] and "SameSite=Lax" not in cookies["explicit"]


def test_logout_clears_cookies_with_the_same_attributes(app):
    login(app)
    client = FormClient(app.test_client())
    client.submit("/login", {"username": "cookie", "password": PASSWORD, "remember": "y"})
    r = client.submit("/admin/", {}, post_url="/logout")
    for cookie in r.headers.getlist("Set-Cookie"):
        assert "SameSite=Lax" in cookie and "httponly" in attributes(cookie), cookie
    db.session.rollback()
