"""Cut one P window from raw three-component data: QC, resample, rotate.

The functions here are source-agnostic: they take an ObsPy
:class:`~obspy.core.stream.Stream` (as returned by an FDSN data centre or read
from an SDS archive) plus the station's :class:`~obspy.core.inventory.Inventory`
and either return a :class:`Window` or raise :class:`QCFailure` carrying a QC
status of :data:`seisembed.columns.QC_STATUSES` and a reason. They never return
a questionable window.

Units: times are :class:`~obspy.UTCDateTime` (UTC), durations in seconds,
sampling rates in Hz, amplitudes in raw counts (no response removal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

import numpy as np
from obspy import Stream, Trace, UTCDateTime
from obspy.core.inventory import Inventory
from obspy.signal.rotate import rotate2zne
from scipy import signal

from seisembed.config import section as config_section

#: component letters taken as vertical / horizontal when the dip is unusable
_VERTICAL_CODES = "Z3"

#: relative tolerance on sampling rates (data vs. StationXML, data vs. data)
SAMPLING_RATE_RTOL = 1e-4

#: largest sub-sample misalignment (in samples) tolerated between records of a channel
MAX_MISALIGNMENT_SAMPLES = 0.05

#: half-width (samples) of the windowed-sinc interpolation onto the window grid
SINC_HALF_WIDTH = 16

#: data (s) needed beyond each window edge when resampling, for the anti-alias filters to settle
#: (measured: with none, 100 -> 40 Hz distorts the edge samples by ~10 % of the amplitude)
RESAMPLE_MARGIN_S = 1.0


class QCFailure(Exception):
    """A window failed quality control; ``status`` is one of ``QC_STATUSES``."""

    def __init__(self, status: str, reason: str):
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class WindowSpec:
    """Geometry of a window: sampling rate (Hz) and the span around the P arrival (s)."""

    sampling_rate_hz: float
    before_s: float
    after_s: float

    @classmethod
    def from_config(cls, values: dict | None = None) -> WindowSpec:
        """From the ``waveforms`` section as given (missing keys take the schema's defaults)."""
        waveforms = config_section("waveforms", values)
        return cls(waveforms["sampling_rate_hz"], waveforms["window_before_s"], waveforms["window_after_s"])

    @property
    def n_samples(self) -> int:
        """Number of samples per component (7200 for 40 Hz, 30 s + 150 s)."""
        return int(round((self.before_s + self.after_s) * self.sampling_rate_hz))

    @property
    def p_sample(self) -> int:
        """Index of the sample at the P arrival (1200 by default)."""
        return int(round(self.before_s * self.sampling_rate_hz))

    def start(self, p_time: UTCDateTime) -> UTCDateTime:
        """UTC time of the window's first sample."""
        return p_time - self.before_s

    def last(self, p_time: UTCDateTime) -> UTCDateTime:
        """UTC time of the window's last sample."""
        return self.start(p_time) + (self.n_samples - 1) / self.sampling_rate_hz


@dataclass(frozen=True)
class ProcessingOptions:
    """How raw data become a window (config section ``waveforms``; defaults in the schema).

    ``detrend``: "none" | "demean" | "linear"; ``antialias_corner_fraction``: low-pass
    corner as a fraction of the target Nyquist; ``antialias_order``: Butterworth order
    (applied forward and backward); ``clip_level_counts``: |count| >= this is clipped
    (digitizer full scale, None: unchecked); ``clip_min_samples`` samples exactly at the
    extreme value is clipping when the extreme is at least ``clip_min_counts`` counts;
    ``pad_s``: data used beyond each window edge for filtering (s).
    """

    detrend: str
    antialias_corner_fraction: float
    antialias_order: int
    clip_level_counts: float | None
    clip_min_samples: int
    clip_min_counts: float
    pad_s: float
    #: noise and signal windows of the SNR estimate, relative to P (s): a measurement
    #: definition, not a setting
    snr_noise_s: tuple[float, float] = (-25.0, -5.0)
    snr_signal_s: tuple[float, float] = (0.0, 10.0)

    @classmethod
    def from_config(cls, values: dict | None = None) -> ProcessingOptions:
        """From the ``waveforms`` section as given (missing keys take the schema's defaults)."""
        waveforms = config_section("waveforms", values)
        clip = waveforms["clip"]
        return cls(
            detrend=waveforms["detrend"],
            antialias_corner_fraction=waveforms["antialias_corner_fraction"],
            antialias_order=waveforms["antialias_order"],
            pad_s=waveforms["pad_s"],
            clip_level_counts=clip["level_counts"],
            clip_min_samples=clip["min_samples"],
            clip_min_counts=clip["min_counts"],
        )


@dataclass(frozen=True)
class ChannelSet:
    """The three channels chosen for a window, from the StationXML.

    ``channels`` holds the vertical first, then the two horizontals, e.g.
    ``("BHZ", "BH1", "BH2")``; ``sampling_rate_hz`` is the StationXML rate.
    """

    network: str
    station: str
    location: str
    band: str
    channels: tuple[str, str, str]
    sampling_rate_hz: float
    orientations: tuple[tuple[float, float], ...] = ()  # (azimuth, dip) in degrees per channel

    @property
    def channel_pattern(self) -> str:
        """Channel wildcard covering the set (``BH?``) for data requests."""
        return self.band + "?"


@dataclass
class Window:
    """A finished window: ``data`` float32 (3, n_samples) in Z, N, E order."""

    data: np.ndarray
    starttime: UTCDateTime
    channels: tuple[str, str, str]
    location: str
    snr_db: float
    notes: list[str] = field(default_factory=list)


def _active(channel, time: UTCDateTime) -> bool:
    """Whether a StationXML channel epoch contains ``time``."""
    if channel.start_date is not None and channel.start_date > time:
        return False
    return channel.end_date is None or channel.end_date > time


def _orientation_class(code: str, dip: float | None) -> str:
    """``"v"`` (vertical), ``"h"`` (horizontal) or ``"?"`` from the dip (deg) or the code."""
    if dip is not None and not math.isnan(dip):
        if abs(dip) >= 60.0:
            return "v"
        if abs(dip) <= 30.0:
            return "h"
        return "?"
    if code[-1] in _VERTICAL_CODES:
        return "v"
    return "h" if code[-1] in "NE12" else "?"


def _orientation(channel) -> tuple[float, float]:
    """(azimuth, dip) in degrees of a StationXML channel; a missing value is an error."""
    if channel.azimuth is None or channel.dip is None:
        raise QCFailure(
            "missing_component",
            f"StationXML channel {channel.location_code}.{channel.code} has no azimuth/dip: cannot rotate to ZNE",
        )
    return float(channel.azimuth), float(channel.dip)


def _complete_set(channels: dict[str, object]) -> tuple[str, str, str] | None:
    """Choose (vertical, horizontal, horizontal) channel codes of one band and location.

    Prefers Z/N/E, then Z/1/2, then any single vertical with exactly two
    horizontals; ``None`` when no unambiguous set exists.
    """
    codes = set(channels)
    band = next(iter(codes))[:2] if codes else ""
    for comps in ("ZNE", "Z12"):
        wanted = tuple(band + c for c in comps)
        if set(wanted) <= codes:
            return wanted
    vertical = sorted(c for c, ch in channels.items() if _orientation_class(c, ch.dip) == "v")
    horizontal = sorted(c for c, ch in channels.items() if _orientation_class(c, ch.dip) == "h")
    if len(vertical) == 1 and len(horizontal) == 2:
        return (vertical[0], horizontal[0], horizontal[1])
    return None


def choose_channels(
    inventory: Inventory | None,
    network: str,
    station: str,
    location: str,
    time: UTCDateTime,
    band_priority: list[str],
    location_priority: list[str],
) -> ChannelSet:
    """Pick the band, location and three channels to use for a window at ``time``.

    Bands are tried in ``band_priority`` order (e.g. BH, HH, EH); within a band
    the arrival's own ``location`` first, then ``location_priority``, then the
    rest alphabetically. Raises :class:`QCFailure` (``no_data`` when the
    StationXML lacks the station, ``missing_component`` when no band has a
    complete three-component set at ``time``).
    """
    nslc = f"{network}.{station}"
    if inventory is None:
        raise QCFailure("no_data", f"no StationXML for station {nslc}")
    groups: dict[tuple[str, str], dict[str, object]] = {}
    selected = inventory.select(network=network, station=station)
    if not selected.networks:
        raise QCFailure("no_data", f"station {nslc} is not in the StationXML")
    for net in selected.networks:
        for sta in net.stations:
            for cha in sta.channels:
                if len(cha.code) == 3 and _active(cha, time):
                    groups.setdefault((cha.location_code, cha.code[:2]), {})[cha.code] = cha
    if not groups:
        raise QCFailure("missing_component", f"StationXML of {nslc} has no channel active at {time}")
    locations = sorted({loc for loc, _ in groups})
    rank = {loc: i for i, loc in enumerate(location_priority)}
    ordered = sorted(locations, key=lambda loc: (loc != location, rank.get(loc, len(rank)), loc))
    for band in band_priority:
        for loc in ordered:
            chans = groups.get((loc, band))
            if not chans:
                continue
            chosen = _complete_set(chans)
            if chosen is not None:
                rate = float(chans[chosen[0]].sample_rate or 0.0)
                orient = tuple(_orientation(chans[c]) for c in chosen)
                return ChannelSet(network, station, loc, band, chosen, rate, orient)
    have = ", ".join(f"{loc or '--'}.{'/'.join(sorted(chans))}" for (loc, _), chans in sorted(groups.items()))
    raise QCFailure(
        "missing_component",
        f"StationXML of {nslc} has no complete {'/'.join(band_priority)} three-component set at {time} (has {have})",
    )


def _check_sampling_rates(traces: list[Trace], chset: ChannelSet, target_hz: float) -> None:
    """Raise ``bad_sampling_rate`` unless every trace matches the StationXML rate and is >= target."""
    for tr in traces:
        rate = float(tr.stats.sampling_rate)
        expected = chset.sampling_rate_hz or rate
        if abs(rate - expected) > SAMPLING_RATE_RTOL * expected:
            raise QCFailure(
                "bad_sampling_rate", f"{tr.id} is sampled at {rate:g} Hz but its StationXML says {expected:g} Hz"
            )
        if rate < target_hz * (1 - SAMPLING_RATE_RTOL):
            raise QCFailure(
                "bad_sampling_rate", f"{tr.id} is sampled at {rate:g} Hz, below the window's {target_hz:g} Hz"
            )


def _check_finite(traces: list[Trace]) -> None:
    """Raise ``non_finite`` if any sample is NaN or infinite."""
    for tr in traces:
        data = np.ma.getdata(tr.data)
        if data.dtype.kind == "f" and not np.isfinite(data).all():
            bad = int((~np.isfinite(data)).sum())
            raise QCFailure("non_finite", f"{tr.id} has {bad} NaN/inf samples")


def _check_alignment(traces: list[Trace]) -> None:
    """Raise ``gap`` when records of one channel are not on a common sample grid (clock shift)."""
    ref = traces[0]
    rate = float(ref.stats.sampling_rate)
    for tr in traces[1:]:
        offset = ((tr.stats.starttime - ref.stats.starttime) * rate) % 1.0
        shift = min(offset, 1.0 - offset)
        if shift > MAX_MISALIGNMENT_SAMPLES:
            raise QCFailure(
                "gap",
                f"records of {ref.id} are shifted by {shift:.2f} samples against each other "
                f"(clock problem at {tr.stats.starttime})",
            )


def _merge_channel(traces: list[Trace], t0: UTCDateTime, t1: UTCDateTime) -> Trace:
    """Merge the records of one channel; raise ``gap``/``short`` for holes or missing data in [t0, t1]."""
    if len(traces) == 1:
        tr = traces[0]
    else:
        _check_alignment(traces)
        tr = Stream(traces).merge(method=0, fill_value=None)[0]
    seed_id = tr.id
    rate = float(tr.stats.sampling_rate)
    start, end = tr.stats.starttime, tr.stats.endtime
    if start > t0 + 0.5 / rate or end < t1 - 0.5 / rate:
        have = max(0.0, min(end, t1) - max(start, t0))
        raise QCFailure("short", f"{seed_id} covers {have:.1f} s of the {t1 - t0:.1f} s window (data {start} - {end})")
    data = tr.data
    if np.ma.isMaskedArray(data) and np.ma.is_masked(data):
        mask = np.ma.getmaskarray(data)
        i0 = max(0, int(math.floor((t0 - start) * rate)))
        i1 = min(mask.size, int(math.ceil((t1 - start) * rate)) + 1)
        inside = int(mask[i0:i1].sum())
        if inside:
            raise QCFailure("gap", f"{seed_id} has {inside / rate:.2f} s of gaps/inconsistent overlaps in the window")
        # holes only in the padding: keep the unmasked run around the window
        left = i0 - int(np.flatnonzero(mask[:i0][::-1])[0]) if mask[:i0].any() else 0
        right = i1 + int(np.flatnonzero(mask[i1:])[0]) if mask[i1:].any() else mask.size
        tr = Trace(np.ascontiguousarray(np.ma.getdata(data)[left:right]), header=tr.stats.copy())
        tr.stats.starttime = start + left / rate
    elif np.ma.isMaskedArray(data):
        tr.data = np.ascontiguousarray(np.ma.getdata(data))
    return tr


def _check_margin(tr: Trace, t0: UTCDateTime, t1: UTCDateTime, spec: WindowSpec, options: ProcessingOptions) -> None:
    """Raise ``short`` when data to be resampled or interpolated stop too close to the window.

    Resampling needs ``min(RESAMPLE_MARGIN_S, pad_s)`` seconds of data beyond
    each edge of [t0, t1]; off-grid data at the target rate need the sinc
    half-width (:data:`SINC_HALF_WIDTH` samples); on-grid data need none.
    """
    rate = float(tr.stats.sampling_rate)
    if abs(rate - spec.sampling_rate_hz) > SAMPLING_RATE_RTOL * spec.sampling_rate_hz:
        margin = min(RESAMPLE_MARGIN_S, options.pad_s)
    else:
        offset = ((t0 - tr.stats.starttime) * rate) % 1.0
        if min(offset, 1.0 - offset) < 1e-6:
            return
        margin = min(SINC_HALF_WIDTH / rate, options.pad_s)
    start, end = tr.stats.starttime, tr.stats.endtime
    if start > t0 - margin + 0.5 / rate or end < t1 + margin - 0.5 / rate:
        raise QCFailure(
            "short",
            f"{tr.id} (data {start} - {end}) lacks the {margin:g} s beyond the window "
            f"({t0} - {t1}) that filtering/interpolation at {rate:g} Hz needs",
        )


def _window_samples(tr: Trace, t0: UTCDateTime, t1: UTCDateTime) -> np.ndarray:
    """Raw samples of ``tr`` inside [t0, t1] (no copy)."""
    rate = float(tr.stats.sampling_rate)
    i0 = max(0, int(math.floor((t0 - tr.stats.starttime) * rate)))
    i1 = int(math.ceil((t1 - tr.stats.starttime) * rate)) + 1
    return tr.data[i0:i1]


def _longest_run(mask: np.ndarray) -> int:
    """Length of the longest run of True in a boolean array."""
    if not mask.any():
        return 0
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.view(np.int8), [0]))))
    return int((edges[1::2] - edges[::2]).max())


