"""Every physics and output knob of the synthetic generator, defined in one place.

``SyntheticParams.from_dict`` turns the config's ``synthetic:`` section into a
frozen dataclass; unknown keys are rejected with a message naming the key. The
section's I/O keys (``arrivals``, ``output_dir``, ``calibration``) belong to the
workflow and are ignored here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from seisembed.errors import ConfigError

#: keys of the ``synthetic`` config section handled by the workflow, not the physics
IO_KEYS: frozenset[str] = frozenset({"arrivals", "output_dir", "calibration"})


@dataclass(frozen=True)
class SyntheticParams:
    """Parameters of the synthetic study (units in the names; see ``describe()``)."""

    # --- subset of the catalogue -------------------------------------------------
    max_records_per_event: int | None = 8
    max_events: int | None = None
    min_records_per_event: int = 1
    # --- record layout -----------------------------------------------------------
    sampling_rate_hz: float = 40.0
    window_before_s: float = 30.0
    window_after_s: float = 150.0
    margin_before_s: float = 60.0
    margin_after_s: float = 60.0
    batch_size: int = 64
    # --- sources -----------------------------------------------------------------
    default_magnitude: float = 2.5
    stress_drop_median_bar: float = 30.0
    stress_drop_sigma_log10: float = 0.3
    n_subevents_max: int = 2
    explosion_overshoot_min: float = 1.5
    explosion_overshoot_max: float = 3.0
    explosion_depth_max_km: float = 0.3
    ripple_holes_min: int = 10
    ripple_holes_max: int = 100
    ripple_holes_per_row: int = 10
    ripple_delay_min_s: float = 0.025
    ripple_delay_max_s: float = 0.2
    s_to_p_log10: float = -0.3
    earthquake_s_to_p_log10: float = 0.4
    explosion_s_to_p_log10: float = -0.4
    s_to_p_sigma_log10: float = 0.1
    s_to_p_transition_hz: float = 4.0
    radiation_blend_hz: float = 2.0
    rg_amplitude: float = 0.5
    # --- path --------------------------------------------------------------------
    tile_km: float = 50.0
    n_scatterers: int = 250
    coda_to_direct_p: float = 20.0
    coda_to_direct_s: float = 10.0
    coda_q0: float = 400.0
    coda_q_exponent: float = 0.7
    coda_reference_hz: float = 3.0
    path_delay_gradient_s_per_km: float = 0.002
    q_west: float = 235.0
    q_west_exponent: float = 0.56
    q_east: float = 700.0
    q_east_exponent: float = 0.35
    q_boundary_longitude_deg: float = -105.0
    qp_over_qs: float = 1.75
    kappa_min_s: float = 0.01
    kappa_max_s: float = 0.05
    # --- site, instrument, noise -------------------------------------------------
    site_amplification_max: float = 3.0
    sensor_sensitivity_v_per_m_s: float = 1500.0
    digitizer_gain_counts_per_v: float = 6710886.0
    noise_level_min: float = 0.15
    noise_level_max: float = 0.75
    microseism_boost_db_max: float = 10.0
    snr_median: float = 15.0
    snr_sigma_log10: float = 0.35
    snr_magnitude_distance_weight: float = 0.1
    # --- artefacts (all independent of the class) --------------------------------
    pick_error_scale_min_s: float = 0.3
    pick_error_scale_max_s: float = 0.7
    pick_error_df: float = 3.0
    pick_error_max_s: float = 8.0
    p_gap: float = 0.01
    p_glitch: float = 0.01
    p_clipped: float = 0.005
    p_dead_channel: float = 0.005
    p_station_bh12: float = 0.15
    misorientation_sigma_deg: float = 2.5
    # --- caching -----------------------------------------------------------------
    cache_dir: str | None = None

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> "SyntheticParams":
        """Build from a config section; reject unknown keys and wrong types by name."""
        values = dict(values or {})
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            if key in IO_KEYS:
                continue
            if key not in known:
                raise ConfigError(
                    f"synthetic.{key}: unknown parameter; known keys: {', '.join(sorted(known))}"
                )
            kwargs[key] = _coerce(key, value, cls.__dataclass_fields__[key].default)
        params = cls(**kwargs)
        params.validate()
        return params

    def validate(self) -> None:
        """Check ranges; raise ``ConfigError`` naming the parameter at fault."""
        positive = (
            "sampling_rate_hz", "window_after_s", "batch_size", "tile_km", "n_scatterers",
            "stress_drop_median_bar", "coda_q0", "q_west", "q_east", "snr_median",
            "sensor_sensitivity_v_per_m_s", "digitizer_gain_counts_per_v", "pick_error_df",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"synthetic.{name}: must be > 0, got {getattr(self, name)!r}")
        for name in ("window_before_s", "margin_before_s", "margin_after_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"synthetic.{name}: must be >= 0, got {getattr(self, name)!r}")
        for name in ("p_gap", "p_glitch", "p_clipped", "p_dead_channel", "p_station_bh12"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"synthetic.{name}: a probability in [0, 1], got {getattr(self, name)!r}")
        pairs = (
            ("noise_level_min", "noise_level_max"), ("kappa_min_s", "kappa_max_s"),
            ("pick_error_scale_min_s", "pick_error_scale_max_s"),
            ("explosion_overshoot_min", "explosion_overshoot_max"),
            ("ripple_holes_min", "ripple_holes_max"), ("ripple_delay_min_s", "ripple_delay_max_s"),
        )
        for low, high in pairs:
            if getattr(self, low) > getattr(self, high):
                raise ConfigError(f"synthetic.{low} must be <= synthetic.{high}")
        if self.max_records_per_event is not None and self.max_records_per_event < 1:
            raise ConfigError("synthetic.max_records_per_event: must be >= 1 or null")
        if self.max_events is not None and self.max_events < 1:
            raise ConfigError("synthetic.max_events: must be >= 1 or null")

    @property
    def record_before_s(self) -> float:
        """Seconds of record before the true P onset (window + margin)."""
        return self.window_before_s + self.margin_before_s

    @property
    def record_after_s(self) -> float:
        """Seconds of record after the true P onset (window + margin)."""
        return self.window_after_s + self.margin_after_s

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of every parameter (for provenance)."""
        return dataclasses.asdict(self)


