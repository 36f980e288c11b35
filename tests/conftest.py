"""Shared pytest fixtures."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_snakemake(
    args: list[str], cwd: Path, timeout: int = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``snakemake <args>`` (this Python's) in ``cwd``, output captured; the one helper every test uses."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's top level."""
    return REPO


@pytest.fixture
def reload_difference(tmp_path):
    """``f(model, x)``: save ``model``, load it in a fresh Python with ``keras.saving.load_model(path,
    safe_mode=True)`` after only ``import seisembed.train.layers``, embed ``x`` there and return the largest
    difference from ``model(x)``."""
    import numpy as np

    def difference(model, x) -> float:
        path = tmp_path / "reloaded.keras"
        model.save(path)
        np.save(tmp_path / "x.npy", x)
        np.save(tmp_path / "y.npy", np.asarray(model(x)))
        code = (
            "import numpy as np, keras, seisembed.train.layers\n"  # seisembed.train.layers registers its Keras objects
            f"m = keras.saving.load_model({str(path)!r}, safe_mode=True)\n"
            f"y = np.asarray(m(np.load({str(tmp_path / 'x.npy')!r})))\n"
            f"print(np.abs(y - np.load({str(tmp_path / 'y.npy')!r})).max())\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        return float(out.stdout.strip().splitlines()[-1])

    return difference


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


@pytest.fixture(autouse=True)
def _dask_scheduler_left_as_found():
    """Fail the test that leaves a Dask scheduler setting or a default client behind.

    Such a leak makes every later in-process ``compute`` (xarray reads included) ask for a
    client that no longer exists; this names the test that leaked instead of the victims.
    """
    before = sys.modules["dask.config"].get("scheduler", None) if "dask.config" in sys.modules else None
    yield
    if "dask.config" in sys.modules:
        after = sys.modules["dask.config"].get("scheduler", None)
        assert after == before, f"the test left dask scheduler={after!r} (was {before!r})"
    if "distributed" in sys.modules:
        from distributed import default_client

        try:
            client = default_client()
        except ValueError:  # no client is the default: as it should be
            return
        pytest.fail(f"the test left a default Dask client behind: {client!r}")
