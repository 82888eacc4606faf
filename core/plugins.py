"""Addon discovery, dependency order and the app's plugin manager.

Every addon, built-in or third-party, is an entry point in the ``o2o.addons`` group that
names a module with a ``MANIFEST`` dict and hook implementations. Nothing is discovered or
registered at import time: ``create_app()`` builds an ``AddonManager`` and keeps it in
``app.extensions["o2o"]``, so two apps never share plugins.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pluggy

from core import hookspecs

log = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker("o2o")
ENTRY_POINT_GROUP = "o2o.addons"
BUILTIN_DISTRIBUTION = "o2o"

MANIFEST_KEYS = {"name", "title", "version", "summary", "depends", "essential", "auto_enable",
                 "demo", "hookspecs", "category"}


class AddonError(Exception):
    """A problem with the set of addons, worded for the person running the command."""


class MissingDependency(AddonError):
    def __init__(self, addon: str, missing: list[str]):
        self.addon, self.missing = addon, missing
        super().__init__(f"addon '{addon}' depends on {', '.join(repr(m) for m in missing)}, "
                         f"which {'is' if len(missing) == 1 else 'are'} not installed")


class DependencyCycle(AddonError):
    def __init__(self, cycle: list[str]):
        self.cycle = cycle
        super().__init__("addons depend on each other in a cycle: " + " -> ".join(cycle))


class DependantsEnabled(AddonError):
    def __init__(self, addon: str, dependants: list[str]):
        self.addon, self.dependants = addon, dependants
        super().__init__(f"cannot disable '{addon}': enabled addon(s) "
                         f"{', '.join(repr(d) for d in dependants)} depend on it; disable them first")


@dataclass
class Addon:
    """An installed addon as its entry point and MANIFEST describe it."""
    name: str
    module_name: str
    distribution: str | None = None
    _module: ModuleType | None = field(default=None, repr=False)

    @property
    def module(self) -> ModuleType:
        if self._module is None:
            self._module = importlib.import_module(self.module_name)
            check_manifest(self)
        return self._module

    @property
    def manifest(self) -> dict:
        return self.module.MANIFEST

    title = property(lambda self: self.manifest.get("title", self.name))
    version = property(lambda self: self.manifest.get("version", "0"))
    summary = property(lambda self: self.manifest.get("summary", ""))
    depends = property(lambda self: list(self.manifest.get("depends", [])))
    essential = property(lambda self: bool(self.manifest.get("essential", False)))
    auto_enable = property(lambda self: bool(self.manifest.get("auto_enable", False)))
    has_demo = property(lambda self: bool(self.manifest.get("demo", False)))

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DISTRIBUTION

    @property
    def path(self) -> Path:
        return Path(self.module.__file__).parent

    @property
    def migrations_path(self) -> Path | None:
        """The addon's Alembic versions folder, ``<addon>/migrations/versions``."""
        folder = self.path / "migrations" / "versions"
        return folder if folder.is_dir() else None

    def import_models(self) -> None:
        """Import the addon's models module, which registers its tables in the metadata."""
        candidate = f"{self.module_name}.models"
        try:
            importlib.import_module(candidate)
        except ModuleNotFoundError as exc:
            if exc.name != candidate:
                raise


def check_manifest(addon: Addon) -> None:
    manifest = getattr(addon._module, "MANIFEST", None)
    if not isinstance(manifest, dict):
        raise AddonError(f"addon '{addon.name}' ({addon.module_name}) has no MANIFEST dict")
    if manifest.get("name") != addon.name:
        raise AddonError(f"addon module {addon.module_name} declares name {manifest.get('name')!r} "
                         f"but its entry point is named {addon.name!r}; they must be the same")
    unknown = set(manifest) - MANIFEST_KEYS
    if unknown:
        raise AddonError(f"addon '{addon.name}': unknown MANIFEST key(s) {sorted(unknown)}")


def discover(include_third_party: bool = True) -> dict[str, Addon]:
    """The installed addons, from the ``o2o.addons`` entry points, by name."""
    found: dict[str, Addon] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else None
        if not include_third_party and dist != BUILTIN_DISTRIBUTION:
            continue
        if ep.name in found:
            if found[ep.name].module_name == ep.value:
                continue
            raise AddonError(f"two installed packages provide an addon named '{ep.name}': "
                             f"{found[ep.name].module_name} and {ep.value}")
        found[ep.name] = Addon(ep.name, ep.value, dist)
    return found


def dependency_order(installed: dict[str, Addon], wanted) -> list[str]:
    """``wanted`` plus everything it depends on, dependencies first.

    Ties are broken by name so the order is the same on every machine.
    """
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]):
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise DependencyCycle(path[path.index(name):] + [name])
        state[name] = "visiting"
        deps = installed[name].depends
        missing = [d for d in deps if d not in installed]
        if missing:
            raise MissingDependency(name, missing)
        for dep in sorted(deps):
            visit(dep, path + [name])
        state[name] = "done"
        order.append(name)

    for name in sorted(set(wanted)):
        if name not in installed:
            raise AddonError(f"no addon named '{name}' is installed "
                             f"(installed: {', '.join(sorted(installed))})")
        visit(name, [])
    return order


def with_auto_enabled(installed: dict[str, Addon], names: list[str]) -> list[str]:
    """Add link addons marked ``auto_enable`` whose dependencies are all in ``names``."""
    result = set(names)
    changed = True
    while changed:
        changed = False
        for addon in installed.values():
            if addon.name not in result and addon.auto_enable and addon.depends \
                    and all(d in result for d in addon.depends):
                result.add(addon.name)
                changed = True
    return dependency_order(installed, result)


def dependants(installed: dict[str, Addon], name: str, among) -> list[str]:
    """Addons in ``among`` that depend on ``name``, directly or not."""
    among = set(among)
    result = []
    for other in among:
        if other == name or other not in installed:
            continue
        if name in dependency_order(installed, [other]):
            result.append(other)
    return sorted(result)


class AddonManager:
    """The plugin manager of one app and the addons it has registered."""

    def __init__(self, installed: dict[str, Addon], enabled: list[str]):
        self.installed = installed
        self.enabled = dependency_order(installed, enabled)
        self.pm = pluggy.PluginManager("o2o")
        self.pm.add_hookspecs(hookspecs)
        # Specs of every installed addon, enabled or not, so listeners of a disabled
        # addon's events still validate.
        for name in dependency_order(installed, installed):
            spec_module = installed[name].manifest.get("hookspecs")
            if spec_module:
                self.pm.add_hookspecs(importlib.import_module(spec_module))
        for name in self.enabled:
            self.pm.register(installed[name].module, name=name)
        self.pm.check_pending()

    @property
    def hook(self):
        return self.pm.hook

    def addon(self, name: str) -> Addon:
        return self.installed[name]

    def is_enabled(self, name: str) -> bool:
        return name in self.enabled

    def call_in_order(self, hook_name: str, **kwargs) -> list[tuple[str, object]]:
        """Call a hook addon by addon in dependency order (pluggy itself calls the last
        registered first). Returns ``(addon name, result)`` for each implementation."""
        caller = getattr(self.pm.hook, hook_name)
        results = []
        by_plugin = {impl.plugin_name: impl for impl in caller.get_hookimpls()}
        for name in self.enabled:
            impl = by_plugin.get(name)
            if impl is None:
                continue
            args = {arg: kwargs[arg] for arg in impl.argnames}
            results.append((name, impl.function(**args)))
        return results
