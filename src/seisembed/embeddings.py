"""The embeddings table: one contract for every writer and reader.

An embeddings table (``results/embeddings/embeddings.parquet``, or the output of
``seisembed embed``) holds one row per record:

* the identifying columns :data:`EMBEDDING_COLUMNS` (``trace_name`` unique;
  ``source_id``, ``split``, ``source_type``, station codes, novelty flags);
* ``emb_00`` .. ``emb_NN``: the embedding, a unit vector (Euclidean norm 1 within
  :data:`UNIT_NORM_TOLERANCE`), finite float32;
* in the parquet metadata (``DataFrame.attrs["seisembed"]``): the **model hash**
  (SHA-256 of ``model.keras``, 16 hex digits) that made every row, the model path,
  the dimension, and, as written, the row count and a hash of the trace names in
  order (so a table that lost, repeated or reordered rows since it was written is
  recognised where completeness matters: the evaluation stage).

:func:`validate_embeddings` checks that contract and :func:`read_embeddings` reads
a file through it. Every consumer (the analyst commands, the evaluation stage)
reads through them, so a damaged table is refused with the file, the column and
the first offending rows named, never scored.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.argtypes import input_path
from seisembed.columns import EMBEDDING_COLUMNS, SPLITS  # EMBEDDING_COLUMNS: re-exported
from seisembed.errors import InputError

__all__ = [
    "EMBEDDINGS_META_KEY",
    "EMBEDDING_COLUMNS",
    "UNIT_NORM_TOLERANCE",
    "embedding_columns",
    "embedding_matrix",
    "embedding_model_hash",
    "embeddings_frame",
    "read_embeddings",
    "validate_embeddings",
]

log = logging.getLogger(__name__)

#: key of the embeddings parquet's metadata (``DataFrame.attrs``)
EMBEDDINGS_META_KEY = "seisembed"
#: largest accepted deviation of an embedding's Euclidean norm from 1 (float32 rounding is ~1e-7;
#: a model without its final normalisation gives norms far from 1)
UNIT_NORM_TOLERANCE = 1e-3
#: rows named in a refusal
SHOW = 5


def _names_hash(names: Iterable) -> str:
    digest = hashlib.sha256()
    for name in names:
        digest.update(str(name).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def embeddings_frame(meta: pd.DataFrame, emb: np.ndarray, model_id: str = "", model_path: str = "") -> pd.DataFrame:
    """The embeddings table of ``meta``'s records: identifying columns, ``emb_00`` .. ``emb_NN``, metadata in ``attrs``."""
    frame = meta.loc[:, list(EMBEDDING_COLUMNS)].reset_index(drop=True).copy()
    emb = np.asarray(emb, dtype=np.float32)
    if emb.ndim != 2 or len(emb) != len(frame):
        raise ValueError(f"embeddings of shape {emb.shape} for {len(frame)} records")
    columns = {f"emb_{k:02d}": emb[:, k] for k in range(emb.shape[1])}
    frame = pd.concat([frame, pd.DataFrame(columns)], axis=1)
    frame.attrs[EMBEDDINGS_META_KEY] = {
        "model_hash": model_id,
        "model": str(model_path),
        "dim": int(emb.shape[1]),
        "n": int(len(frame)),
        "trace_names_hash": _names_hash(frame["trace_name"]),
    }
    if len(frame):  # the writer keeps the contract too: NaN or non-unit vectors are never written
        validate_embeddings(frame, f"embeddings of model {model_path or model_id or '(in memory)'}", model_hash=False)
    return frame


def embedding_columns(frame: pd.DataFrame) -> list[str]:
    """The ``emb_NN`` column names of ``frame``, in dimension order (``emb_99`` before ``emb_100``)."""
    names = [c for c in frame.columns if isinstance(c, str) and c.startswith("emb_")]
    return sorted(names, key=lambda c: (int(c[4:]) if c[4:].isdigit() else float("inf"), c))


def embedding_model_hash(frame: pd.DataFrame) -> str:
    """The model hash an embeddings table records (``""`` when it records none)."""
    meta = frame.attrs.get(EMBEDDINGS_META_KEY, {})
    return str(meta.get("model_hash", "")) if isinstance(meta, dict) else ""


