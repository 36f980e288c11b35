"""The per-partition driver: arrivals in, windows + QC ledger out, resumable.

Work is cut into chunks of ``waveforms.chunk_size`` arrivals (in a fixed order:
origin time, event id, network, station, location). Each finished chunk is
committed under ``<partition dir>/.progress/`` as ``chunk-NNNNN.npy`` (its
windows, written through :func:`numpy.lib.format.open_memmap` as they are made)
and then ``chunk-NNNNN.parquet`` (its ledger rows; written last, so its presence
means the chunk is complete). A killed run resumes at the first uncommitted
chunk; the manifest's fingerprint (config + the partition's arrivals) makes a
changed input start over. The final ``windows.npy``, ``windows.parquet`` and
``qc.parquet`` are assembled chunk by chunk (memory stays flat), written to
temporary names and moved into place with :func:`os.replace`; only then is the
progress folder removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.lib.format import open_memmap
from obspy import UTCDateTime

from seisembed.arrivals import validate_arrivals
from seisembed.atomic import temporary_sibling, write_json_atomic, write_parquet_atomic
from seisembed.columns import ARRIVAL_COLUMNS, QC_COLUMNS, QC_STATUSES, trace_names
from seisembed.config import validate_config
from seisembed.errors import InputError
from seisembed.npy import read_npy_header
from seisembed.partitions import check_partition, partition_of
from seisembed.waveforms.base import SourceError, WaveformSource, WindowRequest
from seisembed.waveforms.layout import PartitionPaths
from seisembed.waveforms.processing import (
    ChannelSet,
    ProcessingOptions,
    QCFailure,
    WindowSpec,
    choose_channels,
    make_window,
)

log = logging.getLogger(__name__)

#: waveforms config keys whose change invalidates a partition's progress
_FINGERPRINT_KEYS = (
    "source",
    "sampling_rate_hz",
    "window_before_s",
    "window_after_s",
    "channel_priority",
    "location_priority",
    "pad_s",
    "detrend",
    "antialias_corner_fraction",
    "antialias_order",
    "clip",
    "chunk_size",
)


# -- input ---------------------------------------------------------------------------
def read_partition_arrivals(path: str | Path, partition: str) -> pd.DataFrame:
    """The arrivals of ``partition`` from the catalog parquet, in processing order.

    Raises :class:`InputError` naming the file and the missing column or the
    duplicated (event, station).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"arrivals file {path} does not exist (run the catalog stage first)")
    try:
        # the contract, except uniqueness: that is checked per partition below, by trace name
        frame = validate_arrivals(pd.read_parquet(path), name=f"arrivals file {path}", unique=())
    except (OSError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"arrivals file {path} is not a readable parquet file: {exc}") from exc
    frame = frame[partition_of(frame["source_origin_time"]) == partition]
    frame = frame.sort_values(
        ["source_origin_time", "source_id", "station_network_code", "station_code", "station_location_code"],
        kind="stable",
    ).reset_index(drop=True)
    frame.insert(len(frame.columns), "trace_name", trace_names(frame))
    dup = frame["trace_name"].duplicated()
    if dup.any():
        raise InputError(
            f"arrivals file {path} has {int(dup.sum())} duplicated (event, station) rows in "
            f"partition {partition}, e.g. {frame.loc[dup, 'trace_name'].iloc[0]}"
        )
    return frame


def fingerprint(arrivals: pd.DataFrame, section: dict, source_description: str) -> str:
    """Hash of what determines a partition's outputs (config keys, source, arrivals)."""
    blob = {
        "config": {k: section[k] for k in _FINGERPRINT_KEYS},
        "source": source_description,
        "arrivals": hashlib.sha256(
            pd.util.hash_pandas_object(arrivals[["trace_name", "trace_p_arrival_time"]], index=False).values.tobytes()
        ).hexdigest(),
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:16]


