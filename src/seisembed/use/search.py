"""Nearest-neighbour search over an embeddings table: exact (scikit-learn) or approximate (FAISS HNSW).

An index is a folder:

* ``index.json``: format, kind (``exact`` | ``hnsw``), the **model hash** of the
  embeddings it holds (queries embedded by another model are refused), vector
  dimension and count, the HNSW parameters, the source file and provenance;
* ``records.parquet``: the records' identifying columns, in index order;
* ``vectors.npy`` (exact: float32 unit vectors) or ``hnsw.faiss`` (approximate).

Distances are Euclidean between unit vectors (0 = identical, 2 = opposite), the
measure the model was trained with. Exact search is brute force
(:class:`sklearn.neighbors.NearestNeighbors`, ``algorithm="brute"``): right for
the archives of one study (a million 32-d vectors: 238 queries/s on two cores,
``benchmarks/search.py``). The approximate index is FAISS's HNSW graph (``IndexHNSWFlat``): FAISS is
maintained by Meta with wheels for Linux, macOS and Windows, reads and writes its
indexes to disk, and also offers IVF/PQ compression should an archive outgrow
memory; ``benchmarks/search.py`` measures its recall@10 against exact search.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.atomic import atomic_path, write_json_atomic, write_parquet_atomic
from seisembed.embeddings import UNIT_NORM_TOLERANCE, embedding_matrix, embedding_model_hash, validate_embeddings
from seisembed.errors import InputError
from seisembed.provenance import file_sha256, provenance

__all__ = ["NeighbourIndex", "build_index", "load_index", "similar"]

log = logging.getLogger(__name__)

INDEX_FORMAT = "seisembed-index/1"
KINDS = ("exact", "hnsw")
#: HNSW links per node: FAISS crashes below 2; typical values are 16-64
M_RANGE = (2, 1024)
#: search/build breadths and thread counts: C ints
INT_MAX = 2**31 - 1
#: query rows answered per call (bounds memory: chunk x index size distances for exact search)
QUERY_CHUNK = 256


@dataclass
class NeighbourIndex:
    """A loaded index: metadata, records and the searcher."""

    info: dict
    records: pd.DataFrame
    vectors: np.ndarray | None = None  # exact
    faiss_index: object = None  # hnsw
    _exact: object = None  # the fitted scikit-learn searcher (exact), made on first use

    @property
    def model_hash(self) -> str:
        return str(self.info.get("model_hash", ""))

    def search(self, queries: np.ndarray, k: int, ef_search: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(distances, positions)`` of the ``k`` nearest records per query row (Euclidean; -1 / inf padding)."""
        k = int(min(k, len(self.records)))
        if self.info["kind"] == "exact":
            if self._exact is None:
                from sklearn.neighbors import NearestNeighbors

                self._exact = NearestNeighbors(algorithm="brute", metric="euclidean").fit(self.vectors)
            dist, pos = self._exact.kneighbors(queries, n_neighbors=k)
            return dist.astype(np.float32), pos.astype(np.int64)
        index = self.faiss_index
        index.hnsw.efSearch = int(max(ef_search or self.info["params"]["ef_search"], k))
        squared, pos = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        dist = np.sqrt(np.maximum(squared, 0.0))
        dist[pos < 0] = np.inf
        return dist.astype(np.float32), pos.astype(np.int64)


def _check_int(name: str, value, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]``, else :class:`InputError` naming ``name`` (FAISS would crash)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise InputError(f"{name} must be a whole number in [{low}, {high}], not {value!r}")
    return int(value)


