"""docs/hooks.md and the hookspecs stay in step (as Datasette's documentation test does).

Every ``o2o_*`` hookspec in core/hookspecs.py and in each installed addon's ``hookspecs``
module has a heading ``#### o2o_name(arg, ...)`` with the spec's own arguments: core hooks
under "## Core hooks", an addon's under "## Hooks published by addons" / "### <addon>".
No heading documents a hook that does not exist.
"""
from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from core import hookspecs as core_hookspecs
from core.plugins import discover

DOC = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"
HEADING = re.compile(r"^(#{2,4})\s+(.*?)\s*$")
HOOK_HEADING = re.compile(r"^`?(o2o_\w+)\((.*?)\)`?$")


def specs_of(module) -> dict[str, list[str]]:
    return {name: list(inspect.signature(fn).parameters)
            for name, fn in vars(module).items()
            if name.startswith("o2o_") and callable(fn) and hasattr(fn, "o2o_spec")}


def all_specs() -> dict[str, tuple[str, list[str]]]:
    """hook name -> (owner: "core" or the addon name, argument names)."""
    found = {name: ("core", args) for name, args in specs_of(core_hookspecs).items()}
    for name, addon in sorted(discover(include_third_party=False).items()):
        module_name = addon.manifest.get("hookspecs")
        if module_name:
            for hook, args in specs_of(importlib.import_module(module_name)).items():
                found[hook] = (name, args)
    return found


def documented() -> dict[str, tuple[str, str | None, list[str]]]:
    """hook name -> (## section, ### subsection, documented arguments)."""
    section = subsection = None
    hooks = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = HEADING.match(line)
        if not match:
            continue
        level, text = len(match.group(1)), match.group(2)
        if level == 2:
            section, subsection = text, None
        elif level == 3:
            subsection = text.strip("`").split()[0] if text else None
        hook = HOOK_HEADING.match(text)
        if hook and level == 4:
            assert hook.group(1) not in hooks, f"{hook.group(1)} is documented twice in docs/hooks.md"
            args = [a.strip() for a in hook.group(2).split(",") if a.strip()]
            hooks[hook.group(1)] = (section, subsection, args)
    return hooks


def test_the_hook_specs_are_found():
    specs = all_specs()
    assert {"o2o_permissions", "o2o_compute_price", "o2o_after_commit"} <= set(specs)


@pytest.mark.parametrize("hook", sorted(all_specs()))
def test_every_hook_is_documented_with_its_arguments_in_its_section(hook):
    owner, args = all_specs()[hook]
    docs = documented()
    assert hook in docs, f"{hook} ({owner}) is not documented in docs/hooks.md: add '#### {hook}({', '.join(args)})'"
    section, subsection, doc_args = docs[hook]
    assert doc_args == args, f"docs/hooks.md documents {hook}({', '.join(doc_args)}), the spec is {hook}({', '.join(args)})"
    if owner == "core":
        assert section == "Core hooks", f"{hook} is a core hook but documented under '{section}'"
    else:
        assert (section, subsection) == ("Hooks published by addons", owner), \
            f"{hook} is published by {owner}: document it under '### {owner}' in 'Hooks published by addons'"


def test_the_docs_name_no_hook_that_does_not_exist():
    unknown = sorted(set(documented()) - set(all_specs()))
    assert not unknown, f"docs/hooks.md documents hooks that no hookspec declares: {unknown}"


def test_the_docs_have_the_agreed_structure():
    sections = [m.group(2) for line in DOC.read_text(encoding="utf-8").splitlines()
                if (m := HEADING.match(line)) and len(m.group(1)) == 2]
    assert sections.index("Core hooks") < sections.index("Hooks published by addons")
