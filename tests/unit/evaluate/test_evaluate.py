"""Association evaluation: statistics by hand, baselines, distinct pairs, thresholds from val."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seisembed.errors import InputError
from seisembed.evaluate.association_baselines import SpectralLDA, cross_correlation_scores, spectral_features
from seisembed.evaluate.stats import best_threshold, bootstrap, decision_metrics
from seisembed.metrics import auc


def test_auc_by_hand_and_weighted_equals_repeated_pairs():
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.6, 0.1])
    matched = np.array([True, False, True, True, False, False])
    # positives 0.9, 0.7, 0.6 vs negatives 0.8, 0.6, 0.1: wins 3 + 2 + (1 + 0.5 tie) = 6.5 of 9
    assert auc(score, matched) == pytest.approx(6.5 / 9)
    weight = np.array([2, 1, 1, 3, 1, 2])
    repeated = np.repeat(np.arange(6), weight)
    assert auc(score, matched, weight) == pytest.approx(auc(score[repeated], matched[repeated]))
    assert auc(score, matched, np.ones(6)) == pytest.approx(auc(score, matched))


def test_threshold_maximises_accuracy_and_metrics():
    score = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    matched = np.array([False, False, True, False, True, True])
    threshold = best_threshold(score, matched)
    assert 0.2 < threshold <= 0.3 or 0.6 < threshold <= 0.7
    m = decision_metrics(score, matched, threshold)
    assert m["accuracy"] == pytest.approx(5 / 6)
    assert decision_metrics(score, matched, 0.65) == pytest.approx(
        {"accuracy": 5 / 6, "precision": 1.0, "recall": 2 / 3, "balanced_accuracy": (2 / 3 + 1) / 2}
    )


def test_balanced_threshold_does_not_give_up_on_the_rare_class():
    # 2 positives among 12: calling everything negative is 10/12 accurate; the balanced cut finds them
    score = np.array([0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.7, 0.55, 0.6])
    matched = np.zeros(12, dtype=bool)
    matched[[8, 10]] = True  # scores 0.5 and 0.55, below the negative at 0.7
    accurate = best_threshold(score, matched)
    balanced = best_threshold(score, matched, criterion="balanced_accuracy")
    assert decision_metrics(score, matched, accurate)["recall"] == 0.0
    m = decision_metrics(score, matched, balanced)
    assert m["recall"] == 1.0 and m["balanced_accuracy"] == pytest.approx((1 + 8 / 10) / 2)
    with pytest.raises(ValueError, match="criterion"):
        best_threshold(score, matched, criterion="f1")


def test_cluster_bootstrap_is_seeded_and_resamples_whole_clusters():
    clusters = np.array([0, 0, 1, 1, 2])
    seen = bootstrap(clusters, lambda w: float(w[0] == w[1]) * 1.0, 50, seed=3)
    assert (seen == 1.0).all()  # pairs of one event always get the same weight
    again = bootstrap(clusters, lambda w: float(w @ np.arange(5)), 20, seed=3)
    np.testing.assert_array_equal(again, bootstrap(clusters, lambda w: float(w @ np.arange(5)), 20, seed=3))


def test_cross_correlation_finds_a_shifted_copy_and_flags_dead_records():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(1, 3, 2000))
    shifted = np.roll(base, 30, axis=-1)  # 0.75 s at 40 Hz: inside +-2 s
    unrelated = rng.normal(size=(1, 3, 2000))
    dead = np.zeros((1, 3, 2000))
    w = np.concatenate([base, shifted, unrelated, dead])
    s = cross_correlation_scores(
        w, np.array([0, 0, 0]), np.array([1, 2, 3]), rate_hz=40.0, band_hz=(1.0, 8.0), max_lag_s=2.0
    )
    assert s[0] > 0.9 and s[1] < 0.3 and np.isnan(s[2])


def test_spectral_lda_separates_events_by_spectrum():
    rng = np.random.default_rng(1)
    n_events, per = 12, 5
    t = np.arange(7200) / 40.0
    records, events = [], []
    for e in range(n_events):
        f = 1.0 + e  # each event its own dominant frequency
        for _ in range(per):
            x = np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) * (t > 30) + 0.3 * rng.normal(size=t.size)
            records.append(np.stack([x, x * 0.5, x * 0.8]))
            events.append(e)
    w, events = np.asarray(records), np.asarray(events)
    kw = dict(rate_hz=40.0, p_sample=1200, windows_s=[[0, 11], [11, 60], [60, 150]], n_bands=20, band_hz=(0.5, 19.0))
    features = spectral_features(w, **kw)
    z = SpectralLDA(8).fit(features, events).transform(features)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-9)
    d = np.linalg.norm(z[:, None] - z[None], axis=-1)
    same = events[:, None] == events[None]
    assert d[same & ~np.eye(len(z), dtype=bool)].mean() < d[~same].mean()


def _meta(n_events=20, per=4, split="test"):
    rows = []
    for e in range(n_events):
        for k in range(per):
            rows.append(
                {
                    "trace_name": f"e{e}_XX.S{k}.",
                    "source_id": f"e{e}",
                    "split": split,
                    "source_type": "earthquake",
                    "station_network_code": "XX",
                    "station_code": f"S{k}",
                    "novel_station": k == 0,
                    "novel_location": e == 0,
                    "station_latitude_deg": 40.0 + k,
                    "station_longitude_deg": -100.0,
                    "path_ep_distance_km": 100.0,
                }
            )
    return pd.DataFrame(rows)


def test_association_pairs_are_distinct_halves_and_named_when_impossible():
    from seisembed.evaluate.association import association_pairs_table

    meta = _meta()
    table, available = association_pairs_table(meta, "test", 100, seed=1)
    assert available == 20 * 6  # C(4, 2) distinct matched pairs per event
    assert table["matched"].sum() == 50 and (~table["matched"]).sum() == 50
    keys = set(zip(table["first"], table["second"]))
    assert len(keys) == len(table)
    same = table["source_id_first"] == table["source_id_second"]
    assert (same == table["matched"]).all()
    assert (table.loc[table["matched"], "interstation_km"] > 0).all()
    big, available = association_pairs_table(meta, "test", 10_000, seed=1)
    assert big["matched"].sum() == available == (~big["matched"]).sum()
    pd.testing.assert_frame_equal(association_pairs_table(meta, "test", 100, seed=1)[0], table)
    with pytest.raises(InputError, match="split 'test'"):
        association_pairs_table(_meta(n_events=1), "test", 10, seed=1)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """A tiny store, a tiny trained model, its embeddings and the association evaluation."""
    pytest.importorskip("keras")
    from seisembed.config import validate_config
    from seisembed.dataset.build import build_dataset
    from seisembed.dataset.testing import synthetic_metadata, write_partitions
    from seisembed.evaluate.association import embed_store, evaluate_association
    from seisembed.train.loop import train_model

    work = tmp_path_factory.mktemp("evaluate")
    meta = synthetic_metadata(
        90, n_stations=24, records_per_event=(5, 9), seed=4, box_events=3, rate_hz=40.0, before_s=5.0
    )
    write_partitions(work / "wf", meta, seed=4, n_samples=800)
    config = validate_config(
        {
            "seed": 3,
            "waveforms": {"sampling_rate_hz": 40.0, "window_before_s": 5.0, "window_after_s": 15.0},
            "dataset": {
                "held_out_stations": {"count": 2},
                "min_records_per_event": {"train": 3, "val": 3},
                "months": {"search_tries": 50},
            },
            "sampling": {"events_per_batch": 4, "records_per_event": 3, "prefetch_batches": 1},
            "train": {"epochs": 1, "steps_per_epoch": 3, "val_batches": 1, "val_pairs": 40},
            "evaluate": {
                "pairs_per_split": 200,
                "bootstrap": 30,
                "spectral_windows_s": [[0, 5], [5, 10], [10, 15]],
                "spectral_lda_dims": 8,
            },
        }
    )
    store = build_dataset(work / "wf", work / "waveforms.zarr", config).store
    train_model(store, work / "model", config, threads=2)
    embed_store(store, work / "model" / "model.keras").to_parquet(work / "embeddings.parquet")
    record = evaluate_association(store, work / "embeddings.parquet", work / "metrics", work / "figures", config)
    return work, record, config


def test_association_outputs_thresholds_from_val_and_reproducible(evaluated):
    from seisembed.evaluate.association import METHODS, evaluate_association
    from seisembed.evaluate.stats import best_threshold

    work, record, config = evaluated
    saved = json.loads((work / "metrics" / "association.json").read_text())
    pairs = pd.read_parquet(work / "metrics" / "association_pairs.parquet")
    val = pairs[pairs["split"] == "val"]
    for method in METHODS:
        for split in ("val", "test"):
            entry = saved[method][split]
            for key in ("auc", "auc_ci95", "accuracy", "accuracy_ci95", "precision", "recall", "threshold", "n_pairs"):
                assert key in entry, (method, split, key)
            assert entry["auc_ci95"][0] <= entry["auc"] <= entry["auc_ci95"][1]
        # the test threshold is the one chosen on the val pairs, not on test
        finite = np.isfinite(val[method])
        expected = best_threshold(val[method][finite].to_numpy(), val["matched"][finite].to_numpy())
        assert saved[method]["test"]["threshold"] == saved[method]["val"]["threshold"] == pytest.approx(expected)
    for name in ("association_by_distance.md", "association_by_novelty.csv"):
        assert (work / "metrics" / name).is_file()
    for name in ("association_roc.png", "association_distance_histogram.png", "association_accuracy_vs_distance.png"):
        assert (work / "figures" / name).is_file()
    evaluate_association(work / "waveforms.zarr", work / "embeddings.parquet", work / "again", work / "fig2", config)
    again = json.loads((work / "again" / "association.json").read_text())
    for method in METHODS:
        assert again[method] == saved[method]


def test_embeddings_missing_traces_are_an_error(evaluated, tmp_path):
    from seisembed.evaluate.association import evaluate_association

    work, _, config = evaluated
    embeddings = pd.read_parquet(work / "embeddings.parquet").iloc[:-3]
    embeddings.to_parquet(tmp_path / "short.parquet")
    with pytest.raises(InputError, match="holds .* records but was written with"):
        evaluate_association(
            work / "waveforms.zarr", tmp_path / "short.parquet", tmp_path / "m", tmp_path / "f", config
        )


def _embeddings(n_per=40, seed=0, one_class_test=False):
    rng = np.random.default_rng(seed)
    rows = []
    for split in ("train", "val", "test"):
        for i in range(n_per):
            kind = "explosion" if i % 4 == 0 and not (one_class_test and split == "test") else "earthquake"
            centre = np.r_[1.0, 0.0, 0.0] if kind == "explosion" else np.r_[0.0, 1.0, 0.0]
            v = centre + 0.6 * rng.normal(size=3)
            rows.append(
                {
                    "trace_name": f"{split}{i}",
                    "source_id": f"{split}-ev{i}",
                    "split": split,
                    "source_type": kind,
                    "emb_00": v[0],
                    "emb_01": v[1],
                    "emb_02": v[2],
                }
            )
    frame = pd.DataFrame(rows)
    e = frame[["emb_00", "emb_01", "emb_02"]].to_numpy()
    frame[["emb_00", "emb_01", "emb_02"]] = e / np.linalg.norm(e, axis=1, keepdims=True)
    return frame


def test_discrimination_templates_come_from_train_and_threshold_from_val(monkeypatch):
    from seisembed.evaluate import discrimination

    frame = _embeddings()
    thresholds = []
    real_best = discrimination.best_threshold

    def spy_best(score, matched, criterion="accuracy"):
        thresholds.append(len(score))
        return real_best(score, matched, criterion=criterion)

    monkeypatch.setattr(discrimination, "best_threshold", spy_best)
    run = discrimination.discrimination_trials(frame, 3, "symmetric", trials=20, seed=1)
    rows = np.concatenate(run["template_rows"])
    assert set(frame["split"].to_numpy()[rows]) == {"train"}  # templates never from the scored splits
    assert all(len(r) == 6 for r in run["template_rows"])
    assert set(thresholds) == {int((frame["split"] == "val").sum())}  # thresholds chosen on val records only
    s = run["summary"]
    assert s["n_trials"] == 20 and 0.5 < s["auc_mean"] <= 1.0 and s["auc_p05"] <= s["auc_mean"] <= s["auc_p95"]
    again = discrimination.discrimination_trials(frame, 3, "symmetric", trials=20, seed=1)["summary"]
    assert again == s
    b = s["balanced"]
    assert 0 <= b["recall"] <= 1 and b["balanced_accuracy_p05"] <= b["balanced_accuracy"] <= b["balanced_accuracy_p95"]
    # each cut is best on val at its own criterion; on test the balanced cut is not worse at it here
    assert b["balanced_accuracy"] >= s["balanced_accuracy"] - 0.05 and 0.5 < s["val_auc_mean"] <= 1.0
    counts = np.asarray(s["balanced"]["confusion_test_summed"]["counts"])
    assert counts.sum() == 20 * s["n_test_records"]
    # model selection scores val alone: the test split is neither needed nor read
    no_test = frame[frame["split"] != "test"]
    on_val = discrimination.discrimination_trials(no_test, 3, "symmetric", trials=20, seed=1, scored="val")["summary"]
    assert on_val["auc_mean"] == pytest.approx(s["val_auc_mean"]) and "accuracy" not in on_val
    authors = discrimination.discrimination_trials(frame, 1, "authors", trials=5, seed=1)["summary"]
    assert authors["templates"]["earthquake"] == int(
        ((frame["split"] == "train") & (frame["source_type"] == "earthquake")).sum()
    )


def test_discrimination_needs_both_classes_in_the_test_split():
    from seisembed.evaluate.discrimination import discrimination_trials

    with pytest.raises(InputError, match="split 'test' holds records of \\['earthquake'\\]"):
        discrimination_trials(_embeddings(one_class_test=True), 1, "symmetric", trials=2, seed=1)


def test_discrimination_stage_writes_metrics_and_figures(evaluated):
    from seisembed.evaluate.discrimination import discrimination_trials, evaluate_discrimination

    work, _, config = evaluated
    config = {
        **config,
        "evaluate": {**config["evaluate"], "discrimination_trials": 20, "discrimination_templates": [1, 3]},
    }
    record = evaluate_discrimination(work / "embeddings.parquet", work / "disc", work / "disc_fig", config)
    saved = json.loads((work / "disc" / "discrimination.json").read_text())
    embeddings = pd.read_parquet(work / "embeddings.parquet")
    for protocol in ("symmetric", "authors"):
        for k in (1, 3):
            # the file holds the seeded trials of each protocol and template count, as computed directly
            direct = discrimination_trials(embeddings, k, protocol, 20, config["seed"])["summary"]
            assert saved[protocol][str(k)] == json.loads(json.dumps(direct)) == record[protocol][str(k)]
            s = saved[protocol][str(k)]
            assert s["n_trials"] == 20 and s["auc_p05"] <= s["auc_mean"] <= s["auc_p95"]
            assert all(0 <= s[key] <= 1 for key in ("accuracy", "precision", "recall"))
    for name in ("discrimination_roc.png", "discrimination_confusion.png", "tsne.png"):
        assert (work / "disc_fig" / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name


def test_embedding_auc_maps_store_positions_to_rows():
    from seisembed.train.pairs import embedding_auc

    positions = np.array([40, 7, 12, 3])  # not sorted: rows follow this order
    emb = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    pairs = {"first": np.array([40, 12, 40]), "second": np.array([7, 3, 12]), "matched": np.array([True, True, False])}
    assert embedding_auc(emb, positions, pairs) == 1.0
    pairs["matched"] = ~pairs["matched"]
    assert embedding_auc(emb, positions, pairs) == 0.0
