"""Supervised discrimination classifiers (SVM-36, SRSpec-CNN) and the runtime table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seisembed.errors import InputError
from seisembed.evaluate.supervised import (
    band_log_power,
    fit_svm,
    spectrograms,
    svm_features,
    svm_windows,
)
from seisembed.evaluate.supervised.srspec_cnn import _area_matrix

RATE = 40.0
SVM = {
    "bands_hz": [[1.0, 3.0], [2.0, 5.0], [4.0, 7.0], [6.0, 9.0], [8.0, 11.0], [10.0, 13.0], [12.0, 15.0],
                 [14.0, 17.0], [16.0, 19.0]],
    "filter_order": 4,
    "source_depth_km": 10.0,
    "window_min_s": 2.0,
    "window_max_s": 20.0,
    "min_window_s": 1.0,
}  # fmt: skip
SRSPEC = {"band_hz": [2.0, 10.0], "size": 64, "segment_s": 8.0, "hop_s": 1.0}


def test_windows_follow_s_minus_p_and_are_clipped_or_missing_past_the_record():
    # S - P of 10 s -> w = 5 s: P [0, 5), P coda [5, 10), S [10, 15), S coda [15, 20) after P (sample 400)
    b = svm_windows(np.array([400]), np.array([10.0]), rate_hz=RATE, n_samples=7200, window_min_s=2.0,
                    window_max_s=20.0, min_window_s=1.0)  # fmt: skip
    np.testing.assert_array_equal(b["start"][0], [400, 600, 800, 1000])
    np.testing.assert_array_equal(b["end"][0], [600, 800, 1000, 1200])
    assert not b["clipped"].any() and not b["missing"].any()
    # far record: S - P 150 s, w = 20 s, window ends 160 s after P (sample 400 + 6400 = 6800)
    far = svm_windows(np.array([400]), np.array([150.0]), rate_hz=RATE, n_samples=6800, window_min_s=2.0,
                      window_max_s=20.0, min_window_s=1.0)  # fmt: skip
    assert far["start"][0, 2] == 400 + 150 * 40 and far["end"][0, 2] == 6800  # S clipped: 10 s inside
    assert far["clipped"][0].tolist() == [False, False, True, False]
    assert far["missing"][0].tolist() == [False, False, False, True]  # S coda wholly past the end


def test_band_power_finds_the_band_and_the_window_of_a_tone():
    t = np.arange(4000) / RATE
    x = np.zeros((1, 3, 4000), np.float32)
    burst = (t >= 40) & (t < 50)
    x[0, 0] = np.sin(2 * np.pi * 5.5 * t) * burst
    x[0, 1] = 0.5 * x[0, 0]
    start, end = np.array([[0, 1000, 1600, 3000]]), np.array([[400, 1400, 2000, 3400]])
    logp = band_log_power(x + 1e-6, start, end, bands_hz=SVM["bands_hz"], rate_hz=RATE, order=4)
    assert np.unravel_index(np.argmax(logp[0]), logp[0].shape) == (2, 2)  # band 4-7 Hz, window 40-50 s
    # mean power of a unit sine (Z) + half sine (N): 0.5 * (1 + 0.25), within the filter's ripple
    assert 10 ** logp[0, 2, 2] == pytest.approx(0.625, rel=0.15)
    assert logp[0, 2, 2] - logp[0, 2, 0] > 4  # no energy outside the burst


def test_svm_features_of_a_far_record_are_missing_not_a_crash():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 7200)).astype(np.float32)
    out = svm_features(x, np.array([1200, 1200]), np.array([1.0, 60.0]), rate_hz=RATE, svm=SVM)
    assert out["features"].shape == (2, 36) and len(out["names"]) == 36 and out["names"][0] == "p_1-3hz"
    assert np.isfinite(out["features"][0]).all()
    assert out["missing"][1, 2:].all() and np.isnan(out["features"][1, 18:]).all()  # S beyond 150 s
    assert out["outside_table"].tolist() == [False, True]  # 60 deg: clamped to the 45 deg table


def test_bad_band_is_named():
    with pytest.raises(InputError, match="bands_hz"):
        svm_features(np.zeros((1, 3, 800), np.float32), np.array([10]), np.array([1.0]), rate_hz=RATE,
                     svm={**SVM, "bands_hz": [[16.0, 21.0]]})  # fmt: skip


def test_svm_chooses_on_val_and_imputes_missing_features():
    rng = np.random.default_rng(1)
    y = rng.random(400) < 0.3
    x = rng.normal(size=(400, 36)) + 1.5 * y[:, None] * (np.arange(36) < 9)
    x[::7, 20:] = np.nan  # missing windows
    fit = fit_svm(x[:200], y[:200], x[200:300], y[200:300], [0.3, 3.0], [0.01, 0.1])
    assert len(fit["grid"]) == 4
    best = max(fit["grid"], key=lambda g: g["val_auc"])
    assert (fit["C"], fit["gamma"]) == (best["C"], best["gamma"])
    from seisembed.metrics import auc

    score = fit["score"](x[300:])
    assert np.isfinite(score).all() and auc(score, y[300:]) > 0.9


def test_spectrogram_shape_peak_and_area_resampling():
    w = _area_matrix(173, 64)
    np.testing.assert_allclose(w.sum(axis=0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(_area_matrix(64, 64), np.eye(64), atol=1e-7)
    t = np.arange(7200) / RATE
    x = np.stack([np.sin(2 * np.pi * 6.0 * t)] * 3)[None].astype(np.float32) * 1e5
    s = spectrograms(x, rate_hz=RATE, srspec=SRSPEC)
    assert s.shape == (1, 64, 64, 3) and s.dtype == np.float32
    assert int(np.argmax(s[0, :, 32, 0])) == 32  # 6 Hz: bin (6 - 2) / 0.125 of [2, 10) Hz
    scaled = spectrograms(x * 1e-3, rate_hz=RATE, srspec=SRSPEC)
    np.testing.assert_allclose(scaled, s, atol=1e-2)  # peak-normalised: gain does not matter


def test_spectrogram_segment_longer_than_the_window_is_named():
    with pytest.raises(InputError, match="segment_s"):
        spectrograms(np.zeros((1, 3, 100), np.float32), rate_hz=RATE, srspec=SRSPEC)


# --------------------------------------------------------------------------- the stage on a tiny store
def _windows(meta: pd.DataFrame, n_samples: int, seed: int) -> np.ndarray:
    """Noise plus a source burst after P: 12 Hz for explosions, 3 Hz for earthquakes (learnable)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / RATE
    p = meta["trace_p_arrival_sample"].to_numpy()[:, None] / RATE
    f = np.where(meta["source_type"].to_numpy() == "explosion", 12.0, 3.0)[:, None]
    burst = np.sin(2 * np.pi * f * t + rng.uniform(0, 6, (len(meta), 1))) * np.exp(-np.clip(t - p, 0, None) / 4)
    burst *= t >= p
    x = rng.normal(size=(len(meta), 3, n_samples)) * 0.3 + (3.0 * burst)[:, None, :]
    return (x * 10 ** rng.uniform(1, 3, (len(meta), 1, 1))).astype(np.float32)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("keras")
    from seisembed.config import validate_config
    from seisembed.dataset.build import build_dataset
    from seisembed.dataset.testing import synthetic_metadata, write_partitions

    work = tmp_path_factory.mktemp("supervised")
    meta = synthetic_metadata(
        120, n_stations=24, records_per_event=(4, 7), seed=5, box_events=3, rate_hz=RATE, before_s=5.0,
        explosion_share=0.35,
    )  # fmt: skip
    write_partitions(work / "wf", meta, windows=_windows(meta, 1200, 5), n_samples=1200)
    config = validate_config(
        {
            "seed": 11,
            "waveforms": {"sampling_rate_hz": RATE, "window_before_s": 5.0, "window_after_s": 25.0},
            "dataset": {
                "held_out_stations": {"count": 2},
                "min_records_per_event": {"train": 3, "val": 3},
                "months": {"search_tries": 50},
            },
            "evaluate": {
                "bootstrap": 30,
                "embed_batch": 64,
                "runtime_repeats": 1,
                "svm": {"c_grid": [1.0, 10.0], "gamma_grid": [0.03]},
                "srspec": {"size": 16, "segment_s": 4.0, "epochs": 4, "patience": 2, "filters": [8, 16], "dense": 16},
            },
        }
    )
    store = build_dataset(work / "wf", work / "waveforms.zarr", config).store
    return work, store, config


