"""SeisBench's dataset format, read and written with h5py + pandas (no ``seisbench``, no PyTorch).

A SeisBench dataset (``seisbench.data.WaveformDataset``, seisbench 0.12) is a folder with
``metadata.csv`` + ``waveforms.hdf5``, or several chunks ``metadata{c}.csv`` +
``waveforms{c}.hdf5`` listed one per line in a ``chunks`` file (without that file, the
chunks are the pairs found by name). In each HDF5 file:

- group ``data``: the arrays. ``WaveformDataWriter`` packs traces of one split and shape
  into "buckets" of up to 1024 traces; a trace's ``trace_name`` is then
  ``"{bucket}${location}"``, e.g. ``bucket3$17,:3,:7200`` (row 17, 3 components,
  7200 samples); a trace_name without ``$`` is a dataset of its own (a bucket that
  held one trace).
- group ``data_format``: ``dimension_order`` (e.g. ``"CW"``: components x samples;
  SeisBench assumes ``"CW"`` when it is missing), ``component_order`` (e.g. ``"ZNE"``;
  a ``trace_component_order`` metadata column may give it per trace), and optionally
  ``sampling_rate`` (Hz; a ``trace_sampling_rate_hz`` column, or ``trace_dt_s``, gives
  it per trace), ``measurement``, ``unit``, ``instrument_response``.

Metadata columns are ``CATEGORY_PARAMETER_UNIT`` (``source_id``, ``station_code``,
``trace_p_arrival_sample``, ...); ``split`` is ``train``/``dev``/``test`` (SeisBench's
``dev`` is seisembed's ``val``). This module holds what the export
(:mod:`seisembed.dataset.seisbench_export`) and the import
(:mod:`seisembed.dataset.seisbench_import`) share: the folder's chunks, the
``data_format`` group, the metadata table and the trace-name locations.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.errors import InputError

__all__ = [
    "SPLIT_TO_SEISBENCH",
    "SPLIT_FROM_SEISBENCH",
    "STRING_COLUMNS",
    "Chunk",
    "find_chunks",
    "read_data_format",
    "read_metadata",
    "location_inside",
    "parse_location",
    "split_trace_name",
]

log = logging.getLogger(__name__)

#: seisembed split -> SeisBench split
SPLIT_TO_SEISBENCH: dict[str, str] = {"train": "train", "val": "dev", "test": "test"}
#: SeisBench split -> seisembed split
SPLIT_FROM_SEISBENCH: dict[str, str] = {v: k for k, v in SPLIT_TO_SEISBENCH.items()}

#: metadata columns read as text whatever they hold (station code "00", network "NA", ...)
STRING_COLUMNS: tuple[str, ...] = (
    "trace_name",
    "trace_name_original",
    "split",
    "source_id",
    "source_type",
    "source_type_raw",
    "source_magnitude_type",
    "station_network_code",
    "station_code",
    "station_location_code",
    "trace_phase",
    "trace_channels",
    "trace_component_order",
    "source_origin_time",
    "trace_start_time",
    "trace_p_arrival_time",
)


@dataclass(frozen=True)
class Chunk:
    """One chunk of a SeisBench dataset: its name (``""`` when not chunked) and its two files."""

    name: str
    metadata: Path
    waveforms: Path


def _chunk(folder: Path, name: str) -> Chunk:
    return Chunk(name, folder / f"metadata{name}.csv", folder / f"waveforms{name}.hdf5")


def find_chunks(folder: str | Path) -> list[Chunk]:
    """The chunks of the SeisBench dataset in ``folder``, each with both files checked to exist.

    Follows ``seisbench.data.WaveformDataset.available_chunks``: the ``chunks`` file's
    lines, else ``""`` when ``waveforms.hdf5`` exists, else the ``metadata{c}.csv`` /
    ``waveforms{c}.hdf5`` pairs. Raises :class:`InputError` naming the folder or the
    missing file (a metadata file without its waveforms, or the reverse).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(
            f"SeisBench dataset {folder} is not a folder (expected metadata.csv + waveforms.hdf5, or chunks)"
        )
    names: list[str] = []
    listing = folder / "chunks"
    if listing.is_file():
        names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    if not names:
        if (folder / "waveforms.hdf5").exists() or (folder / "metadata.csv").exists():
            names = [""]
        else:
            metadata = {p.name[8:-4] for p in folder.glob("metadata*.csv")}
            waveforms = {p.name[9:-5] for p in folder.glob("waveforms*.hdf5")}
            for name in sorted(metadata ^ waveforms):
                have, lack = (
                    (f"metadata{name}.csv", f"waveforms{name}.hdf5")
                    if name in metadata
                    else (f"waveforms{name}.hdf5", f"metadata{name}.csv")
                )
                raise InputError(f"SeisBench dataset {folder}: {have} has no {lack} beside it")
            names = sorted(metadata & waveforms)
            if not names:
                raise InputError(
                    f"SeisBench dataset {folder} holds neither metadata.csv + waveforms.hdf5 nor chunks "
                    "(metadata{c}.csv + waveforms{c}.hdf5, listed in a 'chunks' file)"
                )
    chunks = [_chunk(folder, name) for name in names]
    for chunk in chunks:
        for path in (chunk.metadata, chunk.waveforms):
            if not path.is_file():
                where = f" (chunk {chunk.name!r}, listed in {listing})" if chunk.name else ""
                raise InputError(f"SeisBench dataset {folder}: {path.name} does not exist{where}")
    return chunks


