"""SeisBench's dataset format: export, import, round trip, a fixture written by SeisBench, bad input."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from seisembed.cli import main
from seisembed.config import default_config
from seisembed.dataset.build import build_dataset
from seisembed.dataset.seisbench_export import export_seisbench
from seisembed.dataset.seisbench_format import find_chunks, parse_location, read_data_format
from seisembed.dataset.seisbench_import import build_from_seisbench, component_indices, resample_ratio
from seisembed.dataset.splits import assign_given_splits
from seisembed.dataset.testing import synthetic_metadata, write_partitions
from seisembed.errors import ConfigError, InputError

RATE, BEFORE, AFTER = 10.0, 3.0, 7.0  # short windows keep the tests fast
N_SAMPLES = int(RATE * (BEFORE + AFTER))
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "seisbench" / "written_by_seisbench"


def small_config(**dataset) -> dict:
    config = default_config()
    config["waveforms"].update(sampling_rate_hz=RATE, window_before_s=BEFORE, window_after_s=AFTER)
    config["dataset"]["held_out_stations"]["count"] = 4
    config["dataset"]["months"]["search_tries"] = 100
    config["dataset"].update(dataset)
    return config


def import_config(**seisbench) -> dict:
    """The config of a SeisBench import of hand-made folders: no held-out rules, small events."""
    config = small_config(source="seisbench")
    config["dataset"]["held_out_box"]["enabled"] = False
    config["dataset"]["held_out_stations"]["count"] = 0
    config["dataset"]["min_records_per_event"] = {"train": 2, "val": 2, "test": 1}
    config["dataset"]["seisbench"].update(seisbench)
    return config


def _str(values) -> np.ndarray:
    return np.asarray(values.tolist())


def assert_same_store(a: Path, b: Path) -> None:
    """Every coordinate (values, dtype, order) and every waveform sample equal."""
    da, db = xr.open_zarr(a), xr.open_zarr(b)
    assert dict(da.sizes) == dict(db.sizes)
    assert set(da.coords) == set(db.coords)
    for name in da.coords:
        va, vb = da[name].values, db[name].values
        if va.dtype.kind not in "biufcmM":
            va, vb = _str(va), _str(vb)
        assert va.dtype == vb.dtype, name
        if va.dtype.kind == "f":
            np.testing.assert_array_equal(va, vb, err_msg=name)
        else:
            assert np.array_equal(va, vb), name
    np.testing.assert_array_equal(da["waveform"].values, db["waveform"].values)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small store built from synthetic partitions, and its SeisBench export (buckets of 50 traces)."""
    root = tmp_path_factory.mktemp("sb-waveforms")
    meta = synthetic_metadata(
        60, n_stations=30, records_per_event=(5, 12), seed=7, box_events=4, rate_hz=RATE, before_s=BEFORE
    )
    meta.loc[meta.index[::7], "source_magnitude"] = np.nan  # empty cells survive the CSV
    meta.loc[meta.index[::5], "station_location_code"] = "00"  # codes that look like numbers stay text
    write_partitions(root, meta, seed=7, n_samples=N_SAMPLES)
    out = tmp_path_factory.mktemp("sb-dataset")
    config = small_config()
    result = build_dataset(root, out / "waveforms.zarr", config)
    folder = out / "seisbench"
    export = export_seisbench(result.store, folder, bucket_size=50)
    return {"store": result.store, "folder": folder, "config": config, "export": export, "frame": result.frame}


# --------------------------------------------------------------------------- export


