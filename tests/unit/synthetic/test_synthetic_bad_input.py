"""Synthetic generator: bad arrivals name the event and station; reruns; provenance; the CLI's config errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from obspy import read_events

from seisembed.catalog import read_arrivals_table, read_quakeml
from seisembed.cli import main
from seisembed.errors import InputError
from seisembed.synthetic import synthesize

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "catalog" / "isc_20140101_07_26col.csv"
SEED = 11


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    """Three events of the real 2014 catalogue (ISC CSV fixture), at most 3 stations each."""
    table = read_arrivals_table(FIXTURE)
    ids = sorted(table["source_id"].unique())[:3]
    table = table[table["source_id"].isin(ids)]
    return table[table.groupby("source_id").cumcount() < 3].reset_index(drop=True)


def test_rerun_into_the_same_folder_gives_the_bytes_of_a_fresh_run(small, tmp_path, tree_digest):
    reused, fresh = tmp_path / "reused", tmp_path / "fresh"
    synthesize(read_arrivals_table(FIXTURE).iloc[::10], reused, {}, SEED + 1)  # an earlier, different study
    synthesize(small, reused, {}, SEED)
    synthesize(small, fresh, {}, SEED)
    assert tree_digest(reused) == tree_digest(fresh)


def test_params_json_records_provenance_without_a_timestamp(small, tmp_path):
    synthesize(small, tmp_path, {"batch_size": 2}, SEED)
    record = json.loads((tmp_path / "params.json").read_text())
    assert record["seed"] == SEED and record["params"]["batch_size"] == 2
    provenance = record["provenance"]
    assert {"numpy", "scipy", "obspy", "pandas", "seisembed"} <= set(provenance["packages"])
    assert provenance["git_commit"] and len(provenance["config_hash"]) == 16
    assert "created_utc" not in provenance and "created_utc" not in json.dumps(record)


@pytest.mark.parametrize("column", ["station_latitude_deg", "path_ep_distance_deg", "path_back_azimuth_deg"])
def test_missing_value_names_event_station_and_column(small, tmp_path, column):
    bad = small.copy()
    bad.loc[1, column] = np.nan
    row = bad.loc[1]
    match = f"event {row.source_id} station {row.station_network_code}.{row.station_code}: column {column} is missing"
    with pytest.raises(InputError, match=match):
        synthesize(bad, tmp_path, {}, SEED)


def test_repeated_record_and_empty_table(small, tmp_path):
    row = small.iloc[2]
    with pytest.raises(
        InputError,
        match=f"1 repeated \\(event, station\\) row\\(s\\), e.g. event {row.source_id} station {row.station_network_code}.{row.station_code}",
    ):
        synthesize(pd.concat([small, small.iloc[[2]]]), tmp_path, {}, SEED)
    with pytest.raises(InputError, match="no rows"):
        synthesize(small.iloc[:0], tmp_path / "empty", {}, SEED)
    assert not (tmp_path / "empty").exists()


def test_event_without_depth_has_no_depth_in_quakeml(small, tmp_path):
    table = small.copy()
    first = table["source_id"].iloc[0]
    table.loc[table["source_id"] == first, "source_depth_km"] = np.nan
    synthesize(table, tmp_path, {}, SEED)
    text = (tmp_path / "events.xml").read_text()
    assert "nan" not in text.lower()
    origins = {
        str(ev.resource_id).rsplit("/", 1)[-1]: ev.preferred_origin()
        for ev in read_events(str(tmp_path / "events.xml"))
    }
    assert origins[first].depth is None and all(o.depth is not None for sid, o in origins.items() if sid != first)
    back = read_quakeml(tmp_path / "events.xml", tmp_path / "stations.xml", label_rule="event_type")
    assert back.loc[back["source_id"] == first, "source_depth_km"].isna().all()


def test_synth_cli_with_missing_arrivals_names_the_file(tmp_path):
    log = tmp_path / "synth.log"
    missing = tmp_path / "missing_arrivals.csv"
    config = json.dumps({"synthetic": {"output_dir": str(tmp_path / "out"), "arrivals": str(missing)}, "seed": 1})
    code = main(["synth", "--config-json", config, "--no-calibration", "--log", str(log)])
    assert code == 1 and str(missing) in log.read_text()


def test_synth_cli_with_empty_arrivals_key_names_the_key(tmp_path):
    log = tmp_path / "synth.log"
    config = json.dumps({"synthetic": {"output_dir": str(tmp_path / "out"), "arrivals": ""}, "seed": 1})
    code = main(["synth", "--config-json", config, "--no-calibration", "--log", str(log)])
    assert code == 2 and "synthetic.arrivals" in log.read_text()
