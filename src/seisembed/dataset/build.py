"""Assemble the waveform partitions into one Zarr store: ``results/dataset/waveforms.zarr``.

Contract (docs/contracts.md, "dataset"): data variable ``waveform`` with dims
``(trace, channel, sample)``, float32, ``channel`` = Z, N, E; every catalogue
column (:data:`seisembed.columns.ARRIVAL_COLUMNS`) plus ``trace_name`` (unique),
``trace_p_arrival_sample``, ``trace_start_time``, ``trace_channels``, ``split``
(train|val|test), ``novel_station`` and ``novel_location`` as per-trace
coordinates; attributes ``sampling_rate_hz``, ``component_order``,
``window_before_s``, ``window_after_s``, ``n_samples``, the split choices
(``split_details``) and provenance (``config_hash``, ``git_commit``,
``packages``, ``provenance``). Times are stored as naive UTC ``datetime64[ns]``
(xarray has no tz-aware dtype; attribute ``time_zone = "UTC"``).

Order: traces are sorted by split (train, val, test), then origin time, event,
station, so each split is one contiguous range and the records of one event
are contiguous (the sampler reads an event as a short run of traces).

Chunking and compression (defaults, ``dataset.chunk_traces``/``shard_traces``/
``compressor``): chunks of 16 whole traces (``(16, 3, n_samples)``, 1.4 MB raw),
unsharded (one file per chunk), Blosc-LZ4 with byte shuffle. The sampler reads K
records of L events per batch through zarr-python; an event's records are
contiguous, so a batch touches one or two chunks per event. Measured with
``benchmarks/dataset.py`` (2 cores, L=10 x K=8, sampler windows/s through
zarr-python): 16/-/lz4 3,322; 8/- 3,073; 32/- 3,336; 4/- 1,695; sharded 16/256
1,533 and 4/256 1,369 (zarr-python reads scattered traces from shards slowly);
zstd compresses 6 % better (ratio 1.19 vs 1.12) but samples 15 % slower. The
table is in docs/dataset.md.

The build streams: metadata (small) is read whole; windows are read partition
rows at a time with plain file reads into one block buffer per Dask task and
written block by block, so peak memory does not grow with the number of
records. The store is written to a temporary sibling (:func:`seisembed.atomic.atomic_dir`) and
renamed when complete; a killed build leaves no store that looks finished.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.arrivals import STRING_COLUMNS, TIME_COLUMNS
from seisembed.atomic import atomic_dir
from seisembed.columns import ARRIVAL_COLUMNS, COMPONENT_ORDER, SPLITS
from seisembed.config import section as config_section
from seisembed.config import validate_config
from seisembed.dataset.inputs import Partition, iter_blocks, open_partition, read_rows
from seisembed.dataset.splits import SplitResult, assign_splits, station_ids
from seisembed.errors import ConfigError, InputError

__all__ = [
    "BuildResult",
    "build_dataset",
    "load_partitions",
    "scan_bad_windows",
    "scan_non_finite",
    "write_store",
    "STORE_NAME",
]

log = logging.getLogger(__name__)

STORE_NAME = "waveforms.zarr"

#: per-trace coordinates written besides the catalogue columns
EXTRA_COORDS: tuple[str, ...] = (
    "trace_name",
    "trace_p_arrival_sample",
    "trace_start_time",
    "trace_channels",
    "split",
    "novel_station",
    "novel_location",
)
TIME_COORDS = (*TIME_COLUMNS, "trace_start_time")
STRING_COORDS = (*STRING_COLUMNS, "trace_name", "trace_channels", "split")


@dataclass
class BuildResult:
    """What a build made: the retained metadata in store order and the split report."""

    store: Path
    frame: pd.DataFrame
    splits: SplitResult
    sampling_rate_hz: float
    n_samples: int
    inputs: dict = field(default_factory=dict)
    #: :func:`seisembed.dataset.store.store_content_hash` of the written store (the model card's ``store_hash``)
    store_hash: str = ""
    #: per split: windows in the store that hold NaN/inf or are all zero (counts and the first trace names)
    bad_windows: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- inputs


def load_partitions(
    waveforms_dir: str | Path, partitions: list[str] | None = None
) -> tuple[list[Partition], pd.DataFrame]:
    """Open every partition folder and return them with their concatenated metadata.

    ``partitions``: names of sub-folders of ``waveforms_dir``; ``None`` takes every
    sub-folder holding a ``windows.npy``. Raises :class:`InputError` naming the
    partition whose sample count or sampling rate differs from the others, and
    the trace names that occur more than once (with their partitions).
    """
    root = Path(waveforms_dir)
    if partitions is None:
        partitions = sorted(p.name for p in root.iterdir() if (p / "windows.npy").is_file()) if root.is_dir() else []
    if not partitions:
        raise InputError(f"no waveform partitions found in {root} (expected {root}/<YYYY-MM>/windows.npy)")
    parts, frames = [], []
    reference: tuple[str, int, float] | None = None
    for name in partitions:
        part, frame = open_partition(root / name, name)
        if part.n_windows:
            rates = frame["trace_sampling_rate_hz"].astype(float).unique()
            if len(rates) != 1:
                raise InputError(f"partition {name}: windows have differing sampling rates {sorted(rates)} Hz")
            if reference is None:
                reference = (name, part.n_samples, float(rates[0]))
            elif (part.n_samples, float(rates[0])) != reference[1:]:
                raise InputError(
                    f"partition {name}: windows have {part.n_samples} samples at {rates[0]} Hz but partition {reference[0]} has "
                    f"{reference[1]} samples at {reference[2]} Hz; rerun the waveform stage for all partitions with one configuration"
                )
        parts.append(part)
        frames.append(frame)
    if reference is None:
        raise InputError(f"all {len(parts)} waveform partitions in {root} are empty: no windows passed QC")
    meta = pd.concat([f for f in frames if len(f)], ignore_index=True)
    duplicated = meta["trace_name"].duplicated(keep=False)
    if duplicated.any():
        dups = meta.loc[duplicated].groupby("trace_name")["partition"].apply(lambda s: "/".join(s))
        listing = ", ".join(f"{name} (partitions {where})" for name, where in list(dups.items())[:5])
        raise InputError(f"{dups.size} trace name(s) occur more than once: {listing}{' ...' if dups.size > 5 else ''}")
    return parts, meta


def check_window_geometry(
    meta: pd.DataFrame, n_samples: int, sampling_rate_hz: float, waveforms: dict
) -> tuple[float, float]:
    """Check windows against the ``waveforms`` config; return (before_s, after_s).

    Raises :class:`InputError` when the sample count or rate differ from the
    config (``waveforms.sampling_rate_hz``, ``window_before_s``, ``window_after_s``)
    or a window's P sample is not ``window_before_s`` x rate (naming the trace
    and partition: the store's attributes must describe every window).
    """
    waveforms = config_section("waveforms", waveforms)
    rate, before, after = waveforms["sampling_rate_hz"], waveforms["window_before_s"], waveforms["window_after_s"]
    if abs(rate - sampling_rate_hz) > 1e-6:
        raise InputError(
            f"windows are sampled at {sampling_rate_hz} Hz but config key 'waveforms.sampling_rate_hz' is {rate}"
        )
    expected = int(round(rate * (before + after)))
    if n_samples != expected:
        raise InputError(
            f"windows have {n_samples} samples but config keys 'waveforms.window_before_s'/'window_after_s' at {rate} Hz give {expected}"
        )
    p_sample = int(round(rate * before))
    bad = meta["trace_p_arrival_sample"].astype(np.int64) != p_sample
    if bad.any():
        row = meta.loc[bad].iloc[0]
        raise InputError(
            f"trace {row['trace_name']} (partition {row['partition']}): P arrival at sample {row['trace_p_arrival_sample']}, "
            f"but config key 'waveforms.window_before_s' ({before:g} s at {rate:g} Hz) puts it at {p_sample}; "
            f"{int(bad.sum())} window(s) differ: rerun the waveform stage for that partition with this configuration"
        )
    return before, after


def scan_bad_windows(parts: list[Partition], meta: pd.DataFrame, block: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (rows of ``meta``) of windows holding NaN/inf and of all-zero windows.

    Reads each partition once, ``block`` windows at a time. A window is all-zero
    when all three components are exactly 0 in every sample (the waveform stage's
    QC refuses dead components, so such a window comes from elsewhere); a window
    holding NaN/inf is counted as non-finite only.
    """
    mask = np.zeros(len(meta), dtype=bool)
    zero = np.zeros(len(meta), dtype=bool)
    offsets = {name: idx for name, idx in meta.groupby("partition", sort=False).indices.items()}
    total = sum(p.n_windows for p in parts)
    done, start, last = 0, time.monotonic(), time.monotonic()
    for part in parts:
        if not part.n_windows:
            continue
        rows = offsets[part.name]
        for first, windows in iter_blocks(part, block):
            flat = windows.reshape(len(windows), -1)
            # A row sum is finite iff every value is (barring float32 overflow of huge
            # values, which the exact check of the suspects below rules out).
            suspect = np.flatnonzero(~np.isfinite(flat.sum(axis=1)))
            bad = np.zeros(len(windows), dtype=bool)
            bad[suspect] = ~np.isfinite(flat[suspect]).all(axis=1)
            mask[rows[first : first + len(windows)]] = bad
            zero[rows[first : first + len(windows)]] = ~flat.any(axis=1)
            done += len(windows)
            if time.monotonic() - last > 10:
                last = time.monotonic()
                log.info("scanned %d/%d windows (%.0f windows/s)", done, total, done / (last - start))
    if mask.any():
        names = meta.loc[mask, "trace_name"].tolist()
        log.warning(
            "%d window(s) marked ok hold NaN/inf and are excluded: %s%s",
            len(names),
            ", ".join(names[:5]),
            " ..." if len(names) > 5 else "",
        )
    return mask, zero


