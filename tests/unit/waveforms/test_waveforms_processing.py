"""QC and processing of single windows (seisembed.waveforms.processing): each bad input -> its status."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from obspy import Stream, UTCDateTime
from scipy import signal

from seisembed.testing.archive import StationSpec, make_inventory, make_records
from seisembed.waveforms.processing import (
    ProcessingOptions,
    QCFailure,
    WindowSpec,
    choose_channels,
    make_window,
    sample_at,
)

P = UTCDateTime(2014, 3, 2, 6, 0, 0)  # on the 40 Hz (and 100 Hz) sample grid
SPEC = WindowSpec.from_config()
BANDS, LOCS = ["BH", "HH", "EH"], ["", "00", "10"]


DEFAULT_STATION = StationSpec()


def case(spec: StationSpec = DEFAULT_STATION, seed: int = 0, p: UTCDateTime = P):
    """Records, inventory, chosen channels and true Z/N/E motion of one arrival."""
    st, motion = make_records(spec, p, seed)
    inv = make_inventory([spec])
    chset = choose_channels(inv, spec.network, spec.station, spec.location, p, BANDS, LOCS)
    return st, inv, chset, motion


def window(st, inv, chset, p=P, **options):
    return make_window(st, inv, chset, p, SPEC, dataclasses.replace(ProcessingOptions.from_config(), **options))


def status_of(st, inv, chset, **options) -> str:
    with pytest.raises(QCFailure) as info:
        window(st, inv, chset, **options)
    assert info.value.reason  # always says why
    return info.value.status


def expected_zne(motion: np.ndarray) -> np.ndarray:
    """True motion, linearly detrended over the window +- pad_s (10 s) like the stage, cut to the window."""
    lo = (80 - 40) * 40  # the record starts 80 s before P; the pad 40 s before P
    detrended = signal.detrend(np.round(motion[:, lo : lo + 8000]), axis=1)
    return detrended[:, 400 : 400 + SPEC.n_samples]


def test_window_shape_order_and_p_sample():
    st, inv, chset, motion = case()
    win = window(st, inv, chset)
    assert win.data.shape == (3, 7200) and win.data.dtype == np.float32
    assert SPEC.p_sample == 1200 and win.starttime == P - 30.0
    assert win.channels == ("BHZ", "BHN", "BHE")
    assert np.abs(win.data - expected_zne(motion)).max() < 2.0  # counts; int rounding only
    assert win.snr_db > 10


@pytest.mark.parametrize("components,h1", [("ZNE", 5.0), ("ZNE", -4.0), ("Z12", 137.0)])
def test_rotation_uses_stationxml_orientation(components, h1):
    spec = StationSpec(components=components, h1_azimuth_deg=h1)
    st, inv, chset, motion = case(spec, seed=3)
    win = window(st, inv, chset)
    truth = expected_zne(motion)
    assert np.abs(win.data - truth).max() < 2.0
    raw_h1 = signal.detrend(st.select(channel="BH" + components[1])[0].data.astype(float))[800:8000]
    assert np.abs(raw_h1 - truth[1]).max() > 100.0  # unrotated data would be visibly wrong


def test_fractional_p_time_is_interpolated_onto_the_grid():
    x = np.sin(2 * np.pi * 1.3 * np.arange(4000) / 40.0)
    got = sample_at(x, 100.37, 3000)
    want = np.sin(2 * np.pi * 1.3 * (100.37 + np.arange(3000)) / 40.0)
    assert np.abs(got - want).max() < 1e-3


def test_hh_100hz_is_antialiased_and_resampled():
    spec = StationSpec(band="HH", sampling_rate_hz=100.0)
    st, inv, chset, _ = case(spec)
    t = np.arange(st[0].stats.npts) / 100.0
    for tr in st:
        tr.data = np.round(5000 * np.sin(2 * np.pi * 2.0 * t) + 5000 * np.sin(2 * np.pi * 30.0 * t)).astype(np.int32)
    win = window(st, inv, chset)
    assert win.channels == ("HHZ", "HHN", "HHE")
    spec_z = np.abs(np.fft.rfft(win.data[0] * np.hanning(7200)))
    freqs = np.fft.rfftfreq(7200, 1 / 40.0)
    at = lambda f: spec_z[np.argmin(np.abs(freqs - f))]  # noqa: E731
    assert at(10.0) < 1e-3 * at(2.0)  # 30 Hz would alias to 10 Hz without the low-pass


def test_channel_priority_prefers_bh_then_configured_order():
    bh, hh = StationSpec(), StationSpec(band="HH", sampling_rate_hz=100.0)
    inv = make_inventory([bh, hh])
    assert choose_channels(inv, "XX", "STA", "", P, ["BH", "HH"], LOCS).band == "BH"
    assert choose_channels(inv, "XX", "STA", "", P, ["HH", "BH"], LOCS).band == "HH"


def test_gap_in_window_is_gap():
    st, inv, chset, _ = case()
    tr = st.select(channel="BHN")[0]
    st.remove(tr)
    st += Stream([tr.slice(tr.stats.starttime, P - 1), tr.slice(P + 2, tr.stats.endtime)])
    assert status_of(st, inv, chset) == "gap"


def test_gap_outside_window_is_fine():
    st, inv, chset, _ = case()
    tr = st.select(channel="BHN")[0]
    st.remove(tr)
    st += Stream([tr.slice(tr.stats.starttime, P - 45), tr.slice(P - 40, tr.stats.endtime)])
    assert window(st, inv, chset).data.shape == (3, 7200)


def test_inconsistent_overlap_is_gap():
    st, inv, chset, _ = case()
    tr = st.select(channel="BHE")[0]
    st.remove(tr)
    second = tr.slice(P - 5, tr.stats.endtime).copy()
    second.data = second.data + 1000
    st += Stream([tr.slice(tr.stats.starttime, P + 5), second])
    assert status_of(st, inv, chset) == "gap"


def test_consistent_overlap_is_merged():
    st, inv, chset, _ = case()
    tr = st.select(channel="BHE")[0]
    st.remove(tr)
    st += Stream([tr.slice(tr.stats.starttime, P + 5), tr.slice(P - 5, tr.stats.endtime)])
    assert window(st, inv, chset).data.shape == (3, 7200)


def test_clock_shifted_record_is_gap():
    st, inv, chset, _ = case()
    tr = st.select(channel="BHZ")[0]
    st.remove(tr)
    a, b = tr.slice(tr.stats.starttime, P), tr.slice(P + 0.025, tr.stats.endtime).copy()
    b.stats.starttime += 0.4 / 40.0  # 0.4 samples off the grid
    st += Stream([a, b])
    assert status_of(st, inv, chset) == "gap"


def test_wrong_sampling_rate_is_bad_sampling_rate():
    st, inv, chset, _ = case()
    st.select(channel="BHN")[0].stats.sampling_rate = 50.0
    assert status_of(st, inv, chset) == "bad_sampling_rate"


def test_rate_below_target_is_bad_sampling_rate():
    spec = StationSpec(sampling_rate_hz=20.0)
    st, inv, chset, _ = case(spec)
    assert status_of(st, inv, chset) == "bad_sampling_rate"


def test_missing_component():
    st, inv, chset, _ = case()
    st.remove(st.select(channel="BHE")[0])
    assert status_of(st, inv, chset) == "missing_component"


def test_extra_component_is_ignored_with_a_note():
    st, inv, chset, _ = case()
    extra = st[0].copy()
    extra.stats.channel = "BHX"
    st += extra
    win = window(st, inv, chset)
    assert "XX.STA..BHX" in " ".join(win.notes)


def test_multiple_location_codes_choose_by_priority():
    s00, s10 = StationSpec(location="00"), StationSpec(location="10", h1_azimuth_deg=30.0)
    inv = make_inventory([s00, s10])
    chset = choose_channels(inv, "XX", "STA", "", P, BANDS, LOCS)
    assert chset.location == "00"
    st00, _ = make_records(s00, P, seed=1)
    st10, _ = make_records(s10, P, seed=2)
    both = window(st00 + st10, inv, chset)
    alone = window(st00.copy(), inv, chset)
    assert np.array_equal(both.data, alone.data)
    assert chset.location == choose_channels(inv, "XX", "STA", "00", P, BANDS, LOCS).location
    assert choose_channels(inv, "XX", "STA", "10", P, BANDS, LOCS).location == "10"  # the arrival's own first


def test_components_split_over_locations_is_missing_component():
    s00, s10 = StationSpec(location="00"), StationSpec(location="10")
    inv = make_inventory([s00, s10])
    chset = choose_channels(inv, "XX", "STA", "", P, BANDS, LOCS)
    st00, _ = make_records(s00, P, seed=1)
    st10, _ = make_records(s10, P, seed=2)
    mixed = Stream([st00[0]]) + Stream(st10[1:])
    assert status_of(mixed, inv, chset) == "missing_component"


def test_non_finite_samples():
    st, inv, chset, _ = case()
    tr = st.select(channel="BHZ")[0]
    tr.data = tr.data.astype(np.float64)
    tr.data[5000] = np.nan
    assert status_of(st, inv, chset) == "non_finite"
    tr.data[5000] = np.inf
    assert status_of(st, inv, chset) == "non_finite"


def test_dead_channel_is_missing_component():
    st, inv, chset, _ = case()
    st.select(channel="BHE")[0].data[:] = 0
    assert status_of(st, inv, chset) == "missing_component"


def test_clipped_channel():
    st, inv, chset, _ = case()
    tr = st.select(channel="BHZ")[0]
    level = int(0.4 * np.abs(tr.data).max())
    tr.data = np.clip(tr.data, -level, level)
    assert status_of(st, inv, chset) == "clipped"


def test_digitizer_clip_level():
    st, inv, chset, _ = case()
    assert status_of(st, inv, chset, clip_level_counts=5000.0) == "clipped"


def test_unclipped_signal_passes_clip_check():
    st, inv, chset, _ = case(seed=11)
    assert window(st, inv, chset).data.shape == (3, 7200)


def test_short_data():
    st, inv, chset, _ = case()
    st.trim(P - 20, None)  # starts 10 s after the window start
    assert status_of(st, inv, chset) == "short"
    st2, inv, chset, _ = case()
    st2.trim(None, P + 100)
    assert status_of(st2, inv, chset) == "short"


def test_empty_stream_is_no_data():
    _, inv, chset, _ = case()
    assert status_of(Stream(), inv, chset) == "no_data"


def test_stationxml_without_the_channels():
    inv = make_inventory([StationSpec(band="LH", sampling_rate_hz=1.0)])
    with pytest.raises(QCFailure) as info:
        choose_channels(inv, "XX", "STA", "", P, BANDS, LOCS)
    assert info.value.status == "missing_component" and "LH" in info.value.reason


def test_station_absent_from_stationxml_is_no_data():
    inv = make_inventory([StationSpec()])
    with pytest.raises(QCFailure) as info:
        choose_channels(inv, "XX", "OTHER", "", P, BANDS, LOCS)
    assert info.value.status == "no_data"
    with pytest.raises(QCFailure) as info:
        choose_channels(None, "XX", "STA", "", P, BANDS, LOCS)
    assert info.value.status == "no_data"


def test_channel_outside_its_epoch_is_not_used():
    inv = make_inventory([StationSpec()], start=UTCDateTime(2015, 1, 1))
    with pytest.raises(QCFailure) as info:
        choose_channels(inv, "XX", "STA", "", P, BANDS, LOCS)
    assert info.value.status == "missing_component"


def test_trace_with_float_data_and_demean_option():
    st, inv, chset, _ = case()
    for tr in st:
        tr.data = tr.data.astype(np.float32)
    win = window(st, inv, chset, detrend="demean")
    assert np.isfinite(win.data).all() and abs(float(win.data[0].mean())) < 200


def _two_tones(st, p: UTCDateTime) -> None:
    """Replace each trace's samples by a 1.1 Hz + 3.3 Hz signal in time since ``p`` (float counts)."""
    for tr in st:
        t = tr.times("timestamp") - p.timestamp
        tr.data = 1000 * np.sin(2 * np.pi * 1.1 * t) + 500 * np.cos(2 * np.pi * 3.3 * t)


