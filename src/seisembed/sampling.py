"""Triplet batches and split iterators streamed from the dataset store.

:class:`TripletSampler` serves the batch-hard triplet training of the paper:
each batch holds L events x K records of **one split**, every event's K records
from K **different stations** (``NET.STA``), so that the only thing the records
of an event share is the source. Batches are reproducible: batch ``i`` of epoch
``e`` depends only on ``(seed, e, i)`` (each epoch visits the eligible events in
a fresh seeded order), whatever order or thread asks for it.

Each record is optionally shifted in time by a uniform random number of samples
in ``[-max_shift, +max_shift]`` (``x_out[t] = x_in[t - shift]``: a positive
shift moves P later; samples shifted in are zeros), then, per channel, demeaned
and divided by its peak absolute value (the paper's only preprocessing;
``normalization="trace"`` divides all channels by the record's peak, ``"none"``
skips it; an all-zero channel stays zero). Output: ``x`` float32
``(L*K, n_samples, 3)`` channels-last (Z, N, E) as Keras' Conv1D expects, and
``y`` int32 event labels (the event's index in store order).

Reading: the store keeps each event's records contiguous and one trace per
chunk (see :mod:`seisembed.dataset.build`), so a batch is one Zarr orthogonal
selection of L*K traces that decodes nothing else. A small pool of background
threads reads the next ``prefetch`` batches while the caller trains on the
current one (Blosc decoding and NumPy release the GIL).

Adapters: :meth:`TripletSampler.as_keras_dataset` (a ``keras.utils.PyDataset``)
and :meth:`TripletSampler.as_tf_dataset` (a ``tf.data.Dataset``); Keras and
TensorFlow are imported only inside them. :func:`iter_split` reads one split in
store order (for embedding), normalised the same way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from seisembed.errors import ConfigError, InputError

__all__ = ["TripletSampler", "iter_split", "normalize", "shift_records", "open_waveforms", "read_index"]

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
NORMALIZATIONS = ("channel", "trace", "none")
#: random stream of the sampler (the dataset's split rules use 1 and 2)
STREAM_SAMPLER = 3


# --------------------------------------------------------------------------- store access


def open_waveforms(store: str | Path):
    """The ``waveform`` Zarr array of a dataset store (read-only)."""
    import zarr

    path = Path(store)
    if not path.exists():
        raise InputError(f"dataset store {path} does not exist (run the build_dataset rule first)")
    try:
        return zarr.open_group(str(path), mode="r")["waveform"]
    except (KeyError, FileNotFoundError, ValueError) as exc:
        raise InputError(f"dataset store {path} has no 'waveform' array: {exc}") from exc


def _strings(array) -> np.ndarray:
    """A Zarr string array as a NumPy fixed-width unicode array."""
    return np.asarray(array[:].tolist(), dtype=str)


def read_index(store: str | Path) -> dict[str, np.ndarray]:
    """The per-trace metadata the sampler needs: split, event and station of each trace.

    Returns arrays ``split``, ``source_id``, ``station`` (``NET.STA``),
    ``event`` (int32 event index in store order) and ``trace_name``.
    """
    import zarr

    group = zarr.open_group(str(store), mode="r")
    columns = {}
    for name in ("split", "source_id", "station_network_code", "station_code", "trace_name"):
        try:
            columns[name] = _strings(group[name])
        except KeyError:
            raise InputError(f"dataset store {store} has no '{name}' coordinate; rebuild it with seisembed dataset") from None
    split, source, names = columns["split"], columns["source_id"], columns["trace_name"]
    station = np.char.add(np.char.add(columns["station_network_code"], "."), columns["station_code"])
    change = np.ones(len(source), dtype=bool)
    change[1:] = source[1:] != source[:-1]
    event = (np.cumsum(change) - 1).astype(np.int32)
    if len(set(source[change])) != int(change.sum()):
        raise InputError(f"dataset store {store}: the records of an event are not contiguous; rebuild it with seisembed dataset")
    return {"split": split, "source_id": source, "station": station, "event": event, "trace_name": names}


class DirectReader:
    """Read whole traces of a local Zarr v3 ``waveform`` array with plain file reads.

    Zarr-python's generic path costs ~0.3-1.5 ms of Python per chunk; a triplet
    batch touches ~100 scattered chunks, which caps it near 1,000 windows/s on two
    cores. For the layouts this project writes (float32, a regular chunk grid of
    whole traces (full channel/sample extent), ``/``-separated default chunk keys,
    no storage transformers; codecs ``bytes`` (little endian) + optional
    ``blosc`` (any cname/shuffle), optionally inside ``sharding_indexed`` with a
    little-endian ``bytes`` + ``crc32c`` index at the end), this reader follows
    the Zarr v3 specification directly: chunk key ``c/<i>/0/0``, shard index =
    ``n_chunks`` little-endian ``(offset, nbytes)`` uint64 pairs + CRC32C at the
    end of the shard file (the CRC is not verified). Missing chunk files, and
    chunks marked empty (``2**64 - 1``) in a shard index, read as the fill value.
    :meth:`for_store` returns ``None`` for any other layout and callers fall
    back to zarr (results are identical; ``tests/unit/test_sampling_direct_reader.py``
    checks every layout). A damaged file raises :class:`InputError` naming it.
    """

    def __init__(self, folder: Path, shape: tuple[int, ...], chunk: int, shard: int | None, blosc: bool, fill: float):
        self.folder, self.shape, self.chunk, self.shard, self.blosc, self.fill = folder, shape, chunk, shard, blosc, fill
        self._chunk_bytes = chunk * int(np.prod(shape[1:])) * 4
        self._index: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _little_bytes(codec: dict) -> bool:
        """Whether ``codec`` is the ``bytes`` codec with little-endian order."""
        return codec.get("name") == "bytes" and (codec.get("configuration") or {}).get("endian", "little") == "little"

    @classmethod
    def _plain(cls, codecs: list) -> bool | None:
        """``True``/``False`` (blosc or not) for [bytes LE, (blosc)], else ``None``."""
        if not codecs or not cls._little_bytes(codecs[0]):
            return None
        rest = [c.get("name") for c in codecs[1:]]
        return True if rest == ["blosc"] else False if rest == [] else None

    @staticmethod
    def _fill(raw) -> float | None:
        """The fill value as a float (JSON ``null`` -> 0), ``None`` for encodings left to zarr (hex)."""
        try:
            return 0.0 if raw is None else float({"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}.get(raw, raw))
        except (TypeError, ValueError):
            return None

    @staticmethod
    def _whole_traces(meta: dict) -> bool:
        """Float32, 3-d, regular grid of whole traces, default ``/`` keys, no storage transformers."""
        shape = list(meta.get("shape", ()))
        grid = meta.get("chunk_grid", {})
        chunk_shape = list(grid.get("configuration", {}).get("chunk_shape", []))
        key = meta.get("chunk_key_encoding", {})
        return (meta.get("zarr_format") == 3 and meta.get("node_type", "array") == "array" and meta.get("data_type") == "float32"
                and len(shape) == 3 and grid.get("name") == "regular" and len(chunk_shape) == 3 and chunk_shape[1:] == shape[1:]
                and key.get("name") == "default" and (key.get("configuration") or {}).get("separator", "/") == "/"
                and not meta.get("storage_transformers"))

    @classmethod
    def for_store(cls, store: str | Path) -> "DirectReader | None":
        """A reader for ``<store>/waveform`` if its layout is one described above, else ``None``."""
        import json

        folder = Path(store) / "waveform"
        try:
            meta = json.loads((folder / "zarr.json").read_text())
        except (OSError, ValueError):
            return None
        fill = cls._fill(meta.get("fill_value"))
        if not isinstance(meta, dict) or not cls._whole_traces(meta) or fill is None:
            return None
        shape, grid = tuple(meta["shape"]), meta["chunk_grid"]["configuration"]["chunk_shape"]
        codecs = meta.get("codecs", [])
        if len(codecs) == 1 and codecs[0].get("name") == "sharding_indexed":
            conf = codecs[0].get("configuration", {})
            inner = list(conf.get("chunk_shape", []))
            index_codecs = conf.get("index_codecs", [])
            index_ok = len(index_codecs) == 2 and cls._little_bytes(index_codecs[0]) and index_codecs[1].get("name") == "crc32c"
            blosc = cls._plain(conf.get("codecs", []))
            if blosc is None or not index_ok or conf.get("index_location", "end") != "end" or len(inner) != 3 or inner[1:] != list(shape[1:]) or grid[0] % inner[0]:
                return None
            return cls(folder, shape, int(inner[0]), int(grid[0]), blosc, fill)
        blosc = cls._plain(codecs)
        return None if blosc is None else cls(folder, shape, int(grid[0]), None, blosc, fill)

    def _decode(self, data: bytes, path: Path) -> np.ndarray:
        """One chunk's bytes -> float32 ``(chunk, channels, samples)``; :class:`InputError` if damaged."""
        if self.blosc:
            from numcodecs import blosc as _blosc

            try:
                data = _blosc.decompress(data)
            except (RuntimeError, ValueError, TypeError) as exc:
                raise InputError(f"dataset store: chunk in {path} is not valid Blosc data ({exc}); rebuild the store") from exc
        if len(data) != self._chunk_bytes:
            raise InputError(f"dataset store: chunk in {path} holds {len(data)} bytes, expected {self._chunk_bytes}; rebuild the store")
        return np.frombuffer(data, dtype="<f4").reshape(self.chunk, *self.shape[1:])

    def _shard_index(self, shard: int, handle, path: Path) -> np.ndarray:
        """``(n_chunks, 2)`` offsets/sizes (bytes) of one shard (cached); checked against the file size."""
        with self._lock:
            index = self._index.get(shard)
        if index is None:
            n = self.shard // self.chunk
            size = n * 16 + 4
            file_size = handle.seek(0, 2)
            if file_size < size:
                raise InputError(f"dataset store: shard {path} is {file_size} bytes, too short for its {size}-byte index; rebuild the store")
            handle.seek(file_size - size)
            index = np.frombuffer(handle.read(size)[:-4], dtype="<u8").reshape(n, 2)
            stored = index[:, 0] != np.iinfo(np.uint64).max
            if (index[stored, 0] + index[stored, 1] > file_size - size).any():
                raise InputError(f"dataset store: shard {path} has an index pointing past its data; rebuild the store")
            with self._lock:
                self._index[shard] = index
        return index

    def _read_shard(self, handle, path: Path, file_id: int, rows: np.ndarray, traces: np.ndarray, out: np.ndarray) -> None:
        """Fill ``out[rows]`` with traces ``traces[rows]`` from the open shard ``file_id``."""
        index = self._shard_index(file_id, handle, path)
        chunks = traces[rows] // self.chunk
        first_chunk = file_id * (self.shard // self.chunk)
        for chunk_id in np.unique(chunks):
            here = rows[chunks == chunk_id]
            offset, nbytes = index[int(chunk_id - first_chunk)]
            if offset == np.iinfo(np.uint64).max:
                out[here] = self.fill
                continue
            handle.seek(int(offset))
            out[here] = self._decode(handle.read(int(nbytes)), path)[traces[here] - chunk_id * self.chunk]

    def read(self, traces: np.ndarray) -> np.ndarray:
        """Traces ``traces`` (int, any order, repeats allowed) as float32 ``(n, channels, samples)``."""
        traces = np.asarray(traces, dtype=np.int64)
        out = np.empty((len(traces), *self.shape[1:]), dtype=np.float32)
        if len(traces) and (traces.min() < 0 or traces.max() >= self.shape[0]):
            raise IndexError(f"trace index out of range 0..{self.shape[0] - 1}")
        outer = traces // (self.shard or self.chunk)
        for file_id in np.unique(outer):
            path = self.folder / "c" / str(int(file_id)) / "0" / "0"
            rows = np.flatnonzero(outer == file_id)
            try:
                handle = open(path, "rb")
            except FileNotFoundError:
                out[rows] = self.fill  # an empty chunk or shard is not written
                continue
            with handle:
                if self.shard is None:
                    out[rows] = self._decode(handle.read(), path)[traces[rows] - file_id * self.chunk]
                else:
                    self._read_shard(handle, path, int(file_id), rows, traces, out)
        return out


def read_traces(array, direct: "DirectReader | None", traces: np.ndarray) -> np.ndarray:
    """Traces (any order) via the direct reader when available, else zarr."""
    if direct is not None:
        return direct.read(traces)
    traces = np.asarray(traces, dtype=np.int64)
    order = np.argsort(traces)
    out = np.empty((len(traces), *array.shape[1:]), dtype=np.float32)
    out[order] = array.get_orthogonal_selection((traces[order], slice(None), slice(None)))
    return out


# --------------------------------------------------------------------------- preprocessing


def shift_records(x: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Shift each record of ``x`` ``(n, channels, samples)`` by ``shifts[i]`` samples, in place.

    ``x_out[t] = x_in[t - shift]``; samples shifted in are zero.
    """
    n_samples = x.shape[-1]
    for i, s in enumerate(np.asarray(shifts, dtype=np.int64)):
        if s > 0:
            x[i, :, s:] = x[i, :, : n_samples - s].copy()
            x[i, :, :s] = 0.0
        elif s < 0:
            x[i, :, : n_samples + s] = x[i, :, -s:].copy()
            x[i, :, n_samples + s :] = 0.0
    return x


def normalize(x: np.ndarray, normalization: str = "channel", demean: bool = True) -> np.ndarray:
    """Demean and peak-normalise ``x`` ``(n, channels, samples)`` in place (see module docstring)."""
    if normalization not in NORMALIZATIONS:
        raise ConfigError(f"config key 'sampling.normalization': {normalization!r} is not one of {', '.join(NORMALIZATIONS)}")
    if demean:
        x -= x.mean(axis=-1, keepdims=True, dtype=np.float64).astype(np.float32)
    if normalization != "none":
        axes = (-1,) if normalization == "channel" else (-2, -1)
        peak = np.abs(x).max(axis=axes, keepdims=True)
        x /= np.where(peak > 0, peak, 1.0)
    return x


def _channels_last(x: np.ndarray) -> np.ndarray:
    """``(n, channels, samples)`` -> contiguous ``(n, samples, channels)``."""
    return np.ascontiguousarray(x.transpose(0, 2, 1))


# --------------------------------------------------------------------------- read-ahead


class _ReadAhead:
    """Compute ``func(key)`` for upcoming keys on background threads; hand results out in any order.

    ``get(key, upcoming)`` returns the result for ``key`` (waiting for it if it is
    being read, computing it here otherwise) and schedules up to ``depth`` of
    ``upcoming`` keys. ``depth = 0`` reads on demand.
    """

    def __init__(self, func: Callable, depth: int = 2, threads: int = 2):
        self.func = func
        self.depth = depth
        self.pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="seisembed-read") if depth > 0 else None
        self.pending: dict = {}
        self.lock = threading.Lock()

    def get(self, key, upcoming=()):
        """The result for ``key``; schedules reading of the next ``depth`` ``upcoming`` keys."""
        with self.lock:
            future: Future | None = self.pending.pop(key, None)
            if self.pool is not None:
                for nxt in list(upcoming)[: self.depth]:
                    if nxt not in self.pending and nxt != key:
                        self.pending[nxt] = self.pool.submit(self.func, nxt)
                while len(self.pending) > 2 * self.depth:  # forget stale read-ahead (random access)
                    self.pending.pop(next(iter(self.pending))).cancel()
        return future.result() if future is not None else self.func(key)

    def close(self) -> None:
        """Stop the threads (pending reads are cancelled); later ``get`` calls read on demand."""
        with self.lock:
            for future in self.pending.values():
                future.cancel()
            self.pending.clear()
            pool, self.pool = self.pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- triplet sampler


class TripletSampler:
    """Batches of L events x K records (distinct stations) from one split of a dataset store.

    Parameters
    ----------
    store:
        Path of ``waveforms.zarr``.
    split:
        ``train``, ``val`` or ``test``.
    events_per_batch, records_per_event:
        L and K. Events with fewer than K distinct stations are skipped (counted
        in :attr:`n_skipped_events`).
    seed:
        Master seed; batch ``i`` of epoch ``e`` depends only on ``(seed, e, i)``.
    max_shift_samples:
        Largest random time shift (samples, at the store's sampling rate); 0: none.
    normalization, demean:
        See :func:`normalize`.
    prefetch:
        Batches read ahead by background threads (0: none).
    threads:
        Reader threads.
    batches_per_epoch:
        Default: eligible events // L (each event at most once per epoch).
    direct:
        Use :class:`DirectReader` when the store layout allows (else zarr).
    """

    def __init__(self, store: str | Path, split: str = "train", events_per_batch: int = 10, records_per_event: int = 10, seed: int = 0, max_shift_samples: int = 0,
                 normalization: str = "channel", demean: bool = True, prefetch: int = 2, threads: int = 2, batches_per_epoch: int | None = None, direct: bool = True):
        if split not in SPLITS:
            raise ConfigError(f"split {split!r} is not one of {', '.join(SPLITS)}")
        if normalization not in NORMALIZATIONS:
            raise ConfigError(f"config key 'sampling.normalization': {normalization!r} is not one of {', '.join(NORMALIZATIONS)}")
        if events_per_batch < 2 or records_per_event < 2:
            raise ConfigError(f"config keys 'sampling.events_per_batch'/'records_per_event' must be >= 2 (got {events_per_batch}/{records_per_event})")
        self.store = Path(store)
        self.split = split
        self.L, self.K = int(events_per_batch), int(records_per_event)
        self.seed = int(seed)
        self.normalization, self.demean = normalization, bool(demean)
        self.array = open_waveforms(store)
        self.direct = DirectReader.for_store(store) if direct else None
        self.n_samples = int(self.array.shape[-1])
        self.max_shift = int(max_shift_samples)
        if not 0 <= self.max_shift < self.n_samples:
            raise ConfigError(f"config key 'sampling.max_shift_s': a shift of {self.max_shift} samples does not fit a {self.n_samples}-sample window")
        self._build_index(read_index(store))
        eligible = len(self.events)
        if eligible < self.L:
            raise InputError(f"split '{split}' of {store} has {eligible} events with >= {self.K} distinct stations; a batch needs {self.L} (lower sampling.events_per_batch/records_per_event)")
        self.batches_per_epoch = int(batches_per_epoch) if batches_per_epoch else eligible // self.L
        self._reader = _ReadAhead(self._read_batch, depth=int(prefetch), threads=threads)
        self._epoch = 0

    @classmethod
    def from_config(cls, store: str | Path, config: dict, split: str = "train", **overrides) -> "TripletSampler":
        """A sampler from the config sections (``config["sampling"]``, ``config["seed"]``)."""
        import zarr

        section = dict(config.get("sampling", {}))
        rate = float(zarr.open_group(str(store), mode="r").attrs["sampling_rate_hz"])
        kwargs = {
            "events_per_batch": section.get("events_per_batch", 10),
            "records_per_event": section.get("records_per_event", 10),
            "seed": config.get("seed", 0),
            "max_shift_samples": int(round(float(section.get("max_shift_s", 0.0)) * rate)),
            "normalization": section.get("normalization", "channel"),
            "demean": section.get("demean", True),
            "prefetch": section.get("prefetch_batches", 2),
            "batches_per_epoch": section.get("batches_per_epoch"),
        }
        kwargs.update(overrides)
        return cls(store, split=split, **kwargs)

    def _build_index(self, index: dict[str, np.ndarray]) -> None:
        """Per eligible event: its label and, per distinct station, the trace indices."""
        in_split = np.flatnonzero(index["split"] == self.split)
        if not len(in_split):
            raise InputError(f"split '{self.split}' of {self.store} holds no records")
        events, skipped = [], 0
        ev = index["event"][in_split]
        bounds = np.flatnonzero(np.diff(ev)) + 1
        for run in np.split(in_split, bounds):
            stations = index["station"][run]
            uniq, first = np.unique(stations, return_index=True)
            if len(uniq) < self.K:
                skipped += 1
                continue
            groups = [run[stations == s] for s in uniq]
            events.append((int(index["event"][run[0]]), groups))
        self.events = events
        self.n_skipped_events = skipped
        if skipped:
            log.info("split %s: %d events have fewer than K=%d distinct stations and are not sampled", self.split, skipped, self.K)

    def __len__(self) -> int:
        """Batches per epoch."""
        return self.batches_per_epoch

    @property
    def batch_shape(self) -> tuple[int, int, int]:
        """Shape of ``x``: ``(L*K, n_samples, 3)``."""
        return (self.L * self.K, self.n_samples, 3)

    def _batch_events(self, epoch: int, index: int) -> np.ndarray:
        """Positions (in :attr:`events`) of the L distinct events of batch ``index`` of ``epoch``.

        Each round is a seeded permutation of the eligible events cut into
        ``eligible // L`` batches (the remainder waits for another round), so a
        batch never straddles two rounds and never holds an event twice, even
        when ``batches_per_epoch`` asks for more batches than one round gives.
        """
        per_round = len(self.events) // self.L
        round_, pos = divmod(index, per_round)
        order = np.random.default_rng([self.seed, STREAM_SAMPLER, epoch, round_]).permutation(len(self.events))
        return order[pos * self.L : (pos + 1) * self.L]

    def plan(self, epoch: int, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Trace indices, labels and shifts (samples) of batch ``index`` of ``epoch`` (no reading)."""
        if not 0 <= index < self.batches_per_epoch:
            raise IndexError(f"batch {index} out of range (0..{self.batches_per_epoch - 1})")
        rng = np.random.default_rng([self.seed, STREAM_SAMPLER, epoch, index, 1])
        traces, labels = [], []
        for pos in self._batch_events(epoch, index):
            label, groups = self.events[pos]
            for g in rng.choice(len(groups), size=self.K, replace=False):
                group = groups[g]
                traces.append(group[rng.integers(len(group))] if len(group) > 1 else group[0])
                labels.append(label)
        shifts = rng.integers(-self.max_shift, self.max_shift + 1, size=len(traces)) if self.max_shift else np.zeros(len(traces), dtype=np.int64)
        return np.asarray(traces, dtype=np.int64), np.asarray(labels, dtype=np.int32), shifts

    def _read_batch(self, key: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Read and preprocess one batch (runs on a reader thread)."""
        traces, labels, shifts = self.plan(*key)
        raw = read_traces(self.array, self.direct, traces)
        if self.max_shift:
            shift_records(raw, shifts)
        normalize(raw, self.normalization, self.demean)
        return _channels_last(raw), labels

    def batch(self, epoch: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch ``index`` of ``epoch``: ``x`` float32 ``(L*K, n_samples, 3)``, ``y`` int32 ``(L*K,)``."""
        depth = self._reader.depth
        upcoming = [(epoch, i) for i in range(index + 1, min(index + 1 + depth, self.batches_per_epoch))]
        upcoming += [(epoch + 1, i) for i in range(depth - len(upcoming))]  # run on into the next epoch
        return self._reader.get((epoch, index), upcoming)

    def epoch(self, epoch: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The batches of one epoch, in order, read ahead."""
        for index in range(self.batches_per_epoch):
            yield self.batch(epoch, index)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The next epoch's batches (epochs count up from 0 with each iteration)."""
        epoch, self._epoch = self._epoch, self._epoch + 1
        return self.epoch(epoch)

    def close(self) -> None:
        """Stop the reader threads."""
        self._reader.close()

    def __enter__(self) -> "TripletSampler":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----------------------------------------------------------------------- adapters

    def as_keras_dataset(self, **kwargs):
        """A ``keras.utils.PyDataset`` over this sampler (imports Keras).

        Batch ``i`` of Keras' epoch ``e`` is :meth:`batch` ``(e, i)``. Keep Keras'
        own ``workers`` at 1: the sampler already reads ahead. ``kwargs`` go to
        ``PyDataset.__init__``.
        """
        import keras

        sampler = self

        class TripletPyDataset(keras.utils.PyDataset):
            """L x K triplet batches from a seisembed dataset store."""

            def __init__(self):
                super().__init__(**kwargs)
                self.current_epoch = 0

            def __len__(self) -> int:
                return len(sampler)

            def __getitem__(self, index: int):
                return sampler.batch(self.current_epoch, int(index))

            def on_epoch_end(self) -> None:
                self.current_epoch += 1

        return TripletPyDataset()

    def as_tf_dataset(self, epochs: int | None = None):
        """A ``tf.data.Dataset`` of ``(x, y)`` batches over ``epochs`` epochs (None: endless); imports TensorFlow."""
        import tensorflow as tf

        def generate():
            epoch = 0
            while epochs is None or epoch < epochs:
                yield from self.epoch(epoch)
                epoch += 1

        signature = (tf.TensorSpec(self.batch_shape, tf.float32), tf.TensorSpec((self.L * self.K,), tf.int32))
        return tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(1)


# --------------------------------------------------------------------------- plain iterator


def iter_split(store: str | Path, split: str, batch_size: int = 256, normalization: str = "channel", demean: bool = True, prefetch: int = 2, threads: int = 2) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every record of ``split`` in store order: yields ``(x, trace_index)`` batches.

    ``x``: float32 ``(n, n_samples, 3)`` normalised like the sampler (no shift);
    ``trace_index``: int64 positions in the store (use them to look up
    ``trace_name`` and the other coordinates).
    """
    if split not in SPLITS:
        raise ConfigError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    array = open_waveforms(store)
    direct = DirectReader.for_store(store)
    positions = np.flatnonzero(read_index(store)["split"] == split)
    if not len(positions):
        log.warning("split '%s' of %s holds no records: nothing to iterate", split, store)
    batches = [positions[i : i + batch_size] for i in range(0, len(positions), batch_size)]

    def read(i: int) -> tuple[np.ndarray, np.ndarray]:
        idx = batches[i]
        raw = read_traces(array, direct, idx)
        return _channels_last(normalize(raw, normalization, demean)), idx

    reader = _ReadAhead(read, depth=prefetch, threads=threads)
    try:
        for i in range(len(batches)):
            yield reader.get(i, range(i + 1, min(i + 1 + prefetch, len(batches))))
    finally:
        reader.close()
