"""Build the dataset store from a SeisBench dataset folder (``dataset.source: seisbench``).

The alternative input of the dataset stage: instead of the waveform stage's partitions,
a SeisBench dataset (:mod:`seisembed.dataset.seisbench_format`; chunked or not) becomes
``results/dataset/waveforms.zarr`` with the same contract, so training, evaluation and the
report run unchanged on it. Per trace:

- the window is ``waveforms.window_before_s`` before to ``window_after_s`` after
  ``trace_p_arrival_sample``, at ``waveforms.sampling_rate_hz`` (40 Hz): a trace at
  another rate is resampled with :func:`scipy.signal.resample_poly` (its FIR
  anti-alias filter; the ratio must be one of small integers, at most 1000, and the
  rate at least the target: no upsampling; a rate within
  :data:`seisembed.waveforms.processing.SAMPLING_RATE_RTOL` of a nominal rate is read as
  that rate, as the waveform stage does), and P is put exactly on sample
  ``window_before_s x rate`` (band-limited interpolation of a fractional position,
  :func:`seisembed.waveforms.processing.sample_at`; an integer position is a plain cut,
  so a seisembed export comes back bit for bit);
- components go to Z, N, E from ``component_order`` (``data_format``, or the
  ``trace_component_order`` column; unrotated ``1``/``2`` are refused unless
  ``dataset.seisbench.unrotated_horizontals: accept`` reads them as N/E);
  ``dimension_order`` ``CW`` or ``WC``; a trace with fewer channels than its order names
  is an error;
- ``split`` from the dataset's column (``dev`` -> ``val``; config
  ``dataset.seisbench.split: dataset``; an event whose traces are in several splits is an
  error, or skipped with ``dataset.seisbench.mixed_split_events: skip``) or from
  seisembed's split rules (``seisembed``);
- ``source_type`` mapped to ``earthquake``/``explosion`` by ``dataset.seisbench.source_types``;
  other types keep their label (or are skipped: ``other_source_types``);
- ``trace_name``: ``trace_name_original`` where the writer kept it (a seisembed export,
  or ``WaveformDataWriter``'s buckets), else SeisBench's ``trace_name`` (prefixed with its
  chunk when names repeat across chunks).

Records the import cannot use are skipped and counted per reason (rules
``seisbench_*`` in the card's "What each rule removed", and the card's input counts):
empty ``source_id``, ``station_code`` or ``trace_p_arrival_sample``, an unknown split
value, a sampling rate that cannot be resampled, a trace shorter than the window
(``short_traces: skip``), NaN/inf samples in the window. Problems of the whole dataset are
errors naming the file, column or trace: a missing file or column, an unknown
``component_order`` or ``dimension_order``, a trace_name pointing outside its bucket, a
dataset whose events each have one trace only.

Two passes, memory bounded by a block of traces: a scan (metadata checks, then each
trace read once to check its window) and the store write (each block of 256 traces read
again, cut and resampled inside the Dask task, :func:`seisembed.dataset.build.write_store`).
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.columns import ARRIVAL_COLUMNS, COMPONENT_ORDER, SOURCE_TYPES
from seisembed.config import validate_config
from seisembed.dataset.build import BuildResult, bad_window_counts, store_order, write_store
from seisembed.dataset.seisbench_format import (
    SPLIT_FROM_SEISBENCH,
    SPLIT_TO_SEISBENCH,
    Chunk,
    find_chunks,
    location_inside,
    parse_location,
    read_data_format,
    read_metadata,
    split_trace_name,
)
from seisembed.dataset.splits import SplitResult, assign_given_splits, assign_splits
from seisembed.errors import ConfigError, InputError

__all__ = ["SKIP_REASONS", "Window", "SeisBenchTraces", "build_from_seisbench", "component_indices", "resample_ratio"]

log = logging.getLogger(__name__)

#: skip reasons, in the order they are checked (descriptions: seisembed.dataset.splits.RULE_DESCRIPTIONS)
SKIP_REASONS: tuple[str, ...] = (
    "seisbench_no_source_id",
    "seisbench_no_station",
    "seisbench_no_p_arrival",
    "seisbench_unknown_split",
    "seisbench_event_in_several_splits",
    "seisbench_other_source_type",
    "seisbench_bad_sampling_rate",
    "seisbench_short",
    "seisbench_non_finite",
)
#: the largest numerator/denominator of a resampling ratio
MAX_RATIO_TERM = 1000
#: traces read per block (scan and store write)
BLOCK = 256
#: km per degree of great circle (path_ep_distance_km <-> _deg when only one is given)
KM_PER_DEG = 111.195


# --------------------------------------------------------------------------- one trace


@dataclass(frozen=True)
class Window:
    """The configured window: ``rate_hz`` (Hz), ``before_s``/``after_s`` (s) around P; ``pad`` short traces."""

    rate_hz: float
    before_s: float
    after_s: float
    pad: bool = False

    @property
    def n_samples(self) -> int:
        """Samples per window (7200 for 180 s at 40 Hz)."""
        return int(round(self.rate_hz * (self.before_s + self.after_s)))

    @property
    def p_sample(self) -> int:
        """Sample of P in the window (1200 for 30 s at 40 Hz)."""
        return int(round(self.rate_hz * self.before_s))


def resample_ratio(rate_hz: float, target_hz: float) -> Fraction | None:
    """``target/rate`` as a fraction of integers up to :data:`MAX_RATIO_TERM`; ``None`` when it cannot be used.

    A rate is read as its nominal rate when within
    :data:`~seisembed.waveforms.processing.SAMPLING_RATE_RTOL` of it (the waveform
    stage's tolerance): the target itself (ratio 1), else ``target x q / p`` for the
    simplest ``p/q`` (a continued-fraction convergent) that matches, an exact fraction
    first (40.3 Hz to 40 Hz: 400/403); the ratio is formed from that nominal rate.
    ``None`` for an unknown or non-positive rate, a rate below the target (no
    upsampling: it would invent the band above the source's Nyquist frequency) and a
    rate that is no such nominal rate (e.g. 40.01 Hz to 40 Hz: 4000/4001).
    """
    from seisembed.waveforms.processing import SAMPLING_RATE_RTOL

    if not np.isfinite(rate_hz) or rate_hz <= 0:
        return None
    if abs(rate_hz - target_hz) <= SAMPLING_RATE_RTOL * target_hz:
        return Fraction(1)
    if rate_hz < target_hz:
        return None
    exact = Fraction(target_hz / rate_hz).limit_denominator(MAX_RATIO_TERM)
    candidates = [exact] if abs(float(exact) - target_hz / rate_hz) <= 1e-9 * target_hz / rate_hz else []
    candidates += _convergents(target_hz / rate_hz)
    for ratio in candidates:
        if ratio.numerator > MAX_RATIO_TERM or ratio.denominator > MAX_RATIO_TERM:
            break  # convergents only grow
        if not 0 < ratio < 1:
            continue
        nominal = target_hz / float(ratio)
        if abs(rate_hz - nominal) <= SAMPLING_RATE_RTOL * nominal:
            return ratio
    return None


def _convergents(x: float, terms: int = 30) -> list[Fraction]:
    """The continued-fraction convergents of ``x`` > 0, simplest first."""
    out, (h0, h1), (k0, k1) = [], (0, 1), (1, 0)
    for _ in range(terms):
        a = math.floor(x)
        h0, h1, k0, k1 = h1, a * h1 + h0, k1, a * k1 + k0
        out.append(Fraction(h1, k1))
        if x - a < 1e-12:
            break
        x = 1.0 / (x - a)
    return out


def component_indices(order: str) -> tuple[int, int, int] | None:
    """Positions of Z, N and E in a component order (``"ZNE"`` -> (0, 1, 2), ``"ENZ"`` -> (2, 1, 0)).

    ``1``/``2`` stand for N/E when N/E are absent (``"Z12"``; the import accepts that only
    with ``dataset.seisbench.unrotated_horizontals: accept``, :func:`unrotated`). ``None``
    when Z, N or E is missing or a letter repeats (e.g. ``"ZRT"``, rotated to radial/transverse).
    """
    letters = str(order).strip().upper()
    if len(set(letters)) != len(letters):
        return None
    if "N" not in letters and "E" not in letters:
        letters = letters.replace("1", "N").replace("2", "E")
    if not all(c in letters for c in COMPONENT_ORDER):
        return None
    return tuple(letters.index(c) for c in COMPONENT_ORDER)


def unrotated(order: str) -> bool:
    """Whether :func:`component_indices` reads unrotated horizontals ``1``/``2`` as N/E in ``order``."""
    letters = str(order).strip().upper()
    return "N" not in letters and "E" not in letters and ("1" in letters or "2" in letters)


def cut_window(trace: np.ndarray, rate_hz: float, p_sample: float, window: Window) -> tuple[np.ndarray | None, str]:
    """One window ``(channels, window.n_samples)`` float32 from a ``(channels, samples)`` trace.

    ``p_sample``: P in the trace's samples (may be fractional). Returns ``(window, "")``,
    or ``(None, reason)`` with reason ``"bad_sampling_rate"`` or ``"short"`` (or, with
    ``window.pad``, the window zero-padded and ``"padded"``).
    """
    from scipy import signal

    from seisembed.waveforms.processing import sample_at

    ratio = resample_ratio(rate_hz, window.rate_hz)
    if ratio is None:
        return None, "bad_sampling_rate"
    data = np.asarray(trace)
    if ratio != 1:
        data = signal.resample_poly(
            data.astype(np.float64), ratio.numerator, ratio.denominator, axis=-1, padtype="line"
        )
    n = window.n_samples
    start = float(p_sample) * float(ratio) - window.p_sample  # window start in (resampled) samples
    if abs(start - round(start)) < 1e-6:
        start = float(round(start))
    first, last = math.floor(start), math.ceil(start) + n  # samples the window needs
    note = ""
    if first < 0 or last > data.shape[-1]:
        if not window.pad:
            return None, "short"
        left, right = max(0, -first), max(0, last - data.shape[-1])
        data = np.pad(data, ((0, 0), (left, right)))
        start += left
        note = "padded"
    if start == int(start):
        out = data[:, int(start) : int(start) + n]
    else:
        out = np.stack([sample_at(np.asarray(row, dtype=np.float64), start, n) for row in data])
    return np.asarray(out, dtype=np.float32), note


# --------------------------------------------------------------------------- where traces are


@dataclass
class SeisBenchTraces:
    """Where each candidate trace is and how to make its window (picklable: a Dask task reads through it).

    Arrays are per trace (row): ``chunk`` (index into ``files``/``dimension_orders``),
    ``bucket`` (HDF5 dataset under ``data``), ``location`` (location text), ``components``
    (positions of Z, N, E), ``rate_hz`` (Hz), ``p_sample`` (samples, source rate).
    """

    files: list[str]
    dimension_orders: list[str]
    chunk: np.ndarray
    bucket: np.ndarray
    location: np.ndarray
    components: np.ndarray
    rate_hz: np.ndarray
    p_sample: np.ndarray
    window: Window
    names: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))

    def _raw(self, handle, row: int) -> np.ndarray:
        """The stored array of one trace as ``(channels, samples)``."""
        array = handle["data"][self.bucket[row]][parse_location(self.location[row])]
        if self.dimension_orders[self.chunk[row]] == "WC":
            array = array.T
        return array

    def windows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Windows ``(len(rows), 3, n_samples)`` float32 (Z, N, E) and each row's note (``""``, ``"padded"``, a skip reason).

        Rows whose window cannot be made are zeros with their reason as note.
        Reads the rows' files in (chunk, bucket, location) order, one open per file.
        """
        import h5py

        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros((len(rows), 3, self.window.n_samples), dtype=np.float32)
        notes = np.full(len(rows), "", dtype=object)
        order = np.lexsort((self.location[rows].astype(str), self.bucket[rows].astype(str), self.chunk[rows]))
        handle, current = None, -1
        try:
            for i in order:
                row = int(rows[i])
                if self.chunk[row] != current:
                    if handle is not None:
                        handle.close()
                    current = int(self.chunk[row])
                    handle = h5py.File(self.files[current], "r")
                raw = self._raw(handle, row)
                window, note = cut_window(
                    raw[list(self.components[row])], self.rate_hz[row], self.p_sample[row], self.window
                )
                notes[i] = note
                if window is not None:
                    out[i] = window
        finally:
            if handle is not None:
                handle.close()
        return out, notes

    def __call__(self, parts, partition, rows, n_samples: int) -> np.ndarray:
        """The loader of :func:`seisembed.dataset.build.write_store`: windows of ``rows`` (``partition_row`` values)."""
        windows, notes = self.windows(rows)
        bad = [i for i, note in enumerate(notes) if note not in ("", "padded")]
        if bad:  # the scan left these out; a change between scan and write is an error, not a silent zero
            row = int(np.asarray(rows)[bad[0]])
            name = self.names[row] if len(self.names) > row else row
            raise InputError(
                f"SeisBench trace {name} changed while the store was written ({notes[bad[0]]}); run the import again"
            )
        return windows


# --------------------------------------------------------------------------- metadata


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as float (NaN where absent or not a number)."""
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def _times(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column of ISO 8601 times as UTC timestamps (NaT where absent or unparseable)."""
    if column not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    text = frame[column].astype(str).str.strip()
    return pd.to_datetime(text.where(text != ""), utc=True, format="ISO8601", errors="coerce").astype(
        "datetime64[ns, UTC]"
    )


def _text(frame: pd.DataFrame, column: str, default: str = "") -> pd.Series:
    """A text column (``default`` where absent)."""
    if column not in frame.columns:
        return pd.Series(default, index=frame.index, dtype=object)
    return frame[column].fillna("").astype(str).astype(object)


def _bools(frame: pd.DataFrame, column: str) -> pd.Series:
    """A True/False column (text or numbers) as bool; other values are an error naming the column."""
    values = frame[column]
    if values.dtype == bool:
        return values
    text = values.astype(str).str.strip().str.lower()
    mapped = text.map({"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False})
    if mapped.isna().any():
        bad = text[mapped.isna()].iloc[0]
        raise InputError(f"SeisBench metadata column {column} holds {bad!r}; expected True or False")
    return mapped.astype(bool)


def map_source_types(raw: pd.Series, mapping: dict) -> pd.Series:
    """``source_type`` values mapped by ``dataset.seisbench.source_types`` (case-insensitive).

    Values in neither list keep their own label (lower case, spaces trimmed); empty values become ``"unknown"``.
    """
    key = raw.fillna("").astype(str).str.strip().str.lower()
    table = {}
    for label in SOURCE_TYPES:
        for value in mapping.get(label, []):
            value = str(value).strip().lower()
            if table.get(value, label) != label:
                raise ConfigError(
                    f"config key 'dataset.seisbench.source_types': {value!r} is listed as both earthquake and explosion"
                )
            table[value] = label
    mapped = key.map(table)
    return mapped.fillna(key.where(key != "", "unknown")).astype(object)


def _chunk_metadata(chunks: list[Chunk], formats: list[dict], split_rule: str) -> pd.DataFrame:
    """Every chunk's metadata with its chunk number, the required columns checked (errors name file and column)."""
    frames = []
    for number, chunk in enumerate(chunks):
        frame = read_metadata(chunk)
        required = ["trace_p_arrival_sample", "source_id", "station_code"]
        if split_rule == "dataset":
            required.append("split")
        for column in required:
            if column not in frame.columns:
                hint = (
                    " (or let seisembed split: config key 'dataset.seisbench.split: seisembed')"
                    if column == "split"
                    else ""
                )
                raise InputError(f"SeisBench metadata {chunk.metadata} has no column {column}{hint}")
        fmt = formats[number]
        if fmt["component_order"] is None and "trace_component_order" not in frame.columns:
            raise InputError(
                f"SeisBench dataset: {chunk.waveforms} has no data_format/component_order and "
                f"{chunk.metadata} no trace_component_order column; the components cannot be put in Z, N, E order"
            )
        frame["_chunk"] = number
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _rates(meta: pd.DataFrame, chunks: list[Chunk], formats: list[dict]) -> np.ndarray:
    """Sampling rate (Hz) of each trace: ``trace_sampling_rate_hz``, else ``1/trace_dt_s``, else ``data_format``."""
    rate = _numbers(meta, "trace_sampling_rate_hz")
    dt = _numbers(meta, "trace_dt_s")
    rate = rate.where(rate.notna(), 1.0 / dt.where(dt > 0))
    default = meta["_chunk"].map({i: (f["sampling_rate"] or np.nan) for i, f in enumerate(formats)})
    rate = rate.where(rate.notna(), default).to_numpy(dtype=np.float64)
    if np.isnan(rate).all():
        raise InputError(
            f"SeisBench dataset {chunks[0].waveforms.parent}: no sampling rate (neither data_format/sampling_rate "
            "in the waveforms file nor a trace_sampling_rate_hz or trace_dt_s column)"
        )
    return rate


def _components(
    meta: pd.DataFrame, chunks: list[Chunk], formats: list[dict], unrotated_horizontals: str = "refuse"
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of Z, N, E per trace and each trace's component order (text).

    An unknown component order is an error naming the file or trace; so is an order with
    unrotated horizontals ``1``/``2`` unless ``unrotated_horizontals`` is ``"accept"``
    (then read as N/E, with a warning).
    """
    per_trace = _text(meta, "trace_component_order")
    default = meta["_chunk"].map({i: f["component_order"] or "" for i, f in enumerate(formats)})
    order = per_trace.where(per_trace != "", default)
    out = np.zeros((len(meta), 3), dtype=np.int64)
    for value, rows in order.groupby(order).groups.items():
        found = component_indices(value)
        first = meta.loc[rows[0]]
        where = (
            f"trace {first['trace_name']} (column trace_component_order of {chunks[first['_chunk']].metadata})"
            if per_trace.loc[rows[0]]
            else f"{chunks[first['_chunk']].waveforms} (data_format/component_order)"
        )
        if found is not None and unrotated(value):
            if unrotated_horizontals != "accept":
                raise InputError(
                    f"SeisBench dataset: component_order {value!r} of {where} has unrotated horizontals 1/2, not "
                    f"north/east ({len(rows)} trace(s)); rotate them to N/E, or read 1 as N and 2 as E with config "
                    "key 'dataset.seisbench.unrotated_horizontals: accept'"
                )
            log.warning(
                "component_order %r of %s (%d trace(s)): unrotated horizontals read as 1 = N, 2 = E "
                "(dataset.seisbench.unrotated_horizontals: accept)",
                value,
                where,
                len(rows),
            )
        if found is None:
            raise InputError(
                f"SeisBench dataset: component_order {value!r} of {where} cannot be mapped to Z, N, E "
                f"({len(rows)} trace(s)); seisembed needs vertical, north and east components"
            )
        out[np.asarray(meta.index.get_indexer(rows))] = found
    return out, order.to_numpy(dtype=object)


def _selected_shape(location: tuple, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Shape of ``array[location]`` for an array of ``shape`` (ints drop their axis, slices keep it)."""
    out = []
    for axis, size in enumerate(shape):
        index = location[axis] if axis < len(location) else slice(None)
        if isinstance(index, slice):
            out.append(len(range(*index.indices(size))))
    return tuple(out)


def _locate(
    meta: pd.DataFrame, chunks: list[Chunk], formats: list[dict], components: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Bucket and location of every trace, checked against the HDF5 files (errors name the trace).

    With ``components`` (positions of Z, N, E per trace, :func:`_components`), a trace with
    fewer channels than its component order names is an error naming trace, bucket and order.
    """
    import h5py

    bucket = np.empty(len(meta), dtype=object)
    location = np.empty(len(meta), dtype=object)
    names = meta["trace_name"].to_numpy(dtype=object)
    for number, chunk in enumerate(chunks):
        dims = formats[number]["dimension_order"] or "CW"
        rows = np.flatnonzero(meta["_chunk"].to_numpy() == number)
        with h5py.File(chunk.waveforms, "r") as handle:
            data = handle["data"]
            shapes: dict[str, tuple | None] = {}
            for row in rows:
                name = str(names[row])
                if not name.strip():
                    line = int(row - rows[0]) + 2  # the header is line 1
                    raise InputError(f"SeisBench metadata {chunk.metadata}: line {line} has an empty trace_name")
                block, where = split_trace_name(name)
                if block not in shapes:
                    node = data.get(block)
                    shapes[block] = node.shape if isinstance(node, h5py.Dataset) else None
                shape = shapes[block]
                if shape is None:
                    raise InputError(
                        f"SeisBench trace {name} (metadata {chunk.metadata}): bucket {block!r} is not a dataset in "
                        f"group 'data' of {chunk.waveforms}"
                    )
                try:
                    parsed = parse_location(where)
                except ValueError as exc:
                    raise InputError(
                        f"SeisBench trace {name} (metadata {chunk.metadata}): {exc}; expected bucket$row,:channels,:samples"
                    ) from exc
                if not location_inside(parsed, shape):
                    raise InputError(
                        f"SeisBench trace {name} (metadata {chunk.metadata}) points outside its bucket {block!r} of "
                        f"shape {shape} in {chunk.waveforms}"
                    )
                kept = len(shape) - sum(1 for p in parsed if not isinstance(p, slice))
                if kept != 2:
                    raise InputError(
                        f"SeisBench trace {name} (metadata {chunk.metadata}) selects a {kept}-dimensional array from "
                        f"bucket {block!r} of shape {shape}; expected components x samples ({dims})"
                    )
                if components is not None:
                    channels = _selected_shape(parsed, shape)[0 if dims == "CW" else 1]
                    needed = int(np.max(components[row])) + 1
                    if channels < needed:
                        order = meta["trace_component_order"].iloc[row] if "trace_component_order" in meta else ""
                        order = (
                            order if isinstance(order, str) and order.strip() else formats[number]["component_order"]
                        )
                        raise InputError(
                            f"SeisBench trace {name} (metadata {chunk.metadata}) has {channels} channel(s) in bucket "
                            f"{block!r} of shape {shape} in {chunk.waveforms} ({dims}), but its component_order "
                            f"{order!r} needs {needed}"
                        )
                bucket[row], location[row] = block, where
    return bucket, location


def _trace_names(meta: pd.DataFrame, chunks: list[Chunk]) -> pd.Series:
    """Unique store trace names: ``trace_name_original`` where given, else ``trace_name`` (chunk-prefixed on clashes)."""
    own = _text(meta, "trace_name_original")
    names = own.where(own != "", meta["trace_name"].astype(str))
    if names.duplicated().any():
        prefix = meta["_chunk"].map({i: f"{c.name}:" if c.name else "" for i, c in enumerate(chunks)})
        fallback = prefix + meta["trace_name"].astype(str)
        if fallback.duplicated().any():
            first = fallback[fallback.duplicated()].iloc[0]
            raise InputError(f"SeisBench dataset: trace_name {first!r} occurs more than once in one chunk")
        log.warning("trace_name_original repeats: the store names traces by SeisBench's trace_name instead")
        names = fallback
    return names.astype(object)


def catalogue_frame(meta: pd.DataFrame, seisbench_cfg: dict) -> pd.DataFrame:
    """The arrivals columns (:data:`seisembed.columns.ARRIVAL_COLUMNS`) from SeisBench metadata.

    Absent columns are empty (text), NaN (numbers) or NaT (times); ``trace_p_arrival_time``
    falls back to ``trace_start_time + trace_p_arrival_sample / rate``; distances in km and
    degrees fill each other (:data:`KM_PER_DEG`); ``source_type`` is mapped
    (:func:`map_source_types`), ``source_type_raw`` keeps the dataset's value.
    """
    out = pd.DataFrame(index=meta.index)
    for column in ARRIVAL_COLUMNS:
        if column in ("source_origin_time", "trace_p_arrival_time"):
            out[column] = _times(meta, column)
        elif column in (
            "source_latitude_deg",
            "source_longitude_deg",
            "source_depth_km",
            "source_magnitude",
            "station_latitude_deg",
            "station_longitude_deg",
            "station_elevation_m",
            "path_ep_distance_deg",
            "path_ep_distance_km",
            "path_back_azimuth_deg",
        ):
            out[column] = _numbers(meta, column)
        else:
            out[column] = _text(meta, column)
    raw_type = _text(meta, "source_type")
    out["source_type"] = map_source_types(raw_type, seisbench_cfg["source_types"])
    if "source_type_raw" not in meta.columns:
        out["source_type_raw"] = raw_type
    if "trace_phase" not in meta.columns:
        out["trace_phase"] = "P"
    km, deg = out["path_ep_distance_km"], out["path_ep_distance_deg"]
    out["path_ep_distance_deg"] = deg.where(deg.notna(), km / KM_PER_DEG)
    out["path_ep_distance_km"] = km.where(km.notna(), deg * KM_PER_DEG)
    return out


# --------------------------------------------------------------------------- the build


def _record_skip(reason: np.ndarray, mask: np.ndarray, name: str) -> None:
    """Mark ``mask`` rows not yet skipped with ``name``."""
    reason[np.asarray(mask, dtype=bool) & (reason == "")] = name


def _mark(reason: np.ndarray, rows: np.ndarray, name: str) -> None:
    """Mark ``rows`` (positions) not yet skipped with ``name``."""
    mask = np.zeros(len(reason), dtype=bool)
    mask[rows] = True
    _record_skip(reason, mask, name)


def _skip_counts(reason: np.ndarray, events: np.ndarray, names: np.ndarray) -> dict[str, dict]:
    """Per reason (in :data:`SKIP_REASONS` order): records, events that lost their last record, first traces."""
    out: dict[str, dict] = {}
    alive = set(events) - {""}  # an empty source_id is no event
    gone = np.zeros(len(reason), dtype=bool)
    for name in SKIP_REASONS:
        hit = reason == name
        gone |= hit
        left = set(events[~gone]) - {""}
        out[name] = {"records": int(hit.sum()), "events": len(alive - left), "first_traces": names[hit][:5].tolist()}
        alive = left
        if hit.any():
            log.warning(
                "skipped %d SeisBench record(s) (%s): %s%s",
                hit.sum(),
                name,
                ", ".join(map(str, names[hit][:5])),
                " ..." if hit.sum() > 5 else "",
            )
    return out


def _mixed_split_events(
    frame: pd.DataFrame, meta: pd.DataFrame, chunks: list[Chunk], reason: np.ndarray, rule: str
) -> None:
    """Events (``source_id``) whose candidate records the split column puts in several splits.

    ``rule`` ``"error"``: an :class:`InputError` naming the first events, their splits and
    metadata file(s); ``"skip"``: their records are marked ``seisbench_event_in_several_splits``.
    """
    alive = (reason == "") & (frame["source_id"].str.strip() != "").to_numpy()
    if not alive.any():
        return
    live = frame.loc[alive, ["source_id", "split"]].assign(_chunk=meta.loc[alive, "_chunk"].to_numpy())
    splits = live.groupby("source_id", sort=False)["split"].unique()
    mixed = splits[splits.map(len) > 1]
    if mixed.empty:
        return
    if rule == "skip":
        _record_skip(
            reason, alive & frame["source_id"].isin(mixed.index).to_numpy(), "seisbench_event_in_several_splits"
        )
        return
    files = sorted({str(chunks[c].metadata) for c in live.loc[live["source_id"].isin(mixed.index), "_chunk"]})
    shown = "; ".join(
        f"{event}: {'/'.join(sorted(SPLIT_TO_SEISBENCH.get(s, s) for s in values))}"
        for event, values in mixed.iloc[:5].items()
    )
    raise InputError(
        f"SeisBench metadata {', '.join(files)}: {len(mixed)} event(s) (source_id) have traces in more than one split "
        f"({shown}{' ...' if len(mixed) > 5 else ''}); seisembed keeps the traces of an event in one split. "
        "Let seisembed split (config key 'dataset.seisbench.split: seisembed'), or leave these events out "
        "('dataset.seisbench.mixed_split_events: skip')"
    )


def _scan(traces: SeisBenchTraces, rows: np.ndarray, reason: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Read every candidate's window once; mark short / non-finite ones; return (padded, all_zero) masks."""
    padded = np.zeros(len(reason), dtype=bool)
    zero = np.zeros(len(reason), dtype=bool)
    started = last = time.monotonic()
    order = rows[np.lexsort((traces.location[rows].astype(str), traces.bucket[rows].astype(str), traces.chunk[rows]))]
    for first in range(0, len(order), BLOCK):
        block = order[first : first + BLOCK]
        windows, notes = traces.windows(block)

        for note in ("bad_sampling_rate", "short"):
            _mark(reason, block[notes == note], f"seisbench_{note}")
        padded[block[notes == "padded"]] = True
        flat = windows.reshape(len(block), -1)
        _mark(reason, block[~np.isfinite(flat).all(axis=1)], "seisbench_non_finite")
        zero[block[~flat.any(axis=1) & (notes == "")]] = True
        if time.monotonic() - last > 10:
            last = time.monotonic()
            done = first + len(block)
            log.info("scanned %d/%d SeisBench traces (%.0f traces/s)", done, len(order), done / (last - started))
    return padded, zero


def build_from_seisbench(folder: str | Path | None, out: str | Path, config: dict, threads: int = 2) -> BuildResult:
    """Build the dataset store ``out`` from the SeisBench dataset ``folder`` (module docstring).

    ``folder``: the dataset folder (``None``: config key ``dataset.seisbench.path``).
    ``config``: sections ``dataset``, ``waveforms`` (the window), ``dask``, ``seed`` and
    ``study`` (validated here; defaults filled). Returns a :class:`BuildResult` for the
    card; ``result.splits.removed`` starts with the import's skips (``seisbench_*``).
    """
    from seisembed.dataset.store import store_content_hash
    from seisembed.provenance import provenance

    config = validate_config(config)
    dataset_cfg, sb = config["dataset"], config["dataset"]["seisbench"]
    folder = folder if folder is not None else sb["path"]
    if not folder:
        raise ConfigError("config key 'dataset.seisbench.path' must name a SeisBench dataset folder")
    folder = Path(folder)
    started = time.monotonic()
    wf = config["waveforms"]
    window = Window(
        float(wf["sampling_rate_hz"]),
        float(wf["window_before_s"]),
        float(wf["window_after_s"]),
        sb["short_traces"] == "pad",
    )
    chunks = find_chunks(folder)
    formats = [read_data_format(c.waveforms) for c in chunks]
    for chunk, fmt in zip(chunks, formats):
        dims = (fmt["dimension_order"] or "CW").upper()
        if dims not in ("CW", "WC"):
            raise InputError(
                f"{chunk.waveforms}: data_format/dimension_order {fmt['dimension_order']!r} is not CW or WC "
                "(components x samples per trace)"
            )
        fmt["dimension_order"] = dims
    meta = _chunk_metadata(chunks, formats, sb["split"])
    n_in = len(meta)
    log.info("SeisBench dataset %s: %d traces in %d chunk(s)", folder, n_in, len(chunks))
    components, orders = _components(meta, chunks, formats, sb["unrotated_horizontals"])
    rates = _rates(meta, chunks, formats)
    bucket, location = _locate(meta, chunks, formats, components)
    names = _trace_names(meta, chunks).to_numpy(dtype=object)
    frame = catalogue_frame(meta, sb)
    frame["trace_name"] = names
    p_sample = _numbers(meta, "trace_p_arrival_sample").to_numpy()

    reason = np.full(n_in, "", dtype=object)
    _record_skip(reason, (frame["source_id"].str.strip() == "").to_numpy(), "seisbench_no_source_id")
    _record_skip(reason, (frame["station_code"].str.strip() == "").to_numpy(), "seisbench_no_station")
    _record_skip(reason, ~np.isfinite(p_sample), "seisbench_no_p_arrival")
    if sb["split"] == "dataset":
        split = _text(meta, "split").str.strip().str.lower().map(SPLIT_FROM_SEISBENCH)
        _record_skip(reason, split.isna().to_numpy(), "seisbench_unknown_split")
        frame["split"] = split.fillna("").astype(object)
        _mixed_split_events(frame, meta, chunks, reason, sb["mixed_split_events"])
    two_class = frame["source_type"].isin(SOURCE_TYPES).to_numpy()
    if sb["other_source_types"] == "skip":
        _record_skip(reason, ~two_class, "seisbench_other_source_type")
    _record_skip(
        reason, np.array([resample_ratio(r, window.rate_hz) is None for r in rates]), "seisbench_bad_sampling_rate"
    )

    traces = SeisBenchTraces(
        files=[str(c.waveforms) for c in chunks],
        dimension_orders=[f["dimension_order"] for f in formats],
        chunk=meta["_chunk"].to_numpy(dtype=np.int64),
        bucket=bucket,
        location=location,
        components=components,
        rate_hz=rates,
        p_sample=np.nan_to_num(p_sample),
        window=window,
        names=names,
    )
    padded, zero = _scan(traces, np.flatnonzero(reason == ""), reason)
    events = frame["source_id"].to_numpy(dtype=object)
    skips = _skip_counts(reason, events, names)
    keep = reason == ""
    if not keep.any():
        raise InputError(
            f"SeisBench dataset {folder}: every one of its {n_in} traces was skipped ("
            + ", ".join(f"{k}: {v['records']}" for k, v in skips.items() if v["records"])
            + ")"
        )

    # the window as the store describes it: start = P - before, P on sample before x rate
    rate_col = pd.Series(rates, index=frame.index)
    start = _times(meta, "trace_start_time")
    offset = pd.to_timedelta(p_sample / rate_col.to_numpy() - window.before_s, unit="s")
    p_time = frame["trace_p_arrival_time"]
    frame["trace_p_arrival_time"] = p_time.where(p_time.notna(), start + pd.to_timedelta(p_sample / rates, unit="s"))
    window_start = start + offset
    frame["trace_start_time"] = window_start.where(
        window_start.notna(), frame["trace_p_arrival_time"] - pd.Timedelta(seconds=window.before_s)
    )
    frame["trace_p_arrival_sample"] = window.p_sample
    frame["trace_sampling_rate_hz"] = window.rate_hz
    frame["trace_channels"] = _text(meta, "trace_channels")
    frame["partition"] = meta["_chunk"].map(dict(enumerate(c.name for c in chunks))).astype(object)
    frame["partition_row"] = np.arange(n_in, dtype=np.int64)
    has_novelty = all(c in meta.columns for c in ("novel_station", "novel_location"))
    if has_novelty:
        frame["novel_station"] = _bools(meta, "novel_station").to_numpy()
        frame["novel_location"] = _bools(meta, "novel_location").to_numpy()
    frame = frame.loc[keep].reset_index(drop=True)

    per_event = frame.groupby("source_id").size()
    if per_event.max() < 2:
        raise InputError(
            f"SeisBench dataset {folder}: every one of its {len(per_event)} source_id values has a single trace; "
            "triplet training and association need several stations per event (column source_id must name the "
            "event, shared by its traces)"
        )
    if sb["split"] == "dataset":
        result = assign_given_splits(frame, dataset_cfg, config["seed"], held_out=not has_novelty)
    else:
        if frame["source_origin_time"].isna().any():
            first = frame.loc[frame["source_origin_time"].isna(), "trace_name"].iloc[0]
            raise InputError(
                f"SeisBench dataset {folder}: column source_origin_time is missing or empty (first: trace {first}); "
                "seisembed's split rules split by origin time: use the dataset's split (dataset.seisbench.split: dataset)"
            )
        result = assign_splits(frame, dataset_cfg, config["seed"])
    removed = {k: {"records": v["records"], "events": v["events"]} for k, v in skips.items()}
    removed.update(result.removed)
    frame = store_order(result.frame)
    result = SplitResult(frame=frame, removed=removed, details=result.details)
    zero_names = set(names[zero & keep])
    bad_windows = bad_window_counts(frame, set(), zero_names)
    kinds = frame["source_type"].value_counts()
    others = {str(k): int(v) for k, v in kinds.items() if k not in SOURCE_TYPES}
    if others:
        log.warning(
            "records of other source types are kept with their own label and left out of the two-class "
            "discrimination: %s",
            ", ".join(f"{k} {v}" for k, v in others.items()),
        )
    record = provenance({k: config[k] for k in ("dataset", "waveforms", "seed", "study")})
    attrs = {
        "title": "seisembed waveform dataset",
        "study": config["study"],
        "source": "seisbench",
        "seisbench_path": str(folder),
        "sampling_rate_hz": window.rate_hz,
        "component_order": COMPONENT_ORDER,
        "window_before_s": window.before_s,
        "window_after_s": window.after_s,
        "n_samples": window.n_samples,
        "time_zone": "UTC",
        "split_details": json.loads(json.dumps(result.details, default=str)),
        "removed_by_rule": removed,
        "bad_windows": bad_windows,
        "config_hash": record["config_hash"],
        "git_commit": record["git_commit"],
        "packages": record["packages"],
        "provenance": json.loads(json.dumps(record, default=str)),
    }
    store = write_store(out, [], frame, attrs, dataset_cfg, threads=threads, dask_config=config["dask"], loader=traces)
    store_hash = store_content_hash(store, threads=threads)
    elapsed = time.monotonic() - started
    log.info(
        "dataset store %s complete from SeisBench %s: %d of %d traces, %d events in %.1f s (%.0f records/s)",
        store,
        folder,
        len(frame),
        n_in,
        frame["source_id"].nunique(),
        elapsed,
        n_in / max(elapsed, 1e-9),
    )
    status = {"ok": int(keep.sum())}
    status.update({k.removeprefix("seisbench_"): v["records"] for k, v in skips.items() if v["records"]})
    resampled = int(np.sum([resample_ratio(r, window.rate_hz) not in (None, 1) for r in rates[keep]]))
    inputs = {
        "partitions": [f"SeisBench {folder}" + (f" chunk {c.name}" if c.name else "") for c in chunks],
        "windows_in": n_in,
        "qc_status_counts": status,
        "partitions_without_qc": [],
        "seisbench": {
            "path": str(folder),
            "chunks": [c.name for c in chunks],
            "data_format": [
                {k: v for k, v in f.items() if isinstance(v, str | float | int | type(None))} for f in formats
            ],
            "skipped": skips,
            "padded": int((padded & keep).sum()),
            "resampled": resampled,
            "source_types": {str(k): int(v) for k, v in kinds.items()},
            "excluded_from_discrimination": others,
            "split": sb["split"],
            "mixed_split_events": sb["mixed_split_events"],
            "component_orders": {str(k): int(v) for k, v in pd.Series(orders[keep]).value_counts().items()},
            "novelty_from_dataset": has_novelty,
        },
    }
    return BuildResult(
        store=store,
        frame=frame,
        splits=result,
        sampling_rate_hz=window.rate_hz,
        n_samples=window.n_samples,
        inputs=inputs,
        store_hash=store_hash,
        bad_windows=bad_windows,
    )