def build_index(
    embeddings: pd.DataFrame,
    out_dir: str | Path,
    kind: str = "exact",
    *,
    m: int = 32,
    ef_construction: int = 200,
    ef_search: int = 128,
    source: str = "",
    threads: int | None = None,
) -> dict:
    """Write an index of ``embeddings`` (an embeddings table) to ``out_dir``; return its ``index.json`` record.

    ``kind="hnsw"``: FAISS HNSW with ``m`` links per node, ``ef_construction`` and
    the default ``ef_search`` (larger: higher recall, slower). Raises
    :class:`InputError` when the table records no model hash or holds no records.
    """
    if kind not in KINDS:
        raise InputError(f"unknown index kind {kind!r}; choose one of {KINDS}")
    _check_int("HNSW m", m, *M_RANGE)
    _check_int("HNSW ef_construction", ef_construction, 1, INT_MAX)
    _check_int("HNSW ef_search", ef_search, 1, INT_MAX)
    if threads is not None:
        _check_int("threads", threads, 1, 1024)
    where = source or "embeddings"
    validate_embeddings(embeddings, where)
    model_id = embedding_model_hash(embeddings)
    vectors = embedding_matrix(embeddings)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"index folder {out} is a file: give a folder to write the index to")
    out.mkdir(parents=True, exist_ok=True)
    params: dict = {}
    if kind == "exact":
        with atomic_path(out / "vectors.npy") as tmp, open(tmp, "wb") as handle:
            np.save(handle, vectors)
        stale = out / "hnsw.faiss"
    else:
        import faiss

        if threads:
            faiss.omp_set_num_threads(int(threads))
        params = {"m": int(m), "ef_construction": int(ef_construction), "ef_search": int(ef_search)}
        index = faiss.IndexHNSWFlat(vectors.shape[1], int(m), faiss.METRIC_L2)
        index.hnsw.efConstruction = int(ef_construction)
        log.info("building an HNSW index of %d vectors (M=%d, efConstruction=%d)", len(vectors), m, ef_construction)
        index.add(vectors)
        with atomic_path(out / "hnsw.faiss") as tmp:
            faiss.write_index(index, str(tmp))
        stale = out / "vectors.npy"
    stale.unlink(missing_ok=True)
    records = embeddings.loc[:, [c for c in embeddings.columns if not c.startswith("emb_")]].reset_index(drop=True)
    write_parquet_atomic(records, out / "records.parquet")
    payload = "vectors.npy" if kind == "exact" else "hnsw.faiss"
    info = {
        "format": INDEX_FORMAT,
        "kind": kind,
        "metric": "euclidean (unit vectors)",
        "model_hash": model_id,
        "model": embeddings.attrs.get("seisembed", {}).get("model", ""),
        "dim": int(vectors.shape[1]),
        "n": int(len(vectors)),
        "events": int(records["source_id"].nunique()) if "source_id" in records else None,
        "params": params,
        "embeddings": source,
        # checked on load: a damaged or edited file is refused, never searched
        "sha256": {name: file_sha256(out / name) for name in ("records.parquet", payload)},
        "provenance": provenance({"kind": kind, **params}),
    }
    write_json_atomic(info, out / "index.json")  # last: marks the index complete
    log.info("index %s: %s, %d records of model %s", out, kind, len(vectors), model_id)
    return info


def _index_part(path: Path, name: str, reader, what: str):
    """Read one file of an index folder; :class:`InputError` naming it when it is missing or damaged."""
    part = path / name
    if not part.is_file():
        raise InputError(f"index {path} is incomplete: {name} is missing (rebuild it with `seisembed index`)")
    try:
        return reader(part)
    except Exception as exc:  # noqa: BLE001 - NumPy, pyarrow and FAISS raise many types for a damaged file
        raise InputError(
            f"index {path}: {name} is not a readable {what} ({type(exc).__name__}: {exc}); rebuild the index"
        ) from exc