@pytest.mark.parametrize(
    "rate,offset_s", [(100.0, 0.0), (100.0, 0.0037), (50.0, 0.011), (200.0, 0.0013), (40.0, 0.007)]
)
def test_resampling_and_off_grid_records_keep_timing(rate, offset_s):
    # a phase shift of 1 ms would show as ~10 counts at 3.3 Hz; P must stay at sample 1200
    spec = StationSpec(band="HH", sampling_rate_hz=rate)
    st, inv, chset, _ = case(spec)
    for tr in st:
        tr.stats.starttime += offset_s
    _two_tones(st, P)
    win = window(st, inv, chset, detrend="none")
    t = (np.arange(SPEC.n_samples) - SPEC.p_sample) / SPEC.sampling_rate_hz
    want = 1000 * np.sin(2 * np.pi * 1.1 * t) + 500 * np.cos(2 * np.pi * 3.3 * t)
    assert np.abs(win.data[0] - want).max() < 3.0  # 0.2 % of the amplitude, edges included


def test_resampled_data_need_a_margin_beyond_the_window():
    spec = StationSpec(band="HH", sampling_rate_hz=100.0)
    st, inv, chset, _ = case(spec)
    _two_tones(st, P)
    st.trim(P - 30, P + 149.975)  # exactly the window: the filters' edge effects would land in it
    assert status_of(st, inv, chset) == "short"
    st, inv, chset, _ = case(spec)
    _two_tones(st, P)
    st.trim(P - 31, P + 150.975)  # 1 s beyond each edge is enough
    assert window(st, inv, chset).data.shape == (3, 7200)
    st, inv, chset, _ = case()
    st.trim(P - 30, P + 149.975)  # on-grid 40 Hz data need no margin
    assert window(st, inv, chset).data.shape == (3, 7200)


def test_degenerate_stationxml_orientation_is_a_qc_status():
    from dataclasses import replace

    st, inv, chset, _ = case()
    twin = replace(chset, orientations=(chset.orientations[0], chset.orientations[1], chset.orientations[1]))
    with pytest.raises(QCFailure) as info:
        make_window(st, inv, twin, P, SPEC, ProcessingOptions.from_config())
    assert info.value.status == "missing_component" and "orientation" in info.value.reason
