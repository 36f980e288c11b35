"""The dataset store: contract, atomic writing, card counts, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from seisembed.columns import ARRIVAL_COLUMNS
from seisembed.config import default_config
from seisembed.dataset import build as build_module
from seisembed.dataset.build import build_dataset
from seisembed.dataset.card import FIGURES, write_card
from seisembed.dataset.splits import station_ids
from seisembed.dataset.testing import synthetic_metadata, write_partitions
from seisembed.errors import InputError

RATE, BEFORE, AFTER = 10.0, 3.0, 7.0  # short windows keep the tests fast
N_SAMPLES = int(RATE * (BEFORE + AFTER))


def _str(values) -> np.ndarray:
    """A Zarr/xarray string array (NumPy StringDType) as fixed-width unicode."""
    return np.asarray(values.tolist(), dtype=str)


def small_config(**dataset) -> dict:
    config = default_config()
    config["waveforms"].update(sampling_rate_hz=RATE, window_before_s=BEFORE, window_after_s=AFTER)
    config["dataset"]["held_out_stations"]["count"] = 4
    config["dataset"]["months"]["search_tries"] = 100
    config["dataset"]["shard_traces"] = 16
    config["dataset"].update(dataset)
    return config


def make_inputs(root: Path, n_events: int = 120, seed: int = 5) -> pd.DataFrame:
    meta = synthetic_metadata(
        n_events, n_stations=40, records_per_event=(6, 20), seed=seed, box_events=5, rate_hz=RATE, before_s=BEFORE
    )
    write_partitions(root, meta, seed=seed, n_samples=N_SAMPLES)
    return meta


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("waveforms")
    meta = make_inputs(root)
    out = tmp_path_factory.mktemp("dataset")
    config = small_config()
    result = build_dataset(root, out / "waveforms.zarr", config, summary=root / "summary.json")
    attrs = dict(xr.open_zarr(result.store).attrs)
    card = write_card(out, result.frame, result.splits.removed, result.splits.details, result.inputs, attrs)
    return {"root": root, "meta": meta, "out": out, "result": result, "card": card, "config": config}


def test_store_follows_the_contract(built):
    ds = xr.open_zarr(built["out"] / "waveforms.zarr")
    assert ds["waveform"].dims == ("trace", "channel", "sample")
    assert ds["waveform"].dtype == np.float32
    assert ds["waveform"].shape[1:] == (3, N_SAMPLES)
    assert list(ds["channel"].values) == ["Z", "N", "E"]
    for name in (*ARRIVAL_COLUMNS, "trace_name", "trace_p_arrival_sample", "split", "novel_station", "novel_location"):
        assert name in ds.coords, name
        assert ds[name].dims == ("trace",)
    assert ds["novel_station"].dtype == bool and ds["novel_location"].dtype == bool
    assert np.issubdtype(ds["source_origin_time"].dtype, np.datetime64)
    assert set(_str(ds["split"].values)) == {"train", "val", "test"}
    names = _str(ds["trace_name"].values)
    assert len(set(names)) == len(names)
    for key in (
        "sampling_rate_hz",
        "component_order",
        "window_before_s",
        "window_after_s",
        "config_hash",
        "git_commit",
        "packages",
        "provenance",
    ):
        assert key in ds.attrs, key
    assert ds.attrs["sampling_rate_hz"] == RATE and ds.attrs["component_order"] == "ZNE"
    assert ds.attrs["window_before_s"] == BEFORE and ds.attrs["window_after_s"] == AFTER
    assert ds.attrs["packages"]["xarray"] == xr.__version__


def test_windows_match_their_input_rows(built):
    ds = xr.open_zarr(built["out"] / "waveforms.zarr")
    names = _str(ds["trace_name"].values)
    pick = np.linspace(0, len(names) - 1, 25).astype(int)
    for i in pick:
        name = names[i]
        row = built["meta"].index[built["meta"]["trace_name"] == name][0]
        month = pd.Timestamp(built["meta"].loc[row, "source_origin_time"]).strftime("%Y-%m")
        part_meta = pd.read_parquet(built["root"] / month / "windows.parquet")
        j = int(np.flatnonzero(part_meta["trace_name"].to_numpy() == name)[0])
        expected = np.load(built["root"] / month / "windows.npy", mmap_mode="r")[j]
        np.testing.assert_array_equal(ds["waveform"][i].values, expected)
    origin = pd.to_datetime(ds["source_origin_time"].values[pick]).tz_localize("UTC")
    meta_origin = built["meta"].set_index("trace_name").loc[names[pick], "source_origin_time"]
    assert (origin == pd.DatetimeIndex(meta_origin)).all()


def test_events_and_splits_are_contiguous(built):
    ds = xr.open_zarr(built["out"] / "waveforms.zarr")
    source = _str(ds["source_id"].values)
    split = _str(ds["split"].values)
    starts = np.r_[True, source[1:] != source[:-1]]
    assert len(set(source[starts])) == int(starts.sum())  # each event one run
    order = {"train": 0, "val": 1, "test": 2}
    assert (np.diff([order[s] for s in split]) >= 0).all()


def test_no_held_out_records_in_train_or_val(built):
    ds = xr.open_zarr(built["out"] / "waveforms.zarr")
    frame = (
        ds[["split", "novel_station", "novel_location", "station_network_code", "station_code"]]
        .reset_coords()
        .to_dataframe()
    )
    frame = frame.astype({"split": object, "station_network_code": object, "station_code": object}).astype(
        {"split": str, "station_network_code": str, "station_code": str}
    )
    held = built["result"].splits.details["held_out_stations"]
    train_val = frame[frame["split"] != "test"]
    assert not station_ids(train_val).isin(held).any()
    assert not train_val["novel_station"].any() and not train_val["novel_location"].any()


def test_card_counts_match_the_store(built):
    ds = xr.open_zarr(built["out"] / "waveforms.zarr")
    card = json.loads((built["out"] / "card.json").read_text())
    split = _str(ds["split"].values)
    source = _str(ds["source_id"].values)
    kind = _str(ds["source_type"].values)
    for name, counts in card["counts"]["splits"].items():
        assert counts["records"] == int((split == name).sum())
        assert counts["events"] == len(set(source[split == name]))
        assert counts["by_class"]["explosion"]["records"] == int(((split == name) & (kind == "explosion")).sum())
    novel = card["counts"]["novelty"]
    test = split == "test"
    ns, nl = ds["novel_station"].values, ds["novel_location"].values
    assert novel["novel_station"]["records"] == int((test & ns & ~nl).sum())
    assert novel["novel_location"]["records"] == int((test & ~ns & nl).sum())
    assert sum(v["records"] for v in novel.values()) == int(test.sum())
    assert card["counts"]["total"]["records"] + sum(v["records"] for v in card["removed"].values()) == len(
        built["meta"]
    )
    assert card["inputs"]["qc_status_counts"]["gap"] == 12
    text = (built["out"] / "card.md").read_text()
    assert "## Splits" in text and "held-out stations (4)" in text
    for name in FIGURES.values():
        assert (built["out"] / "figures" / name).stat().st_size > 1000


def test_killed_build_leaves_no_store(tmp_path, built, monkeypatch):
    target = tmp_path / "waveforms.zarr"
    shutil.copytree(built["out"] / "waveforms.zarr", target)

    def boom(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(build_module, "_load_block", boom)
    with pytest.raises(RuntimeError, match="killed"):
        build_dataset(built["root"], target, built["config"])
    assert [p.name for p in tmp_path.iterdir()] == ["waveforms.zarr"]  # no temporary left
    assert (
        xr.open_zarr(target).sizes["trace"] == xr.open_zarr(built["out"] / "waveforms.zarr").sizes["trace"]
    )  # old store untouched


def _copy_inputs(built, tmp_path) -> Path:
    root = tmp_path / "waveforms"
    shutil.copytree(built["root"], root)
    return root


def test_differing_sample_counts_name_the_partition(built, tmp_path):
    root = _copy_inputs(built, tmp_path)
    windows = np.load(root / "2014-05" / "windows.npy")
    np.save(root / "2014-05" / "windows.npy", windows[:, :, :-1].copy())
    with pytest.raises(InputError, match="partition 2014-0[15].*samples"):
        build_dataset(root, tmp_path / "out.zarr", built["config"])


def test_differing_sampling_rates_name_the_partition(built, tmp_path):
    root = _copy_inputs(built, tmp_path)
    meta = pd.read_parquet(root / "2014-03" / "windows.parquet")
    meta["trace_sampling_rate_hz"] = 20.0
    meta.to_parquet(root / "2014-03" / "windows.parquet")
    with pytest.raises(InputError, match="partition 2014-0[13].*Hz"):
        build_dataset(root, tmp_path / "out.zarr", built["config"])


def test_duplicate_trace_names_are_named(built, tmp_path):
    root = _copy_inputs(built, tmp_path)
    meta = pd.read_parquet(root / "2014-02" / "windows.parquet")
    first = pd.read_parquet(root / "2014-01" / "windows.parquet")["trace_name"].iloc[0]
    meta.loc[0, "trace_name"] = first
    meta.to_parquet(root / "2014-02" / "windows.parquet")
    with pytest.raises(InputError, match=f"{first}.*2014-01/2014-02"):
        build_dataset(root, tmp_path / "out.zarr", built["config"])


def test_row_count_mismatch_is_named(built, tmp_path):
    root = _copy_inputs(built, tmp_path)
    windows = np.load(root / "2014-04" / "windows.npy")
    np.save(root / "2014-04" / "windows.npy", windows[:-1].copy())
    with pytest.raises(InputError, match="partition 2014-04.*must match"):
        build_dataset(root, tmp_path / "out.zarr", built["config"])


def test_nan_windows_marked_ok_are_excluded_and_counted(built, tmp_path):
    root = _copy_inputs(built, tmp_path)
    windows = np.load(root / "2014-06" / "windows.npy")
    windows[2, 1, 5] = np.nan
    np.save(root / "2014-06" / "windows.npy", windows)
    bad = pd.read_parquet(root / "2014-06" / "windows.parquet")["trace_name"].iloc[2]
    result = build_dataset(root, tmp_path / "out.zarr", built["config"])
    assert (
        result.splits.removed["non_finite"] == {"records": 1, "events": 0}
        or result.splits.removed["non_finite"]["records"] == 1
    )
    assert bad not in set(_str(xr.open_zarr(result.store)["trace_name"].values))


def test_window_length_must_match_config(built, tmp_path):
    config = small_config()
    config["waveforms"]["window_after_s"] = 8.0
    with pytest.raises(InputError, match="window_before_s"):
        build_dataset(built["root"], tmp_path / "out.zarr", config)


def test_cli_builds_store_and_card(built, tmp_path):
    from seisembed.cli import main

    out = tmp_path / "dataset"
    config = json.dumps({k: built["config"][k] for k in ("dataset", "waveforms", "seed", "study")})
    code = main(
        [
            "dataset",
            "--config-json",
            config,
            "--waveforms-dir",
            str(built["root"]),
            "--out-dir",
            str(out),
            "--threads",
            "1",
            "--log",
            str(tmp_path / "log.txt"),
        ]
    )
    assert code == 0
    assert (out / "card.md").is_file() and (out / "card.json").is_file() and (out / "waveforms.zarr").is_dir()
    assert json.loads((out / "card.json").read_text())["counts"] == built["card"]["counts"]
    assert "dataset store" in (tmp_path / "log.txt").read_text()


def test_cli_reports_bad_input_without_traceback(tmp_path):
    from seisembed.cli import main

    code = main(["dataset", "--waveforms-dir", str(tmp_path / "missing"), "--out-dir", str(tmp_path / "out")])
    assert code == 1


def test_empty_partition_is_accepted(built, tmp_path):
    root = _copy_inputs(built, tmp_path)
    empty = root / "2015-01"
    empty.mkdir()
    np.save(empty / "windows.npy", np.zeros((0, 3, N_SAMPLES), np.float32))
    pd.read_parquet(root / "2014-01" / "windows.parquet").iloc[:0].to_parquet(empty / "windows.parquet")
    result = build_dataset(root, tmp_path / "out.zarr", built["config"])
    assert "2015-01" in result.inputs["partitions"]
    assert len(result.frame) == len(built["result"].frame)


def test_no_partitions_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no waveform partitions"):
        build_dataset(tmp_path, tmp_path / "out.zarr", small_config())


def test_events_stay_contiguous_when_their_records_disagree_on_origin_time():
    t = pd.Timestamp("2014-03-01T00:00:00", tz="UTC")
    frame = pd.DataFrame(
        {
            "split": ["train"] * 4,
            "source_id": ["A", "A", "B", "B"],
            "source_origin_time": [
                t,
                t + pd.Timedelta("2s"),
                t + pd.Timedelta("1s"),
                t + pd.Timedelta("1s"),
            ],  # A's second record rounded
            "station_network_code": ["XX"] * 4,
            "station_code": ["S1", "S2", "S1", "S2"],
            "trace_name": ["a1", "a2", "b1", "b2"],
        }
    )
    ordered = build_module.store_order(frame.iloc[::-1])
    assert ordered["source_id"].tolist() == ["A", "A", "B", "B"]
    assert ordered["trace_name"].tolist() == ["a1", "a2", "b1", "b2"]


def test_p_sample_must_match_window_before(built, tmp_path):
    # same length, other split of it (e.g. a partition cut with 2 s before P): the attrs would lie
    root = _copy_inputs(built, tmp_path)
    meta = pd.read_parquet(root / "2014-03" / "windows.parquet")
    meta["trace_p_arrival_sample"] = int(RATE * 2.0)
    meta.to_parquet(root / "2014-03" / "windows.parquet")
    with pytest.raises(InputError, match=r"partition 2014-03.*window_before_s"):
        build_dataset(root, tmp_path / "out.zarr", built["config"])


def test_unreadable_metadata_names_the_partition(built, tmp_path):
    root = _copy_inputs(built, tmp_path)
    path = root / "2014-02" / "windows.parquet"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])  # truncated by a full disk, say
    with pytest.raises(InputError, match="partition 2014-02.*Parquet"):
        build_dataset(root, tmp_path / "out.zarr", built["config"])


def test_unreadable_qc_ledger_names_the_partition(built, tmp_path):
    root = _copy_inputs(built, tmp_path)
    (root / "2014-05" / "qc.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="partition 2014-05.*qc.parquet"):
        build_dataset(root, tmp_path / "out.zarr", built["config"])
    assert not (tmp_path / "out.zarr").exists()  # stopped before writing


# -- moved from test_foundation.py (schema defaults, bad input)
def test_store_values_are_float32_and_reads_match(tmp_path):
    from seisembed.dataset.store import read_traces

    data = np.arange(2 * 3 * 5, dtype=np.float32).reshape(2, 3, 5)
    assert read_traces(data, np.array([1, 0, 1])).dtype == np.float32


def test_read_metadata_decodes_time_columns_as_xarray_does(built, tmp_path):
    from seisembed.dataset.store import read_metadata

    store = built["result"].store
    times = ["source_origin_time", "trace_p_arrival_time", "trace_start_time"]
    frame = read_metadata(store, [*times, "source_id", "trace_p_arrival_sample"])
    ds = xr.open_zarr(store)
    for column in times:
        values = frame[column].to_numpy()
        assert values.dtype == np.dtype("datetime64[ns]"), column
        np.testing.assert_array_equal(values, ds[column].values, err_msg=column)
    assert frame["trace_p_arrival_sample"].dtype.kind == "i"  # other numbers stay as stored
    # NaT (xarray writes the int64 minimum) and nanoseconds survive
    path = tmp_path / "times.zarr"
    stamps = np.array(["2014-01-01T00:00:00.123456789", "NaT", "2015-06-01T12:00:00"], dtype="datetime64[ns]")
    xr.Dataset(coords={"t": ("trace", stamps)}).to_zarr(path, consolidated=False)
    expected = xr.open_zarr(path, consolidated=False)["t"].values
    np.testing.assert_array_equal(read_metadata(path, ["t"])["t"].to_numpy(), expected)
    assert np.isnat(read_metadata(path, ["t"])["t"].to_numpy()[1])