def load_index(path: str | Path) -> NeighbourIndex:
    """Load an index folder written by :func:`build_index`.

    Raises :class:`InputError` naming the folder and the file when it is not an
    index, is incomplete or damaged (a missing or truncated file, an unknown kind,
    counts that disagree with ``index.json``, vectors that are not finite unit vectors).
    """
    from seisembed.argtypes import input_path

    path = input_path(path, "index", kind="dir")
    meta = path / "index.json"
    if not meta.is_file():
        raise InputError(f"{path} is not a seisembed index (no index.json; build one with `seisembed index`)")
    try:
        info = json.loads(meta.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"index {meta} is unreadable: {exc}") from exc
    if not isinstance(info, dict) or info.get("format") != INDEX_FORMAT:
        got = info.get("format") if isinstance(info, dict) else type(info).__name__
        raise InputError(f"index {path} has format {got!r}; this seisembed reads {INDEX_FORMAT}")
    if info.get("kind") not in KINDS:
        raise InputError(f"index {meta}: unknown kind {info.get('kind')!r}; expected one of {list(KINDS)}")
    for key in ("n", "dim"):
        if not isinstance(info.get(key), int) or isinstance(info.get(key), bool) or info[key] < 1:
            raise InputError(f"index {meta}: {key} is {info.get(key)!r}, not a positive whole number")
    if not isinstance(info.get("model_hash"), str) or not info["model_hash"]:
        raise InputError(f"index {meta}: model_hash is {info.get('model_hash')!r}; an index records its model")
    if info["kind"] == "hnsw":
        params = info.get("params")
        ef = params.get("ef_search") if isinstance(params, dict) else None
        if isinstance(ef, bool) or not isinstance(ef, int) or not 1 <= ef <= INT_MAX:
            raise InputError(
                f"index {meta}: params.ef_search is {ef!r}, not a whole number in [1, {INT_MAX}] "
                "(an HNSW index records its search breadth)"
            )
    sums = info.get("sha256", {})  # indexes written before checksums were recorded have none
    for name, expected in sums.items() if isinstance(sums, dict) else ():
        if name not in ("records.parquet", "vectors.npy", "hnsw.faiss"):
            raise InputError(f"index {meta}: sha256 names an unknown file {name!r}")
        got = _index_part(path, name, file_sha256, "file")
        if got != expected:
            raise InputError(
                f"index {path}: {name} changed since the index was written (SHA-256 {got[:12]}..., recorded "
                f"{str(expected)[:12]}...): a damaged or edited file; rebuild the index"
            )
    records = _index_part(path, "records.parquet", pd.read_parquet, "parquet table")
    if "trace_name" not in records.columns:
        raise InputError(f"index {path}: records.parquet has no trace_name column; rebuild the index")
    if records["trace_name"].duplicated().any():
        first = records.loc[records["trace_name"].duplicated(), "trace_name"].iloc[0]
        raise InputError(f"index {path}: records.parquet repeats trace_name {first!r}; rebuild the index")
    if info["kind"] == "exact":
        vectors = _index_part(path, "vectors.npy", lambda p: np.load(p, allow_pickle=False), "NumPy array")
        if vectors.dtype.kind != "f":
            raise InputError(f"index {path}: vectors.npy holds {vectors.dtype} values, not real numbers; rebuild it")
        if vectors.shape != (info["n"], info["dim"]) or len(records) != info["n"]:
            raise InputError(f"index {path}: vectors {vectors.shape} / records {len(records)} disagree with index.json")
        norms = np.linalg.norm(vectors, axis=1) if np.isfinite(vectors).all() else np.array([np.nan])
        if not np.all(np.abs(norms - 1.0) <= UNIT_NORM_TOLERANCE):
            raise InputError(f"index {path}: vectors.npy holds values that are not finite unit vectors; rebuild it")
        return NeighbourIndex(info, records, vectors=np.asarray(vectors, dtype=np.float32))
    try:
        import faiss
    except ImportError as exc:
        raise InputError(f"index {path} is an HNSW index: install faiss-cpu (pip install 'seisembed[search]')") from exc
    index = _index_part(path, "hnsw.faiss", lambda p: faiss.read_index(str(p)), "FAISS index")
    if index.ntotal != info["n"] or len(records) != info["n"] or index.d != info["dim"]:
        raise InputError(
            f"index {path}: {index.ntotal} {index.d}-d vectors / {len(records)} records disagree with index.json"
        )
    return NeighbourIndex(info, records, faiss_index=index)


def _check_queries(index: NeighbourIndex, queries: pd.DataFrame, where: str) -> np.ndarray:
    validate_embeddings(queries, where)
    query_hash = embedding_model_hash(queries)
    if query_hash != index.model_hash:
        raise InputError(
            f"{where} was embedded by model {query_hash or '(unknown)'}, but the index holds embeddings of model "
            f"{index.model_hash}: distances between two models mean nothing (re-embed, or rebuild the index)"
        )
    vectors = embedding_matrix(queries)
    if vectors.shape[1] != index.info["dim"]:
        raise InputError(f"{where} has {vectors.shape[1]}-d embeddings; the index holds {index.info['dim']}-d ones")
    return vectors


