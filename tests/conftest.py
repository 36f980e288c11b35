"""Shared pytest fixtures."""

from __future__ import annotations

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
