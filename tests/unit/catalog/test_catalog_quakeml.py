"""QuakeML (+ StationXML) into the arrivals table; ISC/IMS1.0 event-type mapping."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import obspy
import pandas as pd
import pytest
from obspy import UTCDateTime
from obspy.core.event import Arrival, Catalog, Event, Magnitude, Origin, Pick, ResourceIdentifier, WaveformStreamID
from obspy.core.inventory import Inventory, Network, Station

from seisembed.catalog import Skips
from seisembed.catalog.build import build_catalog
from seisembed.catalog.labels import ISC_EVENT_TYPES, quakeml_to_isc_code
from seisembed.catalog.quakeml import event_source_id, read_quakeml
from seisembed.columns import ARRIVAL_COLUMNS
from seisembed.config import validate_config
from seisembed.errors import ConfigError, InputError

IASPEI_DATA = Path(obspy.__file__).parent / "io" / "iaspei" / "tests" / "data"
IMS_SAMPLES = ["ipe202409sel_ims.txt", "19670130012028.isf"]

T0 = UTCDateTime("2014-03-01T10:00:00")


def _read_ims(name: str) -> Catalog:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ObsPy warns about a phase block without origin
        return obspy.read_events(str(IASPEI_DATA / name))


def _ims_codes(name: str) -> dict[str, set[str]]:
    """Event id -> ISC event type codes of its origin lines (columns 116-117 of IMS1.0)."""
    codes: dict[str, set[str]] = {}
    current = None
    for line in (IASPEI_DATA / name).read_text(encoding="utf-8", errors="replace").splitlines():
        match = re.match(r"^EVENT\s+(\d+)", line, re.IGNORECASE)
        if match:
            current = match.group(1)
            codes[current] = set()
        elif current and re.match(r"^\d{4}/\d\d/\d\d ", line) and len(line) >= 117:
            codes[current].add(line[115:117].strip())
    return codes


@pytest.mark.parametrize("name", IMS_SAMPLES)
def test_event_type_mapping_on_obspy_ims_samples(name):
    catalog = _read_ims(name)
    expected = _ims_codes(name)
    assert len(catalog) == len(expected) > 0
    for event in catalog:
        sid = event_source_id(event)
        known = expected[sid] - {"uk", ""}
        assert len(known) == 1, (sid, expected[sid])
        # ObsPy keeps one (type, certainty) per event; our code for it is the bulletin's
        assert quakeml_to_isc_code(event.event_type, event.event_type_certainty) == known.pop()


def test_isc_code_table_roundtrips():
    for code, (event_type, certainty) in ISC_EVENT_TYPES.items():
        if event_type is not None and code not in ("de", "fe"):
            assert quakeml_to_isc_code(event_type, certainty) == code
    assert quakeml_to_isc_code("quarry blast", "known") == "km"
    assert quakeml_to_isc_code(None) == "uk" and quakeml_to_isc_code("meteorite") == "uk"


def _czech_inventory() -> Inventory:
    """Approximate coordinates of the Czech stations of ObsPy's IPE sample (for testing)."""
    stations = {
        "MORC": (49.7768, 17.5425, 740.0),
        "JAVC": (48.8590, 17.6708, 860.0),
        "VRAC": (49.3084, 16.5935, 470.0),
        "KRUC": (49.0620, 16.3952, 341.0),
    }
    net = Network("CZ", stations=[Station(code, lat, lon, elev) for code, (lat, lon, elev) in stations.items()])
    return Inventory(networks=[net], source="test")


def test_ims_bulletin_through_the_quakeml_path(tmp_path):
    inventory = tmp_path / "czech.xml"
    _czech_inventory().write(str(inventory), format="STATIONXML")
    skips = Skips()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = read_quakeml(IASPEI_DATA / "ipe202409sel_ims.txt", inventory, label_rule="event_type", skips=skips)
    assert tuple(table.columns) == ARRIVAL_COLUMNS
    # 2032257 (km, known mining explosion): first P at each of its 4 stations
    assert set(table["source_id"]) == {"2032257"}
    assert sorted(table["station_code"]) == ["JAVC", "KRUC", "MORC", "VRAC"]
    assert (table["source_type"] == "explosion").all() and (table["source_type_raw"] == "km").all()
    assert (table["trace_phase"] == "Pg").all() and (table["station_network_code"] == "CZ").all()
    morc = table.set_index("station_code").loc["MORC"]
    assert morc["path_ep_distance_deg"] == pytest.approx(0.66)
    assert morc["source_depth_km"] == pytest.approx(1.0)
    assert morc["source_magnitude"] == pytest.approx(1.2) and morc["source_magnitude_type"] == "ML"
    assert morc["path_back_azimuth_deg"] == pytest.approx(85.7, abs=2.0)  # bulletin's observed azimuth
    assert morc["trace_p_arrival_time"] == pd.Timestamp("2024-09-01T12:33:32.774", tz="UTC")
    reasons = skips.as_dict()
    assert reasons["events: no origin with time and coordinates"]["count"] == 1  # 2032247
    assert reasons["events: no picks"]["count"] == 1  # 2032696
    assert reasons["rows: phase is not P-type (S, L, x or none)"]["count"] == 3


