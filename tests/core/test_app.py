def test_login_page_and_admin_needs_login(app):
    client = app.test_client()
    assert client.get("/admin/").status_code == 302
    page = client.get("/login")
    assert page.status_code == 200 and b"csrf_token" in page.data


def test_login_without_csrf_token_is_refused(app):
    from core.testing import make_user
    make_user("clerk", ["core.product.read"])
    response = app.test_client().post("/login", data={"username": "clerk", "password": "correct horse battery"})
    assert response.status_code == 400


def test_superuser_sees_a_menu_section_per_enabled_addon(client_as, app):
    client = client_as(superuser=True)
    html = client.get("/admin/").get_data(as_text=True)
    assert "Master data" in html
    for name in app.extensions["o2o"].enabled:
        assert app.extensions["o2o"].addon(name).title in html


def test_wrong_password_is_refused_and_throttled(app):
    from core.testing import FormClient, make_user
    make_user("victim", [])
    client = FormClient(app.test_client())
    for _ in range(5):
        r = client.submit("/login", {"username": "victim", "password": "wrong password"})
        assert r.status_code == 401
    r = client.submit("/login", {"username": "victim", "password": "correct horse battery"})
    assert r.status_code == 401 and b"Too many failed logins" in r.data
