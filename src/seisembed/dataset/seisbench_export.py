"""Export the dataset store as a SeisBench dataset: ``metadata.csv`` + ``waveforms.hdf5``.

``seisembed dataset export-seisbench STORE OUT`` (and the optional rule
``export_seisbench``) writes the Zarr store (``results/dataset/waveforms.zarr``) in
SeisBench's format (:mod:`seisembed.dataset.seisbench_format`), the way
``seisbench.data.WaveformDataWriter`` does:

- traces in store order, packed per split into buckets of ``bucket_size`` traces
  (SeisBench's default 1024): HDF5 datasets ``data/bucket{N}`` of shape
  ``(n, 3, n_samples)`` float32, ``trace_name`` = ``bucket{N}${i},:3,:{n_samples}``; a
  bucket of one trace is a ``(3, n_samples)`` dataset named ``bucket{N}`` (no ``$``);
- ``data_format``: ``dimension_order`` ``"CW"``, ``component_order`` ``"ZNE"``,
  ``sampling_rate`` (Hz), ``measurement``, ``unit``, ``instrument_response``;
- ``metadata.csv``: one row per trace in store order with SeisBench's column names:
  ``trace_name``, ``trace_name_original`` (the store's ``trace_name``, as
  ``WaveformDataWriter`` keeps it), ``split`` (``train``/``dev``/``test``),
  every catalogue column (``source_*``, ``station_*``, ``path_*``,
  ``trace_phase``, ``trace_p_arrival_time``), ``trace_p_arrival_sample``,
  ``trace_sampling_rate_hz``, ``trace_start_time``, ``trace_channels``, and seisembed's
  own ``novel_station``, ``novel_location`` (``source_type`` is a catalogue column).
  Times are ISO 8601 UTC with a ``Z`` (microseconds, or nanoseconds where needed).

Memory: the metadata (about 1 kB per trace) plus one bucket of waveforms (88 MB at
1024 x 3 x 7200 float32): the waveforms are streamed bucket by bucket, never the whole
store. The folder is written to a temporary sibling and renamed when complete
(:func:`seisembed.atomic.atomic_dir`). Reading it back needs h5py + pandas only
(:mod:`seisembed.dataset.seisbench_import`); ``seisbench.data.WaveformDataset`` opens it too.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.atomic import atomic_dir
from seisembed.columns import ARRIVAL_COLUMNS
from seisembed.dataset.seisbench_format import SPLIT_TO_SEISBENCH
from seisembed.errors import InputError

__all__ = ["DEFAULT_BUCKET_SIZE", "ExportResult", "export_seisbench", "metadata_table"]

log = logging.getLogger(__name__)

#: traces per bucket: ``seisbench.data.WaveformDataWriter``'s default
DEFAULT_BUCKET_SIZE = 1024

#: per-trace store coordinates written after the catalogue columns (besides trace_name and split)
TRACE_COLUMNS: tuple[str, ...] = ("trace_p_arrival_sample", "trace_start_time", "trace_channels")
OWN_COLUMNS: tuple[str, ...] = ("novel_station", "novel_location")


@dataclass
class ExportResult:
    """What an export wrote: the folder, traces, buckets, seconds and records/s."""

    folder: Path
    traces: int
    buckets: int
    seconds: float

    @property
    def records_per_s(self) -> float:
        """Traces written per second (wall clock)."""
        return self.traces / max(self.seconds, 1e-9)


def _iso(values: np.ndarray) -> np.ndarray:
    """``datetime64`` values (naive UTC) as ISO 8601 text with ``Z``; microseconds unless nanoseconds are needed.

    NaT becomes ``""`` (an empty CSV cell).
    """
    values = np.asarray(values, dtype="datetime64[ns]")
    missing = np.isnat(values)
    ticks = values.astype(np.int64)
    unit = "us" if not np.any((ticks % 1000 != 0) & ~missing) else "ns"
    text = np.char.add(np.datetime_as_string(values, unit=unit), "Z").astype(object)
    text[missing] = ""
    return text


def metadata_table(coords: dict[str, np.ndarray], trace_names: np.ndarray, sampling_rate_hz: float) -> pd.DataFrame:
    """SeisBench metadata (one row per trace, store order) from the store's per-trace coordinates.

    ``coords``: coordinate name -> values (strings as ``str``, times as naive UTC
    ``datetime64``); ``trace_names``: the SeisBench names (``bucket{N}$i,:3,:n``).
    """
    out: dict[str, object] = {
        "trace_name": trace_names,
        "trace_name_original": coords["trace_name"],
        "split": pd.Series(coords["split"]).map(SPLIT_TO_SEISBENCH).to_numpy(dtype=object),
    }
    for column in (*ARRIVAL_COLUMNS, *TRACE_COLUMNS):
        values = coords[column]
        out[column] = _iso(values) if np.issubdtype(np.asarray(values).dtype, np.datetime64) else values
        if column == "trace_p_arrival_sample":
            out["trace_sampling_rate_hz"] = np.full(len(trace_names), float(sampling_rate_hz))
    for column in OWN_COLUMNS:
        out[column] = np.asarray(coords[column], dtype=bool)
    return pd.DataFrame(out)


def _read_coords(store: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The store's per-trace coordinates and attributes, read through :mod:`seisembed.dataset.store`.

    Strings as ``str``, times as naive UTC ``datetime64[ns]``
    (:func:`~seisembed.dataset.store.read_metadata`).
    """
    from seisembed.dataset.store import read_metadata, store_attributes

    needed = ("trace_name", "split", *ARRIVAL_COLUMNS, *TRACE_COLUMNS, *OWN_COLUMNS)
    attrs = store_attributes(store)
    frame = read_metadata(store, needed)
    return {name: frame[name].to_numpy() for name in needed}, attrs


