"""Training data faults named as data faults (issue 20, item 4).

NaN/inf and all-zero windows counted at build time (dataset card) and at training start
(model card), refused or skipped by ``train.bad_windows``; a val split that cannot be
scored stopped before the first epoch; a resume fingerprint that covers the store's
content; atomic Keras saves that leave no temporary; ``--out-dir`` naming a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seisembed.config import validate_config
from seisembed.errors import InputError

N_SAMPLES = 800  # 20 s at 40 Hz, as tests/unit/train/test_train.py


# -- a tiny store (the recipe of tests/unit/train/test_train.py) ----------------------------------------
def _tiny_config() -> dict:
    return validate_config(
        {
            "waveforms": {"sampling_rate_hz": 40.0, "window_before_s": 5.0, "window_after_s": 15.0},
            "dataset": {
                "held_out_stations": {"count": 2},
                "min_records_per_event": {"train": 3, "val": 3},
                "months": {"search_tries": 50},
            },
        }
    )


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory) -> Path:
    from seisembed.dataset.build import build_dataset
    from seisembed.dataset.testing import synthetic_metadata, write_partitions

    root = tmp_path_factory.mktemp("faults-wf")
    meta = synthetic_metadata(
        90, n_stations=24, records_per_event=(5, 9), seed=4, box_events=3, rate_hz=40.0, before_s=5.0
    )
    write_partitions(root, meta, seed=4, n_samples=N_SAMPLES)
    return build_dataset(root, tmp_path_factory.mktemp("faults-ds") / "waveforms.zarr", _tiny_config()).store


@pytest.fixture
def store(tiny_store, tmp_path) -> Path:
    """A private copy of the tiny store (tests damage it)."""
    return Path(shutil.copytree(tiny_store, tmp_path / "waveforms.zarr"))


def train_config(**train) -> dict:
    return validate_config(
        {
            "seed": 3,
            "sampling": {"events_per_batch": 4, "records_per_event": 3, "prefetch_batches": 1},
            "train": {
                "epochs": 1,
                "steps_per_epoch": 2,
                "val_batches": 1,
                "val_pairs": 40,
                "early_stopping_patience": 3,
                **train,
            },
        }
    )


def _positions(store: Path, split: str) -> np.ndarray:
    from seisembed.dataset.store import read_index

    return np.flatnonzero(read_index(store)["split"] == split)


def _names(store: Path, positions) -> list[str]:
    from seisembed.dataset.store import read_index

    return [str(n) for n in read_index(store)["trace_name"][np.asarray(positions)]]


def _damage(store: Path, positions, value) -> None:
    """Overwrite whole windows (or multiply them, value 'scale') in place: metadata untouched."""
    import zarr

    array = zarr.open_group(str(store), mode="r+")["waveform"]
    for p in np.asarray(positions, dtype=int):
        window = np.asarray(array[p])
        if value == "scale":
            array[p] = window * np.float32(2.0)
        elif value == "nan_sample":
            window[1, 10] = np.nan
            array[p] = window
        else:
            array[p] = np.full_like(window, value)


def _zarr_json_hash(store: Path) -> str:
    """What the resume fingerprint hashed before: the zarr.json files only."""
    digest = hashlib.sha256()
    for path in sorted(store.rglob("zarr.json")):
        digest.update(str(path.relative_to(store)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# -- the store's content hash -----------------------------------------------------------------
def test_content_hash_tells_apart_stores_whose_metadata_is_the_same(store, tiny_store):
    from seisembed.dataset.store import store_content_hash

    before = store_content_hash(store)
    assert before == store_content_hash(tiny_store)  # a copy: the same content, another path
    _damage(store, _positions(store, "train")[:3], "scale")
    assert _zarr_json_hash(store) == _zarr_json_hash(tiny_store)  # the old fingerprint saw no change
    assert store_content_hash(store) != before


def test_scan_counts_nan_and_all_zero_windows_per_split(store):
    from seisembed.dataset.store import scan_windows

    train, val = _positions(store, "train"), _positions(store, "val")
    _damage(store, train[[1, 5]], "nan_sample")
    _damage(store, train[[7]], np.inf)
    _damage(store, val[[2]], 0.0)
    found = scan_windows(store, ("train", "val", "test"))
    assert found["train"]["non_finite"].tolist() == train[[1, 5, 7]].tolist()
    assert found["train"]["all_zero"].tolist() == []
    assert found["val"]["all_zero"].tolist() == [val[2]] and not len(found["val"]["non_finite"])
    assert not len(found["test"]["non_finite"]) and not len(found["test"]["all_zero"])


# -- build time: the dataset card counts them ---------------------------------------------------
def test_dataset_card_counts_bad_windows_per_split_and_records_the_content_hash(tmp_path):
    import xarray as xr

    from seisembed.dataset.build import build_dataset
    from seisembed.dataset.card import write_card
    from seisembed.dataset.store import store_content_hash
    from seisembed.dataset.testing import synthetic_metadata, synthetic_windows, write_partitions

    meta = synthetic_metadata(
        90, n_stations=24, records_per_event=(5, 9), seed=4, box_events=3, rate_hz=40.0, before_s=5.0
    )
    windows = synthetic_windows(len(meta), seed=4, n_samples=N_SAMPLES, p_sample=200)
    zero_rows, nan_rows = [3, 40, 77], [10, 11]
    windows[zero_rows] = 0.0
    windows[nan_rows, 0, 5] = np.nan
    write_partitions(tmp_path / "wf", meta, windows=windows, n_samples=N_SAMPLES)
    result = build_dataset(tmp_path / "wf", tmp_path / "ds" / "waveforms.zarr", _tiny_config())
    attrs = dict(xr.open_zarr(result.store).attrs)
    attrs.update(store=str(result.store), store_hash=result.store_hash)
    card = write_card(tmp_path / "ds", result.frame, result.splits.removed, result.splits.details, result.inputs, attrs)

    zero_names = set(meta["trace_name"].iloc[zero_rows])
    kept = result.frame[result.frame["trace_name"].isin(zero_names)]
    saved = json.loads((tmp_path / "ds" / "card.json").read_text())
    assert saved["store_hash"] == card["store_hash"] == store_content_hash(result.store) != ""
    for split in ("train", "val", "test"):
        entry = saved["bad_windows"][split]
        assert entry["all_zero"] == int((kept["split"] == split).sum()), split
        assert entry["non_finite"] == 0  # NaN windows are removed before the split (rule non_finite)
        assert set(entry["first_traces"]) <= zero_names
    assert sum(saved["bad_windows"][s]["all_zero"] for s in ("train", "val", "test")) == len(kept) > 0
    assert saved["removed"]["non_finite"]["records"] == len(nan_rows)
    text = (tmp_path / "ds" / "card.md").read_text()
    assert "## Bad windows in the store" in text and card["store_hash"] in text


# -- training start: refused or skipped ----------------------------------------------------------
def test_bad_train_and_val_windows_are_refused_naming_split_counts_and_traces(store, tmp_path):
    from seisembed.train.loop import TrainingError, train_model

    train, val = _positions(store, "train"), _positions(store, "val")
    _damage(store, train[[4, 9]], "nan_sample")
    _damage(store, train[[12]], 0.0)
    _damage(store, val[[0]], np.nan)
    with pytest.raises(TrainingError) as caught:
        train_model(store, tmp_path / "m", train_config(), threads=2)
    message = str(caught.value)
    assert "split 'train' holds 2 window(s) with NaN/inf values and 1 all-zero window(s)" in message
    assert "split 'val' holds 1 window(s) with NaN/inf values and 0 all-zero" in message
    for name in _names(store, [train[4], train[9], train[12], val[0]]):
        assert name in message
    assert "train.bad_windows" in message and str(store) in message
    assert not (tmp_path / "m" / ".resume").exists()  # refused before the first epoch
    assert "learning_rate" not in message  # a data fault, not a learning-rate problem


def test_skip_leaves_bad_windows_out_of_sampling_and_the_model_card_counts_them(store, tmp_path, caplog):
    from seisembed.train.loop import train_model
    from seisembed.train.sampler import TripletSampler

    train, val = _positions(store, "train"), _positions(store, "val")
    bad_train = train[[2, 3, 20]]
    _damage(store, bad_train[:2], np.nan)
    _damage(store, bad_train[2:], 0.0)
    _damage(store, val[[1]], 0.0)
    # the sampler with exclusions never hands out an excluded window
    with TripletSampler.from_config(store, train_config(), "train", exclude=bad_train, prefetch=0) as sampler:
        used = np.concatenate([sampler.plan(e, i)[0] for e in range(3) for i in range(len(sampler))])
    assert not np.isin(used, bad_train).any()

    with caplog.at_level(logging.INFO, logger="seisembed.train"):
        card = train_model(store, tmp_path / "m", train_config(bad_windows="skip"), threads=2)
    saved = json.loads((tmp_path / "m" / "model_card.json").read_text())
    assert saved["bad_windows"]["policy"] == "skip" == card["bad_windows"]["policy"]
    assert saved["bad_windows"]["train"]["non_finite"] == 2 and saved["bad_windows"]["train"]["all_zero"] == 1
    assert saved["bad_windows"]["val"] == {
        "windows": len(val),
        "non_finite": 0,
        "all_zero": 1,
        "first_traces": _names(store, [val[1]]),
    }
    assert np.isfinite(saved["best_val_auc"])
    assert "left out of sampling" in caplog.text  # skipped, never silently
    assert "(skipped)" in (tmp_path / "m" / "model_card.md").read_text()


def test_a_val_split_that_cannot_be_scored_stops_before_the_first_epoch(store, tmp_path):
    from seisembed.dataset.store import read_index
    from seisembed.train.loop import train_model

    index = read_index(store)
    val = _positions(store, "val")
    events = np.unique(index["event"][val])
    # skip every val window but those of two events: fewer than L = 4 events remain
    _damage(store, val[~np.isin(index["event"][val], events[:2])], np.nan)
    with pytest.raises(InputError, match="val split cannot be scored.*split 'val'"):
        train_model(store, tmp_path / "m", train_config(bad_windows="skip"), threads=2)
    assert not (tmp_path / "m" / ".resume" / "state.json").exists()


def test_a_non_finite_val_auc_stops_at_its_epoch_not_with_a_missing_best_model(store, tmp_path, monkeypatch):
    import seisembed.train.loop as training

    real = training._validate

    def nan_auc(*args, **kwargs):
        return {**real(*args, **kwargs), "val_auc": float("nan")}

    monkeypatch.setattr(training, "_validate", nan_auc)
    with pytest.raises(training.TrainingError, match="val association AUC is nan at epoch 1"):
        training.train_model(store, tmp_path / "m", train_config(epochs=2), threads=2)


# -- resume: the fingerprint covers the data --------------------------------------------------
class _Killed(Exception):
    pass


def test_a_resume_state_of_a_store_with_other_waveforms_starts_over(store, tmp_path, monkeypatch, caplog):
    import seisembed.train.loop as training
    from seisembed.dataset.store import store_content_hash

    save = training._Checkpoint.save

    def save_then_die(self, model, state, best_model=None):
        save(self, model, state, best_model=best_model)
        raise _Killed  # killed right after epoch 1 was checkpointed

    monkeypatch.setattr(training._Checkpoint, "save", save_then_die)
    config = train_config(epochs=2)
    with pytest.raises(_Killed):
        training.train_model(store, tmp_path / "m", config, threads=2)
    monkeypatch.undo()
    state = json.loads((tmp_path / "m" / ".resume" / "state.json").read_text())
    assert state["epoch"] == 1 and state["fingerprint_parts"]["store"] == store_content_hash(store)

    _damage(store, _positions(store, "train")[:8], "scale")  # other waveforms, the same metadata
    with caplog.at_level(logging.INFO, logger="seisembed.train"):
        card = training.train_model(store, tmp_path / "m", config, threads=2)
    assert "resuming after epoch" not in caplog.text
    assert "is from another store" in caplog.text and "starting over" in caplog.text
    assert card["store_hash"] == store_content_hash(store) != state["fingerprint_parts"]["store"]
    assert card["epochs"] == 2 and [row["epoch"] for row in _history(tmp_path / "m")] == [1, 2]


def _history(out: Path) -> list[dict]:
    import pandas as pd

    return pd.read_csv(out / "history.csv").to_dict("records")


def test_throughput_keys_do_not_change_the_resume_fingerprint():
    from seisembed.train.loop import _fingerprint_parts

    base = train_config()
    faster = validate_config({**base, "sampling": {**base["sampling"], "prefetch_batches": 6, "cache": "memory"}})
    other = validate_config({**base, "sampling": {**base["sampling"], "events_per_batch": 6}})
    assert _fingerprint_parts(base, "h", 1) == _fingerprint_parts(faster, "h", 1)
    assert _fingerprint_parts(base, "h", 1) != _fingerprint_parts(other, "h", 1)
    assert _fingerprint_parts(base, "h", 1) != _fingerprint_parts(base, "g", 1)


# -- atomic saves -------------------------------------------------------------------------------
class _FailingModel:
    """Writes part of the file Keras was asked for, then fails (disk full, a killed writer)."""

    def save(self, path):
        Path(path).write_bytes(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")


def test_a_failed_keras_save_leaves_no_temporary(tmp_path):
    from seisembed.train.loop import _Checkpoint, _save_model

    with pytest.raises(OSError, match="No space"):
        _save_model(_FailingModel(), tmp_path / "model.keras")
    assert list(tmp_path.iterdir()) == []
    checkpoint = _Checkpoint(tmp_path / ".resume", "f")
    with pytest.raises(OSError, match="No space"):
        checkpoint.save(_FailingModel(), {"epoch": 1}, best_model=_FailingModel())
    assert list((tmp_path / ".resume").iterdir()) == []  # no .best.keras.tmp-*.keras orphan


# -- the command line ---------------------------------------------------------------------------
def test_out_dir_that_is_a_file_is_named(tmp_path, tiny_store):
    from seisembed.train.loop import train_model

    blocker = tmp_path / "results.txt"
    blocker.write_text("not a folder")
    with pytest.raises(InputError, match="results.txt is the output folder but it is a file"):
        train_model(tiny_store, blocker, train_config(), threads=2)
    with pytest.raises(InputError, match="results.txt is a parent of the output folder"):
        train_model(tiny_store, blocker / "model", train_config(), threads=2)
    run = subprocess.run(
        [sys.executable, "-m", "seisembed", "train", "--store", str(tiny_store), "--out-dir", str(blocker)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # the command line refuses it when parsed (argparse: status 2), before TensorFlow starts
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "argument --out-dir" in run.stderr and "results.txt" in run.stderr and "is a file" in run.stderr


def test_a_resume_state_that_is_json_but_not_an_object_starts_over(tmp_path):
    from seisembed.train.loop import _Checkpoint

    folder = tmp_path / ".resume"
    for text in ("[]", "null", "1"):  # before: AttributeError ('list' object has no attribute 'get')
        folder.mkdir()
        (folder / "state.json").write_text(text)
        (folder / "checkpoint.keras").write_bytes(b"x")
        assert _Checkpoint(folder, "fp").load() is None
        assert not folder.exists()  # the unusable state is cleared
