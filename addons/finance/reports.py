"""PDF reports (ReportLab platypus): reconciliation per store and period, trial balance,
journal. Figures come from ``services`` (aggregated in SQL) and are printed with
``services.fmt``, the same function the screens use, so the PDF and the screen agree.
Long listings are split into tables of FINANCE_PDF_CHUNK_ROWS rows, about a page each (a
huge Table is re-measured at every page split), with fixed row heights."""
from __future__ import annotations

import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, TableStyle

from addons.finance import services
from addons.finance.services import fmt
from core.i18n import _
from core.pdf import LongTable, Table, draw_string, paragraph, styles

_STYLES = styles()
H1, H2, BODY = _STYLES["Title"], _STYLES["Heading2"], _STYLES["BodyText"]
SMALL = _STYLES["BodyText"].clone("small", fontSize=8, leading=10)

GRID = TableStyle([
    ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
    ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
    ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
    ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
])


def _chunk_rows() -> int:
    try:
        from flask import current_app
        return int(current_app.config.get("FINANCE_PDF_CHUNK_ROWS", 60))
    except RuntimeError:
        return 60


def _table(header, rows, widths=None, numeric_cols=(), total=None, row_height=None):
    """Flowables for a table: header repeated, split in chunks, numbers right-aligned.
    ``row_height`` (points) for plain-text rows skips measuring every cell."""
    out = []
    size = _chunk_rows()
    rows = list(rows)
    if total is not None:
        rows.append(total)
    if not rows:
        return [paragraph(_("(none)"), SMALL)]
    for start in range(0, len(rows), size):
        part = [header] + rows[start:start + size]
        t = LongTable(part, colWidths=widths, repeatRows=1,
                      rowHeights=[row_height] * len(part) if row_height else None)
        style = TableStyle(GRID.getCommands())
        for col in numeric_cols:
            style.add("ALIGN", (col, 0), (col, -1), "RIGHT")
        if total is not None and start + size >= len(rows):
            style.add("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 8)
            style.add("LINEABOVE", (0, -1), (-1, -1), 0.75, colors.black)
        t.setStyle(style)
        out.append(t)
    return out


def _doc(buf, title, pagesize=A4):
    doc = SimpleDocTemplate(buf, pagesize=pagesize, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                            bottomMargin=14 * mm, title=title, author="o2o")
    return doc


def _footer(title):
    def draw(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        draw_string(canvas, 12 * mm, 7 * mm, title)
        draw_string(canvas, doc.pagesize[0] - 12 * mm, 7 * mm, _("Page %(n)s", n=doc.page), align="right")
        canvas.restoreState()
    return draw


def _p(text, style=SMALL):
    return paragraph(text, style)


def reconciliation_pdf(store_id: int, date_from, date_to, *, detail: bool = False) -> tuple[bytes, int]:
    """The reconciliation of one store and period: returns (PDF bytes, pages)."""
    fig = services.reconciliation_figures(store_id, date_from, date_to)
    title = _("Reconciliation %(store)s %(start)s to %(end)s", store=f"{fig['store']['code']} {fig['store']['name']}",
              start=fig["date_from"], end=fig["date_to"])
    buf = io.BytesIO()
    doc = _doc(buf, title)
    story = [paragraph(title, H1)]

    story.append(paragraph(_("Summary"), H2))
    story += _table([_("Figure"), _("Amount")], [[label, value] for label, value in services.summary_figures(fig)],
                    widths=[110 * mm, 40 * mm], numeric_cols=(1,))

    story.append(paragraph(_("Takings by payment method"), H2))
    story += _table([_("Method"), _("Channel"), _("Amount")],
                    [[t["method"], t["channel"], fmt(t["amount"])] for t in fig["takings"]],
                    widths=[60 * mm, 50 * mm, 40 * mm], numeric_cols=(2,),
                    total=[_("Total"), "", fmt(fig["takings_total"])])

    story.append(paragraph(_("Day by day"), H2))
    story += _table([_("Date"), _("Takings"), _("Expected in bank"), _("Bank (matched)"), _("Cash over/short")],
                    [[str(d["date"]), fmt(d["takings"]), fmt(d["expected"]), fmt(d["bank"]), fmt(d["over_short"])]
                     for d in fig["days"]],
                    widths=[30 * mm, 35 * mm, 40 * mm, 40 * mm, 35 * mm], numeric_cols=(1, 2, 3, 4))

    story.append(paragraph(_("Expected deposits and settlements"), H2))
    story += _table(
        [_("Date"), _("Kind"), _("Reference"), _("Gross"), _("Fees"), _("Expected"), _("Bank"), _("Difference"),
         _("Matched")],
        [[str(r["date"]), str(services.EXPLANATIONS[r["kind"]]), _p(r["reference"] or ""), fmt(r["gross"]),
          fmt(r["fee"]), fmt(r["amount"]), fmt(r["bank"]), fmt(r["difference"]),
          _("yes") if r["matched"] else _("NO")] for r in fig["expected"]],
        widths=[18 * mm, 24 * mm, 38 * mm, 18 * mm, 14 * mm, 20 * mm, 20 * mm, 18 * mm, 14 * mm],
        numeric_cols=(3, 4, 5, 6, 7),
        total=[_("Total"), "", "", "", fmt(fig["fees_total"]), fmt(fig["expected_total"]),
               fmt(fig["matched_bank_total"]), "", ""])

    story.append(paragraph(_("Bank lines not expected"), H2))
    story += _table([_("Date"), _("Bank"), _("Reference"), _("Description"), _("Amount")],
                    [[str(r["date"]), r["bank"], _p(r["reference"] or ""), _p(r["description"] or ""),
                      fmt(r["amount"])] for r in fig["unmatched_bank"]],
                    widths=[20 * mm, 20 * mm, 40 * mm, 80 * mm, 25 * mm], numeric_cols=(4,),
                    total=[_("Total"), "", "", "", fmt(fig["unmatched_bank_total"])] if fig["unmatched_bank"] else None)

    story.append(paragraph(_("Differences and their explanations"), H2))
    story += _table([_("Date"), _("Amount"), _("Explanation")],
                    [[str(d["date"]), fmt(d["amount"]), _p(d["explanation"])] for d in fig["differences"]],
                    widths=[22 * mm, 25 * mm, 138 * mm], numeric_cols=(1,))

    if detail:
        story.append(paragraph(_("Takings sale by sale"), H2))
        rows = services.takings_listing(store_id, fig["date_from"], fig["date_to"])
        story += _table([_("Date"), _("Entry"), _("Document"), _("Channel"), _("Method"), _("Amount")],
                        [[str(r.date)[:10], r.number, (r.source_ref or "")[:30], r.channel or "", r.payment_method,
                          fmt(r.amount)] for r in rows],
                        widths=[22 * mm, 34 * mm, 48 * mm, 22 * mm, 28 * mm, 30 * mm], numeric_cols=(5,),
                        total=[_("Total"), _("%(n)s payments", n=len(rows)), "", "", "",
                               fmt(sum((services.money(r.amount) for r in rows), services.ZERO))],
                        row_height=10.5)

    if fig.get("statements"):
        story.append(paragraph(_("Bank statement balances"), H2))
        states = {"ok": _("agrees"), "mismatch": _("MISMATCH"), "unknown": _("no balances")}
        story += _table([_("Bank"), _("Statement"), _("Dates"), _("Opening"), _("Closing"), _("Balances")],
                        [[s["bank"], _p(s["filename"]), f"{s['date_from']} – {s['date_to']}",
                          "" if s["opening_balance"] is None else fmt(s["opening_balance"]),
                          "" if s["closing_balance"] is None else fmt(s["closing_balance"]),
                          _p(" ".join([str(states[s["state"]])] + s["messages"]))] for s in fig["statements"]],
                        widths=[18 * mm, 35 * mm, 36 * mm, 22 * mm, 22 * mm, 53 * mm], numeric_cols=(3, 4))

    story.append(Spacer(1, 8 * mm))
    story.append(paragraph(_("Sign-off"), H2))
    sign = Table([[_("Prepared by"), "", _("Date"), ""], [_("Checked by"), "", _("Date"), ""],
                  [_("Store manager"), "", _("Date"), ""]],
                 colWidths=[35 * mm, 70 * mm, 20 * mm, 45 * mm], rowHeights=[12 * mm] * 3)
    sign.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "Helvetica", 9),
                              ("LINEBELOW", (1, 0), (1, -1), 0.5, colors.black),
                              ("LINEBELOW", (3, 0), (3, -1), 0.5, colors.black),
                              ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    story.append(sign)
    doc.build(story, onFirstPage=_footer(title), onLaterPages=_footer(title))
    return buf.getvalue(), doc.page


def trial_balance_pdf(date_from=None, date_to=None, store_id=None) -> tuple[bytes, int]:
    tb = services.trial_balance(date_from, date_to, store_id)
    title = _("Trial balance %(start)s to %(end)s", start=tb["date_from"] or "-", end=tb["date_to"] or "-")
    buf = io.BytesIO()
    doc = _doc(buf, title)
    story = [paragraph(title, H1)]
    story += _table([_("Account"), _("Name"), _("Type"), _("Debit"), _("Credit"), _("Balance")],
                    [[r["code"], _p(r["name"]), r["type"], fmt(r["debit"]), fmt(r["credit"]), fmt(r["balance"])]
                     for r in tb["rows"]],
                    widths=[18 * mm, 62 * mm, 20 * mm, 28 * mm, 28 * mm, 28 * mm], numeric_cols=(3, 4, 5),
                    total=[_("Total"), "", "", fmt(tb["total_debit"]), fmt(tb["total_credit"]),
                           fmt(tb["total_debit"] - tb["total_credit"])])
    story.append(Spacer(1, 4 * mm))
    story.append(paragraph(_("The trial balance balances.") if tb["balanced"] else
                           _("THE TRIAL BALANCE DOES NOT BALANCE."), BODY))
    doc.build(story, onFirstPage=_footer(title), onLaterPages=_footer(title))
    return buf.getvalue(), doc.page


def journal_pdf(journal_code=None, date_from=None, date_to=None, store_id=None) -> tuple[bytes, int]:
    rep = services.journal_report(journal_code, date_from, date_to, store_id)
    title = _("Journal %(journal)s %(start)s to %(end)s", journal=journal_code or _("(all)"),
              start=rep["date_from"] or "-", end=rep["date_to"] or "-")
    buf = io.BytesIO()
    doc = _doc(buf, title, pagesize=landscape(A4))
    story = [paragraph(title, H1)]
    story += _table([_("Entry"), _("Date"), _("Journal"), _("Source"), _("Account"), _("Label"), _("Debit"),
                     _("Credit")],
                    [[r["number"], str(r["date"]), r["journal"], f"{r['source_type'] or ''} {r['source_ref'] or ''}"[:40],
                      f"{r['account']} {r['account_name']}"[:40], (r["label"] or "")[:50], fmt(r["debit"]),
                      fmt(r["credit"])] for r in rep["rows"]],
                    widths=[30 * mm, 20 * mm, 20 * mm, 45 * mm, 55 * mm, 55 * mm, 24 * mm, 24 * mm],
                    numeric_cols=(6, 7), row_height=10.5,
                    total=[_("Total"), "", "", "", "", _("%(n)s entries", n=rep["entries"]), fmt(rep["total_debit"]),
                           fmt(rep["total_credit"])])
    doc.build(story, onFirstPage=_footer(title), onLaterPages=_footer(title))
    return buf.getvalue(), doc.page


class _Provider:
    def __init__(self, code, title, fn):
        self.code, self.title, self._fn = code, title, fn

    def render(self, session, params) -> bytes:
        return self._fn(**params)[0]


def report_providers():
    return [
        _Provider("finance.reconciliation", _("Reconciliation (store and period)"),
                  lambda store_id, date_from, date_to, detail=False: reconciliation_pdf(store_id, date_from, date_to,
                                                                                        detail=detail)),
        _Provider("finance.trial_balance", _("Trial balance"), trial_balance_pdf),
        _Provider("finance.journal", _("Journal"), journal_pdf),
    ]
