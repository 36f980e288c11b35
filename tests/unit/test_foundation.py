"""One source of truth and no silent loss: defaults come from the schema, bad input stops with a name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seisembed import cli
from seisembed.config import default_config, section, validate_config
from seisembed.errors import ConfigError, InputError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "catalog"
CSV = FIXTURES / "isc_20140101_07_26col.csv"


# -- every library entry point with an empty section runs the workflow's default study ----------
def test_section_fills_schema_defaults_and_names_bad_keys():
    assert section("dataset") == default_config()["dataset"]
    assert (
        section("waveforms.fdsn", {"bulk_size": 7})["max_concurrent"]
        == default_config()["waveforms"]["fdsn"]["max_concurrent"]
    )
    with pytest.raises(ConfigError, match="dataset.held_out_box.enabled"):
        section("dataset", {"held_out_box": {"enabled": "yes"}})


def test_catalog_filters_with_an_empty_section_use_the_schema_defaults():
    from seisembed.catalog import read_isc_csv
    from seisembed.catalog.filters import apply_filters

    table = read_isc_csv(CSV, label_rule="depth0")
    assert apply_filters(table, {})[1] == apply_filters(table, default_config()["catalog"])[1]


def test_isc_settings_processing_and_fdsn_take_schema_defaults(tmp_path):
    from seisembed.catalog.isc_web import ISCSettings
    from seisembed.waveforms.fdsn import FDSNSource
    from seisembed.waveforms.processing import ProcessingOptions, WindowSpec

    defaults = default_config()
    assert ISCSettings.from_config({}) == ISCSettings(**defaults["catalog"]["isc"])
    assert WindowSpec.from_config({}) == WindowSpec(40.0, 30.0, 150.0) == WindowSpec.from_config(defaults["waveforms"])
    assert ProcessingOptions.from_config({}) == ProcessingOptions.from_config(defaults["waveforms"])
    source = FDSNSource({"cache_dir": str(tmp_path)})
    try:
        assert source.section == {**defaults["waveforms"]["fdsn"], "cache_dir": str(tmp_path)}
        assert source.bulk_size == defaults["waveforms"]["fdsn"]["bulk_size"]
    finally:
        source.close()


def test_assign_splits_with_an_empty_section_is_the_default_study():
    from seisembed.dataset.splits import assign_splits
    from seisembed.dataset.testing import synthetic_metadata

    meta = synthetic_metadata(150, n_stations=300, records_per_event=(20, 40), seed=3, box_events=4)
    empty, full = assign_splits(meta, {}, seed=5), assign_splits(meta, default_config()["dataset"], seed=5)
    pd.testing.assert_frame_equal(empty.frame, full.frame)
    assert empty.details == full.details
    assert len(empty.details["held_out_stations"]) == 51 and empty.details["held_out_box"]["enabled"]


def test_sampler_library_defaults_are_the_schema_defaults(tmp_path):
    from seisembed.dataset.build import build_dataset
    from seisembed.dataset.testing import synthetic_metadata, write_partitions
    from seisembed.sampling import TripletSampler

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


def test_synthetic_params_from_an_empty_section():
    from seisembed.synthetic.params import SyntheticParams

    assert SyntheticParams.from_dict({}).as_dict() == {
        k: v
        for k, v in default_config()["synthetic"].items()
        if k not in ("arrivals", "output_dir", "calibration", "calibration_reference")
    }


# -- errors: only seisembed's own become one line ------------------------------------------------
def test_unexpected_exception_keeps_its_traceback_in_the_log(tmp_path, monkeypatch):
    from seisembed.waveforms import summary

    def broken(*args, **kwargs):
        raise ValueError("a numpy bug deep down")

    monkeypatch.setattr(summary, "summarize", broken)
    log = tmp_path / "w.log"
    code = cli.main(["waveforms", "--summary", str(tmp_path / "s.json"), "--qc", "x", "--log", str(log)])
    text = log.read_text()
    assert code == 1 and "Traceback (most recent call last)" in text and "a numpy bug deep down" in text


def test_own_errors_are_one_line_and_log_files_hold_debug(tmp_path):
    log = tmp_path / "w.log"
    config = json.dumps({"catalog": {"source": "file", "file": str(tmp_path / "nope.csv")}})
    code = cli.main(
        [
            "catalog",
            "--config-json",
            config,
            "--output",
            str(tmp_path / "a.parquet"),
            "--summary",
            str(tmp_path / "s.json"),
            "--log",
            str(log),
        ]
    )
    text = log.read_text()
    assert code == 1 and "ERROR seisembed.cli: InputError:" in text and "nope.csv" in text
    assert " DEBUG " in text  # the log file records DEBUG lines (here: the details of the error)


# -- the six silent-loss cases -------------------------------------------------------------------
def test_unbalanced_quote_stops_naming_the_line(tmp_path):
    from seisembed.catalog import read_isc_csv

    lines = CSV.read_text().splitlines()
    lines[5] = lines[5].replace(",", ',"', 1)  # one quote opened, never closed
    bad = tmp_path / "quote.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"quote\.csv line 6: unbalanced quote"):
        read_isc_csv(bad, label_rule="depth0")


def test_byte_order_mark_is_accepted(tmp_path):
    from seisembed.catalog import read_isc_csv

    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + CSV.read_bytes())
    pd.testing.assert_frame_equal(read_isc_csv(bom, label_rule="depth0"), read_isc_csv(CSV, label_rule="depth0"))


@pytest.mark.parametrize("url", ["ftp://www.isc.ac.uk/cgi-bin/web-db-run", "file:///etc/passwd", "www.isc.ac.uk"])
def test_non_http_isc_base_url_is_a_config_error(url):
    with pytest.raises(ConfigError, match="catalog.isc.base_url"):
        validate_config({"catalog": {"source": "isc", "isc": {"base_url": url}}})


def test_non_http_fdsn_base_url_is_a_config_error():
    with pytest.raises(ConfigError, match="waveforms.fdsn.base_url"):
        validate_config({"waveforms": {"fdsn": {"base_url": "ftp://service.earthscope.org"}}})
    assert validate_config({"waveforms": {"fdsn": {"base_url": "EARTHSCOPE"}}})


def test_arrivals_parquet_with_out_of_range_coordinates_is_refused(tmp_path):
    from seisembed.catalog import read_arrivals_table, read_isc_csv

    table = read_isc_csv(CSV, label_rule="depth0")
    table.loc[3, "station_latitude_deg"] = 123.0
    path = tmp_path / "arrivals.parquet"
    table.to_parquet(path)
    with pytest.raises(InputError, match=r"station_latitude_deg outside \[-90, 90\].*123"):
        read_arrivals_table(path)


@pytest.mark.parametrize(
    ("partition", "message"), [("2014-13", "not a month name"), ("2013-05", "outside the catalogue period")]
)
def test_partitions_outside_the_period_or_invalid_are_refused(tmp_path, partition, message):
    log = tmp_path / "w.log"
    code = cli.main(
        [
            "waveforms",
            "--arrivals",
            str(tmp_path / "a.parquet"),
            "--partition",
            partition,
            "--output-dir",
            str(tmp_path / "out"),
            "--log",
            str(log),
        ]
    )
    assert code == 2 and message in log.read_text() and not (tmp_path / "out").exists()


def test_snakemake_refuses_a_partition_target_outside_the_period(repo_root):
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "results/waveforms/2014-13/qc.parquet"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "MissingRuleException" in proc.stdout + proc.stderr or "No rule to produce" in proc.stdout + proc.stderr


def test_month_split_config_rejects_a_month_13():
    with pytest.raises(ConfigError, match="dataset.months.test"):
        validate_config({"dataset": {"months": {"test": ["2014-13"]}}})


def test_store_values_are_float32_and_reads_match(tmp_path):
    from seisembed.sampling import read_traces

    data = np.arange(2 * 3 * 5, dtype=np.float32).reshape(2, 3, 5)
    assert read_traces(data, np.array([1, 0, 1])).dtype == np.float32


def test_config_json_passes_whole_sections_or_single_keys():
    from seisembed.config import validate_config
    from seisembed.workflow import config_json

    config = validate_config({"seed": 5})
    whole = json.loads(config_json(config, "evaluate"))
    assert whole["seed"] == 5 and "study" in whole and whole["evaluate"] == config["evaluate"]
    some = json.loads(config_json(config, "evaluate.embed_batch", "evaluate.svm"))
    assert some["evaluate"] == {"embed_batch": config["evaluate"]["embed_batch"], "svm": config["evaluate"]["svm"]}
    # a rule passing one key is not rerun when another key of the section changes
    other = validate_config({"seed": 5, "evaluate": {"pairs_per_split": 99}})
    assert config_json(other, "evaluate.embed_batch") == config_json(config, "evaluate.embed_batch")


def test_report_helpers_cover_every_section_and_optional_inputs(repo_root):
    import yaml

    from seisembed import workflow as sw

    schema = yaml.safe_load((repo_root / "workflow/schemas/config.schema.yaml").read_text())
    assert set(sw.CONFIG_SECTIONS) == set(schema["properties"]) - {"study", "seed"}
    config = validate_config({})
    assert sw.synthetic_calibration(config) == [config["synthetic"]["calibration"]]
    assert sw.synthetic_calibration(validate_config({"catalog": {"source": "isc"}})) == []
    assert sw.optional_option("--calibration", []) == ""
    assert sw.optional_option("--calibration", ["a b.json"]) == "--calibration 'a b.json'"
    with pytest.raises(ConfigError, match="one file"):
        sw.optional_option("--calibration", ["a", "b"])
