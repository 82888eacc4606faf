"""A separately packaged addon (examples/o2o-giftwrap), installed with pip, is found through
the same ``o2o.addons`` entry points as the built-ins: it shows in ``o2o addons list``;
enabling it runs its own Alembic branch and base data and shows its admin view, API and
permissions in a running app; disabling hides them and keeps its rows.

pip installs the package with ``--target`` into a temporary folder that is put on the path
(of the ``o2o`` subprocesses and, for the running app, of this process) only for these
tests: nothing is installed into the shared environment, and the addon never leaks into
other tests (core.testing discovers only built-ins unless asked).
"""
from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import db

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "o2o-giftwrap"
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def giftwrap_package(tmp_path_factory):
    """(source copy, site folder): the example built and installed by pip into a folder."""
    base = tmp_path_factory.mktemp("giftwrap")
    src, site = base / "src", base / "site"
    # A copy, so concurrent runs never share setuptools' in-tree build folder.
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                             "--disable-pip-version-check", "--target", str(site), str(src)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"pip install failed:\n{result.stdout}\n{result.stderr}"
    assert list(site.glob("o2o_giftwrap-*.dist-info")), "pip installed no distribution metadata"
    return src, site


@pytest.fixture
def giftwrap_on_path(giftwrap_package):
    """The installed package importable (and its entry point visible) in this process,
    for one test; afterwards its modules and tables are forgotten again."""
    _src, site = giftwrap_package
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        importlib.invalidate_caches()
        for table in [t for t in db.metadata.tables.values() if t.name.startswith("giftwrap_")]:
            db.metadata.remove(table)
        for name in [m for m in sys.modules if m == "o2o_giftwrap" or m.startswith("o2o_giftwrap.")]:
            del sys.modules[name]


