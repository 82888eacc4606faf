"""The web till in a real browser: Playwright driving Debian's Chromium (never a download).

Scans, pays, goes offline, keeps selling, comes back: the offline sale is recorded exactly
once, even when the till sends it again. A screenshot is kept in test-artifacts/pos-till.png.
All of it under the app's Content-Security-Policy, with no violation reported (the login page,
the till, the receipt popup).
"""
from __future__ import annotations

import json
import os
import threading
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.cspcheck import CspWatch

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (make browser-deps)"),
]


def _seed(app):
    from core.barcodes import make_ean13
    from core.db import db
    from core.models import Product, Store, Tax, Unit
    from core.testing import make_user
    from addons.pos import services as pos
    from addons.warehouse import services as wh
    with app.app_context():
        store = Store(code="BR", name="Browser shop")
        db.session.add(store)
        db.session.flush()
        wh.ensure_store_warehouses()
        unit = db.session.scalar(sa.select(Unit).where(Unit.code == "pcs")) or db.session.scalar(sa.select(Unit))
        tax = Tax(code="BR10", name="VAT 10%", rate=Decimal("10"))
        tea = Product(sku="BR-TEA", barcode=make_ean13("400638133393"), name="Green tea", unit=unit, tax=tax,
                      list_price=Decimal("11.00"))
        cup = Product(sku="BR-CUP", barcode=make_ean13("590123412345"), name="Cup", unit=unit, tax=tax,
                      list_price=Decimal("5.50"))
        db.session.add_all([tax, tea, cup])
        db.session.flush()
        loc = wh.stock_location(wh.warehouse_for_store(store.id).id)
        for p in (tea, cup):
            wh.receive(p.id, loc.id, Decimal("50"), Decimal("1"), source="seed")
        register = pos.create_register(store.id, "R1", "Browser till")
        make_user("cashier", ["pos.sell", "pos.session"], stores=[store])
        db.session.commit()
        ids = {"register": register.id, "tea": tea.barcode, "cup": cup.barcode, "tea_id": tea.id,
               "cup_id": cup.id, "warehouse": wh.warehouse_for_store(store.id).id}
        db.session.remove()
    return ids


def _count_sales(app):
    from core.db import db
    from addons.pos.models import PosSale
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(PosSale))
        db.session.remove()
    return n


@pytest.fixture
def live_server(fresh_database):
    from werkzeug.serving import make_server
    from core.app import create_app
    from core.testing import app_config
    app = create_app(app_config(fresh_database, TESTING=False))
    ids = _seed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}", ids
    finally:
        server.shutdown()
        thread.join(5)
        with app.app_context():
            from core.db import db
            db.engine.dispose()