# -- progress --------------------------------------------------------------------------
class Progress:
    """Counts and periodic log lines: windows done, rate (windows/s), failures, time left."""

    def __init__(self, partition: str, total: int, every_s: float):
        self.partition, self.total, self.every_s = partition, total, every_s
        self.done = self.ok = 0
        self.skipped = 0
        self.t_start = self.t_last = time.monotonic()

    def add(self, status: str) -> None:
        self.done += 1
        self.ok += status == "ok"
        now = time.monotonic()
        if now - self.t_last >= self.every_s:
            self.t_last = now
            self.log()

    def log(self) -> None:
        elapsed = max(time.monotonic() - self.t_start, 1e-9)
        rate = self.done / elapsed
        left = self.total - self.skipped - self.done
        eta = f", about {left / rate:.0f} s left" if rate > 0 and left > 0 else ""
        log.info(
            "partition %s: %d/%d arrivals (%d resumed), %d ok, %d failed QC, %.1f windows/s%s",
            self.partition,
            self.done + self.skipped,
            self.total,
            self.skipped,
            self.ok,
            self.done - self.ok,
            rate,
            eta,
        )


# -- one chunk ---------------------------------------------------------------------------
def _ledger_row(row, status: str, reason: str, attempts: int, chset: ChannelSet | None) -> dict:
    """One QC ledger row (without the window index, set at assembly)."""
    return {
        "row": int(row.Index),
        "trace_name": row.trace_name,
        "qc_status": status,
        "qc_reason": reason,
        "qc_attempts": int(attempts),
        "qc_location_code": chset.location if chset else "",
        "qc_channels": ",".join(chset.channels) if chset else "",
        "trace_start_time": pd.NaT,
        "trace_snr_db": np.nan,
    }


def _plan(
    rows: pd.DataFrame, source: WaveformSource, section: dict, spec: WindowSpec
) -> tuple[list[dict], dict[int, tuple[WindowRequest, ChannelSet, UTCDateTime]]]:
    """Choose channels per arrival from StationXML; return early ledger rows and the requests."""
    source.prefetch_inventories(zip(rows["station_network_code"], rows["station_code"]))
    pad = section["pad_s"]
    ledger, plans = [], {}
    for row in rows.itertuples():
        p_time = UTCDateTime(ns=int(row.trace_p_arrival_time.value))
        net, sta, loc = str(row.station_network_code), str(row.station_code), str(row.station_location_code)
        try:
            inv = source.get_inventory(net, sta)
            chset = choose_channels(
                inv, net, sta, loc, p_time, list(section["channel_priority"]), list(section["location_priority"])
            )
        except QCFailure as exc:
            ledger.append(_ledger_row(row, exc.status, exc.reason, 0, None))
            continue
        except SourceError as exc:
            ledger.append(_ledger_row(row, "error", str(exc), 0, None))
            continue
        req = WindowRequest(
            int(row.Index),
            net,
            sta,
            chset.location,
            chset.channel_pattern,
            spec.start(p_time) - pad,
            spec.last(p_time) + pad,
            channels=tuple(chset.channels),
        )
        plans[int(row.Index)] = (req, chset, p_time)
    return ledger, plans