def o2o(site: Path, database_url: str, instance: Path, *args: str) -> str:
    """Run the real ``o2o`` command in a new process with the package on its path."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]),
               O2O_DATABASE_URL=database_url, O2O_INSTANCE_PATH=str(instance),
               O2O_SECRET_KEY="third-party-addon-test")
    result = subprocess.run([sys.executable, "-c", "from core.cli import main; main()", *args],
                            env=env, cwd=str(instance), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"o2o {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def addon_line(listing: str, name: str) -> str:
    match = re.search(rf"^{name}\s.*$", listing, re.M)
    assert match, f"{name} not in `o2o addons list`:\n{listing}"
    return match.group(0)


def login(holder, username: str):
    from werkzeug.test import Client

    from core.testing import FormClient
    client = FormClient(Client(holder))
    response = client.submit("/login", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def test_pip_installed_addon_is_listed_enabled_shown_disabled_and_keeps_rows(
        fresh_database, giftwrap_on_path, tmp_path):
    from core.app import create_app
    from core.auth.models import ApiToken
    from core.plugins import discover
    from core.testing import app_config, make_user
    from core.wsgi import AppHolder
    site, url = giftwrap_on_path, fresh_database

    # Found through the entry points, as a third-party addon; never by the test suite's apps.
    assert discover()["giftwrap"].builtin is False
    assert "giftwrap" not in discover(include_third_party=False)
    listing = o2o(site, url, tmp_path, "addons", "list")
    assert re.fullmatch(r"giftwrap\s+not installed\s+0\.1\.0\s+core \(third-party\)", addon_line(listing, "giftwrap"))

    # A running app (the production WSGI entry, checking the addon counter on every request)
    # and its users: a superuser, a clerk who may see wraps, a clerk who may not.
    holder = AppHolder(create_app, config=app_config(url, THIRD_PARTY_ADDONS=True, ADDONS_CHECK_INTERVAL=0))
    with holder.current().app_context():
        make_user("boss", superuser=True, password=PASSWORD)
        make_user("wrapper", ["giftwrap.wrap.read"], password=PASSWORD)
        make_user("clerk", ["core.product.read"], password=PASSWORD)
        api_user = make_user("till", ["giftwrap.wrap.read", "giftwrap.wrap.create"], password=PASSWORD)
        token_row, token = ApiToken.issue(api_user, "test")
        db.session.add(token_row)
        db.session.commit()
    boss = login(holder, "boss")
    assert "Gift wraps" not in boss.get("/admin/").get_data(as_text=True)
    assert boss.get("/admin/giftwrap_wrap/").status_code == 404

    # Enabling runs the giftwrap branch (its own version row) and its base data.
    assert "enabled: giftwrap" in o2o(site, url, tmp_path, "addons", "enable", "giftwrap")
    engine = sa.create_engine(holder.current().config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as conn:
            assert {"giftwrap_wrap", "giftwrap_product"} <= set(sa.inspect(conn).get_table_names())
            versions = set(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
            assert "giftwrap_0001" in versions
            rows = conn.execute(sa.text("SELECT code, fee FROM giftwrap_wrap")).all()
            assert [(c, Decimal(str(f)).quantize(Decimal("0.01"))) for c, f in rows] == [("STD", Decimal("5.00"))]
        listing = o2o(site, url, tmp_path, "addons", "list")
        assert re.fullmatch(r"giftwrap\s+enabled\s+0\.1\.0\s+core \(third-party\)", addon_line(listing, "giftwrap"))
        assert "STD" in o2o(site, url, tmp_path, "giftwrap", "list")

        # The running app picked the change up without a restart: menu, view, permissions, API.
        app = holder.current()
        assert "giftwrap.wrap.read" in app.extensions["o2o.permissions"]
        menu = boss.get("/admin/").get_data(as_text=True)
        assert "Gift wrapping" in menu and "Gift wraps" in menu and "/admin/giftwrap_wrap/" in menu
        page = boss.get("/admin/giftwrap_wrap/")
        assert page.status_code == 200 and "Standard paper" in page.get_data(as_text=True)
        assert login(holder, "wrapper").get("/admin/giftwrap_wrap/").status_code == 200
        assert login(holder, "clerk").get("/admin/giftwrap_wrap/").status_code == 403
        from werkzeug.test import Client
        api = Client(holder)
        auth = {"Authorization": f"Bearer {token}"}
        created = api.post("/api/v1/giftwrap/wraps", json={"code": "GOLD", "name": "Gold foil", "fee": "12.50"},
                           headers=auth)
        assert created.status_code == 201, created.get_data(as_text=True)
        assert [w["code"] for w in api.get("/api/v1/giftwrap/wraps", headers=auth).json] == ["GOLD", "STD"]

        # Its pricing wrapper adds the wrap fee to a product sold gift-wrapped.
        from core.models.master import Product, Unit
        from core.plugins import hookimpl
        from o2o_giftwrap import services

        class ListPrice:
            @hookimpl(trylast=True)
            def o2o_compute_price(self, product):
                return product.list_price

        with app.app_context():
            hamper = Product(sku="HAMPER", name="Christmas hamper", list_price=Decimal("88.00"),
                             unit=db.session.scalar(sa.select(Unit).where(Unit.code == "pc")))
            db.session.add(hamper)
            db.session.flush()
            services.wrap_product(hamper, "GOLD")
            db.session.commit()
            app.extensions["o2o"].pm.register(ListPrice(), name="list_price")
            price = app.extensions["o2o"].hook.o2o_compute_price(
                product=hamper, quantity=Decimal("1"), store=None, customer=None, channel="pos", when=None)
            assert price == Decimal("100.5000")
            db.session.remove()

        # Disabling hides view, menu and API in the running app; the rows stay.
        assert "disabled: giftwrap" in o2o(site, url, tmp_path, "addons", "disable", "giftwrap")
        assert boss.get("/admin/giftwrap_wrap/").status_code == 404
        assert "Gift wraps" not in boss.get("/admin/").get_data(as_text=True)
        assert api.get("/api/v1/giftwrap/wraps", headers=auth).status_code == 404
        assert "giftwrap.wrap.read" not in holder.current().extensions["o2o.permissions"]
        listing = o2o(site, url, tmp_path, "addons", "list")
        assert re.fullmatch(r"giftwrap\s+disabled\s+0\.1\.0\s+core \(third-party\)", addon_line(listing, "giftwrap"))
        with engine.connect() as conn:
            assert sorted(conn.execute(sa.text("SELECT code FROM giftwrap_wrap")).scalars()) == ["GOLD", "STD"]
            assert conn.execute(sa.text("SELECT count(*) FROM giftwrap_product")).scalar() == 1
    finally:
        engine.dispose()
        with holder.current().app_context():
            db.session.remove()
            db.engine.dispose()


def test_the_example_addons_own_tests_pass_with_the_core_testing_fixtures(giftwrap_package):
    """What an integrator runs: the addon's tests, with core.testing, on this run's backend."""
    src, site = giftwrap_package
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests"],
                            cwd=str(src), env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\b8 passed\b", result.stdout), result.stdout[-1000:]