def _inventory() -> Inventory:
    old = Station("AAA", 40.0, -100.0, 1000.0, start_date=UTCDateTime("2000-01-01"), end_date=UTCDateTime("2010-01-01"))
    new = Station("AAA", 40.5, -100.5, 1100.0, start_date=UTCDateTime("2010-01-01"))
    return Inventory(
        networks=[
            Network("TA", stations=[old, new, Station("BBB", 41.0, -101.0, 500.0), Station("CCC", 38.0, -98.0, 200.0)]),
            Network("US", stations=[Station("DDD", 35.0, -95.0, 300.0)]),
        ],
        source="test",
    )


def _event(
    sid: str,
    event_type: str | None,
    certainty: str | None,
    picks: list[tuple],
    *,
    magnitude: float | None = 3.0,
    depth_m: float = 5000.0,
) -> Event:
    """An event like the synthetic generator writes: ids carry the catalogue id."""
    base = f"smi:local/event/{sid}"
    origin = Origin(
        resource_id=ResourceIdentifier(f"{base}/origin"), time=T0, latitude=38.0, longitude=-100.0, depth=depth_m
    )
    event = Event(resource_id=ResourceIdentifier(base), event_type=event_type, event_type_certainty=certainty)
    for i, (net, sta, loc, phase, dt, link) in enumerate(picks):
        pick = Pick(
            resource_id=ResourceIdentifier(f"smi:local/pick/{sid}/{i}"),
            time=T0 + dt,
            phase_hint=phase,
            waveform_id=WaveformStreamID(net, sta, loc, "BHZ"),
        )
        event.picks.append(pick)
        if link:
            pick_id = pick.resource_id if link is True else ResourceIdentifier(link)
            origin.arrivals.append(
                Arrival(resource_id=ResourceIdentifier(f"{base}/arrival/{i}"), pick_id=pick_id, phase=phase)
            )
    event.origins.append(origin)
    event.preferred_origin_id = origin.resource_id
    if magnitude is not None:
        mag = Magnitude(
            resource_id=ResourceIdentifier(f"{base}/magnitude"),
            mag=magnitude,
            magnitude_type="ML",
            origin_id=origin.resource_id,
        )
        event.magnitudes.append(mag)
        event.preferred_magnitude_id = mag.resource_id
    return event


@pytest.fixture
def quakeml_files(tmp_path):
    """A generator-style QuakeML + StationXML with the bad cases of issue 3."""
    catalog = Catalog(
        events=[
            _event(
                "1001",
                "earthquake",
                "known",
                [
                    ("TA", "AAA", "", "Pg", 30.0, True),
                    ("TA", "AAA", "", "Pn", 28.0, True),  # earlier P at the same station wins
                    ("TA", "AAA", "", "Sg", 50.0, True),
                    ("TA", "BBB", "", "P", 40.0, True),
                    ("TA", "BBB", "", "P", 40.0, True),  # exact duplicate
                    ("XX", "ZZZ", "", "P", 45.0, True),  # unknown station
                    ("", "DDD", "00", "P", 60.0, True),  # no network: unique station code
                    ("TA", "CCC", "", "P", 20.0, "smi:local/pick/missing"),  # arrival -> missing pick
                ],
            ),
            _event(
                "1002",
                "mining explosion",
                "suspected",
                [("TA", "CCC", "", "Pg", 10.0, True)],
                magnitude=None,
                depth_m=0.0,
            ),
            _event("1003", "induced or triggered event", "known", [("TA", "CCC", "", "Pg", 10.0, True)]),
            _event("1004", None, None, [("TA", "CCC", "", "Pg", 10.0, True)]),
            _event("1005", "earthquake", "known", []),  # no picks
            _event("1006", "earthquake", None, [("TA", "BBB", "", "P", 12.0, False)]),  # picks, no arrivals
        ]
    )
    events = tmp_path / "events.xml"
    stations = tmp_path / "stations.xml"
    catalog.write(str(events), format="QUAKEML")
    _inventory().write(str(stations), format="STATIONXML")
    return events, stations


