"""ISC arrivals CSV: the committed 2014 catalogue, both layouts, bad input."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seisembed.catalog import Skips, read_arrivals_table, read_isc_csv
from seisembed.catalog.build import build_catalog
from seisembed.catalog.isc_csv import canonical_columns, parse_isc_csv_text
from seisembed.catalog.networks import TA_STATION_REGEX
from seisembed.catalog.phases import is_p_phase
from seisembed.columns import ARRIVAL_COLUMNS
from seisembed.config import validate_config
from seisembed.errors import ConfigError, InputError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "catalog"
CSV26 = FIXTURES / "isc_20140101_07_26col.csv"
CSV28 = FIXTURES / "isc_20140101_07_28col.csv"


@pytest.fixture(scope="module")
def committed(isc_2014_csv) -> pd.DataFrame:
    """The committed catalogue through the reader (depth-0 labels)."""
    return read_isc_csv(isc_2014_csv, label_rule="depth0")


@pytest.fixture(scope="module")
def independent(isc_2014_csv) -> pd.DataFrame:
    """First P arrival per event-station, computed with plain pandas (not the package)."""
    raw = pd.read_csv(isc_2014_csv, dtype={"EVENTID": str, "ISCPHASE": str, "REPPHASE": str}, keep_default_na=False)
    phase = raw["ISCPHASE"].where(raw["ISCPHASE"] != "", raw["REPPHASE"])
    raw = raw.assign(phase=phase, t=pd.to_datetime(raw["TIME"], utc=True, format="ISO8601"))
    p = raw[phase.str.startswith(("P", "p")) & ~phase.str.contains("S")]
    first = p.sort_values(["EVENTID", "STA", "t"]).drop_duplicates(["EVENTID", "STA"])
    return first.assign(MAG=pd.to_numeric(first["MAG"], errors="coerce"))


def test_contract_columns_and_dtypes(committed):
    assert tuple(committed.columns) == ARRIVAL_COLUMNS
    for column in ("source_origin_time", "trace_p_arrival_time"):
        assert str(committed[column].dtype) == "datetime64[ns, UTC]"
    for column in (
        "source_latitude_deg",
        "source_magnitude",
        "station_elevation_m",
        "path_ep_distance_km",
        "path_back_azimuth_deg",
    ):
        assert committed[column].dtype == np.float64
    for column in ("source_id", "source_magnitude_type", "station_location_code", "trace_phase"):
        assert pd.api.types.is_string_dtype(committed[column]) and not committed[column].isna().any()
    assert not committed.duplicated(["source_id", "station_code"]).any()


def test_committed_catalogue_counts_match_pandas(committed, independent):
    assert len(committed) == len(independent) == 21904
    assert committed["source_id"].nunique() == independent["EVENTID"].nunique() == 1173
    assert committed["station_code"].nunique() == independent["STA"].nunique() == 435
    events = committed.drop_duplicates("source_id")
    expected = independent.drop_duplicates("EVENTID")
    assert (events["source_type"] == "explosion").sum() == (expected["DEPTH"] == 0).sum() == (expected["Y"] == 1).sum()
    merged = committed.merge(
        independent, left_on=["source_id", "station_code"], right_on=["EVENTID", "STA"], validate="one_to_one"
    )
    assert len(merged) == len(committed)
    assert (merged["trace_p_arrival_time"] == merged["t"]).all()
    assert (merged["trace_phase"] == merged["phase"]).all()
    assert np.allclose(merged["path_ep_distance_deg"], merged["DIST"])
    assert np.allclose(merged["path_ep_distance_km"], merged["DIST"] * 111.19492664455873)
    # back azimuth against ObsPy's geodesic one (ellipsoid vs sphere: within 0.5 deg)
    from obspy.geodetics import gps2dist_azimuth

    sample = merged.iloc[::97]
    geodesic = [
        gps2dist_azimuth(r.source_latitude_deg, r.source_longitude_deg, r.station_latitude_deg, r.station_longitude_deg)
        for r in sample.itertuples()
    ]
    baz = np.array([g[2] for g in geodesic])
    az = np.array([g[1] for g in geodesic])
    assert np.abs((sample["path_back_azimuth_deg"] - baz + 180.0) % 360.0 - 180.0).max() < 0.5
    # ISC's BAZ column is the event -> station azimuth, which is why it is not used
    assert np.abs((sample["BAZ"] - az + 180.0) % 360.0 - 180.0).max() < 1.2
    assert (merged["source_type"].eq("explosion") == merged["Y"].eq(1)).all()
    missing = merged["MAG"].isna()
    assert (merged.loc[missing, "source_magnitude"] == 2.5).all() and (
        merged.loc[missing, "source_magnitude_type"] == ""
    ).all()
    assert np.allclose(merged.loc[~missing, "source_magnitude"], merged.loc[~missing, "MAG"])


def test_committed_catalogue_filters_match_pandas(isc_2014_csv, independent, tmp_path):
    catalog = {
        "source": "file",
        "file": str(isc_2014_csv),
        "label_rule": "depth0",
        "starttime": "2014-03-01T00:00:00",
        "endtime": "2014-09-01T00:00:00",
        "min_latitude": 30.0,
        "max_latitude": 45.0,
        "networks": ["TA"],
        "min_distance_deg": 1.0,
        "max_distance_deg": 10.0,
        "min_magnitude": 2.0,
        "min_stations_per_event": 5,
    }
    table, summary = build_catalog(validate_config({"catalog": catalog}))
    e = independent
    origin = pd.to_datetime(e["DATE_1"] + " " + e["TIME_1"], utc=True, format="ISO8601")
    mag = e["MAG"].fillna(2.5)
    keep = (
        (origin >= pd.Timestamp("2014-03-01", tz="UTC"))
        & (origin < pd.Timestamp("2014-09-01", tz="UTC"))
        & e["LAT_1"].between(30, 45)
        & e["LON_1"].between(-125, -75)
        & e["STA"].str.match(r"^[A-Z0-9]\d{2}[A-Z]$")
        & e["DIST"].between(1, 10)
        & (mag >= 2.0)
    )
    e = e[keep]
    e = e[e.groupby("EVENTID")["STA"].transform("size") >= 5]
    assert len(table) == summary["rows_out"] == len(e)
    assert summary["events"] == e["EVENTID"].nunique()
    assert summary["explosions"] == (e.drop_duplicates("EVENTID")["DEPTH"] == 0).sum()
    assert summary["rows_read"] == 22567 and summary["rows_in"] == 21904
    assert [f["filter"] for f in summary["filters"]] == [
        "time",
        "event_box",
        "networks",
        "stations",
        "distance",
        "magnitude",
        "min_stations",
    ]
    assert summary["filters"][-1]["rows_out"] == len(e)
    assert all(a["rows_out"] == b["rows_in"] for a, b in zip(summary["filters"], summary["filters"][1:]))
    assert summary["skipped"]["rows: phase is not P-type (S, L, x or none)"]["count"] == 663


def test_ta_regex_on_the_437_station_codes(isc_2014_csv):
    codes = pd.read_csv(isc_2014_csv, usecols=["STA"], dtype=str)["STA"].unique()
    assert len(codes) == 437
    ta = [c for c in codes if TA_STATION_REGEX.match(c)]
    assert len(ta) == 392
    # every non-match is a permanent-network style code (3-5 characters, not the TA grid form)
    others = sorted(set(codes) - set(ta))
    assert {"ISA", "PFO", "ABTX", "TX31", "PD31", "MONP2"} <= set(others)
    assert all(re.fullmatch(r"[A-Z][0-9]{2}[A-Z]", c) or re.fullmatch(r"[0-9]{3}[A-Z]", c) for c in ta)


def test_event_type_rule_needs_event_types(isc_2014_csv):
    with pytest.raises(ConfigError, match="label_rule.*event_type.*depth0"):
        read_isc_csv(isc_2014_csv, label_rule="event_type")


def test_28_column_layout_equals_26_and_reads_event_types():
    skips = Skips()
    a = read_isc_csv(CSV26, label_rule="depth0")
    b = read_isc_csv(CSV28, label_rule="event_type", skips=skips)
    pd.testing.assert_frame_equal(a.drop(columns="source_type_raw"), b.drop(columns="source_type_raw"))
    assert set(b["source_type_raw"]) == {"ke", "km"}
    assert ((b["source_type_raw"] == "km") == (b["source_type"] == "explosion")).all()
    assert read_isc_csv(CSV26)["source_type_raw"].eq("depth0").all()  # auto falls back to depth0
    assert read_isc_csv(CSV28)["source_type_raw"].isin(["ke", "km"]).all()  # auto uses types


def test_suspected_and_other_event_types(tmp_path):
    text = CSV28.read_text().splitlines()
    ids = sorted({line.split(",")[0] for line in text[1:]})
    codes = {ids[0]: "sm", ids[1]: "kr", ids[2]: "si", ids[3]: "uk", ids[4]: "se"}
    out = [text[0]]
    for line in text[1:]:
        fields = line.split(",")
        if fields[0] in codes:
            fields[24] = codes[fields[0]]
        out.append(",".join(fields))
    path = tmp_path / "types.csv"
    path.write_text("\n".join(out) + "\n")
    skips = Skips()
    table = read_isc_csv(path, label_rule="event_type", suspected_explosions=True, skips=skips)
    events = table.drop_duplicates("source_id").set_index("source_id")
    assert events.loc[ids[0], "source_type"] == "explosion" and events.loc[ids[4], "source_type"] == "earthquake"
    assert ids[1] not in events.index and ids[2] not in events.index and ids[3] not in events.index
    reasons = skips.as_dict()
    assert reasons["events: event type kr (rock burst) is neither earthquake nor explosion"]["count"] == 1
    assert reasons["events: no event type in the catalogue"]["count"] == 1
    table = read_isc_csv(path, label_rule="event_type", suspected_explosions=False)
    assert ids[0] not in set(table["source_id"])


def test_html_wrapped_text_and_padding():
    text = CSV26.read_text()
    wrapped = "<html><body><h1>ISC</h1>\n<pre>\n" + text.replace(",", " , ", 3) + "STOP\n</pre></body></html>"
    raw = parse_isc_csv_text(wrapped, origin="reply")
    assert len(raw) == 218 and raw["station_code"].iloc[0] == "ISA"


def test_header_positions_and_suffixes():
    header = [
        "EVENTID",
        "REPORTER",
        "STA",
        "NET",
        "LAT",
        "LON",
        "ELEV",
        "CHN",
        "DIST",
        "BAZ",
        "ISCPHASE",
        "REPPHASE",
        "DATE",
        "TIME",
        "RES",
        "TDEF",
        "AMPLITUDE",
        "PER",
        "AUTHOR",
        "DATE",
        "TIME",
        "LAT",
        "LON",
        "DEPTH",
        "TYPE",
        "AUTHOR",
        "TYPE",
        "MAG",
    ]
    names = canonical_columns(header)
    assert names[4:6] == ["station_lat", "station_lon"] and names[21:23] == ["event_lat", "event_lon"]
    assert names[24] == "event_type" and names[26] == "magnitude_type" and names[3] == "network"
    saved = canonical_columns(["EVENTID", "LAT", "LAT_1", "DATE", "TIME", "DATE_1", "TIME_1", " TYPE ", "MAG"])
    assert saved == [
        "event_id",
        "station_lat",
        "event_lat",
        "arrival_date",
        "arrival_time",
        "origin_date",
        "origin_time",
        "magnitude_type",
        "magnitude",
    ]


def test_truncated_csv_and_bad_times_are_counted(tmp_path):
    lines = CSV26.read_text().splitlines()
    lines[5] = lines[5].replace("2014-01-01,15:47", "2014-13-01,15:47", 1)  # arrival date that does not parse
    lines[7] = lines[7].replace("15:47:15.99", "xx:47:15.99")  # origin time that does not parse
    lines.append(lines[3])  # an exact duplicate row
    text = "\n".join(lines) + "\n" + lines[10][:40]  # cut mid-line
    path = tmp_path / "cut.csv"
    path.write_text(text)
    skips = Skips()
    table = read_isc_csv(path, label_rule="depth0", skips=skips)
    reasons = skips.as_dict()
    assert reasons["rows: wrong number of fields (truncated or malformed line)"]["count"] == 1
    assert "line 221" in reasons["rows: wrong number of fields (truncated or malformed line)"]["examples"][0]
    assert reasons["rows: arrival time missing or unparseable"]["count"] == 1
    assert "line 6" in reasons["rows: arrival time missing or unparseable"]["examples"][0]
    assert reasons["rows: origin time missing or unparseable"]["count"] == 1
    assert reasons["rows: exact duplicate arrival"]["count"] == 1
    assert len(table) == 205 - 2


def test_truncated_gzip_fails_clearly(tmp_path):
    data = gzip.compress(CSV26.read_bytes())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.csv.gz.*truncated"):
        read_isc_csv(path)


def test_html_error_page_fails_clearly(tmp_path):
    path = tmp_path / "page.csv"
    path.write_text("<html><body><h1>500 Internal Server Error</h1></body></html>")
    with pytest.raises(InputError, match="page.csv.*no ISC arrivals CSV header.*500 Internal Server Error"):
        read_isc_csv(path)


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("EVENTID,STA,LAT,LON\n1,ABC,1,2\n")
    with pytest.raises(InputError, match="short.csv: header lacks ISC column.*arrival_time"):
        read_isc_csv(path)


def test_station_networks_override(tmp_path):
    mapping = tmp_path / "nets.csv"
    mapping.write_text("station_code,station_network_code\nISA,CI\nH17A,N4\n")
    table = read_isc_csv(CSV26, station_networks=str(mapping), default_network_code="ZZ")
    nets = table.drop_duplicates("station_code").set_index("station_code")["station_network_code"]
    assert nets["ISA"] == "CI" and nets["VES"] == "ZZ"
    bad = tmp_path / "bad.csv"
    bad.write_text("code,net\nISA,CI\n")
    with pytest.raises(InputError, match="bad.csv: missing column"):
        read_isc_csv(CSV26, station_networks=str(bad))


def test_no_magnitude_policy(isc_2014_csv, committed):
    skips = Skips()
    table = read_isc_csv(isc_2014_csv, label_rule="depth0", default_magnitude=None, skips=skips)
    assert table["source_magnitude"].notna().all()
    assert skips.as_dict()["events: no magnitude (catalog.default_magnitude is null)"]["count"] == 119
    assert table["source_id"].nunique() == committed["source_id"].nunique() - 119


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("P", True),
        ("Pn", True),
        ("Pg", True),
        ("Pb", True),
        ("PKP", True),
        ("pP", True),
        ("PcP", True),
        ("S", False),
        ("Sn", False),
        ("PS", False),
        ("sP", False),
        ("Lg", False),
        ("", False),
        (None, False),
    ],
)
def test_p_phases(phase, expected):
    assert is_p_phase(phase) is expected


def test_read_arrivals_table_csv_and_parquet(tmp_path):
    table = read_arrivals_table(CSV26)
    path = tmp_path / "arrivals.parquet"
    table.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(read_arrivals_table(path), table)
    table.drop(columns="trace_phase").to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(InputError, match="bad.parquet.*trace_phase"):
        read_arrivals_table(tmp_path / "bad.parquet")
    dup = pd.concat([table, table.iloc[:1]])
    dup.to_parquet(tmp_path / "dup.parquet")
    with pytest.raises(InputError, match="duplicate \\(event, station\\)"):
        read_arrivals_table(tmp_path / "dup.parquet")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(InputError, match="unknown format"):
        read_arrivals_table(tmp_path / "x.json")
    with pytest.raises(InputError, match="does not exist"):
        read_arrivals_table(tmp_path / "nope.csv")
