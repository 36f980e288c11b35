"""Ambient noise between Peterson's NLNM and NHNM, independent per record.

A record draws a level u in [noise_level_min, noise_level_max] (0 = NLNM, 1 =
NHNM, interpolated in dB) and a microseism boost (dB, a bump at 0.1-0.3 Hz);
each component gets its own Gaussian realisation, generated directly as rfft
coefficients. Nothing here depends on the event or its class.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=8)
def _models_on(freq_key: tuple[float, float, int]) -> tuple[np.ndarray, np.ndarray]:
    """NLNM and NHNM acceleration PSD (dB rel 1 (m/s^2)^2/Hz) on a frequency grid."""
    from obspy.signal.spectral_estimation import get_nhnm, get_nlnm

    df, fs, nf = freq_key
    f = np.arange(nf) * df
    f = np.clip(f, 0.01, None)
    lp, ld = get_nlnm()
    hp, hd = get_nhnm()
    per = 1.0 / f
    lo = np.interp(np.log(per), np.log(lp[::-1]), ld[::-1])
    hi = np.interp(np.log(per), np.log(hp[::-1]), hd[::-1])
    return lo, hi


def velocity_psd(freqs_hz: np.ndarray, fs_hz: float, level: float, microseism_db: float, micro_hz: float) -> np.ndarray:
    """One-sided velocity PSD ((m/s)^2/Hz) for a noise level in [0, 1] and a microseism boost (dB)."""
    df = freqs_hz[1] - freqs_hz[0]
    lo, hi = _models_on((float(df), float(fs_hz), int(freqs_hz.size)))
    db = lo + level * (hi - lo)
    f = np.clip(freqs_hz, 0.01, None)
    db = db + microseism_db * np.exp(-0.5 * (np.log(f / micro_hz) / 0.3) ** 2)
    psd = 10 ** (db / 10.0) / (2 * np.pi * f) ** 2
    psd[freqs_hz < 0.02] = 0.0
    return psd


def noise_spectrum(rng: np.random.Generator, psd: np.ndarray, n_fft: int, fs_hz: float, n_comp: int = 3) -> np.ndarray:
    """Random rfft coefficients (n_comp, nf) of stationary noise with one-sided PSD ``psd``."""
    scale = np.sqrt(n_fft * psd * fs_hz / 4.0)
    z = rng.standard_normal((n_comp, psd.size)) + 1j * rng.standard_normal((n_comp, psd.size))
    z *= scale
    z[:, 0] = 0.0
    z[:, -1] = 0.0
    return z


def band_rms(psd: np.ndarray, freqs_hz: np.ndarray, f_lo: float = 1.0, f_hi: float = 8.0) -> float:
    """RMS (m/s) of noise with PSD ``psd`` in the band [f_lo, f_hi] Hz."""
    band = (freqs_hz >= f_lo) & (freqs_hz <= f_hi)
    return float(np.sqrt(np.sum(psd[band]) * (freqs_hz[1] - freqs_hz[0])))