def test_export_writes_seisbench_buckets_data_format_and_metadata(exported):
    folder, store = exported["folder"], exported["store"]
    assert sorted(p.name for p in folder.iterdir()) == ["metadata.csv", "waveforms.hdf5"]
    meta = pd.read_csv(folder / "metadata.csv", keep_default_na=False, dtype=str)
    ds = xr.open_zarr(store)
    n = ds.sizes["trace"]
    assert len(meta) == n == exported["export"].traces
    assert meta["trace_name_original"].tolist() == _str(ds["trace_name"].values).tolist()
    assert set(meta["split"]) == {"train", "dev", "test"}
    assert (meta["split"].replace({"dev": "val"}).to_numpy() == _str(ds["split"].values)).all()
    for column in (
        "trace_p_arrival_sample",
        "trace_sampling_rate_hz",
        "source_id",
        "source_type",
        "station_code",
        "path_ep_distance_km",
        "novel_station",
        "novel_location",
    ):
        assert column in meta.columns, column
    assert set(meta["trace_sampling_rate_hz"].astype(float)) == {RATE}
    fmt = read_data_format(folder / "waveforms.hdf5")
    assert (fmt["dimension_order"], fmt["component_order"], fmt["sampling_rate"]) == ("CW", "ZNE", RATE)
    waveform = ds["waveform"].values
    with h5py.File(folder / "waveforms.hdf5", "r") as handle:
        buckets = {name: handle["data"][name].shape for name in handle["data"]}
        for i in (0, n // 2, n - 1):
            bucket, _, location = meta["trace_name"][i].partition("$")
            trace = handle["data"][bucket][parse_location(location) if location else ()]
            np.testing.assert_array_equal(trace, waveform[i])
    # buckets hold at most 50 traces and never mix splits
    assert all(shape[0] <= 50 for shape in buckets.values() if len(shape) == 3)
    first = meta["trace_name"].str.partition("$")[0]
    assert (meta.groupby(first)["split"].nunique() == 1).all()
    assert exported["export"].buckets == len(buckets)
    assert meta["trace_name"][0] == f"bucket0$0,:3,:{N_SAMPLES}"


def test_export_writes_a_lone_trace_as_its_own_dataset(exported, tmp_path):
    # buckets of 1: every trace a (3, n) dataset named bucket{N}, as WaveformDataWriter writes a lone trace
    folder = tmp_path / "one"
    export_seisbench(exported["store"], folder, bucket_size=1)
    meta = pd.read_csv(folder / "metadata.csv", keep_default_na=False, dtype=str)
    assert not meta["trace_name"].str.contains("$", regex=False).any()
    with h5py.File(folder / "waveforms.hdf5", "r") as handle:
        assert handle["data"][meta["trace_name"][3]].shape == (3, N_SAMPLES)


def test_export_command_line_and_atomic_replacement(exported, tmp_path):
    out = tmp_path / "cli"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    code = main(["dataset", "export-seisbench", str(exported["store"]), str(out), "--bucket-size", "64"])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["metadata.csv", "waveforms.hdf5"]
    assert not list(tmp_path.glob(".cli.tmp-*"))
    # an output inside the store is refused, naming both
    assert main(["dataset", "export-seisbench", str(exported["store"]), str(exported["store"] / "x")]) == 1


def test_export_of_a_missing_store_is_an_error(tmp_path):
    with pytest.raises(InputError, match="does not exist|not a readable Zarr"):
        export_seisbench(tmp_path / "none.zarr", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- round trip


def test_round_trip_export_import_equals_the_store(exported, tmp_path):
    config = json.loads(json.dumps(exported["config"]))
    config["dataset"].update(source="seisbench", seisbench={"path": str(exported["folder"])})
    result = build_from_seisbench(None, tmp_path / "waveforms.zarr", config)
    assert_same_store(exported["store"], result.store)
    assert result.inputs["seisbench"]["novelty_from_dataset"] is True
    assert all(v["records"] == 0 for v in result.splits.removed.values())


def test_round_trip_of_a_chunked_dataset(exported, tmp_path):
    # the export split in two chunks (each chunk its own metadata{c}.csv + waveforms{c}.hdf5), listed in 'chunks'
    folder = tmp_path / "chunked"
    folder.mkdir()
    meta = pd.read_csv(exported["folder"] / "metadata.csv", keep_default_na=False, dtype=str)
    half = len(meta) // 2
    for name, rows in (("_a", meta.iloc[:half]), ("_b", meta.iloc[half:])):
        rows.to_csv(folder / f"metadata{name}.csv", index=False)
        shutil.copy(exported["folder"] / "waveforms.hdf5", folder / f"waveforms{name}.hdf5")
    (folder / "chunks").write_text("_a\n_b\n")
    assert [c.name for c in find_chunks(folder)] == ["_a", "_b"]
    config = json.loads(json.dumps(exported["config"]))
    config["dataset"].update(source="seisbench")
    result = build_from_seisbench(folder, tmp_path / "waveforms.zarr", config)
    assert_same_store(exported["store"], result.store)
    # chunks found by name when there is no 'chunks' file
    (folder / "chunks").unlink()
    assert [c.name for c in find_chunks(folder)] == ["_a", "_b"]


def test_dataset_command_builds_from_seisbench_and_the_card_counts_skips(exported, tmp_path):
    folder = tmp_path / "sb"
    shutil.copytree(exported["folder"], folder)
    meta = pd.read_csv(folder / "metadata.csv", keep_default_na=False, dtype=str)
    meta.loc[3, "trace_p_arrival_sample"] = ""  # one record without P: skipped and counted
    meta.to_csv(folder / "metadata.csv", index=False)
    config = json.loads(json.dumps(exported["config"]))
    config["dataset"].update(source="seisbench", seisbench={"path": str(folder)})
    out = tmp_path / "dataset"
    code = main(["dataset", "--config-json", json.dumps(config), "--out-dir", str(out)])
    assert code == 0
    card = json.loads((out / "card.json").read_text())
    assert card["removed"]["seisbench_no_p_arrival"]["records"] == 1
    assert "P pick" in card["removed"]["seisbench_no_p_arrival"]["description"]
    assert card["inputs"]["qc_status_counts"]["no_p_arrival"] == 1
    markdown = (out / "card.md").read_text()
    assert "seisbench_no_p_arrival" in markdown
    assert "held-out box: as given by the dataset's novel_location column" in markdown
    removed = sum(v["records"] for v in card["removed"].values())  # the P-less record, and its event if too small
    assert removed >= 1
    assert xr.open_zarr(out / "waveforms.zarr").sizes["trace"] == len(meta) - removed


# --------------------------------------------------------------------------- the fixture written by SeisBench


def test_reads_the_dataset_written_by_seisbench_itself(tmp_path):
    expected = np.load(FIXTURE / "expected.npz")
    rate = 20.0  # the fixture's rate; a window of 4 s before to 10 s after P
    config = import_config()
    config["waveforms"].update(sampling_rate_hz=rate, window_before_s=4.0, window_after_s=10.0)
    result = build_from_seisbench(FIXTURE, tmp_path / "waveforms.zarr", config)
    ds = xr.open_zarr(result.store)
    names = _str(ds["trace_name"].values).tolist()
    # the SeisBench names map back to the writer's trace_name_original (or the lone trace's own name)
    assert names == [
        "evA_XX.X01.00",
        "evA_XX.X02.00",
        "evA_XX.X03.00",
        "evB_XX.X01.00",
        "evB_XX.X04.00",
        "evC_XX.X02.00",
    ]
    assert _str(ds["split"].values).tolist() == ["train"] * 3 + ["val"] * 2 + ["test"]
    assert _str(ds["source_type"].values).tolist() == ["earthquake"] * 3 + ["explosion"] * 3  # quarry blast
    assert _str(ds["source_type_raw"].values).tolist()[-1] == "quarry blast"
    assert _str(ds["station_location_code"].values).tolist() == ["00"] * 6
    # the noise trace (no source_id) is counted, not silently dropped
    assert result.splits.removed["seisbench_no_source_id"] == {"records": 1, "events": 0}
    # every window equals SeisBench's own reading (ZNE) cut around P, sample for sample
    order = {str(n).split("$")[0]: i for i, n in enumerate(expected["trace_name"])}
    meta = pd.read_csv(FIXTURE / "metadata.csv", keep_default_na=False, dtype=str)
    original = meta["trace_name_original"].where(meta["trace_name_original"] != "", meta["trace_name"])
    row_of = {name: i for i, name in enumerate(original)}
    waveform = ds["waveform"].values
    for k, name in enumerate(names):
        i = row_of[name]
        p = int(expected["trace_p_arrival_sample"][i])
        np.testing.assert_array_equal(waveform[k], expected["waveforms"][i][:, p - 80 : p + 200])
    assert order  # the fixture lists its traces
    assert int(ds["trace_p_arrival_sample"].values[0]) == 80
    assert pd.Timestamp(ds["trace_p_arrival_time"].values[0]) == pd.Timestamp("2014-03-01T10:00:05")
    assert pd.Timestamp(ds["trace_start_time"].values[0]) == pd.Timestamp("2014-03-01T10:00:01")


def test_resampling_puts_p_on_its_sample(tmp_path):
    # the 20 Hz fixture read at 10 Hz: resample_poly (anti-alias FIR) halves the rate; P stays on sample 40
    config = import_config()
    config["waveforms"].update(sampling_rate_hz=10.0, window_before_s=4.0, window_after_s=10.0)
    result = build_from_seisbench(FIXTURE, tmp_path / "waveforms.zarr", config)
    ds = xr.open_zarr(result.store)
    assert ds["waveform"].shape == (6, 3, 140)
    assert result.inputs["seisbench"]["resampled"] == 6
    expected = np.load(FIXTURE / "expected.npz")
    from scipy import signal

    first = signal.resample_poly(expected["waveforms"][0].astype(np.float64), 1, 2, axis=-1, padtype="line")
    np.testing.assert_allclose(ds["waveform"].values[0], first[:, 50 - 40 : 50 + 100], rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- hand-made folders


def write_folder(
    folder: Path,
    rows: list[dict],
    arrays: dict[str, np.ndarray],
    data_format: dict | None = None,
    chunk: str = "",
) -> Path:
    """A SeisBench folder written with h5py + pandas (the format, without seisbench)."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / f"metadata{chunk}.csv", index=False)
    fmt = {"dimension_order": "CW", "component_order": "ZNE", "sampling_rate": RATE}
    fmt.update(data_format or {})
    with h5py.File(folder / f"waveforms{chunk}.hdf5", "w") as handle:
        group = handle.create_group("data")
        for name, array in arrays.items():
            group.create_dataset(name, data=array)
        formats = handle.create_group("data_format")
        for key, value in fmt.items():
            if value is not None:
                formats.create_dataset(key, data=value)
    return folder


def events_rows(n_samples: int = 150, p: int = 40, rate: float = RATE) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Three events (train, dev, test) of three traces each in bucket ``b0`` of ``(12, 3, n_samples)`` (3 spare)."""
    rng = np.random.default_rng(3)
    array = rng.normal(0, 1, (12, 3, n_samples)).astype(np.float32)
    rows = []
    for i in range(9):
        event = i // 3
        rows.append(
            {
                "trace_name": f"b0${i},:3,:{n_samples}",
                "split": ("train", "dev", "test")[event],
                "source_id": f"ev{event}",
                "source_origin_time": f"2014-0{event + 1}-01T00:00:00Z",
                "source_type": ("earthquake", "explosion", "surface event")[event],
                "station_network_code": "XX",
                "station_code": f"S{i % 3}",
                "trace_p_arrival_sample": p,
                "trace_sampling_rate_hz": rate,
            }
        )
    return rows, {"b0": array}


def test_clean_hand_made_folder_is_read(tmp_path):
    rows, arrays = events_rows()
    folder = write_folder(tmp_path / "sb", rows, arrays)
    result = build_from_seisbench(folder, tmp_path / "w.zarr", import_config())
    ds = xr.open_zarr(result.store)
    np.testing.assert_array_equal(ds["waveform"].values[0], arrays["b0"][0][:, 10:110])
    # other source types keep their label and are counted as left out of the discrimination
    assert _str(ds["source_type"].values).tolist()[-3:] == ["surface event"] * 3
    assert result.inputs["seisbench"]["excluded_from_discrimination"] == {"surface event": 3}


def test_other_source_types_can_be_skipped_and_counted(tmp_path):
    rows, arrays = events_rows()
    for row in rows[6:]:
        row["split"] = "train"  # keep test non-empty otherwise: move the surface events to train ...
    rows[3]["split"] = rows[4]["split"] = rows[5]["split"] = "test"  # ... and the explosion to test
    rows.append({**rows[0], "trace_name": "b0$9,:3,:150", "source_id": "ev9", "split": "dev", "station_code": "S7"})
    rows.append({**rows[0], "trace_name": "b0$10,:3,:150", "source_id": "ev9", "split": "dev", "station_code": "S8"})
    folder = write_folder(tmp_path / "sb", rows, arrays)
    result = build_from_seisbench(folder, tmp_path / "w.zarr", import_config(other_source_types="skip"))
    assert result.splits.removed["seisbench_other_source_type"] == {"records": 3, "events": 1}
    assert set(result.frame["source_type"]) == {"earthquake", "explosion"}


@pytest.mark.parametrize("missing", ["metadata.csv", "waveforms.hdf5"])
def test_folder_without_one_of_its_files_is_an_error_naming_it(tmp_path, missing):
    rows, arrays = events_rows()
    folder = write_folder(tmp_path / "sb", rows, arrays)
    (folder / missing).unlink()
    with pytest.raises(InputError, match=missing.replace(".", r"\.")):
        build_from_seisbench(folder, tmp_path / "w.zarr", import_config())
    assert not (tmp_path / "w.zarr").exists()


def test_empty_folder_and_missing_chunk_are_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="neither metadata.csv"):
        find_chunks(tmp_path / "empty")
    with pytest.raises(InputError, match="not a folder"):
        find_chunks(tmp_path / "nowhere")
    rows, arrays = events_rows()
    folder = write_folder(tmp_path / "sb", rows, arrays, chunk="_a")
    (folder / "chunks").write_text("_a\n_b\n")
    with pytest.raises(InputError, match=r"metadata_b\.csv does not exist"):
        find_chunks(folder)
    (folder / "chunks").unlink()
    (folder / "waveforms_c.hdf5").write_bytes(b"")
    with pytest.raises(InputError, match=r"waveforms_c\.hdf5 has no metadata_c\.csv"):
        find_chunks(folder)


def test_trace_name_outside_its_bucket_is_an_error_naming_the_trace(tmp_path):
    rows, arrays = events_rows()
    rows[4]["trace_name"] = "b0$12,:3,:150"  # the bucket holds 9 traces
    folder = write_folder(tmp_path / "sb", rows, arrays)
    with pytest.raises(InputError, match=r"b0\$12,:3,:150.*outside its bucket"):
        build_from_seisbench(folder, tmp_path / "w.zarr", import_config())
    rows[4]["trace_name"] = "b0$4,:3,:999"  # more samples than the bucket has
    write_folder(folder, rows, arrays)
    with pytest.raises(InputError, match=r"b0\$4,:3,:999.*outside its bucket"):
        build_from_seisbench(folder, tmp_path / "w.zarr", import_config())
    rows[4]["trace_name"] = "nothere$0,:3,:150"
    write_folder(folder, rows, arrays)
    with pytest.raises(InputError, match="bucket 'nothere' is not a dataset"):
        build_from_seisbench(folder, tmp_path / "w.zarr", import_config())


@pytest.mark.parametrize("column", ["trace_p_arrival_sample", "source_id", "station_code"])
def test_missing_required_column_is_an_error_naming_it(tmp_path, column):
    rows, arrays = events_rows()
    for row in rows:
        del row[column]
    folder = write_folder(tmp_path / "sb", rows, arrays)
    with pytest.raises(InputError, match=f"metadata.csv has no column {column}"):
        build_from_seisbench(folder, tmp_path / "w.zarr", import_config())


def test_missing_split_column_points_to_the_config_choice(tmp_path):
    rows, arrays = events_rows()
    for row in rows:
        del row["split"]
    folder = write_folder(tmp_path / "sb", rows, arrays)
    with pytest.raises(InputError, match="no column split.*dataset.seisbench.split: seisembed"):
        build_from_seisbench(folder, tmp_path / "w.zarr", import_config())


@pytest.mark.parametrize("order", ["ZRT", "ZZE", "H"])
def test_unknown_component_order_is_an_error_naming_file(tmp_path, order):
    rows, arrays = events_rows()
    folder = write_folder(tmp_path / "sb", rows, arrays, {"component_order": order})
    with pytest.raises(InputError, match=f"component_order '{order}'.*waveforms.hdf5"):
        build_from_seisbench(folder, tmp_path / "w.zarr", import_config())


def test_component_order_maps_to_zne(tmp_path):
    assert component_indices("ZNE") == (0, 1, 2)
    assert component_indices("ENZ") == (2, 1, 0)
    assert component_indices("Z12") == (0, 1, 2)
    assert component_indices("zne") == (0, 1, 2)
    assert component_indices("ZRT") is None
    rows, arrays = events_rows()
    for row in rows[:3]:
        row["trace_component_order"] = "ENZ"  # per trace, over the file's ZNE
    folder = write_folder(tmp_path / "sb", rows, arrays)
    result = build_from_seisbench(folder, tmp_path / "w.zarr", import_config())
    waveform = xr.open_zarr(result.store)["waveform"].values
    np.testing.assert_array_equal(waveform[0], arrays["b0"][0][::-1, 10:110])
    np.testing.assert_array_equal(waveform[3], arrays["b0"][3][:, 10:110])


def test_dimension_order_wc_is_read(tmp_path):
    rows, arrays = events_rows()
    arrays = {"b0": np.ascontiguousarray(arrays["b0"].transpose(0, 2, 1))}
    for i, row in enumerate(rows):
        row["trace_name"] = f"b0${i},:150,:3"
    folder = write_folder(tmp_path / "sb", rows, arrays, {"dimension_order": "WC"})
    result = build_from_seisbench(folder, tmp_path / "w.zarr", import_config())
    waveform = xr.open_zarr(result.store)["waveform"].values
    np.testing.assert_array_equal(waveform[0], arrays["b0"][0].T[:, 10:110])
    write_folder(folder, rows, arrays, {"dimension_order": "NCW"})
    with pytest.raises(InputError, match="dimension_order 'NCW'"):
        build_from_seisbench(folder, tmp_path / "w.zarr", import_config())


def test_sampling_rate_that_cannot_be_resampled_is_a_counted_skip(tmp_path):
    assert resample_ratio(40.0, 40.0) == 1
    assert resample_ratio(100.0, 40.0) == pytest.approx(0.4)
    assert resample_ratio(20.0, 40.0) is None  # no upsampling
    assert resample_ratio(40.3, 40.0) == pytest.approx(400 / 403)  # a ratio of integers up to 1000: resampled
    assert resample_ratio(40.01, 40.0) is None  # not a ratio of small integers (4000/4001), off 40 Hz by 2.5e-4
    assert resample_ratio(float("nan"), 40.0) is None
    rows, arrays = events_rows()
    rows[1]["trace_sampling_rate_hz"] = 7.0  # below 10 Hz
    rows[7]["trace_sampling_rate_hz"] = 10.01
    folder = write_folder(tmp_path / "sb", rows, arrays)
    result = build_from_seisbench(folder, tmp_path / "w.zarr", import_config())
    assert result.splits.removed["seisbench_bad_sampling_rate"] == {"records": 2, "events": 0}
    assert result.inputs["seisbench"]["skipped"]["seisbench_bad_sampling_rate"]["first_traces"] == [
        "b0$1,:3,:150",
        "b0$7,:3,:150",
    ]
    assert len(result.frame) == 7


def test_no_sampling_rate_anywhere_is_an_error_naming_the_file(tmp_path):
    rows, arrays = events_rows()
    for row in rows:
        del row["trace_sampling_rate_hz"]
    folder = write_folder(tmp_path / "sb", rows, arrays, {"sampling_rate": None})
    with pytest.raises(InputError, match="no sampling rate"):
        build_from_seisbench(folder, tmp_path / "w.zarr", import_config())
    # the data_format rate serves when the column is absent
    write_folder(folder, rows, arrays)
    assert len(build_from_seisbench(folder, tmp_path / "w.zarr", import_config()).frame) == 9


def test_traces_shorter_than_the_window_are_skipped_or_padded(tmp_path):
    rows, arrays = events_rows()
    rows[1]["trace_p_arrival_sample"] = 20  # 2 s before P of the 3 s needed
    rows[7]["trace_name"] = "b0$7,:3,:90"  # ends 5 s after P of the 7 s needed
    folder = write_folder(tmp_path / "sb", rows, arrays)
    result = build_from_seisbench(folder, tmp_path / "w.zarr", import_config())
    assert result.splits.removed["seisbench_short"] == {"records": 2, "events": 0}
    padded = build_from_seisbench(folder, tmp_path / "p.zarr", import_config(short_traces="pad"))
    assert padded.inputs["seisbench"]["padded"] == 2
    waveform = xr.open_zarr(padded.store)["waveform"].values
    names = padded.frame["trace_name"].tolist()
    first = waveform[names.index("b0$1,:3,:150")]
    assert (first[:, :10] == 0).all()
    np.testing.assert_array_equal(first[:, 10:], arrays["b0"][1][:, :90])
    second = waveform[names.index("b0$7,:3,:90")]
    np.testing.assert_array_equal(second[:, :80], arrays["b0"][7][:, 10:90])
    assert (second[:, 80:] == 0).all()


def test_nan_samples_are_a_counted_skip(tmp_path):
    rows, arrays = events_rows()
    arrays["b0"][4, 1, 50] = np.nan
    arrays["b0"][5, 0, 140] = np.inf  # outside the window (samples 10..110): kept
    folder = write_folder(tmp_path / "sb", rows, arrays)
    result = build_from_seisbench(folder, tmp_path / "w.zarr", import_config())
    assert result.splits.removed["seisbench_non_finite"] == {"records": 1, "events": 0}
    assert "b0$4,:3,:150" not in set(result.frame["trace_name"])
    assert np.isfinite(xr.open_zarr(result.store)["waveform"].values).all()


def test_one_event_per_source_id_is_an_error(tmp_path):
    rows, arrays = events_rows()
    for i, row in enumerate(rows):
        row["source_id"] = f"single{i}"
    folder = write_folder(tmp_path / "sb", rows, arrays)
    with pytest.raises(InputError, match="every one of its 9 source_id values has a single trace"):
        build_from_seisbench(folder, tmp_path / "w.zarr", import_config())


def test_unknown_split_values_are_counted_and_our_own_split_rules_can_be_used(tmp_path):
    rows, arrays = events_rows()
    rows[0]["split"] = "validation"
    folder = write_folder(tmp_path / "sb", rows, arrays)
    result = build_from_seisbench(folder, tmp_path / "w.zarr", import_config())
    assert result.splits.removed["seisbench_unknown_split"] == {"records": 1, "events": 0}
    # seisembed's split rules: by month (three months, one split each)
    config = import_config(split="seisembed")
    config["dataset"]["months"].update(n_val=1, n_test=1, search_tries=10)
    for row in rows:
        row["source_type"] = "explosion" if row["source_id"] == "ev1" else "earthquake"
    rows += [{**row, "source_id": row["source_id"] + "x", "trace_name": "b1" + row["trace_name"][2:]} for row in rows]
    arrays["b1"] = arrays["b0"]
    for row in rows[9:]:
        row["source_type"] = "earthquake" if row["source_type"] == "explosion" else "explosion"
    write_folder(folder, rows, arrays)
    result = build_from_seisbench(folder, tmp_path / "w.zarr", config)
    assert set(result.frame["split"]) == {"train", "val", "test"}
    assert "months" in result.splits.details


def test_missing_path_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="dataset.seisbench.path"):
        build_from_seisbench(None, tmp_path / "w.zarr", import_config())


def test_workflow_inputs_follow_dataset_source():
    from seisembed import workflow as sw

    config = default_config()
    inputs = sw.dataset_inputs(config, ["2014-01"])
    assert inputs["summary"] == "results/waveforms/summary.json"
    assert sw.dataset_input_options(inputs, ["2014-01"]) == (
        "--waveforms-dir results/waveforms --partitions 2014-01 --summary results/waveforms/summary.json"
    )
    assert sw.upstream_summary(config, "catalog") == ["results/catalog/summary.json"]
    config["dataset"].update(source="seisbench", seisbench={**config["dataset"]["seisbench"], "path": "my sb"})
    inputs = sw.dataset_inputs(config, ["2014-01"])
    assert inputs == {"seisbench": "my sb"}
    assert sw.dataset_input_options(inputs, []) == "--seisbench-dir 'my sb'"
    assert sw.upstream_summary(config, "catalog") == []
    assert sw.synthetic_calibration(config) == []


def test_discrimination_leaves_out_other_source_types_and_counts_them(tmp_path):
    # a store imported from SeisBench may keep e.g. "surface event": it is embedded, but not a class
    from seisembed.embeddings import embeddings_frame
    from seisembed.evaluate.discrimination import evaluate_discrimination

    rng = np.random.default_rng(0)
    rows = []
    for split in ("train", "val", "test"):
        for i in range(24):
            kind = ("earthquake", "explosion", "surface event")[i % 3]
            rows.append(
                {
                    "trace_name": f"{split}{i}",
                    "source_id": f"{split}-ev{i}",
                    "split": split,
                    "source_type": kind,
                    "station_network_code": "XX",
                    "station_code": f"S{i}",
                    "novel_station": False,
                    "novel_location": False,
                }
            )
    meta = pd.DataFrame(rows)
    centres = {"earthquake": [1.0, 0, 0], "explosion": [0, 1.0, 0], "surface event": [0, 0, 1.0]}
    emb = np.array([centres[k] for k in meta["source_type"]]) + 0.3 * rng.normal(size=(len(meta), 3))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    embeddings_frame(meta, emb, model_id="m").to_parquet(tmp_path / "embeddings.parquet")
    config = default_config()
    config["evaluate"].update(discrimination_trials=5, discrimination_templates=[1])
    record = evaluate_discrimination(tmp_path / "embeddings.parquet", tmp_path / "m", tmp_path / "f", config)
    assert record["excluded_source_types"] == {"surface event": 24}
    assert record["symmetric"]["1"]["n_test_records"] == 16


def test_fractional_p_is_put_on_its_sample():
    from seisembed.dataset.seisbench_import import Window, cut_window

    ramp = np.tile(np.arange(200, dtype=np.float64), (3, 1))  # a linear ramp: interpolation gives the position
    window = Window(RATE, BEFORE, AFTER)
    out, note = cut_window(ramp, RATE, 50.5, window)
    assert note == "" and out.shape == (3, N_SAMPLES)
    np.testing.assert_allclose(out[0], 20.5 + np.arange(N_SAMPLES), atol=1e-3)  # P (50.5) lands on sample 30
    exact, _ = cut_window(ramp, RATE, 50, window)
    np.testing.assert_array_equal(exact[0], np.arange(20, 20 + N_SAMPLES))


def test_empty_trace_name_is_an_error_naming_the_line(tmp_path):
    rows, arrays = events_rows()
    rows[2]["trace_name"] = ""
    folder = write_folder(tmp_path / "sb", rows, arrays)
    with pytest.raises(InputError, match="line 4 has an empty trace_name"):
        build_from_seisbench(folder, tmp_path / "w.zarr", import_config())


# --------------------------------------------------------------------------- review fixes


def _with_fourth_event(rows: list[dict], split: str = "train") -> list[dict]:
    """``rows`` plus event ev3 (three traces of ``split`` in the bucket's spare rows 9-11)."""
    extra = [
        {**rows[0], "trace_name": f"b0${i},:3,:150", "source_id": "ev3", "split": split, "station_code": f"S{i - 9}"}
        for i in (9, 10, 11)
    ]
    return rows + extra


def test_event_in_several_splits_is_an_error_or_skipped_and_counted(tmp_path):
    rows, arrays = events_rows()
    rows = _with_fourth_event(rows)
    rows[1]["split"] = "dev"  # ev0: train, dev, train (SeisBench allows a per-trace split)
    folder = write_folder(tmp_path / "sb", rows, arrays)
    with pytest.raises(
        InputError, match=r"metadata\.csv: 1 event.*ev0: dev/train.*dataset\.seisbench\.split: seisembed"
    ):
        build_from_seisbench(folder, tmp_path / "w.zarr", import_config())
    result = build_from_seisbench(folder, tmp_path / "w.zarr", import_config(mixed_split_events="skip"))
    assert result.splits.removed["seisbench_event_in_several_splits"] == {"records": 3, "events": 1}
    assert "ev0" not in set(result.frame["source_id"])
    assert result.inputs["seisbench"]["skipped"]["seisbench_event_in_several_splits"]["records"] == 3
    # every event of the store in one split, and the splits themselves refuse a mixed event
    assert (result.frame.groupby("source_id")["split"].nunique() == 1).all()
    mixed = result.frame.copy()
    mixed.loc[mixed.index[0], "split"] = "test" if mixed["split"].iloc[0] != "test" else "val"
    with pytest.raises(InputError, match="more than one split"):
        assign_given_splits(mixed, import_config()["dataset"], 0, held_out=False)


def test_unrotated_horizontals_are_refused_unless_accepted(tmp_path, caplog):
    rows, arrays = events_rows()
    folder = write_folder(tmp_path / "sb", rows, arrays, {"component_order": "Z12"})
    with pytest.raises(InputError, match=r"component_order 'Z12'.*waveforms\.hdf5.*unrotated_horizontals: accept"):
        build_from_seisbench(folder, tmp_path / "w.zarr", import_config())
    with caplog.at_level("WARNING", logger="seisembed.dataset.seisbench_import"):
        result = build_from_seisbench(folder, tmp_path / "w.zarr", import_config(unrotated_horizontals="accept"))
    assert any("unrotated horizontals" in r.getMessage() for r in caplog.records)
    assert result.inputs["seisbench"]["component_orders"] == {"Z12": 9}
    waveform = xr.open_zarr(result.store)["waveform"].values
    np.testing.assert_array_equal(waveform[0], arrays["b0"][0][:, 10:110])  # 1 read as N, 2 as E


@pytest.mark.parametrize("location", ["5", "5,:,:"])
def test_trace_with_fewer_channels_than_its_order_is_an_error(tmp_path, location):
    rows, arrays = events_rows()
    arrays["b1"] = np.zeros((12, 1, 150), dtype=np.float32)  # one channel per trace
    rows[4]["trace_name"] = f"b1${location}"
    folder = write_folder(tmp_path / "sb", rows, arrays)
    with pytest.raises(InputError, match=r"b1\$.*1 channel\(s\) in bucket 'b1'.*component_order 'ZNE' needs 3"):
        build_from_seisbench(folder, tmp_path / "w.zarr", import_config())


def test_rate_within_the_waveform_stage_tolerance_is_its_nominal_rate():
    # the waveform stage's SAMPLING_RATE_RTOL (1e-4): a slightly-off rate is its nominal rate, the ratio formed from it
    assert resample_ratio(40.0007, 40.0) == 1
    assert resample_ratio(39.999, 40.0) == 1  # not "below the target"
    assert resample_ratio(100.004, 40.0) == Fraction(2, 5)
    assert resample_ratio(200.01, 40.0) == Fraction(1, 5)
    assert resample_ratio(40.3, 40.0) == Fraction(400, 403)  # an exact ratio stays exact
    assert resample_ratio(39.99, 40.0) is None


def test_export_bucket_size_must_be_positive(exported, tmp_path, capsys):
    for size in ("0", "-3"):
        with pytest.raises(SystemExit) as exc:
            main(["dataset", "export-seisbench", str(exported["store"]), str(tmp_path / "out"), "--bucket-size", size])
        assert exc.value.code == 2
        assert "--bucket-size" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_seisbench_dir_with_waveforms_source_is_a_config_error(tmp_path, capsys):
    config = small_config()  # dataset.source: waveforms
    code = main(
        ["dataset", "--config-json", json.dumps(config), "--seisbench-dir", str(FIXTURE), "--out-dir", str(tmp_path)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "configuration error: --seisbench-dir" in err and "'dataset.source' is 'waveforms'" in err


def test_export_reads_through_the_store_module(exported, tmp_path, monkeypatch):
    # the export reads the store with seisembed.dataset.store, not xarray: the same bytes as the fixture's export
    def refuse(*args, **kwargs):
        raise AssertionError("xarray.open_zarr used")

    monkeypatch.setattr(xr, "open_zarr", refuse)
    folder = tmp_path / "again"
    export_seisbench(exported["store"], folder, bucket_size=50)
    assert (folder / "metadata.csv").read_bytes() == (exported["folder"] / "metadata.csv").read_bytes()
    with h5py.File(folder / "waveforms.hdf5", "r") as a, h5py.File(exported["folder"] / "waveforms.hdf5", "r") as b:
        assert sorted(a["data"]) == sorted(b["data"])
        for name in a["data"]:
            np.testing.assert_array_equal(a["data"][name][()], b["data"][name][()])
