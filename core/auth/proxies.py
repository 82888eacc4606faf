"""Which address a request comes from, behind reverse proxies.

``TRUSTED_PROXIES`` (config/default.toml) says whom to believe about ``X-Forwarded-For``
(and ``X-Forwarded-Proto`` / ``-Host``):

- ``0`` (the default): nobody. The client is the TCP peer; the headers are ignored, since
  anyone can send them.
- a number N: the app is always reached through exactly N proxies (werkzeug's ProxyFix
  takes the Nth address from the right). Only safe when nothing can reach the app around
  the proxies.
- a list of addresses or networks (``["127.0.0.1", "10.0.0.0/8"]``): the headers are
  believed only when the TCP peer is one of them, and the client is the right-most address
  in ``X-Forwarded-For`` that is not a trusted proxy.

Login throttling and the audit log use the resulting ``request.remote_addr``; secure cookies
(``COOKIE_SECURE = "auto"``) use the resulting scheme.
"""
from __future__ import annotations

import ipaddress


def _networks(values) -> list:
    nets = []
    for value in values:
        try:
            nets.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: '{value}' is not an IP address or network") from None
    return nets


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


class TrustedProxies:
    """WSGI middleware: the forwarded headers count only when the peer is a listed proxy."""

    def __init__(self, app, proxies):
        self.app, self.networks = app, _networks(proxies)

    def trusted(self, address) -> bool:
        return address is not None and any(address in net for net in self.networks)

    def __call__(self, environ, start_response):
        if self.trusted(_address(environ.get("REMOTE_ADDR", ""))):
            chain = [a for a in (environ.get("HTTP_X_FORWARDED_FOR") or "").split(",") if a.strip()]
            for hop in reversed(chain):
                address = _address(hop)
                if address is None:
                    break  # garbage in the chain: stop believing it here
                environ["REMOTE_ADDR"] = str(address)
                if not self.trusted(address):
                    break
            proto = (environ.get("HTTP_X_FORWARDED_PROTO") or "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
            host = (environ.get("HTTP_X_FORWARDED_HOST") or "").split(",")[-1].strip()
            if host:
                environ["HTTP_HOST"] = host
        return self.app(environ, start_response)


def install(app) -> None:
    """Wrap ``app.wsgi_app`` as ``TRUSTED_PROXIES`` asks (see the module docstring)."""
    setting = app.config.get("TRUSTED_PROXIES", 0) or 0
    if isinstance(setting, str):
        setting = [s for s in setting.split(",") if s.strip()] if not setting.strip().isdigit() else int(setting)
    if isinstance(setting, (list, tuple)):
        if setting:
            app.wsgi_app = TrustedProxies(app.wsgi_app, setting)
        return
    count = int(setting)
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
