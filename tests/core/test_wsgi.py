"""Cross-worker effect: two WSGI entries (two "workers") on one database. Enabling or
disabling an addon through one is served by the other on its next request once
ADDONS_CHECK_INTERVAL has passed (0 here), without a restart."""
import pytest
from werkzeug.test import Client

from core.db import db
from core.testing import app_config, csrf_token_from
from core.wsgi import AppHolder


def holder_for(url, interval=0):
    from core.app import create_app
    return AppHolder(lambda: create_app(app_config(url, ADDONS_CHECK_INTERVAL=interval)))


def logged_in(holder, username):
    client = Client(holder)
    page = client.get("/login")
    r = client.post("/login", data={"username": username, "password": "correct horse battery",
                                    "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return client


def addon_view_urls(app, addon_name):
    title = app.extensions["o2o"].addon(addon_name).title
    return [v.url.rstrip("/") + "/" for v in app.extensions["o2o.admin"]._views
            if v.category is not None and str(v.category) == title and getattr(v, "url", None)]


def leaf_addon(app):
    """An enabled, non-essential addon no other enabled addon depends on (with admin views,
    if there is such an addon)."""
    from core.plugins import dependants
    manager = app.extensions["o2o"]
    leaves = [n for n in manager.enabled if not manager.addon(n).essential
              and not dependants(manager.installed, n, manager.enabled)]
    assert leaves, "no addon can be disabled"
    with_views = [n for n in leaves if addon_view_urls(app, n)]
    return (with_views or leaves)[0]


@pytest.fixture
def two_workers(fresh_database):
    from core.testing import make_user
    one, two = holder_for(fresh_database), holder_for(fresh_database)
    app = one.current()
    with app.app_context():
        make_user("root", superuser=True)
        db.session.commit()
    yield one, two
    for holder in (one, two):
        with holder.app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_disable_and_enable_in_one_worker_shows_in_the_other(two_workers):
    one, two = two_workers
    c1, c2 = logged_in(one, "root"), logged_in(two, "root")
    first_app = two.current()
    name = leaf_addon(first_app)
    title = first_app.extensions["o2o"].addon(name).title
    urls = addon_view_urls(first_app, name)
    assert title in c2.get("/admin/").get_data(as_text=True)
    for url in urls:
        assert c2.get(url).status_code == 200, url

    page = c1.get("/admin/addons/").get_data(as_text=True)
    r = c1.post(f"/admin/addons/{name}/disable", data={"csrf_token": csrf_token_from(page)})
    assert r.status_code == 302

    # the other worker: next request, new app without the addon
    html = c2.get("/admin/").get_data(as_text=True)
    assert two.current() is not first_app
    assert name not in two.current().extensions["o2o"].enabled
    assert title not in html
    for url in urls:
        assert c2.get(url).status_code == 404, url
    assert f'data-addon="{name}"' in c2.get("/admin/addons/").get_data(as_text=True)

    page = c2.get("/admin/addons/").get_data(as_text=True)
    assert c2.post(f"/admin/addons/{name}/enable", data={"csrf_token": csrf_token_from(page)}).status_code == 302
    html = c1.get("/admin/").get_data(as_text=True)
    assert name in one.current().extensions["o2o"].enabled and title in html
    for url in urls:
        assert c1.get(url).status_code == 200, url


def test_no_rebuild_without_a_change_or_before_the_interval(fresh_database):
    from core.addons import bump_counter
    holder = holder_for(fresh_database)
    app = holder.current()
    assert holder.current() is app and holder.current() is app  # counter unchanged
    slow = holder_for(fresh_database, interval=3600)
    slow_app = slow.current()
    with app.app_context():
        bump_counter(db.session)
        db.session.commit()
    assert slow.current() is slow_app  # checks at most once per interval
    assert holder.current() is not app
    for h in (holder, slow):
        with h.app.app_context():
            db.session.remove()
            db.engine.dispose()
    with app.app_context():
        db.engine.dispose()
