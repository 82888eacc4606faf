"""The stock valuation report as a PDF (ReportLab)."""
from __future__ import annotations

import io
from decimal import Decimal

from core.i18n import _
from core.timeutil import company_timezone, format_local, now


def _fmt(value: Decimal, places: int = 2) -> str:
    return f"{value:,.{places}f}"


def valuation_pdf(data: dict, *, title: str | None = None, currency: str = "") -> bytes:
    """``data`` is what ``services.valuation()`` returns: one row per warehouse and
    category with quantity and value, a subtotal per warehouse and the grand total."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer, TableStyle

    from core.pdf import Table, paragraph, styles as pdf_styles

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=15 * mm, bottomMargin=15 * mm,
                            title=title or _("Stock valuation"))
    styles = pdf_styles()
    story = [paragraph(title or _("Stock valuation"), styles["Title"]),
             paragraph(_("Quantity on hand x moving average cost, by warehouse and category. "
                         "Printed %(when)s (%(zone)s).", when=format_local(now()), zone=company_timezone()),
                       styles["Normal"]),
             Spacer(1, 6 * mm)]
    value_head = _("Value") + (f" ({currency})" if currency else "")
    table = [[_("Warehouse"), _("Category"), _("Quantity"), value_head]]
    subtotal_rows = []
    current, sub_q, sub_v = None, Decimal(0), Decimal(0)

    def close_group():
        if current is not None:
            table.append(["", _("Subtotal %(warehouse)s", warehouse=current), _fmt(sub_q, 3), _fmt(sub_v)])
            subtotal_rows.append(len(table) - 1)

    for row in data["rows"]:
        label = f"{row['warehouse_code']} {row['warehouse_name']}"
        if label != current:
            close_group()
            current, sub_q, sub_v = label, Decimal(0), Decimal(0)
        table.append([label, row["category"], _fmt(row["quantity"], 3), _fmt(row["value"])])
        sub_q += row["quantity"]
        sub_v += row["value"]
    close_group()
    table.append([_("Total"), "", _fmt(data["total_quantity"], 3), _fmt(data["total_value"])])
    t = Table(table, colWidths=[55 * mm, 60 * mm, 30 * mm, 35 * mm], repeatRows=1)
    style = [
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dddddd")),
        ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
        ("LINEABOVE", (0, -1), (-1, -1), 1, colors.black),
        ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
    ]
    for i in subtotal_rows:
        style.append(("FONTNAME", (0, i), (-1, i), "Helvetica-Oblique"))
    t.setStyle(TableStyle(style))
    story.append(t)
    doc.build(story)
    return buf.getvalue()
