"""Two languages from the first line: English and Simplified Chinese.

Every user-facing string is marked with ``gettext``/``lazy_gettext`` (``_``/``_l``). Each
addon may ship ``translations/`` beside its code; all folders are merged into one
``messages`` domain. The language is the user's choice, else the browser's best match.
"""
from __future__ import annotations

from flask import g, request
from flask_babel import Babel, format_currency, format_decimal, gettext, lazy_gettext  # noqa: F401
from flask_login import current_user

_ = gettext
_l = lazy_gettext


def select_locale():
    supported = request_supported_locales()
    forced = g.get("o2o_locale") if g else None
    if forced in supported:
        return forced
    try:
        user_locale = getattr(current_user, "locale", None) if current_user else None
    except Exception:  # no login manager yet (early errors)
        user_locale = None
    if user_locale in supported:
        return user_locale
    if request:
        best = request.accept_languages.best_match(supported + ["zh", "zh_CN", "zh-CN", "zh-Hans"])
        if best and best.replace("-", "_").lower().startswith("zh"):
            return next((s for s in supported if s.startswith("zh")), supported[0])
        if best:
            return best
    from flask import current_app
    return current_app.config.get("DEFAULT_LOCALE", "en")


def request_supported_locales() -> list[str]:
    from flask import current_app
    return list(current_app.config.get("SUPPORTED_LOCALES", ["en"]))


def select_timezone():
    from flask import current_app
    return current_app.config.get("DEFAULT_TIMEZONE", "UTC")


def translation_directories(app) -> list[str]:
    dirs = [str(app.root_path + "/translations")]
    for name in app.extensions["o2o"].enabled:
        folder = app.extensions["o2o"].addon(name).path / "translations"
        if folder.is_dir() and str(folder) not in dirs:
            dirs.append(str(folder))
    return dirs


def init_i18n(app) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(translation_directories(app))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config.get("DEFAULT_LOCALE", "en"))
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config.get("DEFAULT_TIMEZONE", "UTC"))
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.context_processor
    def _formatters():
        return {"format_money": format_money, "format_decimal": format_decimal}


def format_money(amount, currency: str | None = None) -> str:
    """An amount in the company currency, formatted for the current locale."""
    from flask import current_app
    return format_currency(amount, currency or current_app.config.get("CURRENCY", "CNY"))
