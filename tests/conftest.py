"""Shared pytest fixtures."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's top level."""
    return REPO


@pytest.fixture(scope="session")
def isc_2014_csv(repo_root: Path) -> Path:
    """The committed real 2014 ISC arrivals catalogue."""
    path = repo_root / "resources" / "isc" / "isc_arrivals_2014_conus.csv.gz"
    assert path.is_file(), path
    return path


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def tree_digest():
    """A function: ``{relative path: sha256}`` of every file below a folder (byte-identity checks)."""
    return _digest
