"""Issue 10, "How it will be checked": a chain's first day from an EMPTY database, through the
API and the `o2o` command only (no admin, no Python service changing data; services are used
only to read, for the independent checks), committed for real, on SQLite and PostgreSQL.

The day, in Asia/Shanghai (the store's clock):
- 2026-12-31: master data (two shops 静安店 and 徐汇店, VAT 13%, products by the API and a
  product CSV by `o2o products import`, the supplier 上海鲜果有限公司, a register, roles by the
  API, users and tokens by `o2o user`); a purchase order above the approval
  limit, approved by a second person, received in full at 静安店; a transfer of 50 milk to
  徐汇店 of which 2 arrive damaged;
- 2027-01-01 from 00:30: a till day at 静安店 (a sale at 00:30 local, i.e. still 2026 in UTC;
  card and cash sales; a sale of soy milk never received, recorded with negative stock; a cash
  refund restocked), close 5.00 short; Z report JSON and PDF; web pickup orders at both shops
  (create, pay, hand over); the vendor bill, priced 0.50 above the order for the milk, held
  for the mismatch, released and posted; a purchase order for soy milk at 00:40 (numbered
  in 2027);
- 2027-01-02: the soy milk arrives at 3.20, not the 3.00 the short sale was costed at: the
  stock is trued up and the 0.20 goes to COGS; its bill is posted, unpaid;
- 2027-01-04: the bank's CAMT.053 statement (cash deposit, two card settlements net of the
  acquirer's 1 %, the first bill's payment), auto-reconcile, reconciliation PDF, trial balance,
  journal, stock valuation (API as of each day; CLI with its PDF).

Every expected figure below is worked out by hand from the scenario's own numbers (prices,
quantities, costs), never read from the code under test.
"""
from __future__ import annotations

import base64
import datetime as dt
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from core.barcodes import make_ean13
from core.db import db
from core.testing import BUILTIN_ADDONS, _fresh_request_globals, app_config
from core.timeutil import freeze, local
from tests.pdfcheck import assert_chinese, assert_glyphs_drawn
from tests.scenarios.chain_day import Api, camt053, key, new_user, o2o

D = Decimal
TZ = "Asia/Shanghai"
DAY0, DAY1, DAY2, BANK_DAY = dt.date(2026, 12, 31), dt.date(2027, 1, 1), dt.date(2027, 1, 2), dt.date(2027, 1, 4)
IBAN = "CN12 3456 7890 1234"
MILK_NAME, SUPPLIER_NAME = "有机牛奶", "上海鲜果有限公司"

# --- the scenario's own numbers --------------------------------------------------------------
# shelf prices include 13 % VAT and are chosen so that net and tax come out in whole cents
MILK_PRICE, APPLE_PRICE, SOY_PRICE = D("22.60"), D("11.30"), D("5.65")     # net 20.00 / 10.00 / 5.00
MILK_COST, APPLE_COST, SOY_COST = D("12.00"), D("8.00"), D("3.00")           # ordered net prices; soy: product cost
MILK_BILLED = D("12.50")                                                      # the bill's wrong milk price
PO_MILK, PO_APPLES = 300, 200
SHIPPED, DAMAGED = 50, 2
FLOAT = D("200.00")
SHORT = D("5.00")
SOY_RECEIVED, SOY_PRICE_IN = 24, D("3.20")
CARD_FEE = D("0.01")


def net(gross):
    return (gross / D("1.13")).quantize(D("0.01"))


def cents(x):
    return D(x).quantize(D("0.01"))


