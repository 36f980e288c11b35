"""``seisembed catalog`` end to end on small inputs; the preset; the rule file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from seisembed.cli import main
from seisembed.columns import ARRIVAL_COLUMNS
from seisembed.config import default_config, load_config, validate_config

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "catalog"
REPO = Path(__file__).resolve().parents[3]
CSV = FIXTURES / "isc_20140101_07_26col.csv"


def _run(tmp_path: Path, catalog: dict, *extra: str) -> tuple[int, Path, Path]:
    out, summary = tmp_path / "results" / "arrivals.parquet", tmp_path / "results" / "summary.json"
    config = json.dumps({"catalog": catalog, "seed": 1, "study": "test"})
    code = main(
        [
            "catalog",
            "--config-json",
            config,
            "--output",
            str(out),
            "--summary",
            str(summary),
            "--log",
            str(tmp_path / "catalog.log"),
            *extra,
        ]
    )
    return code, out, summary


def test_cli_file_source_writes_table_and_summary(tmp_path):
    code, out, summary = _run(
        tmp_path,
        {
            "source": "file",
            "file": str(FIXTURES / "isc_20140101_07_26col.csv"),
            "label_rule": "depth0",
            "min_stations_per_event": 10,
        },
    )
    assert code == 0
    table = pd.read_parquet(out)
    assert tuple(table.columns) == ARRIVAL_COLUMNS
    assert str(table["trace_p_arrival_time"].dtype) == "datetime64[ns, UTC]"
    record = json.loads(summary.read_text())
    assert record["rows_out"] == len(table) and record["rows_read"] == 218 and record["rows_in"] == 205
    assert (
        record["events"] == table["source_id"].nunique()
        and record["explosions"] + record["earthquakes"] == record["events"]
    )
    assert record["filters"][-1]["filter"] == "min_stations" and record["filters"][-1]["rows_out"] == len(table)
    assert record["provenance"]["config"]["catalog"]["min_stations_per_event"] == 10
    assert "config_hash" in record["provenance"] and "packages" in record["provenance"]
    assert not [p for p in out.parent.iterdir() if ".tmp-" in p.name]
    assert "wrote" in (tmp_path / "catalog.log").read_text()


def test_cli_own_parquet_table_and_overrides(tmp_path):
    code, out, _ = _run(
        tmp_path, {"source": "file", "file": str(FIXTURES / "isc_20140101_07_28col.csv"), "label_rule": "event_type"}
    )
    assert code == 0
    mine = tmp_path / "mine.parquet"
    out.rename(mine)
    code, out2, summary = _run(
        tmp_path / "again", {"source": "synthetic", "networks": ["TA"]}, "--source", "file", "--file", str(mine)
    )
    assert code == 0
    table = pd.read_parquet(out2)
    assert set(table["station_network_code"]) == {"TA"} and set(table["source_type_raw"]) <= {"ke", "km"}


def test_cli_errors_name_the_thing(tmp_path):
    log = tmp_path / "catalog.log"
    code, _, _ = _run(tmp_path, {"source": "file", "file": str(tmp_path / "missing.csv")})
    assert code == 1 and "missing.csv does not exist" in log.read_text()
    code, _, _ = _run(
        tmp_path, {"source": "file", "file": str(FIXTURES / "isc_20140101_07_26col.csv"), "label_rule": "event_type"}
    )
    assert code == 2 and "catalog.label_rule" in log.read_text()
    code, _, _ = _run(
        tmp_path, {"source": "file", "file": str(FIXTURES / "isc_20140101_07_26col.csv"), "max_distance_deg": "far"}
    )
    assert code == 2 and "catalog.max_distance_deg" in log.read_text()
    code, _, _ = _run(tmp_path, {"source": "file"})
    assert code == 2 and "catalog.file" in log.read_text()


def test_preset_usarray_paper_validates():
    config = load_config(REPO / "presets" / "usarray-paper.yaml")
    catalog = config["catalog"]
    assert catalog["source"] == "isc" and catalog["label_rule"] == "depth0"
    assert (catalog["starttime"], catalog["endtime"]) == ("2007-01-01T00:00:00", "2017-01-01T00:00:00")
    assert (catalog["min_latitude"], catalog["max_latitude"], catalog["min_longitude"], catalog["max_longitude"]) == (
        25.0,
        50.0,
        -125.0,
        -75.0,
    )
    assert catalog["networks"] == ["TA", "US"] and config["waveforms"]["source"] == "fdsn"


def test_rule_file_is_thin_and_logged():
    text = (REPO / "workflow" / "rules" / "catalog.smk").read_text()
    assert "rule catalog:" in text and "log:" in text and 'config_json("catalog", "synthetic")' in text
    assert (
        "seisembed catalog --config-json {params.config:q} --output {output.arrivals} --summary {output.summary} --log {log}"
        in text.replace('"\n        "', "")
    )


def test_rule_inputs_follow_the_source():
    from seisembed.workflow import catalog_inputs

    def rule_inputs(config):
        return catalog_inputs(validate_config(config))

    synthetic = {"catalog": {"source": "synthetic"}, "synthetic": {"output_dir": "resources/synthetic"}}
    assert rule_inputs(synthetic) == {
        "events": "resources/synthetic/events.xml",
        "stations": "resources/synthetic/stations.xml",
    }
    quakeml = {"catalog": {"source": "file", "file": "my.xml", "inventory": "st.xml", "station_networks": "nets.csv"}}
    assert rule_inputs(quakeml) == {"file": "my.xml", "inventory": "st.xml", "station_networks": "nets.csv"}
    assert rule_inputs({"catalog": {"source": "isc"}}) == {}


def test_everything_filtered_out_gives_a_valid_empty_table(tmp_path):
    code, out, summary = _run(
        tmp_path,
        {
            "source": "file",
            "file": str(FIXTURES / "isc_20140101_07_26col.csv"),
            "label_rule": "depth0",
            "min_magnitude": 9.5,
        },
    )
    assert code == 0
    table = pd.read_parquet(out)
    assert table.empty and tuple(table.columns) == ARRIVAL_COLUMNS
    assert (
        str(table["source_origin_time"].dtype) == "datetime64[ns, UTC]" and table["source_magnitude"].dtype == "float64"
    )
    record = json.loads(summary.read_text())
    assert record["rows_out"] == 0 and record["events"] == 0 and record["filters"][5]["rows_out"] == 0


# -- moved from test_foundation.py (schema defaults, bad input)
def test_catalog_filters_with_an_empty_section_use_the_schema_defaults():
    from seisembed.catalog import read_isc_csv
    from seisembed.catalog.filters import apply_filters

    table = read_isc_csv(CSV, label_rule="depth0")
    assert apply_filters(table, {})[1] == apply_filters(table, default_config()["catalog"])[1]
