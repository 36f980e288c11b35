"""The triplet sampler: one split, K distinct stations per event, determinism, shapes, normalisation."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import zarr

from seisembed.config import default_config, validate_config
from seisembed.dataset.build import build_dataset
from seisembed.dataset.store import read_index, read_traces
from seisembed.dataset.testing import synthetic_metadata, write_partitions
from seisembed.errors import InputError
from seisembed.train.sampler import TripletSampler, iter_split, normalize, shift_records

RATE, BEFORE, AFTER = 10.0, 3.0, 7.0
N_SAMPLES = int(RATE * (BEFORE + AFTER))


def _config(**dataset) -> dict:
    from seisembed.config import default_config

    config = default_config()
    config["waveforms"].update(sampling_rate_hz=RATE, window_before_s=BEFORE, window_after_s=AFTER)
    config["dataset"]["held_out_stations"]["count"] = 3
    config["dataset"]["months"]["search_tries"] = 50
    config["dataset"]["min_records_per_event"] = {"train": 4, "val": 2, "test": 1}
    config["dataset"].update(dataset)
    return config


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("waveforms")
    meta = synthetic_metadata(
        150, n_stations=30, records_per_event=(5, 18), seed=9, box_events=4, rate_hz=RATE, before_s=BEFORE
    )
    write_partitions(root, meta, seed=9, n_samples=N_SAMPLES)
    return build_dataset(root, tmp_path_factory.mktemp("ds") / "waveforms.zarr", _config(shard_traces=16)).store


@pytest.fixture(scope="module")
def index(store):
    return read_index(store)


def test_batch_shapes_and_types(store):
    with TripletSampler(store, "train", events_per_batch=4, records_per_event=4, seed=1) as sampler:
        x, y = sampler.batch(0, 0)
        assert x.shape == (16, N_SAMPLES, 3) == sampler.batch_shape and x.dtype == np.float32 and x.flags.c_contiguous
        assert y.shape == (16,) and y.dtype == np.int32
        assert len(np.unique(y)) == 4 and (np.bincount(np.unique(y, return_inverse=True)[1]) == 4).all()


def test_records_of_an_event_come_from_distinct_stations_and_one_split(store, index):
    with TripletSampler(store, "train", events_per_batch=4, records_per_event=4, seed=2, prefetch=0) as sampler:
        for i in range(len(sampler)):
            traces, labels, _ = sampler.plan(0, i)
            assert set(index["split"][traces]) == {"train"}
            for label in np.unique(labels):
                rows = traces[labels == label]
                assert len(set(index["station"][rows])) == 4
                assert (index["event"][rows] == label).all()
                assert len(set(index["source_id"][rows])) == 1


def test_epoch_visits_each_event_at_most_once(store):
    with TripletSampler(store, "train", events_per_batch=4, records_per_event=4, seed=3, prefetch=0) as sampler:
        labels = np.concatenate([sampler.plan(0, i)[1][::4] for i in range(len(sampler))])
        assert len(labels) == len(set(labels.tolist())) == len(sampler) * 4


def test_same_seed_same_batches_other_seed_other(store):
    a = TripletSampler(store, "train", events_per_batch=4, records_per_event=4, seed=5, prefetch=2)
    b = TripletSampler(store, "train", events_per_batch=4, records_per_event=4, seed=5, prefetch=0)
    c = TripletSampler(store, "train", events_per_batch=4, records_per_event=4, seed=6, prefetch=0)
    try:
        first = [a.batch(0, i) for i in range(3)]
        for i in (2, 0, 1):  # order does not matter
            np.testing.assert_array_equal(b.batch(0, i)[0], first[i][0])
            np.testing.assert_array_equal(b.batch(0, i)[1], first[i][1])
        assert not np.array_equal(c.batch(0, 0)[1], first[0][1])
        assert not np.array_equal(a.batch(1, 0)[1], first[0][1])  # a new epoch reshuffles
    finally:
        a.close(), b.close(), c.close()


def test_val_and_test_splits_are_sampled_separately(store, index):
    for split in ("val", "test"):
        with TripletSampler(store, split, events_per_batch=2, records_per_event=2, seed=1, prefetch=0) as sampler:
            traces, _, _ = sampler.plan(0, 0)
            assert set(index["split"][traces]) == {split}


def test_normalisation_per_channel(store):
    with TripletSampler(store, "train", events_per_batch=2, records_per_event=3, seed=1, prefetch=0) as sampler:
        x, _ = sampler.batch(0, 0)
    np.testing.assert_allclose(np.abs(x).max(axis=1), 1.0, rtol=1e-6)
    raw = np.random.default_rng(0).normal(5, 2, (2, 3, 50)).astype(np.float32)
    out = normalize(raw.copy(), "channel", demean=True)
    np.testing.assert_allclose(out.mean(axis=-1), 0, atol=0.05)
    np.testing.assert_allclose(np.abs(out).max(axis=-1), 1, rtol=1e-6)
    trace = normalize(raw.copy(), "trace", demean=False)
    np.testing.assert_allclose(np.abs(trace).max(axis=(1, 2)), 1, rtol=1e-6)
    np.testing.assert_array_equal(normalize(raw.copy(), "none", demean=False), raw)
    zero = normalize(np.zeros((1, 3, 10), np.float32))
    assert np.isfinite(zero).all() and not zero.any()


def test_time_shift(store):
    x = np.arange(2 * 1 * 10, dtype=np.float32).reshape(2, 1, 10) + 1
    out = shift_records(x.copy(), np.array([3, -2]))
    np.testing.assert_array_equal(out[0, 0], [0, 0, 0, 1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(out[1, 0], [13, 14, 15, 16, 17, 18, 19, 20, 0, 0])
    with TripletSampler(
        store, "train", events_per_batch=2, records_per_event=3, seed=1, prefetch=0, max_shift_samples=20
    ) as sampler:
        _, _, shifts = sampler.plan(0, 0)
        assert np.abs(shifts).max() <= 20 and shifts.any()


def test_from_config_converts_seconds(store):
    config = {
        "seed": 4,
        "sampling": {"events_per_batch": 2, "records_per_event": 2, "max_shift_s": 1.5, "prefetch_batches": 0},
    }
    with TripletSampler.from_config(store, config) as sampler:
        assert sampler.max_shift == 15 and sampler.seed == 4 and sampler.L == 2


def test_read_traces_any_order_with_repeats(store):
    array = zarr.open_group(str(store), mode="r")["waveform"]
    traces = np.array([5, 0, 31, 17, array.shape[0] - 1, 16, 5])
    whole = array[:]
    np.testing.assert_array_equal(read_traces(array, traces), whole[traces])
    np.testing.assert_array_equal(read_traces(whole, traces), whole[traces])
    with pytest.raises(IndexError):
        read_traces(array, np.array([array.shape[0]]))


def test_iter_split_in_store_order(store, index):
    seen = np.concatenate([idx for _, idx in iter_split(store, "test", batch_size=7)])
    np.testing.assert_array_equal(seen, np.flatnonzero(index["split"] == "test"))
    x, idx = next(iter_split(store, "val", batch_size=5))
    assert x.shape == (5, N_SAMPLES, 3)


def test_sampler_does_not_import_tensorflow_or_keras(store):
    code = f"import sys; from seisembed.train.sampler import TripletSampler; s = TripletSampler({str(store)!r}, 'train', 2, 2); s.batch(0, 0); s.close(); print('keras' in sys.modules or 'tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.slow
def test_keras_and_tf_adapters(store):
    pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    with TripletSampler(store, "train", events_per_batch=2, records_per_event=2, seed=1) as sampler:
        data = sampler.as_keras_dataset()
        x, y = data[0]
        np.testing.assert_array_equal(x, sampler.batch(0, 0)[0])
        assert len(data) == len(sampler)
        data.on_epoch_end()
        np.testing.assert_array_equal(data[0][1], sampler.batch(1, 0)[1])
        batches = list(sampler.as_tf_dataset(epochs=1))
        assert len(batches) == len(sampler) and tuple(batches[0][0].shape) == sampler.batch_shape


def test_long_epochs_never_repeat_an_event_within_a_batch(store):
    with TripletSampler(store, "train", events_per_batch=2, records_per_event=4, seed=7, prefetch=0) as probe:
        eligible = len(probe.events)
    L = next(n for n in (3, 4, 5, 6, 7) if eligible % n)  # a round's events do not fill whole batches
    with TripletSampler(store, "train", events_per_batch=L, records_per_event=4, seed=7, prefetch=0) as short:
        per_round = len(short)
    with TripletSampler(
        store,
        "train",
        events_per_batch=L,
        records_per_event=4,
        seed=7,
        prefetch=0,
        batches_per_epoch=30 * per_round + 1,
    ) as sampler:
        assert per_round >= 2
        for i in range(len(sampler)):
            _, labels, _ = sampler.plan(0, i)
            assert (
                len(np.unique(labels)) == L and (np.bincount(np.unique(labels, return_inverse=True)[1]) == 4).all()
            ), i
        first_round = np.concatenate([sampler.plan(0, i)[1][::4] for i in range(per_round)])
        assert len(set(first_round.tolist())) == len(first_round)  # each event once per round
        np.testing.assert_array_equal(sampler.plan(0, 1)[0], short.plan(0, 1)[0])  # default epochs unchanged


def test_memory_cache_and_store_reads_give_identical_batches(store):
    with (
        TripletSampler(store, "train", 3, 3, seed=8, max_shift_samples=5, prefetch=1, cache="memory") as fast,
        TripletSampler(store, "train", 3, 3, seed=8, max_shift_samples=5, prefetch=0, cache="none") as slow,
    ):
        assert fast.cache == "memory" and slow.cache == "none"
        for i in range(len(fast)):
            for a, b in zip(fast.batch(0, i), slow.batch(0, i)):
                np.testing.assert_array_equal(a, b)


def test_store_without_a_coordinate_is_an_input_error(tmp_path, store):
    broken = tmp_path / "broken.zarr"
    shutil.copytree(store, broken)
    shutil.rmtree(broken / "station_code")
    meta = json.loads((broken / "zarr.json").read_text())
    meta.get("consolidated_metadata", {}).get("metadata", {}).pop("station_code", None)
    (broken / "zarr.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="station_code"):
        TripletSampler(broken, "train", 2, 2)


def test_closed_sampler_stops_its_threads_and_still_reads(store):
    sampler = TripletSampler(store, "train", 2, 2, seed=1, prefetch=2, threads=2)
    x, _ = sampler.batch(0, 0)
    workers = list(sampler._reader.pool._threads)
    assert workers
    sampler.close()
    assert not any(t.is_alive() for t in workers)
    np.testing.assert_array_equal(sampler.batch(0, 0)[0], x)  # on demand, no pool


# -- moved from test_foundation.py (schema defaults, bad input)
def test_sampler_library_defaults_are_the_schema_defaults(tmp_path):
    from seisembed.dataset.build import build_dataset
    from seisembed.dataset.testing import synthetic_metadata, write_partitions
    from seisembed.train.sampler import TripletSampler

    meta = synthetic_metadata(
        60, n_stations=30, records_per_event=(10, 14), seed=2, box_events=3, rate_hz=10.0, before_s=2.0
    )
    write_partitions(tmp_path / "wf", meta, seed=2, n_samples=80)
    config = validate_config(
        {
            "dataset": {"held_out_stations": {"count": 2}, "min_records_per_event": {"train": 10}},
            "waveforms": {"sampling_rate_hz": 10.0, "window_before_s": 2.0, "window_after_s": 6.0},
        }
    )
    store = build_dataset(tmp_path / "wf", tmp_path / "w.zarr", config).store
    with TripletSampler(store, "train") as plain, TripletSampler.from_config(store, {}) as configured:
        assert (plain.L, plain.K, plain.cache, plain._reader.depth) == (configured.L, configured.K, "none", 2)
        assert (
            default_config()["sampling"]["events_per_batch"],
            default_config()["sampling"]["records_per_event"],
        ) == (plain.L, plain.K)
