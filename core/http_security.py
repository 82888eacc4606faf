"""Security headers and cookie attributes on every response (installed by create_app).

- Every response: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: same-origin`` and a Content-Security-Policy with ``frame-ancestors
  'none'`` (no page of ours is ever framed: clickjacking).
- HTML pages: a strict CSP. Scripts only from this site or with the request's nonce
  (``csp_nonce()`` in templates; Flask-Admin gets it too), never inline handlers. The few
  that Flask-Admin's own templates carry (``onclick="..."``) are renamed to
  ``data-o2o-onclick`` as the templates load (``FlaskAdminHandlers``), so the browser never
  sees (nor reports) them, and ``core/static/o2o-admin.js`` binds those of known shapes. Styles
  may be inline (Flask-Admin and bootstrap widgets set style attributes; a style cannot run
  code). ``CONTENT_SECURITY_POLICY`` replaces the policy (``{nonce}`` is filled in).
- ``Cache-Control: no-store`` on every answer but static files: pages, documents (PDF, CSV)
  and API answers carry a user's data, and a shared or back-button cache must not keep them.
  A public answer may set its own Cache-Control; an answer to a logged-in user is no-store.
- Cookies (the session, remember-me, any an addon sets): ``SameSite=Lax`` and ``HttpOnly``,
  and ``Secure`` as ``COOKIE_SECURE`` says: ``"auto"`` (the default) when the request came
  over HTTPS (behind a TLS proxy that needs TRUSTED_PROXIES, or ``COOKIE_SECURE = true``).
"""
from __future__ import annotations

import re
import secrets

from pathlib import Path

import flask_admin
from flask import Flask, current_app, g, request, session
from flask_login import AnonymousUserMixin
from jinja2 import BaseLoader

HTML_POLICY = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
               "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"
# A PDF keeps the browser's viewer (an object-src 'none' would block it): only no framing.
OTHER_POLICY = "frame-ancestors 'none'"
JSON_TYPES = ("application/json", "application/problem+json")
# Never in a real Location; browsers drop tabs and newlines and read "\\" as "/", so
# "/<tab>/evil.example" is "//evil.example", and a newline would be a 500 (a broken header).
_UNSAFE_LOCATION = re.compile(r"[\x00-\x1f\x7f\\]")


def csp_nonce() -> str:
    """This request's script nonce: ``<script nonce="{{ csp_nonce() }}">`` where an inline
    script cannot be avoided."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _secure_setting(app: Flask) -> bool | None:
    """COOKIE_SECURE: True, False, or None for "auto" (as the request came)."""
    setting = app.config.get("COOKIE_SECURE", "auto")
    if isinstance(setting, str):
        lowered = setting.strip().lower()
        return None if lowered == "auto" else lowered in ("1", "true", "yes", "on")
    return bool(setting)


def cookie_secure() -> bool:
    """Whether cookies set in this request get the Secure attribute."""
    setting = _secure_setting(current_app)
    return request.is_secure if setting is None else setting


def _authenticated() -> bool:
    # No attribute of the user is read: after the view's commit each would be a query.
    user = g.get("_login_user")
    return bool((user is not None and not isinstance(user, AnonymousUserMixin))
                or g.get("api_user") is not None or "_user_id" in session)


def _is_static() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def harden_cookies(response) -> None:
    """Add SameSite=Lax, HttpOnly and (as COOKIE_SECURE says) Secure to every Set-Cookie."""
    cookies = response.headers.getlist("Set-Cookie")
    if not cookies:
        return
    secure = cookie_secure()
    fixed = []
    for cookie in cookies:
        attributes = {part.strip().split("=", 1)[0].lower() for part in cookie.split(";")[1:]}
        if "samesite" not in attributes:
            cookie += "; SameSite=Lax"
        if "httponly" not in attributes:
            cookie += "; HttpOnly"
        if secure and "secure" not in attributes:
            cookie += "; Secure"
        fixed.append(cookie)
    response.headers.remove("Set-Cookie")
    for cookie in fixed:
        response.headers.add("Set-Cookie", cookie)


def add_security_headers(response) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if "Content-Security-Policy" not in headers:
        if response.mimetype == "text/html":
            policy = current_app.config.get("CONTENT_SECURITY_POLICY") or HTML_POLICY
            headers["Content-Security-Policy"] = policy.replace("{nonce}", csp_nonce())
        elif response.mimetype in JSON_TYPES:
            headers["Content-Security-Policy"] = JSON_POLICY
        else:
            headers["Content-Security-Policy"] = OTHER_POLICY
    if not _is_static():
        if _authenticated() or "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
            headers.pop("ETag", None)


class FlaskAdminHandlers(BaseLoader):
    """The app's template loader, with Flask-Admin's inline ``onclick`` handlers renamed to
    ``data-o2o-onclick`` (once, as a template is loaded and compiled; nothing per response)."""

    ROOT = str(Path(flask_admin.__file__).resolve().parent)
    HANDLER = re.compile(r"(\s)onclick=")

    def __init__(self, inner):
        self.inner = inner

    def get_source(self, environment, template):
        source, filename, uptodate = self.inner.get_source(environment, template)
        if filename and str(Path(filename).resolve()).startswith(self.ROOT):
            source = self.HANDLER.sub(r"\1data-o2o-onclick=", source)
        return source, filename, uptodate

    def list_templates(self):
        return self.inner.list_templates()


class HardenedFlask(Flask):
    """Flask, with the headers and cookie attributes above on every response. Done after
    ``process_response`` (not in an after_request hook) because Flask writes the session
    cookie, and Flask-Login the remember-me cookie, after the hooks have run."""

    def redirect(self, location, code=302):
        # Every flask.redirect() comes here, Flask-Admin's return-to ``url=`` too (it checks
        # the host but passes control characters through).
        if isinstance(location, str) and _UNSAFE_LOCATION.search(location):
            location = "/"
        return super().redirect(location, code)

    def process_response(self, response):
        response = super().process_response(response)
        add_security_headers(response)
        harden_cookies(response)
        return response


def init_http_security(app: Flask) -> None:
    # Flask's defaults are None / False: only a value a config file set explicitly is kept.
    for prefix in ("SESSION_COOKIE_", "REMEMBER_COOKIE_"):
        if not app.config.get(prefix + "SAMESITE"):
            app.config[prefix + "SAMESITE"] = "Lax"
        app.config.setdefault(prefix + "HTTPONLY", True)
        if _secure_setting(app):
            app.config[prefix + "SECURE"] = True
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.loader = FlaskAdminHandlers(app.jinja_env.loader)
    for admin in app.extensions.get("admin", []):
        admin.csp_nonce_generator = csp_nonce  # Flask-Admin puts it on its own script tags

