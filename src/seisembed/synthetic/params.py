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
    default_magnitude: float = 3.0
    stress_drop_median_bar: float = 30.0
    stress_drop_sigma_log10: float = 0.3
    n_subevents_max: int = 3
    explosion_overshoot_min: float = 1.5
    explosion_overshoot_max: float = 3.0
    explosion_depth_max_km: float = 0.3
    ripple_holes_min: int = 10
    ripple_holes_max: int = 100
    ripple_delay_min_s: float = 0.025
    ripple_delay_max_s: float = 0.2
    s_to_p_log10: float = 0.1
    earthquake_s_to_p_log10: float = 0.3
    explosion_s_to_p_log10: float = -0.3
    s_to_p_sigma_log10: float = 0.1
    s_to_p_transition_hz: float = 4.0
    radiation_blend_hz: float = 2.0
    rg_amplitude: float = 0.5
    # --- path --------------------------------------------------------------------
    tile_km: float = 50.0
    n_scatterers: int = 250
    coda_to_direct_p: float = 6.0
    coda_to_direct_s: float = 6.0
    coda_q0: float = 150.0
    coda_q_exponent: float = 0.7
    coda_reference_hz: float = 3.0
    path_delay_gradient_s_per_km: float = 0.004
    q_west: float = 235.0
    q_west_exponent: float = 0.56
    q_east: float = 700.0
    q_east_exponent: float = 0.35
    q_boundary_longitude_deg: float = -105.0
    qp_over_qs: float = 1.75
    p_spreading_exponent: float = 1.3
    kappa_min_s: float = 0.01
    kappa_max_s: float = 0.05
    # --- site, instrument, noise -------------------------------------------------
    site_amplification_max: float = 3.0
    sensor_sensitivity_v_per_m_s: float = 1500.0
    digitizer_gain_counts_per_v: float = 6710886.0
    noise_level_min: float = 0.15
    noise_level_max: float = 0.75
    microseism_boost_db_max: float = 10.0
    snr_median: float = 8.0
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