@pytest.fixture
def chain(fresh_database):
    """The scenario's app on a new, migrated database of its own (real commits)."""
    from core.app import create_app
    app = create_app(app_config(fresh_database), addons=BUILTIN_ADDONS)
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_chain_day_from_an_empty_database(chain, tmp_path):
    app = chain
    # ============ master data: API and CLI only ==========================================
    with freeze(local(2026, 12, 31, 9, 0, TZ)):
        boss = new_user(app, "boss", superuser=True)
        ja = boss.post("/api/v1/stores", {"code": "JA", "name": "静安店", "city": "上海", "timezone": TZ}, 201)
        xh = boss.post("/api/v1/stores", {"code": "XH", "name": "徐汇店", "city": "上海", "timezone": TZ}, 201)
        tax = boss.post("/api/v1/taxes", {"code": "VAT13", "name": "增值税 13%", "rate": "13"}, 201)
        assert D(str(tax["rate"])) == 13
        milk = boss.post("/api/v1/products", {"sku": "MILK-1L", "barcode": make_ean13("692000000001"),
                                              "name": MILK_NAME, "unit": "pc", "tax": "VAT13",
                                              "list_price": str(MILK_PRICE), "cost": str(MILK_COST)}, 201)
        apple = boss.post("/api/v1/products", {"sku": "APPLE-500G", "barcode": make_ean13("692000000002"),
                                               "name": "红富士苹果", "unit": "pc", "tax": "VAT13",
                                               "list_price": str(APPLE_PRICE), "cost": str(APPLE_COST)}, 201)
        # the soy milk comes from the chain's product file: `o2o products import` (its category too)
        csv_file = tmp_path / "products.csv"
        csv_file.write_text("sku,barcode,name,category,unit,tax,list_price,cost\n"
                            f"SOY-1L,{make_ean13('692000000003')},有机豆浆,饮品 / 豆浆,pc,VAT13,{SOY_PRICE},{SOY_COST}\n",
                            encoding="utf-8")
        o2o(app, "products", "import", str(csv_file))
        soy = boss.get("/api/v1/products?q=SOY-1L")["items"][0]
        assert (soy["name"], soy["category"], D(str(soy["list_price"]))) == ("有机豆浆", "饮品 / 豆浆", SOY_PRICE)
        supplier = boss.post("/api/v1/partners", {"name": SUPPLIER_NAME, "is_supplier": True, "city": "上海"}, 201)
        customer = boss.post("/api/v1/partners", {"name": "王小明", "is_customer": True, "phone": "13800000000"}, 201)
        register = boss.post("/api/v1/pos/registers", {"store_id": ja["id"], "code": "T1", "name": "一号收银台"}, 201)
        roles = {
            "buyer": ["purchasing.*", "core.product.read", "core.partner.read"],
            "approver": ["purchasing.approve", "purchasing.release_bill", "purchasing.order.read",
                         "purchasing.bill.read", "purchasing.bill.post"],
            "clerk": ["warehouse.*", "purchasing.receipt.receive", "purchasing.receipt.read", "purchasing.order.read"],
            "cashier": ["pos.sell", "pos.session", "pos.refund"],
            "web": ["sales.*"],
            "accountant": ["finance.*", "warehouse.valuation.read", "warehouse.warehouse.read"],
        }
        role_ids = {}
        for code, perms in roles.items():
            role_ids[code] = boss.post("/api/v1/roles", {"code": code, "name": code.title(), "permissions": perms},
                                       201)["id"]
        buyer = new_user(app, "buyer", roles=["buyer"])
        approver = new_user(app, "approver", roles=["approver"])
        clerk = new_user(app, "clerk", roles=["clerk"])
        cashier = new_user(app, "cashier", roles=["cashier"], stores=["JA"])
        web = new_user(app, "web", roles=["web"])
        counter_xh = new_user(app, "counter_xh", roles=["web"], stores=["XH"])
        accountant = new_user(app, "accountant")  # no role yet: given one through the API
        accountant.get("/api/v1/finance/accounts", expect=403)
        users = boss.get("/api/v1/users?per_page=50")
        accountant_id = next(u["id"] for u in users["items"] if u["username"] == "accountant")
        boss.put(f"/api/v1/users/{accountant_id}/roles/{role_ids['accountant']}")
        accountant.get("/api/v1/finance/accounts")
        assert {u["username"] for u in users["items"]} >= {"boss", "buyer", "cashier", "accountant"}

        whs = {w["store_id"]: w for w in boss.get("/api/v1/stock/warehouses?kind=store")["items"]}
        wh_ja, wh_xh = whs[ja["id"]]["id"], whs[xh["id"]]["id"]

        # ============ purchase: order above the approval limit, approved, received ======
        po = buyer.post("/api/v1/purchasing/orders", {
            "supplier_id": supplier["id"], "store_id": ja["id"], "supplier_ref": "SXG-2026-1231",
            "lines": [{"product_id": milk["id"], "quantity": str(PO_MILK), "unit_price": str(MILK_COST)},
                      {"product_id": apple["id"], "quantity": str(PO_APPLES), "unit_price": str(APPLE_COST)}]}, 201)
        po_net = PO_MILK * MILK_COST + PO_APPLES * APPLE_COST                      # 5200.00
        assert D(str(po["net_total"])) == po_net and po["needs_approval"] is True
        buyer.post(f"/api/v1/purchasing/orders/{po['id']}/confirm", expect=200)
        buyer.post(f"/api/v1/purchasing/orders/{po['id']}/approve", expect=403)      # not the buyer's to approve
        approver.post(f"/api/v1/purchasing/orders/{po['id']}/approve")
        buyer.post(f"/api/v1/purchasing/orders/{po['id']}/send")
        po_pdf = buyer.pdf(f"/api/v1/purchasing/orders/{po['id']}/pdf")
        receipt = clerk.post(f"/api/v1/purchasing/orders/{po['id']}/receipts", {"supplier_ref": "DN-8841"}, 201)
        assert D(str(receipt["value"])) == po_net

    # ============ transfer 静安店 -> 徐汇店, 2 damaged on the way =========================
    with freeze(local(2026, 12, 31, 15, 0, TZ)):
        tr = clerk.post("/api/v1/stock/transfers", {"from_warehouse_id": wh_ja, "to_warehouse_id": wh_xh,
                                                    "lines": [{"product_id": milk["id"], "quantity": str(SHIPPED)}]},
                        201)
        clerk.post(f"/api/v1/stock/transfers/{tr['id']}/ship")
    with freeze(local(2026, 12, 31, 17, 0, TZ)):
        clerk.post(f"/api/v1/stock/transfers/{tr['id']}/receive", {"lines": [
            {"product_id": milk["id"], "received": str(SHIPPED - DAMAGED), "damaged": str(DAMAGED)}]})

    # ============ the till day at 静安店 ==================================================
    till = "/api/v1/pos"
    with freeze(local(2027, 1, 1, 0, 25, TZ)):
        sess = cashier.post(f"{till}/registers/{register['id']}/sessions", {"opening_float": str(FLOAT)}, 201)
    with freeze(local(2027, 1, 1, 0, 30, TZ)):   # 2026-12-31 16:30 UTC
        s1 = cashier.post(f"{till}/sales", {"register_id": register["id"],
                                            "lines": [{"barcode": milk["barcode"], "quantity": "2"}],
                                            "payments": [{"method": "cash", "amount": "50.00"}]}, 201, headers=key())
    assert D(s1["total"]) == 2 * MILK_PRICE and D(s1["change_given"]) == D("50.00") - 2 * MILK_PRICE
    # the buyer orders soy milk at 00:40 on New Year's night (still 2026 in UTC, 2027 in the shop)
    with freeze(local(2027, 1, 1, 0, 40, TZ)):
        po2 = buyer.post("/api/v1/purchasing/orders", {
            "supplier_id": supplier["id"], "store_id": ja["id"], "confirm": True,
            "lines": [{"product_id": soy["id"], "quantity": str(SOY_RECEIVED), "unit_price": str(SOY_PRICE_IN)}]},
            201)
        assert po2["needs_approval"] is False  # below the approval limit
        assert (po2["number"][:8], str(po2["order_date"])[:10]) == ("PO/2027/", DAY1.isoformat()), po2
    with freeze(local(2027, 1, 1, 10, 0, TZ)):
        s2 = cashier.post(f"{till}/sales", {"register_id": register["id"],
                                            "lines": [{"barcode": apple["barcode"], "quantity": "3"},
                                                      {"barcode": milk["barcode"]}],
                                            "payments": [{"method": "card", "amount": str(3 * APPLE_PRICE + MILK_PRICE),
                                                          "reference": "POS-SLIP-1"}]}, 201, headers=key())
    with freeze(local(2027, 1, 1, 11, 0, TZ)):
        s3 = cashier.post(f"{till}/sales", {"register_id": register["id"],
                                            "lines": [{"barcode": milk["barcode"], "quantity": "5"}],
                                            "payments": [{"method": "cash", "amount": str(5 * MILK_PRICE)}]},
                          201, headers=key())
    with freeze(local(2027, 1, 1, 11, 30, TZ)):
        # soy milk was never received: the goods left the shop all the same (till feature)
        s4 = cashier.post(f"{till}/sales", {"register_id": register["id"], "lines": [{"barcode": soy["barcode"]}],
                                            "payments": [{"method": "cash", "amount": str(SOY_PRICE)}]},
                          201, headers=key())
    with freeze(local(2027, 1, 1, 12, 0, TZ)):
        refund = cashier.post(f"{till}/sales/{s3['id']}/refund", {
            "reason": "包装破损", "method": "cash", "restock": True,
            "lines": [{"product_id": milk["id"], "quantity": "1"}]}, 201, headers=key())
    assert D(refund["total"]) == -MILK_PRICE
    receipt_pdf = cashier.pdf(f"{till}/sales/{s1['id']}/receipt.pdf")

    # web pickup orders: 4 milk collected at 静安店, 2 at 徐汇店, paid by card on the web
    with freeze(local(2027, 1, 1, 14, 0, TZ)):
        pickups = []
        for store, qty, ref in ((ja, 4, "WEB-0001"), (xh, 2, "WEB-0002")):
            order = web.post("/api/v1/sales/orders", {
                "channel": "web", "store_id": store["id"], "fulfilment": "pickup", "pickup_store_id": store["id"],
                "customer_id": customer["id"], "external_ref": ref,
                "lines": [{"product_id": milk["id"], "quantity": str(qty)}]}, 201)
            assert D(order["total"]) == qty * MILK_PRICE
            web.post(f"/api/v1/sales/orders/{order['id']}/confirm")
            web.post(f"/api/v1/sales/orders/{order['id']}/pay", {"payments": [
                {"method": "card", "amount": str(qty * MILK_PRICE), "reference": f"PSP-{ref}"}]})
            pickups.append(order)
    with freeze(local(2027, 1, 1, 16, 0, TZ)):
        web.post(f"/api/v1/sales/orders/{pickups[0]['id']}/fulfil")
        handed = counter_xh.post(f"/api/v1/sales/orders/{pickups[1]['id']}/fulfil")
        assert handed["state"] == "fulfilled"

    # close with a short count: float + cash sales - cash refund, less 5.00
    cash_expected = FLOAT + 2 * MILK_PRICE + 5 * MILK_PRICE + SOY_PRICE - MILK_PRICE     # 341.25
    card_ja_till = 3 * APPLE_PRICE + MILK_PRICE                                            # 56.50
    with freeze(local(2027, 1, 1, 21, 0, TZ)):
        closed = cashier.post(f"{till}/sessions/{sess['id']}/close", {
            "counts": {"cash": str(cash_expected - SHORT), "card": str(card_ja_till)},
            "difference_reason": "找零错误"})
    assert D(closed["cash_difference"]) == -SHORT
    z_json = cashier.get(f"{till}/sessions/{sess['id']}/z")
    z_pdf = cashier.pdf(closed["z_report"]["pdf"], method="post")

    # ============ the vendor bill: milk 0.50 dearer than ordered =========================
    with freeze(local(2027, 1, 1, 22, 0, TZ)):
        bill = buyer.post("/api/v1/purchasing/bills", {
            "supplier_id": supplier["id"], "order_id": po["id"], "supplier_ref": "SXG-INV-0101",
            "bill_date": DAY1.isoformat(), "due_date": "2027-01-05",
            "lines": [{"order_line_id": po["lines"][0]["id"], "quantity": str(PO_MILK), "unit_price": str(MILK_BILLED)},
                      {"order_line_id": po["lines"][1]["id"], "quantity": str(PO_APPLES),
                       "unit_price": str(APPLE_COST)}]}, 201)
        held = buyer.post(f"/api/v1/purchasing/bills/{bill['id']}/post")
        assert held["state"] == "on_hold" and held["mismatches"], held
        posted = approver.post(f"/api/v1/purchasing/bills/{bill['id']}/release", {"note": "价格已与供应商确认"})
        assert posted["state"] == "posted"
    bill_net = PO_MILK * MILK_BILLED + PO_APPLES * APPLE_COST                  # 5350.00
    bill_tax = cents(bill_net * D("0.13"))                                      # 695.50
    bill_total = bill_net + bill_tax                                            # 6045.50
    assert (D(str(posted["net_total"])), D(str(posted["tax_total"])), D(str(posted["total"]))) == \
        (bill_net, bill_tax, bill_total)

    # ============ 2027-01-02: soy milk arrives, dearer than the cost it was sold at =======
    # the one sold below zero was costed at 3.00; the receipt trues the stock up to
    # 23 x 3.20 and the 0.20 the sold one really cost more goes to COGS (perpetual)
    with freeze(local(2027, 1, 2, 10, 0, TZ)):
        buyer.post(f"/api/v1/purchasing/orders/{po2['id']}/send")
        clerk.post(f"/api/v1/purchasing/orders/{po2['id']}/receipts", {}, 201)
        bill2 = buyer.post(f"/api/v1/purchasing/orders/{po2['id']}/bill",
                           {"supplier_ref": "SXG-INV-0102", "bill_date": DAY2.isoformat(), "post": True}, 201)
        assert bill2["state"] == "posted", bill2
    bill2_net = SOY_RECEIVED * SOY_PRICE_IN                                    # 76.80
    bill2_total = bill2_net + cents(bill2_net * D("0.13"))                     # 86.78, not paid yet

    # ============ the bank ===============================================================
    # the independent computation of the day
    milk_on_hand_ja = PO_MILK - SHIPPED - 2 - 1 - 5 + 1 - 4                    # 239 when the bill came
    card_ja = card_ja_till + 4 * MILK_PRICE                                     # 146.90 till + web
    card_xh = 2 * MILK_PRICE                                                    # 45.20
    fee_ja, fee_xh = cents(card_ja * CARD_FEE), cents(card_xh * CARD_FEE)      # 1.47, 0.45
    deposit = cash_expected - SHORT - FLOAT                                     # 136.25
    with freeze(local(2027, 1, 4, 9, 0, TZ)):
        assert accountant.get("/api/v1/finance/statements")["items"] == []  # the first statement of the books
        statement = camt053(IBAN.replace(" ", ""), D("0.00"), [
            ("2027-01-02", deposit, "DEP-JA-20270101", "现金存款 静安店", "静安店"),
            ("2027-01-03", card_ja - fee_ja, None, "银联商务 结算 JA 20270101", "银联商务"),
            ("2027-01-03", card_xh - fee_xh, None, "银联商务 结算 XH 20270101", "银联商务"),
            ("2027-01-04", -bill_total, "SXG-INV-0101", "货款 SXG-INV-0101", SUPPLIER_NAME)])
        imported = accountant.post("/api/v1/finance/statements", {
            "bank": "MAIN", "filename": "camt053-20270104.xml", "format": "camt053",
            "content_base64": base64.b64encode(statement).decode()}, 201)
        assert imported.get("lines", imported.get("line_count")) == 4, imported
        auto = accountant.post("/api/v1/finance/reconcile/auto", {})
        assert auto["matched"] == 4, (auto, accountant.get("/api/v1/finance/statement-lines/open"),
                                      accountant.get("/api/v1/finance/expected-items/open"))
        # open: only the soy milk's bill, due next week
        assert accountant.get("/api/v1/finance/reconcile/status") == {"open_statement_lines": 0,
                                                                      "open_expected_items": 1}
        due = accountant.get("/api/v1/finance/expected-items/open")["items"]
        assert [(i["kind"], D(i["amount"])) for i in due] == [("supplier_payment", -bill2_total)], due
        recon_pdf = accountant.pdf(f"/api/v1/finance/reports/reconciliation.pdf?store_id={ja['id']}"
                                   f"&date_from=2027-01-01&date_to=2027-01-04")
        tb = accountant.get("/api/v1/finance/reports/trial-balance")
        tb_pdf = accountant.pdf("/api/v1/finance/reports/trial-balance.pdf?date_to=2027-01-04")
        valuation = {d: accountant.get(f"/api/v1/stock/valuation?as_of={d.isoformat()}")
                     for d in (DAY0, DAY1, BANK_DAY)}
        out = o2o(app, "stock", "valuation", "--as-of", BANK_DAY.isoformat(), "--pdf", str(tmp_path / "v.pdf"))
        costs = accountant.get("/api/v1/stock/average-costs")
        recon = accountant.get(f"/api/v1/finance/reports/reconciliation?store_id={ja['id']}"
                               f"&date_from=2027-01-01&date_to=2027-01-04")
        journal_pdf = accountant.pdf(f"/api/v1/finance/reports/journal.pdf?store_id={ja['id']}"
                                     f"&date_from=2027-01-01&date_to=2027-01-04")
        attention = cashier.get(f"{till}/registers/{register['id']}/attention")
    valuation_pdf = (tmp_path / "v.pdf").read_bytes()

    # ============ the checks ===============================================================
    # the books, account by account, from the documents of the day
    cogs_ja = (2 * MILK_COST + (3 * APPLE_COST + MILK_COST) + 5 * MILK_COST + SOY_COST - MILK_COST
               + 4 * MILK_COST)                                                  # 159.00
    cogs_xh = 2 * MILK_COST                                                     # 24.00 (cost it arrived at)
    revalued = (MILK_BILLED - MILK_COST) * milk_on_hand_ja                     # 119.50 still on hand at 静安店
    ppv = (MILK_BILLED - MILK_COST) * PO_MILK - revalued                        # 30.50 already gone
    inv_ja_day1 = po_net - SHIPPED * MILK_COST - cogs_ja + revalued             # 4560.50
    soy_true_up = SOY_PRICE_IN - SOY_COST                                       # 0.20 more for the one sold short
    cogs_ja += soy_true_up
    inv_ja = inv_ja_day1 + bill2_net - soy_true_up                              # 4637.10 = ... + 23 x 3.20
    inv_xh = (SHIPPED - DAMAGED) * MILK_COST - cogs_xh                          # 552.00
    revenue = (net(2 * MILK_PRICE) + net(3 * APPLE_PRICE) + net(MILK_PRICE) + net(5 * MILK_PRICE)
               + net(SOY_PRICE) + net(4 * MILK_PRICE) + net(2 * MILK_PRICE))    # 315.00
    output_tax = (2 + 1 + 5 + 4 + 2) * MILK_PRICE + 3 * APPLE_PRICE + SOY_PRICE - revenue   # 40.95
    expected = {
        "1000": deposit + card_ja - fee_ja + card_xh - fee_xh - bill_total,     # the bank: -5719.07
        "1010": D(0),                 # cash in the till went to the deposit at the close
        "1030": D(0),                 # the deposit reached the bank
        "1120": D(0),                 # every card payment was settled
        "1300": inv_ja + inv_xh,      # 5189.10
        "1400": bill_tax + (bill2_total - bill2_net),
        "2000": -bill2_total,         # the first bill was paid, the soy milk's is due
        "2050": D(0),                 # GRNI: the receipt fully billed
        "2200": -(output_tax - (MILK_PRICE - net(MILK_PRICE))),                  # -38.35 after the refund
        "4000": -revenue,
        "4100": net(MILK_PRICE),      # the refund, net
        "5000": cogs_ja + cogs_xh,    # 183.20
        "5100": ppv,
        "5200": DAMAGED * MILK_COST,  # 24.00 broken on the way
        "6100": fee_ja + fee_xh,      # 1.92
        "6900": SHORT,
    }
    balances = {r["code"]: D(str(r["balance"])) for r in tb["rows"]}
    got = {code: balances.get(code, D(0)) for code in expected}
    assert got == expected, {c: (got[c], expected[c]) for c in expected if got[c] != expected[c]}
    assert {c: b for c, b in balances.items() if b and c not in expected} == {}
    assert D(str(tb["total_debit"])) == D(str(tb["total_credit"])) and tb["balanced"]
    assert sum(expected.values()) == 0

    # inventory account per store == stock valuation per store, as of each day
    with app.app_context():
        from addons.finance import services as fin
        books = fin.inventory_by_store(BANK_DAY)
        books_day0 = fin.inventory_by_store(DAY0)
        books_day1 = fin.inventory_by_store(DAY1)
        # every entry balances on its own, and each is dated its document's local day
        sums = {}
        for entry_id, debit, credit in db.session.execute(
                sa.select(fin.EntryLine.entry_id, fin.EntryLine.debit, fin.EntryLine.credit)):
            sums[entry_id] = sums.get(entry_id, D(0)) + D(str(debit)) - D(str(credit))
        assert {e: v for e, v in sums.items() if v} == {}
        dates = {(e.source_type, e.date) for e in db.session.scalars(sa.select(fin.Entry))}
    per_store = {}
    for row in valuation[BANK_DAY]["rows"]:
        per_store[row["store_id"]] = per_store.get(row["store_id"], D(0)) + D(str(row["value"]))
    assert (per_store.get(ja["id"]), per_store.get(xh["id"]), per_store.get(None, D(0))) == (inv_ja, inv_xh, D(0))
    assert {k: v for k, v in books.items() if v} == {ja["id"]: inv_ja, xh["id"]: inv_xh}
    def by_store(rows):
        out = {}
        for row in rows:
            out[row["store_id"]] = out.get(row["store_id"], D(0)) + D(str(row["value"]))
        return {k: v for k, v in out.items() if v}
    # as of 2026-12-31: the receipt less the 50 milk shipped; 48 arrived, 2 broken
    inv_day0 = {ja["id"]: po_net - SHIPPED * MILK_COST, xh["id"]: (SHIPPED - DAMAGED) * MILK_COST}
    assert by_store(valuation[DAY0]["rows"]) == inv_day0 == {k: v for k, v in books_day0.items() if v}
    assert by_store(valuation[DAY1]["rows"]) == {ja["id"]: inv_ja_day1, xh["id"]: inv_xh} == \
        {k: v for k, v in books_day1.items() if v}
    assert f"{inv_ja + inv_xh}" in out and f"{inv_xh}" in out  # the CLI prints the same figures
    avg = {(c["product_id"], c["warehouse_id"]): D(str(c["average_cost"])) for c in costs["items"]}
    assert avg[(milk["id"], wh_ja)] == MILK_BILLED and avg[(milk["id"], wh_xh)] == MILK_COST
    assert avg[(apple["id"], wh_ja)] == APPLE_COST and avg[(soy["id"], wh_ja)] == SOY_PRICE_IN
    assert D(str(valuation[BANK_DAY]["total_value"])) == inv_ja + inv_xh

    # COGS == the cost of the stock that went to customers (the ledger's issues, valued)
    with app.app_context():
        from addons.warehouse import services as wh
        issued = db.session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(wh.StockMove.value), 0))
            .join(wh.Location, wh.Location.id == wh.StockMove.to_location_id).where(wh.Location.usage == "customer")
        ).scalar_one()
        returned = db.session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(wh.StockMove.value), 0))
            .join(wh.Location, wh.Location.id == wh.StockMove.from_location_id).where(wh.Location.usage == "customer")
        ).scalar_one()
        # the cost of stock sold below zero, trued up when it was received
        trued_up = db.session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(wh.Revaluation.value), 0)).where(wh.Revaluation.reason == "negative")
        ).scalar_one()
        assert cents(D(str(issued)) - D(str(returned)) - D(str(trued_up))) == cogs_ja + cogs_xh
        assert wh.verify() == []
        negative = db.session.scalars(sa.select(wh.NegativeStock)).all()
        assert [(n.product_id, n.quantity_short, n.source is not None) for n in negative] == [(soy["id"], D(1), True)]

    # the 00:30 sale belongs to 2027-01-01 in Shanghai: entry date, receipt, order number year
    with app.app_context():
        from addons.finance.models import Entry
        from addons.sales import services as sales
        from addons.pos.models import PosSale
        sale = db.session.get(PosSale, s1["id"])
        order = db.session.get(sales.Order, sale.order_id) if getattr(sale, "order_id", None) else None
        entries = db.session.scalars(sa.select(Entry).where(Entry.source_ref == order.number)).all() if order else []
    assert order is not None and "2027" in order.number, (order and order.number)
    assert entries and {e.date for e in entries} == {DAY1}, [(e.number, e.date) for e in entries]
    # the payment method and the shipped footer print in the reader's language too
    receipt_text = assert_chinese(receipt_pdf, MILK_NAME, "静安店", "现金", "谢谢惠顾")
    assert "2027-01-01" in receipt_text and "00:30" in receipt_text, receipt_text[:800]
    assert z_json["date"] == DAY1.isoformat() and z_json["opened_local"] == "2027-01-01 00:25"
    assert z_json["sales_count"] == 4 and D(z_json["cash_difference"]) == -SHORT
    assert D(z_json["cash_expected"]) == cash_expected
    assert D(z_json["sales_total"]) == 2 * MILK_PRICE + card_ja_till + 5 * MILK_PRICE + SOY_PRICE

    # every route the day used is documented in the OpenAPI document
    spec = boss.get("/api/v1/openapi.json")
    templates = [(m.upper(), re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$"))
                 for path, ops in spec["paths"].items() for m in ops]
    used = {(m, u.split("?")[0]) for api in (boss, buyer, approver, clerk, cashier, web, counter_xh, accountant)
            for m, u in api.calls if not u.endswith("/openapi.json")}
    def documented(call):
        return any(m == call[0] and t.match(call[1]) for m, t in templates)
    assert len(used) > 40 and not documented(("GET", "/api/v1/pos/sales/1/nothing"))
    assert [c for c in sorted(used) if not documented(c)] == []

    # every PDF carries its Chinese text, drawn as glyphs
    assert_chinese(po_pdf, SUPPLIER_NAME, MILK_NAME)
    assert_chinese(valuation_pdf, "静安店", "徐汇店", "豆浆")
    assert_chinese(recon_pdf, "静安店")
    for data, word in ((receipt_pdf, MILK_NAME), (po_pdf, SUPPLIER_NAME), (z_pdf, "一号收银台")):
        assert_glyphs_drawn(data, word)
    assert_chinese(journal_pdf, "日记账")
    assert_chinese(tb_pdf, "试算平衡表", "试算平衡。")

    # every entry is dated its document's local day in Shanghai
    assert dates == {("stock_move", DAY0),                    # receipt and transfer on 2026-12-31
                     ("stock_move", DAY1), ("sales_order", DAY1), ("pos_refund", DAY1), ("pos_session", DAY1),
                     ("stock_revaluation", DAY1), ("vendor_bill", DAY1),
                     ("stock_move", DAY2), ("stock_revaluation", DAY2), ("vendor_bill", DAY2),
                     ("finance_match_batch", dt.date(2027, 1, 2)), ("finance_match_batch", dt.date(2027, 1, 3)),
                     ("finance_match_batch", dt.date(2027, 1, 4))}, sorted(dates, key=str)

    # the reconciliation of 静安店: takings, fees, the short count, everything matched, the
    # statement's balances agree with the books
    assert (recon["takings_by_method"], recon["cash_over_short_total"], recon["fees_total"]) == (
        {"card": str(card_ja), "cash": str(cash_expected - FLOAT)}, str(-SHORT), str(fee_ja))
    assert recon["matched_bank_total"] == recon["expected_total"] == str(deposit + card_ja - fee_ja)
    assert recon["unmatched_bank_count"] == recon["unmatched_expected_count"] == 0
    assert [s["state"] for s in recon["statements"]] == ["ok"]
    recon_text = assert_chinese(recon_pdf, "静安店", "对账")
    assert "-5.00" in recon_text and "1.47" in recon_text
    # nothing the till took money for waits for attention; the Z JSON is what the PDF prints
    assert attention == []
    z_text = "".join(assert_chinese(z_pdf, "一号收银台", "现金", "银行卡").split())
    for label, field in (("销售总额", "sales_total"), ("退款总额", "refunds_total"), ("应有现金", "cash_expected"),
                         ("清点现金", "cash_counted"), ("现金差异", "cash_difference"), ("税额合计", "tax_total")):
        assert f"{label}{z_json[field]}" in z_text, (label, z_json[field])
