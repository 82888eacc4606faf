"""Admin shell: CSRF on every POST, a permission for every action, store scoping in lists,
forms, exports and row URLs, roles built from declared permissions, the users screen,
the Addons screen, locale formatting and the ledger pager."""
import csv
import io
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_admin.actions import action

from core.admin.views import ModelView, _indexed_columns
from core.auth.models import Role, User
from core.db import db
from core.models import AddonState, Product, Store, Unit
from core.testing import csrf_token_from


def unit_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Unit))


def token(client, url):
    return csrf_token_from(client.get(url).get_data(as_text=True))


# --- test-only views, added before the app's first request ---------------------------------

class ScopedStoreView(ModelView):
    """Stores as a store-scoped model (its own id is the store)."""
    permission = "core.store"
    store_field = "id"
    column_list = ["code", "name"]
    column_searchable_list = ["code", "name"]


class UnitWithActionView(ModelView):
    permission = "core.unit"
    column_list = ["code", "name"]

    @action("rename", "Rename", "Rename the selected units?")
    def action_rename(self, ids):
        for unit in self.get_query().filter(Unit.id.in_(ids)):
            unit.name = unit.name + " (renamed)"
        db.session.commit()


class InlineUnitView(ModelView):
    permission = "core.unit"
    column_list = ["code", "name"]
    column_editable_list = ["name"]


class PriceView(ModelView):
    permission = "core.product"
    column_list = ["sku", "list_price", "cost", "created_at"]


@pytest.fixture
def views(app):
    admin = app.extensions["o2o.admin"]
    admin.add_view(ScopedStoreView(Store, name="Scoped stores", endpoint="scopedstore"))
    admin.add_view(UnitWithActionView(Unit, name="Units 2", endpoint="unit2"))
    admin.add_view(PriceView(Product, name="Prices", endpoint="prices"))
    admin.add_view(InlineUnitView(Unit, name="Units 3", endpoint="unit3"))
    return admin


@pytest.fixture
def stores(session):
    a, b = Store(code="A01", name="Alpha shop"), Store(code="B02", name="Beta shop")
    session.add_all([a, b])
    session.flush()
    return a, b


# --- CSRF -----------------------------------------------------------------------------------

def test_admin_create_without_csrf_token_is_refused(client_as):
    client = client_as("core.unit.read", "core.unit.create")
    before = unit_count()
    r = client.post("/admin/unit/new/", data={"code": "box", "name": "Box", "digits": "0"})
    assert r.status_code == 400 and unit_count() == before
    r = client.post("/admin/unit/new/", data={"code": "box", "name": "Box", "digits": "0", "csrf_token": "forged"})
    assert r.status_code == 400 and unit_count() == before
    r = client.submit("/admin/unit/new/", {"code": "box", "name": "Box", "digits": "0"})
    assert r.status_code == 302 and unit_count() == before + 1


def test_admin_delete_button_and_action_need_csrf_token(client_as, views):
    client = client_as("core.unit.read", "core.unit.delete", "core.unit.rename")
    unit = Unit(code="crate", name="Crate", digits=0)
    db.session.add(unit)
    db.session.flush()
    html = client.get("/admin/unit/").get_data(as_text=True)
    assert 'action="/admin/unit/delete/' in html and 'name="csrf_token"' in html
    assert client.post("/admin/unit/delete/", data={"id": unit.id}).status_code == 400
    assert client.post("/admin/unit/action/", data={"action": "delete", "rowid": [unit.id]}).status_code == 400
    assert client.post("/admin/unit2/action/", data={"action": "rename", "rowid": [unit.id]}).status_code == 400
    assert db.session.get(Unit, unit.id).name == "Crate"
    good = token(client, "/admin/unit2/")
    r = client.post("/admin/unit2/action/", data={"action": "rename", "rowid": [unit.id], "csrf_token": good})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Unit, unit.id).name == "Crate (renamed)"
    r = client.post("/admin/unit/delete/", data={"id": unit.id, "csrf_token": token(client, "/admin/unit/")})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Unit, unit.id) is None


