"""Models and migrations agree, and every branch goes down and up again."""
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.app import create_app
from core.db import db
from core.migrate import alembic_config
from core.testing import BUILTIN_ADDONS, app_config


def _diff(connection):
    ctx = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(ctx, db.metadata)


def test_no_autogenerate_diff_between_models_and_migrations(fresh_database):
    app = create_app(app_config(fresh_database), addons=BUILTIN_ADDONS)
    with app.app_context():
        with db.engine.connect() as conn:
            diff = _diff(conn)
        db.engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_downgrade_to_base_and_upgrade_again(fresh_database):
    app = create_app(app_config(fresh_database), addons=BUILTIN_ADDONS)
    with app.app_context():
        installed = app.extensions["o2o"].installed
        with db.engine.begin() as conn:
            cfg = alembic_config(installed, connection=conn)
            command.downgrade(cfg, "base")
        with db.engine.connect() as conn:
            tables = set(db.inspect(conn).get_table_names()) - {"alembic_version"}
        assert tables == set(), f"left after downgrade: {tables}"
        with db.engine.begin() as conn:
            cfg = alembic_config(installed, connection=conn)
            command.upgrade(cfg, "heads")
        with db.engine.connect() as conn:
            assert _diff(conn) == []
        db.engine.dispose()
