"""Login, permissions and store scoping.

Addons declare permission codes through ``o2o_permissions``; roles carry them. A role may
grant a whole addon with a wildcard (``warehouse.*``). Superusers pass every check.
"""
from __future__ import annotations

import datetime as dt
from functools import wraps

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import CSRFProtect, FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

import core.models  # noqa: F401  (core.models imports core.auth.models: load it first, no cycle)
from core.auth.models import LoginFailure, User
from core.db import db, utcnow
from core.i18n import _, _l
from core.plugins import AddonError

csrf = CSRFProtect()
login_manager = LoginManager()
bp = Blueprint("auth", __name__, template_folder="../templates")


def permission_matches(code: str, granted: set[str]) -> bool:
    if code in granted or "*" in granted:
        return True
    parts = code.split(".")
    return any(".".join(parts[:i]) + ".*" in granted for i in range(1, len(parts)))


def user_can(user, code: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    return user.is_superuser or permission_matches(code, user.permission_codes)


def require_permission(code: str):
    """View decorator: log in first, then 403 without ``code``."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not user_can(current_user, code):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def collect_permissions(app) -> dict[str, object]:
    """Every permission declared by an enabled addon: code -> description."""
    found: dict[str, object] = {}
    owners: dict[str, str] = {}
    for addon, perms in app.extensions["o2o"].call_in_order("o2o_permissions"):
        for code, description in perms or ():
            if code in found:
                raise AddonError(f"permission '{code}' is declared by both '{owners[code]}' and '{addon}'")
            found[code], owners[code] = description, addon
    return found


def permissions(app=None) -> dict[str, object]:
    return (app or current_app).extensions["o2o.permissions"]


# A description may be ``(action, what)``: core declares its CRUD permissions that way.
ACTION_LABELS = {
    "read": _l("See %(what)s"),
    "create": _l("Create %(what)s"),
    "edit": _l("Edit %(what)s"),
    "delete": _l("Delete %(what)s"),
    "export": _l("Export %(what)s"),
}


def describe_permission(code: str, description=None) -> str:
    """The user-facing text of a permission, in the current language."""
    if description is None:
        description = permissions().get(code)
    if isinstance(description, tuple) and len(description) == 2:
        action, what = description
        label = ACTION_LABELS.get(action)
        if label is not None:
            return str(label) % {"what": str(what)}
        return f"{action} {what}"
    return str(description) if description is not None else code


# --- login throttling ------------------------------------------------------------------

def _throttle_keys(username: str) -> list[str]:
    return [f"user:{username.lower()}"[:128], f"ip:{request.remote_addr or '-'}"[:128]]


def login_blocked(username: str) -> bool:
    """Too many recent failures for this user name, or (a looser limit, since offices share
    an address) from this address."""
    cfg = current_app.config
    limit = int(cfg.get("LOGIN_MAX_FAILURES", 5))
    since = utcnow() - dt.timedelta(seconds=int(cfg.get("LOGIN_FAILURE_WINDOW", 900)))
    user_key, ip_key = _throttle_keys(username)
    counts = dict(db.session.execute(
        sa.select(LoginFailure.key, sa.func.count())
        .where(LoginFailure.key.in_([user_key, ip_key]), LoginFailure.at >= since)
        .group_by(LoginFailure.key)).all())
    return counts.get(user_key, 0) >= limit or counts.get(ip_key, 0) >= limit * 4


def record_login_failure(username: str) -> None:
    for key in _throttle_keys(username):
        db.session.add(LoginFailure(key=key))


def clear_login_failures(username: str) -> None:
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.key == _throttle_keys(username)[0]))


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Remember me"))


def authenticate(username: str, password: str) -> tuple[User | None, str | None]:
    """Check a login; returns (user, None) or (None, message). Records failures."""
    if login_blocked(username):
        return None, _("Too many failed logins. Try again in a few minutes.")
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None or not user.check_password(password) or not user.active:
        record_login_failure(username)
        return None, _("Wrong user name or password.")
    clear_login_failures(username)
    return user, None


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user, error = authenticate(form.username.data.strip(), form.password.data)
        db.session.commit()
        if user is not None:
            login_user(user, remember=form.remember.data)
            target = request.args.get("next") or ""
            # Only local paths: an open redirect would let a phishing link bounce through us.
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("admin.index")
            return redirect(target)
    status = 200 if error is None else 401
    if error is None and request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash(_("You are logged out."))
    return redirect(url_for("auth.login"))


def init_auth(app) -> None:
    app.extensions["o2o.permissions"] = collect_permissions(app)
    # Behind N reverse proxies, the client's address (login throttling, audit) is in
    # X-Forwarded-For; without this every user would share the proxy's address.
    proxies = int(app.config.get("TRUSTED_PROXIES", 0) or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")

    @login_manager.user_loader
    def _load_user(user_id: str):
        try:
            return db.session.get(User, int(user_id))
        except (TypeError, ValueError):
            return None

    app.register_blueprint(bp)
    app.jinja_env.globals["user_can"] = lambda code: user_can(current_user, code)
