"""Provenance: which config, package versions and git commit made a result."""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from seisembed.config import config_hash
from seisembed.version import __version__

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


def file_sha256(path: str | Path) -> str:
    """SHA-256 (64 hex digits) of a file's bytes, read in 1 MiB blocks (about 1 GB/s)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (Linux ``VmHWM``, which restarts at exec, unlike
    ``ru_maxrss``; elsewhere ``ru_maxrss``). For the benchmarks' memory figures."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


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


#: CPU instruction-set flags that set TensorFlow's CPU speed (recorded with timings)
CPU_FLAGS = ("avx512f", "avx512_bf16", "avx512_vnni", "avx2", "fma", "amx_tile")


def _cpu_info() -> tuple[str, list[str]]:
    """The CPU's model name and which of :data:`CPU_FLAGS` it has (from /proc/cpuinfo; Linux)."""
    name, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "model name" and not name:
                name = value.strip()
            elif key.strip().lower() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return name or platform.processor() or platform.machine(), [f for f in CPU_FLAGS if f in flags]


def describe_device(tf=None) -> dict:
    """The CPU (model name, cores visible, instruction-set flags) and, where TensorFlow sees them, the GPUs.

    ``tf``: the imported TensorFlow module, to list GPUs by name (None: no GPU lookup).
    """
    cpu, flags = _cpu_info()
    device = {"cpu": cpu, "cpu_cores": os.cpu_count(), "cpu_flags": flags, "gpus": []}
    if tf is not None:
        for gpu in tf.config.list_physical_devices("GPU"):
            details = tf.config.experimental.get_device_details(gpu)
            device["gpus"].append(details.get("device_name", gpu.name))
    device["text"] = (
        f"{len(device['gpus'])} GPU(s): {', '.join(device['gpus'])}" if device["gpus"] else "no GPU"
    ) + f"; CPU {cpu} ({device['cpu_cores']} cores visible; {', '.join(flags) or 'no AVX2/AVX-512'})"
    return device
