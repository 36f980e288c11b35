"""Every physics and output knob of the synthetic generator, as a typed settings object.

The config schema's ``synthetic`` section is the one place for the parameters'
defaults, ranges and descriptions; :class:`SyntheticParams` is the typed view of
a validated section (a test checks that its fields and the schema's keys agree).
``SyntheticParams.from_dict`` validates a section as given (unknown keys and wrong
types or ranges are errors naming the key) and fills the schema defaults. The
section's I/O keys (``arrivals``, ``output_dir``, ``calibration``,
``calibration_reference``) belong to the workflow and are ignored here.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, fields
from typing import Any

from seisembed.config import section
from seisembed.errors import ConfigError

#: keys of the ``synthetic`` config section handled by the workflow, not the physics
IO_KEYS: frozenset[str] = frozenset({"arrivals", "output_dir", "calibration", "calibration_reference"})

#: (lower, upper) parameter pairs that must be ordered (the schema checks single values)
ORDERED_PAIRS: tuple[tuple[str, str], ...] = (
    ("noise_level_min", "noise_level_max"),
    ("kappa_min_s", "kappa_max_s"),
    ("pick_error_scale_min_s", "pick_error_scale_max_s"),
    ("explosion_overshoot_min", "explosion_overshoot_max"),
    ("ripple_holes_min", "ripple_holes_max"),
    ("ripple_delay_min_s", "ripple_delay_max_s"),
)


@dataclass(frozen=True)
class SyntheticParams:
    """Parameters of the synthetic study (units in the names; defaults and meaning in the schema)."""

    # --- subset of the catalogue -------------------------------------------------
    max_records_per_event: int | None
    max_events: int | None
    min_records_per_event: int
    # --- record layout -----------------------------------------------------------
    sampling_rate_hz: float
    window_before_s: float
    window_after_s: float
    margin_before_s: float
    margin_after_s: float
    batch_size: int
    # --- sources -----------------------------------------------------------------
    default_magnitude: float
    stress_drop_median_bar: float
    stress_drop_sigma_log10: float
    n_subevents_max: int
    explosion_overshoot_min: float
    explosion_overshoot_max: float
    explosion_depth_max_km: float
    ripple_holes_min: int
    ripple_holes_max: int
    ripple_holes_per_row: int
    ripple_delay_min_s: float
    ripple_delay_max_s: float
    s_to_p_log10: float
    earthquake_s_to_p_log10: float
    explosion_s_to_p_log10: float
    s_to_p_sigma_log10: float
    s_to_p_transition_hz: float
    radiation_blend_hz: float
    rg_amplitude: float
    # --- path --------------------------------------------------------------------
    tile_km: float
    n_scatterers: int
    coda_to_direct_p: float
    coda_to_direct_s: float
    coda_q0: float
    coda_q_exponent: float
    coda_reference_hz: float
    path_delay_gradient_s_per_km: float
    q_west: float
    q_west_exponent: float
    q_east: float
    q_east_exponent: float
    q_boundary_longitude_deg: float
    qp_over_qs: float
    kappa_min_s: float
    kappa_max_s: float
    # --- site, instrument, noise -------------------------------------------------
    site_amplification_max: float
    sensor_sensitivity_v_per_m_s: float
    digitizer_gain_counts_per_v: float
    noise_level_min: float
    noise_level_max: float
    microseism_boost_db_max: float
    snr_median: float
    snr_sigma_log10: float
    snr_magnitude_distance_weight: float
    # --- artefacts (all independent of the class) --------------------------------
    pick_error_scale_min_s: float
    pick_error_scale_max_s: float
    pick_error_df: float
    pick_error_max_s: float
    p_gap: float
    p_glitch: float
    p_clipped: float
    p_dead_channel: float
    p_station_bh12: float
    misorientation_sigma_deg: float
    # --- caching -----------------------------------------------------------------
    cache_dir: str | None

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None = None) -> SyntheticParams:
        """Build from a ``synthetic`` config section as given (validated; schema defaults filled)."""
        validated = section("synthetic", values)
        hints = typing.get_type_hints(cls)
        kwargs = {f.name: _as_type(validated[f.name], hints[f.name]) for f in fields(cls)}
        params = cls(**kwargs)
        params.validate()
        return params

    @classmethod
    def defaults(cls) -> SyntheticParams:
        """The schema's default parameters."""
        return cls.from_dict({})

    def validate(self) -> None:
        """Check the ordered pairs; raise ``ConfigError`` naming the parameters at fault."""
        for low, high in ORDERED_PAIRS:
            if getattr(self, low) > getattr(self, high):
                raise ConfigError(f"config key 'synthetic.{low}' must be <= 'synthetic.{high}'")

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


def _as_type(value: Any, hint: Any) -> Any:
    """A validated value as the field's Python type (JSON numbers: 8.0 -> 8 for int fields)."""
    if value is None:
        return None
    kinds = typing.get_args(hint) or (hint,)
    if int in kinds and isinstance(value, float):
        return int(value)
    if float in kinds and isinstance(value, int):
        return float(value)
    return value
