"""The o2o pytest plugin (loaded with ``-p core.testing``).

- one database per test run: a SQLite file, or, with ``O2O_TEST_DATABASE_URL`` naming a
  PostgreSQL server, a new database created on it and dropped afterwards (so parallel runs
  and xdist workers never share one); every built-in addon is migrated into it once;
- a transaction per test: everything a test writes, commits included, is rolled back;
- ``make_app(addons=[...])`` builds an app with those addons enabled (essentials and
  dependencies added); ``app`` is the one with every built-in addon. An addon the run's
  database does not have (a third-party addon under test) is enabled, migrations and base
  data, in the test's outer transaction: rollbacks inside the test keep its tables;
- ``client_as(*permissions, stores=None)``: a logged-in test client for a user with just
  those permissions (and limited to those stores); ``api_client(*permissions)`` the same
  with an API token;
- ``temp_plugin(obj)`` registers a plugin object for one test;
- ``fresh_database`` (for tests that need real commits, e.g. several processes): the URL of
  a new, migrated database of its own;
- ``LiveServer(url, log_path)`` serves the app on such a database from a server process of
  its own (real HTTP, a free port; it can be killed), ``http_json`` talks to it.
Installed third-party addons never leak in: only built-ins are discovered unless a test
passes ``third_party=True`` to ``make_app``.
"""
from __future__ import annotations

import os
import re
import uuid
from decimal import Decimal  # noqa: F401  (handy for tests importing from here)

import pytest
import sqlalchemy as sa

from core.db import db

BUILTIN_ADDONS = ["warehouse", "purchasing", "sales", "pos", "finance"]


def _pg_admin_url(url: str) -> str:
    from core.config import normalise_database_url
    return normalise_database_url(url)


def create_database(base_url: str | None, tmp_dir) -> tuple[str, callable]:
    """A new empty database: returns its URL and a function that drops it."""
    if not base_url:
        path = os.path.join(str(tmp_dir), f"o2o-{uuid.uuid4().hex[:8]}.sqlite3")
        return f"sqlite:///{path}", lambda: None
    url = sa.engine.make_url(_pg_admin_url(base_url))
    name = f"o2o_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    new_url = url.set(database=name).render_as_string(hide_password=False)

    def drop():
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,))
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()
    return new_url, drop


def migrate_database(url: str, addons=None) -> None:
    """Run core and every built-in addon's migrations and base data, committed."""
    from core.addons import enable
    from core.app import create_app
    app = create_app({"DATABASE_URL": url, "THIRD_PARTY_ADDONS": False, "TESTING": True}, addons=[])
    with app.app_context():
        enable(app, list(addons if addons is not None else BUILTIN_ADDONS))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def app_config(url: str, **extra) -> dict:
    from core.config import CONFIG_DIR
    import tomllib
    with open(CONFIG_DIR / "test.toml", "rb") as fh:
        values = tomllib.load(fh)
    values.update({"DATABASE_URL": url, "THIRD_PARTY_ADDONS": False})
    values.update(extra)
    return values


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """The migrated database of this test run."""
    url, drop = create_database(os.environ.get("O2O_TEST_DATABASE_URL"), tmp_path_factory.mktemp("db"))
    migrate_database(url)
    yield url
    drop()


@pytest.fixture
def fresh_database(tmp_path_factory):
    """A new migrated database for a test that needs real commits; dropped afterwards."""
    url, drop = create_database(os.environ.get("O2O_TEST_DATABASE_URL"), tmp_path_factory.mktemp("fresh"))
    migrate_database(url)
    yield url
    drop()


def _fresh_request_globals():
    from flask import g
    g.__dict__.clear()


