"""Using a trained model: Embedder, ``seisembed embed | index | similar | discriminate | score-events``.

The fixture is a small study made by the synthetic generator (SDS miniSEED,
StationXML, QuakeML with picks; a few gaps and clipped records), cut by the
waveform stage, and a seeded (untrained) model saved with a model card, as the
training stage saves one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seisembed import cli
from seisembed.errors import InputError

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def study(tmp_path_factory, isc_2014_csv):
    from seisembed.catalog.isc_csv import read_isc_csv
    from seisembed.catalog.quakeml import read_quakeml
    from seisembed.config import section, validate_config
    from seisembed.synthetic.generate import synthesize
    from seisembed.synthetic.subset import select_subset
    from seisembed.train.model import build_model
    from seisembed.waveforms.driver import run_partition
    from seisembed.waveforms.sds import SDSSource
    from seisembed.workflow import partition_of

    root = tmp_path_factory.mktemp("use")
    table = read_isc_csv(isc_2014_csv)
    ids = []
    for cls in ("explosion", "earthquake"):
        ids += sorted(table.loc[table.source_type == cls, "source_id"].unique())[:4]
    subset = select_subset(
        table[table.source_id.isin(ids)], max_records_per_event=4, max_events=None, min_records_per_event=1, seed=1
    )
    out = root / "study"
    synthesize(subset, out, {"p_gap": 0.15, "p_clipped": 0.1}, 1)
    arrivals = read_quakeml(out / "events.xml", out / "stations.xml")
    arrivals.to_parquet(root / "arrivals.parquet")
    config = validate_config({"waveforms": {"source": "sds"}})
    source = SDSSource(out / "sds", out / "stations.xml")
    windows, names = [], []
    for part in sorted(set(partition_of(arrivals["source_origin_time"]))):
        run_partition(root / "arrivals.parquet", part, root / "wf" / part, config, source)
        windows.append(np.load(root / "wf" / part / "windows.npy"))
        names += list(pd.read_parquet(root / "wf" / part / "windows.parquet")["trace_name"])
    model = build_model(section("model", {}), n_samples=7200, seed=0)
    (root / "model").mkdir()
    model.save(root / "model" / "model.keras")
    (root / "model" / "model_card.json").write_text(json.dumps({"waveforms": config["waveforms"]}))
    return {
        "root": root,
        "out": out,
        "model": root / "model" / "model.keras",
        "windows": np.concatenate(windows),
        "names": names,
        "n_picks": len(arrivals),
    }


def _embed(study, *extra) -> tuple[int, Path]:
    out = study["root"] / "cli" / f"emb{len(list((study['root']).glob('cli/*.parquet')))}.parquet"
    rc = cli.main(
        [
            "embed",
            "--model",
            str(study["model"]),
            "--inventory",
            str(study["out"] / "stations.xml"),
            "--picks",
            str(study["out"] / "events.xml"),
            "-o",
            str(out),
            "--no-progress",
            *extra,
        ]
    )
    return rc, out


def test_embed_cuts_the_waveform_stages_windows_from_sds_files_and_streams(study):
    from obspy import read_inventory

    from seisembed.use import Embedder, read_picks
    from seisembed.waveforms.sds import SDSSource
    from seisembed.waveforms.stream import StreamSource, read_miniseed_files

    embedder = Embedder.load(study["model"])
    picks = read_picks(study["out"] / "events.xml", study["out"] / "stations.xml")
    stage = dict(zip(study["names"], study["windows"]))
    windows, records, qc = embedder.cut_windows(picks, SDSSource(study["out"] / "sds", study["out"] / "stations.xml"))
    assert list(qc["qc_status"].value_counts().index.difference(["ok"]))  # the fixture has QC failures
    assert len(qc) == len(picks) == study["n_picks"] and (qc["qc_reason"][qc["qc_status"] != "ok"] != "").all()
    assert sorted(records["trace_name"]) == sorted(stage)
    for name, w in zip(records["trace_name"], windows):
        np.testing.assert_array_equal(w, stage[name])  # byte for byte: the same code cut them
    files = sorted(str(p) for p in (study["out"] / "sds").rglob("*.D.*"))
    stream = read_miniseed_files(files)
    inventory = read_inventory(str(study["out"] / "stations.xml"))
    w2, r2, _ = embedder.cut_windows(picks, StreamSource(stream, inventory))
    assert list(r2["trace_name"]) == list(records["trace_name"])
    np.testing.assert_array_equal(w2, windows)
    frame, qc2 = embedder.embed_stream(stream, inventory, picks)
    expected = embedder.embed_windows(windows)
    np.testing.assert_allclose(frame.filter(like="emb_").to_numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(expected, axis=1), 1.0, atol=1e-5)
    assert frame.attrs["seisembed"]["model_hash"] == embedder.model_hash and qc2.equals(qc)


def test_embed_windows_accepts_both_layouts_and_refuses_other_shapes(study):
    from seisembed.use import Embedder

    embedder = Embedder.load(study["model"])
    w = study["windows"][:3]
    a = embedder.embed_windows(w)
    b = embedder.embed_windows(np.ascontiguousarray(w.transpose(0, 2, 1)))
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(embedder.embed_windows(w[0]), a[:1], atol=1e-6)
    with pytest.raises(InputError, match="expected"):
        embedder.embed_windows(np.zeros((2, 3, 100), np.float32))
    for batch in (0, -1, 2.5):
        with pytest.raises(InputError, match="batch must be a whole number >= 1"):
            embedder.embed_windows(w, batch=batch)
    with pytest.raises(InputError, match="not an array of numbers"):
        embedder.embed_windows([["a"] * 3])


def test_cli_embed_writes_the_evaluation_columns_and_a_qc_table(study):
    from seisembed.columns import EMBEDDING_COLUMNS

    rc, out = _embed(study, "--sds", str(study["out"] / "sds"))
    assert rc == 0
    frame = pd.read_parquet(out)
    assert list(frame.columns[: len(EMBEDDING_COLUMNS)]) == list(EMBEDDING_COLUMNS)
    assert frame.columns.str.startswith("emb_").sum() == 32 and frame.attrs["seisembed"]["model_hash"]
    assert set(frame["source_type"]) <= {"earthquake", "explosion"}
    qc = pd.read_parquet(out.with_name(out.stem + "_qc.parquet"))
    assert len(qc) == study["n_picks"] and (qc["qc_status"] == "ok").sum() == len(frame)
    rc, out2 = _embed(study, "--mseed", *sorted(str(p) for p in (study["out"] / "sds").rglob("*.D.*")))
    assert rc == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out2), frame)


def test_cli_embed_bad_input_is_named(study, tmp_path, capsys):
    junk = tmp_path / "junk.mseed"
    junk.write_text("this is not miniSEED\n")
    rc, _ = _embed(study, "--mseed", str(junk))
    assert rc == 1 and "junk.mseed is not a readable miniSEED file" in capsys.readouterr().err
    # picks at stations the StationXML lacks: a QC row each (no_data), not a crash
    picks = tmp_path / "picks.csv"
    pd.DataFrame(
        {
            "source_id": ["e1", "e1"],
            "station_network_code": ["ZZ", "ZZ"],
            "station_code": ["NONE", "GONE"],
            "trace_p_arrival_time": ["2014-03-01T00:00:00Z", "2014-03-01T00:00:05Z"],
        }
    ).to_csv(picks, index=False)
    out = tmp_path / "e.parquet"
    args = ["embed", "--model", str(study["model"]), "--sds", str(study["out"] / "sds"), "--no-progress"]
    rc = cli.main([*args, "--inventory", str(study["out"] / "stations.xml"), "--picks", str(picks), "-o", str(out)])
    assert rc == 1 and "no record could be embedded" in capsys.readouterr().err
    qc = pd.read_parquet(tmp_path / "e_qc.parquet")
    assert (
        list(qc["qc_status"]) == ["no_data", "no_data"]
        and qc["qc_reason"].str.contains("no StationXML for station ZZ.").all()
    )
    # picks at stations that are in the StationXML but have no data then: no_data rows
    from seisembed.use import read_picks

    real = read_picks(study["out"] / "events.xml", study["out"] / "stations.xml").head(2).copy()
    real["trace_p_arrival_time"] = real["trace_p_arrival_time"] + pd.Timedelta(hours=5)
    real["source_id"] = "late"
    real[["source_id", "station_network_code", "station_code", "trace_p_arrival_time"]].to_csv(picks, index=False)
    rc = cli.main([*args, "--inventory", str(study["out"] / "stations.xml"), "--picks", str(picks), "-o", str(out)])
    qc = pd.read_parquet(tmp_path / "e_qc.parquet")
    assert rc == 1 and list(qc["qc_status"]) == ["no_data", "no_data"], qc[["qc_status", "qc_reason"]]
    assert qc["qc_reason"].str.contains("no records for").all()
    capsys.readouterr()
    pd.DataFrame({"source_id": ["e1"], "station_code": ["X"]}).to_csv(tmp_path / "bad.csv", index=False)
    rc = cli.main(
        [*args, "--inventory", str(study["out"] / "stations.xml"), "--picks", str(tmp_path / "bad.csv"), "-o", str(out)]
    )
    assert rc == 1 and "missing column(s)" in capsys.readouterr().err


def test_a_model_of_another_window_length_is_refused(study, tmp_path):
    from seisembed.config import section
    from seisembed.train.model import build_model
    from seisembed.use import Embedder

    build_model(section("model", {}), n_samples=800, seed=0).save(tmp_path / "short.keras")
    with pytest.raises(InputError, match="another window length"):
        Embedder.load(tmp_path / "short.keras")
    assert (
        Embedder.load(tmp_path / "short.keras", {"window_before_s": 5.0, "window_after_s": 15.0}).spec.n_samples == 800
    )


def _embeddings(n_events: int, per: int, dim: int = 8, seed: int = 0, spread: float = 0.15, model: str = "m1"):
    from seisembed.testing.embeddings import clustered_embeddings

    return clustered_embeddings(n_events, per, dim, seed, spread, model)


@pytest.mark.parametrize("approximate", [False, True])
def test_index_and_similar_find_the_records_of_one_event(tmp_path, approximate):
    frame = _embeddings(40, 5, spread=0.05)
    frame.to_parquet(tmp_path / "emb.parquet")
    flag = ["--approximate"] if approximate else []
    assert cli.main(["index", str(tmp_path / "emb.parquet"), "-o", str(tmp_path / "idx"), *flag]) == 0
    info = json.loads((tmp_path / "idx" / "index.json").read_text())
    assert info["model_hash"] == "m1" and info["n"] == 200 and info["kind"] == ("hnsw" if approximate else "exact")
    queries = frame.iloc[::5]
    queries.to_parquet(tmp_path / "q.parquet")
    out = tmp_path / "sim.csv"
    assert (
        cli.main(
            ["similar", str(tmp_path / "idx"), str(tmp_path / "q.parquet"), "-k", "4", "-o", str(out), "--no-progress"]
        )
        == 0
    )
    sim = pd.read_csv(out)
    assert len(sim) == 4 * len(queries) and (sim["query_trace_name"] != sim["match_trace_name"]).all()
    assert (sim["match_source_id"] == sim["query_source_id"]).mean() > 0.95  # its own event's other 4 records
    assert (sim.groupby("query_trace_name")["distance"].apply(lambda d: d.is_monotonic_increasing)).all()
    ev = tmp_path / "ev.csv"
    args = [
        "similar",
        str(tmp_path / "idx"),
        str(tmp_path / "q.parquet"),
        "--by",
        "event",
        "-k",
        "3",
        "--exclude-same-event",
    ]
    assert cli.main([*args, "-o", str(ev), "--no-progress"]) == 0
    events = pd.read_csv(ev)
    assert len(events) == 3 * len(queries) and (events["match_source_id"] != events["query_source_id"]).all()
    assert not events.duplicated(["query_trace_name", "match_source_id"]).any()


def test_exact_and_approximate_indexes_agree(tmp_path):
    from seisembed.use.search import build_index, load_index, similar

    frame = _embeddings(300, 4, dim=16, seed=2)
    build_index(frame, tmp_path / "e")
    build_index(frame, tmp_path / "a", "hnsw")
    q = frame.iloc[::7]
    exact = similar(load_index(tmp_path / "e"), q, 10)
    approx = similar(load_index(tmp_path / "a"), q, 10)
    hits = [
        len(set(a) & set(e)) / 10
        for (_, a), (_, e) in zip(
            approx.groupby("query_trace_name")["match_trace_name"],
            exact.groupby("query_trace_name")["match_trace_name"],
        )
    ]
    assert np.mean(hits) > 0.9


def test_similar_refuses_another_model_an_empty_query_and_a_non_index(tmp_path, capsys):
    from seisembed.use.search import build_index, load_index, similar

    build_index(_embeddings(5, 3), tmp_path / "idx")
    index = load_index(tmp_path / "idx")
    with pytest.raises(InputError, match="embedded by model m2"):
        similar(index, _embeddings(2, 2, model="m2"), 3)
    with pytest.raises(InputError, match="no records"):
        similar(index, _embeddings(5, 3).iloc[:0], 3)
    with pytest.raises(InputError, match="not a seisembed index"):
        load_index(tmp_path)
    with pytest.raises(InputError, match="no model hash"):
        build_index(_embeddings(2, 2, model=""), tmp_path / "x")
    empty = _embeddings(5, 3).iloc[:0]
    empty.to_parquet(tmp_path / "empty.parquet")
    assert (
        cli.main(["similar", str(tmp_path / "idx"), str(tmp_path / "empty.parquet"), "-o", str(tmp_path / "s.csv")])
        == 1
    )
    assert "holds no records" in capsys.readouterr().err


def test_discriminate_labels_records_and_events_from_a_few_templates(tmp_path):
    from seisembed.use.templates import discriminate

    frame = _embeddings(30, 4, spread=0.3)
    rng = np.random.default_rng(0)
    # classes = two directions: events of a class share a common component
    emb = frame.filter(like="emb_").to_numpy()
    axis = np.eye(emb.shape[1])[0]
    sign = np.where(frame["source_type"] == "explosion", 1.0, -1.0)[:, None]
    emb = emb + 1.5 * sign * axis + 0.1 * rng.normal(size=emb.shape)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    frame[[c for c in frame.columns if c.startswith("emb_")]] = emb.astype(np.float32)
    templates = pd.concat([frame[frame.source_type == c].head(2) for c in ("earthquake", "explosion")])
    templates.attrs = frame.attrs
    records, events, summary = discriminate(templates, frame)
    assert summary["templates_left_out_of_queries"] == 4 and len(records) == len(frame) - 4
    assert not records["trace_name"].isin(templates["trace_name"]).any()
    assert summary["record_accuracy_where_known"] > 0.9 and (records["score"] >= 1).all()
    truth = frame.drop_duplicates("source_id").set_index("source_id")["source_type"]
    assert (events.set_index("source_id")["label"] == truth.loc[events["source_id"]].to_numpy()).mean() > 0.9
    three = templates.copy()
    three.loc[three.index[0], "source_type"] = "mine_blast"
    assert set(discriminate(three, frame)[0]["label"]) <= {"earthquake", "explosion", "mine_blast"}
    one = templates[templates.source_type == "explosion"]
    with pytest.raises(InputError, match="at least two classes"):
        discriminate(one, frame)


def test_cli_discriminate_draws_templates_from_a_split(tmp_path):
    frame = _embeddings(30, 4)
    frame.to_parquet(tmp_path / "emb.parquet")
    out = tmp_path / "labels.csv"
    args = ["discriminate", str(tmp_path / "emb.parquet"), "--templates", str(tmp_path / "emb.parquet")]
    assert cli.main([*args, "--template-split", "train", "--per-class", "2", "--seed", "4", "-o", str(out)]) == 0
    summary = json.loads((tmp_path / "labels_summary.json").read_text())
    assert summary["classes"] == {"earthquake": 2, "explosion": 2} and summary["templates_left_out_of_queries"] == 4
    assert len(pd.read_csv(out)) == 116 and len(pd.read_csv(tmp_path / "labels_events.csv")) == 30


def test_score_events_flags_misassociated_records_at_the_calibrated_rate(tmp_path):
    from seisembed.use.scoring import calibrate, score_events

    calibration_frame = _embeddings(150, 6, seed=5)
    cal = calibrate(calibration_frame, far=0.1, seed=1)
    assert cal["observed_far"] <= 0.1 + 1e-9 and cal["wrong_event_flagged"] > 0.9
    assert cal["records"] == (calibration_frame["split"] == "val").sum()
    # an associator's output: correct events with one wrongly associated record each, and a single-record event
    good = _embeddings(40, 6, seed=9)
    wrong = good.groupby("source_id").head(1).index
    rolled = good.loc[wrong, "source_id"].to_numpy()
    good.loc[wrong, "source_id"] = np.roll(rolled, 1)  # the first record of each event moved to another event
    good.loc[len(good)] = good.iloc[0]
    good.loc[len(good) - 1, ["trace_name", "source_id"]] = ["lone_XX.S0.", "lone"]
    records, events, summary = score_events(good, cal)
    moved = records["trace_name"].isin(good.loc[wrong, "trace_name"])
    assert records.loc[moved, "flagged"].mean() > 0.9
    # correct records: their leave-one-out centroids hold the intruder, so somewhat above the FAR
    assert records.loc[~moved & (records.status == "scored"), "flagged"].mean() < 0.5
    clean, _, _ = score_events(_embeddings(60, 6, seed=11), cal)
    assert abs(clean["flagged"].mean() - 0.1) < 0.06  # a clean associator: flagged at the calibrated rate
    assert events.set_index("source_id").loc["lone", "status"] == "single_record"
    assert summary["single_record_events"] == 1 and summary["flagged_events"] >= 35
    with pytest.raises(InputError, match="calibration by"):
        score_events(_embeddings(3, 3, model="other"), cal)
    with pytest.raises(InputError, match="false-alarm rate"):
        calibrate(calibration_frame, far=1.5)


def test_cli_score_events_writes_records_events_and_summary(tmp_path):
    _embeddings(150, 6, seed=5).to_parquet(tmp_path / "cal.parquet")
    _embeddings(10, 4, seed=3).to_parquet(tmp_path / "ev.parquet")
    out = tmp_path / "scores.parquet"
    rc = cli.main(
        ["score-events", str(tmp_path / "ev.parquet"), "--calibration", str(tmp_path / "cal.parquet"), "-o", str(out)]
    )
    assert rc == 0
    summary = json.loads((tmp_path / "scores_summary.json").read_text())
    assert summary["calibration"]["far"] == 0.05 and summary["records"] == 40
    assert len(pd.read_parquet(tmp_path / "scores_events.parquet")) == 10


def test_every_use_command_has_help_with_examples(capsys):
    for name in ("embed", "index", "similar", "discriminate", "score-events"):
        with pytest.raises(SystemExit):
            cli.main([name, "--help"])
        text = capsys.readouterr().out
        assert "examples:" in text and f"seisembed {name}" in text


@pytest.mark.skipif("SEISEMBED_RESULTS" not in os.environ, reason="set SEISEMBED_RESULTS to a finished run's results/")
def test_embed_equals_the_evaluation_stage_on_a_finished_run(tmp_path):
    """``seisembed embed`` on a finished run's archive gives the evaluation stage's embeddings (CI: the tiny run)."""
    import yaml

    results = Path(os.environ["SEISEMBED_RESULTS"])
    config = yaml.safe_load(Path(os.environ.get("SEISEMBED_CONFIG", "config.yaml")).read_text())
    synthetic = Path(config["synthetic"].get("output_dir", "resources/synthetic"))
    out = tmp_path / "emb.parquet"
    rc = cli.main(
        [
            "embed",
            "--model",
            str(results / "model" / "model.keras"),
            "--sds",
            str(synthetic / "sds"),
            "--inventory",
            str(synthetic / "stations.xml"),
            "--picks",
            str(results / "catalog" / "arrivals.parquet"),
            "-o",
            str(out),
            "--no-progress",
        ]
    )
    assert rc == 0
    ours = pd.read_parquet(out).set_index("trace_name")
    stage = pd.read_parquet(results / "embeddings" / "embeddings.parquet").set_index("trace_name")
    assert stage.index.isin(ours.index).all()
    emb = [c for c in stage.columns if c.startswith("emb_")]
    np.testing.assert_allclose(ours.loc[stage.index, emb].to_numpy(), stage[emb].to_numpy(), atol=1e-5)
    assert ours.attrs["seisembed"]["model_hash"] == stage.attrs["seisembed"]["model_hash"]