# --- permissions ----------------------------------------------------------------------------

def test_read_only_user_gets_no_buttons_and_403_on_writes(client_as):
    client = client_as("core.unit.read")
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    html = client.get("/admin/unit/").get_data(as_text=True)
    assert "pc" in html
    assert "/admin/unit/new/" not in html and "/admin/unit/edit/" not in html
    assert "/admin/unit/delete/" not in html and "/admin/unit/export/" not in html
    tok = token(client, "/admin/unit/")
    assert client.get("/admin/unit/new/").status_code == 403
    assert client.post("/admin/unit/new/", data={"code": "box", "name": "Box", "digits": 0,
                                                 "csrf_token": tok}).status_code == 403
    assert client.get(f"/admin/unit/edit/?id={unit.id}").status_code == 403
    assert client.post(f"/admin/unit/edit/?id={unit.id}", data={"code": "pc", "name": "Changed", "digits": 0,
                                                                "csrf_token": tok}).status_code == 403
    assert client.post("/admin/unit/delete/", data={"id": unit.id, "csrf_token": tok}).status_code == 403
    r = client.post("/admin/unit/action/", data={"action": "delete", "rowid": [unit.id], "csrf_token": tok})
    assert r.status_code == 403  # issue 11: a refused action is 403, not a flash and a redirect
    assert client.get("/admin/unit/export/csv/").status_code == 403
    db.session.expire_all()
    assert db.session.get(Unit, unit.id).name != "Changed"


def test_no_read_permission_means_403_and_no_menu_entry(client_as):
    client = client_as("core.store.read")
    assert client.get("/admin/unit/").status_code == 403
    html = client.get("/admin/").get_data(as_text=True)
    assert "/admin/store/" in html and "/admin/unit/" not in html