@pytest.fixture
def make_app(database_url):
    """Build apps bound to one connection whose transaction is rolled back after the test."""
    from core.app import create_app
    contexts, connections = [], []

    def factory(addons=None, third_party=False, **config):
        app = create_app(app_config(database_url, THIRD_PARTY_ADDONS=third_party, **config),
                         addons=BUILTIN_ADDONS if addons is None else addons)
        ctx = app.app_context()
        ctx.push()
        # Test-client requests reuse this pushed app context, so ``g`` would carry one
        # request's login user and CSRF token into the next (another client's). In
        # production each request has a fresh ``g``: give every test request one too.
        app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
        conn = db.engine.connect()
        trans = conn.begin()
        db.session.remove()
        db.session.configure(bind=conn, join_transaction_mode="create_savepoint")
        contexts.append(ctx)
        connections.append((conn, trans))
        _enable_in_test_transaction(app)
        return app

    yield factory
    db.session.remove()
    db.session.configure(bind=None)
    for conn, trans in reversed(connections):
        if trans.is_active:
            trans.rollback()
        conn.close()
    for ctx in reversed(contexts):
        ctx.pop()


def _enable_in_test_transaction(app) -> None:
    """Enable the app's addons that the run's database does not have (a third-party addon
    under test): its migrations and base data run in the test's outer transaction, which
    ``commit`` releases the savepoint into. A rollback inside the test (a refused API call,
    ``session.rollback()``) then goes back to a later savepoint and keeps the addon's tables;
    the end of the test undoes all of it. Without this, an ``enable`` inside the test's own
    savepoint lost the tables at the first rollback."""
    from core.addons import enable, enabled_in_db
    wanted = app.extensions["o2o"].enabled
    missing = [n for n in wanted if n not in set(enabled_in_db(db.session))]
    if missing:
        enable(app, missing)
    db.session.commit()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def session(app):
    return db.session


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1) or match.group(2)


class FormClient:
    """A Flask test client that can post forms the way a browser does (CSRF token taken
    from the page the form is on)."""

    def __init__(self, client, user=None):
        self.client, self.user = client, user

    def __getattr__(self, name):
        return getattr(self.client, name)

    def submit(self, form_url: str, data: dict, post_url: str | None = None, **kwargs):
        page = self.client.get(form_url)
        assert page.status_code == 200, f"GET {form_url} answered {page.status_code}"
        data = dict(data)
        data.setdefault("csrf_token", csrf_token_from(page.get_data(as_text=True)))
        return self.client.post(post_url or form_url, data=data, **kwargs)


def make_user(username: str, permissions=(), stores=None, password="correct horse battery", superuser=False):
    from core.auth.models import Role, RolePermission, User
    role = Role(code=f"role_{username}", name=f"Role of {username}",
                permissions=[RolePermission(code=c) for c in permissions])
    user = User(username=username, display_name=username.title(), is_superuser=superuser,
                all_stores=stores is None, roles=[role], stores=list(stores or []))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


@pytest.fixture
def client_as(app):
    """``client_as("core.product.read", stores=[store])`` -> logged-in FormClient."""
    counter = iter(range(1, 10_000))

    def factory(*permissions, stores=None, superuser=False, username=None):
        username = username or f"user{next(counter)}"
        user = make_user(username, permissions, stores, superuser=superuser)
        client = FormClient(app.test_client(), user)
        response = client.submit("/login", {"username": username, "password": "correct horse battery"})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client
    return factory


class ApiClient:
    def __init__(self, client, token, user):
        self.client, self.token, self.user = client, token, user

    def _call(self, method, url, **kwargs):
        headers = kwargs.pop("headers", {}) or {}
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return getattr(self.client, method)(url, headers=headers, **kwargs)

    def get(self, url, **kw):
        return self._call("get", url, **kw)

    def post(self, url, **kw):
        return self._call("post", url, **kw)

    def put(self, url, **kw):
        return self._call("put", url, **kw)

    def patch(self, url, **kw):
        return self._call("patch", url, **kw)

    def delete(self, url, **kw):
        return self._call("delete", url, **kw)


@pytest.fixture
def api_client(app):
    """``api_client("core.product.read", stores=[...])`` -> ApiClient with a fresh token."""
    from core.auth.models import ApiToken
    counter = iter(range(1, 10_000))

    def factory(*permissions, stores=None, superuser=False):
        user = make_user(f"api{next(counter)}", permissions, stores, superuser=superuser)
        row, clear = ApiToken.issue(user, "test")
        db.session.add(row)
        # Committed (to the test's savepoint; the test's transaction still rolls it back),
        # so an API call that fails and rolls back does not take the user and token with it.
        db.session.commit()
        return ApiClient(app.test_client(), clear, user)
    return factory


