"""Finance: auto-reconcile N statement lines against N expected items; the reconciliation PDF
of one store and a month with M sales (summary, and with the full sales listing)."""
from __future__ import annotations

import datetime as dt
import random
import time
from decimal import Decimal

import sqlalchemy as sa

SCALES = {
    "small": {"lines": 2_000, "sales": 3_000},
    "full": {"lines": 20_000, "sales": 30_000},
}
# Also reported: the load average while running (the figures are wall-clock seconds on a
# machine that may be shared).
MONTH = dt.date(2026, 10, 1)


def _reconcile_data(n: int, store_id: int, rng: random.Random):
    """n expected items (a third with a reference on the bank line) and n bank lines, in
    shuffled order, amounts unique to the cent so matches are unambiguous."""
    from addons.finance import services
    accounts = {code: services.account(code).id for code in ("1030", "1120", "1130", "2000")}
    amounts = rng.sample(range(1_000, 10_000_000), n)
    items, csv_rows = [], ["date,amount,reference,description,counterparty"]
    for i, cents in enumerate(amounts):
        day = MONTH + dt.timedelta(days=i % 30)
        amount = Decimal(cents) / 100
        kind = ("cash_deposit", "card_settlement", "wallet_settlement", "supplier_payment")[i % 4]
        if kind == "supplier_payment":
            amount = -amount
        ref = f"BENCH-{i:06d}"
        items.append(dict(key=f"bench:{i}", kind=kind, date=day, gross=amount, fee=Decimal(0), amount=amount,
                          account_id=accounts[{"cash_deposit": "1030", "card_settlement": "1120",
                                               "wallet_settlement": "1130", "supplier_payment": "2000"}[kind]],
                          store_id=store_id if kind != "supplier_payment" else None, reference=ref))
        bank_day = day + dt.timedelta(days=rng.randint(0, 2))
        line_ref = ref if i % 3 == 0 else f"TX{rng.randint(10**8, 10**9)}"
        csv_rows.append(f"{bank_day.isoformat()},{amount},{line_ref},bench line {i},")
    rng.shuffle(items)
    body = csv_rows[:1] + rng.sample(csv_rows[1:], len(csv_rows) - 1)
    return items, ("\n".join(body) + "\n").encode()


def _sales_data(session, store_id: int, n: int, rng: random.Random):
    """n posted sales of one store over a month, bulk-inserted, plus each day's till close
    (deposit and over/short) and expected items, most of them matched."""
    from addons.finance import services
    from addons.finance.models import Entry, EntryLine, ExpectedItem
    jr = services.journal("SALES")
    acc = {c: services.account(c).id for c in ("1010", "1120", "1130", "4000", "2200")}
    ids = services._reserve_ids(Entry.__table__, n)  # PostgreSQL: from the sequence
    entries, lines = [], []
    per_day: dict = {}
    now = dt.datetime.now(dt.timezone.utc)
    for i in range(n):
        eid = ids[i]
        day = MONTH + dt.timedelta(days=i % 31)
        total = Decimal(rng.randint(100, 20_000)) / 100
        net = (total / Decimal("1.13")).quantize(Decimal("0.01"))
        method = ("cash", "card", "card", "wallet")[i % 4]
        entries.append(dict(id=eid, number=f"BENCH/{eid}", journal_id=jr.id, date=day, state="posted",
                            store_id=store_id, channel="pos" if method != "wallet" else "web",
                            source_type="sales_order", source_id=10_000_000 + i, source_ref=f"SO-B{i}",
                            posted_at=now))
        account = {"cash": acc["1010"], "card": acc["1120"], "wallet": acc["1130"]}[method]
        lines += [dict(entry_id=eid, account_id=account, date=day, debit=total, credit=Decimal(0), store_id=store_id,
                       payment_method=method, label=f"Payment {method}"),
                  dict(entry_id=eid, account_id=acc["4000"], date=day, debit=Decimal(0), credit=net,
                       store_id=store_id, label="Sales"),
                  dict(entry_id=eid, account_id=acc["2200"], date=day, debit=Decimal(0), credit=total - net,
                       store_id=store_id, label="Output tax")]
        per_day.setdefault((day, method), Decimal(0))
        per_day[(day, method)] += total
    for i in range(0, len(entries), 5000):
        session.execute(sa.insert(Entry), entries[i:i + 5000])
    for i in range(0, len(lines), 5000):
        session.execute(sa.insert(EntryLine), lines[i:i + 5000])
    items = []
    for (day, method), amount in per_day.items():
        kind = {"cash": "cash_deposit", "card": "card_settlement", "wallet": "wallet_settlement"}[method]
        items.append(dict(key=f"{kind}:{method}:{store_id}:{day}", kind=kind, date=day, gross=amount,
                          fee=Decimal(0), amount=amount, method_code=method, store_id=store_id,
                          account_id={"cash": acc["1010"], "card": acc["1120"], "wallet": acc["1130"]}[method],
                          reference=f"{method.upper()}-B-{day:%Y%m%d}"))
    session.execute(sa.insert(ExpectedItem), items)
    csv_rows = ["date,amount,reference,description,counterparty"]
    for k, it in enumerate(items):
        if k % 10 == 9:
            continue  # a tenth never reaches the bank
        csv_rows.append(f"{it['date'] + dt.timedelta(days=1)},{it['amount']},{it['reference']},payout,")
    csv_rows.append(f"{MONTH + dt.timedelta(days=5)},123.45,UNKNOWN,mystery,")
    return ("\n".join(csv_rows) + "\n").encode()


