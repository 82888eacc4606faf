"""Uploads (issue 11, section 3): a size limit (MAX_CONTENT_LENGTH, 413 with a clear answer
on pages and the API) and product CSVs read line by line, refusing a NUL with its line
before anything is written (the check passed it, then the import answered 500 on
PostgreSQL)."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from core.config import load_config
from core.db import db
from core.models import Product
from core.services.products import import_products
from core.testing import csrf_token_from

HEADER = "sku,name,unit,list_price\n"
LIMIT = 64 * 1024


@pytest.fixture
def app(make_app):
    return make_app(MAX_CONTENT_LENGTH=LIMIT)


def test_the_default_limit_is_16_mb():
    assert load_config(environ={})["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    assert load_config(environ={"O2O_MAX_CONTENT_LENGTH": "1048576"})["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_an_upload_over_the_limit_is_413_with_a_clear_page(client_as):
    client = client_as("core.product.read", "core.product.import")
    page = client.get("/admin/product-import/")
    token = csrf_token_from(page.get_data(as_text=True))
    big = HEADER.encode() + b"X1,Too big,pc,1\n" * (LIMIT // 10)
    for headers, text in (({}, "The upload is larger than the 65536 bytes"), ({"Accept-Language": "zh-CN"}, "上传的文件超过")):
        r = client.post("/admin/product-import/check", data={"csrf_token": token, "file": (io.BytesIO(big), "p.csv")},
                        content_type="multipart/form-data", headers=headers)
        assert r.status_code == 413 and text in r.get_data(as_text=True), r.get_data(as_text=True)[:500]
    assert db.session.scalar(sa.select(Product.id).where(Product.sku == "X1")) is None


def test_an_api_body_over_the_limit_is_a_413_problem(api_client):
    client = api_client(superuser=True)
    r = client.post("/api/v1/products", data=b"{" + b" " * LIMIT + b"}", content_type="application/json")
    assert r.status_code == 413 and r.mimetype == "application/problem+json"
    assert r.get_json()["max_content_length"] == LIMIT and "MAX_CONTENT_LENGTH" in r.get_json()["detail"]


def test_a_nul_in_a_product_csv_is_refused_with_its_line(session):
    result = import_products((HEADER + "NUL-1,Fine,pc,1\nNUL-2,Bad\x00name,pc,1\n").encode())
    assert not result.ok and result.errors[0].line == 3 and "NUL" in result.errors[0].message
    assert db.session.scalar(sa.select(Product.id).where(Product.sku.like("NUL-%"))) is None


def test_a_nul_in_a_product_csv_is_refused_in_the_admin_check(client_as):
    client = client_as("core.product.read", "core.product.import")
    r = client.submit("/admin/product-import/", {"file": (io.BytesIO((HEADER + "NUL-1,Bad\x00,pc,1\n").encode()), "p.csv")},
                      post_url="/admin/product-import/check", content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Line 2 contains a NUL character" in html and 'name="token"' not in html


def test_a_product_csv_not_in_utf8_names_its_line(session):
    result = import_products(HEADER.encode() + b"ENC-1,Fine,pc,1\n" + "ENC-2,Caf\u00e9,pc,1\n".encode("latin-1"))
    assert not result.ok and result.errors[0].line == 3 and "UTF-8" in result.errors[0].message


def test_a_product_csv_is_imported_from_a_stream(client_as):
    client = client_as("core.product.read", "core.product.import", "core.product.create", "core.product.edit")
    data = ("\ufeff" + HEADER + 'STR-1,"Two\nlines",pc,1\r\nSTR-2,Plain,pc,2.5\r\n').encode()
    r = client.submit("/admin/product-import/", {"file": (io.BytesIO(data), "p.csv")},
                      post_url="/admin/product-import/check", content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html[-2000:]
    token = html.split('name="token" value="', 1)[1].split('"', 1)[0]
    r = client.post("/admin/product-import/import", data={"token": token, "csrf_token": csrf_token_from(html)})
    assert r.status_code == 302
    db.session.expire_all()
    names = dict(db.session.execute(sa.select(Product.sku, Product.name).where(Product.sku.like("STR-%"))).all())
    assert names == {"STR-1": "Two\nlines", "STR-2": "Plain"}
