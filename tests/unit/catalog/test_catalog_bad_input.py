"""Bad input of issues 2 and 3 not covered elsewhere: each is a clear error or a counted skip."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest
from obspy import UTCDateTime
from obspy.core.event import Arrival, Catalog, Event, Origin, Pick, ResourceIdentifier, WaveformStreamID
from obspy.core.inventory import Inventory, Network, Station

from seisembed.catalog import Skips, apply_filters, read_arrivals_table, read_isc_csv, read_quakeml
from seisembed.catalog.isc_csv import parse_isc_csv_text
from seisembed.catalog.networks import read_station_networks
from seisembed.config import validate_config
from seisembed.errors import ConfigError, InputError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "catalog"
CSV26 = FIXTURES / "isc_20140101_07_26col.csv"
HEADER26 = CSV26.read_text().splitlines()[0].split(",")


def _with_field(line_index: int, column: int, value: str, path: Path) -> Path:
    """The 26-column fixture with one field of data line ``line_index`` (1 = first data row) replaced."""
    lines = CSV26.read_text().splitlines()
    fields = lines[line_index].split(",")
    fields[column] = value
    lines[line_index] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(("name", "column"), [("DEPTH", 22), ("MAG", 25), ("ELEV", 5), ("DIST", 7)])
def test_non_numeric_values_are_counted_not_defaulted(tmp_path, name, column):
    assert HEADER26[column] == name
    path = _with_field(4, column, "n/a", tmp_path / "text.csv")
    skips = Skips()
    read_isc_csv(path, label_rule="depth0", skips=skips)
    field = {"DEPTH": "depth_km", "MAG": "magnitude", "ELEV": "station_elev", "DIST": "distance_deg"}[name]
    record = skips.as_dict()[f"rows: {field} is not a number"]
    assert record["count"] == 1 and record["examples"] == [f"{path} line 5: {field}='n/a'"]


def test_empty_magnitude_is_missing_not_bad(tmp_path):
    path = _with_field(4, 25, "", tmp_path / "nomag.csv")
    skips = Skips()
    read_isc_csv(path, label_rule="depth0", skips=skips)
    assert not [reason for reason in skips.counts if "not a number" in reason]


def test_station_without_coordinates_is_counted(tmp_path):
    path = _with_field(9, 3, "", tmp_path / "nolat.csv")
    skips = Skips()
    table = read_isc_csv(path, label_rule="depth0", skips=skips)
    record = skips.as_dict()["rows: station lat missing or invalid"]
    assert record["count"] == 1 and f"{path} line 10" in record["examples"][0]
    assert len(table) == len(read_isc_csv(CSV26, label_rule="depth0")) - 1


def test_unbalanced_quote_fails_clearly(tmp_path):
    lines = CSV26.read_text().splitlines()
    broken = lines[3].replace(",", ',"', 1)  # opens a quoted field that never closes
    path = tmp_path / "quote.csv"
    path.write_text("\n".join([*lines[:3], broken, *(lines[4:] * 6)]) + "\n")  # overflows the csv field limit
    with pytest.raises(InputError, match=r"quote.csv line \d+: not valid CSV"):
        read_isc_csv(path)


def test_html_reply_lines_that_are_not_data_are_counted():
    lines = CSV26.read_text().splitlines()
    body = [lines[0], lines[1], "<b>Warning: reading from a replica</b>", lines[2], "--- page 2 ---", *lines[3:6]]
    text = "<html><body>\n<pre>\n" + "\n".join(body) + "\nSTOP\n</pre></body></html>"
    skips = Skips()
    raw = parse_isc_csv_text(text, origin="reply", skips=skips)
    assert len(raw) == 5
    record = skips.as_dict()["lines: not a data row (does not start with an event id)"]
    assert record["count"] == 2 and record["examples"][0].startswith("reply line 5:")
    assert raw["row"].tolist()[:2] == ["reply line 4", "reply line 6"]  # lines of the reply, not of the extract


def test_unknown_csv_columns_are_ignored_and_logged(tmp_path, caplog):
    lines = CSV26.read_text().splitlines()
    path = tmp_path / "extra.csv"
    path.write_text("\n".join([lines[0] + ",QUALITY"] + [line + ",A" for line in lines[1:]]) + "\n")
    with caplog.at_level(logging.INFO, logger="seisembed.catalog.isc_csv"):
        table = read_isc_csv(path, label_rule="depth0")
    pd.testing.assert_frame_equal(table, read_isc_csv(CSV26, label_rule="depth0"))
    assert "ignoring column(s) the ISC layouts do not define: QUALITY" in caplog.text


def test_parquet_bad_values_and_unknown_columns(tmp_path, caplog):
    table = read_arrivals_table(CSV26)
    extra = tmp_path / "extra.parquet"
    table.assign(my_note="x").to_parquet(extra, index=False)
    with caplog.at_level(logging.WARNING, logger="seisembed.catalog.assemble"):
        pd.testing.assert_frame_equal(read_arrivals_table(extra), table)
    assert "not in the catalog contract: my_note" in caplog.text
    bad = table.astype({"source_depth_km": str})
    bad.loc[3, "source_depth_km"] = "deep"
    bad.to_parquet(tmp_path / "text.parquet", index=False)
    with pytest.raises(InputError, match=r"text.parquet: arrivals table column source_depth_km: row 3 \('deep'\)"):
        read_arrivals_table(tmp_path / "text.parquet")
    times = table.astype({"trace_p_arrival_time": str})
    times.loc[7, "trace_p_arrival_time"] = "yesterday"
    times.to_parquet(tmp_path / "times.parquet", index=False)
    with pytest.raises(InputError, match=r"column trace_p_arrival_time: row 7 \('yesterday'\)"):
        read_arrivals_table(tmp_path / "times.parquet")
    nolat = table.copy()
    nolat.loc[2, "station_latitude_deg"] = float("nan")
    nolat.to_parquet(tmp_path / "nolat.parquet", index=False)
    with pytest.raises(InputError, match="1 row\\(s\\) without station_latitude_deg"):
        read_arrivals_table(tmp_path / "nolat.parquet")


def test_station_networks_file_that_is_not_csv(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty.csv is not a readable CSV.*catalog.station_networks"):
        read_station_networks(empty)


@pytest.mark.parametrize("key", ["starttime", "endtime"])
def test_missing_time_bound_is_a_config_error(key):
    table = read_arrivals_table(CSV26)
    catalog = {"starttime": "2014-01-01", "endtime": "2014-02-01", key: None}
    with pytest.raises(ConfigError, match=f"catalog.{key}"):
        apply_filters(table, catalog)


def test_pick_without_network_at_an_ambiguous_station_code(tmp_path):
    t0 = UTCDateTime("2014-03-01T10:00:00")
    origin = Origin(
        resource_id=ResourceIdentifier("smi:local/event/9/origin"),
        time=t0,
        latitude=38.0,
        longitude=-100.0,
        depth=5000.0,
    )
    event = Event(resource_id=ResourceIdentifier("smi:local/event/9"), event_type="earthquake")
    for i, (net, sta) in enumerate([("", "AAA"), ("", "BBB")]):
        pick = Pick(
            resource_id=ResourceIdentifier(f"smi:local/pick/9/{i}"),
            time=t0 + 20 + i,
            phase_hint="P",
            waveform_id=WaveformStreamID(net, sta, "", "BHZ"),
        )
        event.picks.append(pick)
        origin.arrivals.append(Arrival(pick_id=pick.resource_id, phase="P"))
    event.origins.append(origin)
    events, stations = tmp_path / "events.xml", tmp_path / "stations.xml"
    Catalog(events=[event]).write(str(events), format="QUAKEML")
    Inventory(
        networks=[
            Network("TA", stations=[Station("AAA", 40.0, -100.0, 1.0), Station("BBB", 41.0, -100.0, 1.0)]),
            Network("US", stations=[Station("AAA", 40.0, -100.0, 1.0)]),
        ],
        source="test",
    ).write(str(stations), format="STATIONXML")
    skips = Skips()
    table = read_quakeml(events, stations, skips=skips)
    assert table["station_code"].tolist() == ["BBB"]
    assert skips.as_dict()["rows: pick without a network code at a station code of several networks"]["examples"] == [
        "event 9 station AAA (TA, US)"
    ]


def test_summary_rows_read_counts_the_rows_the_reader_skipped(tmp_path):
    from seisembed.catalog.build import build_catalog

    lines = CSV26.read_text().splitlines()
    path = tmp_path / "cut.csv"
    path.write_text("\n".join(lines) + "\n" + lines[10][:40])  # one truncated row at the end
    _, summary = build_catalog(
        validate_config({"catalog": {"source": "file", "file": str(path), "label_rule": "depth0"}})
    )
    assert summary["rows_read"] == 219 and summary["rows_in"] == 205
    assert summary["skipped"]["rows: wrong number of fields (truncated or malformed line)"]["count"] == 1


# -- moved from test_foundation.py (schema defaults, bad input)
def test_unbalanced_quote_stops_naming_the_line(tmp_path):
    from seisembed.catalog import read_isc_csv

    lines = CSV26.read_text().splitlines()
    lines[5] = lines[5].replace(",", ',"', 1)  # one quote opened, never closed
    bad = tmp_path / "quote.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"quote\.csv line 6: unbalanced quote"):
        read_isc_csv(bad, label_rule="depth0")


def test_byte_order_mark_is_accepted(tmp_path):
    from seisembed.catalog import read_isc_csv

    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + CSV26.read_bytes())
    pd.testing.assert_frame_equal(read_isc_csv(bom, label_rule="depth0"), read_isc_csv(CSV26, label_rule="depth0"))


def test_arrivals_parquet_with_out_of_range_coordinates_is_refused(tmp_path):
    from seisembed.catalog import read_arrivals_table, read_isc_csv

    table = read_isc_csv(CSV26, label_rule="depth0")
    table.loc[3, "station_latitude_deg"] = 123.0
    path = tmp_path / "arrivals.parquet"
    table.to_parquet(path)
    with pytest.raises(InputError, match=r"station_latitude_deg outside \[-90, 90\].*123"):
        read_arrivals_table(path)