def run(ctx) -> dict:
    from addons.finance import reports, services
    from core.db import db
    from core.models import Store

    n_lines, n_sales = ctx.scale["lines"], ctx.scale["sales"]
    rng = random.Random(20261122)
    app = ctx.make_app(addons=["finance"])
    figures = {}
    with app.app_context():
        s = db.session
        store = Store(code="BF1", name="Bench finance store")
        other = Store(code="BF2", name="Bench reconcile store")
        s.add_all([store, other])
        s.commit()

        # --- 1. auto-reconcile n lines against n items ------------------------------------
        items, csv = _reconcile_data(n_lines, other.id, rng)
        from addons.finance.models import ExpectedItem
        for i in range(0, len(items), 5000):
            s.execute(sa.insert(ExpectedItem), items[i:i + 5000])
        s.commit()
        t0 = time.perf_counter()
        services.import_statement(csv, filename="bench.csv", bank_code="MAIN")
        s.commit()
        figures["import_statement_s"] = {"value": round(time.perf_counter() - t0, 3), "unit": "s"}
        t0, c0 = time.perf_counter(), time.process_time()
        result = services.auto_reconcile()
        s.commit()
        figures["auto_reconcile_s"] = {"value": round(time.perf_counter() - t0, 3), "unit": "s"}
        # CPU seconds of this process: what the run costs when the machine is shared
        figures["auto_reconcile_cpu_s"] = {"value": round(time.process_time() - c0, 3), "unit": "s"}
        figures["auto_reconcile_matched"] = {"value": result["matched"], "unit": "lines"}
        figures["auto_reconcile_lines"] = {"value": n_lines, "unit": "lines"}

        # --- 2. reconciliation PDF of a store and a month with n_sales sales ---------------
        csv = _sales_data(s, store.id, n_sales, rng)
        s.commit()
        services.import_statement(csv, filename="bench-sales.csv", bank_code="MAIN")
        services.auto_reconcile()
        s.commit()
        d1 = MONTH.replace(day=31)
        t0 = time.perf_counter()
        fig = services.reconciliation_figures(store.id, MONTH, d1)
        figures["reconciliation_figures_ms"] = {"value": round((time.perf_counter() - t0) * 1000, 1), "unit": "ms"}
        assert fig["takings_total"] > 0
        t0 = time.perf_counter()
        pdf, pages = reports.reconciliation_pdf(store.id, MONTH, d1)
        figures["reconciliation_pdf_s"] = {"value": round(time.perf_counter() - t0, 3), "unit": "s"}
        figures["reconciliation_pdf_pages"] = {"value": pages, "unit": "pages"}
        figures["reconciliation_pdf_sales"] = {"value": n_sales, "unit": "sales"}
        t0, c0 = time.perf_counter(), time.process_time()
        pdf, pages = reports.reconciliation_pdf(store.id, MONTH, d1, detail=True)
        figures["reconciliation_pdf_with_listing_s"] = {"value": round(time.perf_counter() - t0, 3), "unit": "s"}
        figures["reconciliation_pdf_with_listing_cpu_s"] = {"value": round(time.process_time() - c0, 3),
                                                            "unit": "s"}
        figures["reconciliation_pdf_with_listing_pages"] = {"value": pages, "unit": "pages"}
        figures["reconciliation_pdf_with_listing_kb"] = {"value": len(pdf) // 1024, "unit": "KiB"}
        t0 = time.perf_counter()
        tb = services.trial_balance(MONTH, d1)
        figures["trial_balance_ms"] = {"value": round((time.perf_counter() - t0) * 1000, 1), "unit": "ms"}
        assert tb["balanced"]
        import os
        figures["load_average_1min"] = {"value": round(os.getloadavg()[0], 1), "unit": "procs"}
        db.session.remove()
        db.engine.dispose()
    return figures
