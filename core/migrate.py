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


class RevisionError(Exception):
    """``o2o db revision`` cannot run on this database; the message says what to do."""


def _branch_of(revision, installed: dict[str, Addon]) -> str | None:
    """The addon whose versions folder holds ``revision`` (None: no installed addon's)."""
    path = Path(revision.path).resolve().parent
    for name, addon in installed.items():
        if addon.migrations_path and Path(addon.migrations_path).resolve() == path:
            return name
    return None


def revision_config(installed: dict[str, Addon], addon: str, connection) -> Config:
    """The Alembic configuration for writing a revision of ``addon`` on this database.

    Alembic's autogenerate insists that the database is at every head it can see, so the
    configuration sees only the branches that matter: ``addon``, what it depends on, and
    the branches this database has run (their revisions must stay locatable). An installed
    addon that is not enabled here, and that ``addon`` does not depend on, is left out, so
    the scratch database needs only the new addon's dependencies enabled.
    Raises RevisionError with what to run when the database is not ready.
    """
    from core.plugins import dependency_order
    full = ScriptDirectory.from_config(alembic_config(installed))
    try:
        current = current_heads(connection)
    except Exception:
        current = set()
    if not current and addon != "core":
        raise RevisionError("this database has no o2o tables yet: run `o2o db upgrade` on it first "
                            "(a scratch database), then `o2o addons enable` the addons "
                            f"'{addon}' depends on")
    # Alembic keeps a row only for the tips of what ran: a branch another branch's revision
    # depends on may have no row of its own. What ran is every ancestor of the rows, through
    # down revisions and depends_on alike.
    present: set[str] = set()
    todo = list(current)
    seen: set[str] = set()
    while todo:
        rev_id = todo.pop()
        if rev_id in seen:
            continue
        seen.add(rev_id)
        try:
            revision = full.get_revision(rev_id)
        except Exception:
            revision = None
        branch = _branch_of(revision, installed) if revision is not None else None
        if branch is None:
            raise RevisionError(f"this database has run the migration '{rev_id}', which no installed addon "
                                "provides: use a scratch database made by this installation "
                                "(`o2o db upgrade`), or install the addon it belongs to")
        present.add(branch)
        todo.extend(revision._all_down_revisions)
    needed = dependency_order(installed, [addon])
    for dep in needed:
        if dep in present or not _has_revisions(full, dep):
            continue
        if dep == addon:
            raise RevisionError(f"'{addon}' has migrations this database has not run: run "
                                f"`o2o addons enable {addon}` (or `o2o db upgrade`) first, so that "
                                "autogenerate compares the models with its current tables")
        raise RevisionError(f"'{addon}' depends on '{dep}', whose tables are not on this database: run "
                            f"`o2o addons enable {dep}` first")
    view = {n: installed[n] for n in installed if n in set(needed) | present}
    cfg = alembic_config(view, connection=connection)
    cfg.attributes["addon_prefixes"] = tuple(sorted(n for n in installed if n != "core"))
    cfg.attributes["autogenerate_addon"] = addon
    return cfg


def _has_revisions(script: ScriptDirectory, branch: str) -> bool:
    try:
        return bool(script.get_revisions(f"{branch}@head"))
    except Exception:
        return False


def write_revision(installed: dict[str, Addon], addon: str, message: str, connection, *,
                   autogenerate: bool = True, version_path: str | None = None):
    """Write the next revision of ``addon``'s branch (its first one starts the branch, with
    ``depends_on`` the current heads of core and of the addons it depends on).

    Autogenerate compares only ``addon``'s tables with the database. Returns the new
    ``Script``, or None when autogenerate found no change (then no file is written).
    Raises RevisionError (what to do, in one line) for any Alembic error.
    """
    from alembic.util import CommandError
    cfg = revision_config(installed, addon, connection)
    empty = []

    def skip_empty(context, revision, directives):
        script = directives[0] if directives else None
        if autogenerate and script is not None and script.upgrade_ops.is_empty():
            directives[:] = []
            empty.append(True)

    try:
        if branch_has_revisions(cfg, addon):
            result = command.revision(cfg, message=message, autogenerate=autogenerate, head=f"{addon}@head",
                                      process_revision_directives=skip_empty)
        else:
            script = ScriptDirectory.from_config(cfg)
            depends = [] if addon == "core" else ["core@head"]
            for dep in installed[addon].depends:
                if dep != "core" and branch_has_revisions(cfg, dep):
                    depends.append(f"{dep}@head")
            resolved = [script.get_revision(d).revision for d in depends] or None
            result = command.revision(cfg, message=message, autogenerate=autogenerate, head="base",
                                      branch_label=addon, version_path=version_path, depends_on=resolved,
                                      process_revision_directives=skip_empty)
    except CommandError as exc:
        text = str(exc).strip().rstrip(".")
        if "not up to date" in text:
            raise RevisionError("the database is behind the migrations of the enabled addons: run "
                                "`o2o db upgrade` first") from None
        raise RevisionError(f"{text} (Alembic); check the database is a scratch one made with "
                            f"`o2o db upgrade` and `o2o addons enable` of what '{addon}' depends on") from None
    if empty:
        return None
    return result
