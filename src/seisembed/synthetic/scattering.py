"""Persistent path responses: scattered arrivals per (station, source tile).

For every station and every node of a square grid of source tiles (``tile_km``)
the generator keeps a persistent set of ``n_scatterers`` scattered arrivals per
phase (P, S): delay after the phase onset (s), a delay gradient with event
position (s/km), a signed amplitude and a 3-D polarisation (Z, N, E). An event
uses the four nodes around it with bilinear weights, so its path response varies
smoothly with position: nearby events at one station share most of it, another
station (or a distant event) sees an independent one. The coda envelope is
``(t / t_phase)^-1 exp(-pi f_ref (t - t_phase) / Qc(f_ref))``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from seisembed.synthetic.params import SyntheticParams
from seisembed.synthetic.rng import stream

#: the generator's flat-Earth projection scale (km per degree of latitude), a parameter of the
#: synthetic model: kept at 111.19 so the study's waveforms, and every figure measured on them,
#: stay as published (the sphere's distance conversion is :data:`seisembed.catalog.geometry.KM_PER_DEG`,
#: 111.19493; the two differ by 0.004 %)
PROJECTION_KM_PER_DEG = 111.19
COS_REF = np.cos(np.radians(40.0))


@dataclass(frozen=True)
class ScattererSet:
    """One (station, node, phase) set: arrays of length K (units in names)."""

    delay_s: np.ndarray
    gradient_s_per_km: np.ndarray  # (K, 2): east, north
    amplitude: np.ndarray
    polarisation_zne: np.ndarray  # (K, 3) unit vectors
    s_path_log10: float


def event_xy_km(lat_deg: float, lon_deg: float) -> np.ndarray:
    """Event position on a simple CONUS projection (km east, km north)."""
    return np.array([PROJECTION_KM_PER_DEG * lon_deg * COS_REF, PROJECTION_KM_PER_DEG * lat_deg])


def node_weights(xy_km: np.ndarray, tile_km: float) -> list[tuple[tuple[int, int], float, np.ndarray]]:
    """The four tile nodes around a position: (node index, amplitude weight, offset km from node)."""
    g = xy_km / tile_km
    i0 = np.floor(g).astype(int)
    fx, fy = g - i0
    out = []
    raw = []
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        node = (int(i0[0] + dx), int(i0[1] + dy))
        raw.append((node, w, xy_km - np.array(node, float) * tile_km))
    norm = np.sqrt(sum(w * w for _, w, _ in raw))
    for node, w, off in raw:
        if w > 1e-6:
            out.append((node, w / norm, off))
    return out


class ScattererCache:
    """LRU cache of scatterer sets keyed by (station, node, phase); bounded memory."""

    def __init__(self, params: SyntheticParams, seed: int, max_items: int = 1024):
        self.params, self.seed, self.max_items = params, seed, max_items
        self._items: OrderedDict = OrderedDict()

    def get(self, station: str, node: tuple[int, int], phase: str) -> ScattererSet:
        """The persistent set for one station, tile node and phase (drawn on first use)."""
        key = (station, node, phase)
        item = self._items.get(key)
        if item is None:
            item = self._draw(station, node, phase)
            self._items[key] = item
            if len(self._items) > self.max_items:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        return item

    def _draw(self, station: str, node: tuple[int, int], phase: str) -> ScattererSet:
        p = self.params
        rng = stream(self.seed, "path", station, node[0], node[1], phase)
        k = p.n_scatterers
        delay = p.record_after_s * rng.uniform(0, 1, k) ** 2
        grad = rng.normal(0.0, p.path_delay_gradient_s_per_km, (k, 2))
        amp = rng.standard_normal(k)
        weights = np.array([1.0, 0.6, 0.6]) if phase == "P" else np.array([0.5, 1.0, 1.0])
        pol = rng.standard_normal((k, 3)) * weights
        pol /= np.linalg.norm(pol, axis=1, keepdims=True)
        return ScattererSet(delay, grad, amp, pol, float(rng.normal(0.0, 0.1)))


def coda_spikes(
    cache: ScattererCache,
    station: str,
    xy_km: np.ndarray,
    phase: str,
    travel_time_s: float,
    params: SyntheticParams,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Scattered arrivals of one record and phase: delays after onset (s), ZNE amplitudes (K*4, 3).

    Amplitudes are normalised so the coda energy is ``coda_to_direct_*`` times a
    unit direct arrival. Also returns the path's S/P scatter term (log10).
    """
    delays, amps = [], []
    s_path = 0.0
    qc = params.coda_q0 * params.coda_reference_hz**params.coda_q_exponent
    decay = np.pi * params.coda_reference_hz / qc
    t_ph = max(travel_time_s, 1.0)
    for node, w, off in node_weights(xy_km, params.tile_km):
        sc = cache.get(station, node, phase)
        tau = np.abs(sc.delay_s + sc.gradient_s_per_km @ off)
        env = t_ph / (t_ph + tau) * np.exp(-decay * tau)
        delays.append(tau)
        amps.append((w * sc.amplitude * env)[:, None] * sc.polarisation_zne)
        s_path += w * w * sc.s_path_log10
    delays_a = np.concatenate(delays)
    amps_a = np.concatenate(amps)
    ratio = params.coda_to_direct_p if phase == "P" else params.coda_to_direct_s
    energy = float(np.sum(amps_a**2))
    if energy > 0:
        amps_a *= np.sqrt(ratio / energy)
    return delays_a, amps_a, s_path


def attenuation(
    freqs_hz: np.ndarray, travel_time_s: float, mid_longitude_deg: float, kappa_s: float, params: SyntheticParams
) -> np.ndarray:
    """Anelastic attenuation exp(-pi f t / Q(f)) (Q of P waves, region by path midpoint) times kappa."""
    if mid_longitude_deg < params.q_boundary_longitude_deg:
        q0, eta = params.q_west, params.q_west_exponent
    else:
        q0, eta = params.q_east, params.q_east_exponent
    f = np.maximum(freqs_hz, 1e-3)
    q = params.qp_over_qs * q0 * f**eta
    return np.exp(-np.pi * f * travel_time_s / q - np.pi * kappa_s * f)