def _coerce(key: str, value: Any, default: Any) -> Any:
    """Check one value's type against its default's type (int/float/str/None)."""
    optional_int = key in ("max_records_per_event", "max_events")
    if value is None:
        if optional_int or key == "cache_dir":
            return None
        raise ConfigError(f"synthetic.{key}: must not be null")
    if isinstance(value, bool):
        raise ConfigError(f"synthetic.{key}: expected a number, got a boolean")
    if isinstance(default, int) or optional_int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise ConfigError(f"synthetic.{key}: expected an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if not isinstance(value, (int, float)):
            raise ConfigError(f"synthetic.{key}: expected a number, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"synthetic.{key}: expected a string, got {value!r}")
    return value


#: one-line description per parameter (for the config schema and the docs)
DESCRIPTIONS: dict[str, str] = {
    "max_records_per_event": "Subset: keep at most this many records (seeded random stations) per event; null keeps all.",
    "max_events": "Subset: keep at most this many events (seeded, stratified by class); null keeps all.",
    "min_records_per_event": "Subset: drop events with fewer records than this.",
    "sampling_rate_hz": "Sampling rate of the synthetic records (Hz).",
    "window_before_s": "Seconds of the analysis window before the P arrival.",
    "window_after_s": "Seconds of the analysis window after the P arrival.",
    "margin_before_s": "Extra record length before the window (s).",
    "margin_after_s": "Extra record length after the window (s).",
    "batch_size": "Records per vectorised FFT batch (speed/memory only; output does not depend on it).",
    "default_magnitude": "Magnitude used for events without one in the catalogue.",
    "stress_drop_median_bar": "Median Brune stress drop (bar) setting corner frequencies.",
    "stress_drop_sigma_log10": "Log10 standard deviation of the stress drop between events.",
    "n_subevents_max": "Earthquake fingerprint: up to this many sub-events (amplitude 0.1-0.4, within ~1/fc).",
    "explosion_overshoot_min": "Mueller-Murphy-type overshoot B, lower end (per mine, +-5 % per blast).",
    "explosion_overshoot_max": "Mueller-Murphy-type overshoot B, upper end.",
    "explosion_depth_max_km": "Explosions' true depth is uniform in [0, this] km.",
    "ripple_holes_min": "Ripple-fired blasts: fewest holes (per-mine design, +-2 per blast).",
    "ripple_holes_max": "Ripple-fired blasts: most holes.",
    "ripple_holes_per_row": "Holes fired together in one row of a ripple-fired blast.",
    "ripple_delay_min_s": "Shortest delay between rows (s).",
    "ripple_delay_max_s": "Longest delay between rows (s).",
    "s_to_p_log10": "Class-independent log10 S/P amplitude ratio of the wavetrains (low frequencies).",
    "earthquake_s_to_p_log10": "Earthquakes' extra log10 S/P at high frequency (above s_to_p_transition_hz).",
    "explosion_s_to_p_log10": "Explosions' extra log10 S/P at high frequency (negative: S-poor).",
    "s_to_p_sigma_log10": "Per-event scatter of log10 S/P.",
    "s_to_p_transition_hz": "Frequency (Hz) where the class S/P difference reaches half its value.",
    "radiation_blend_hz": "Double-couple radiation blends toward focal-sphere averages above this frequency (Hz; weight 1/(1+(4 Hz/this)^2) on the double couple).",
    "rg_amplitude": "Rg amplitude relative to direct S for a surface source at short distance.",
    "tile_km": "Size of the source tiles (km) that carry persistent path responses.",
    "n_scatterers": "Scattered arrivals per (station, tile node, phase).",
    "coda_to_direct_p": "Energy ratio of the P coda to the direct P wave.",
    "coda_to_direct_s": "Energy ratio of the S coda to the direct S wave.",
    "coda_q0": "Coda Qc at 1 Hz (Qc = coda_q0 f^coda_q_exponent).",
    "coda_q_exponent": "Frequency exponent of coda Qc.",
    "coda_reference_hz": "Frequency (Hz) at which the coda envelope decay is evaluated.",
    "path_delay_gradient_s_per_km": "Rms change of a scattered arrival's delay per km of event position (s/km).",
    "q_west": "Lg Q0 west of q_boundary_longitude_deg (Q = Q0 f^eta).",
    "q_west_exponent": "Frequency exponent of Q in the west.",
    "q_east": "Lg Q0 east of the boundary.",
    "q_east_exponent": "Frequency exponent of Q in the east.",
    "q_boundary_longitude_deg": "Longitude (deg) of the path midpoint separating western and eastern Q.",
    "qp_over_qs": "Ratio of P to S quality factor.",
    "kappa_min_s": "Station kappa, lower end (s).",
    "kappa_max_s": "Station kappa, upper end (s).",
    "site_amplification_max": "Largest smooth high-frequency site amplification (1 = none).",
    "sensor_sensitivity_v_per_m_s": "Broadband sensor generator constant (V per m/s).",
    "digitizer_gain_counts_per_v": "Digitizer gain (counts per V).",
    "noise_level_min": "Noise level per record, lower end (0 = NLNM, 1 = NHNM, in dB).",
    "noise_level_max": "Noise level per record, upper end.",
    "microseism_boost_db_max": "Extra microseism peak (dB, 0.12-0.3 Hz), uniform in [0, this] per record.",
    "snr_median": "Median 1-8 Hz SNR of the P wave (first 10 s rms over noise rms).",
    "snr_sigma_log10": "Log10 scatter of the SNR between records.",
    "snr_magnitude_distance_weight": "Weight of (magnitude, log distance) on log10 SNR (0 = none).",
    "pick_error_scale_min_s": "Pick error: Student-t scale, lower end (s).",
    "pick_error_scale_max_s": "Pick error: Student-t scale, upper end (s).",
    "pick_error_df": "Pick error: Student-t degrees of freedom (heavy tail).",
    "pick_error_max_s": "Pick errors are clipped to +- this (s).",
    "p_gap": "Probability of a gap (1-20 s, all channels) in a record.",
    "p_glitch": "Probability of a one-sample glitch on one channel.",
    "p_clipped": "Probability that a record is clipped (30-70 % of its peak).",
    "p_dead_channel": "Probability of a dead (flat zero) channel.",
    "p_station_bh12": "Probability that a station names its horizontals BH1/BH2 (arbitrary azimuth).",
    "misorientation_sigma_deg": "Rms misorientation (deg) of BHN/BHE horizontals (recorded in the StationXML).",
    "cache_dir": "Folder to cache the iasp91 table if the shipped one is missing (null: recompute).",
}


def describe() -> list[tuple[str, str, object, str]]:
    """(name, type, default, description) for every parameter, in declaration order."""
    out = []
    for f in fields(SyntheticParams):
        out.append((f.name, str(f.type), f.default, DESCRIPTIONS.get(f.name, "")))
    return out
