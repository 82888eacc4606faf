"""The test set-up docs/writing-an-addon.md gives an integrator works as written.

The ``tests/conftest.py`` and ``[tool.pytest.ini_options]`` snippets of its "Tests" section
are copied, as they stand in the docs, into a new project next to the example addon
(examples/o2o-giftwrap, made importable with a hand-written entry point), and pytest runs
tests there that roll back inside a test: the addon's tables and base data must survive
the rollback, and each test must start from the same rows. docs/reference.md's example of
testing a CLI command runs there too. If the docs drift to a set-up that does not hold,
this fails.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "writing-an-addon.md"
REFERENCE = ROOT / "docs" / "reference.md"
EXAMPLE = ROOT / "examples" / "o2o-giftwrap"

pytestmark = pytest.mark.slow


def doc_snippet(first_line: str, lang: str, doc: Path = DOC) -> str:
    """The fenced ``lang`` block of ``doc`` whose first line starts with ``first_line``."""
    for block in re.findall(rf"```{lang}\n(.*?)```", doc.read_text(encoding="utf-8"), re.S):
        if block.splitlines()[0].strip().startswith(first_line):
            return block
    raise AssertionError(f"{doc.name} has no {lang} block starting {first_line!r}")


TESTS = '''
from decimal import Decimal

import sqlalchemy as sa

from o2o_giftwrap import services
from o2o_giftwrap.models import GiftWrap


def count():
    from core.db import db
    return db.session.scalar(sa.select(sa.func.count()).select_from(GiftWrap))


def test_tables_and_base_data_survive_a_rollback_in_the_test(app, session):
    assert count() == 1  # the base data's standard paper
    services.create_wrap("GOLD", "Gold foil", Decimal("12.50"))
    session.rollback()
    assert count() == 1


def test_a_refused_api_call_keeps_the_tables(app, api_client, session):
    writer = api_client("giftwrap.wrap.create")
    assert writer.post("/api/v1/giftwrap/wraps", json={"code": "A", "name": "A", "fee": "-1"}).status_code == 422
    assert writer.post("/api/v1/giftwrap/wraps", json={"code": "B", "name": "B", "fee": "1"}).status_code == 201
    assert count() == 2


def test_each_test_starts_from_the_same_rows(app):
    assert count() == 1
'''


def test_the_documented_conftest_works_as_written(tmp_path):
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    conftest = doc_snippet("# tests/conftest.py", "python")
    (project / "tests" / "conftest.py").write_text(conftest)
    (project / "tests" / "test_rollbacks.py").write_text(textwrap.dedent(TESTS))
    # reference.md's "Testing a CLI command" example, run as it stands.
    (project / "tests" / "test_cli.py").write_text(doc_snippet("def test_list_and_refuse(", "python", REFERENCE))
    (project / "pyproject.toml").write_text(doc_snippet("[tool.pytest.ini_options]", "toml"))
    # The example addon importable, with its entry point (what `pip install` would give).
    site = tmp_path / "site"
    info = site / "o2o_giftwrap-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: o2o-giftwrap\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[o2o.addons]\ngiftwrap = o2o_giftwrap\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(EXAMPLE), str(ROOT)]))
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist"],
                            cwd=str(project), env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\b4 passed\b", result.stdout), result.stdout[-1000:]