def scan_non_finite(parts: list[Partition], meta: pd.DataFrame, block: int = 512) -> np.ndarray:
    """Boolean mask (rows of ``meta``) of windows holding NaN or inf; reads each partition once."""
    return scan_bad_windows(parts, meta, block)[0]


def bad_window_counts(frame: pd.DataFrame, non_finite: set, all_zero: set, first: int = 5) -> dict:
    """Per split of ``frame`` (the store's records): non-finite and all-zero windows and the first trace names."""
    out = {}
    names = frame["trace_name"].astype(str)
    for split in SPLITS:
        in_split = names[frame["split"] == split]
        nf, zero = in_split[in_split.isin(non_finite)], in_split[in_split.isin(all_zero)]
        out[split] = {
            "windows": int(len(in_split)),
            "non_finite": int(len(nf)),
            "all_zero": int(len(zero)),
            "first_traces": [*nf.tolist()[:first], *zero.tolist()[:first]][:first],
        }
    return out


# --------------------------------------------------------------------------- store


def store_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort records by split, event origin time, event and station (events contiguous).

    The origin time sorted on is the event's earliest, so records of one event
    that disagree on it (catalogue rounding) still end up next to each other.
    """
    key = frame.assign(
        _split=frame["split"].map({s: i for i, s in enumerate(SPLITS)}),
        _station=station_ids(frame),
        _origin=frame.groupby("source_id", sort=False)["source_origin_time"].transform("min"),
    )
    key = key.sort_values(["_split", "_origin", "source_id", "_station", "trace_name"], kind="stable")
    return key.drop(columns=["_split", "_station", "_origin"]).reset_index(drop=True)


def _load_block(parts: dict[str, Partition], partition: np.ndarray, rows: np.ndarray, n_samples: int) -> np.ndarray:
    """Windows for one output block: rows gathered from their partitions (float32)."""
    out = np.empty((len(rows), 3, n_samples), dtype=np.float32)
    for name in pd.unique(partition):
        where = np.flatnonzero(partition == name)
        order = np.argsort(rows[where], kind="stable")
        out[where[order]] = read_rows(parts[name], rows[where][order])
    return out


def _compressors(config: dict):
    """Zarr v3 compressor list from ``dataset.compressor``/``compression_level``."""
    from zarr.codecs import BloscCodec

    name, level = config["compressor"], config["compression_level"]
    if name == "none":
        return None
    return [BloscCodec(cname=name, clevel=level, shuffle="shuffle", typesize=4)]


def _coordinates(frame: pd.DataFrame) -> dict:
    """Per-trace coordinate arrays (numpy) for xarray."""
    coords = {}
    for column in (*ARRIVAL_COLUMNS, *EXTRA_COORDS):
        values = frame[column]
        if column in TIME_COORDS:
            array = pd.to_datetime(values, utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        elif column in STRING_COORDS:
            array = values.fillna("").astype(str).to_numpy(dtype=object)
        elif column in ("novel_station", "novel_location"):
            array = values.to_numpy(dtype=bool)
        elif column == "trace_p_arrival_sample":
            array = values.to_numpy(dtype=np.int32)
        else:
            array = values.to_numpy(dtype=np.float64)
        coords[column] = ("trace", array)
    return coords


def _progress_callback(total: int, every_s: float = 10.0):
    """A Dask callback that logs how many of ``total`` window blocks were loaded, every ``every_s`` s."""
    from dask.callbacks import Callback

    class Progress(Callback):
        def __init__(self):
            super().__init__()
            self.start = self.last = time.monotonic()
            self.done = 0

        def _posttask(self, key, result, dsk, state, worker_id):
            name = key[0] if isinstance(key, tuple) else key
            if str(name).startswith("load_block"):
                self.done += 1
            now = time.monotonic()
            if now - self.last > every_s:
                self.last = now
                log.info("written ~%d/%d blocks of traces (%.0f s)", self.done, total, now - self.start)

    return Progress()


def _waveform_array(parts: list[Partition], frame: pd.DataFrame, n_samples: int, block: int, loader=None):
    """A lazy Dask array of ``frame``'s windows, in ``frame`` order, in blocks of ``block`` traces.

    ``loader(parts_by_name, partition, rows, n_samples)`` reads one block (default: rows of the
    waveform partitions, :func:`_load_block`).
    """
    import dask
    import dask.array as da

    by_name = {p.name: p for p in parts}
    partition = frame["partition"].to_numpy(dtype=object)
    rows = frame["partition_row"].to_numpy(dtype=np.int64)
    n = len(frame)
    load = dask.delayed(loader or _load_block, pure=True)
    blocks = [
        da.from_delayed(
            load(by_name, partition[i : i + block], rows[i : i + block], n_samples, dask_key_name=f"load_block-{i}"),
            shape=(min(block, n - i), 3, n_samples),
            dtype=np.float32,
        )
        for i in range(0, n, block)
    ]
    return da.concatenate(blocks, axis=0), len(blocks)


def _encoding(ds, config: dict, n_samples: int) -> dict:
    """Zarr encoding: ``waveform`` in chunks (and shards) of whole traces; coordinates in one chunk."""
    chunk, shard = config["chunk_traces"], config["shard_traces"]
    encoding = {"waveform": {"chunks": (chunk, 3, n_samples), "compressors": _compressors(config)}}
    if shard:
        encoding["waveform"]["shards"] = (shard, 3, n_samples)
    for name in ds.coords:
        if name != "channel":
            encoding[name] = {"chunks": (max(1, ds.sizes["trace"]),)}
    return encoding


def write_store(
    target: str | Path,
    parts: list[Partition],
    frame: pd.DataFrame,
    attrs: dict,
    config: dict,
    threads: int = 2,
    dask_config: dict | None = None,
    loader=None,
) -> Path:
    """Write ``frame``'s windows (in ``frame`` order) and metadata to a Zarr store at ``target``.

    ``config`` is the ``dataset`` section as given (schema defaults fill the rest).
    Written to a temporary sibling and moved into place when complete
    (:func:`seisembed.atomic.atomic_dir`). ``threads``: Dask worker threads.
    ``dask_config``: the ``dask`` section; when it names a scheduler or local workers
    the blocks are loaded, compressed and written by that ``dask.distributed``
    cluster (every chunk whole: the same bytes as in-process). ``loader``: reads the
    windows of a block of ``frame`` rows from another source (signature of :func:`_load_block`;
    columns ``partition``/``partition_row`` say where each row is; the SeisBench import).
    """
    import dask
    import xarray as xr

    from seisembed.cluster import dask_client

    config = config_section("dataset", config)
    chunk, shard = config["chunk_traces"], config["shard_traces"]
    if shard and shard % chunk:
        raise ConfigError(
            f"config key 'dataset.shard_traces' ({shard}) must be a multiple of 'dataset.chunk_traces' ({chunk})"
        )
    n_samples = int(attrs["n_samples"])
    block = shard or max(chunk, (256 // chunk) * chunk)
    waveform, n_blocks = _waveform_array(parts, frame, n_samples, block, loader)
    ds = xr.Dataset(
        {
            "waveform": (
                ("trace", "channel", "sample"),
                waveform,
                {
                    "units": "counts (as delivered by the waveform stage)",
                    "long_name": "3-component window, P at trace_p_arrival_sample",
                },
            )
        },
        coords={"channel": ("channel", np.array(list(COMPONENT_ORDER), dtype=object)), **_coordinates(frame)},
        attrs=attrs,
    )
    log.info(
        "writing %d traces to %s (chunk %d traces, shard %s, %s)",
        len(frame),
        target,
        chunk,
        shard or "none",
        config["compressor"],
    )
    with (
        atomic_dir(target) as tmp,
        dask_client(dask_config) as client,
        dask.config.set(scheduler="threads", num_workers=max(1, threads)) if client is None else nullcontext(),
        _progress_callback(n_blocks) if client is None else nullcontext(),
        warnings.catch_warnings(),
    ):
        if client is not None:
            log.info("assembling on the Dask cluster at %s", client.scheduler.address)
        # Consolidated metadata lets xarray.open_zarr open the store in one read; zarr
        # warns that it is not (yet) part of the v3 spec, which is known and accepted.
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        ds.to_zarr(
            tmp, mode="w-", encoding=_encoding(ds, config, n_samples), zarr_format=3, consolidated=True, compute=True
        )
    return Path(target)


# --------------------------------------------------------------------------- all


def _qc_counts(waveforms_dir: Path, partitions: list[str]) -> dict:
    """QC status counts over the partitions' ``qc.parquet`` ledgers (missing ones are noted)."""
    counts: dict[str, int] = {}
    missing = []
    for name in partitions:
        path = waveforms_dir / name / "qc.parquet"
        if not path.is_file():
            missing.append(name)
            continue
        try:
            status = pd.read_parquet(path, columns=["qc_status"])["qc_status"].value_counts()
        except (OSError, ValueError, KeyError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise InputError(
                f"partition {name}: QC ledger {path} is unreadable or lacks qc_status ({exc}); rerun the waveform stage for it"
            ) from exc
        for key, value in status.items():
            counts[str(key)] = counts.get(str(key), 0) + int(value)
    if missing:
        log.warning("no qc.parquet in partition(s) %s; QC counts are incomplete", ", ".join(missing))
    return {"qc_status_counts": dict(sorted(counts.items())), "partitions_without_qc": missing}


def build_dataset(
    waveforms_dir: str | Path,
    out: str | Path,
    config: dict,
    partitions: list[str] | None = None,
    threads: int = 2,
    summary: str | Path | None = None,
) -> BuildResult:
    """Build the dataset store from the waveform partitions.

    ``config``: sections ``dataset`` and ``waveforms`` plus ``seed`` and ``study``
    (validated here; missing keys take the schema's defaults).
    ``out``: path of the Zarr store. Returns a :class:`BuildResult` for the card.
    """
    from seisembed.provenance import provenance

    waveforms_dir = Path(waveforms_dir)
    config = validate_config(config)
    dataset_cfg = config["dataset"]
    seed = config["seed"]
    started = time.monotonic()
    parts, meta = load_partitions(waveforms_dir, partitions)
    n_samples = next(p.n_samples for p in parts if p.n_windows)
    rate = float(meta["trace_sampling_rate_hz"].iloc[0])
    before, after = check_window_geometry(meta, n_samples, rate, config["waveforms"])
    log.info("%d windows in %d partitions (%d samples at %g Hz)", len(meta), len(parts), n_samples, rate)
    qc_counts = _qc_counts(waveforms_dir, [p.name for p in parts])  # before writing: a bad ledger stops the build early
    non_finite, all_zero = scan_bad_windows(parts, meta)
    windows_in = int(len(meta))
    zero_names = set(meta.loc[all_zero, "trace_name"].astype(str))
    result = assign_splits(meta, dataset_cfg, seed, non_finite)
    del meta  # only the retained rows are kept from here on (memory)
    frame = store_order(result.frame)
    result.frame = frame
    # non-finite windows were removed by the split rule 'non_finite'; all-zero ones are kept and
    # counted here: training refuses or skips them (config key 'train.bad_windows')
    bad_windows = bad_window_counts(frame, set(), zero_names)
    for split, entry in bad_windows.items():
        if entry["all_zero"]:
            log.warning(
                "split %s: %d of %d windows are all zero (%s%s); training refuses them unless "
                "train.bad_windows is 'skip'",
                split,
                entry["all_zero"],
                entry["windows"],
                ", ".join(entry["first_traces"]),
                " ..." if entry["all_zero"] > len(entry["first_traces"]) else "",
            )
    record = provenance({k: config[k] for k in ("dataset", "waveforms", "seed", "study")})
    attrs = {
        "title": "seisembed waveform dataset",
        "study": config["study"],
        "sampling_rate_hz": rate,
        "component_order": COMPONENT_ORDER,
        "window_before_s": before,
        "window_after_s": after,
        "n_samples": n_samples,
        "time_zone": "UTC",
        "split_details": json.loads(json.dumps(result.details, default=str)),
        "removed_by_rule": result.removed,
        "bad_windows": bad_windows,
        "config_hash": record["config_hash"],
        "git_commit": record["git_commit"],
        "packages": record["packages"],
        "provenance": json.loads(json.dumps(record, default=str)),
    }
    store = write_store(out, parts, frame, attrs, dataset_cfg, threads=threads, dask_config=config["dask"])
    from seisembed.dataset.store import store_content_hash

    hashed = time.monotonic()
    store_hash = store_content_hash(store, threads=threads)
    log.info("store content hash %s (%.1f s)", store_hash, time.monotonic() - hashed)
    elapsed = time.monotonic() - started
    log.info(
        "dataset store %s complete: %d traces, %d events in %.1f s (%.0f records/s)",
        store,
        len(frame),
        frame["source_id"].nunique(),
        elapsed,
        len(frame) / max(elapsed, 1e-9),
    )
    inputs = {"partitions": [p.name for p in parts], "windows_in": windows_in, **qc_counts}
    if summary and Path(summary).is_file():
        inputs["waveforms_summary"] = json.loads(Path(summary).read_text())
    return BuildResult(
        store=store,
        frame=frame,
        splits=result,
        sampling_rate_hz=rate,
        n_samples=n_samples,
        inputs=inputs,
        store_hash=store_hash,
        bad_windows=bad_windows,
    )
