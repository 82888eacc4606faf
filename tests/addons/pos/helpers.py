from __future__ import annotations

import io
import uuid

import pypdf


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def open_session(client, register, amount="100.00"):
    r = client.post(f"/api/v1/pos/registers/{register.id}/sessions", json={"opening_float": amount})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def sell(client, register, lines, payments, key=None, expect=201):
    r = client.post("/api/v1/pos/sales", headers={"Idempotency-Key": key or uuid.uuid4().hex},
                    json={"register_id": register.id, "lines": lines, "payments": payments})
    assert r.status_code == expect, r.get_json()
    return r.get_json()
