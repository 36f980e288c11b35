"""Provenance: which config, package versions and git commit made a result."""

from __future__ import annotations

import datetime as _dt
import subprocess
from importlib import metadata
from pathlib import Path

from seisembed import __version__
from seisembed.config import config_hash

#: packages whose versions are recorded with every result
TRACKED_PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "obspy",
    "xarray",
    "zarr",
    "dask",
    "snakemake",
    "tensorflow",
    "keras",
    "keras-tcn",
)


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`TRACKED_PACKAGES` (absent ones are skipped)."""
    versions = {"seisembed": __version__}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_commit(path: str | Path = ".") -> str:
    """The git commit of the working tree at ``path`` (``+dirty`` if modified), or ``unknown``."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=path,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def provenance(config: dict, *, timestamp: bool = False) -> dict:
    """A JSON-able record of the config (and its hash), package versions and git commit.

    ``timestamp`` is off by default so that outputs stay byte-identical between runs.
    """
    record = {
        "config": config,
        "config_hash": config_hash(config),
        "packages": package_versions(),
        "git_commit": git_commit(),
    }
    if timestamp:
        record["created_utc"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    return record
