"""Waveform-stage outputs for tests and benchmarks: partitions that follow the contract.

:func:`write_partitions` writes ``{root}/{YYYY-MM}/windows.npy``, ``windows.parquet``
and ``qc.parquet`` (plus ``{root}/summary.json``) for a random but seeded set of
events and stations, with seismogram-like windows (coloured noise, a P and an S
wave packet with coda; amplitudes spread over decades) so compression and
throughput figures resemble real data. Not used by the workflow itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.columns import ARRIVAL_COLUMNS, trace_name

__all__ = ["synthetic_metadata", "synthetic_windows", "write_partitions"]

RATE_HZ = 40.0
BEFORE_S = 30.0
AFTER_S = 150.0


def synthetic_metadata(
    n_events: int,
    n_stations: int = 60,
    records_per_event: tuple[int, int] = (8, 30),
    seed: int = 0,
    year: int = 2014,
    box_events: int = 3,
    explosion_share: float = 0.2,
    rate_hz: float = RATE_HZ,
    before_s: float = BEFORE_S,
) -> pd.DataFrame:
    """Arrival rows (the catalogue columns) for ``n_events`` events over one year.

    The first ``box_events`` events lie in the Rosebud box (45..47 N, -108..-106 E).
    Each event has a uniform random number of records in ``records_per_event``
    (capped by ``n_stations``), each from a different station.
    """
    rng = np.random.default_rng(seed)
    st_lat = rng.uniform(30, 49, n_stations)
    st_lon = rng.uniform(-120, -80, n_stations)
    networks = np.where(np.arange(n_stations) % 5 == 0, "US", "TA")
    codes = [f"S{i:03d}" for i in range(n_stations)]
    start = pd.Timestamp(f"{year}-01-01", tz="UTC")
    seconds = np.sort(rng.uniform(0, 365 * 86400, n_events))
    rows = []
    for e in range(n_events):
        if e < box_events:
            lat, lon, explosion = rng.uniform(45.2, 46.8), rng.uniform(-107.8, -106.2), True
        else:
            lat, lon, explosion = rng.uniform(30, 49), rng.uniform(-120, -80), bool(rng.random() < explosion_share)
        origin = start + pd.Timedelta(seconds=float(seconds[e]))
        count = int(rng.integers(records_per_event[0], records_per_event[1] + 1))
        magnitude = float(np.round(rng.uniform(1.8, 5.0), 1))
        for s in rng.choice(n_stations, size=min(count, n_stations), replace=False):
            dist_deg = float(np.hypot(st_lat[s] - lat, (st_lon[s] - lon) * np.cos(np.radians(lat))))
            p_time = origin + pd.Timedelta(seconds=dist_deg * 13.0)
            rows.append(
                {
                    "source_id": f"ev{e:06d}",
                    "source_origin_time": origin,
                    "source_latitude_deg": lat,
                    "source_longitude_deg": lon,
                    "source_depth_km": 0.0 if explosion else float(rng.uniform(2, 20)),
                    "source_magnitude": magnitude,
                    "source_magnitude_type": "ML",
                    "source_type": "explosion" if explosion else "earthquake",
                    "source_type_raw": "km" if explosion else "ke",
                    "station_network_code": networks[s],
                    "station_code": codes[s],
                    "station_location_code": "",
                    "station_latitude_deg": st_lat[s],
                    "station_longitude_deg": st_lon[s],
                    "station_elevation_m": 500.0,
                    "trace_phase": "Pn" if dist_deg > 2 else "Pg",
                    "trace_p_arrival_time": p_time,
                    "path_ep_distance_deg": dist_deg,
                    "path_ep_distance_km": dist_deg * 111.195,
                    "path_back_azimuth_deg": float(rng.uniform(0, 360)),
                }
            )
    frame = pd.DataFrame(rows, columns=list(ARRIVAL_COLUMNS))
    frame["trace_name"] = [
        trace_name(r.source_id, r.station_network_code, r.station_code, r.station_location_code)
        for r in frame.itertuples()
    ]
    frame["trace_p_arrival_sample"] = int(round(before_s * rate_hz))
    frame["trace_sampling_rate_hz"] = float(rate_hz)
    frame["trace_start_time"] = frame["trace_p_arrival_time"] - pd.Timedelta(seconds=before_s)
    frame["trace_channels"] = "HHZ,HHN,HHE"
    return frame


def synthetic_windows(
    n: int, seed: int = 0, n_samples: int = int((BEFORE_S + AFTER_S) * RATE_HZ), p_sample: int = int(BEFORE_S * RATE_HZ)
) -> np.ndarray:
    """``n`` seismogram-like float32 windows ``(n, 3, n_samples)``: noise + P and S packets."""
    rng = np.random.default_rng(seed)
    freqs = np.fft.rfftfreq(n_samples, 1 / RATE_HZ)
    shape = 1.0 / (1.0 + (freqs / 2.0) ** 2) / (1.0 + (0.2 / np.maximum(freqs, 1e-3)) ** 2)
    t = np.arange(n_samples) / RATE_HZ
    out = np.empty((n, 3, n_samples), dtype=np.float32)
    for first in range(0, n, 256):
        m = min(256, n - first)
        noise = np.fft.irfft(np.fft.rfft(rng.standard_normal((m, 3, n_samples))) * shape, n=n_samples)
        signal = np.fft.irfft(np.fft.rfft(rng.standard_normal((m, 3, n_samples))) * shape * (freqs > 1.0), n=n_samples)
        s_delay = rng.uniform(5, 80, (m, 1, 1))
        tp = t - p_sample / RATE_HZ
        envelope = np.where(tp > 0, np.exp(-np.clip(tp, 0, None) / 8.0), 0.0) + 2.0 * np.where(
            tp > s_delay, np.exp(-np.clip(tp - s_delay, 0, None) / 15.0), 0.0
        )
        snr = 10 ** rng.uniform(0.3, 2.0, (m, 1, 1))
        amplitude = 10 ** rng.uniform(1, 4, (m, 1, 1))
        out[first : first + m] = (amplitude * (noise + snr * envelope * signal)).astype(np.float32)
    return out


def write_partitions(
    root: str | Path,
    metadata: pd.DataFrame,
    seed: int = 0,
    windows: np.ndarray | None = None,
    n_samples: int = int((BEFORE_S + AFTER_S) * RATE_HZ),
) -> list[str]:
    """Write the waveform stage's outputs for ``metadata`` under ``root``; return the partition names.

    ``windows`` (rows of ``metadata``) default to :func:`synthetic_windows`,
    generated partition by partition (bounded memory).
    """
    root = Path(root)
    months = pd.to_datetime(metadata["source_origin_time"], utc=True).dt.strftime("%Y-%m")
    names = sorted(months.unique())
    for i, name in enumerate(names):
        rows = np.flatnonzero((months == name).to_numpy())
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        part = metadata.iloc[rows].reset_index(drop=True)
        data = (
            windows[rows]
            if windows is not None
            else synthetic_windows(
                len(rows),
                seed=seed * 1000 + i,
                n_samples=n_samples,
                p_sample=int(metadata["trace_p_arrival_sample"].iloc[0]),
            )
        )
        np.save(folder / "windows.npy", np.ascontiguousarray(data, dtype=np.float32))
        part.to_parquet(folder / "windows.parquet", index=False)
        qc = part[list(ARRIVAL_COLUMNS)].assign(qc_status="ok", qc_reason="")
        qc = pd.concat([qc, qc.head(1).assign(qc_status="gap", qc_reason="gap of 3.2 s")], ignore_index=True)
        qc.to_parquet(folder / "qc.parquet", index=False)
    (root / "summary.json").write_text(json.dumps({"partitions": names, "ok": int(len(metadata))}))
    return names