def _text(value) -> str | None:
    """An HDF5 scalar or array value as text (bytes decoded, arrays of letters joined)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _text(value[()])
        return "".join(_text(v) or "" for v in value.tolist())
    if isinstance(value, str):
        return value
    return None


def read_data_format(path: str | Path) -> dict:
    """The ``data_format`` group of a ``waveforms*.hdf5`` file as a dict.

    ``dimension_order`` and ``component_order`` come back as text (``None`` when
    absent), ``sampling_rate`` as a float in Hz (``None`` when absent); other keys
    as stored. Raises :class:`InputError` naming the file when it is not HDF5 or
    has no ``data`` group.
    """
    import h5py

    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"{path} is not a readable HDF5 file: {exc}") from exc
    with handle:
        if "data" not in handle:
            raise InputError(f"{path} has no 'data' group: not a SeisBench waveforms file")
        group = handle.get("data_format")
        raw = {key: group[key][()] for key in group} if group is not None else {}
    out = {key: (_text(value) if _text(value) is not None else value) for key, value in raw.items()}
    out["dimension_order"] = out.get("dimension_order")
    out["component_order"] = out.get("component_order")
    rate = raw.get("sampling_rate")
    try:
        out["sampling_rate"] = None if rate is None else float(np.asarray(rate).reshape(-1)[0])
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: data_format/sampling_rate {rate!r} is not a number (Hz)") from exc
    return out


def read_metadata(chunk: Chunk) -> pd.DataFrame:
    """``metadata{c}.csv`` of one chunk, its text columns as strings (empty: ``""``).

    Numbers stay numbers (an empty cell is NaN; pandas 3 parses floats to round-trip
    exactly: the round-trip test checks it). Raises :class:`InputError` naming the file when it is unreadable, empty
    or has no ``trace_name`` column.
    """
    path = chunk.metadata
    try:
        header = pd.read_csv(path, nrows=0).columns
        frame = pd.read_csv(
            path,
            dtype={c: str for c in STRING_COLUMNS if c in header},
            keep_default_na=False,
            na_values=[""],
            low_memory=False,
        )
    except (OSError, ValueError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
        raise InputError(f"{path} is not a readable CSV table: {exc}") from exc
    if "trace_name" not in frame.columns:
        raise InputError(f"{path} has no column trace_name (SeisBench's one required metadata column)")
    for column in STRING_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].fillna("").astype(str)
    return frame


def split_trace_name(name: str) -> tuple[str, str]:
    """``(bucket, location)`` of a SeisBench trace name; ``location`` is ``":"`` for a trace of its own."""
    if "$" in name:
        bucket, location = name.split("$", 1)
        return bucket, location
    return name, ":"


def parse_location(location: str) -> tuple:
    """A SeisBench location string (``"17,:3,:7200"``) as a tuple of ints and slices.

    Raises :class:`ValueError` for text that is not a location (the caller names the trace).
    """

    def number(text: str) -> int | None:
        return None if text == "" else int(text)

    out: list = []
    for part in location.replace(" ", "").split(","):
        pieces = part.split(":")
        if len(pieces) == 1:
            if pieces[0] == "":
                raise ValueError(f"empty index in location {location!r}")
            out.append(int(pieces[0]))
        elif len(pieces) in (2, 3):
            out.append(slice(*(number(p) for p in pieces)))
        else:
            raise ValueError(f"invalid location {location!r}")
    return tuple(out)


def location_inside(location: tuple, shape: tuple[int, ...]) -> bool:
    """Whether every index of ``location`` lies inside an array of ``shape`` (numpy would clip a slice silently)."""
    if len(location) > len(shape):
        return False
    for index, size in zip(location, shape):
        if isinstance(index, slice):
            for bound in (index.start, index.stop):
                if bound is not None and not -size <= bound <= size:
                    return False
        elif not -size <= index < size:
            return False
    return True
