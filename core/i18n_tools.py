"""Message catalogues of core and every addon folder: extract, update, check, compile.

    python -m core.i18n_tools extract   # <package>/translations/messages.pot
    python -m core.i18n_tools update    # merge into <package>/translations/<locale>/LC_MESSAGES/messages.po
    python -m core.i18n_tools check     # exit 1 when a Chinese translation is missing/fuzzy/broken
    python -m core.i18n_tools compile   # .po -> .mo (build output; `make translations` does this)
    python -m core.i18n_tools refresh   # extract + update + check

A *package* is ``core`` or an addon folder ``addons/<name>`` (``--package NAME`` limits the
run to some). Messages are what ``_``/``_l``/``gettext``/``lazy_gettext``/``ngettext``/``_n``
mark in Python, what ``_()``/``gettext``/``{% trans %}`` mark in Jinja templates, and each
MANIFEST's ``title`` and ``summary`` (shown translated in menus and the Addons screen).
"""
from __future__ import annotations

import argparse
import ast
import io
import sys
from datetime import datetime, timezone
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ["en", "zh_Hans_CN"]
CHECKED_LOCALE = "zh_Hans_CN"  # English is the source language: its msgstr may stay empty
KEYWORDS = {
    "_": None, "_l": None, "gettext": None, "lazy_gettext": None, "_gettext": None,
    "ngettext": (1, 2), "_n": (1, 2), "lazy_ngettext": (1, 2), "_ngettext": (1, 2),
    "pgettext": ((1, "c"), 2), "lazy_pgettext": ((1, "c"), 2),
}
METHOD_MAP = [
    ("**/translations/**", "ignore"),
    ("**/migrations/**", "ignore"),
    ("**/static/**", "ignore"),
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**/templates/**.txt", "jinja2.ext:babel_extract"),
]
OPTIONS_MAP = {"**/templates/**.html": {"extensions": "jinja2.ext.do", "trimmed": "true"},
               "**/templates/**.txt": {"extensions": "jinja2.ext.do", "trimmed": "true"}}


def packages(root: Path = ROOT) -> dict[str, Path]:
    """name -> folder, for core and every addon folder with an __init__.py."""
    found = {"core": root / "core"}
    for folder in sorted((root / "addons").glob("*/__init__.py")):
        found[folder.parent.name] = folder.parent
    return found


def manifest_messages(folder: Path, name: str):
    """(lineno, msgid, comment) for the MANIFEST's title and summary."""
    source = folder / ("addon.py" if name == "core" else "__init__.py")
    if not source.is_file():
        return
    tree = ast.parse(source.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "MANIFEST" for t in node.targets) \
                and isinstance(node.value, ast.Dict):
            for key, value in zip(node.value.keys, node.value.values):
                if isinstance(key, ast.Constant) and key.value in ("title", "summary", "category") \
                        and isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
                    yield source, value.lineno, value.value, f"MANIFEST {key.value}"


def extract(name: str, folder: Path) -> Catalog:
    """The messages marked in one package (in memory; nothing written)."""
    catalog = Catalog(project=f"o2o {name}", msgid_bugs_address="", charset="utf-8",
                      creation_date=datetime(2026, 1, 1, tzinfo=timezone.utc))
    for filename, lineno, message, comments, context in extract_from_dir(
            str(folder), METHOD_MAP, OPTIONS_MAP, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",),
            strip_comment_tags=True):
        if isinstance(message, tuple) and not message[0]:
            continue
        if not message:
            continue
        catalog.add(message, None, [(f"{folder.name}/{filename}", lineno)], auto_comments=comments,
                    context=context)
    for source, lineno, message, comment in manifest_messages(folder, name):
        catalog.add(message, None, [(f"{folder.name}/{source.name}", lineno)], auto_comments=[comment])
    return catalog


def po_path(folder: Path, locale: str) -> Path:
    return folder / "translations" / locale / "LC_MESSAGES" / "messages.po"


def read_catalog(path: Path, locale: str) -> Catalog | None:
    if not path.is_file():
        return None
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def write_catalog(catalog: Catalog, path: Path, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=False, include_previous=False, **kwargs)
    path.write_bytes(buffer.getvalue())


def write_template(name: str, folder: Path) -> Catalog:
    template = extract(name, folder)
    if len(template):
        write_catalog(template, folder / "translations" / "messages.pot", omit_header=False)
    return template


def update(name: str, folder: Path, template: Catalog | None = None) -> list[Path]:
    """Merge the extracted messages into each locale's .po (creating it); obsolete messages
    are dropped, new ones come in untranslated. Returns the files written."""
    template = template or extract(name, folder)
    written = []
    if not len(template):
        return written
    for locale in LOCALES:
        path = po_path(folder, locale)
        catalog = read_catalog(path, locale)
        if catalog is None:
            catalog = Catalog(locale=locale, project=f"o2o {name}", charset="utf-8",
                              creation_date=template.creation_date)
        # no fuzzy guessing: a guess shown to a clerk is worse than English
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.obsolete.clear()
        catalog.revision_date = template.creation_date
        catalog.fuzzy = False
        write_catalog(catalog, path, ignore_obsolete=True)
        written.append(path)
    return written


def problems(name: str, folder: Path, locale: str = CHECKED_LOCALE) -> list[str]:
    """Every marked string of the package without a good translation in ``locale``."""
    template = extract(name, folder)
    if not len(template):
        return []
    path = po_path(folder, locale)
    catalog = read_catalog(path, locale)
    if catalog is None:
        return [f"{name}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} is missing "
                f"({len(template)} messages to translate)"]
    found = []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id, context=message.context)
        where = ", ".join(f"{f}:{n}" for f, n in message.locations[:2])
        text = message.id if isinstance(message.id, str) else message.id[0]
        if entry is None:
            found.append(f"{name}: not in the catalogue: {text!r} ({where})")
        elif entry.fuzzy:
            found.append(f"{name}: fuzzy: {text!r} ({where})")
        elif not (all(entry.string) if isinstance(entry.string, (tuple, list)) else entry.string):
            found.append(f"{name}: untranslated: {text!r} ({where})")
    for entry, errors in catalog.check():
        for error in errors:
            found.append(f"{name}: {entry.id!r}: {error}")
    return found