def embedding_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The ``emb_NN`` columns as float32 ``(n, dim)`` (in dimension order)."""
    return frame[embedding_columns(frame)].to_numpy(dtype=np.float32)


def _rows(frame: pd.DataFrame, mask: np.ndarray) -> str:
    """``row 3 (ev1_XX.STA.), row 7 (...)``: the first offending rows, by position and trace name."""
    positions = np.flatnonzero(mask)[:SHOW]
    names = frame["trace_name"].to_numpy() if "trace_name" in frame else None
    shown = ", ".join(f"row {p}" + (f" ({names[p]})" if names is not None else "") for p in positions)
    more = int(mask.sum()) - len(positions)
    return shown + (f" and {more} more" if more > 0 else "")


def _blank(column: pd.Series) -> np.ndarray:
    """Rows of ``column`` that are missing or blank text (any dtype: object, str, string, categorical)."""
    missing = column.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(column) and not isinstance(column.dtype, pd.CategoricalDtype):
        return missing
    text = column.astype(object).where(~column.isna(), "").astype(str)
    return missing | (text.str.strip() == "").to_numpy()


def _meta_int(meta: dict, key: str, where: str) -> int | None:
    """``meta[key]`` as a whole number, ``None`` when absent; :class:`InputError` when it is not one."""
    if key not in meta:
        return None
    value = meta[key]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{where}: parquet metadata '{EMBEDDINGS_META_KEY}.{key}' is {value!r}, not a whole number")
    return int(value)


def validate_embeddings(
    frame: pd.DataFrame,
    where: str = "embeddings",
    require: Iterable[str] = (),
    *,
    model_hash: bool = True,
    complete: bool = False,
) -> pd.DataFrame:
    """Check ``frame`` against the embeddings contract; return it (unchanged) or raise :class:`InputError`.

    ``where`` names the table in messages (e.g. ``"templates file t.parquet"``).
    ``require``: identifying columns the caller needs besides ``trace_name``
    (e.g. ``source_id`` to group by event); they must be present without missing
    values, ``split`` must hold known values and ``source_type`` a label (earthquake, explosion, or
    another type a SeisBench import kept, which the two-class discrimination leaves out). ``model_hash``:
    the table must record the model that made it. ``complete``: the rows must be
    those written (same count and trace names in order), e.g. for the evaluation
    stage, where a lost row would silently change the metrics.

    Checked: columns ``trace_name`` and ``emb_00`` .. ``emb_NN`` (numeric, no gap
    in the numbering), at least one row, unique non-missing trace names, finite
    values, unit norm within :data:`UNIT_NORM_TOLERANCE`, one model hash.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{where}: expected an embeddings table (pandas DataFrame), got {type(frame).__name__}")
    columns = embedding_columns(frame)
    if not columns or "trace_name" not in frame.columns:
        raise InputError(f"{where} has no trace_name and emb_NN columns: not a seisembed embeddings table")
    expected = [f"emb_{k:02d}" for k in range(len(columns))]
    if columns != expected:
        wrong = sorted(set(columns) ^ set(expected))
        raise InputError(
            f"{where}: embedding columns {wrong[:SHOW]} break the numbering emb_00 .. emb_{len(columns) - 1:02d}"
        )
    missing = [c for c in require if c not in frame.columns]
    if missing:
        raise InputError(f"{where} has no column(s) {missing}, which this use of the table needs")
    if frame.empty:
        raise InputError(f"{where} holds no records")
    for column in columns:
        dtype = frame[column].dtype
        if not (
            pd.api.types.is_numeric_dtype(dtype)
            and not pd.api.types.is_bool_dtype(dtype)
            and not pd.api.types.is_complex_dtype(dtype)
        ):
            raise InputError(f"{where}: column {column} holds {frame[column].dtype} values, not numbers")
    names = frame["trace_name"]
    blank = _blank(names)
    if blank.any():
        raise InputError(f"{where}: column trace_name is empty in {int(blank.sum())} row(s): {_rows(frame, blank)}")
    repeated = names.duplicated(keep=False).to_numpy()
    if repeated.any():
        raise InputError(
            f"{where}: column trace_name repeats {int(names.duplicated().sum())} record(s): {_rows(frame, repeated)}; "
            "each record must appear once"
        )
    for column in require:
        empty = _blank(frame[column])
        if column in ("source_id", "trace_name", "source_type") and empty.any():
            raise InputError(f"{where}: column {column} is empty in {int(empty.sum())} row(s): {_rows(frame, empty)}")
        allowed = {"split": SPLITS}.get(column)
        if allowed is not None:
            bad = ~frame[column].astype(str).isin(allowed).to_numpy()
            if bad.any():
                values = sorted(set(frame.loc[bad, column].astype(str)))[:SHOW]
                raise InputError(
                    f"{where}: column {column} holds {values}, not one of {list(allowed)}, in {_rows(frame, bad)}"
                )
    emb = frame[columns].to_numpy(dtype=np.float64)
    finite = np.isfinite(emb)
    if not finite.all():
        rows = ~finite.all(axis=1)
        first = columns[int(np.flatnonzero(~finite[np.flatnonzero(rows)[0]])[0])]
        raise InputError(
            f"{where}: {int(rows.sum())} record(s) hold NaN or infinite embedding values (first in column {first}): "
            f"{_rows(frame, rows)}"
        )
    norms = np.linalg.norm(emb, axis=1)
    off = np.abs(norms - 1.0) > UNIT_NORM_TOLERANCE
    if off.any():
        raise InputError(
            f"{where}: {int(off.sum())} record(s) are not unit vectors (norm {norms[off][0]:.4g} in the first; "
            f"tolerance {UNIT_NORM_TOLERANCE:g}): {_rows(frame, off)}; an embedding model ends in a normalisation"
        )
    meta = frame.attrs.get(EMBEDDINGS_META_KEY)
    meta = meta if isinstance(meta, dict) else {}
    if model_hash and not embedding_model_hash(frame):
        raise InputError(
            f"{where} records no model hash (parquet metadata '{EMBEDDINGS_META_KEY}'): embed with `seisembed embed` "
            "or the evaluation stage, whose tables record the model that made them"
        )
    if "model_hash" in frame.columns:  # a table assembled from several: one model only
        hashes = sorted(set(frame["model_hash"].astype(str)))
        if len(hashes) > 1:
            raise InputError(f"{where} mixes embeddings of {len(hashes)} models {hashes[:SHOW]}: use one model")
    dim = _meta_int(meta, "dim", where)
    if dim is not None and dim != len(columns):
        raise InputError(f"{where} records {dim}-d embeddings but has {len(columns)} emb_NN columns")
    if complete:
        written = _meta_int(meta, "n", where)
        if written is None or "trace_names_hash" not in meta:
            raise InputError(
                f"{where} does not record the rows it was written with (an embeddings table of an older "
                "seisembed, or one rewritten without its metadata): rerun the embed_store rule"
            )
        if written != len(frame):
            raise InputError(
                f"{where} holds {len(frame)} records but was written with {written}: rows were lost or "
                "repeated since; rerun the embed_store rule"
            )
        if meta.get("trace_names_hash") != _names_hash(names):
            raise InputError(
                f"{where}: its records were reordered or renamed since it was written (the trace names no longer "
                "match the record of them); rerun the embed_store rule"
            )
    return frame


def read_embeddings(
    path: str | Path,
    what: str = "embeddings",
    require: Iterable[str] = (),
    *,
    model_hash: bool = True,
    complete: bool = False,
) -> pd.DataFrame:
    """Read an embeddings parquet and check it (:func:`validate_embeddings`); errors name ``what`` and the file."""
    path = input_path(path, f"{what} file")
    where = f"{what} file {path}"
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"{where} is not a readable parquet file: {exc}") from exc
    except Exception as exc:  # pyarrow raises its own types (ArrowInvalid is a ValueError, others are not)
        if type(exc).__module__.startswith("pyarrow"):
            raise InputError(f"{where} is not a readable parquet file: {exc}") from exc
        raise
    return validate_embeddings(frame, where, require, model_hash=model_hash, complete=complete)
