"""Admin screens (store-scoped), the valuation PDF and the JSON API, through real HTTP."""
import io
from decimal import Decimal

import sqlalchemy as sa
from pypdf import PdfReader

from core.db import db


def D(x):
    return Decimal(str(x))


def stock(wh):
    s = wh.s
    s.receive(wh.tea.id, wh.loc_a.id, D(10), D("2.5"), source="PO-A")
    s.receive(wh.cola.id, wh.loc_b.id, D(4), D(1), source="PO-B")
    db.session.commit()


def test_on_hand_and_moves_are_scoped_to_the_clerks_store(wh, client_as):
    stock(wh)
    clerk = client_as("warehouse.quant.read", "warehouse.move.read", stores=[wh.store_a])
    html = clerk.get("/admin/warehouse_quant/").get_data(as_text=True)
    assert "Green tea" in html and "Cola" not in html
    html = clerk.get("/admin/warehouse_move/").get_data(as_text=True)
    assert "PO-A" in html and "PO-B" not in html
    boss = client_as("warehouse.quant.read", "warehouse.move.read")
    html = boss.get("/admin/warehouse_quant/").get_data(as_text=True)
    assert "Green tea" in html and "Cola" in html
    # filters: by document
    html = boss.get("/admin/warehouse_move/?search=PO-B").get_data(as_text=True)
    assert "PO-B" in html and "PO-A" not in html
    # no permission, no page
    assert client_as("warehouse.count.read").get("/admin/warehouse_move/").status_code == 403


