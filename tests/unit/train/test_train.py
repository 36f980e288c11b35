"""The embedding model, the triplet losses and training: determinism, resume, self-contained models."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tcn")

from seisembed.config import ConfigError, validate_config  # noqa: E402
from seisembed.errors import InputError  # noqa: E402
from seisembed.train import layers, losses  # noqa: E402, F401  (layers: registered for _weights' keras.saving.load_model)
from seisembed.train.model import PRESETS, architecture, build_model, flops_per_window, receptive_field  # noqa: E402

N_SAMPLES = 800  # 20 s at 40 Hz: enough for the spectral preset's FFT (512) and pooling, trains in seconds


# -- losses on hand-computed batches -------------------------------------------------------------
def test_batch_hard_and_batch_all_by_hand():
    y = np.array([0, 0, 1, 1])
    separated = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], np.float32)
    assert float(losses.batch_hard(y, separated)) == pytest.approx(0.0, abs=1e-5)
    assert float(losses.batch_all(y, separated)) == pytest.approx(0.0, abs=1e-5)
    crossed = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], np.float32)
    # every anchor: farthest positive sqrt(2), nearest negative 0 -> sqrt(2) + 0.2
    assert float(losses.batch_hard(y, crossed)) == pytest.approx(np.sqrt(2) + 0.2, abs=1e-4)
    # per anchor two triplets: sqrt(2) - 0 + 0.2 and sqrt(2) - sqrt(2) + 0.2, both active
    assert float(losses.batch_all(y, crossed)) == pytest.approx((np.sqrt(2) + 0.4) / 2, abs=1e-4)
    assert float(losses.batch_hard(y, crossed, soft=True)) == pytest.approx(np.log1p(np.exp(np.sqrt(2))), abs=1e-4)
    metrics = {k: float(v) for k, v in losses.triplet_metrics(y, crossed).items()}
    assert metrics["active_triplets"] == pytest.approx(1.0)
    assert metrics["mean_triplet_loss"] == pytest.approx((np.sqrt(2) + 0.4) / 2, abs=1e-4)
    assert metrics["hardest_positive"] == pytest.approx(np.sqrt(2), abs=1e-4)
    assert metrics["mean_distance"] == pytest.approx(4 * np.sqrt(2) * 2 / 12, abs=1e-4)


def test_the_loss_and_metrics_are_registered_for_loading_compiled_models():
    # a compiled checkpoint (resume) names them; an unregistered loss fails only at resume
    assert keras.saving.get_registered_object("seisembed>TripletLoss") is losses.TripletLoss
    for name in losses.TRAINING_METRICS:
        assert keras.saving.get_registered_object(f"seisembed>{name.__name__}") is name


def test_training_metrics_use_the_configured_margin_and_survive_a_compiled_save(tmp_path):
    y = np.array([0, 0, 1, 1])
    emb = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], np.float32)  # d_ap = d_an = sqrt(2) for most
    for margin in (0.2, 0.5):
        metric = losses.training_metrics(margin)[0]
        assert metric.name == "mean_triplet_loss"
        metric.update_state(y, emb)
        expected = float(losses.triplet_metrics(y, emb, margin)["mean_triplet_loss"])
        assert float(metric.result()) == pytest.approx(expected, abs=1e-6)
    assert float(losses.triplet_metrics(y, emb, 0.5)["mean_triplet_loss"]) > float(
        losses.triplet_metrics(y, emb, 0.2)["mean_triplet_loss"]
    )
    model = keras.Sequential([keras.Input((2,)), keras.layers.UnitNormalization()])
    model.compile(loss=losses.TripletLoss(margin=0.5), metrics=losses.training_metrics(0.5))
    model.train_on_batch(emb, y)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    logs = loaded.evaluate(emb, y, batch_size=4, verbose=0, return_dict=True)
    assert logs["mean_triplet_loss"] == pytest.approx(
        float(losses.triplet_metrics(y, emb, 0.5)["mean_triplet_loss"]), abs=1e-5
    )


def test_collapsed_embeddings_give_margin_loss_and_zero_distance():
    y = np.array([0, 0, 1, 1, 2, 2])
    same = np.tile(np.array([[0.6, 0.8]], np.float32), (6, 1))
    assert float(losses.batch_hard(y, same)) == pytest.approx(0.2, abs=1e-3)
    assert float(losses.triplet_metrics(y, same)["mean_distance"]) < 0.01


def test_schedule_weights_follow_the_epoch():
    loss = losses.TripletLoss(mode="schedule")
    schedule = losses.HardMiningSchedule(loss, warmup_epochs=2, ramp_epochs=2, final_weight=0.5)
    assert [schedule.weight(e) for e in range(5)] == [0.0, 0.0, 0.25, 0.5, 0.5]
    assert losses.HardMiningSchedule(losses.TripletLoss(mode="batch_hard"), 2, 2).weight(0) == 1.0
    # what the training loop calls before each epoch: it sets the loss's variable
    assert schedule.on_epoch_begin(2) == 0.25 and float(loss.hard_weight.numpy()) == 0.25
    assert schedule.on_epoch_begin(0) == 0.0 and float(loss.hard_weight.numpy()) == 0.0


# -- the model -----------------------------------------------------------------------------------
def test_presets_parameters_receptive_fields_and_flops():
    cfg = validate_config({})["model"]
    paper = build_model({**cfg, "preset": "paper"})
    assert paper.count_params() == 605_032  # keras-tcn: two convolutions per residual block
    assert receptive_field(architecture({**cfg, "preset": "paper"})) == 1 + 2 * 15 * 2 * (2 + 4 + 16 + 256)
    authors = build_model({**cfg, "preset": "paper-authors"})
    assert authors.count_params() == 833_835
    demo = build_model({**cfg, "preset": "demo"})
    assert demo.input_shape == (None, 7200, 3) and demo.output_shape == (None, 32)
    assert demo.count_params() == 89_472
    for name in PRESETS:
        assert flops_per_window(architecture({**cfg, "preset": name})) > 0


def test_unknown_preset_or_override_is_a_config_error():
    with pytest.raises(ConfigError, match="model.preset"):
        validate_config({"model": {"preset": "huge"}})
    with pytest.raises(ConfigError, match="model.overrides"):
        architecture(validate_config({"model": {"overrides": {"tcn_filter": 8}}})["model"])


def test_model_normalises_raw_windows_and_outputs_unit_vectors():
    model = build_model(validate_config({})["model"], n_samples=N_SAMPLES)
    x = np.random.default_rng(0).normal(0, 1, (4, N_SAMPLES, 3)).astype(np.float32)
    out = np.asarray(model(x))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    # gain and offset per channel do not matter: the model normalises itself
    # (an offset of 1e3 on the 0.01 channel would quantise the float32 input itself: its spacing
    # at 1e3 is 6e-5, 0.6 % of that signal, before any model sees it)
    scaled = x * np.array([3.0, 1e4, 0.01], np.float32) + np.array([5.0, -2.0, 10.0], np.float32)
    np.testing.assert_allclose(np.asarray(model(scaled)), out, atol=2e-3)


def test_saved_model_loads_in_safe_mode_after_import_seisembed_layers(reload_difference):
    model = build_model(validate_config({})["model"], n_samples=N_SAMPLES)
    x = np.random.default_rng(1).normal(0, 1, (2, N_SAMPLES, 3)).astype(np.float32)
    assert reload_difference(model, x) < 1e-5


def test_paper_preset_runs_one_training_step_on_the_cpu():
    cfg = validate_config({"model": {"preset": "paper"}})
    model = build_model(cfg["model"])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=losses.TripletLoss(mode="batch_hard"))
    x = np.random.default_rng(2).normal(0, 1, (4, 7200, 3)).astype(np.float32)
    logs = model.train_on_batch(x, np.array([0, 0, 1, 1]), return_dict=True)
    assert np.isfinite(logs["loss"])


# -- training ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    from seisembed.dataset.build import build_dataset
    from seisembed.dataset.testing import synthetic_metadata, write_partitions

    root = tmp_path_factory.mktemp("train-wf")
    meta = synthetic_metadata(
        90, n_stations=24, records_per_event=(5, 9), seed=4, box_events=3, rate_hz=40.0, before_s=5.0
    )
    write_partitions(root, meta, seed=4, n_samples=N_SAMPLES)
    config = validate_config(
        {
            "waveforms": {"sampling_rate_hz": 40.0, "window_before_s": 5.0, "window_after_s": 15.0},
            "dataset": {
                "held_out_stations": {"count": 2},
                "min_records_per_event": {"train": 3, "val": 3},
                "months": {"search_tries": 50},
            },
        }
    )
    return build_dataset(root, tmp_path_factory.mktemp("train-ds") / "waveforms.zarr", config).store


def tiny_config(**train) -> dict:
    return validate_config(
        {
            "seed": 3,
            "sampling": {"events_per_batch": 4, "records_per_event": 3, "prefetch_batches": 1},
            "train": {
                "epochs": 3,
                "steps_per_epoch": 4,
                "val_batches": 2,
                "val_pairs": 60,
                "warmup_epochs": 1,
                "ramp_epochs": 1,
                "early_stopping_patience": 3,
                **train,
            },
        }
    )


def _weights(path: Path) -> list[np.ndarray]:
    return [np.asarray(w) for w in keras.saving.load_model(path, safe_mode=True).get_weights()]


def test_training_writes_a_self_contained_model_and_card(tiny_store, tmp_path):
    from seisembed.train.loop import train_model

    card = train_model(tiny_store, tmp_path / "model", tiny_config(), threads=2)
    out = tmp_path / "model"
    for name in ("model.keras", "history.csv", "model_card.json", "model_card.md", "figures/training_curve.png"):
        assert (out / name).is_file(), name
    assert not (out / ".resume").exists()
    saved = json.loads((out / "model_card.json").read_text())
    assert saved["parameters"] == card["parameters"] > 0 and saved["epochs"] == 3
    assert 0.0 <= saved["best_val_auc"] <= 1.0 and saved["input"]["shape"] == [N_SAMPLES, 3]
    import pandas as pd

    history = pd.read_csv(out / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3] and history["input_wait_share"].lt(1).all()


def test_two_runs_with_one_seed_give_identical_weights(tiny_store, tmp_path):
    from seisembed.train.loop import train_model

    train_model(tiny_store, tmp_path / "a", tiny_config(epochs=2), threads=2)
    train_model(tiny_store, tmp_path / "b", tiny_config(epochs=2), threads=2)
    for wa, wb in zip(_weights(tmp_path / "a" / "model.keras"), _weights(tmp_path / "b" / "model.keras")):
        np.testing.assert_array_equal(wa, wb)


def test_time_budget_ends_training_and_the_card_says_so(tiny_store, tmp_path, monkeypatch):
    import seisembed.train.loop as training
    from seisembed.train.loop import train_model

    config = tiny_config(epochs=5, max_minutes=1e-4)
    card = train_model(tiny_store, tmp_path / "m", config, threads=2)
    assert card["epochs"] == 1 and card["stopped_by"] == "max_minutes" and card["max_minutes"] == 1e-4
    saved = json.loads((tmp_path / "m" / "model_card.json").read_text())
    assert saved["stopped_by"] == "max_minutes" and saved["machine"]["cpu_cores"] >= 1
    text = (tmp_path / "m" / "model_card.md").read_text()
    assert "the time budget (train.max_minutes = 0.0001 min), not early stopping" in text
    # killed after it stopped, before its outputs were written: the resumed run trains no extra epoch
    monkeypatch.setattr(training.shutil, "rmtree", lambda *a, **k: None)
    train_model(tiny_store, tmp_path / "k", config, threads=2)
    monkeypatch.undo()
    (tmp_path / "k" / "model.keras").unlink()
    again = train_model(tiny_store, tmp_path / "k", config, threads=2)
    assert again["epochs"] == 1 and again["stopped_by"] == "max_minutes"
    assert not (tmp_path / "k" / ".resume").exists()
    unbounded = train_model(tiny_store, tmp_path / "n", tiny_config(epochs=2), threads=2)
    assert unbounded["stopped_by"] == "epochs" and unbounded["epochs"] == 2 and unbounded["max_minutes"] is None


def test_store_without_enough_events_or_a_store_is_named(tiny_store, tmp_path):
    from seisembed.train.loop import train_model

    with pytest.raises(InputError, match="events"):
        train_model(tiny_store, tmp_path / "m", validate_config({"sampling": {"events_per_batch": 500}}), threads=2)
    with pytest.raises(InputError, match="does not exist"):
        train_model(tmp_path / "nope.zarr", tmp_path / "m", tiny_config(), threads=2)


@pytest.mark.slow
def test_sigkilled_training_resumes_to_identical_weights(tiny_store, tmp_path, repo_root):
    config = tiny_config(epochs=4)
    (tmp_path / "config.json").write_text(json.dumps(config))
    command = [
        sys.executable,
        "-m",
        "seisembed",
        "train",
        "--config-json",
        json.dumps(config),
        "--store",
        str(tiny_store),
        "--threads",
        "2",
        "--out-dir",
    ]
    clean = subprocess.run([*command, str(tmp_path / "clean")], capture_output=True, text=True, timeout=600)
    assert clean.returncode == 0, clean.stderr[-3000:]
    killed = subprocess.Popen(
        [*command, str(tmp_path / "killed")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    state = tmp_path / "killed" / ".resume" / "state.json"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not (state.is_file() and json.loads(state.read_text())["epoch"] >= 2):
        time.sleep(0.2)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    assert state.is_file(), "no checkpoint was written before the kill"
    resumed = subprocess.run([*command, str(tmp_path / "killed")], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming after epoch" in resumed.stderr
    for wa, wb in zip(_weights(tmp_path / "clean" / "model.keras"), _weights(tmp_path / "killed" / "model.keras")):
        np.testing.assert_array_equal(wa, wb)


def test_loading_a_wrong_file_or_window_length_names_the_file(tmp_path):
    from seisembed.train.model import load_model

    bogus = tmp_path / "not_a_model.keras"
    bogus.write_bytes(b"this is not a zip archive")
    with pytest.raises(InputError, match="not_a_model.keras.*not a loadable Keras model"):
        load_model(bogus)
    model = build_model(validate_config({})["model"], n_samples=N_SAMPLES)
    model.save(tmp_path / "short.keras")
    assert load_model(tmp_path / "short.keras", n_samples=N_SAMPLES).input_shape == (None, N_SAMPLES, 3)
    with pytest.raises(InputError, match="short.keras takes windows of shape"):
        load_model(tmp_path / "short.keras", n_samples=7200)
    with pytest.raises(InputError, match="does not exist"):
        load_model(tmp_path / "missing.keras")


def test_nan_loss_stops_naming_epoch_and_step():
    from seisembed.train.loop import TrainingError, _train_epoch

    class Sampler:
        def batch(self, epoch, step):
            return np.zeros((4, 8, 3), np.float32), np.array([0, 0, 1, 1])

    class Model:
        calls = 0

        def train_on_batch(self, x, y, return_dict=True):
            Model.calls += 1
            return {"loss": 0.3 if Model.calls < 3 else float("nan")}

    with pytest.raises(TrainingError, match="became nan at epoch 2, step 3"):
        _train_epoch(Model(), Sampler(), epoch=1, steps=5)


def test_train_model_restores_the_global_precision_policy(monkeypatch, tmp_path):
    """A library call leaves Keras's precision policy as it found it (before: float32 or mixed_float16 stayed)."""
    import seisembed.train.loop as training

    def work(*args):
        keras.mixed_precision.set_global_policy("mixed_float16")  # what a GPU run with mixed precision sets
        raise RuntimeError("stopped")

    monkeypatch.setattr(training, "_train_model", work)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        with pytest.raises(RuntimeError, match="stopped"):
            training.train_model(tmp_path / "store", tmp_path / "out", {})
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    finally:
        keras.mixed_precision.set_global_policy("float32")