def cut_window(stream, chset: ChannelSet, p_time: UTCDateTime, spec: WindowSpec, options: ProcessingOptions):
    """Process one stream into (status, reason, window or None); never raises for bad data."""
    try:
        win = make_window(stream, None, chset, p_time, spec, options)
    except QCFailure as exc:
        return exc.status, exc.reason, None
    except Exception as exc:  # noqa: BLE001 - one bad record must never stop a partition
        log.warning(
            "unexpected failure processing %s.%s at %s: %s: %s",
            chset.network,
            chset.station,
            p_time,
            type(exc).__name__,
            exc,
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        return "error", f"processing failed: {type(exc).__name__}: {exc}", None
    return "ok", "; ".join(win.notes), win


@dataclass
class _StartedChunk:
    """A chunk whose requests are in flight: its early ledger rows, plans and result iterator."""

    index: int
    rows: pd.DataFrame
    first_row: int
    ledger: list
    plans: dict
    results: object


def start_chunk(
    index: int, rows: pd.DataFrame, first_row: int, source: WaveformSource, section: dict, spec: WindowSpec
) -> _StartedChunk:
    """Choose channels for a chunk's arrivals and send its data requests."""
    ledger, plans = _plan(rows, source, section, spec)
    results = source.fetch([plan[0] for plan in plans.values()])
    return _StartedChunk(index, rows, first_row, ledger, plans, results)


def iter_windows(chunk: _StartedChunk, spec: WindowSpec, options: ProcessingOptions):
    """Yield ``(ledger row, window or None)`` for each answered request of a started chunk, as data arrive.

    The one place where a fetched stream becomes a window: the waveform stage
    and :class:`seisembed.use.Embedder` both cut their windows here. The chunk's
    early ledger rows (arrivals refused while planning) are not repeated.
    """
    by_index = {row.Index: row for row in chunk.rows.itertuples()}
    for result in chunk.results:
        req, chset, p_time = chunk.plans[result.request.key]
        if result.status is not None:
            status, reason, win = result.status, result.reason, None
        else:
            status, reason, win = cut_window(result.stream, chset, p_time, spec, options)
        entry = _ledger_row(by_index[req.key], status, reason, result.attempts, chset)
        if win is not None:
            entry["trace_start_time"] = pd.Timestamp(win.starttime.ns, unit="ns", tz="UTC")
            entry["trace_snr_db"] = win.snr_db
        yield entry, win


def finish_chunk(
    chunk: _StartedChunk, spec: WindowSpec, options: ProcessingOptions, paths: PartitionPaths, progress: Progress
) -> None:
    """Cut the windows of a started chunk as data arrive and commit it (npy, then ledger parquet)."""
    ledger, first_row = chunk.ledger, chunk.first_row
    for entry in ledger:
        progress.add(entry["qc_status"])
    npy = paths.chunk(chunk.index, "npy")
    tmp = temporary_sibling(npy)
    out = open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(chunk.rows), 3, spec.n_samples))
    for entry, win in iter_windows(chunk, spec, options):
        if win is not None:
            out[entry["row"] - first_row] = win.data
        ledger.append(entry)
        progress.add(entry["qc_status"])
    out.flush()
    del out
    _check_answered(chunk, ledger, paths)
    os.replace(tmp, npy)
    frame = pd.DataFrame(ledger).sort_values("row").reset_index(drop=True)
    frame["trace_start_time"] = pd.to_datetime(frame["trace_start_time"], utc=True)
    commit_chunk(frame, paths.chunk(chunk.index, "parquet"))


def _check_answered(chunk: _StartedChunk, ledger: list, paths: PartitionPaths) -> None:
    """Raise before committing a chunk unless every arrival has exactly one ledger row.

    A source that lost or repeated a result would otherwise commit a chunk that
    silently drops or duplicates windows (and only fail at assembly).
    """
    rows = sorted(entry["row"] for entry in ledger)
    expected = list(range(chunk.first_row, chunk.first_row + len(chunk.rows)))
    if rows != expected:
        missing = sorted(set(expected) - set(rows))
        repeated = sorted(r for r, n in Counter(rows).items() if n > 1)
        raise SourceError(
            f"chunk {chunk.index} of {paths.directory}: the source answered {len(rows)} of "
            f"{len(expected)} arrivals (missing rows {missing[:5]}, repeated rows {repeated[:5]}); "
            "nothing was committed for this chunk, rerun to retry it"
        )


def commit_chunk(frame: pd.DataFrame, path: Path) -> None:
    """Commit a chunk: its ledger parquet appears atomically, after its windows."""
    write_parquet_atomic(frame, path)


# -- assembly ----------------------------------------------------------------------------
def _empty_ledger() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": pd.Series(dtype="int64"),
            "trace_name": pd.Series(dtype=str),
            "qc_status": pd.Series(dtype=str),
            "qc_reason": pd.Series(dtype=str),
            "qc_attempts": pd.Series(dtype="int64"),
            "qc_location_code": pd.Series(dtype=str),
            "qc_channels": pd.Series(dtype=str),
            "trace_start_time": pd.Series(dtype="datetime64[ns, UTC]"),
            "trace_snr_db": pd.Series(dtype="float64"),
        }
    )


