"""Atomic writes shared by every stage: files (parquet, JSON, text, cached replies,
arrays, QuakeML, StationXML) and whole folders (the Zarr store).

Each output is written to a temporary sibling (same folder, so the same file
system) and moved into place with :func:`os.replace` (a folder replaces an
existing one only once complete): a reader, a rerun or a run after an
interruption never sees half an output. The temporary is removed on failure.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

#: key of the record strict JSON adds when it replaced non-finite numbers by null
NON_FINITE_KEY = "non_finite_values"


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


def finite_json(value, _where: str = "", _found: list | None = None):
    """``value`` with every non-finite float (NaN, +-inf; NumPy scalars too) replaced by ``None``.

    Returns ``(clean, paths)``: the cleaned copy and the JSON paths (``a.b[3]``)
    of the replaced numbers. NumPy scalars and arrays become Python numbers/lists.
    """
    found = [] if _found is None else _found
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # NumPy scalar or array
        value = value.tolist()
    if isinstance(value, float):
        if math.isfinite(value):
            return value, found
        found.append(_where or "$")
        return None, found
    if isinstance(value, dict):
        return {k: finite_json(v, f"{_where}.{k}" if _where else str(k), found)[0] for k, v in value.items()}, found
    if isinstance(value, (list, tuple)):
        return [finite_json(v, f"{_where}[{i}]", found)[0] for i, v in enumerate(value)], found
    return value, found


def dumps_strict(record, indent: int | None = 2, sort_keys: bool = True) -> str:
    """``record`` as strict JSON (RFC 8259: no ``NaN``/``Infinity`` tokens).

    Non-finite numbers are written as ``null``; a dict record then gets a
    ``non_finite_values`` entry with their count and paths, so a reader knows a
    number was missing rather than zero. Other objects (timestamps, paths) are
    written as strings.
    """
    clean, found = finite_json(record)
    if found and isinstance(clean, dict):
        # a record passed on may already carry the count of an earlier writer: add to it
        earlier = clean.get(NON_FINITE_KEY) if isinstance(clean.get(NON_FINITE_KEY), dict) else {}
        found = [p for p in found if not p.startswith(NON_FINITE_KEY)]
        paths = list(earlier.get("paths", [])) + found
        clean[NON_FINITE_KEY] = {"count": int(earlier.get("count", 0) or 0) + len(found), "paths": paths[:50]}
    return json.dumps(clean, indent=indent, sort_keys=sort_keys, default=str, allow_nan=False)


def write_json_atomic(record: dict, path: str | Path, sort_keys: bool = True) -> Path:
    """Write ``record`` as indented strict JSON to ``path`` atomically (non-finite numbers as null, counted)."""
    text = dumps_strict(record, sort_keys=sort_keys)
    found = finite_json(record)[1] if isinstance(record, dict) else []
    if found:
        log.warning("%s: %d non-finite number(s) written as null (%s)", path, len(found), ", ".join(found[:5]))
    return write_text_atomic(path, text + "\n")


def write_parquet_atomic(table: pd.DataFrame, path: str | Path) -> Path:
    """Write ``table`` (without its index) to parquet at ``path`` atomically."""
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
    return Path(path)
