"""The purchase order PDF (ReportLab, A4) to print or mail to the supplier."""
from __future__ import annotations

import io
from decimal import Decimal

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, TableStyle

from core.i18n import _
from core.pdf import Table, paragraph, styles as pdf_styles


def _money(value: Decimal, currency: str) -> str:
    return f"{currency} {Decimal(value):,.2f}"


def _qty(value: Decimal) -> str:
    text = f"{Decimal(value):,.3f}".rstrip("0").rstrip(".")
    return text or "0"


def _price(value: Decimal) -> str:
    q = Decimal(value).quantize(Decimal("0.0001"))
    text = f"{q:,.4f}"
    # keep at least two decimals
    whole, frac = text.split(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{whole}.{frac}"


def _address(partner_or_store) -> list[str]:
    parts = []
    for attr in ("street", "postcode", "city", "country"):
        value = getattr(partner_or_store, attr, None)
        if value:
            parts.append(str(value))
    return [", ".join(parts)] if parts else []


def order_pdf(order, *, company: str = "o2o") -> bytes:
    """The purchase order as a PDF: supplier, deliver-to, dates, lines with the supplier's
    codes, totals. Works for any state; a draft or cancelled order is marked as such."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=_("Purchase order %(number)s", number=order.number),
                            author=company)
    styles = pdf_styles()
    story = []
    title = _("Purchase order %(number)s", number=order.number)
    if order.state in ("draft", "to_approve"):
        title += " — " + _("DRAFT, NOT APPROVED")
    elif order.state == "cancelled":
        title += " — " + _("CANCELLED")
    story.append(paragraph(title, styles["Title"]))
    supplier, warehouse = order.supplier, order.warehouse
    deliver = [warehouse.name if warehouse is not None else ""]
    store = getattr(warehouse, "store", None)
    if store is not None:
        deliver += _address(store)
    head = [
        [_("Supplier"), _("Deliver to")],
        [paragraph(None, styles["Normal"], lines=[supplier.name] + _address(supplier)),
         paragraph(None, styles["Normal"], lines=deliver)],
    ]
    t = Table(head, colWidths=[87 * mm, 87 * mm])
    t.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [t, Spacer(1, 4 * mm)]
    dates = [[_("Order date"), order.order_date.isoformat(), _("Expected delivery"),
              order.expected_date.isoformat() if order.expected_date else "-"]]
    if order.supplier_ref:
        dates.append([_("Your reference"), order.supplier_ref, "", ""])
    t = Table(dates, colWidths=[35 * mm, 52 * mm, 35 * mm, 52 * mm])
    t.setStyle(TableStyle([("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"),
                           ("FONTNAME", (2, 0), (2, -1), "Helvetica-Bold")]))
    story += [t, Spacer(1, 6 * mm)]
    rows = [["#", _("Your code"), _("Description"), _("Quantity"), _("Unit price"), _("Tax %"), _("Amount")]]
    for line in order.lines:
        desc = line.description + (" (" + _("free of charge") + ")" if line.free_of_charge else "")
        rows.append([str(line.sequence), line.supplier_code or "", paragraph(desc, styles["BodyText"]),
                     _qty(line.quantity), _price(line.unit_price), _qty(line.tax_rate),
                     f"{line.net_amount:,.2f}"])
    cur = order.currency
    rows.append(["", "", "", "", "", _("Net"), _money(order.net_total, cur)])
    rows.append(["", "", "", "", "", _("Tax"), _money(order.tax_total, cur)])
    rows.append(["", "", "", "", "", _("Total"), _money(order.total, cur)])
    n = len(order.lines)
    t = Table(rows, colWidths=[8 * mm, 24 * mm, 62 * mm, 18 * mm, 22 * mm, 14 * mm, 26 * mm], repeatRows=1)
    t.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"), ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black), ("ALIGN", (3, 0), (-1, -1), "RIGHT"),
        ("LINEABOVE", (0, n + 1), (-1, n + 1), 0.5, colors.black),
        ("FONTNAME", (0, n + 3), (-1, n + 3), "Helvetica-Bold"), ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story += [t, Spacer(1, 8 * mm)]
    story.append(paragraph(_("Please quote %(number)s on your delivery note and invoice.", number=order.number),
                           styles["Normal"]))
    if order.note:
        story.append(paragraph(order.note, styles["Normal"]))
    doc.build(story)
    return buffer.getvalue()
