"""Admin refusals (issue 11, section 2): a user without the permission gets 403 with a page
saying why, in their language, for every kind of request (list, create, edit, delete,
export, list actions); nothing changes. They used to get a flash and a redirect: 200."""
from __future__ import annotations

import sqlalchemy as sa

from core.db import db
from core.models import Partner
from core.testing import csrf_token_from

MESSAGE = {"en": "You are not allowed to do that.", "zh": "您没有执行此操作的权限。"}


def refused(response, lang="en"):
    body = response.get_data(as_text=True)
    return response.status_code == 403 and MESSAGE[lang] in body and 'id="refused"' in body


def partner():
    row = Partner(name="Refusal test partner", is_customer=True)
    db.session.add(row)
    db.session.commit()
    return row


def test_every_kind_of_admin_request_without_the_permission_is_403(app, client_as):
    row = partner()
    client = client_as("core.partner.read")
    page = client.get("/admin/partner/")
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    assert refused(client.get("/admin/partner/new/"))
    assert refused(client.post("/admin/partner/new/", data={"name": "x", "csrf_token": token}))
    assert refused(client.get(f"/admin/partner/edit/?id={row.id}"))
    assert refused(client.post(f"/admin/partner/edit/?id={row.id}", data={"name": "x", "csrf_token": token}))
    assert refused(client.post("/admin/partner/delete/", data={"id": row.id, "csrf_token": token}))
    assert refused(client.get("/admin/partner/export/csv/"))
    # the list's delete action, posted by someone who may not delete
    assert refused(client.post("/admin/partner/action/", data={"action": "delete", "rowid": str(row.id),
                                                               "csrf_token": token}))
    # a view the user may not read at all
    assert refused(client.get("/admin/product/"))
    db.session.expire_all()
    assert db.session.get(Partner, row.id).name == "Refusal test partner"


def test_a_custom_action_without_its_permission_is_403(app, client_as):
    from addons.warehouse import services as ws
    from core.models import Store
    store = Store(code="RF1", name="Refusal shop", kind="shop")
    db.session.add(store)
    db.session.flush()
    count = ws.create_count(ws.warehouse_for_store(store.id).id)
    db.session.commit()
    client = client_as("warehouse.count.read")
    page = client.get("/admin/warehouse_count/")
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post("/admin/warehouse_count/action/", data={"action": "start", "rowid": str(count.id),
                                                                   "csrf_token": token})
    assert refused(response)
    db.session.expire_all()
    assert db.session.scalar(sa.select(type(count).state).where(type(count).id == count.id)) == "draft"


def test_the_refusal_page_is_in_the_users_language(app, client_as):
    client = client_as("core.partner.read")
    response = client.get("/admin/partner/new/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert refused(response, "zh"), response.get_data(as_text=True)[:2000]