def test_supervised_classifiers_learn_score_test_at_the_val_threshold_and_reproduce(tiny):
    from seisembed.evaluate.stats import best_threshold
    from seisembed.evaluate.supervised import enable_determinism, evaluate_supervised

    work, store, config = tiny
    enable_determinism()  # what the entry point (seisembed evaluate supervised) does
    record = evaluate_supervised(store, work / "m1", config)
    saved = json.loads((work / "m1" / "supervised.json").read_text())
    scores = pd.read_parquet(work / "m1" / "supervised_scores.parquet")
    assert set(scores["split"]) == {"val", "test"}
    for method in ("svm36", "srspec_cnn"):
        r = saved[method]
        for key in ("auc", "auc_ci95", "accuracy", "precision", "recall", "threshold", "training_seconds"):
            assert key in r, (method, key)
        assert r["auc"] > 0.9, (method, r["auc"])  # the classes differ by their source spectrum
        assert r["auc_ci95"][0] <= r["auc"] <= r["auc_ci95"][1]
        val = scores[scores["split"] == "val"]
        assert r["threshold"] == pytest.approx(
            best_threshold(val[method].to_numpy(), (val["source_type"] == "explosion").to_numpy())
        )
        assert sum(map(sum, r["confusion_test"]["counts"])) == r["n_test_records"] == (scores["split"] == "test").sum()
    windows = saved["svm36"]["windows"]["test"]
    assert windows["n_records"] == saved["svm36"]["n_test_records"]
    assert windows["n_missing"] > 0  # 25 s after P: far records lose their S coda, and are still scored
    again = evaluate_supervised(store, work / "m2", config)
    for method in ("svm36", "srspec_cnn"):
        for key in ("auc", "accuracy", "precision", "recall", "threshold", "auc_ci95"):
            assert again[method][key] == record[method][key], (method, key)
    pd.testing.assert_frame_equal(pd.read_parquet(work / "m2" / "supervised_scores.parquet"), scores)


