"""Station terms: site amplification, kappa, sensor orientation and naming, instrument.

Every station draws (from its own stream) a smooth site amplification (1 to
``site_amplification_max`` with 0-2 resonances), kappa (s), the true azimuth of
its first horizontal component (a few degrees off north for BHN/BHE stations,
arbitrary for BH1/BH2 stations; written truthfully to the StationXML) and
whether it names its horizontals BH1/BH2. The instrument is a broadband velocity
sensor (STS-2-like poles and zeros) plus a digitizer gain; the same response is
applied to the synthetics and written to the StationXML.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seisembed.synthetic.params import SyntheticParams
from seisembed.synthetic.rng import stream

#: STS-2-like sensor (rad/s), normalised to 1 at 1 Hz
SENSOR_ZEROS = [0j, 0j]
SENSOR_POLES = [-0.037004 + 0.037016j, -0.037004 - 0.037016j, -251.33 + 0j, -131.04 + 467.29j, -131.04 - 467.29j]
NORMALIZATION_FREQUENCY_HZ = 1.0


@dataclass(frozen=True)
class StationTerms:
    """Per-station properties (units in names)."""

    amplification_freqs_hz: np.ndarray
    amplification: np.ndarray
    kappa_s: float
    h1_azimuth_deg: float
    bh12: bool
    misorientation_deg: float


def draw_station(station_key: str, params: SyntheticParams, seed: int) -> StationTerms:
    """Draw one station's terms from its own random stream."""
    rng = stream(seed, "station", station_key)
    f = np.logspace(-2, np.log10(25.0), 64)
    base = rng.uniform(1.0, params.site_amplification_max)
    corner = rng.uniform(0.5, 4.0)
    amp = 1.0 + (base - 1.0) * (f / corner) ** 2 / (1.0 + (f / corner) ** 2)
    for _ in range(int(rng.integers(0, 3))):
        f0, width, gain = rng.uniform(1.0, 10.0), rng.uniform(0.15, 0.4), rng.uniform(0.3, 1.0)
        amp = amp * (1.0 + gain * np.exp(-0.5 * (np.log(f / f0) / width) ** 2))
    kappa = rng.uniform(params.kappa_min_s, params.kappa_max_s)
    bh12 = bool(rng.uniform() < params.p_station_bh12)
    mis = float(np.clip(rng.normal(0.0, params.misorientation_sigma_deg), -8.0, 8.0))
    h1 = float(np.round(rng.uniform(0.0, 360.0), 1)) if bh12 else float(np.round(mis % 360.0, 1))
    return StationTerms(f, amp, kappa, h1, bh12, mis)


def site_response(terms: StationTerms, freqs_hz: np.ndarray) -> np.ndarray:
    """Real, zero-phase site amplification on ``freqs_hz`` (log-frequency interpolation)."""
    logf = np.log(np.maximum(freqs_hz, terms.amplification_freqs_hz[0]))
    return np.interp(logf, np.log(terms.amplification_freqs_hz), terms.amplification)


def sensor_a0() -> float:
    """Normalisation factor A0 making the sensor's PAZ 1 at the normalisation frequency."""
    s = 2j * np.pi * NORMALIZATION_FREQUENCY_HZ
    return float(1.0 / abs(np.prod([s - z for z in SENSOR_ZEROS]) / np.prod([s - p for p in SENSOR_POLES])))


def instrument_response(freqs_hz: np.ndarray, params: SyntheticParams) -> np.ndarray:
    """Complex response (counts per m/s) of sensor + digitizer on ``freqs_hz``."""
    s = 2j * np.pi * freqs_hz
    h = sensor_a0() * np.ones_like(s)
    for z in SENSOR_ZEROS:
        h = h * (s - z)
    for p in SENSOR_POLES:
        h = h / (s - p)
    return h * params.sensor_sensitivity_v_per_m_s * params.digitizer_gain_counts_per_v


def channel_codes(terms: StationTerms) -> tuple[str, str, str]:
    """Channel codes (vertical, first horizontal, second horizontal)."""
    return ("BHZ", "BH1", "BH2") if terms.bh12 else ("BHZ", "BHN", "BHE")
