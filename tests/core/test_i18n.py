"""Two languages: complete Chinese catalogues (checked from the .po sources, no compiled
files needed), language per user or browser, English fallback without compiled catalogues,
Flask-Admin's own catalogue, locale formatting, and the catalogue tooling."""
from decimal import Decimal

import pytest

from core import i18n_tools
from core.db import db
from core.testing import FormClient, make_user

REFRESH = ".venv/bin/python -m core.i18n_tools refresh   # then translate what it lists in the .po files"


@pytest.mark.parametrize("package", sorted(i18n_tools.packages()))
def test_every_marked_string_has_a_chinese_translation(package):
    folder = i18n_tools.packages()[package]
    found = i18n_tools.problems(package, folder)
    assert not found, ("strings without a Chinese translation (run: " + REFRESH + "):\n  "
                       + "\n  ".join(found[:40]) + (f"\n  ... and {len(found) - 40} more" if len(found) > 40 else ""))


def test_core_catalogue_is_not_trivially_empty():
    template = i18n_tools.extract("core", i18n_tools.packages()["core"])
    assert len(template) > 100
    assert "Log in" in template and "Master data" in template  # templates and MANIFEST title too


@pytest.fixture(scope="module")
def compiled():
    """Compiled catalogues are build output (`make translations`); build any that are stale."""
    i18n_tools.compile_all()


def login_page(app, **headers):
    return app.test_client().get("/login", headers=headers).get_data(as_text=True)