def test_discrimination_draws_the_supervised_classifiers_and_rejects_a_wrong_file(tiny):
    from seisembed.evaluate.discrimination import evaluate_discrimination

    work, store, config = tiny
    if not (work / "m1" / "supervised_scores.parquet").exists():
        pytest.skip("needs the supervised classifiers test's outputs")
    meta = pd.read_parquet(work / "m1" / "supervised_scores.parquet")
    rng = np.random.default_rng(0)
    import xarray as xr

    ds = xr.open_zarr(store)
    from seisembed.columns import EMBEDDING_COLUMNS
    from seisembed.embeddings import embeddings_frame

    meta_columns = [c for c in EMBEDDING_COLUMNS if not c.startswith("novel_")]
    frame = pd.DataFrame({c: ds[c].values.tolist() for c in meta_columns}).assign(
        novel_station=False, novel_location=False
    )
    emb = rng.normal(size=(len(frame), 8))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)  # the contract: unit vectors of one (here random) model
    embeddings_frame(frame, emb, model_id="random").to_parquet(work / "emb.parquet")
    cfg = {**config, "evaluate": {**config["evaluate"], "discrimination_trials": 5, "discrimination_templates": [1]}}
    record = evaluate_discrimination(
        work / "emb.parquet", work / "d", work / "f", cfg, supervised=work / "m1" / "supervised_scores.parquet"
    )
    assert set(record["supervised_test_auc"]) == {"svm36", "srspec_cnn"}
    import matplotlib.image as mpimg

    confusion = mpimg.imread(work / "f" / "discrimination_confusion.png")
    assert confusion.shape[1] > 2.5 * confusion.shape[0]  # three panels: 1 template, SVM-36, SRSpec-CNN
    meta.drop(columns=["svm36"]).to_parquet(work / "bad.parquet")
    with pytest.raises(InputError, match="svm36"):
        evaluate_discrimination(work / "emb.parquet", work / "d", work / "f", cfg, supervised=work / "bad.parquet")


def test_runtime_table_times_every_task_on_val_and_test(tiny):
    from seisembed.evaluate.runtime import measure_runtime, runtime_markdown
    from seisembed.train.model import build_model

    work, store, config = tiny
    model = build_model(config["model"], n_samples=1200, seed=1)
    model.save(work / "model.keras")
    record = measure_runtime(store, work / "model.keras", config, threads=2)
    assert set(record["splits"]) == {"val", "test"} and "CPU" in record["device"]["text"]
    for split in record["splits"].values():
        for task in ("embedding", "svm36_features", "srspec_spectrograms"):
            assert split[f"{task}_ms_per_window"] > 0
    text = runtime_markdown(record)
    assert "| embed (trained model) |" in text and "| 1.8 |" in text and "| 7.6 |" in text and "171 / 271" in text


def test_train_subsample_is_seeded_per_class_and_keeps_store_order():
    from seisembed.evaluate.supervised.run import _subsample_train

    kinds = np.array(["earthquake"] * 30 + ["explosion"] * 4)
    positions = np.arange(34)
    a = _subsample_train(positions, kinds, 10, seed=1)
    assert (np.diff(a) > 0).all() and (kinds[a] == "explosion").sum() == 4 and (kinds[a] == "earthquake").sum() == 10
    np.testing.assert_array_equal(a, _subsample_train(positions, kinds, 10, seed=1))
    assert not np.array_equal(a, _subsample_train(positions, kinds, 10, seed=2))
    np.testing.assert_array_equal(_subsample_train(positions, kinds, None, seed=1), positions)
