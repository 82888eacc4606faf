"""Alembic, driven from Python: one environment, one version table, one branch per addon.

``version_locations`` is collected from every installed addon, enabled or not, so Alembic
can always locate every revision in the version table. Each addon's first revision carries
``branch_labels=(name,)``; the core branch is labelled ``core``.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.runtime.migration import MigrationContext

from core.plugins import Addon

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(installed: dict[str, Addon], connection=None, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    locations = [str(a.migrations_path) for a in installed.values() if a.migrations_path]
    cfg.set_main_option("version_locations", __import__("os").pathsep.join(locations))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["connection"] = connection
    cfg.attributes["addon_prefixes"] = tuple(sorted(n for n in installed if n != "core"))
    return cfg


def table_addon(table_name: str, addon_prefixes) -> str:
    """The addon a table belongs to: ``warehouse_move`` is warehouse's; unprefixed is core's."""
    for name in addon_prefixes:
        if table_name == name or table_name.startswith(name + "_"):
            return name
    return "core"


def include_object_for(addon: str | None, addon_prefixes):
    """Autogenerate for one addon only sees that addon's tables."""
    def include_object(obj, name, type_, reflected, compare_to):
        if addon is None:
            return True
        table = obj if type_ == "table" else getattr(obj, "table", None)
        table_name = name if type_ == "table" else (table.name if table is not None else None)
        if table_name is None:
            return True
        return table_addon(table_name, addon_prefixes) == addon
    return include_object


def branch_has_revisions(cfg: Config, addon: str) -> bool:
    script = ScriptDirectory.from_config(cfg)
    try:
        return bool(script.get_revisions(f"{addon}@head"))
    except Exception:
        return False


def upgrade_addon(cfg: Config, addon: str) -> None:
    """Run one addon's branch up to its head (its dependencies' revisions come first)."""
    if branch_has_revisions(cfg, addon):
        command.upgrade(cfg, f"{addon}@head")


def upgrade_all(cfg: Config) -> None:
    command.upgrade(cfg, "heads")


def current_heads(connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())