def _copy_ok_rows(
    paths: PartitionPaths, n_chunks: int, chunk_size: int, ok: np.ndarray, spec: WindowSpec, target: Path
) -> None:
    """Write ``target`` (.npy, (n_ok, 3, n)) from the ok rows of the chunk files, chunk by chunk.

    The header comes from :func:`open_memmap`; each run of ok rows is read with
    :func:`numpy.fromfile` and appended with :meth:`numpy.ndarray.tofile`, so
    memory stays bounded by one chunk however large the partition.
    """
    n_ok = int(ok.sum())
    header = open_memmap(target, mode="w+", dtype=np.float32, shape=(n_ok, 3, spec.n_samples))
    offset = int(header.offset)
    del header
    per_row = 3 * spec.n_samples
    with open(target, "r+b") as out:
        out.seek(offset)
        for i in range(n_chunks):
            lo, hi = i * chunk_size, min((i + 1) * chunk_size, len(ok))
            flags = ok[lo:hi].astype(np.int8)
            if not flags.any():
                continue
            edges = np.flatnonzero(np.diff(np.concatenate(([0], flags, [0]))))
            source = paths.chunk(i, "npy")
            base = _npy_data_offset(source)
            for a, b in zip(edges[::2], edges[1::2]):
                rows = np.fromfile(
                    source, dtype="<f4", count=(int(b) - int(a)) * per_row, offset=base + int(a) * per_row * 4
                )
                if rows.size != (int(b) - int(a)) * per_row:
                    raise InputError(f"chunk file {source} is truncated; delete {paths.progress} and rerun")
                rows.tofile(out)


def _npy_data_offset(path: Path) -> int:
    """Byte offset of the data in an ``.npy`` file."""
    with open(path, "rb") as handle:
        return read_npy_header(handle)[3]


def assemble(
    arrivals: pd.DataFrame, partition: str, n_chunks: int, chunk_size: int, spec: WindowSpec, paths: PartitionPaths
) -> pd.DataFrame:
    """Write windows.npy, windows.parquet and qc.parquet from the committed chunks; return the ledger."""
    parts = [pd.read_parquet(paths.chunk(i, "parquet")) for i in range(n_chunks)]
    ledger = pd.concat(parts, ignore_index=True) if parts else _empty_ledger()
    ledger = ledger.sort_values("row").reset_index(drop=True)
    ledger["trace_start_time"] = pd.to_datetime(ledger["trace_start_time"], utc=True)
    if len(ledger) != len(arrivals) or not (ledger["row"].to_numpy() == np.arange(len(arrivals))).all():
        raise InputError(
            f"partition {partition}: progress in {paths.progress} does not match the arrivals; "
            "delete that folder and rerun"
        )
    ok = (ledger["qc_status"] == "ok").to_numpy()
    ledger["qc_window_index"] = np.where(ok, np.cumsum(ok) - 1, -1).astype("int64")
    n_ok = int(ok.sum())
    tmp_npy = temporary_sibling(paths.windows_npy)
    _copy_ok_rows(paths, n_chunks, chunk_size, ok, spec, tmp_npy)

    windows = arrivals.loc[ok, list(ARRIVAL_COLUMNS) + ["trace_name"]].reset_index(drop=True)
    okl = ledger.loc[ok].reset_index(drop=True)
    windows["trace_p_arrival_sample"] = np.full(n_ok, spec.p_sample, dtype="int64")
    windows["trace_sampling_rate_hz"] = np.full(n_ok, spec.sampling_rate_hz, dtype="float64")
    windows["trace_start_time"] = okl["trace_start_time"]
    windows["trace_channels"] = okl["qc_channels"].astype(str)
    windows["trace_location_code"] = okl["qc_location_code"].astype(str)
    windows["trace_snr_db"] = okl["trace_snr_db"].astype("float64")

    qc = arrivals[list(QC_COLUMNS[:6])].copy()  # the identifying columns, then the QC ones
    for col in ("qc_status", "qc_reason", "qc_location_code", "qc_channels"):
        qc[col] = ledger[col].astype(str).to_numpy()
    qc["qc_attempts"] = ledger["qc_attempts"].astype("int64").to_numpy()
    qc["qc_window_index"] = ledger["qc_window_index"].to_numpy()
    qc["qc_partition"] = partition
    qc = qc.loc[:, list(QC_COLUMNS)]
    unknown = set(qc["qc_status"]) - set(QC_STATUSES)
    if unknown:
        raise RuntimeError(f"bug: unknown QC status(es) {sorted(unknown)}")

    tmp_wp, tmp_qc = temporary_sibling(paths.windows_parquet), temporary_sibling(paths.qc_parquet)
    windows.to_parquet(tmp_wp, index=False)
    qc.to_parquet(tmp_qc, index=False)
    os.replace(tmp_npy, paths.windows_npy)
    os.replace(tmp_wp, paths.windows_parquet)
    os.replace(tmp_qc, paths.qc_parquet)
    return qc