def test_anonymous_is_sent_to_login(app):
    r = app.test_client().get("/admin/unit/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_action_needs_its_own_permission(client_as, views):
    client = client_as("core.unit.read", "core.unit.edit")
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    html = client.get("/admin/unit2/").get_data(as_text=True)
    assert "rename" not in html.lower() or 'value="rename"' not in html
    r = client.post("/admin/unit2/action/", data={"action": "rename", "rowid": [unit.id],
                                                  "csrf_token": token(client, "/admin/unit2/")})
    assert r.status_code == 403
    db.session.expire_all()
    assert "renamed" not in db.session.get(Unit, unit.id).name


def test_export_with_permission_is_csv_with_search_and_filters(client_as):
    client = client_as("core.unit.read", "core.unit.export")
    r = client.get("/admin/unit/export/csv/?search=kilo")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert len(rows) == 2 and "kg" in rows[1]


def test_wildcard_permission_grants_a_whole_addon(client_as):
    client = client_as("core.*")
    assert client.get("/admin/unit/new/").status_code == 200
    assert client.get("/admin/unit/export/csv/").status_code == 200


# --- store scoping --------------------------------------------------------------------------

def test_store_limited_user_sees_only_own_rows_everywhere(client_as, views, stores):
    a, b = stores
    client = client_as("core.store.read", "core.store.edit", "core.store.export", "core.store.delete", stores=[a])
    html = client.get("/admin/scopedstore/").get_data(as_text=True)
    assert "Alpha shop" in html and "Beta shop" not in html
    html = client.get("/admin/scopedstore/?search=shop").get_data(as_text=True)
    assert "Alpha shop" in html and "Beta shop" not in html
    exported = client.get("/admin/scopedstore/export/csv/").get_data(as_text=True)
    assert "A01" in exported and "B02" not in exported
    assert client.get(f"/admin/scopedstore/edit/?id={a.id}").status_code == 200
    assert client.get(f"/admin/scopedstore/edit/?id={b.id}").status_code == 404
    assert client.get(f"/admin/scopedstore/details/?id={b.id}").status_code == 404
    tok = token(client, "/admin/scopedstore/")
    assert client.post(f"/admin/scopedstore/edit/?id={b.id}", data={"code": "B02", "name": "Hacked",
                                                                     "csrf_token": tok}).status_code == 404
    assert client.post("/admin/scopedstore/delete/", data={"id": b.id, "csrf_token": tok}).status_code == 404
    client.post("/admin/scopedstore/action/", data={"action": "delete", "rowid": [b.id], "csrf_token": tok})
    db.session.expire_all()
    assert db.session.get(Store, b.id).name == "Beta shop"
    # an unlimited user sees both
    boss = client_as("core.store.read")
    html = boss.get("/admin/scopedstore/").get_data(as_text=True)
    assert "Alpha shop" in html and "Beta shop" in html


def test_store_limited_user_cannot_pick_another_store_in_a_form(client_as, stores):
    a, b = stores
    client = client_as("core.user.read", "core.user.create", stores=[a])
    html = client.get("/admin/user/new/").get_data(as_text=True)
    assert "Alpha shop" in html and "Beta shop" not in html
    r = client.submit("/admin/user/new/", {"username": "sneaky", "new_password": "Spring-Rolls-4ever",
                                           "active": "y", "stores": [str(b.id)]})
    assert r.status_code == 200  # the form comes back with an error
    assert db.session.scalar(sa.select(User).where(User.username == "sneaky")) is None
    r = client.submit("/admin/user/new/", {"username": "clerk2", "new_password": "Spring-Rolls-4ever",
                                           "active": "y", "stores": [str(a.id)]})
    assert r.status_code == 302
    created = db.session.scalar(sa.select(User).where(User.username == "clerk2"))
    assert [s.code for s in created.stores] == ["A01"] and created.check_password("Spring-Rolls-4ever")


# --- users and roles screens -----------------------------------------------------------------

def test_roles_screen_offers_declared_permissions_and_saves_them(client_as, app):
    client = client_as("core.role.read", "core.role.create", "core.role.edit")
    html = client.get("/admin/role/new/").get_data(as_text=True)
    for code in ("core.product.read", "core.addons.manage", "core.*", "*"):
        assert f'value="{code}"' in html
    assert "See products" in html
    for code in app.extensions["o2o.permissions"]:
        assert f'value="{code}"' in html
    r = client.submit("/admin/role/new/", {"code": "buyer", "name": "Buyer",
                                           "granted": ["core.product.read", "core.product.edit"]})
    assert r.status_code == 302
    role = db.session.scalar(sa.select(Role).where(Role.code == "buyer"))
    assert role.permission_codes == {"core.product.read", "core.product.edit"}
    # a code no enabled addon declares (an addon switched off) survives an edit
    from core.auth.models import RolePermission
    role.permissions.append(RolePermission(code="gone.thing"))
    db.session.flush()
    html = client.get(f"/admin/role/edit/?id={role.id}").get_data(as_text=True)
    assert re.search(r'value="core.product.edit"[^>]*checked|checked[^>]*value="core.product.edit"', html)
    r = client.submit(f"/admin/role/edit/?id={role.id}", {"code": "buyer", "name": "Buyer",
                                                          "granted": ["core.product.read"]})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Role, role.id).permission_codes == {"core.product.read", "gone.thing"}
    r = client.submit("/admin/role/new/", {"code": "bad", "name": "Bad", "granted": ["made.up"]})
    assert r.status_code == 200 and db.session.scalar(sa.select(Role).where(Role.code == "bad")) is None