def test_browser_language_picks_chinese_or_english(app, compiled):
    assert "登录" in login_page(app, **{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert "登录" in login_page(app, **{"Accept-Language": "zh"})
    assert "用户名" in login_page(app, **{"Accept-Language": "zh-Hans"})
    html = login_page(app, **{"Accept-Language": "en-US,en;q=0.9"})
    assert "Log in" in html and "登录" not in html
    assert "Log in" in login_page(app, **{"Accept-Language": "fr-FR"})  # unsupported: default English
    assert "Log in" in login_page(app)


def test_user_choice_beats_the_browser(client_as, compiled):
    client = client_as("core.unit.read")
    zh = {"Accept-Language": "zh-CN"}
    assert "基础资料" in client.get("/admin/", headers=zh).get_data(as_text=True)
    client.user.locale = "en"
    db.session.flush()
    html = client.get("/admin/", headers=zh).get_data(as_text=True)
    assert "Master data" in html and "基础资料" not in html
    client.user.locale = "zh_Hans_CN"
    db.session.flush()
    html = client.get("/admin/unit/").get_data(as_text=True)
    assert "计量单位" in html  # core's catalogue
    assert "列表" in html      # Flask-Admin's own catalogue ("List")
    assert "退出登录" in html


def test_login_errors_in_chinese(app, compiled):
    make_user("li", [])
    client = FormClient(app.test_client())
    r = client.submit("/login", {"username": "li", "password": "wrong"}, headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)


def test_missing_compiled_catalogue_falls_back_to_english(make_app, monkeypatch, tmp_path):
    import core.i18n
    monkeypatch.setattr(core.i18n, "translation_directories", lambda app: [str(tmp_path)])
    app = make_app()
    page = app.test_client().get("/login", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "Log in" in page.get_data(as_text=True)


def test_numbers_money_and_dates_follow_the_locale(app):
    import datetime as dt
    from flask import g
    from flask_babel import refresh
    from core.i18n import format_datetime, format_money, format_quantity
    moment = dt.datetime(2026, 3, 5, 6, 7, tzinfo=dt.timezone.utc)
    with app.test_request_context("/"):
        g.o2o_locale = "en"
        refresh()
        assert format_money(Decimal("1234.5")) == "CN¥1,234.50"
        assert format_quantity(Decimal("1.250")) == "1.25"
        english = format_datetime(moment, "medium")
        assert "Mar" in english and "2:07" in english  # Asia/Shanghai, UTC+8
        g.o2o_locale = "zh_Hans_CN"
        refresh()
        assert format_money(Decimal("1234.5")) == "¥1,234.50"
        assert format_datetime(moment, "medium") == "2026年3月5日 14:07:00"
        g.pop("o2o_locale")
        refresh()


# --- tooling -----------------------------------------------------------------------------------

def test_tooling_finds_new_strings_updates_checks_and_compiles(tmp_path):
    folder = tmp_path / "shelfie"
    (folder / "templates").mkdir(parents=True)
    (folder / "__init__.py").write_text(
        'from core.i18n import _, _l\n'
        'MANIFEST = {"name": "shelfie", "title": "Shelf labels", "summary": "Prints shelf labels."}\n'
        'LABEL = _l("Shelf label")\n'
        'def f(n):\n    return _("%(n)s labels printed", n=n)\n', encoding="utf-8")
    (folder / "templates" / "page.html").write_text("<h1>{{ _('Print labels') }}</h1>", encoding="utf-8")
    found = i18n_tools.problems("shelfie", folder)
    assert len(found) == 1 and "missing" in found[0]
    i18n_tools.update("shelfie", folder)
    found = i18n_tools.problems("shelfie", folder)
    assert len(found) == 5, found
    assert any("'Print labels'" in f for f in found) and any("'Shelf labels'" in f for f in found)
    path = i18n_tools.po_path(folder, "zh_Hans_CN")
    catalog = i18n_tools.read_catalog(path, "zh_Hans_CN")
    zh = {"Shelf labels": "货架标签", "Prints shelf labels.": "打印货架标签。", "Shelf label": "货架标签",
          "%(n)s labels printed": "已打印 %(n)s 张标签", "Print labels": "打印标签"}
    for message in catalog:
        if message.id:
            message.string = zh[message.id]
    catalog.get("%(n)s labels printed").string = "已打印 %(m)s 张标签"  # a broken placeholder is a problem too
    i18n_tools.write_catalog(catalog, path)
    found = i18n_tools.problems("shelfie", folder)
    assert len(found) == 1 and "labels printed" in found[0]
    catalog = i18n_tools.read_catalog(path, "zh_Hans_CN")
    catalog.get("%(n)s labels printed").string = "已打印 %(n)s 张标签"
    i18n_tools.write_catalog(catalog, path)
    assert i18n_tools.problems("shelfie", folder) == []
    # a string that is no longer used leaves the catalogue on the next update
    (folder / "templates" / "page.html").write_text("<h1>{{ _('Print') }}</h1>", encoding="utf-8")
    i18n_tools.update("shelfie", folder)
    catalog = i18n_tools.read_catalog(path, "zh_Hans_CN")
    assert catalog.get("Print labels") is None and catalog.get("Shelf label").string == "货架标签"
    assert i18n_tools.problems("shelfie", folder) == ["shelfie: untranslated: 'Print' (shelfie/templates/page.html:1)"]
    written = i18n_tools.compile_package(folder)
    assert {p.name for p in written} == {"messages.mo"} and len(written) == 2
    from babel.support import Translations
    translations = Translations.load(str(folder / "translations"), ["zh_Hans_CN"])
    assert translations.gettext("Shelf label") == "货架标签"


def test_unlabelled_columns_are_translated_when_a_catalogue_knows_them(app, compiled):
    from flask import g
    from flask_babel import refresh
    view = next(v for v in app.extensions["o2o.admin"]._views if getattr(v, "endpoint", None) == "user")
    with app.test_request_context("/"):
        g.o2o_locale = "zh_Hans_CN"
        refresh()
        assert str(view._prettify_name("list_price")) == "标价"
        assert str(view._prettify_name("no_such_words_here")) == "No such words here"
        g.o2o_locale = "en"
        refresh()
        assert str(view._prettify_name("list_price")) == "List price"
        g.pop("o2o_locale")
        refresh()
