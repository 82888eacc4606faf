"""Till documents with ReportLab: the receipt (80 mm roll) and the Z report.

Both are drawn from the stored document (the JSON written with the sale or the close), so a
reprint shows exactly what was recorded, marked DUPLICATE.
"""
from __future__ import annotations

import io
from decimal import Decimal

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from core.i18n import _, _l
from core.pdf import draw_string, fit
from core.timeutil import format_local, parse_iso

# The shipped footer (POS_RECEIPT_FOOTER's default) prints in the reader's language; a footer
# the chain wrote itself prints as written.
DEFAULT_FOOTER = "Thank you for your visit"
_DEFAULT_FOOTER = _l("Thank you for your visit")
# The payment methods sales ships (base data, by code) print translated; a method the chain
# added prints its code, as stored in the document.
_METHODS = {"cash": _l("Cash"), "card": _l("Bank card"), "wallet": _l("Mobile wallet"), "voucher": _l("Voucher"),
            "store_credit": _l("Store credit")}


def method_label(code: str) -> str:
    """A payment method as printed on a receipt or Z report."""
    label = _METHODS.get(code)
    return str(label) if label is not None else code


def footer_text(footer: str | None) -> str:
    """The receipt footer to print: the shipped default translated, any other as set."""
    return str(_DEFAULT_FOOTER) if footer == DEFAULT_FOOTER else (footer or "")

WIDTH = 80 * mm
MARGIN = 4 * mm
LINE = 11


class _Roll:
    """Draw lines top-down on a roll-shaped page whose height fits the content."""

    def __init__(self, rows_estimate: int, width=WIDTH):
        self.buffer = io.BytesIO()
        self.width = width
        self.height = max(120 * mm, (rows_estimate + 6) * LINE + 2 * MARGIN)
        self.c = canvas.Canvas(self.buffer, pagesize=(self.width, self.height))
        self.y = self.height - MARGIN - LINE

    def text(self, left: str = "", right: str | None = None, *, bold=False, size=8, center=False):
        font = "Helvetica-Bold" if bold else "Helvetica"
        self.c.setFont(font, size)
        if center:
            draw_string(self.c, self.width / 2, self.y, left, align="centre")
        else:
            draw_string(self.c, MARGIN, self.y, left)
        if right is not None:
            draw_string(self.c, self.width - MARGIN, self.y, right, align="right")
        self.y -= LINE + (size - 8)

    def rule(self):
        self.c.setLineWidth(0.5)
        self.c.line(MARGIN, self.y + LINE / 2, self.width - MARGIN, self.y + LINE / 2)
        self.y -= LINE / 2

    def finish(self, title: str) -> bytes:
        self.c.setTitle(title)
        self.c.showPage()
        self.c.save()
        return self.buffer.getvalue()


def _clip(text: str, n: int = 34) -> str:
    text = text if len(text) <= n else text[: n - 1] + "…"
    return fit(text, WIDTH - 2 * MARGIN)


def _shown(doc: dict, local_key: str, utc_key: str) -> str:
    """A document's time as printed: the store's local time it was recorded with (documents
    written before that was kept: their UTC time converted to the store's zone)."""
    return doc.get(local_key) or format_local(parse_iso(doc.get(utc_key)), doc.get("store_id"))


