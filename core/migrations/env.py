"""Alembic environment: one version table, one branch per addon (see core.migrate)."""
from alembic import context

from core.db import db
from core.migrate import include_object_for

config = context.config
target_metadata = db.metadata


def _configure(connection):
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object_for(config.attributes.get("autogenerate_addon"),
                                          config.attributes.get("addon_prefixes", ())),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=False,
        user_module_prefix="core.db.",
        transaction_per_migration=False,
    )


connection = config.attributes.get("connection")
if connection is not None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()
else:
    from sqlalchemy import create_engine
    from core.db import configure_engine
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    configure_engine(engine)
    with engine.begin() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
