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

Reading: the store keeps each event's records contiguous in small chunks of
whole traces (see :mod:`seisembed.dataset.build`), so a batch is one zarr-python
orthogonal selection of L*K traces touching about one chunk per event. A small
pool of background threads reads the next ``prefetch`` batches while the caller
trains on the current one (Blosc decoding and NumPy release the GIL). With
``cache="memory"`` (config ``sampling.cache``, as SeisBench's
``preload_waveforms``) the split's traces are read once into memory and batches
are gathered from there (the split's float32 size in RAM: 86 kB per record).

Adapters: :meth:`TripletSampler.as_keras_dataset` (a ``keras.utils.PyDataset``)
and :meth:`TripletSampler.as_tf_dataset` (a ``tf.data.Dataset``); Keras and
TensorFlow are imported only inside them. :func:`iter_split` reads one split in
store order (for embedding), normalised the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from seisembed.columns import SPLITS
from seisembed.config import section as config_section
from seisembed.dataset.store import channels_last, open_waveforms, read_index, read_traces, store_attributes
from seisembed.errors import ConfigError, InputError
from seisembed.streams import Stream

__all__ = ["TripletSampler", "iter_split", "normalize", "shift_records"]

log = logging.getLogger(__name__)

NORMALIZATIONS = ("channel", "trace", "none")
CACHES = ("none", "memory")


class _Cached:
    """The traces ``[lo, hi)`` of a Zarr array held in memory, indexed by store position."""

    def __init__(self, array, lo: int, hi: int):
        self.lo, self.hi = int(lo), int(hi)
        self.data = np.asarray(array[self.lo : self.hi], dtype=np.float32)
        self.shape = array.shape

    def read(self, traces: np.ndarray) -> np.ndarray:
        traces = np.asarray(traces, dtype=np.int64)
        if len(traces) and (traces.min() < self.lo or traces.max() >= self.hi):
            raise IndexError(f"trace index outside the cached range {self.lo}..{self.hi - 1}")
        return self.data[traces - self.lo]


def _source(array, positions: np.ndarray, cache: str):
    """What batches read from: the Zarr array (``cache='none'``) or ``positions``' span in memory."""
    if cache == "none" or not len(positions):
        return array
    lo, hi = int(positions.min()), int(positions.max()) + 1
    started = time.monotonic()
    cached = _Cached(array, lo, hi)
    log.info(
        "cached %d traces (%.0f MB) in memory in %.1f s", hi - lo, cached.data.nbytes / 1e6, time.monotonic() - started
    )
    return cached


def _read(source, traces: np.ndarray) -> np.ndarray:
    return source.read(traces) if isinstance(source, _Cached) else read_traces(source, traces)


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
    """Demean and peak-normalise ``x`` ``(n, channels, samples)`` in place (see module docstring).

    The mean is a float32 pairwise sum (relative error ~1e-7); the peak is
    ``max(max, -min)`` (no temporary ``abs`` array).
    """
    if normalization not in NORMALIZATIONS:
        raise ConfigError(
            f"config key 'sampling.normalization': {normalization!r} is not one of {', '.join(NORMALIZATIONS)}"
        )
    if demean:
        x -= x.mean(axis=-1, keepdims=True)
    if normalization != "none":
        axes = (-1,) if normalization == "channel" else (-2, -1)
        peak = np.maximum(x.max(axis=axes, keepdims=True), -x.min(axis=axes, keepdims=True))
        x /= np.where(peak > 0, peak, np.float32(1.0))
    return x


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
        self.pool = (
            ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="seisembed-read") if depth > 0 else None
        )
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
    cache:
        ``"none"``: read every batch from the store; ``"memory"``: read the split
        once into memory first.
    exclude:
        Store positions never sampled (the windows training skips with
        ``train.bad_windows: skip``); an event left with fewer than K stations is
        skipped like any other.

    Notes
    -----
    Library defaults of L, K, shift, normalisation and read-ahead are the config
    schema's (``sampling`` section); :meth:`from_config` builds a sampler from a
    config as the workflow does.
    """

    def __init__(
        self,
        store: str | Path,
        split: str = "train",
        events_per_batch: int | None = None,
        records_per_event: int | None = None,
        seed: int = 0,
        max_shift_samples: int = 0,
        normalization: str | None = None,
        demean: bool | None = None,
        prefetch: int | None = None,
        threads: int = 2,
        batches_per_epoch: int | None = None,
        cache: str | None = None,
        exclude: np.ndarray | None = None,
    ):
        defaults = config_section("sampling")
        events_per_batch = defaults["events_per_batch"] if events_per_batch is None else events_per_batch
        records_per_event = defaults["records_per_event"] if records_per_event is None else records_per_event
        normalization = defaults["normalization"] if normalization is None else normalization
        demean = defaults["demean"] if demean is None else demean
        prefetch = defaults["prefetch_batches"] if prefetch is None else prefetch
        cache = defaults["cache"] if cache is None else cache
        if cache not in CACHES:
            raise ConfigError(f"config key 'sampling.cache': {cache!r} is not one of {', '.join(CACHES)}")
        if split not in SPLITS:
            raise ConfigError(f"split {split!r} is not one of {', '.join(SPLITS)}")
        if normalization not in NORMALIZATIONS:
            raise ConfigError(
                f"config key 'sampling.normalization': {normalization!r} is not one of {', '.join(NORMALIZATIONS)}"
            )
        if events_per_batch < 2 or records_per_event < 2:
            raise ConfigError(
                f"config keys 'sampling.events_per_batch'/'records_per_event' must be >= 2 (got {events_per_batch}/{records_per_event})"
            )
        self.store = Path(store)
        self.split = split
        self.L, self.K = int(events_per_batch), int(records_per_event)
        self.seed = int(seed)
        self.normalization, self.demean = normalization, bool(demean)
        self.array = open_waveforms(store)
        self.n_samples = int(self.array.shape[-1])
        self.max_shift = int(max_shift_samples)
        if not 0 <= self.max_shift < self.n_samples:
            raise ConfigError(
                f"config key 'sampling.max_shift_s': a shift of {self.max_shift} samples does not fit a {self.n_samples}-sample window"
            )
        self._exclude = np.asarray([] if exclude is None else exclude, dtype=np.int64)
        self._build_index(read_index(store))
        eligible = len(self.events)
        if eligible < self.L:
            raise InputError(
                f"split '{split}' of {store} has {eligible} events with >= {self.K} distinct stations; a batch needs {self.L} (lower sampling.events_per_batch/records_per_event)"
            )
        self.batches_per_epoch = int(batches_per_epoch) if batches_per_epoch else eligible // self.L
        self.cache = cache
        self._source = _source(self.array, self._positions, cache)
        self._reader = _ReadAhead(self._read_batch, depth=int(prefetch), threads=threads)
        self._epoch = 0

    @classmethod
    def from_config(cls, store: str | Path, config: dict, split: str = "train", **overrides) -> TripletSampler:
        """A sampler from a config (its ``sampling`` section and ``seed``; schema defaults fill the rest)."""

        from seisembed.config import validate_config

        config = validate_config(config)
        section = config["sampling"]
        rate = float(store_attributes(store)["sampling_rate_hz"])
        kwargs = {
            "events_per_batch": section["events_per_batch"],
            "records_per_event": section["records_per_event"],
            "seed": config["seed"],
            "max_shift_samples": int(round(section["max_shift_s"] * rate)),
            "normalization": section["normalization"],
            "demean": section["demean"],
            "prefetch": section["prefetch_batches"],
            "batches_per_epoch": section["batches_per_epoch"],
            "cache": section["cache"],
        }
        kwargs.update(overrides)
        return cls(store, split=split, **kwargs)

    def _build_index(self, index: dict[str, np.ndarray]) -> None:
        """Per eligible event: its label and, per distinct station, the trace indices."""
        in_split = np.flatnonzero(index["split"] == self.split)
        if not len(in_split):
            raise InputError(f"split '{self.split}' of {self.store} holds no records")
        if len(self._exclude):
            in_split = in_split[~np.isin(in_split, self._exclude)]
            if not len(in_split):
                raise InputError(f"split '{self.split}' of {self.store} holds no records besides the excluded ones")
        self._positions = in_split
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
            log.info(
                "split %s: %d events have fewer than K=%d distinct stations and are not sampled",
                self.split,
                skipped,
                self.K,
            )

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
        order = np.random.default_rng([self.seed, Stream.SAMPLER, epoch, round_]).permutation(len(self.events))
        return order[pos * self.L : (pos + 1) * self.L]

    def plan(self, epoch: int, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Trace indices, labels and shifts (samples) of batch ``index`` of ``epoch`` (no reading)."""
        if not 0 <= index < self.batches_per_epoch:
            raise IndexError(f"batch {index} out of range (0..{self.batches_per_epoch - 1})")
        rng = np.random.default_rng([self.seed, Stream.SAMPLER, epoch, index, 1])
        traces, labels = [], []
        for pos in self._batch_events(epoch, index):
            label, groups = self.events[pos]
            for g in rng.choice(len(groups), size=self.K, replace=False):
                group = groups[g]
                traces.append(group[rng.integers(len(group))] if len(group) > 1 else group[0])
                labels.append(label)
        shifts = (
            rng.integers(-self.max_shift, self.max_shift + 1, size=len(traces))
            if self.max_shift
            else np.zeros(len(traces), dtype=np.int64)
        )
        return np.asarray(traces, dtype=np.int64), np.asarray(labels, dtype=np.int32), shifts

    def _read_batch(self, key: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Read and preprocess one batch (runs on a reader thread)."""
        traces, labels, shifts = self.plan(*key)
        raw = _read(self._source, traces)
        if self.max_shift:
            shift_records(raw, shifts)
        normalize(raw, self.normalization, self.demean)
        return channels_last(raw), labels

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

    def __enter__(self) -> TripletSampler:
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


def iter_split(
    store: str | Path,
    split: str,
    batch_size: int = 256,
    normalization: str = "channel",
    demean: bool = True,
    prefetch: int = 2,
    threads: int = 2,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every record of ``split`` in store order: yields ``(x, trace_index)`` batches.

    ``x``: float32 ``(n, n_samples, 3)`` normalised like the sampler (no shift);
    ``trace_index``: int64 positions in the store (use them to look up
    ``trace_name`` and the other coordinates).
    """
    if split not in SPLITS:
        raise ConfigError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    array = open_waveforms(store)
    positions = np.flatnonzero(read_index(store)["split"] == split)
    if not len(positions):
        log.warning("split '%s' of %s holds no records: nothing to iterate", split, store)
    batches = [positions[i : i + batch_size] for i in range(0, len(positions), batch_size)]

    def read(i: int) -> tuple[np.ndarray, np.ndarray]:
        idx = batches[i]
        raw = read_traces(array, idx)
        return channels_last(normalize(raw, normalization, demean)), idx

    reader = _ReadAhead(read, depth=prefetch, threads=threads)
    try:
        for i in range(len(batches)):
            yield reader.get(i, range(i + 1, min(i + 1 + prefetch, len(batches))))
    finally:
        reader.close()
