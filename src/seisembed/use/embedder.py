"""Embed new records with a trained model: ObsPy objects or windows in, unit vectors out.

>>> from obspy import read, read_inventory
>>> from seisembed import Embedder
>>> embedder = Embedder.load("results/model/model.keras")           # doctest: +SKIP
>>> stream = read("records/*.mseed")                                # doctest: +SKIP
>>> inventory = read_inventory("stations.xml")                      # doctest: +SKIP
>>> picks = seisembed.use.read_picks("events.xml", inventory)       # doctest: +SKIP
>>> embeddings, qc = embedder.embed_stream(stream, inventory, picks)  # doctest: +SKIP

Windows are cut by the waveform stage's own code (channel choice from the
StationXML, QC, anti-alias resampling onto the window grid, rotation to Z, N, E:
:mod:`seisembed.waveforms.processing`, driven by
:func:`seisembed.waveforms.driver.iter_windows`), with the window geometry the
model was trained on (recorded in its ``model_card.json``). Records that cannot
be embedded get a QC row with the waveform stage's statuses (``no_data``,
``gap``, ``short``, ``missing_component``, ``bad_sampling_rate``, ``clipped``,
``non_finite``, ``error``), never silence.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.columns import QC_COLUMNS
from seisembed.config import section as config_section
from seisembed.embeddings import (
    EMBEDDINGS_META_KEY,
    embedding_matrix,
    embedding_model_hash,
    embeddings_frame,
    read_embeddings,
    validate_embeddings,
)
from seisembed.errors import InputError

__all__ = [
    "EMBEDDINGS_META_KEY",
    "Embedder",
    "embedding_matrix",
    "embedding_model_hash",
    "embeddings_frame",
    "model_hash",
    "read_embeddings",
    "validate_embeddings",
]

log = logging.getLogger(__name__)

#: the QC table of ``seisembed embed``: the waveform stage's ledger columns (no partition or
#: window index: nothing is stored) plus the window start and SNR of the records that passed
QC_OUTPUT_COLUMNS = (
    *(c for c in QC_COLUMNS if c not in ("qc_window_index", "qc_partition")),
    "trace_start_time",
    "trace_snr_db",
)


def model_hash(path: str | Path) -> str:
    """SHA-256 (first 16 hex digits) of a saved model file: identifies the model an embedding came from."""
    from seisembed.provenance import file_sha256

    return file_sha256(path)[:16]


def _waveforms_of_model(path: Path) -> dict | None:
    card = path.parent / "model_card.json"
    if not card.is_file():
        return None
    try:
        section = json.loads(card.read_text()).get("waveforms")
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"model card {card} is unreadable: {exc}") from exc
    return section or None


class Embedder:
    """A trained embedding model and the window geometry and processing it was trained with.

    Build with :meth:`load`. ``waveforms`` is the ``waveforms`` config section
    (window, channel priorities, processing; schema defaults for missing keys).
    """

    def __init__(self, model, waveforms: dict | None = None, model_path: str | Path = "", model_id: str = ""):
        from seisembed.waveforms.processing import ProcessingOptions, WindowSpec

        self.model = model
        self.waveforms = config_section("waveforms", waveforms or {})
        self.spec = WindowSpec.from_config(self.waveforms)
        self.options = ProcessingOptions.from_config(self.waveforms)
        self.model_path = str(model_path)
        self.model_hash = model_id
        shape = tuple(model.input_shape[1:])
        if shape != (self.spec.n_samples, 3):
            raise InputError(
                f"model {self.model_path or '(in memory)'} takes windows of {shape[0]} samples x {shape[-1]} channels, "
                f"but the window configured is {self.spec.n_samples} samples ({self.spec.before_s:g} s before P + "
                f"{self.spec.after_s:g} s after at {self.spec.sampling_rate_hz:g} Hz): the model was trained for another "
                "window length (set waveforms.window_before_s / window_after_s / sampling_rate_hz to the model's)"
            )

    @classmethod
    def load(cls, model_path: str | Path, waveforms: dict | None = None) -> Embedder:
        """Load ``model_path`` (safe mode) with the window geometry it was trained on.

        The geometry comes from ``waveforms`` when given, else from the
        ``waveforms`` record of the ``model_card.json`` beside the model, else from
        the schema's defaults (logged). Raises :class:`InputError` naming the file
        when it is missing, not a model, or takes windows of another length.
        """
        from seisembed.train.model import load_model

        path = Path(model_path)
        if waveforms is None:
            waveforms = _waveforms_of_model(path)
            if waveforms is None and path.is_file():
                log.warning("%s has no model_card.json with its window geometry: using the schema's defaults", path)
        model = load_model(path, sampling_rate_hz=(waveforms or {}).get("sampling_rate_hz"))
        return cls(model, waveforms, model_path=path, model_id=model_hash(path))

    @property
    def dim(self) -> int:
        """Length of the embedding vectors."""
        return int(self.model.output_shape[-1])

    def embed_windows(self, windows: np.ndarray, batch: int = 256, progress: bool = False) -> np.ndarray:
        """Unit vectors ``(n, dim)`` float32 for raw windows ``(n, 3, n_samples)`` (Z, N, E; counts).

        Windows in the model's own layout ``(n, n_samples, 3)`` and a single window
        ``(3, n_samples)`` are accepted too. Normalisation is inside the model.
        """
        from seisembed.dataset.store import channels_last

        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise InputError(f"batch must be a whole number >= 1, not {batch!r}")
        try:
            x = np.asarray(windows, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InputError(f"windows are not an array of numbers: {exc}") from exc
        n = self.spec.n_samples
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or not ({x.shape[1], x.shape[2]} == {3, n}):
            raise InputError(
                f"windows of shape {np.shape(windows)}: expected (n, 3, {n}) or (n, {n}, 3) for this model"
            )
        if len(x) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not np.isfinite(x).all():
            raise InputError("windows hold NaN or infinite samples")
        out = []
        steps = range(0, len(x), batch)
        if progress:
            from tqdm import tqdm

            steps = tqdm(steps, desc="embedding", unit="batch", leave=False, disable=None)
        for start in steps:
            chunk = x[start : start + batch]
            if chunk.shape[1] == 3 and n != 3:
                chunk = channels_last(chunk)
            # the compiled predict step: about twice as fast as an eager call of the model on the CPU
            out.append(np.asarray(self.model.predict_on_batch(chunk)))
        return np.concatenate(out).astype(np.float32)

    def cut_windows(self, picks: pd.DataFrame, source, progress: bool = False):
        """Cut and QC the windows of ``picks`` from a waveform source, as the waveform stage does.

        Returns ``(windows, records, qc)``: float32 ``(n_ok, 3, n_samples)`` (Z, N, E),
        the picks of those windows (pick order) and one QC row per pick.
        """
        from seisembed.use.picks import normalise_picks
        from seisembed.waveforms.driver import iter_windows, start_chunk

        picks = normalise_picks(picks)
        chunk_size = int(self.waveforms["chunk_size"])
        ledger, windows, rows = [], [], []
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(picks), desc="cutting windows", unit="record", leave=False, disable=None)
        for index, first in enumerate(range(0, len(picks), chunk_size)):
            chunk_rows = picks.iloc[first : first + chunk_size]
            chunk = start_chunk(index, chunk_rows, first, source, self.waveforms, self.spec)
            ledger.extend(chunk.ledger)
            for entry, win in iter_windows(chunk, self.spec, self.options):
                ledger.append(entry)
                if win is not None:
                    windows.append(win.data)
                    rows.append(entry["row"])
            if bar is not None:
                bar.update(len(chunk_rows))
        if bar is not None:
            bar.close()
        qc = _qc_table(picks, ledger)
        order = np.argsort(rows, kind="stable")
        kept = [rows[i] for i in order]
        data = np.stack([windows[i] for i in order]) if windows else np.zeros((0, 3, self.spec.n_samples), np.float32)
        return data, picks.iloc[kept].reset_index(drop=True), qc

    def embed_source(self, picks: pd.DataFrame, source, batch: int = 256, progress: bool = False):
        """Cut, QC and embed the records of ``picks`` from a waveform source.

        ``source``: any :class:`~seisembed.waveforms.base.WaveformSource` (SDS
        archive, FDSN, :class:`~seisembed.waveforms.stream.StreamSource`).
        Returns ``(embeddings, qc)``: the embeddings table (the evaluation stage's
        columns) of the records that passed, in pick order, and one QC row per pick.
        """
        data, meta, qc = self.cut_windows(picks, source, progress=progress)
        emb = self.embed_windows(data, batch=batch, progress=progress)
        meta["split"] = ""
        for column in ("novel_station", "novel_location"):
            meta[column] = pd.array([pd.NA] * len(meta), dtype="boolean")  # unknown outside the dataset
        frame = embeddings_frame(meta, emb, self.model_hash, self.model_path)
        counts = qc["qc_status"].value_counts().to_dict()
        log.info("embedded %d of %d records; QC %s", len(frame), len(qc), counts)
        return frame, qc

    def embed_stream(self, stream, inventory, picks: pd.DataFrame, batch: int = 256, progress: bool = False):
        """Embed the records of ``picks`` from an ObsPy ``stream`` and ``inventory``; returns ``(embeddings, qc)``."""
        from seisembed.waveforms.stream import StreamSource

        return self.embed_source(picks, StreamSource(stream, inventory), batch=batch, progress=progress)


def _qc_table(picks: pd.DataFrame, ledger: list[dict]) -> pd.DataFrame:
    """One QC row per pick, in pick order (raises if the source lost or repeated one)."""
    frame = pd.DataFrame(ledger).sort_values("row").reset_index(drop=True)
    if list(frame["row"]) != list(range(len(picks))):
        raise InputError(f"the waveform source answered {len(frame)} of {len(picks)} picks: a bug in the source")
    for column in (
        "source_id",
        "station_network_code",
        "station_code",
        "station_location_code",
        "trace_p_arrival_time",
    ):
        frame[column] = picks[column].to_numpy()
    frame["trace_start_time"] = pd.to_datetime(frame["trace_start_time"], utc=True)
    return frame.loc[:, list(QC_OUTPUT_COLUMNS)]