def similar(
    index: NeighbourIndex,
    queries: pd.DataFrame,
    k: int = 10,
    *,
    by: str = "record",
    exclude_same_event: bool = False,
    ef_search: int | None = None,
    where: str = "queries",
    progress: bool = False,
) -> pd.DataFrame:
    """The ``k`` most similar records (``by="record"``) or events (``by="event"``) of the index per query record.

    A query never matches itself (same ``trace_name``); ``exclude_same_event``
    also drops its own event. An event's distance is that of its nearest record.
    Columns: ``query_trace_name``, ``query_source_id``, ``rank`` (1 = nearest),
    ``distance``, then ``match_*`` (the matched record's columns; for events:
    ``match_source_id``, ``match_source_type``, ``match_trace_name`` of the nearest
    record and ``match_records`` within the candidates).
    """
    if by not in ("record", "event"):
        raise InputError(f"by must be 'record' or 'event', not {by!r}")
    k = _check_int("k", k, 1, INT_MAX)
    if ef_search is not None:
        ef_search = _check_int("ef_search", ef_search, 1, INT_MAX)
    vectors = _check_queries(index, queries, where)
    records = index.records
    if (by == "event" or exclude_same_event) and "source_id" not in records:
        raise InputError(
            "the index holds no source_id (its embeddings table had none): by event and excluding the query's "
            "own event need the records' events; rebuild the index from a table with source_id"
        )
    if exclude_same_event and "source_id" not in queries:
        raise InputError(f"{where} has no source_id column: excluding the query's own event needs it")
    # identifiers compared as text: an integer source_id in one table and a string in the other still match
    names = records["trace_name"].astype(str).to_numpy()
    events = records["source_id"].astype(str).to_numpy() if "source_id" in records else names
    per_event = int(pd.Series(events).value_counts().max())
    want = k + 1 if by == "record" else (k + 1) * per_event
    want = int(min(want + (per_event if exclude_same_event else 0), len(records)))
    q_names = queries["trace_name"].astype(str).to_numpy()
    q_events = queries["source_id"].astype(str).to_numpy() if "source_id" in queries else q_names
    rows = []
    steps = range(0, len(vectors), QUERY_CHUNK)
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, desc="searching", unit="chunk", leave=False, disable=None)
    for start in steps:
        dist, pos = index.search(vectors[start : start + QUERY_CHUNK], want, ef_search=ef_search)
        for j in range(len(pos)):
            qi = start + j
            keep = pos[j] >= 0
            d, p = dist[j][keep], pos[j][keep]
            ok = names[p] != q_names[qi]
            if exclude_same_event:
                ok &= events[p] != q_events[qi]
            d, p = d[ok], p[ok]
            if by == "record":
                for rank, (dd, pp) in enumerate(zip(d[:k], p[:k]), start=1):
                    rows.append((qi, rank, float(dd), int(pp), 1))
            else:
                seen: dict = {}
                for dd, pp in zip(d, p):
                    ev = events[pp]
                    if ev in seen:
                        seen[ev][2] += 1
                    else:
                        seen[ev] = [float(dd), int(pp), 1]
                for rank, (dd, pp, count) in enumerate(list(seen.values())[:k], start=1):
                    rows.append((qi, rank, dd, pp, count))
    table = pd.DataFrame(rows, columns=["q", "rank", "distance", "pos", "match_records"])
    out = pd.DataFrame(
        {
            "query_trace_name": q_names[table["q"]],
            "query_source_id": q_events[table["q"]],
            "rank": table["rank"].to_numpy(),
            "distance": table["distance"].to_numpy(),
        }
    )
    matched = records.iloc[table["pos"].to_numpy()].reset_index(drop=True)
    columns = ["trace_name", "source_id", "source_type", "station_network_code", "station_code"]
    if by == "event":
        columns = ["source_id", "source_type", "trace_name"]
    for c in columns:
        if c in matched:
            out[f"match_{c}"] = matched[c].to_numpy()
    if by == "event":
        out["match_records"] = table["match_records"].to_numpy()
    return out
