"""Enabling and disabling addons: the enabled set is state in the database.

Enabling resolves dependencies, runs each new addon's Alembic branch and base data, all in
the caller's transaction; disabling refuses while an enabled addon depends on it and never
drops data. Either moves the ``addons`` counter, which every worker watches (core.wsgi).
"""
from __future__ import annotations

import sqlalchemy as sa

from core.db import db, utcnow
from core.migrate import alembic_config, upgrade_addon
from core.models.system import AddonState, SystemCounter
from core.plugins import AddonError, AddonManager, DependantsEnabled, dependants, with_auto_enabled

COUNTER = "addons"


def enabled_in_db(session) -> list[str]:
    return list(session.scalars(sa.select(AddonState.name).where(AddonState.enabled.is_(True))))


def bump_counter(session, name: str = COUNTER) -> None:
    updated = session.execute(sa.update(SystemCounter).where(SystemCounter.name == name)
                              .values(value=SystemCounter.value + 1)).rowcount
    if not updated:
        session.add(SystemCounter(name=name, value=1))
        session.flush()


def read_counter(connection, name: str = COUNTER) -> int:
    try:
        return connection.execute(sa.select(SystemCounter.value).where(SystemCounter.name == name)).scalar() or 0
    except sa.exc.DBAPIError:
        return 0


def migrate_core(app, session=None) -> None:
    session = session or db.session
    cfg = alembic_config(app.extensions["o2o"].installed, connection=session.connection())
    upgrade_addon(cfg, "core")


def enable(app, names, session=None) -> list[str]:
    """Enable ``names`` and what they depend on; returns the newly enabled, in order."""
    session = session or db.session
    installed = app.extensions["o2o"].installed
    unknown = [n for n in names if n not in installed]
    if unknown:
        raise AddonError(f"no addon named {', '.join(repr(u) for u in unknown)} is installed "
                         f"(installed: {', '.join(sorted(installed))})")
    migrate_core(app, session)
    essentials = [n for n, a in installed.items() if a.essential]
    current = [n for n in enabled_in_db(session) if n in installed]
    target = with_auto_enabled(installed, set(current) | set(essentials) | set(names))
    new = [n for n in target if n not in current]
    cfg = alembic_config(installed, connection=session.connection())
    for name in new:
        upgrade_addon(cfg, name)
    states = {s.name: s for s in session.scalars(sa.select(AddonState))}
    for name in new:
        state = states.get(name)
        if state is None:
            session.add(AddonState(name=name, enabled=True, version=installed[name].version))
        else:
            state.enabled, state.version, state.changed_at = True, installed[name].version, utcnow()
    session.flush()
    if new:
        manager = AddonManager(installed, target)
        # This app was built before these addons were on: give it their setting defaults,
        # which their base data may read (create_app does the same at start).
        for addon_name, defaults in manager.call_in_order("o2o_settings"):
            if addon_name in new:
                for key, value in (defaults or {}).items():
                    app.config.setdefault(key, value)
        for addon_name, impl in _impls(manager, "o2o_base_data"):
            if addon_name in new:
                impl(session=session, app=app)
        for name in new:
            manager.hook.o2o_addon_enabled(name=name, session=session)
        bump_counter(session)
    return new


def disable(app, name: str, session=None) -> None:
    session = session or db.session
    installed = app.extensions["o2o"].installed
    if name not in installed:
        raise AddonError(f"no addon named '{name}' is installed")
    if installed[name].essential:
        raise AddonError(f"'{name}' is essential and cannot be disabled")
    current = enabled_in_db(session)
    if name not in current:
        raise AddonError(f"'{name}' is not enabled")
    needing = dependants(installed, name, current)
    if needing:
        raise DependantsEnabled(name, needing)
    state = session.get(AddonState, name)
    state.enabled, state.changed_at = False, utcnow()
    AddonManager(installed, [n for n in current if n != name] + [name]).hook.o2o_addon_disabled(
        name=name, session=session)
    bump_counter(session)


def load_demo(app, session=None, only=None) -> list[str]:
    """Load demo data of enabled addons that have not loaded it yet; returns their names."""
    session = session or db.session
    installed = app.extensions["o2o"].installed
    essentials = [n for n, a in installed.items() if a.essential]
    # The enabled set as the database has it now (this app may predate an enable).
    manager = AddonManager(installed, essentials + [n for n in enabled_in_db(session) if n in installed])
    states = {s.name: s for s in session.scalars(sa.select(AddonState))}
    loaded = []
    for addon_name, impl in _impls(manager, "o2o_demo_data"):
        state = states.get(addon_name)
        if (only and addon_name not in only) or state is None or state.demo_loaded:
            continue
        impl(session=session, app=app)
        state.demo_loaded = True
        loaded.append(addon_name)
        session.flush()
    return loaded


def _impls(manager: AddonManager, hook_name: str):
    """(addon, callable taking keyword arguments) in dependency order."""
    by_plugin = {i.plugin_name: i for i in getattr(manager.hook, hook_name).get_hookimpls()}
    for name in manager.enabled:
        impl = by_plugin.get(name)
        if impl is not None:
            yield name, (lambda _impl=impl, **kw: _impl.function(**{a: kw[a] for a in _impl.argnames}))


def addon_rows(app, session=None) -> list[dict]:
    """Every installed addon with its state, for `o2o addons list` and the admin screen."""
    session = session or db.session
    installed = app.extensions["o2o"].installed
    try:
        states = {s.name: s for s in session.scalars(sa.select(AddonState))}
    except sa.exc.DBAPIError:
        session.rollback()
        states = {}
    rows = []
    for name in sorted(installed):
        addon, state = installed[name], states.get(name)
        rows.append({
            "name": name, "title": addon.title, "version": addon.version, "summary": addon.summary,
            "depends": addon.depends, "essential": addon.essential, "builtin": addon.builtin,
            "state": "enabled" if state and state.enabled else ("disabled" if state else "not installed"),
            "installed_version": state.version if state else None,
        })
    return rows
