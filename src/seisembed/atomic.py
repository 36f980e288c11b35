"""Atomic file writes shared by every stage (parquet, JSON, text, cached replies, arrays).

Each file is written to a temporary sibling (same folder, so the same file system)
and moved into place with :func:`os.replace`: a reader, a rerun or a run after an
interruption never sees half a file. The temporary file is removed on failure.
"""

from __future__ import annotations

import json
import os
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
    # pid + thread: concurrent writers of one file (e.g. download threads) never share a temp file
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


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