# -- driver --------------------------------------------------------------------------------
def _load_manifest(paths: PartitionPaths, fp: str) -> bool:
    """True if the progress folder belongs to this exact job; otherwise reset it."""
    manifest = paths.progress / "manifest.json"
    if manifest.is_file():
        try:
            if json.loads(manifest.read_text()).get("fingerprint") == fp:
                return True
        except (ValueError, OSError):
            pass
        log.info("progress in %s is from another configuration or catalogue; starting over", paths.progress)
    if paths.progress.exists():
        shutil.rmtree(paths.progress)
    return False


def run_partition(
    arrivals_path: str | Path, partition: str, out_dir: str | Path, config: dict, source: WaveformSource
) -> pd.DataFrame:
    """Make all windows of one partition (resuming committed chunks); return its QC ledger.

    ``config`` holds the config sections (``config["waveforms"]`` is used);
    ``source`` is an :class:`~seisembed.waveforms.fdsn.FDSNSource` or
    :class:`~seisembed.waveforms.sds.SDSSource`.
    """
    config = validate_config(config)
    check_partition(partition, config["catalog"])
    section = config["waveforms"]
    spec = WindowSpec.from_config(section)
    options = ProcessingOptions.from_config(section)
    chunk_size = section["chunk_size"]
    paths = PartitionPaths(Path(out_dir))
    paths.directory.mkdir(parents=True, exist_ok=True)
    arrivals = read_partition_arrivals(arrivals_path, partition)
    fp = fingerprint(arrivals, section, source.describe())
    resumed = _load_manifest(paths, fp)
    paths.progress.mkdir(parents=True, exist_ok=True)
    n_chunks = -(-len(arrivals) // chunk_size)
    write_json_atomic(
        {
            "fingerprint": fp,
            "partition": partition,
            "arrivals": len(arrivals),
            "chunk_size": chunk_size,
            "chunks": n_chunks,
            "source": source.describe(),
        },
        paths.progress / "manifest.json",
    )
    progress = Progress(partition, len(arrivals), section["progress_every_s"])
    log.info(
        "partition %s: %d arrivals in %d chunk(s) from %s%s",
        partition,
        len(arrivals),
        n_chunks,
        source.describe(),
        " (resuming)" if resumed else "",
    )
    todo = []
    for i in range(n_chunks):
        lo, hi = i * chunk_size, min((i + 1) * chunk_size, len(arrivals))
        if paths.chunk(i, "parquet").is_file() and paths.chunk(i, "npy").is_file():
            progress.skipped += hi - lo
        else:
            todo.append((i, lo, hi))
    # one chunk ahead: the next chunk's requests are in flight while this one is cut
    started = None
    for pos, (i, lo, hi) in enumerate(todo):
        if started is None:
            started = start_chunk(i, arrivals.iloc[lo:hi], lo, source, section, spec)
        upcoming = None
        if pos + 1 < len(todo):
            j, lo2, hi2 = todo[pos + 1]
            upcoming = start_chunk(j, arrivals.iloc[lo2:hi2], lo2, source, section, spec)
        finish_chunk(started, spec, options, paths, progress)
        started = upcoming
    progress.log()
    ledger = assemble(arrivals, partition, n_chunks, chunk_size, spec, paths)
    shutil.rmtree(paths.progress)
    counts = ledger["qc_status"].value_counts().to_dict()
    log.info(
        "partition %s done: %d windows ok of %d arrivals; %s",
        partition,
        counts.get("ok", 0),
        len(ledger),
        ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no arrivals",
    )
    return ledger
