"""Sales admin screens: order list with filters, detail with lines, payments, moves and
history, store scoping, actions."""
from __future__ import annotations

import re
from decimal import Decimal

from core.db import db

from addons.sales import services as sales

D = Decimal


def _orders(world):
    pos = sales.create_order(channel="pos", store_id=world.a.id, lines=[{"product_id": world.tea.id, "quantity": D(2)}])
    sales.pay_order(pos.id, [{"method": "card", "amount": D("5.00"), "reference": "SLIP-77"},
                             {"method": "cash", "amount": D("30")}])
    web = sales.create_order(channel="web", store_id=world.b.id, fulfilment="pickup", customer_id=world.customer.id,
                             lines=[{"product_id": world.mug.id, "quantity": D(1)}])
    sales.confirm_order(web.id)
    db.session.flush()
    return pos, web


def test_order_list_across_channels_and_stores_with_filters(world, sales_client):
    pos, web = _orders(world)
    client = sales_client("sales.order.read")
    page = client.get("/admin/sales_order/").get_data(as_text=True)
    assert pos.number in page and web.number in page
    # filters: channel, state, customer (Flask-Admin's flt<n>_<filter index> arguments)
    html = client.get("/admin/sales_order/?search=" + web.number).get_data(as_text=True)
    assert web.number in html and pos.number not in html
    filters = _filter_ids(client)
    html = client.get(f"/admin/sales_order/?flt0_{filters[('Channel', 'equals')]}=web").get_data(as_text=True)
    assert web.number in html and pos.number not in html
    html = client.get(f"/admin/sales_order/?flt0_{filters[('State', 'equals')]}=fulfilled").get_data(as_text=True)
    assert pos.number in html and web.number not in html
    html = client.get(f"/admin/sales_order/?flt0_{filters[('Customer', 'contains')]}=Li").get_data(as_text=True)
    assert web.number in html and pos.number not in html


def _filter_ids(client) -> dict:
    """{(column label, operation): index} from the list page's filter definitions."""
    import json
    html = client.get("/admin/sales_order/").get_data(as_text=True)
    match = re.search(r'id="filter-groups-data"[^>]*>(.*?)</', html, re.S)
    groups = json.loads(match.group(1).replace("&#34;", '"').replace("&quot;", '"'))
    out = {}
    for label, items in groups.items():
        for item in items:
            out[(label, item["operation"])] = item["index"]
    return out


def test_order_detail_shows_lines_payments_moves_and_history(world, sales_client):
    pos, _web = _orders(world)
    client = sales_client("sales.order.read")
    r = client.get(f"/admin/sales_order/details/?id={pos.id}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "[TEA] Green tea" in html and "25.80" in html          # line
    assert "SLIP-77" in html and "Bank card" in html and "9.20" in html  # payments, change 30 - 20.80
    moves = re.search(r'class="table table-sm table-bordered sales-moves">(.*?)</table>', html, re.S).group(1)
    assert "VIRTUAL/CUSTOMER" in moves and "2.000" in moves
    history = re.search(r'sales-history">(.*?)</table>', html, re.S).group(1)
    assert "create" in history and "state: draft →" in history and "→ fulfilled" in history
    assert "paid_at: None →" in history


def test_store_scoped_users_see_only_their_stores(world, sales_client):
    pos, web = _orders(world)
    clerk_b = sales_client("sales.order.read", stores=[world.b])
    html = clerk_b.get("/admin/sales_order/").get_data(as_text=True)
    assert web.number in html and pos.number not in html
    r = clerk_b.get(f"/admin/sales_order/details/?id={pos.id}")
    assert r.status_code == 302 or pos.number not in r.get_data(as_text=True)
    payments = clerk_b.get("/admin/sales_payment/")
    assert payments.status_code == 403  # no sales.payment.read
    finance_b = sales_client("sales.payment.read", stores=[world.b])
    assert "SLIP-77" not in finance_b.get("/admin/sales_payment/").get_data(as_text=True)
    finance_all = sales_client("sales.payment.read")
    assert "SLIP-77" in finance_all.get("/admin/sales_payment/").get_data(as_text=True)


def test_no_permission_no_page(world, sales_client):
    assert sales_client("core.product.read").get("/admin/sales_order/").status_code == 403


def test_confirm_action_needs_its_permission_and_reserves(world, sales_client):
    order = sales.create_order(channel="web", store_id=world.a.id, fulfilment="pickup",
                               lines=[{"product_id": world.tea.id, "quantity": D(3)}])
    db.session.flush()
    reader = sales_client("sales.order.read")
    r = reader.submit("/admin/sales_order/", {"action": "confirm", "rowid": str(order.id)},
                      post_url="/admin/sales_order/action/")
    db.session.refresh(order)
    assert order.state == "draft"
    clerk = sales_client("sales.order.read", "sales.order.confirm")
    r = clerk.submit("/admin/sales_order/", {"action": "confirm", "rowid": str(order.id)},
                     post_url="/admin/sales_order/action/")
    assert r.status_code == 302
    db.session.refresh(order)
    assert order.state == "confirmed"
    assert world.stock(world.tea, world.a) == (D("10"), D("7"))


def test_payment_methods_are_editable_data(world, sales_client):
    client = sales_client("sales.payment_method.read", "sales.payment_method.create")
    r = client.submit("/admin/sales_payment_method/new/", {"code": "alipay", "name": "Alipay", "kind": "wallet",
                                                          "sequence": "35", "active": "y"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert "alipay" in [m.code for m in sales.payment_methods()]
