"""The generated parts of docs/reference.md: core's models and every public service.

They are written from the code (columns from the tables, signatures and docstrings from
the functions), so the reference cannot drift from it:

    python -m core.docs_reference            # rewrite the generated parts of docs/reference.md
    python -m core.docs_reference --check    # exit 1 if they are out of date (CI, tests)

A service module's public functions are those in its ``__all__`` or, without one, every
function defined in it whose name does not start with ``_``.
"""
from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "reference.md"

CORE_MODELS = [("core.auth.models", "User"), ("core.auth.models", "Role"), ("core.models", "Store"),
               ("core.models", "Partner"), ("core.models", "Product"), ("core.models", "Category"),
               ("core.models", "Tax"), ("core.models", "Unit")]
CORE_SERVICES = ["core.services.master", "core.services.products", "core.services.sequences"]

_BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def _annotation(value) -> str:
    if value is inspect.Parameter.empty:
        return ""
    return value if isinstance(value, str) else inspect.formatannotation(value)


def signature(fn) -> str:
    """``name(arg: type, *, key=default) -> result``, annotations as written in the code."""
    parts, star_done = [], False
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        text = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        if p.kind is p.VAR_POSITIONAL:
            star_done = True
        annotation = _annotation(p.annotation)
        if annotation:
            text += f": {annotation}"
        if p.default is not p.empty:
            text += (" = " if annotation else "=") + repr(p.default)
        parts.append(text)
    result = _annotation(inspect.signature(fn).return_annotation)
    return f"{fn.__name__}({', '.join(parts)})" + (f" -> {result}" if result else "")


def public_functions(module) -> list:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items()
                 if not n.startswith("_") and inspect.isfunction(v) and v.__module__ == module.__name__]
    return [getattr(module, n) for n in names if inspect.isfunction(getattr(module, n, None))]


def public_classes(module) -> list[str]:
    names = getattr(module, "__all__", None) or []
    return [n for n in names if inspect.isclass(getattr(module, n, None))]


def service_modules() -> list[tuple[str, str, list[str]]]:
    """(addon, services module, depends) for core and every built-in addon, in load order."""
    from core.plugins import dependency_order, discover
    installed = discover(include_third_party=False)
    found = [("core", name, []) for name in CORE_SERVICES]
    for addon in dependency_order(installed, installed):
        if addon == "core":
            continue
        module_name = f"{installed[addon].module_name}.services"
        try:
            importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        found.append((addon, module_name, installed[addon].depends))
    return found


def _doc(obj) -> str:
    # A class's own docstring only (inspect.getdoc would show a mixin's).
    text = inspect.cleandoc(obj.__dict__.get("__doc__") or "") if inspect.isclass(obj) else inspect.getdoc(obj)
    return text.strip() if text else "*No docstring yet.*"


def _first_line(obj) -> str:
    text = inspect.getdoc(obj)
    return f": {text.splitlines()[0].rstrip('.')}" if text else ""


def render_services() -> str:
    out = []
    for addon, module_name, depends in service_modules():
        module = importlib.import_module(module_name)
        out.append(f"### `{module_name}`\n")
        if addon != "core":
            out.append(f"Addon `{addon}` (depends on {', '.join(f'`{d}`' for d in depends) or '`core`'}): "
                       f"import it only if your MANIFEST `depends` lists `{addon}`.\n")
        summary = (inspect.getdoc(module) or "").split("\n\n")[0].strip()
        if summary:
            out.append(summary + "\n")
        classes = public_classes(module)
        if classes:
            out.append("Models it exports: " + ", ".join(f"`{c}`" for c in classes) + ".\n")
        for fn in public_functions(module):
            out.append(f"#### `{signature(fn)}`\n\n{_doc(fn)}\n")
    return "\n".join(out)


def _column_type(column) -> str:
    kind = type(column.type).__name__
    if kind in ("Money", "UnitPrice", "Quantity"):
        return f"{kind} (Decimal)"
    length = getattr(column.type, "length", None)
    return f"{kind}({length})" if length else kind


def render_models() -> str:
    import sqlalchemy as sa
    out = []
    for module_name, name in CORE_MODELS:
        model = getattr(importlib.import_module(module_name), name)
        out.append(f"### `{name}` (`{module_name}`, table `{model.__tablename__}`)\n\n{_doc(model)}\n")
        out.append("| column | type | |\n|---|---|---|")
        for column in model.__table__.columns:
            notes = []
            if column.primary_key:
                notes.append("primary key")
            elif not column.nullable:
                notes.append("required")
            if column.unique:
                notes.append("unique")
            for fk in column.foreign_keys:
                notes.append(f"→ `{fk.target_fullname}`")
            out.append(f"| `{column.name}` | {_column_type(column)} | {', '.join(notes)} |")
        rels = sa.inspect(model).relationships
        if rels:
            out.append("\nRelations: " + ", ".join(
                f"`{r.key}` ({'list of ' if r.uselist else ''}`{r.mapper.class_.__name__}`)" for r in rels) + ".")
        members = [(n, v) for n, v in vars(model).items() if not n.startswith("_")
                   and (inspect.isfunction(v) or isinstance(v, property)) and n not in ("query",)]
        if members:
            out.append("\nMethods and properties: " + "; ".join(
                f"`{n}`{_first_line(v)}" for n, v in members) + ".")
        out.append("")
    return "\n".join(out)


RENDERERS = {"models": render_models, "services": render_services}


def rendered(text: str) -> str:
    """``text`` (the reference) with every generated block written afresh."""
    def replace(match):
        return match.group(1) + "\n" + RENDERERS[match.group(2)]().rstrip() + "\n\n" + match.group(4)
    return _BLOCK.sub(replace, text)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from core.plugins import dependency_order, discover
    installed = discover(include_third_party=False)
    for name in dependency_order(installed, installed):
        installed[name].import_models()
    current = DOC.read_text(encoding="utf-8")
    fresh = rendered(current)
    if "--check" in argv:
        if fresh != current:
            print("docs/reference.md is out of date: run `python -m core.docs_reference`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh, encoding="utf-8")
    print("docs/reference.md written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