def test_generator_style_quakeml(quakeml_files):
    events, stations = quakeml_files
    skips = Skips()
    table = read_quakeml(events, stations, label_rule="event_type", skips=skips)
    rows = {(r.source_id, r.station_code): r for r in table.itertuples()}
    assert set(rows) == {("1001", "AAA"), ("1001", "BBB"), ("1001", "DDD"), ("1002", "CCC"), ("1006", "BBB")}
    aaa = rows[("1001", "AAA")]
    assert aaa.trace_phase == "Pn" and aaa.trace_p_arrival_time == pd.Timestamp((T0 + 28.0).datetime, tz="UTC")
    assert (aaa.station_latitude_deg, aaa.station_elevation_m) == (40.5, 1100.0)  # the 2010- epoch
    assert rows[("1001", "DDD")].station_network_code == "US" and rows[("1001", "DDD")].station_location_code == "00"
    assert rows[("1002", "CCC")].source_type == "explosion" and rows[("1002", "CCC")].source_type_raw == "sm"
    assert rows[("1002", "CCC")].source_magnitude == 2.5 and rows[("1002", "CCC")].source_magnitude_type == ""
    assert rows[("1001", "AAA")].source_type_raw == "ke" and rows[("1001", "AAA")].source_depth_km == 5.0
    expected_distance = np.degrees(
        np.arccos(
            np.sin(np.radians(38)) * np.sin(np.radians(40.5))
            + np.cos(np.radians(38)) * np.cos(np.radians(40.5)) * np.cos(np.radians(0.5))
        )
    )
    assert aaa.path_ep_distance_deg == pytest.approx(expected_distance, rel=1e-9)
    assert 0 <= aaa.path_back_azimuth_deg < 360
    reasons = skips.as_dict()
    assert reasons["rows: pick at a station not in the inventory"]["examples"] == ["event 1001 station XX.ZZZ"]
    assert reasons["rows: arrival references a pick that is not in its event"]["count"] == 1
    assert reasons["rows: exact duplicate arrival"]["count"] == 1
    assert reasons["rows: later P arrival at the same (event, station)"]["count"] == 1
    assert reasons["events: no picks"]["examples"] == ["event 1005"]
    assert reasons["events: event type ki (induced or triggered event) is neither earthquake nor explosion"][
        "examples"
    ] == ["event 1003"]
    assert reasons["events: no event type in the catalogue"]["examples"] == ["event 1004"]


def test_depth0_rule_on_quakeml(quakeml_files):
    events, stations = quakeml_files
    table = read_quakeml(events, stations, label_rule="depth0")
    labels = table.drop_duplicates("source_id").set_index("source_id")["source_type"]
    assert labels["1002"] == "explosion" and labels["1001"] == "earthquake" and labels["1004"] == "earthquake"
    assert (table["source_type_raw"] == "depth0").all()


def test_quakeml_without_picks_fails_clearly(tmp_path):
    path = tmp_path / "nopicks.xml"
    Catalog(events=[_event("1", "earthquake", "known", [])]).write(str(path), format="QUAKEML")
    inv = tmp_path / "inv.xml"
    _inventory().write(str(inv), format="STATIONXML")
    with pytest.raises(InputError, match="nopicks.xml.*has picks"):
        read_quakeml(path, inv)


def test_quakeml_file_source_needs_inventory(quakeml_files, tmp_path):
    events, stations = quakeml_files
    with pytest.raises(ConfigError, match="catalog.inventory"):
        build_catalog(validate_config({"catalog": {"source": "file", "file": str(events)}}))
    with pytest.raises(InputError, match="cannot be read as StationXML"):
        bad = tmp_path / "bad.xml"
        bad.write_text("<not stationxml/>")
        read_quakeml(events, bad)
    with pytest.raises(InputError, match="cannot be read"):
        read_quakeml(stations, stations)  # StationXML is not QuakeML


def test_synthetic_source_reads_the_generator_outputs(quakeml_files, tmp_path):
    events, stations = quakeml_files
    config = validate_config(
        {
            "catalog": {"source": "synthetic", "starttime": "2014-01-01", "endtime": "2015-01-01"},
            "synthetic": {"output_dir": str(events.parent)},
        }
    )
    table, summary = build_catalog(config)
    assert summary["source"] == "synthetic" and summary["inputs"] == [str(events), str(stations)]
    assert summary["rows_out"] == len(table) == 5 and summary["explosions"] == 1 and summary["earthquakes"] == 2
    config["synthetic"]["output_dir"] = str(tmp_path / "nowhere")
    with pytest.raises(InputError, match="events.xml does not exist.*synthesize"):
        build_catalog(config)


