"""Two languages from the first line: English and Simplified Chinese.

Every user-facing string is marked with ``gettext``/``lazy_gettext`` (``_``/``_l``). Core's
catalogue is ``core/translations``; each addon may ship ``translations/`` beside its code;
all folders are merged into one ``messages`` domain. Flask-Admin's own strings come from
its ``admin`` catalogue (it ships ``zh_Hans_CN``) for the same locale.

The language is the user's choice (``User.locale``), else the browser's best match
(``Accept-Language``), else DEFAULT_LOCALE. A missing compiled catalogue (.mo, built by
``make translations``) is not an error: the strings fall back to English.

Catalogue tooling: ``python -m core.i18n_tools extract|update|check|compile``.
"""
from __future__ import annotations

import flask_babel
from flask import current_app, g, has_request_context, request
from flask_babel import (Babel, format_currency, format_date, format_datetime, format_decimal,  # noqa: F401
                         format_percent, get_locale, ngettext)
from flask_babel.speaklater import LazyString
from flask_login import current_user


def gettext(string, **variables) -> str:
    """flask_babel's ``gettext``, with the context's translations looked up once: a till
    sale translates some thirty labels and messages, and flask_babel finds the locale, the
    domain and the catalogue again on every call (about 35 us each). The catalogue is kept
    where flask_babel's own ``refresh()`` and ``force_locale()`` reset it
    (``g._flask_babel.babel_translations``), so switching the language still works."""
    ctx = g.get("_flask_babel") if g else None
    translations = getattr(ctx, "babel_translations", None) if ctx is not None else None
    if translations is None:
        if not g:  # no app context: flask_babel's null translations
            return flask_babel.gettext(string, **variables)
        translations = flask_babel.get_domain().get_translations()
        g._flask_babel.babel_translations = translations  # get_domain() created the namespace
    text = translations.ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string, **variables) -> LazyString:
    return LazyString(gettext, string, **variables)


_ = gettext
_l = lazy_gettext
_n = ngettext


def translate(text):
    """Translate a msgid known only at run time (a MANIFEST title extracted by
    core.i18n_tools); ``_`` is for literals, so the extractor does not see these calls."""
    return gettext(text) if text else text


def lazy_translate(text):
    return lazy_gettext(text) if text else text


def supported_locales() -> list[str]:
    return list(current_app.config.get("SUPPORTED_LOCALES", ["en"]))


def _match(tag: str | None, supported: list[str]) -> str | None:
    """``zh-CN`` / ``zh_Hans`` / ``zh`` -> ``zh_Hans_CN``; ``en-GB`` -> ``en``."""
    if not tag:
        return None
    tag = tag.replace("-", "_")
    if tag in supported:
        return tag
    lang = tag.split("_")[0].lower()
    if lang == "zh" and any(p in tag for p in ("Hant", "TW", "HK", "MO")):
        lang_matches = [s for s in supported if s.startswith("zh_Hant")]
    else:
        lang_matches = [s for s in supported if s.split("_")[0].lower() == lang and "Hant" not in s]
    return lang_matches[0] if lang_matches else None


def select_locale() -> str:
    supported = supported_locales()
    forced = g.get("o2o_locale") if g else None
    if forced in supported:
        return forced
    try:
        user_locale = getattr(current_user, "locale", None) if current_user else None
    except Exception:  # no login manager yet (early errors)
        user_locale = None
    chosen = _match(user_locale, supported)
    if chosen:
        return chosen
    if has_request_context():
        for tag, _quality in request.accept_languages:  # already sorted by quality
            chosen = _match(tag, supported)
            if chosen:
                return chosen
    return current_app.config.get("DEFAULT_LOCALE", "en")


def select_timezone():
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
        return {"format_money": format_money, "format_decimal": format_decimal,
                "format_quantity": format_quantity, "format_date": format_date,
                "format_datetime": format_datetime, "format_timestamp": format_timestamp,
                "get_locale": get_locale}


def format_money(amount, currency: str | None = None) -> str:
    """An amount in the company currency, formatted for the current locale."""
    if amount is None:
        return ""
    return format_currency(amount, currency or current_app.config.get("CURRENCY", "CNY"))


def format_timestamp(ts, store=None) -> str:
    """A timestamp as screens show it: local time in the store's timezone (``store``: a Store
    or its id; the company's when None), to the minute, no microseconds."""
    from core.timeutil import format_local
    return format_local(ts, store)


def format_quantity(quantity) -> str:
    """A quantity with up to three decimals, grouped for the current locale."""
    if quantity is None:
        return ""
    return format_decimal(quantity, format="#,##0.###")
