"""The API reference (mkdocs.yml, docs/api/) names only objects that exist, and builds strictly.

- every ``::: name`` directive under docs/api/ names an importable module or object (one
  test per directive, so a rename shows which page to change);
- every public top-level module and sub-package of seisembed is in the reference;
- docs/griffe_roles.py turns a docstring's :func:`role` into a checked cross-reference and
  warns (which fails the strict build) when the role names nothing;
- ``mkdocs build --strict`` passes (skipped, saying why, without the ``docs`` extra).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
API = REPO / "docs" / "api"
DIRECTIVE = re.compile(r"^:::\s+(\S+)", re.MULTILINE)
# modules that need an optional extra to import (the static build does not)
OPTIONAL = {"keras", "tensorflow", "tcn", "faiss", "playwright"}


def _directives() -> list[tuple[str, str]]:
    return [
        (page.relative_to(REPO).as_posix(), name)
        for page in sorted(API.glob("*.md"))
        for name in DIRECTIVE.findall(page.read_text(encoding="utf-8"))
    ]


def test_the_api_pages_have_directives():
    assert len(_directives()) >= 20, "docs/api/*.md lost their ::: directives"


@pytest.mark.parametrize(("page", "name"), _directives(), ids=[name for _, name in _directives()])
def test_directive_names_an_importable_object(page: str, name: str):
    parts = name.split(".")
    module, attributes = None, []
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            spec = importlib.util.find_spec(module_name)
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as error:
                if error.name and error.name.split(".")[0] in OPTIONAL:
                    pytest.skip(f"{module_name} needs {error.name} (an optional extra) to import")
                raise
            attributes = parts[cut:]
            break
    assert module is not None, f"{page}: '::: {name}' names no module"
    obj = module
    for attribute in attributes:
        assert hasattr(obj, attribute), f"{page}: '::: {name}': {obj.__name__} has no attribute {attribute!r}"
        obj = getattr(obj, attribute)


def test_every_public_module_is_in_the_reference():
    named = {name for _, name in _directives()}
    package = REPO / "src" / "seisembed"
    missing = [
        f"seisembed.{info.name}"
        for info in pkgutil.iter_modules([str(package)])
        if not info.name.startswith("_")
        and not any(n == f"seisembed.{info.name}" or n.startswith(f"seisembed.{info.name}.") for n in named)
    ]
    assert not missing, (
        f"not in the API reference: {missing}; add a '::: name' directive to a page under docs/api/ "
        "(a stage package to its own page with show_submodules, a shared module to docs/api/shared.md)"
    )


def test_stale_docstring_role_is_reported_and_good_ones_are_linked(tmp_path: Path, caplog):
    griffe = pytest.importorskip("griffe", reason="the docs extra (pip install -e '.[docs]') is not installed")
    package = tmp_path / "seisembed"
    package.mkdir()
    (package / "mod.py").write_text(
        'import os\n\n\ndef there():\n    """Here: :func:`there`, :func:`os.replace`, :exc:`ValueError`."""\n\n\n'
        'def stale():\n    """Gone: :func:`seisembed.mod.moved_away` and :func:`nowhere`."""\n'
    )
    (package / "__init__.py").write_text(
        '"""Top: :func:`seisembed.mod.there`, lazy :func:`lazy`."""\n\n'
        "def __getattr__(name):\n"
        '    if name == "lazy":\n'
        "        from seisembed.mod import there as lazy\n\n"
        "        return lazy\n"
        "    raise AttributeError(name)\n"
    )
    extensions = griffe.load_extensions(str(REPO / "docs" / "griffe_roles.py") + ":SphinxRoles")
    with caplog.at_level(logging.WARNING, logger="griffe"):
        pkg = griffe.load("seisembed", search_paths=[tmp_path], extensions=extensions)
    stale = [r.getMessage() for r in caplog.records if "names no object" in r.getMessage()]
    assert len(stale) == 2, stale
    assert any("seisembed.mod.moved_away" in m for m in stale) and any("`nowhere`" in m for m in stale)
    there = pkg["mod.there"].docstring.value
    assert "[`there`][seisembed.mod.there]" in there
    assert "`os.replace`" in there and "[`os.replace`]" not in there and "`ValueError`" in there
    assert "[`seisembed.mod.there`][seisembed.mod.there]" in pkg.docstring.value
    assert "[`lazy`][seisembed.mod.there]" in pkg.docstring.value  # a lazy __getattr__ export


def test_mkdocs_build_strict(tmp_path: Path):
    for module, what in (
        ("mkdocs", "mkdocs"),
        ("mkdocstrings", "mkdocstrings"),
        ("mkdocstrings_handlers.python", "mkdocstrings-python"),
        ("material", "mkdocs-material"),
        ("griffe_sphinx", "griffe-sphinx"),
    ):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{what} is not installed (the docs extra: pip install -e '.[docs]')")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    assert (tmp_path / "site" / "api" / "dataset" / "index.html").is_file()