def test_till_scans_pays_and_sells_offline_exactly_once(live_server):
    from playwright.sync_api import expect, sync_playwright
    app, base, ids = live_server
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        csp = CspWatch(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{base}/login?next=/pos/till/{ids['register']}")
        page.fill("input[name=username]", "cashier")
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url(f"**/pos/till/{ids['register']}")

        # open the session with the counted float
        page.fill("#float", "100.00")
        page.click("#open-btn")
        expect(page.locator("#sell-panel")).to_be_visible()
        scan = page.locator("#scan")
        expect(scan).to_be_focused()

        # scan twice the tea (Enter adds), 2*cup, remove the cup line, pay cash with change
        scan.type(ids["tea"]); scan.press("Enter")
        expect(page.locator("#lines tbody tr")).to_have_count(1)
        scan.type(ids["tea"]); scan.press("Enter")
        scan.type("2*" + ids["cup"]); scan.press("Enter")
        expect(page.locator("#lines tbody tr")).to_have_count(2)
        expect(page.locator("#total")).to_have_text("33.00")
        page.keyboard.press("Delete")  # the selected (last) line
        expect(page.locator("#lines tbody tr")).to_have_count(1)
        expect(page.locator("#total")).to_have_text("22.00")
        scan.type("50"); page.keyboard.press("F8")   # the customer hands over 50 in cash
        expect(page.locator("#change")).to_have_text("28.00")
        page.keyboard.press("F12")
        expect(page.locator("#last-sale")).to_contain_text("Receipt BR-R1-000001")
        expect(page.locator("#last-sale")).to_contain_text("change 28.00")
        expect(scan).to_be_focused()
        assert _count_sales(app) == 1
        with page.expect_popup() as popup:
            page.click("#print-btn")
        expect(popup.value.locator(".receipt-no")).to_have_text("BR-R1-000001")
        popup.value.close()

        # the connection drops: the till keeps selling from its catalogue
        context.set_offline(True)
        scan.type(ids["cup"]); scan.press("Enter")
        expect(page.locator("#lines tbody tr")).to_have_count(1)
        page.keyboard.press("F9")  # card, exact amount
        page.keyboard.press("F12")
        expect(page.locator("#net")).to_have_text("offline")
        expect(page.locator("#queue")).to_contain_text("1 sale(s) waiting")
        queued = page.evaluate(f"localStorage.getItem('o2o.pos.queue.{ids['register']}')")
        assert len(json.loads(queued)) == 1
        page.screenshot(path=str(ARTIFACTS / "pos-till-offline.png"))
        assert _count_sales(app) == 1

        # back online: the queued sale goes out once
        context.set_offline(False)
        expect(page.locator("#last-sale")).to_contain_text("Receipt BR-R1-000002", timeout=20000)
        expect(page.locator("#queue")).to_have_text("")
        assert _count_sales(app) == 2
        # the till sends the same sale again (say the answer had been lost): still one
        page.evaluate(f"localStorage.setItem('o2o.pos.queue.{ids['register']}', {json.dumps(queued)})")
        page.evaluate("window.o2oTill.flush()")
        expect(page.locator("#queue")).to_have_text("")
        expect(page.locator("#last-sale")).to_contain_text("Receipt BR-R1-000002")
        assert _count_sales(app) == 2
        scan.type(ids["tea"]); scan.press("Enter")   # the next customer, for the picture
        expect(page.locator("#total")).to_have_text("11.00")
        page.screenshot(path=str(ARTIFACTS / "pos-till.png"), full_page=True)
        assert "script-src" in (page.evaluate("fetch(location.href).then(r => r.headers.get("
                                              "'content-security-policy'))") or "")
        browser.close()
    assert csp.violations == []

    from core.db import db
    from addons.warehouse import services as wh
    with app.app_context():
        assert wh.on_hand(ids["tea_id"], ids["warehouse"]) == Decimal("48")
        assert wh.on_hand(ids["cup_id"], ids["warehouse"]) == Decimal("49")
        db.session.remove()


def _add_unstocked(app, barcode="4012345000016"):
    from core.db import db
    from core.models import Product
    with app.app_context():
        cup = db.session.scalar(sa.select(Product).where(Product.sku == "BR-CUP"))
        scarf = Product(sku="BR-SCARF", barcode=barcode, name="Scarf", unit=cup.unit, tax=cup.tax,
                        list_price=Decimal("9.00"))
        db.session.add(scarf)
        db.session.commit()
        out = {"id": scarf.id, "barcode": scarf.barcode}
        db.session.remove()
    return out


def _stock_facts(app, ids, product_id):
    from core.db import db
    from addons.pos.models import PosAttention
    from addons.warehouse import services as wh
    from addons.warehouse.models import NegativeStock
    with app.app_context():
        facts = {"on_hand": wh.on_hand(product_id, ids["warehouse"]),
                 "negative": db.session.scalar(sa.select(sa.func.count()).select_from(NegativeStock)
                                               .where(NegativeStock.product_id == product_id)),
                 "attention": [(a.state, a.idempotency_key, a.error_status)
                               for a in db.session.scalars(sa.select(PosAttention).order_by(PosAttention.id))]}
        db.session.remove()
    return facts


def _set_refuse(app, ids):
    from core.db import db
    from addons.warehouse import services as wh
    with app.app_context():
        wh.set_till_short_stock(ids["warehouse"], "refuse")
        db.session.commit()
        db.session.remove()


def test_unstocked_sale_offline_is_never_lost(live_server):
    """Sold offline with no book stock: recorded once when back (stock negative, an
    exception). Where the store refuses: refused online before payment, naming the line;
    a sale queued offline and refused later is in the till's needs-attention list and on
    the server."""
    from playwright.sync_api import expect, sync_playwright
    app, base, ids = live_server
    scarf = _add_unstocked(app)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        csp = CspWatch(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{base}/login?next=/pos/till/{ids['register']}")
        page.fill("input[name=username]", "cashier")
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url(f"**/pos/till/{ids['register']}")
        page.fill("#float", "100.00")
        page.click("#open-btn")
        expect(page.locator("#sell-panel")).to_be_visible()
        scan = page.locator("#scan")

        # offline, the scarf the books have never seen: sold from the till's catalogue
        context.set_offline(True)
        scan.type(scarf["barcode"]); scan.press("Enter")
        expect(page.locator("#lines tbody tr")).to_have_count(1)
        page.keyboard.press("F9")
        page.keyboard.press("F12")
        expect(page.locator("#queue")).to_contain_text("1")
        assert _count_sales(app) == 0
        # back online: recorded once, the shop's stock negative, an exception for the manager
        context.set_offline(False)
        expect(page.locator("#last-sale")).to_contain_text("BR-R1-000001", timeout=20000)
        expect(page.locator("#queue")).to_have_text("")
        page.evaluate("window.o2oTill.flush()")
        assert _count_sales(app) == 1
        facts = _stock_facts(app, ids, scarf["id"])
        assert facts["on_hand"] == Decimal("-1") and facts["negative"] == 1 and facts["attention"] == []
        expect(page.locator("#attention")).to_be_hidden()

        # the store now refuses short sales: online, the till refuses before taking the money
        _set_refuse(app, ids)
        scan.type(scarf["barcode"]); scan.press("Enter")
        page.keyboard.press("F9")
        page.keyboard.press("F12")
        expect(page.locator("#message")).to_contain_text("Line 1 (Scarf)")
        expect(page.locator("#lines tbody tr")).to_have_count(1)  # the cart is kept, nothing was taken
        assert page.evaluate(f"localStorage.getItem('o2o.pos.queue.{ids['register']}')") == "[]"
        assert _count_sales(app) == 1

        # offline the till cannot ask: it takes the money, the server refuses the queued sale
        context.set_offline(True)
        page.keyboard.press("F12")
        expect(page.locator("#queue")).to_contain_text("1")
        context.set_offline(False)
        expect(page.locator("#attention")).to_be_visible(timeout=20000)
        expect(page.locator("#attention-list li")).to_have_count(1)
        expect(page.locator("#attention-list li")).to_contain_text("Line 1 (Scarf)")
        expect(page.locator("#attention-list li")).to_contain_text("#")  # kept on the server
        expect(page.locator("#queue")).to_have_text("")
        kept = json.loads(page.evaluate(f"localStorage.getItem('o2o.pos.attention.{ids['register']}')"))
        assert len(kept) == 1 and kept[0]["attention_id"] and kept[0]["request"]["lines"][0]["code"] == scarf["barcode"]
        facts = _stock_facts(app, ids, scarf["id"])
        assert facts["attention"] == [("open", kept[0]["idempotency_key"], 409)]
        assert facts["on_hand"] == Decimal("-1") and _count_sales(app) == 1
        # a reload keeps the list (it lives in the browser too), and the session cannot close
        page.reload()
        expect(page.locator("#attention-list li")).to_have_count(1)
        page.click("#close-panel summary")
        page.click("#close-btn")
        expect(page.locator("#message")).to_contain_text("attention")
        page.screenshot(path=str(ARTIFACTS / "pos-till-attention.png"), full_page=True)
        browser.close()
    assert csp.violations == []