def compile_package(folder: Path, force: bool = False) -> list[Path]:
    written = []
    for locale in LOCALES:
        po = po_path(folder, locale)
        if not po.is_file():
            continue
        mo = po.with_suffix(".mo")
        if not force and mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        catalog = read_catalog(po, locale)
        with mo.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        written.append(mo)
    return written


def compile_all(force: bool = False, root: Path = ROOT) -> list[Path]:
    written = []
    for _name, folder in packages(root).items():
        written += compile_package(folder, force)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.i18n_tools", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["extract", "update", "check", "compile", "refresh"])
    parser.add_argument("--package", action="append", help="only this package (core or an addon name)")
    parser.add_argument("--force", action="store_true", help="compile: rewrite every .mo")
    args = parser.parse_args(argv)
    selected = {n: f for n, f in packages().items() if not args.package or n in args.package}
    unknown = set(args.package or ()) - set(selected)
    if unknown:
        parser.error(f"unknown package(s): {', '.join(sorted(unknown))}")
    status = 0
    for name, folder in selected.items():
        if args.command in ("extract", "refresh"):
            template = write_template(name, folder)
            print(f"{name}: {len(template)} messages")
        if args.command in ("update", "refresh"):
            for path in update(name, folder):
                print(f"{name}: updated {path.relative_to(ROOT)}")
        if args.command == "compile":
            for path in compile_package(folder, args.force):
                print(f"{name}: compiled {path.relative_to(ROOT)}")
    if args.command in ("check", "refresh"):
        found = [p for name, folder in selected.items() for p in problems(name, folder)]
        for line in found:
            print(line, file=sys.stderr)
        if found:
            print(f"{len(found)} message(s) need a Chinese translation: edit the .po files named above",
                  file=sys.stderr)
            status = 1
        else:
            print("every marked string has a Chinese translation")
    return status


if __name__ == "__main__":
    sys.exit(main())