def test_transfer_ship_and_receive_with_differences_in_the_admin(wh, client_as):
    stock(wh)
    tr = wh.s.transfer(wh.wh_a.id, wh.wh_b.id, [{"product_id": wh.tea.id, "quantity": D(6)}])
    db.session.commit()
    clerk = client_as("warehouse.transfer.read", "warehouse.transfer.ship", "warehouse.transfer.receive")
    page = clerk.get("/admin/warehouse_transfer/")
    assert tr.number in page.get_data(as_text=True)
    r = clerk.submit("/admin/warehouse_transfer/", {"action": "ship", "rowid": str(tr.id)},
                     post_url="/admin/warehouse_transfer/action/")
    assert r.status_code == 302
    db.session.refresh(tr)
    assert tr.state == "shipped"
    # shipping twice is refused with a message, nothing changes
    r = clerk.submit("/admin/warehouse_transfer/", {"action": "ship", "rowid": str(tr.id)},
                     post_url="/admin/warehouse_transfer/action/", follow_redirects=True)
    assert "cannot be shipped again" in r.get_data(as_text=True)
    line = tr.lines[0]
    r = clerk.submit(f"/admin/warehouse_transfer/receive/{tr.id}",
                     {f"received_{line.id}": "4", f"damaged_{line.id}": "1"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    db.session.refresh(tr)
    db.session.refresh(line)
    assert tr.state == "received" and line.difference == D(1)
    assert wh.s.on_hand(wh.tea.id, wh.wh_b.id) == D(4)


def test_count_sheet_csv_and_validate_twice_in_the_admin(wh, client_as):
    stock(wh)
    wh.tea.barcode = "4006381333931"
    count = wh.s.create_count(wh.wh_a.id)
    wh.s.start_count(count.id)
    db.session.commit()
    clerk = client_as("warehouse.count.read", "warehouse.count.edit", "warehouse.count.import",
                      "warehouse.count.validate", stores=[wh.store_a])
    page = clerk.get(f"/admin/warehouse_count/sheet/{count.id}")
    assert page.status_code == 200 and "Green tea" in page.get_data(as_text=True)
    r = clerk.submit(f"/admin/warehouse_count/sheet/{count.id}",
                     {"csv": (io.BytesIO(b"barcode,counted\n4006381333931,7\n"), "scan.csv")},
                     content_type="multipart/form-data")
    assert r.status_code == 302
    db.session.expire_all()
    assert count.lines[0].counted == D(7)
    for _ in range(2):
        r = clerk.submit("/admin/warehouse_count/", {"action": "validate", "rowid": str(count.id)},
                         post_url="/admin/warehouse_count/action/", follow_redirects=True)
    assert "already been validated" in r.get_data(as_text=True)
    db.session.expire_all()
    assert count.state == "validated" and count.difference_value == D("-7.50")
    assert wh.s.on_hand(wh.tea.id, wh.wh_a.id) == D(7)
    # a clerk of another store does not see the sheet
    other = client_as("warehouse.count.read", stores=[wh.store_b])
    assert count.number not in other.get("/admin/warehouse_count/").get_data(as_text=True)


def test_valuation_screen_and_pdf(wh, client_as):
    stock(wh)
    boss = client_as("warehouse.valuation.read")
    html = boss.get("/admin/warehouse_valuation/").get_data(as_text=True)
    assert "WHT-A" in html and "29.00" in html  # 25.00 + 4.00
    pdf = boss.get("/admin/warehouse_valuation/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Stock valuation" in text and "25.00" in text and "4.00" in text and "29.00" in text
    clerk = client_as("warehouse.valuation.read", stores=[wh.store_b])
    html = clerk.get("/admin/warehouse_valuation/").get_data(as_text=True)
    assert "WHT-A" not in html and "4.00" in html


def test_api_availability_by_id_and_barcode(wh, api_client):
    stock(wh)
    wh.tea.barcode = "4006381333931"
    db.session.commit()
    api = api_client("warehouse.availability.read")
    r = api.get(f"/api/v1/stock/availability/{wh.tea.id}")
    assert r.status_code == 200
    body = r.get_json()
    stores = {s["store_code"]: s for s in body["stores"]}
    assert stores["WHT-A"]["available"] == "10.000" and stores["WHT-B"]["available"] == "0.000"
    assert body["total_available"] == "10.000"
    r = api.get("/api/v1/stock/availability/barcode/4006381333931")
    assert r.status_code == 200 and r.get_json()["product_id"] == wh.tea.id
    r = api.get("/api/v1/stock/availability/barcode/0000000000000")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert api_client().get(f"/api/v1/stock/availability/{wh.tea.id}").status_code == 403


def test_api_transfer_and_count(wh, api_client):
    stock(wh)
    api = api_client("warehouse.*")
    r = api.post("/api/v1/stock/transfers", json={"from_warehouse_id": wh.wh_a.id, "to_warehouse_id": wh.wh_b.id,
                                                  "lines": [{"product_id": wh.tea.id, "quantity": "0"}]})
    assert r.status_code == 422 and "Green tea" in r.get_json()["detail"]
    r = api.post("/api/v1/stock/transfers", json={"from_warehouse_id": wh.wh_a.id, "to_warehouse_id": wh.wh_b.id,
                                                  "lines": [{"product_id": wh.tea.id, "quantity": "5"}]})
    assert r.status_code == 201
    tid = r.get_json()["id"]
    assert api.post(f"/api/v1/stock/transfers/{tid}/ship").get_json()["state"] == "shipped"
    r = api.post(f"/api/v1/stock/transfers/{tid}/ship")
    assert r.status_code == 409 and "cannot be shipped again" in r.get_json()["detail"]
    r = api.post(f"/api/v1/stock/transfers/{tid}/receive", json={"lines": [{"product_id": wh.tea.id,
                                                                            "received": "3"}]})
    assert r.status_code == 200 and r.get_json()["lines"][0]["difference"] == "2.000"
    # count B: 3 tea expected, 2 found
    r = api.post("/api/v1/stock/counts", json={"warehouse_id": wh.wh_b.id})
    cid = r.get_json()["id"]
    r = api.post(f"/api/v1/stock/counts/{cid}/start")
    assert {(line["product_id"], line["expected"]) for line in r.get_json()["lines"]} == \
        {(wh.tea.id, "3.000"), (wh.cola.id, "4.000")}
    r = api.put(f"/api/v1/stock/counts/{cid}/lines", json={"lines": [{"product_id": wh.tea.id, "counted": "2"}]})
    assert r.status_code == 200
    r = api.post(f"/api/v1/stock/counts/{cid}/validate")
    assert r.status_code == 200 and r.get_json()["difference_value"] == "-2.50"
    r = api.post(f"/api/v1/stock/counts/{cid}/validate")
    assert r.status_code == 409
    assert wh.s.on_hand(wh.tea.id, wh.wh_b.id) == D(2)
    assert wh.s.verify() == []


def test_api_reservations_and_scoping(wh, api_client):
    stock(wh)
    api = api_client("warehouse.stock.issue", stores=[wh.store_a])
    r = api.post("/api/v1/stock/reservations", json={"product_id": wh.tea.id, "store_id": wh.store_a.id,
                                                     "quantity": "11", "source": "CART9"})
    assert r.status_code == 409 and "Green tea" in r.get_json()["detail"]
    r = api.post("/api/v1/stock/reservations", json={"product_id": wh.tea.id, "store_id": wh.store_a.id,
                                                     "quantity": "4", "source": "CART9", "expires_in_minutes": 30})
    assert r.status_code == 201 and r.get_json()["expires_at"]
    assert wh.s.available(wh.tea.id, wh.wh_a.id) == D(6)
    assert api.delete(f"/api/v1/stock/reservations/{r.get_json()['id']}").get_json()["state"] == "released"
    r = api.post("/api/v1/stock/reservations", json={"product_id": wh.cola.id, "store_id": wh.store_b.id,
                                                     "quantity": "1", "source": "CART9"})
    assert r.status_code == 403


def _two_days(wh):
    """10 tea into A at 2.50 on 1 March (local), 4 of them sold on 2 March."""
    import datetime as dt
    from core import timeutil
    with timeutil.freeze(timeutil.local(2026, 3, 1, 23, 30)):
        wh.s.receive(wh.tea.id, wh.loc_a.id, D(10), D("2.50"), source="PO-AS-OF")
    with timeutil.freeze(timeutil.local(2026, 3, 2, 0, 30)):
        wh.s.issue(wh.tea.id, wh.loc_a.id, D(4), source="SALE-AS-OF")
    db.session.commit()
    return dt.date(2026, 3, 1), dt.date(2026, 3, 2)


def test_valuation_as_of_a_date_in_the_api_admin_pdf_and_cli(wh, api_client, client_as, app):
    first, second = _two_days(wh)
    api = api_client("warehouse.valuation.read")
    r = api.get(f"/api/v1/stock/valuation?as_of={first.isoformat()}")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["as_of"] == "2026-03-01" and body["total_value"] == "25.00" and body["total_quantity"] == "10.000"
    now = api.get("/api/v1/stock/valuation").get_json()
    assert now["as_of"] is None and now["total_value"] == "15.00"
    assert api.get(f"/api/v1/stock/valuation?as_of={second.isoformat()}").get_json()["total_value"] == "15.00"
    assert api.get("/api/v1/stock/valuation?as_of=2026-02-28").get_json()["rows"] == []
    bad = api.get("/api/v1/stock/valuation?as_of=yesterday")
    assert 400 <= bad.status_code < 500 and bad.mimetype == "application/problem+json"
    assert api.get("/api/v1/stock/valuation?warehouse_id=999999").status_code == 404
    # a clerk of store B sees only B's warehouse
    clerk = api_client("warehouse.valuation.read", stores=[wh.store_b])
    assert clerk.get("/api/v1/stock/valuation").get_json()["rows"] == []
    assert api_client().get("/api/v1/stock/valuation").status_code == 403
    # average cost per product and warehouse
    costs = api.get(f"/api/v1/stock/average-costs?product_id={wh.tea.id}").get_json()["items"]
    assert [(c["warehouse_id"], c["average_cost"], c["on_hand"]) for c in costs] == [(wh.wh_a.id, "2.5000", "6.000")]
    assert api.get("/api/v1/stock/average-costs?product_id=999999").status_code == 404
    # documented in OpenAPI with the date parameter
    spec = api.get("/api/v1/openapi.json").get_json()
    params = {p["name"] for p in spec["paths"]["/api/v1/stock/valuation"]["get"].get("parameters", [])}
    assert "as_of" in params and "/api/v1/stock/average-costs" in spec["paths"]
    # the admin screen: a date field, the figures of that day, the PDF of that day
    boss = client_as("warehouse.valuation.read")
    html = boss.get("/admin/warehouse_valuation/?as_of=2026-03-01").get_data(as_text=True)
    assert 'name="as_of"' in html and "25.00" in html and "2026-03-01" in html
    assert "15.00" in boss.get("/admin/warehouse_valuation/").get_data(as_text=True)
    html = boss.get("/admin/warehouse_valuation/?as_of=not-a-date").get_data(as_text=True)
    assert "15.00" in html  # said, and the stock now shown
    pdf = boss.get("/admin/warehouse_valuation/pdf?as_of=2026-03-01")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "2026-03-01" in text and "25.00" in text
    # the average cost screen
    html = boss.get("/admin/warehouse_average_cost/").get_data(as_text=True)
    assert "2.50" in html and "WHT-A" in html
    # the CLI
    result = app.test_cli_runner().invoke(args=["stock", "valuation", "--as-of", "2026-03-01"])
    assert result.exit_code == 0 and "25.00" in result.output and "2026-03-01" in result.output, result.output
    result = app.test_cli_runner().invoke(args=["stock", "valuation", "--as-of", "tomorrow"])
    assert result.exit_code != 0