def test_resource_id_forms():
    assert event_source_id(Event(resource_id=ResourceIdentifier("smi:ISC/evid=600516598"))) == "600516598"
    assert event_source_id(Event(resource_id=ResourceIdentifier("smi:local/abc/event/2032247"))) == "2032247"
    assert (
        event_source_id(Event(resource_id=ResourceIdentifier("quakeml:us.anss.org/event/us7000abcd"))) == "us7000abcd"
    )


def _to_quakeml(table: pd.DataFrame, events_path: Path, stations_path: Path) -> None:
    """Write an arrivals table as generator-style QuakeML + StationXML."""
    catalog = Catalog()
    for sid, group in table.groupby("source_id", sort=True):
        first = group.iloc[0]
        base = f"smi:local/event/{sid}"
        origin = Origin(
            resource_id=ResourceIdentifier(f"{base}/origin"),
            time=UTCDateTime(first.source_origin_time.isoformat()),
            latitude=first.source_latitude_deg,
            longitude=first.source_longitude_deg,
            depth=first.source_depth_km * 1000.0,
        )
        event = Event(
            resource_id=ResourceIdentifier(base),
            event_type="mining explosion" if first.source_type == "explosion" else "earthquake",
            event_type_certainty="known",
        )
        for row in group.itertuples():
            nslc = f"{row.station_network_code}.{row.station_code}.{row.station_location_code}"
            pick = Pick(
                resource_id=ResourceIdentifier(f"smi:local/pick/{sid}/{nslc}"),
                time=UTCDateTime(row.trace_p_arrival_time.isoformat()),
                phase_hint=row.trace_phase,
                waveform_id=WaveformStreamID(
                    row.station_network_code, row.station_code, row.station_location_code, "BHZ"
                ),
            )
            event.picks.append(pick)
            origin.arrivals.append(
                Arrival(
                    resource_id=ResourceIdentifier(f"{base}/arrival/{nslc}"),
                    pick_id=pick.resource_id,
                    phase=row.trace_phase,
                    distance=row.path_ep_distance_deg,
                )
            )
        magnitude = Magnitude(
            resource_id=ResourceIdentifier(f"{base}/magnitude"),
            mag=first.source_magnitude,
            magnitude_type=first.source_magnitude_type or None,
        )
        event.origins.append(origin)
        event.magnitudes.append(magnitude)
        event.preferred_origin_id, event.preferred_magnitude_id = origin.resource_id, magnitude.resource_id
        catalog.append(event)
    catalog.write(str(events_path), format="QUAKEML")
    stations = table.drop_duplicates(["station_network_code", "station_code"])
    networks = [
        Network(
            net,
            stations=[
                Station(r.station_code, r.station_latitude_deg, r.station_longitude_deg, r.station_elevation_m)
                for r in group.itertuples()
            ],
        )
        for net, group in stations.groupby("station_network_code")
    ]
    Inventory(networks=networks, source="test").write(str(stations_path), format="STATIONXML")


def test_csv_and_quakeml_paths_agree(tmp_path):
    """The same arrivals through ISC CSV and through QuakeML give the same table."""
    from seisembed.catalog import read_isc_csv

    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "catalog" / "isc_20140101_07_26col.csv"
    table = read_isc_csv(fixture, label_rule="depth0")
    _to_quakeml(table, tmp_path / "events.xml", tmp_path / "stations.xml")
    again = read_quakeml(tmp_path / "events.xml", tmp_path / "stations.xml", label_rule="event_type")
    assert (again["source_type_raw"].isin(["ke", "km"])).all()
    pd.testing.assert_frame_equal(
        again.drop(columns="source_type_raw"), table.drop(columns="source_type_raw"), check_exact=False, rtol=1e-9
    )


@pytest.mark.slow
def test_full_committed_catalogue_through_quakeml(isc_2014_csv, tmp_path):
    """All 21,904 first-P arrivals of 2014 survive a QuakeML round trip unchanged (~40 s)."""
    from seisembed.catalog import read_isc_csv

    table = read_isc_csv(isc_2014_csv, label_rule="depth0")
    _to_quakeml(table, tmp_path / "events.xml", tmp_path / "stations.xml")
    again = read_quakeml(tmp_path / "events.xml", tmp_path / "stations.xml", label_rule="event_type")
    pd.testing.assert_frame_equal(
        again.drop(columns="source_type_raw"), table.drop(columns="source_type_raw"), check_exact=False, rtol=1e-9
    )