def check_clipping(samples: np.ndarray, seed_id: str, options: ProcessingOptions) -> None:
    """Raise ``clipped`` when raw counts reach the digitizer level or show a flat top.

    A flat top is ``clip_min_samples`` or more samples sitting exactly at the
    window's maximum (or minimum) value when that extreme is at least
    ``clip_min_counts`` counts in size (a natural signal reaches its extreme once
    or twice; a clipped one many times, in flat runs of two or more samples).
    """
    peak = float(np.max(np.abs(samples)))
    if options.clip_level_counts is not None and peak >= options.clip_level_counts:
        raise QCFailure("clipped", f"{seed_id} reaches {peak:g} counts (clip level {options.clip_level_counts:g})")
    for extreme in (samples.max(), samples.min()):
        if abs(float(extreme)) < options.clip_min_counts:
            continue
        at_extreme = samples == extreme
        hits = int(np.count_nonzero(at_extreme))
        if hits >= options.clip_min_samples:
            run = _longest_run(at_extreme)
            if run >= 2:
                raise QCFailure(
                    "clipped",
                    f"{seed_id} sits at its extreme {float(extreme):g} counts in {hits} "
                    f"samples (longest flat run {run})",
                )


def _check_dead(samples: np.ndarray, seed_id: str) -> None:
    """Raise ``missing_component`` for a dead channel (all window samples equal)."""
    if samples.size and float(samples.max()) == float(samples.min()):
        raise QCFailure("missing_component", f"{seed_id} is dead in the window (every sample is {float(samples[0]):g})")


