"""``o2o db revision ADDON`` on a scratch database where only ADDON's dependencies are
enabled (as docs/writing-an-addon.md says): it writes a migration that creates the addon's
tables and nothing else, reports "no change" when the models match, and refuses a database
that is not ready with one line saying what to do, never a traceback.

The addon is a temporary package (an ``o2o.addons`` entry point in a hand-written
``.dist-info``) on the path of the ``o2o`` subprocesses only: it never reaches this process.
The scratch database is a new SQLite file, or a new PostgreSQL database when
``O2O_TEST_DATABASE_URL`` names a server.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.testing import create_database

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

INIT = '''
MANIFEST = {"name": "labels", "title": "Shelf labels", "version": "0.1.0",
            "summary": "Shelf label printers.", "depends": ["warehouse"]}
'''
MODELS = '''
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import IdMixin, db


class LabelPrinter(IdMixin, db.Model):
    __tablename__ = "labels_printer"

    code: Mapped[str] = mapped_column(sa.String(16), unique=True, nullable=False)
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("product.id"), index=True)
'''


@pytest.fixture
def labels_addon(tmp_path):
    """A site folder with the package ``o2o_labels`` and its entry point."""
    site = tmp_path / "site"
    package = site / "o2o_labels"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(INIT))
    (package / "models.py").write_text(textwrap.dedent(MODELS))
    info = site / "o2o_labels-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: o2o-labels\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[o2o.addons]\nlabels = o2o_labels\n")
    return site


@pytest.fixture
def scratch(tmp_path):
    """(URL, instance folder) of a new, empty database."""
    url, drop = create_database(os.environ.get("O2O_TEST_DATABASE_URL"), tmp_path)
    yield url, tmp_path
    drop()


def o2o(site: Path, scratch, *args: str) -> subprocess.CompletedProcess:
    url, instance = scratch
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]),
               O2O_DATABASE_URL=url, O2O_INSTANCE_PATH=str(instance), O2O_SECRET_KEY="db-revision-test")
    return subprocess.run([sys.executable, "-c", "from core.cli import main; main()", *args],
                          env=env, cwd=str(instance), capture_output=True, text=True, timeout=300)


def execute(scratch, sql: str | None = None) -> set[str]:
    """Run ``sql`` (if any) on the scratch database; returns its table names."""
    from core.config import normalise_database_url
    engine = sa.create_engine(normalise_database_url(scratch[0]))
    try:
        with engine.begin() as conn:
            if sql:
                conn.execute(sa.text(sql))
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def one_clear_line(result: subprocess.CompletedProcess, *words: str) -> str:
    """Exit status != 0, no traceback, a single 'Error: ...' line naming ``words``."""
    assert result.returncode != 0, result.stdout
    output = (result.stdout + result.stderr).strip()
    assert "Traceback" not in output, output
    lines = output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def versions(site: Path) -> list[Path]:
    return sorted((site / "o2o_labels" / "migrations" / "versions").glob("*.py"))


def test_revision_with_only_the_dependencies_enabled_writes_just_the_addons_tables(labels_addon, scratch):
    site, database = labels_addon, scratch
    ok(o2o(site, database, "db", "upgrade"))
    ok(o2o(site, database, "addons", "enable", "warehouse"))  # purchasing, sales, pos, finance stay off

    out = ok(o2o(site, database, "db", "revision", "labels", "-m", "labels tables"))
    [script] = versions(site)
    assert str(script) in out
    text = script.read_text()
    assert re.findall(r"op\.create_table\('(\w+)'", text) == ["labels_printer"]
    assert "drop_table" not in text.split("def downgrade")[0] and "alter_column" not in text
    assert "branch_labels = ('labels',)" in text
    depends = re.search(r"^depends_on = (.+)$", text, re.M).group(1)
    assert "warehouse_" in depends and "core_" in depends, depends

    # The revision runs: enabling the addon creates its table.
    ok(o2o(site, database, "addons", "enable", "labels"))
    tables = execute(database)
    assert "labels_printer" in tables and not any(t.startswith("pos_") for t in tables)

    # No model change: nothing to write, said so.
    again = o2o(site, database, "db", "revision", "labels", "-m", "nothing")
    assert "no change" in ok(again)
    assert versions(site) == [script]


def test_revision_on_a_database_that_is_not_ready_is_one_clear_line(labels_addon, scratch):
    site, database = labels_addon, scratch
    # Nothing at all yet.
    one_clear_line(o2o(site, database, "db", "revision", "labels", "-m", "x"), "o2o db upgrade")
    # Core only: the dependency is not enabled.
    ok(o2o(site, database, "db", "upgrade"))
    one_clear_line(o2o(site, database, "db", "revision", "labels", "-m", "x"),
                   "'warehouse'", "o2o addons enable warehouse")
    # The version table names a revision no installed addon provides.
    ok(o2o(site, database, "addons", "enable", "warehouse"))
    execute(database, "INSERT INTO alembic_version (version_num) VALUES ('elsewhere_0007')")
    one_clear_line(o2o(site, database, "db", "revision", "labels", "-m", "x"), "elsewhere_0007")
    assert versions(site) == []
    # An unknown addon is a usage error, not a traceback.
    result = o2o(site, database, "db", "revision", "nosuch", "-m", "x")
    assert result.returncode == 2 and "Traceback" not in result.stderr and "nosuch" in result.stderr
