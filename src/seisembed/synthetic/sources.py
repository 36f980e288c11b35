"""Source models: Brune earthquakes with double-couple radiation and sub-event
fingerprints; Mueller-Murphy-type explosions with ripple-fire mining blasts.

Per event (``EventSource``, drawn once from the event's own random stream):
moment M0 (N m) from the magnitude (taken as Mw), corner frequencies (Hz),
a focal mechanism, the true depth (km) and a short "fingerprint" time series of
unit impulses (sub-events, or the delayed holes of a ripple-fired blast) that is
shared by every station recording the event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seisembed.synthetic.params import SyntheticParams
from seisembed.synthetic.rng import stream

BETA_KM_S = 3.5
#: focal-sphere rms radiation (Boore & Boatwright 1984)
RP_AVG = 0.52
RS_AVG = 0.63


@dataclass(frozen=True)
class EventSource:
    """Source parameters of one event (units in names)."""

    source_id: str
    is_explosion: bool
    moment_nm: float
    fc_p_hz: float
    fc_s_hz: float
    overshoot: float
    strike_deg: float
    dip_deg: float
    rake_deg: float
    depth_km: float
    fingerprint_t_s: np.ndarray
    fingerprint_a: np.ndarray
    s_to_p_log10: float
    class_s_to_p_log10: float


def corner_frequency_hz(moment_nm: float, stress_drop_bar: float, beta_km_s: float = BETA_KM_S) -> float:
    """Brune S corner frequency (Hz): fc = 4.906e6 beta (stress_drop / M0)^(1/3), M0 in dyn cm."""
    return 4.906e6 * beta_km_s * (stress_drop_bar / (moment_nm * 1e7)) ** (1.0 / 3.0)


def draw_event(row: dict, params: SyntheticParams, seed: int) -> EventSource:
    """Draw one event's source from its catalogue row (source_* columns) and its stream."""
    sid = str(row["source_id"])
    rng = stream(seed, "event", sid)
    is_expl = row["source_type"] == "explosion"
    mag = row["source_magnitude"]
    mag = params.default_magnitude if mag is None or not np.isfinite(mag) else float(mag)
    m0 = 10 ** (1.5 * mag + 9.1)
    stress = params.stress_drop_median_bar * 10 ** (params.stress_drop_sigma_log10 * rng.standard_normal())
    fc_s = corner_frequency_hz(m0, stress)
    strike, dip, rake = rng.uniform(0, 360), np.degrees(np.arccos(rng.uniform(0, 1))), rng.uniform(-180, 180)
    if is_expl:
        overshoot = _mine_design(row, seed).uniform(params.explosion_overshoot_min, params.explosion_overshoot_max)
        overshoot *= rng.uniform(0.95, 1.05)
        depth = rng.uniform(0.0, params.explosion_depth_max_km)
        t, a = _ripple_fire(rng, row, params, seed)
        fc_p = fc_s * 1.5
        cls_sp = params.explosion_s_to_p_log10
    else:
        overshoot = 1.0
        depth = float(row["source_depth_km"]) if np.isfinite(row["source_depth_km"]) else 10.0
        t, a = _subevents(rng, fc_s, params)
        fc_p = fc_s * 1.5
        cls_sp = params.earthquake_s_to_p_log10
    sp = params.s_to_p_log10 + params.s_to_p_sigma_log10 * rng.standard_normal()
    return EventSource(sid, is_expl, m0, fc_p, fc_s, overshoot, strike, dip, rake, max(depth, 0.0), t, a, sp, cls_sp)


def class_s_to_p_factor(src: EventSource, freqs_hz: np.ndarray, params: SyntheticParams) -> np.ndarray:
    """Frequency-dependent S/P factor of the source class (real, multiplies the S spectrum).

    The classes differ in S/P only at high frequency, as regional discriminants
    observe (P/S separates explosions above ~4 Hz, hardly at 1-2 Hz):
    ``10 ** (class_s_to_p_log10 * h(f))`` with ``h(f) = 1 / (1 + (f_t / f)^6)``.
    """
    f = np.maximum(freqs_hz, 1e-3)
    h = 1.0 / (1.0 + (params.s_to_p_transition_hz / f) ** 6)
    return 10 ** (src.class_s_to_p_log10 * h)


def _subevents(rng: np.random.Generator, fc_s: float, params: SyntheticParams) -> tuple[np.ndarray, np.ndarray]:
    """Main shock plus 0..n_subevents_max sub-events: delays (s) within ~1/fc, amplitudes 0.1-0.4."""
    n = int(rng.integers(0, params.n_subevents_max + 1))
    duration = min(1.0 / fc_s, 1.0)
    t = np.concatenate([[0.0], rng.uniform(0.1, 1.0, n) * duration + 0.05])
    a = np.concatenate([[1.0], rng.uniform(0.1, 0.4, n)])
    return t, a


