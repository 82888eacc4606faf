"""The back office in a real browser under its Content-Security-Policy (core.http_security):
Flask-Admin's delete button, "With selected" actions, filters and inline "Add" work, and Chromium reports no CSP violation anywhere."""
from __future__ import annotations

import os
import threading

import pytest
import sqlalchemy as sa

from tests.cspcheck import CspWatch

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (make browser-deps)"),
]


@pytest.fixture
def live_admin(fresh_database):
    from werkzeug.serving import make_server
    from core.app import create_app
    from core.db import db
    from core.models import Partner
    from core.testing import app_config, make_user
    app = create_app(app_config(fresh_database, TESTING=False))
    with app.app_context():
        make_user("boss", superuser=True)
        db.session.add_all([Partner(ref=f"CSP{i}", name=f"Partner {i}", is_customer=True) for i in (1, 2, 3)])
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        with app.app_context():
            db.engine.dispose()


def partner_refs(app) -> set[str]:
    from core.db import db
    from core.models import Partner
    with app.app_context():
        refs = set(db.session.scalars(sa.select(Partner.ref).where(Partner.ref.like("CSP%"))))
        db.session.remove()
    return refs


def test_the_admin_works_under_its_csp_without_violations(live_admin):
    from playwright.sync_api import expect, sync_playwright
    app, base = live_admin
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        csp = CspWatch(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))

        page.goto(f"{base}/login?next=/admin/partner/")
        page.fill("input[name=username]", "boss")
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url("**/admin/partner/")

        # the row's delete button asks first (Flask-Admin's inline confirm, rebound)
        row = page.locator("tr", has_text="CSP1")
        row.locator("form.icon button").click()
        page.wait_for_url("**/admin/partner/**")
        expect(page.locator("tr", has_text="CSP1")).to_have_count(0)
        assert dialogs and "delete" in dialogs[-1].lower()
        assert partner_refs(app) == {"CSP2", "CSP3"}

        # "With selected" -> Delete, on a ticked row
        page.locator("tr", has_text="CSP2").locator("input.action-checkbox").check()
        page.click("text=With selected")
        page.locator(".dropdown-menu a.dropdown-item", has_text="Delete").click()
        page.wait_for_load_state("load")
        expect(page.locator("tr", has_text="CSP2")).to_have_count(0)
        assert partner_refs(app) == {"CSP3"}

        # a filter from the "Add Filter" menu adds its row and does not navigate away
        page.click("text=Add Filter")
        page.locator("a.filter").first.click()
        expect(page.locator(".filter-op").first).to_be_visible()
        assert "/admin/partner/" in page.url and "flt" not in page.url and "javascript" not in page.url

        # an inline form's "Add" (suppliers' price breaks) adds a row
        page.goto(f"{base}/admin/purchasing_terms/new/")
        before = page.locator(".inline-field").count()
        page.locator("a[id$='-button']").first.click()
        expect(page.locator(".inline-field")).to_have_count(before + 1)

        # every screen of the menu, and the account page, open without a violation
        page.goto(f"{base}/admin/")
        links = sorted(set(page.eval_on_selector_all(
            "nav a[href^='/admin/']", "els => els.map(e => e.getAttribute('href'))")))
        assert len(links) > 20
        for link in links + ["/admin/account/"]:
            response = page.goto(f"{base}{link}")
            assert response.status < 500, link
        browser.close()
    assert csp.violations == []
