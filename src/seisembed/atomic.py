"""Atomic writes shared by every stage: files (parquet, JSON, text, cached replies,
arrays, QuakeML, StationXML) and whole folders (the Zarr store).

Each output is written to a temporary sibling (same folder, so the same file
system) and moved into place with :func:`os.replace` (a folder replaces an
existing one only once complete): a reader, a rerun or a run after an
interruption never sees half an output. The temporary is removed on failure.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success move it to ``path`` (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def temporary_sibling(path: str | Path) -> Path:
    """The temporary name :func:`atomic_path`/:func:`atomic_dir` use for ``path`` in this process and thread."""
    path = Path(path)
    # pid + thread: concurrent writers of one output (e.g. download threads) never share a temporary
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder path (not created) to write; on success it replaces ``path``.

    An existing ``path`` is removed only after the new folder is complete. On failure
    (or interruption) the temporary folder is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def save_figure(fig, path: str | Path) -> Path:
    """Save a matplotlib figure atomically as PNG (110 dpi, tight box, no timestamp metadata) and close it."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return write_bytes_atomic(path, buffer.getvalue())


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json_atomic(record: dict, path: str | Path) -> Path:
    """Write ``record`` as indented, key-sorted JSON to ``path`` atomically."""
    return write_text_atomic(path, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")


def write_parquet_atomic(table: pd.DataFrame, path: str | Path) -> Path:
    """Write ``table`` (without its index) to parquet at ``path`` atomically."""
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
    return Path(path)
