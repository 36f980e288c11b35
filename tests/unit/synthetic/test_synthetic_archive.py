"""The generated archive reads back with ObsPy (SDS client, StationXML, QuakeML); determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from obspy import UTCDateTime, read_events, read_inventory
from obspy.clients.filesystem.sds import Client

from seisembed.catalog import read_arrivals_table as read_arrivals
from seisembed.synthetic import select_subset, synthesize

CATALOGUE = Path(__file__).resolve().parents[3] / "resources" / "isc" / "isc_arrivals_2014_conus.csv.gz"
SEED = 7


@pytest.fixture(scope="module")
def arrivals() -> pd.DataFrame:
    """15 explosions + 15 earthquakes of the real 2014 catalogue, at most 5 records each."""
    table = read_arrivals(CATALOGUE)
    ids = []
    for cls in ("explosion", "earthquake"):
        ev = sorted(table.loc[table.source_type == cls, "source_id"].unique())
        ids += ev[:15]
    return select_subset(
        table[table.source_id.isin(ids)], max_records_per_event=5, max_events=None, min_records_per_event=1, seed=SEED
    )


@pytest.fixture(scope="module")
def study(arrivals, tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    summary = synthesize(
        arrivals,
        out,
        {"p_gap": 0.2, "p_glitch": 0.1, "p_dead_channel": 0.05, "p_clipped": 0.05, "p_station_bh12": 0.3},
        SEED,
    )
    return out, summary


def test_summary_counts(study, arrivals):
    _, summary = study
    assert summary["records"] == len(arrivals)
    assert summary["events"] == 30
    assert summary["explosion_records"] == int((arrivals.source_type == "explosion").sum())
    assert summary["artefacts"]["artefact_gap"] > 0


def test_sds_reads_back_every_record(study):
    out, _ = study
    truth = pd.read_parquet(out / "truth.parquet")
    client = Client(str(out / "sds"))
    for row in truth.itertuples():
        pick = UTCDateTime(ns=int(row.pick_time_ns))
        st = client.get_waveforms(row.network, row.station, row.location, "BH?", pick - 30, pick + 150)
        assert {tr.stats.channel for tr in st} == set(row.channels.split(",")), row
        assert all(tr.stats.sampling_rate == 40.0 for tr in st)
        if not row.artefact_gap:
            for tr in st.merge():
                assert tr.stats.starttime <= pick - 30 + 0.025 and tr.stats.endtime >= pick + 150 - 0.025
                assert not np.ma.is_masked(tr.data)


def test_stationxml_coordinates_channels_response(study, arrivals):
    out, _ = study
    inv = read_inventory(str(out / "stations.xml"))
    truth = pd.read_parquet(out / "truth.parquet")
    for row in arrivals.drop_duplicates("station_code").itertuples():
        sel = inv.select(network=row.station_network_code, station=row.station_code)
        sta = sel[0][0]
        assert sta.latitude == pytest.approx(row.station_latitude_deg)
        assert sta.longitude == pytest.approx(row.station_longitude_deg)
        codes = sorted(ch.code for ch in sta.channels)
        assert codes in (["BH1", "BH2", "BHZ"], ["BHE", "BHN", "BHZ"])
        for ch in sta.channels:
            assert ch.sample_rate == 40.0
            assert ch.dip == (-90.0 if ch.code == "BHZ" else 0.0)
    assert truth.bh12.any() and not truth.bh12.all()
    # remove_response works and gives plausible ground velocities (m/s)
    row = truth.iloc[0]
    pick = UTCDateTime(ns=int(row.pick_time_ns))
    st = Client(str(out / "sds")).get_waveforms(row.network, row.station, row.location, "BHZ", pick - 30, pick + 150)
    st.merge(fill_value=0)
    st.remove_response(inventory=inv, output="VEL")
    assert 1e-12 < np.abs(st[0].data).max() < 1e-2


def test_rotation_to_zne_with_inventory(study):
    out, _ = study
    inv = read_inventory(str(out / "stations.xml"))
    truth = pd.read_parquet(out / "truth.parquet")
    row = truth[truth.bh12 & ~truth.artefact_gap & ~truth.artefact_dead_channel].iloc[0]
    pick = UTCDateTime(ns=int(row.pick_time_ns))
    st = Client(str(out / "sds")).get_waveforms(row.network, row.station, row.location, "BH?", pick - 30, pick + 150)
    st.rotate("->ZNE", inventory=inv, components=("ZNE", "Z12"))
    assert sorted(tr.stats.channel for tr in st) == ["BHE", "BHN", "BHZ"]


def test_quakeml_events_picks_arrivals(study, arrivals):
    out, _ = study
    cat = read_events(str(out / "events.xml"))
    truth = pd.read_parquet(out / "truth.parquet").set_index(["source_id", "station"])
    assert len(cat) == 30
    types = arrivals.drop_duplicates("source_id").set_index("source_id").source_type
    for ev in cat:
        sid = str(ev.resource_id).rsplit("/", 1)[-1]
        assert str(ev.resource_id) == f"smi:local/event/{sid}"
        assert ev.event_descriptions[0].text == sid
        # synthetic explosions are ripple-fired mining blasts
        expected = "earthquake" if types[sid] == "earthquake" else "mining explosion"
        assert ev.event_type == expected
        assert ev.event_type_certainty == "known"
        origin = ev.preferred_origin()
        assert ev.preferred_magnitude() is not None and ev.preferred_magnitude().mag > 0
        n = int((arrivals.source_id == sid).sum())
        assert len(ev.picks) == n and len(origin.arrivals) == n
        picks = {str(p.resource_id): p for p in ev.picks}
        for arr in origin.arrivals:
            pick = picks[str(arr.pick_id)]
            assert pick.waveform_id.channel_code == "BHZ"
            row = truth.loc[(sid, pick.waveform_id.station_code)]
            assert pick.time == UTCDateTime(ns=int(row.pick_time_ns))
            assert arr.phase == pick.phase_hint and arr.distance is not None


def test_picks_are_off_the_onset_heavy_tailed(study):
    out, _ = study
    truth = pd.read_parquet(out / "truth.parquet")
    err = np.abs(truth.pick_error_s.to_numpy())
    assert (err > 0).all()
    assert 0.1 < np.median(err) < 1.0
    assert np.allclose((truth.pick_time_ns - truth.onset_time_ns) / 1e9, truth.pick_error_s, atol=1e-6)


def test_deterministic_byte_identical_and_batch_independent(study, arrivals, tmp_path, tree_digest):
    out, _ = study
    again = tmp_path / "again"
    synthesize(
        arrivals,
        again,
        {
            "p_gap": 0.2,
            "p_glitch": 0.1,
            "p_dead_channel": 0.05,
            "p_clipped": 0.05,
            "p_station_bh12": 0.3,
            "batch_size": 7,
        },
        SEED,
    )
    first, second = tree_digest(out), tree_digest(again)
    assert first.pop("params.json") != second.pop("params.json")  # records the batch size
    assert first == second


def test_same_params_same_bytes(arrivals, tmp_path, tree_digest):
    small = arrivals[arrivals.source_id.isin(sorted(arrivals.source_id.unique())[:4])]
    synthesize(small, tmp_path / "a", {}, SEED)
    synthesize(small, tmp_path / "b", {}, SEED)
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")


def test_other_seed_differs(arrivals, tmp_path, tree_digest):
    a, b = tmp_path / "a", tmp_path / "b"
    small = arrivals[arrivals.source_id.isin(sorted(arrivals.source_id.unique())[:3])]
    synthesize(small, a, {}, 1)
    synthesize(small, b, {}, 2)
    assert (a / "events.xml").read_bytes() != (b / "events.xml").read_bytes()
    assert tree_digest(a / "sds") != tree_digest(b / "sds")


def test_bad_input_names_the_problem(arrivals, tmp_path):
    with pytest.raises(ValueError, match="lacks column"):
        synthesize(arrivals.drop(columns=["station_latitude_deg"]), tmp_path, {}, 1)
    bad = arrivals.copy()
    bad.loc[bad.index[0], "source_type"] = "landslide"
    with pytest.raises(ValueError, match="landslide"):
        synthesize(bad, tmp_path, {}, 1)


def test_select_subset_caps_records_and_keeps_classes():
    table = read_arrivals(CATALOGUE)
    sub = select_subset(table, max_records_per_event=8, max_events=None, min_records_per_event=1, seed=1)
    per_event = sub.groupby("source_id").size()
    assert per_event.max() <= 8
    assert sub.source_id.nunique() == table.source_id.nunique()
    assert (sub.source_type == "explosion").mean() > 0.1
    again = select_subset(table, max_records_per_event=8, max_events=None, min_records_per_event=1, seed=1)
    assert again.index.equals(sub.index)
    few = select_subset(table, max_records_per_event=None, max_events=50, min_records_per_event=2, seed=1)
    assert few.source_id.nunique() <= 51 and set(few.source_type) == {"earthquake", "explosion"}


def test_sds_writer_sums_overlaps_splits_gaps_and_flushes_per_station(tmp_path):
    from obspy import read

    from seisembed.synthetic.writers import SDSWriter

    w = SDSWriter(tmp_path, 40.0)
    t0 = int(UTCDateTime(2014, 3, 1, 23, 59, 0).ns)
    ones = np.ones((3, 4000))
    valid = np.ones(4000, bool)
    w.add("XX", "AAA", "", ("BHZ", "BHN", "BHE"), t0, ones, valid)
    gap = valid.copy()
    gap[3000:3100] = False
    w.add("XX", "AAA", "", ("BHZ", "BHN", "BHE"), t0 + 2000 * 25_000_000, 2 * ones, gap)
    assert set(w._open) == {"BHZ", "BHN", "BHE"}  # still open: same station
    w.add("XX", "BBB", "", ("BHZ", "BH1", "BH2"), t0, ones, valid)
    assert set(w._open) == {"BHZ", "BH1", "BH2"}  # station AAA flushed, only BBB held
    w.flush()
    st = read(str(tmp_path / "2014" / "XX" / "AAA" / "BHZ.D" / "*"))
    st.merge()
    data = st[0].data
    assert st[0].stats.starttime == UTCDateTime(ns=t0)
    assert data[0] == 1 and data[2500] == 3 and data[4500] == 2  # overlap summed
    assert np.ma.is_masked(data) and data.mask[5000:5100].all()  # the gap of the second record
    days = sorted(p.name[-3:] for p in (tmp_path / "2014" / "XX" / "AAA" / "BHZ.D").iterdir())
    assert days == ["060", "061"]  # split at midnight
