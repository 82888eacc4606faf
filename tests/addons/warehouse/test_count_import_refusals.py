"""Count sheet CSV imports (issue 11, section 3): a file that is not UTF-8, holds a NUL, has
an unknown barcode at its very end or a bad quantity is refused with the line named, in
the user's language, and nothing is set; a big file is read line by line."""
from __future__ import annotations

import io
import tracemalloc
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from core.db import db
from core.errors import ValidationError

BARCODE = "4006381333931"
ZH = {"zh": "zh-CN,zh;q=0.9"}


@pytest.fixture
def sheet(wh, client_as):
    wh.tea.barcode = BARCODE
    wh.s.receive(wh.tea.id, wh.loc_a.id, D(10), D(1), source="PO")
    count = wh.s.create_count(wh.wh_a.id)
    wh.s.start_count(count.id)
    db.session.commit()
    clerk = client_as("warehouse.count.read", "warehouse.count.edit", "warehouse.count.import", stores=[wh.store_a])
    return count, clerk


def upload(clerk, count, data: bytes, lang=None):
    headers = {"Accept-Language": ZH[lang]} if lang else {}
    return clerk.submit(f"/admin/warehouse_count/sheet/{count.id}", {"csv": (io.BytesIO(data), "scan.csv")},
                        content_type="multipart/form-data", headers=headers)


def counted(count):
    from addons.warehouse.models import CountLine
    db.session.expire_all()
    return db.session.scalars(sa.select(CountLine.counted).where(CountLine.count_id == count.id)).all()


def test_a_latin1_sheet_is_refused_with_its_line_in_both_languages(sheet):
    count, clerk = sheet
    data = f"barcode,counted\n{BARCODE},3\n{BARCODE},1\n".encode() + "caf\u00e9,1\n".encode("latin-1")
    r = upload(clerk, count, data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Line 4 is not UTF-8 text" in html
    assert "codec" not in html and "0xe9" not in html  # no raw Python error
    r = upload(clerk, count, data, lang="zh")
    assert r.status_code == 422 and "第 4 行不是 UTF-8 文本" in r.get_data(as_text=True)
    assert counted(count) == [None]


def test_an_unknown_barcode_at_the_end_of_a_big_file_is_refused_with_its_line(sheet):
    count, clerk = sheet
    lines = 30_000
    data = ("barcode,counted\n" + f"{BARCODE},1\n" * lines + "0000000000000,1\n").encode()
    r = upload(clerk, count, data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and f"Line {lines + 2}: no product has the barcode" in html, html[-3000:]
    assert counted(count) == [None]


def test_a_nul_byte_is_refused_with_its_line(sheet):
    count, clerk = sheet
    r = upload(clerk, count, f"barcode,counted\n{BARCODE},1\n40063\x0081333931,1\n".encode())
    assert r.status_code == 422 and "Line 3 contains a NUL character" in r.get_data(as_text=True)
    assert counted(count) == [None]


def test_a_bad_quantity_is_refused_with_its_line(wh, sheet):
    count, _clerk = sheet
    with pytest.raises(ValidationError) as exc:
        wh.s.import_count_csv(count.id, f"barcode,counted\n{BARCODE},1\n{BARCODE},1.23456\n".encode())
    assert exc.value.message.startswith("Line 3: ") and "3 decimals" in exc.value.message
    with pytest.raises(ValidationError) as exc:
        wh.s.import_count_csv(count.id, f"barcode,counted\n{BARCODE},lots\n")
    assert exc.value.message.startswith("Line 2: ")
    assert counted(count) == [None]


def test_a_good_sheet_from_an_upload_stream_with_a_bom_and_crlf(wh, sheet):
    count, clerk = sheet
    r = upload(clerk, count, f"\ufeffBarcode,Counted\r\n{BARCODE},4\r\n{wh.cola.sku},2\r\n\r\n{BARCODE},1\r\n".encode())
    assert r.status_code == 302, r.get_data(as_text=True)[-2000:]
    assert sorted(counted(count)) == [D(2), D(5)]


def test_a_big_sheet_is_read_line_by_line(wh, sheet):
    count, _clerk = sheet
    data = ("barcode,counted\n" + f"{BARCODE},1\n" * 250_000).encode()  # 4.5 MB
    stream = io.BytesIO(data)
    tracemalloc.start()
    try:
        assert wh.s.import_count_csv(count.id, stream) == 1
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the whole file as text would be as big again as the bytes (and a list of its rows
    # several times that); read line by line, a small fraction of it is ever held
    assert peak < len(data) / 4, (peak, len(data))
    assert counted(count) == [D(250_000)]


def test_the_api_refuses_a_latin1_sheet_with_its_line(wh, sheet, api_client):
    count, _clerk = sheet
    api = api_client("warehouse.count.import", "warehouse.count.read", stores=[wh.store_a])
    data = f"barcode,counted\n{BARCODE},3\n".encode() + "caf\u00e9,1\n".encode("latin-1")
    r = api.post(f"/api/v1/stock/counts/{count.id}/import", data=data, content_type="text/csv")
    assert r.status_code == 422, r.get_data(as_text=True)
    assert "Line 3 is not UTF-8 text" in r.get_json()["detail"]
    assert counted(count) == [None]
    r = api.post(f"/api/v1/stock/counts/{count.id}/import", data=f"barcode,counted\n{BARCODE},3\n".encode(),
                 content_type="text/csv")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert counted(count) == [D(3)]