def fractional_shift_taps(frac: float, half_width: int = SINC_HALF_WIDTH) -> np.ndarray:
    """Blackman-windowed sinc taps (unit DC gain) interpolating ``frac`` (0 < frac < 1) samples past a sample."""
    u = np.arange(-half_width + 1, half_width + 1, dtype=np.float64) - frac
    taps = np.sinc(u) * (0.42 + 0.5 * np.cos(np.pi * u / half_width) + 0.08 * np.cos(2 * np.pi * u / half_width))
    return taps / taps.sum()


def sample_at(data: np.ndarray, position: float, n: int, half_width: int = SINC_HALF_WIDTH) -> np.ndarray:
    """``n`` samples of ``data`` starting at fractional index ``position`` (band-limited interpolation).

    Input samples needed beyond the ends of ``data`` (at most ``half_width``) are
    repeated edge values; the caller guarantees the ``n`` outputs lie inside the data.
    """
    i0 = int(math.floor(position))
    frac = position - i0
    if frac < 1e-6 or frac > 1 - 1e-6:
        i0 += int(round(frac))
        return data[i0 : i0 + n].copy()
    lo, hi = i0 - half_width + 1, i0 + n + half_width
    seg = data[max(lo, 0) : min(hi, data.size)]
    if lo < 0 or hi > data.size:
        seg = np.pad(seg, (max(0, -lo), max(0, hi - data.size)), mode="edge")
    return np.correlate(seg, fractional_shift_taps(frac, half_width), mode="valid")


