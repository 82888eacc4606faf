"""The docs stay true to the code.

- docs/reference.md's generated parts (core's models, every public service function with
  its signature) are what ``python -m core.docs_reference`` writes from the code today;
- every public function of every services module has its heading there;
- every ``>>>`` example in the docs runs and prints what the docs say;
- every ``python`` code block in the docs and the README compiles.
"""
from __future__ import annotations

import doctest
import importlib
import re
import warnings
from pathlib import Path

import pytest

from core import docs_reference

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


def blocks(lang: str):
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(rf"```{lang}\n(.*?)```", text, re.S):
            yield f"{path.relative_to(ROOT)}:{text[:match.start()].count(chr(10)) + 2}", match.group(1)


def test_generated_parts_of_the_reference_are_up_to_date():
    current = docs_reference.DOC.read_text(encoding="utf-8")
    assert docs_reference.rendered(current) == current, \
        "docs/reference.md is out of date: run `python -m core.docs_reference` and commit it"


def test_every_public_service_function_is_in_the_reference():
    text = docs_reference.DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"^#### `(\w+)\(", text, re.M))
    modules = docs_reference.service_modules()
    assert {m for _a, m, _d in modules} >= {"core.services.master", "addons.warehouse.services",
                                             "addons.sales.services", "addons.pos.services"}
    missing = []
    for _addon, module_name, _depends in modules:
        module = importlib.import_module(module_name)
        assert f"### `{module_name}`" in text, module_name
        missing += [f"{module_name}.{fn.__name__}" for fn in docs_reference.public_functions(module)
                    if fn.__name__ not in documented]
    assert not missing, f"not in docs/reference.md (run python -m core.docs_reference): {missing}"


def test_signatures_are_rendered_as_written():
    from core.services.master import category_by_path
    assert docs_reference.signature(category_by_path) == \
        "category_by_path(path: str, *, create: bool = False, session=None) -> Category | None"


@pytest.fixture
def app(make_app):
    return make_app(addons=[])


@pytest.mark.parametrize("where, source", list(blocks("pycon")), ids=lambda v: v if ":" in str(v) else "")
def test_doc_examples_run(app, where, source):
    test = doctest.DocTestParser().get_doctest(source, {}, where, where, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    out = []
    runner.run(test, out=out.append)
    assert runner.failures == 0 and test.examples, "".join(out)


@pytest.mark.parametrize("where, source", list(blocks("python")), ids=lambda v: v if ":" in str(v) else "")
def test_doc_code_blocks_compile(where, source):
    with warnings.catch_warnings():
        warnings.simplefilter("error", SyntaxWarning)
        compile(source, where, "exec")
