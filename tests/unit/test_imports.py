"""Import rules that import-linter (pyproject.toml, `lint-imports`) does not check.

No module reaches for another module's private name (make it public where it belongs);
the random-stream ids are one enum, unchanged.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest


def _private_imports(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("seisembed"):
                found += [
                    f"{path}:{node.lineno}: from {node.module} import {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                ]
    return found


@pytest.mark.parametrize("folder", ["src", "benchmarks"])
def test_no_module_imports_another_modules_private_name(repo_root: Path, folder: str):
    assert _private_imports(repo_root / folder) == []


def test_random_stream_ids_are_fixed_and_seed_as_plain_integers():
    from seisembed.streams import Stream

    ids = {s.name: int(s) for s in Stream}
    assert ids == {
        "MONTHS": 1,
        "STATIONS": 2,
        "SAMPLER": 3,
        "PAIRS": 4,
        "BOOTSTRAP": 5,
        "EVAL_PAIRS": 6,
        "TEMPLATES": 7,
        "TSNE": 8,
        "SRSPEC": 9,
        "SUBSAMPLE": 10,
        "WRONG_EVENTS": 11,
    }
    for stream in Stream:
        a = np.random.default_rng([42, stream, 3]).random(4)
        b = np.random.default_rng([42, int(stream), 3]).random(4)
        assert np.array_equal(a, b)