def _to_grid(tr: Trace, t0: UTCDateTime, spec: WindowSpec, options: ProcessingOptions) -> np.ndarray:
    """Detrend, anti-alias (zero-phase low-pass + polyphase resampling) and put on the window grid.

    Returns ``spec.n_samples`` float64 samples at ``spec.sampling_rate_hz``
    starting exactly at ``t0``.
    """
    rate = float(tr.stats.sampling_rate)
    start = tr.stats.starttime
    # only samples within pad_s of the window take part (whatever the source delivered beyond)
    lo = max(0, int(math.ceil((t0 - options.pad_s - start) * rate - 1e-6)))
    hi = int(math.floor((spec.last(t0 + spec.before_s) + options.pad_s - start) * rate + 1e-6)) + 1
    data = np.asarray(tr.data[lo:hi], dtype=np.float64)
    start = start + lo / rate
    if options.detrend != "none" and data.size:
        data = signal.detrend(data, type="linear" if options.detrend == "linear" else "constant")
    target = spec.sampling_rate_hz
    if abs(rate - target) > SAMPLING_RATE_RTOL * target:
        corner = options.antialias_corner_fraction * target / 2.0
        sos = signal.butter(options.antialias_order, corner, btype="lowpass", fs=rate, output="sos")
        data = signal.sosfiltfilt(sos, data)
        ratio = Fraction(target / rate).limit_denominator(1000)
        data = signal.resample_poly(data, ratio.numerator, ratio.denominator, padtype="line")
        rate = rate * ratio.numerator / ratio.denominator
    return sample_at(data, (t0 - start) * rate, spec.n_samples)


