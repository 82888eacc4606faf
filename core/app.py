"""create_app(): the only place an o2o Flask app is assembled."""
from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from flask import redirect, request, url_for

from core import config as config_mod
from core.db import configure_engine, db, take_write_lock
from core.cache import install as install_config_cache
from core.events import install_event_listeners
from core.http_security import HardenedFlask, init_http_security
from core.models.audit import install_audit_listener
from core.plugins import AddonError, AddonManager, dependency_order, discover, with_auto_enabled

log = logging.getLogger(__name__)
CORE_DIR = Path(__file__).resolve().parent


def create_app(config: dict | None = None, *, addons: list[str] | None = None) -> HardenedFlask:
    """Build an app.

    ``config`` overrides the files and environment. ``addons`` (tests, tools) names the
    addons to register instead of reading the enabled set from the database; essential
    addons and dependencies are always added.
    """
    values = config_mod.load_config()
    values.update(config or {})
    # HardenedFlask: security headers and SameSite/Secure/HttpOnly on every cookie (core.http_security)
    app = HardenedFlask("o2o", root_path=str(CORE_DIR), instance_path=str(config_mod.instance_path()))
    app.config.update(values)
    url = app.config.get("DATABASE_URL") or config_mod.default_database_url()
    if url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = config_mod.normalise_database_url(url)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    if not app.config.get("SECRET_KEY"):
        config_mod.ensure_secret_key(app.config)

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)

    @app.before_request
    def _changes_wait_their_turn():
        # SQLite: a request that changes data takes the write lock before it reads anything
        # (its login user, its token), so it waits its turn (busy timeout) instead of failing
        # with 'database is locked' when another request commits between its first read and
        # its first write (a stale snapshot cannot take the lock). Admin forms, the login,
        # the till and the API alike. PostgreSQL: nothing (row locks).
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            take_write_lock()
    install_audit_listener()
    install_event_listeners()
    install_config_cache()

    installed = discover(include_third_party=app.config.get("THIRD_PARTY_ADDONS", True))
    for name in dependency_order(installed, installed):
        installed[name].import_models()
    if addons is None and app.config.get("ADDONS"):
        addons = list(app.config["ADDONS"])
    if addons is not None:
        essentials = [n for n, a in installed.items() if a.essential]
        enabled = with_auto_enabled(installed, essentials + list(addons))
    else:
        with app.app_context():
            enabled = read_enabled(installed)
    manager = AddonManager(installed, enabled)
    app.extensions["o2o"] = manager

    for _name, defaults in manager.call_in_order("o2o_settings"):
        for key, value in (defaults or {}).items():
            app.config.setdefault(key, value)

    from core.auth import init_auth
    from core.i18n import init_i18n
    from core.admin import init_admin
    from core.api import init_api
    init_i18n(app)
    init_auth(app)
    init_api(app)
    for _name, blueprints in manager.call_in_order("o2o_blueprints", app=app):
        for bp in blueprints or ():
            app.register_blueprint(bp)
    init_admin(app)
    init_http_security(app)
    from core.uploads import init_uploads
    init_uploads(app)  # MAX_CONTENT_LENGTH: 413 with a clear answer
    for _name, commands in manager.call_in_order("o2o_cli_commands", app=app):
        for cmd in commands or ():
            app.cli.add_command(cmd)

    @app.route("/")
    def index():
        return redirect(url_for("admin.index"))

    manager.hook.o2o_app_ready(app=app)
    return app


def read_enabled(installed) -> list[str]:
    """The enabled set from the database, plus essentials. Before the first migration there
    is no addon_state table yet: then only essentials."""
    essentials = [n for n, a in installed.items() if a.essential]
    try:
        rows = db.session.execute(sa.text("SELECT name FROM addon_state WHERE enabled = :t"),
                                  {"t": True}).scalars().all()
    except sa.exc.OperationalError:
        db.session.rollback()
        rows = []
    except sa.exc.ProgrammingError:
        db.session.rollback()
        rows = []
    finally:
        db.session.remove()
    missing = [n for n in rows if n not in installed]
    for name in missing:
        log.warning("addon '%s' is enabled in the database but not installed; skipping it", name)
    try:
        return dependency_order(installed, essentials + [n for n in rows if n in installed])
    except AddonError as exc:
        log.error("enabled addons are inconsistent: %s; starting with essentials only", exc)
        return dependency_order(installed, essentials)
