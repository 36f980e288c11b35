"""iasp91 first-P and first-S travel times, tabulated once and interpolated.

``obspy.taup`` costs ~25 ms per call, so the synthetic generator and the SVM-36
discrimination classifier use a table on a distance x depth grid (0-45 deg, 0-65 km;
shipped as ``seisembed/data/iasp91_table.npz``; rebuilt into ``cache_dir`` if missing)
and bilinear interpolation, clamped to the grid.

The generator uses the catalogue's arrival time as the true P onset; the table
gives the S - P time (S onset = P onset + (tS - tP)), the take-off angles (for
the double-couple radiation) and the P incidence angle at the station. The SVM-36
classifier places its S and S-coda windows with the same S - P time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seisembed.atomic import atomic_path

log = logging.getLogger(__name__)

TABLE_NAME = "iasp91_table.npz"
SHIPPED = Path(__file__).parent / "data" / TABLE_NAME
#: grid: epicentral distance (deg) and source depth (km)
DISTANCES_DEG = np.round(np.concatenate([np.arange(0.0, 5.0, 0.1), np.arange(5.0, 45.01, 0.5)]), 3)
DEPTHS_KM = np.array([0.0, 1.0, 3.0, 6.0, 10.0, 15.0, 20.0, 30.0, 45.0, 65.0])
FIELDS = ("tp_s", "ts_s", "takeoff_p_deg", "takeoff_s_deg", "incidence_p_deg")
P_PHASES = ["p", "P", "Pn", "Pg", "Pdiff"]
S_PHASES = ["s", "S", "Sn", "Sg", "Sdiff"]


def build_table() -> dict[str, np.ndarray]:
    """Compute the grid with obspy.taup (about a minute); arrays of shape (n_dist, n_depth)."""
    from obspy.taup import TauPyModel

    model = TauPyModel("iasp91")
    shape = (DISTANCES_DEG.size, DEPTHS_KM.size)
    out = {name: np.full(shape, np.nan) for name in FIELDS}
    for i, dist in enumerate(DISTANCES_DEG):
        for j, depth in enumerate(DEPTHS_KM):
            d = max(float(dist), 0.01)
            p_arr = model.get_travel_times(source_depth_in_km=float(depth), distance_in_degree=d, phase_list=P_PHASES)
            s_arr = model.get_travel_times(source_depth_in_km=float(depth), distance_in_degree=d, phase_list=S_PHASES)
            if p_arr:
                first = min(p_arr, key=lambda a: a.time)
                out["tp_s"][i, j] = first.time
                out["takeoff_p_deg"][i, j] = first.takeoff_angle
                out["incidence_p_deg"][i, j] = first.incident_angle
            if s_arr:
                first = min(s_arr, key=lambda a: a.time)
                out["ts_s"][i, j] = first.time
                out["takeoff_s_deg"][i, j] = first.takeoff_angle
    for name in FIELDS:  # fill rare holes along distance
        arr = out[name]
        for j in range(arr.shape[1]):
            col = arr[:, j]
            ok = np.isfinite(col)
            if not ok.all():
                col[~ok] = np.interp(DISTANCES_DEG[~ok], DISTANCES_DEG[ok], col[ok])
    out["distances_deg"] = DISTANCES_DEG.copy()
    out["depths_km"] = DEPTHS_KM.copy()
    return out


@dataclass(frozen=True)
class TravelTimeTable:
    """Bilinear interpolation of the iasp91 table (distance deg, depth km)."""

    data: dict

    @classmethod
    def load(cls, cache_dir: str | Path | None = None) -> TravelTimeTable:
        """Load the shipped table, else a cached one, else build and cache it."""
        candidates = [SHIPPED]
        if cache_dir:
            candidates.append(Path(cache_dir) / TABLE_NAME)
        for path in candidates:
            if path.is_file():
                with np.load(path) as npz:
                    return cls({k: npz[k] for k in npz.files})
        log.info("tabulating iasp91 travel times with obspy.taup (one-off, ~1 min)")
        data = build_table()
        if cache_dir:
            _save_atomic(Path(cache_dir) / TABLE_NAME, data)
        return cls(data)

    def lookup(self, distance_deg: np.ndarray, depth_km: np.ndarray) -> dict[str, np.ndarray]:
        """Interpolated fields for arrays of distance (deg) and depth (km); clamped to the grid."""
        dist = np.clip(np.asarray(distance_deg, float), self.data["distances_deg"][0], self.data["distances_deg"][-1])
        dep = np.clip(np.asarray(depth_km, float), self.data["depths_km"][0], self.data["depths_km"][-1])
        xi, xf = _locate(self.data["distances_deg"], dist)
        yi, yf = _locate(self.data["depths_km"], dep)
        result = {}
        for name in FIELDS:
            t = self.data[name]
            result[name] = (
                t[xi, yi] * (1 - xf) * (1 - yf)
                + t[xi + 1, yi] * xf * (1 - yf)
                + t[xi, yi + 1] * (1 - xf) * yf
                + t[xi + 1, yi + 1] * xf * yf
            )
        return result


def _save_atomic(path: Path, data: dict[str, np.ndarray]) -> None:
    """Save the table to ``path`` as ``.npz`` atomically (never half a file)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **data)


def _locate(grid: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell index and fractional position of ``x`` on a sorted ``grid``."""
    idx = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, grid.size - 2)
    frac = (x - grid[idx]) / (grid[idx + 1] - grid[idx])
    return idx, np.clip(frac, 0.0, 1.0)


def main() -> None:
    """Rebuild the shipped table: ``python -m seisembed.traveltimes``."""
    _save_atomic(SHIPPED, build_table())


if __name__ == "__main__":  # pragma: no cover
    main()