def snr_db(z: np.ndarray, spec: WindowSpec, options: ProcessingOptions) -> float:
    """Signal-to-noise ratio (dB) of the vertical: power after P over power before P."""
    fs = spec.sampling_rate_hz
    p = spec.p_sample

    def power(a: float, b: float) -> float:
        seg = z[max(0, p + int(a * fs)) : max(0, p + int(b * fs))]
        return float(np.mean(seg * seg)) if seg.size else float("nan")

    noise, sig = power(*options.snr_noise_s), power(*options.snr_signal_s)
    if not noise > 0 or not np.isfinite(sig):
        return float("nan")
    return 10.0 * math.log10(sig / noise) if sig > 0 else float("-inf")


def select_traces(stream: Stream, chset: ChannelSet) -> tuple[dict[str, list[Trace]], list[str]]:
    """The traces of the chosen location/channels, grouped by channel, plus notes on ignored ones."""
    by_channel: dict[str, list[Trace]] = {c: [] for c in chset.channels}
    ignored = set()
    for tr in stream:
        s = tr.stats
        if (
            s.network == chset.network
            and s.station == chset.station
            and s.location == chset.location
            and s.channel in by_channel
        ):
            by_channel[s.channel].append(tr)
        else:
            ignored.add(tr.id)
    notes = [f"ignored {', '.join(sorted(ignored))}"] if ignored else []
    return by_channel, notes


@lru_cache(maxsize=4096)
def rotation_to_zne(orientations: tuple[tuple[float, float], ...]) -> np.ndarray:
    """3 x 3 matrix taking three channels with (azimuth, dip) in degrees to Z, N, E.

    Built with :func:`obspy.signal.rotate.rotate2zne` applied to unit vectors, so
    it follows ObsPy's conventions exactly (and raises for degenerate layouts).
    """
    (az0, dip0), (az1, dip1), (az2, dip2) = orientations
    eye = np.eye(3)
    z, n, e = rotate2zne(eye[0], az0, dip0, eye[1], az1, dip1, eye[2], az2, dip2)
    return np.vstack([z, n, e])