def test_users_screen_refuses_weak_password_and_hides_superuser_flag(client_as):
    client = client_as("core.user.read", "core.user.create", "core.user.edit")
    html = client.get("/admin/user/new/").get_data(as_text=True)
    assert 'name="is_superuser"' not in html and "password_hash" not in html
    r = client.submit("/admin/user/new/", {"username": "weak", "new_password": "12345678", "active": "y",
                                           "all_stores": "y", "is_superuser": "y"})
    assert r.status_code == 200 and "too short" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.username == "weak")) is None
    r = client.submit("/admin/user/new/", {"username": "nopass", "active": "y"})
    assert db.session.scalar(sa.select(User).where(User.username == "nopass")) is None
    r = client.submit("/admin/user/new/", {"username": "fine", "new_password": "Lotus-Pond-Evening",
                                           "active": "y", "all_stores": "y", "is_superuser": "y"})
    assert r.status_code == 302
    fine = db.session.scalar(sa.select(User).where(User.username == "fine"))
    assert not fine.is_superuser and fine.check_password("Lotus-Pond-Evening")
    # editing without a new password keeps the old one
    r = client.submit(f"/admin/user/edit/?id={fine.id}", {"username": "fine", "display_name": "Fine", "active": "y",
                                                          "all_stores": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    assert fine.check_password("Lotus-Pond-Evening") and fine.display_name == "Fine"
    superuser = client_as(superuser=True)
    assert 'name="is_superuser"' in superuser.get("/admin/user/new/").get_data(as_text=True)


# --- the Addons screen -------------------------------------------------------------------------

def test_addons_screen_lists_state_version_dependencies(client_as, app):
    client = client_as("core.addons.read")
    html = client.get("/admin/addons/").get_data(as_text=True)
    for name, addon in app.extensions["o2o"].installed.items():
        assert f'data-addon="{name}"' in html and addon.version in html
    assert "Enable</button>" not in html and "Disable</button>" not in html
    assert client.get("/admin/addons/").status_code == 200
    r = client.post("/admin/addons/pos/disable", data={"csrf_token": token(client, "/admin/addons/")})
    assert r.status_code == 403
    assert client_as("core.store.read").get("/admin/addons/").status_code == 403


def test_addons_screen_refuses_disabling_a_needed_addon_and_names_dependants(client_as, app):
    client = client_as("core.addons.read", "core.addons.manage")
    html = client.get("/admin/addons/").get_data(as_text=True)
    assert "Disable</button>" in html
    installed = app.extensions["o2o"].installed
    r = client.post("/admin/addons/warehouse/disable", data={"csrf_token": token(client, "/admin/addons/")},
                    follow_redirects=True)
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and "cannot be disabled" in text
    for dependant in ("purchasing", "sales"):
        if dependant in installed:
            assert installed[dependant].title in text
    assert db.session.get(AddonState, "warehouse").enabled
    r = client.post("/admin/addons/core/disable", data={"csrf_token": token(client, "/admin/addons/")},
                    follow_redirects=True)
    assert "essential" in r.get_data(as_text=True)
    assert client.post("/admin/addons/pos/disable").status_code == 400  # no CSRF token


def test_addons_screen_disables_and_enables_a_leaf_addon(client_as, app):
    client = client_as("core.addons.read", "core.addons.manage")
    before = db.session.scalar(sa.text("SELECT value FROM system_counter WHERE name = 'addons'"))
    r = client.post("/admin/addons/pos/disable", data={"csrf_token": token(client, "/admin/addons/")})
    assert r.status_code == 302
    db.session.expire_all()
    assert not db.session.get(AddonState, "pos").enabled
    after = db.session.scalar(sa.text("SELECT value FROM system_counter WHERE name = 'addons'"))
    assert after == before + 1
    r = client.post("/admin/addons/pos/enable", data={"csrf_token": token(client, "/admin/addons/")})
    db.session.expire_all()
    assert db.session.get(AddonState, "pos").enabled


# --- formatting and pagination -------------------------------------------------------------------

def test_money_and_dates_are_formatted_by_locale(client_as, views, app):
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    db.session.add(Product(sku="TEA-1", name="Green tea", unit=unit, list_price=Decimal("1234.5"),
                           cost=Decimal("2.1234")))
    db.session.flush()
    client = client_as("core.product.read", "core.product.export")
    html = client.get("/admin/prices/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "CN¥1,234.50" in html and "CN¥2.1234" in html
    exported = client.get("/admin/prices/export/csv/").get_data(as_text=True)
    assert "1234.5" in exported and "¥" not in exported  # exports stay machine-readable
    client.user.locale = "zh_Hans_CN"
    html = client.get("/admin/prices/").get_data(as_text=True)
    assert "¥1,234.50" in html and "CN¥" not in html


def test_quantity_and_money_helpers_follow_the_locale(app):
    from flask import g
    from core.admin.views import format_money, format_quantity
    with app.test_request_context("/"):
        g.o2o_locale = "en"
        assert format_quantity(Decimal("12345.500")) == "12,345.5"
        assert format_money(Decimal("-3.10")) == "-CN¥3.10"
    g.pop("o2o_locale")
    from flask_babel import refresh
    refresh()
    with app.test_request_context("/", headers={"Accept-Language": "de-DE,de;q=0.9"}):
        app.config["SUPPORTED_LOCALES"] = ["en", "zh_Hans_CN", "de"]
        try:
            assert format_quantity(Decimal("12345.500")) == "12.345,5"
        finally:
            app.config["SUPPORTED_LOCALES"] = ["en", "zh_Hans_CN"]


def test_ledger_views_skip_count_and_sort_on_indexed_columns(app):
    admin = app.extensions["o2o.admin"]
    ledgers = [v for v in admin._views if isinstance(v, ModelView) and v.simple_list_pager]
    assert ledgers, "the audit log at least is a ledger view"
    for view in ledgers:
        column = view.column_default_sort
        if isinstance(column, list):  # several sort keys: the first one leads
            column = column[0]
        name = column[0] if isinstance(column, tuple) else column
        if not isinstance(name, str):
            name = name.key
        indexed = name in _indexed_columns(view.model)
        assert indexed, f"{view.endpoint}: default sort {name} is not indexed"


def test_ledger_list_runs_no_count_query(client_as, app):
    from sqlalchemy import event
    client = client_as("core.audit.read")
    statements = []
    engine = db.engine

    def listen(conn, cursor, statement, *args):
        statements.append(statement)
    event.listen(engine, "before_cursor_execute", listen)
    try:
        r = client.get("/admin/auditlog/")
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert r.status_code == 200
    assert not [s for s in statements if "count(" in s.lower() and "audit_log" in s.lower()]


def test_inline_list_edit_needs_edit_permission(client_as, views):
    unit = db.session.scalar(sa.select(Unit).where(Unit.code == "pc"))
    reader = client_as("core.unit.read")
    tok = token(reader, "/admin/unit3/")
    r = reader.post("/admin/unit3/ajax/update/", data={"list_form_pk": unit.id, "name": "Hacked", "csrf_token": tok})
    assert r.status_code == 403
    assert reader.post("/admin/unit3/ajax/update/", data={"list_form_pk": unit.id, "name": "Hacked"}).status_code == 400
    editor = client_as("core.unit.read", "core.unit.edit")
    r = editor.post("/admin/unit3/ajax/update/", data={"list_form_pk": unit.id, "name": "Piece (each)",
                                                       "csrf_token": token(editor, "/admin/unit3/")})
    assert r.status_code == 200, r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Unit, unit.id).name == "Piece (each)"


def test_list_filters_and_search(client_as, app):
    from core.testing import make_user
    make_user("gone_clerk", []).active = False
    make_user("here_clerk", [])
    db.session.flush()
    client = client_as("core.user.read")
    view = next(v for v in app.extensions["o2o.admin"]._views if getattr(v, "endpoint", None) == "user")
    index = next(i for i, f in enumerate(view._filters)
                 if f.column.key == "active" and type(f).__name__.startswith("BooleanEqual"))
    html = client.get(f"/admin/user/?flt0_{index}=0").get_data(as_text=True)
    assert "gone_clerk" in html and "here_clerk" not in html
    html = client.get("/admin/user/?search=here_").get_data(as_text=True)
    assert "here_clerk" in html and "gone_clerk" not in html
