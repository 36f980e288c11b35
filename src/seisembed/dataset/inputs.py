"""Read the waveform stage's per-partition outputs without loading whole shards.

Each partition folder ``results/waveforms/{partition}/`` holds ``windows.npy``
(float32, ``(n_ok, 3, n_samples)``, channels Z, N, E), ``windows.parquet`` (one
metadata row per window, same order) and ``qc.parquet`` (the QC ledger). This
module checks that contract and reads *rows* of ``windows.npy`` with plain file
reads into a caller-sized buffer, so the resident memory of the dataset build
does not grow with the size of the partitions (a memory map would count every
touched page as resident).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.arrivals import STATION_KEY, validate_arrivals
from seisembed.columns import ARRIVAL_COLUMNS, WINDOW_COLUMNS
from seisembed.errors import InputError
from seisembed.npy import read_npy_header
from seisembed.waveforms.layout import PartitionPaths

#: the window columns the dataset needs (location code and SNR are optional extras)
REQUIRED_WINDOW_COLUMNS: tuple[str, ...] = WINDOW_COLUMNS[:5]

__all__ = ["REQUIRED_WINDOW_COLUMNS", "Partition", "open_partition", "read_metadata", "read_rows", "iter_blocks"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Partition:
    """One waveform partition: where its windows are and what shape they have.

    ``offset`` is the byte offset of the first window in ``windows.npy``;
    ``n_samples`` is the number of samples per channel (7200 for 180 s at 40 Hz).
    """

    name: str
    folder: Path
    n_windows: int
    n_channels: int
    n_samples: int
    offset: int
    fortran_order: bool

    @property
    def row_bytes(self) -> int:
        """Bytes of one window (float32)."""
        return self.n_channels * self.n_samples * 4


def _npy_header(path: Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Shape, Fortran order, dtype and data offset (bytes) of an ``.npy`` file."""
    with open(path, "rb") as handle:
        try:
            return read_npy_header(handle)
        except ValueError as exc:
            raise InputError(f"{path} is not a valid .npy file: {exc}") from exc


def read_metadata(folder: Path, name: str) -> pd.DataFrame:
    """``windows.parquet`` of one partition with its columns checked and times in UTC."""
    path = folder / "windows.parquet"
    if not path.is_file():
        raise InputError(f"partition {name}: {path} does not exist (run the waveform stage first)")
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(
            f"partition {name}: {path} is not a readable Parquet file ({exc}); rerun the waveform stage for it"
        ) from exc
    missing = [c for c in (*ARRIVAL_COLUMNS, *REQUIRED_WINDOW_COLUMNS) if c not in frame.columns]
    if missing:
        raise InputError(f"partition {name}: {path} lacks column(s) {', '.join(missing)}")
    frame = frame.reset_index(drop=True)
    frame[list(ARRIVAL_COLUMNS)] = validate_arrivals(
        frame, name=f"partition {name}: {path}", warn_extra=False, unique=(*STATION_KEY, "station_location_code")
    )
    frame["trace_start_time"] = pd.to_datetime(frame["trace_start_time"], utc=True)
    frame["partition"] = name
    frame["partition_row"] = np.arange(len(frame), dtype=np.int64)
    return frame


def open_partition(folder: str | Path, name: str | None = None) -> tuple[Partition, pd.DataFrame]:
    """Check one partition folder and return its :class:`Partition` and metadata.

    Raises :class:`InputError` naming the partition when ``windows.npy`` is not
    float32 ``(n, 3, n_samples)`` or its row count differs from ``windows.parquet``.
    """
    folder = Path(folder)
    name = name or folder.name
    path = folder / "windows.npy"
    if not path.is_file():
        raise InputError(f"partition {name}: {path} does not exist (run the waveform stage first)")
    shape, fortran, dtype, offset = _npy_header(path)
    frame = read_metadata(folder, name)
    if len(shape) == 1 and shape[0] == 0:  # an empty partition may be saved as shape (0,)
        shape = (0, 3, 0)
    if len(shape) != 3 or shape[1] != 3:
        raise InputError(
            f"partition {name}: {path} has shape {shape}; expected (n_windows, 3, n_samples) with channels Z, N, E"
        )
    if dtype != np.dtype("<f4"):
        raise InputError(f"partition {name}: {path} has dtype {dtype}; expected little-endian float32")
    if fortran and shape[0] > 0:
        raise InputError(f"partition {name}: {path} is stored in Fortran order; expected C order")
    if shape[0] != len(frame):
        raise InputError(
            f"partition {name}: {path} holds {shape[0]} windows but windows.parquet has {len(frame)} rows; they must match row for row"
        )
    part = Partition(
        name=name,
        folder=folder,
        n_windows=shape[0],
        n_channels=shape[1],
        n_samples=shape[2],
        offset=offset,
        fortran_order=fortran,
    )
    return part, frame


def read_rows(part: Partition, rows: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Read windows ``rows`` (sorted or not) of a partition into ``out`` (float32 ``(len(rows), 3, n)``).

    Each run of consecutive rows is one :func:`numpy.fromfile` read at its byte
    offset, so reading a partition in order costs one sequential pass. Memory:
    ``out`` plus one run.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if out is None:
        out = np.empty((len(rows), part.n_channels, part.n_samples), dtype=np.float32)
    if len(rows) == 0:
        return out
    if rows.min() < 0 or rows.max() >= part.n_windows:
        bad = int(rows.min()) if rows.min() < 0 else int(rows.max())
        raise InputError(f"partition {part.name}: row {bad} out of range (n_windows={part.n_windows})")
    per_row = part.n_channels * part.n_samples
    start = 0
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    for stop in (*breaks.tolist(), len(rows)):
        first, count = int(rows[start]), stop - start
        values = np.fromfile(
            PartitionPaths(part.folder).windows_npy,
            dtype="<f4",
            count=count * per_row,
            offset=part.offset + first * part.row_bytes,
        )
        if values.size != count * per_row:
            raise InputError(
                f"partition {part.name}: {PartitionPaths(part.folder).windows_npy} is truncated at window {first + values.size // per_row}"
            )
        out[start:stop] = values.reshape(count, part.n_channels, part.n_samples)
        start = stop
    return out


def iter_blocks(part: Partition, block: int = 512):
    """Yield ``(first_row, windows)`` blocks of a partition in order (bounded memory)."""
    buffer = np.empty((block, part.n_channels, part.n_samples), dtype=np.float32)
    for first in range(0, part.n_windows, block):
        rows = np.arange(first, min(first + block, part.n_windows))
        yield first, read_rows(part, rows, buffer[: len(rows)])