def _check_components(by_channel: dict[str, list[Trace]], sid: str, notes: list[str]) -> None:
    """``no_data`` when nothing came back, ``missing_component`` when a channel is absent."""
    if not any(by_channel.values()):
        raise QCFailure("no_data", f"no data for {sid}" + (f" ({notes[0]})" if notes else ""))
    missing = [c for c, trs in by_channel.items() if not trs]
    if missing:
        extra = f"; {notes[0]}" if notes else ""
        raise QCFailure("missing_component", f"no data for {', '.join(missing)} of {sid}{extra}")


def _qc_and_grid(
    by_channel: dict[str, list[Trace]],
    chset: ChannelSet,
    t0: UTCDateTime,
    t1: UTCDateTime,
    spec: WindowSpec,
    options: ProcessingOptions,
    sid: str,
) -> list[np.ndarray]:
    """Rates, finiteness, gaps, margins, dead channels and clipping; then each channel on the window grid."""
    all_traces = [tr for trs in by_channel.values() for tr in trs]
    _check_sampling_rates(all_traces, chset, spec.sampling_rate_hz)
    _check_finite(all_traces)
    merged = [_merge_channel(by_channel[c], t0, t1) for c in chset.channels]
    for tr in merged:
        _check_margin(tr, t0, t1, spec, options)
        samples = _window_samples(tr, t0, t1)
        _check_dead(samples, tr.id)
        check_clipping(samples, tr.id, options)
    grids = [_to_grid(tr, t0, spec, options) for tr in merged]
    if any(g.size != spec.n_samples for g in grids):
        raise QCFailure("short", f"{sid} gave fewer than {spec.n_samples} samples after resampling")
    return grids


def _rotate(grids: list[np.ndarray], chset: ChannelSet, sid: str) -> np.ndarray:
    """Z, N, E (float32 ``(3, n)``) from the three channels, always with the StationXML orientation.

    BH1/BH2 and misoriented N/E alike; element-wise on purpose (a BLAS matmul may spin
    up threads that compete for the cores).
    """
    try:
        m = rotation_to_zne(chset.orientations)
    except ValueError as exc:  # e.g. two horizontals with one azimuth: the StationXML is wrong
        raise QCFailure(
            "missing_component",
            f"{sid}: StationXML orientations (azimuth, dip) {chset.orientations} do not span three dimensions: {exc}",
        ) from None
    rows = [m[k, 0] * grids[0] + m[k, 1] * grids[1] + m[k, 2] * grids[2] for k in range(3)]
    data = np.vstack(rows).astype(np.float32)
    if not np.isfinite(data).all():
        raise QCFailure("non_finite", f"processing {sid} produced NaN/inf samples")
    return data


def make_window(
    stream: Stream,
    inventory: Inventory | None,
    chset: ChannelSet,
    p_time: UTCDateTime,
    spec: WindowSpec,
    options: ProcessingOptions,
) -> Window:
    """QC the raw ``stream`` and turn it into a Z, N, E window around ``p_time``.

    ``inventory`` may be ``None``: the orientation used is the one ``chset``
    carries from the StationXML (see :func:`choose_channels`).

    Raises :class:`QCFailure` with the first problem found: ``no_data``,
    ``missing_component`` (absent or dead component), ``bad_sampling_rate``,
    ``non_finite``, ``gap`` (holes, inconsistent overlaps, clock shifts),
    ``short`` (data do not cover the window, or data to be resampled stop
    within :data:`RESAMPLE_MARGIN_S` of it), ``clipped``.
    """
    by_channel, notes = select_traces(stream, chset)
    sid = f"{chset.network}.{chset.station}.{chset.location}.{chset.channel_pattern}"
    _check_components(by_channel, sid, notes)
    t0, t1 = spec.start(p_time), spec.last(p_time)
    grids = _qc_and_grid(by_channel, chset, t0, t1, spec, options, sid)
    data = _rotate(grids, chset, sid)
    return Window(
        data=data,
        starttime=t0,
        channels=chset.channels,
        location=chset.location,
        snr_db=snr_db(data[0].astype(np.float64), spec, options),
        notes=notes,
    )