def _runs(split: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of consecutive equal values (the store keeps each split contiguous)."""
    if len(split) == 0:
        return []
    breaks = np.flatnonzero(split[1:] != split[:-1]) + 1
    edges = [0, *breaks.tolist(), len(split)]
    return list(zip(edges[:-1], edges[1:]))


def export_seisbench(
    store: str | Path, out: str | Path, bucket_size: int = DEFAULT_BUCKET_SIZE, compression: str | None = None
) -> ExportResult:
    """Write the dataset store ``store`` as a SeisBench dataset folder ``out`` (module docstring).

    ``bucket_size``: traces per HDF5 bucket (memory holds one bucket: 86 kB per
    trace of 3 x 7200 float32). ``compression``: HDF5 filter of the buckets (``None``:
    none, as ``WaveformDataWriter``; ``"gzip"`` or ``"lzf"``). Raises :class:`InputError`
    naming the store when it is missing or lacks a coordinate.
    """
    import h5py

    from seisembed.dataset.store import open_waveforms, read_traces

    if bucket_size < 1:
        raise ValueError(f"bucket_size must be at least 1, got {bucket_size}")
    if compression not in (None, "gzip", "lzf"):
        raise ValueError(f"compression must be None, 'gzip' or 'lzf', got {compression!r}")
    store, out = Path(store), Path(out)
    if out.resolve() == store.resolve() or store.resolve() in out.resolve().parents:
        raise InputError(f"SeisBench output {out} is the dataset store {store} or inside it; choose another folder")
    started = time.monotonic()
    coords, attrs = _read_coords(store)
    array = open_waveforms(store)
    n_traces, n_channels, n_samples = array.shape
    if n_channels != 3:
        raise InputError(f"dataset store {store}: waveform has {n_channels} channels, expected 3 (Z, N, E)")
    rate = float(attrs.get("sampling_rate_hz", np.nan))
    if not np.isfinite(rate) or rate <= 0:
        raise InputError(f"dataset store {store} has no valid 'sampling_rate_hz' attribute; rebuild it")
    order = str(attrs.get("component_order", "ZNE"))
    names = np.empty(n_traces, dtype=object)
    buckets = 0
    last = time.monotonic()
    log.info("exporting %d traces of %s to SeisBench folder %s (buckets of %d)", n_traces, store, out, bucket_size)
    with atomic_dir(out) as tmp:
        tmp.mkdir(parents=True)
        with h5py.File(tmp / "waveforms.hdf5", "w") as handle:
            data = handle.create_group("data")
            fmt = handle.create_group("data_format")
            fmt.create_dataset("dimension_order", data="CW")
            fmt.create_dataset("component_order", data=order)
            fmt.create_dataset("sampling_rate", data=rate)
            fmt.create_dataset("measurement", data="velocity")
            fmt.create_dataset("unit", data=str(attrs.get("waveform_units", "counts")))
            fmt.create_dataset("instrument_response", data="not restituted")
            done = 0
            for lo, hi in _runs(coords["split"]):  # one split at a time, as WaveformDataWriter buckets
                for start in range(lo, hi, bucket_size):
                    stop = min(start + bucket_size, hi)
                    block = read_traces(array, np.arange(start, stop))
                    bucket = f"bucket{buckets}"
                    buckets += 1
                    if stop - start == 1:  # WaveformDataWriter writes a lone trace as its own dataset
                        data.create_dataset(bucket, data=block[0], compression=compression)
                        names[start] = bucket
                    else:
                        data.create_dataset(bucket, data=block, compression=compression)
                        names[start:stop] = [f"{bucket}${i},:{n_channels},:{n_samples}" for i in range(stop - start)]
                    done += stop - start
                    if time.monotonic() - last > 10:
                        last = time.monotonic()
                        rate_now = done / (last - started)
                        log.info("exported %d/%d traces (%.0f traces/s)", done, n_traces, rate_now)
        metadata_table(coords, names, rate).to_csv(tmp / "metadata.csv", index=False)
    seconds = time.monotonic() - started
    result = ExportResult(folder=out, traces=n_traces, buckets=buckets, seconds=seconds)
    log.info(
        "SeisBench dataset %s complete: %d traces in %d buckets in %.1f s (%.0f traces/s)",
        out,
        n_traces,
        buckets,
        seconds,
        result.records_per_s,
    )
    return result
