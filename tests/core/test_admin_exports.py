"""Admin CSV exports (issue 11, section 3): every list exports whole, and every cell is
inert in a spreadsheet.

The requests run the way a server runs them: without the test's outer app context, so the
request's database session is closed when the view returns (in the test's shared context
it never was, and the lazy-load failure of the product, category, location and journal
entry exports could not show)."""
from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask.globals import _cv_app

from core.admin.views import ModelView
from core.csvio import safe_cell
from core.db import db
from core.models import Partner
from tests.core.admin_seed import seed_everything


@contextmanager
def own_request_context():
    """Pop the test's app context for the duration: each request gets its own, as in
    production, and its session is removed at the end of the request."""
    ctx = _cv_app.get()
    ctx.pop()
    try:
        yield
    finally:
        ctx.push()


def export(client, view):
    with own_request_context():
        response = client.get(f"{view.url}/export/csv/")
        body = response.get_data(as_text=True)
    return response, body


def exporting_views(app):
    return [v for v in app.extensions["o2o.admin"]._views if isinstance(v, ModelView) and v.allow_export]


def test_every_admin_list_exports_every_row(app, client_as):
    client = client_as(superuser=True)
    seed_everything(app, client.user)
    db.session.commit()
    views = exporting_views(app)
    assert len(views) >= 50  # every built-in addon's lists
    problems = []
    for view in views:
        expected = min(db.session.scalar(sa.select(sa.func.count()).select_from(view.model)), view.export_max_rows)
        response, body = export(client, view)
        if response.status_code != 200 or not response.mimetype == "text/csv":
            problems.append(f"{view.endpoint}: {response.status_code} {response.mimetype}")
            continue
        rows = list(csv.reader(io.StringIO(body)))
        header, data = rows[0], rows[1:]
        if not data:
            problems.append(f"{view.endpoint}: only the header")
        elif len(data) != expected:
            problems.append(f"{view.endpoint}: {len(data)} rows of {expected}")
        elif any(len(r) != len(header) for r in data):
            problems.append(f"{view.endpoint}: a row does not have the header's {len(header)} cells")
    assert not problems, problems


def test_a_formula_in_a_name_is_exported_as_text(app, client_as):
    evil = '=HYPERLINK("http://evil","x")'
    db.session.add_all([Partner(name=evil, is_customer=True), Partner(name="-5", is_customer=True),
                        Partner(name="@SUM(A1)", is_customer=True), Partner(name="+86 21 5555", is_customer=True)])
    db.session.commit()
    client = client_as("core.partner.read", "core.partner.export")
    view = next(v for v in exporting_views(app) if v.endpoint == "partner")
    response, body = export(client, view)
    assert response.status_code == 200
    cells = {c for row in csv.reader(io.StringIO(body)) for c in row}
    assert "'" + evil in cells and "'-5" in cells and "'@SUM(A1)" in cells and "'+86 21 5555" in cells
    assert evil not in cells and "-5" not in cells


def test_numbers_stay_numbers_text_that_looks_like_a_formula_does_not():
    # A number the export writes from a numeric value is a number (a spreadsheet sums it);
    # the same characters as text are prefixed like any other text (OWASP).
    assert safe_cell(Decimal("-5.00")) == "-5.00" and safe_cell(-3) == "-3" and safe_cell(Decimal("12.30")) == "12.30"
    assert safe_cell("-5.00") == "'-5.00" and safe_cell("+1") == "'+1" and safe_cell("\rX") == "'\rX"
    assert safe_cell(None) == "" and safe_cell("plain") == "plain" and safe_cell(True) == "True"


@pytest.mark.parametrize("endpoint", ["product", "category", "warehouse_location", "finance_entry"])
def test_the_four_lists_that_stopped_after_the_header(app, client_as, endpoint):
    client = client_as(superuser=True)
    from core.addons import load_demo
    load_demo(app, db.session)
    db.session.commit()
    view = next(v for v in exporting_views(app) if v.endpoint == endpoint)
    response, body = export(client, view)
    rows = list(csv.reader(io.StringIO(body)))
    assert response.status_code == 200 and len(rows) > 2, body[:300]