def _ripple_fire(
    rng: np.random.Generator, row: dict, params: SyntheticParams, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Ripple-fired blast: holes in rows (``ripple_holes_per_row``) fired at a per-mine delay (s) with jitter.

    A mine (a 20 km cell of the event position) keeps its blast design (number of
    holes, delay between rows); each blast jitters it, so blasts of one mine
    resemble each other while different mines differ.
    """
    design = _mine_design(row, seed)
    design.uniform()  # the overshoot draw
    n_holes = int(design.integers(params.ripple_holes_min, params.ripple_holes_max + 1))
    delay = design.uniform(params.ripple_delay_min_s, params.ripple_delay_max_s)
    n_holes = max(1, n_holes + int(rng.integers(-2, 3)))
    delay *= rng.uniform(0.98, 1.02)
    rows = np.arange(n_holes) // params.ripple_holes_per_row
    t = rows * delay + rng.normal(0.0, 0.004, n_holes)
    t = np.clip(t - t.min(), 0.0, None)
    a = rng.uniform(0.6, 1.4, n_holes) / n_holes * params.ripple_holes_per_row
    return t, a


def _mine_design(row: dict, seed: int) -> np.random.Generator:
    """The stream of a mine's blast design: one per ~20 km cell of the event position."""
    cell = (int(np.floor(row["source_latitude_deg"] * 5)), int(np.floor(row["source_longitude_deg"] * 4)))
    return stream(seed, "pattern", *cell)


def radiation(strike_deg, dip_deg, rake_deg, azimuth_deg, takeoff_deg):
    """Double-couple P, SV, SH radiation (Aki & Richards eq. 4.89); arrays broadcast."""
    phi = np.radians(np.asarray(azimuth_deg) - strike_deg)
    d, lam, i = np.radians(dip_deg), np.radians(rake_deg), np.radians(takeoff_deg)
    rp = (
        np.cos(lam) * np.sin(d) * np.sin(i) ** 2 * np.sin(2 * phi)
        - np.cos(lam) * np.cos(d) * np.sin(2 * i) * np.cos(phi)
        + np.sin(lam) * np.sin(2 * d) * (np.cos(i) ** 2 - np.sin(i) ** 2 * np.sin(phi) ** 2)
        + np.sin(lam) * np.cos(2 * d) * np.sin(2 * i) * np.sin(phi)
    )
    rsv = (
        np.sin(lam) * np.cos(2 * d) * np.cos(2 * i) * np.sin(phi)
        - np.cos(lam) * np.cos(d) * np.cos(2 * i) * np.cos(phi)
        + 0.5 * np.cos(lam) * np.sin(d) * np.sin(2 * i) * np.sin(2 * phi)
        - 0.5 * np.sin(lam) * np.sin(2 * d) * np.sin(2 * i) * (1 + np.sin(phi) ** 2)
    )
    rsh = (
        np.cos(lam) * np.cos(d) * np.cos(i) * np.sin(phi)
        + np.cos(lam) * np.sin(d) * np.sin(i) * np.cos(2 * phi)
        + np.sin(lam) * np.cos(2 * d) * np.cos(i) * np.cos(phi)
        - 0.5 * np.sin(lam) * np.sin(2 * d) * np.sin(i) * np.sin(2 * phi)
    )
    return rp, rsv, rsh


def blend(r_dc: np.ndarray, r_avg: float, weight_dc: float) -> np.ndarray:
    """Blend a double-couple coefficient toward the focal-sphere average (keeps the sign)."""
    sign = np.where(r_dc < 0, -1.0, 1.0)
    return weight_dc * r_dc + (1.0 - weight_dc) * r_avg * sign


def source_spectrum(src: EventSource, freqs_hz: np.ndarray, phase: str) -> np.ndarray:
    """Far-field velocity source spectrum shape (complex, unit low-frequency displacement level).

    Earthquakes: Brune omega-squared with corner fc_p/fc_s. Explosions: a
    Mueller-Murphy-type second-order source with overshoot B (peak ~B at the
    corner, omega^-2 above); S is converted P with the same shape.
    """
    f = freqs_hz
    fc = src.fc_p_hz if (phase == "P" or src.is_explosion) else src.fc_s_hz
    x = f / fc
    if src.is_explosion:
        zeta = 1.0 / (2.0 * src.overshoot)
        shape = 1.0 / (1.0 - x**2 + 2j * zeta * x)
    else:
        shape = 1.0 / (1.0 + x**2)
    return 2j * np.pi * f * shape


def fingerprint_series(src: EventSource, n: int, fs_hz: float) -> np.ndarray:
    """The event's impulse series (sub-events or holes) on an ``n``-sample grid, linear interpolation."""
    out = np.zeros(n)
    pos = src.fingerprint_t_s * fs_hz
    i0 = np.floor(pos).astype(int)
    frac = pos - i0
    ok = i0 + 1 < n
    np.add.at(out, i0[ok], src.fingerprint_a[ok] * (1 - frac[ok]))
    np.add.at(out, i0[ok] + 1, src.fingerprint_a[ok] * frac[ok])
    return out