@pytest.fixture
def temp_plugin(app):
    """Register a plugin object on the app's plugin manager for this test only."""
    pm = app.extensions["o2o"].pm
    registered = []

    def register(obj, name=None):
        pm.register(obj, name=name or f"temp_{len(registered)}_{id(obj)}")
        registered.append(obj)
        return obj

    yield register
    for obj in registered:
        pm.unregister(obj)


# --- the app as a real server process -------------------------------------------------------

class LiveServer:
    """The app served over real HTTP by a process of its own, for tests that race real
    clients against it or kill it: werkzeug's threaded WSGI server around
    ``core.wsgi.AppHolder``, which is what ``o2o serve`` runs, but on a port the OS picks
    (``o2o serve`` takes a fixed one, and parallel test runs must not collide). The app is
    built from ``app_config(database_url, TESTING=False, **config)`` with the enabled addons
    read from the database, as in production; the server's output goes to ``log_path``.

    ``with LiveServer(url, tmp_path / "server.log") as server: http_json(server.port, ...)``;
    ``server.kill()`` sends SIGKILL (a crash, the OOM killer), ``server.stop()`` ends it."""

    def __init__(self, database_url: str, log_path, **config):
        self.database_url, self.log_path, self.config = database_url, str(log_path), config
        self.process = None
        self.port = None

    def start(self, timeout: float = 60) -> "LiveServer":
        return self.launch().wait_ready(timeout)

    def launch(self) -> "LiveServer":
        """Start the process without waiting (start several, then ``wait_ready`` each)."""
        import json
        import subprocess
        import sys
        from pathlib import Path
        port_file = Path(self.log_path + ".port")
        port_file.unlink(missing_ok=True)
        self.port = None
        config = app_config(self.database_url, TESTING=False, **self.config)
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from core.testing import _serve_main; _serve_main()",
                 json.dumps(config), str(port_file)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(root), env=env)
        return self

    def wait_ready(self, timeout: float = 60) -> "LiveServer":
        """Wait until the server listens (its app built); raise with its log if it died."""
        import time
        from pathlib import Path
        port_file = Path(self.log_path + ".port")
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.process.poll() is not None:
                raise RuntimeError(f"the server process ended ({self.process.returncode}):\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the server did not start in {timeout} s:\n{self.log()[-3000:]}")
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no cleanup, no rollback, open connections just drop."""
        import signal
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(30)

    def stop(self) -> None:
        import subprocess
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except FileNotFoundError:
            return ""

    def __enter__(self):
        return self.start() if self.process is None else self

    def __exit__(self, *exc):
        self.stop()


def _serve_main() -> None:
    """The server process of LiveServer: argv = app config (JSON), the file to write the port to."""
    import json
    import logging
    import sys
    from werkzeug.serving import make_server
    from core.wsgi import AppHolder
    config, port_file = json.loads(sys.argv[1]), sys.argv[2]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request; errors stay
    holder = AppHolder(config=config)
    holder.current()  # build the app before the port is announced: the first requests race, not the start
    server = make_server("127.0.0.1", 0, holder, threaded=True)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(str(server.server_port))
    os.replace(tmp, port_file)  # whole, or not there
    server.serve_forever()


def http_json(port: int, method: str, path: str, body=None, headers=None, timeout: float = 60):
    """One request over a new loopback connection: ``(status, headers, body)``, the body
    parsed as JSON where it is JSON (problem bodies too), else text. Connection errors
    (a killed server) are raised as they come (OSError, http.client.HTTPException)."""
    import http.client
    import json
    headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
    text = raw.decode("utf-8", errors="replace")
    if "json" in answer_headers.get("content-type", ""):
        try:
            return response.status, answer_headers, json.loads(text)
        except ValueError:
            pass
    return response.status, answer_headers, text