def receipt_pdf(doc: dict, *, duplicate: bool = False, footer: str = "") -> bytes:
    rows = 16 + 2 * len(doc.get("lines", ())) + len(doc.get("payments", ()))
    r = _Roll(rows)
    if duplicate:
        r.text(_("*** DUPLICATE ***"), bold=True, size=11, center=True)
    r.text(doc.get("store", ""), bold=True, size=10, center=True)
    if doc.get("store_address"):
        r.text(_clip(doc["store_address"], 48), center=True)
    title = _("REFUND") if doc.get("kind") == "refund" else _("RECEIPT")
    r.text(f"{title} {doc['receipt']}", bold=True)
    r.text(_shown(doc, "local_time", "created_at"), doc.get("register", ""))
    if doc.get("refund_of"):
        r.text(_("Refund of %(receipt)s", receipt=doc["refund_of"]))
    r.rule()
    for line in doc.get("lines", ()):
        r.text(_clip(line["name"]))
        qty = Decimal(line["quantity"]).normalize()
        r.text(f"  {qty:f} x {Decimal(line['unit_price']).quantize(Decimal('0.01'))}"
               + (f"  -{Decimal(line['discount']).normalize():f}%" if Decimal(line.get("discount", "0")) else ""),
               line["total"])
    r.rule()
    r.text(_("TOTAL"), doc["total"], bold=True, size=10)
    if Decimal(doc.get("cash_rounding", "0")):
        r.text(_("Cash rounding"), doc["cash_rounding"])
    for p in doc.get("payments", ()):
        r.text(method_label(p["method"]), p.get("tendered", p["amount"]))
    r.text(_("Change"), doc.get("change_given", "0.00"))
    r.text(_("of which tax"), doc.get("tax_total", "0.00"))
    r.text(_("Net"), doc.get("net_total", "0.00"))
    r.rule()
    if footer:
        r.text(footer, center=True)
    if duplicate:
        r.text(_("*** DUPLICATE ***"), bold=True, size=11, center=True)
    return r.finish(f"{title} {doc['receipt']}" + (" DUPLICATE" if duplicate else ""))


def z_report_pdf(data: dict, *, duplicate: bool = False) -> bytes:
    rows = 30 + len(data.get("methods", {})) * 3 + len(data.get("taxes", ()))
    r = _Roll(rows)
    if duplicate:
        r.text(_("*** DUPLICATE ***"), bold=True, size=11, center=True)
    r.text(_("Z REPORT %(number)s", number=f"{data['z_number']:06d}"), bold=True, size=10, center=True)
    r.text(data.get("register", ""), center=True)
    r.text(_("Session"), data.get("session", ""))
    r.text(_("Opened"), _shown(data, "opened_local", "opened_at"))
    r.text(_("Closed"), _shown(data, "closed_local", "closed_at"))
    r.rule()
    r.text(_("Sales count"), str(data["sales_count"]))
    r.text(_("Sales total"), data["sales_total"])
    r.text(_("Refunds count"), str(data["refunds_count"]))
    r.text(_("Refunds total"), data["refunds_total"])
    r.text(_("Discounts"), data["discounts_total"])
    r.text(_("Net total"), data["net_total"], bold=True)
    r.rule()
    r.text(_("Tax summary"), bold=True)
    for t in data.get("taxes", ()):
        r.text(_("Rate %(rate)s%%", rate=f"{Decimal(t['rate']).normalize():f}"), "")
        r.text(_("  net %(net)s  tax %(tax)s", net=t["net"], tax=t["tax"]), t["total"])
    r.text(_("Tax total"), data["tax_total"])
    r.rule()
    r.text(_("Payment methods (expected / counted / difference)"), bold=True)
    for method, t in sorted(data.get("methods", {}).items()):
        r.text(method_label(method), "")
        r.text(f"  {t['expected']} / {t['counted']}", t["difference"])
    r.rule()
    r.text(_("Opening float"), data["opening_float"])
    r.text(_("Cash in/out"), data["cash_in_out_total"])
    r.text(_("Cash expected"), data["cash_expected"])
    r.text(_("Cash counted"), data["cash_counted"])
    r.text(_("Cash difference"), data["cash_difference"], bold=True)
    if data.get("difference_reason"):
        r.text(_clip(_("Reason: %(reason)s", reason=data["difference_reason"]), 48))
    r.rule()
    r.text(_("Grand total (perpetual)"), data["grand_total"], bold=True)
    if duplicate:
        r.text(_("*** DUPLICATE ***"), bold=True, size=11, center=True)
    return r.finish(_("Z report %(number)s", number=data["z_number"]) + (" DUPLICATE" if duplicate else ""))
