"""Login, permissions and store scoping.

Addons declare permission codes through ``o2o_permissions``; roles carry them. A role may
grant a whole addon with a wildcard (``warehouse.*``). Superusers pass every check.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from functools import wraps
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import AnonymousUserMixin, LoginManager, current_user, login_required, login_user, logout_user
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
# Failures are counted per user name (guessing one account from many addresses) and per
# (user name, address) (one client guessing). Never per address alone: behind the reverse
# proxy, or in an office behind one NAT, every user shares an address, and 20 bad guesses
# under made-up names would lock all of them out. The address is request.remote_addr as
# TRUSTED_PROXIES lets it be read (core.auth.proxies).

def _throttle_keys(username: str) -> tuple[str, str]:
    name = username.strip().lower()
    return f"user:{name}"[:128], f"pair:{name}|{request.remote_addr or '-'}"[:128]


def login_blocked(username: str) -> str | None:
    """Why a login under ``username`` from this address is refused now (a message), or None."""
    cfg = current_app.config
    pair_limit = int(cfg.get("LOGIN_MAX_FAILURES", 5))
    user_limit = int(cfg.get("LOGIN_MAX_FAILURES_PER_USER", 20))
    window = int(cfg.get("LOGIN_FAILURE_WINDOW", 900))
    since = utcnow() - dt.timedelta(seconds=window)
    user_key, pair_key = _throttle_keys(username)
    counts = dict(db.session.execute(
        sa.select(LoginFailure.key, sa.func.count())
        .where(LoginFailure.key.in_([user_key, pair_key]), LoginFailure.at >= since)
        .group_by(LoginFailure.key)).all())
    minutes = max(1, -(-window // 60))
    if pair_limit > 0 and counts.get(pair_key, 0) >= pair_limit:
        return _("Too many failed logins for this user name from your address. "
                 "Try again in %(minutes)d minutes at most.", minutes=minutes)
    if user_limit > 0 and counts.get(user_key, 0) >= user_limit:
        return _("Too many failed logins for this user name. Try again in %(minutes)d minutes at most, "
                 "or ask an administrator to check the account.", minutes=minutes)
    return None


def record_login_failure(username: str) -> None:
    for key in _throttle_keys(username):
        db.session.add(LoginFailure(key=key))


def clear_login_failures(username: str) -> None:
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.key.in_(_throttle_keys(username))))


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Remember me"))


def authenticate(username: str, password: str) -> tuple[User | None, str | None]:
    """Check a login; returns (user, None) or (None, message). Records failures."""
    blocked = login_blocked(username)
    if blocked:
        return None, blocked
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
            return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
    status = 200 if error is None else 401
    if error is None and request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        # Every session of the user ends, not only this cookie: a copy of it (another
        # tab, device, or a stolen cookie) would otherwise stay valid until it expires.
        current_user.end_sessions()
        db.session.commit()
    logout_user()
    flash(_("You are logged out."))
    return redirect(url_for("auth.login"))


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site ("/pos/till/3?x=1"), else None.

    Browsers drop tabs and newlines inside a URL and read a backslash as a slash, so
    "/<tab>/evil.example" and "/<backslash>evil.example" would become "//evil.example" (another
    site); a newline would also break the Location header. Anything with a control character or
    a backslash, a scheme or a host, or not starting with exactly one "/" is refused."""
    if not target or len(target) > 2048:
        return None
    if "\\" in target or any(unicodedata.category(c).startswith("C") for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def init_auth(app) -> None:
    app.extensions["o2o.permissions"] = collect_permissions(app)
    # Behind reverse proxies, the client's address (login throttling, audit) and scheme
    # (secure cookies) are in X-Forwarded-* headers, believed only from TRUSTED_PROXIES.
    from core.auth.proxies import install as install_proxies
    install_proxies(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")

    @login_manager.user_loader
    def _load_user(user_id: str):
        # "id:version" (User.get_id): a session from before the user's last logout,
        # password change or deactivation carries an old version and loads nobody.
        uid, _sep, version = str(user_id).partition(":")
        try:
            uid, version = int(uid), int(version)
        except ValueError:
            return None
        if not 0 < uid <= 2**31 - 1:
            return None
        user = db.session.get(User, uid)
        if user is None or not user.active or user.session_version != version:
            return None
        return user

    @app.after_request
    def _keep_this_session(response):
        # Registered after Flask-Login's hook, so it runs before it (Flask runs them in
        # reverse): what it puts in the session is what Flask-Login then writes.
        # Touches no attribute of the user unless needed: after the view's commit each one
        # would be a query (the till's statement budget counts them).
        user = g.get("_login_user")
        stored = session.get("_user_id")
        ended_here = user is not None and vars(user).pop("_sessions_ended_here", False)
        if user is None or not stored:
            return response  # nobody was loaded in this request, or nobody is logged in
        if ended_here:
            # The user changed their own password in this request: the other sessions end,
            # this one (the one that knew the password) carries the new version on.
            if user.active and stored.partition(":")[0] == str(user.id) and stored != user.get_id():
                session["_user_id"] = user.get_id()
                if request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
                    session["_remember"] = "set"
        elif isinstance(user, AnonymousUserMixin) and \
                request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
            # The session and remember-me cookie were tried and are stale: drop them rather
            # than retry them on every request.
            session.pop("_user_id", None)
            session["_remember"] = "clear"
        return response

    app.register_blueprint(bp)
    app.jinja_env.globals["user_can"] = lambda code: user_can(current_user, code)
