"""Small, real test archives: StationXML, an SDS miniSEED tree and a matching arrivals table.

Signals are deterministic (seeded): noise plus a decaying P wavelet whose true
Z, N, E ground motion is known, projected onto each station's (possibly
misoriented or BH1/BH2) channels, so tests can check the rotation back to ZNE.
Amplitudes are in counts (int32).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from obspy import Stream, Trace, UTCDateTime
from obspy.clients.filesystem.sds import SDS_FMTSTR
from obspy.core.inventory import Channel, Inventory, Network, Site, Station

from seisembed.columns import ARRIVAL_COLUMNS


@dataclass(frozen=True)
class StationSpec:
    """A test station: codes, channel layout, sensor orientation (deg) and sampling rate (Hz)."""

    network: str = "XX"
    station: str = "STA"
    location: str = ""
    band: str = "BH"
    components: str = "ZNE"  # "ZNE" or "Z12"
    h1_azimuth_deg: float = 0.0  # azimuth of the first horizontal (N or 1)
    sampling_rate_hz: float = 40.0
    latitude: float = 40.0
    longitude: float = -100.0

    @property
    def channels(self) -> tuple[str, str, str]:
        return tuple(self.band + c for c in self.components)

    def orientations(self) -> list[tuple[float, float]]:
        """(azimuth, dip) in degrees of the three channels."""
        return [(0.0, -90.0), (self.h1_azimuth_deg % 360.0, 0.0), ((self.h1_azimuth_deg + 90.0) % 360.0, 0.0)]


ARCHIVE_START = UTCDateTime(2000, 1, 1)
MONTH_START = UTCDateTime(2014, 3, 2, 6)


def make_inventory(stations: list[StationSpec], start: UTCDateTime = ARCHIVE_START) -> Inventory:
    """A channel-level StationXML inventory for ``stations``."""
    networks: dict[str, Network] = {}
    for spec in stations:
        chans = [
            Channel(
                code=code,
                location_code=spec.location,
                latitude=spec.latitude,
                longitude=spec.longitude,
                elevation=100.0,
                depth=0.0,
                azimuth=az,
                dip=dip,
                sample_rate=spec.sampling_rate_hz,
                start_date=start,
            )
            for code, (az, dip) in zip(spec.channels, spec.orientations())
        ]
        net = networks.setdefault(spec.network, Network(code=spec.network, stations=[], start_date=start))
        existing = [s for s in net.stations if s.code == spec.station]
        if existing:
            existing[0].channels.extend(chans)
        else:
            net.stations.append(
                Station(
                    code=spec.station,
                    latitude=spec.latitude,
                    longitude=spec.longitude,
                    elevation=100.0,
                    channels=chans,
                    start_date=start,
                    creation_date=start,
                    site=Site(name=spec.station),
                )
            )
    return Inventory(networks=list(networks.values()), source="seisembed.testing")


def true_motion(n: int, rate_hz: float, p_index: int, seed: int) -> np.ndarray:
    """Ground motion (3, n) in Z, N, E counts: noise plus a P wavelet starting at ``p_index``."""
    rng = np.random.default_rng(seed)
    t = (np.arange(n) - p_index) / rate_hz
    motion = rng.normal(0.0, 300.0, size=(3, n))
    env = np.where(t >= 0, np.exp(-np.clip(t, 0, None) / 8.0), 0.0)
    phase = rng.uniform(0, 2 * np.pi, 3)
    amp = np.array([30000.0, 18000.0, 12000.0]) * rng.uniform(0.5, 1.5)
    for k in range(3):
        motion[k] += amp[k] * env * np.sin(2 * np.pi * 2.0 * t + phase[k])
    return motion


def project(motion: np.ndarray, spec: StationSpec) -> np.ndarray:
    """Project Z, N, E motion onto the station's three channels (inverse of ``rotate->ZNE``)."""
    z, n, e = motion
    out = [z.copy()]
    for az, _dip in spec.orientations()[1:]:
        a = np.radians(az)
        out.append(n * np.cos(a) + e * np.sin(a))
    return np.vstack(out)


def make_records(
    spec: StationSpec, p_time: UTCDateTime, seed: int, before_s: float = 80.0, after_s: float = 220.0
) -> tuple[Stream, np.ndarray]:
    """Raw int32 records of one arrival at ``spec`` plus the true Z, N, E motion (float)."""
    rate = spec.sampling_rate_hz
    start = UTCDateTime(ns=int(round((p_time - before_s).ns * rate / 1e9) / rate * 1e9))
    n = int((before_s + after_s) * rate)
    p_index = int(round((p_time - start) * rate))
    motion = true_motion(n, rate, p_index, seed)
    data = project(motion, spec)
    st = Stream()
    for code, row in zip(spec.channels, data):
        st.append(
            Trace(
                np.round(row).astype(np.int32),
                header={
                    "network": spec.network,
                    "station": spec.station,
                    "location": spec.location,
                    "channel": code,
                    "sampling_rate": rate,
                    "starttime": start,
                },
            )
        )
    return st, motion


def write_sds(stream: Stream, root: str | Path, encoding: str = "STEIM2") -> list[Path]:
    """Append ``stream``'s traces to SDS day files under ``root`` (traces must not span midnight)."""
    root = Path(root)
    written = []
    for tr in stream:
        s = tr.stats
        day = s.starttime
        path = root / SDS_FMTSTR.format(
            year=day.year,
            doy=day.julday,
            network=s.network,
            station=s.station,
            location=s.location,
            channel=s.channel,
            sds_type="D",
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        enc = encoding if tr.data.dtype == np.int32 else "FLOAT64"
        with open(path, "ab") as fh:
            Stream([tr]).write(fh, format="MSEED", encoding=enc, reclen=512)
        written.append(path)
    return written


def arrival_row(
    source_id: str, origin: UTCDateTime, p_time: UTCDateTime, spec: StationSpec, location: str | None = None
) -> dict:
    """One arrivals-table row (ARRIVAL_COLUMNS) for ``spec`` at ``p_time``."""
    return {
        "source_id": source_id,
        "source_origin_time": pd.Timestamp(origin.ns, unit="ns", tz="UTC"),
        "source_latitude_deg": 38.0,
        "source_longitude_deg": -99.0,
        "source_depth_km": 5.0,
        "source_magnitude": 3.0,
        "source_magnitude_type": "ML",
        "source_type": "earthquake",
        "source_type_raw": "ke",
        "station_network_code": spec.network,
        "station_code": spec.station,
        "station_location_code": spec.location if location is None else location,
        "station_latitude_deg": spec.latitude,
        "station_longitude_deg": spec.longitude,
        "station_elevation_m": 100.0,
        "trace_phase": "Pn",
        "trace_p_arrival_time": pd.Timestamp(p_time.ns, unit="ns", tz="UTC"),
        "path_ep_distance_deg": 2.0,
        "path_ep_distance_km": 222.0,
        "path_back_azimuth_deg": 45.0,
    }


def arrivals_frame(rows: list[dict]) -> pd.DataFrame:
    """An arrivals table with exactly ARRIVAL_COLUMNS (in order)."""
    frame = pd.DataFrame(rows, columns=list(ARRIVAL_COLUMNS))
    for col in ("source_origin_time", "trace_p_arrival_time"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


@dataclass
class Study:
    """A generated test study: archive root, StationXML path, arrivals parquet, true motions."""

    root: Path
    sds: Path
    stationxml: Path
    arrivals: Path
    truth: dict[str, np.ndarray] = field(default_factory=dict)


def make_study(
    directory: str | Path,
    n_events: int = 6,
    n_stations: int = 4,
    seed: int = 1,
    month_start: UTCDateTime = MONTH_START,
    event_spacing_s: float = 3 * 3600.0,
    keep_truth: bool = True,
) -> Study:
    """A clean study: ``n_events`` x ``n_stations`` arrivals, ``event_spacing_s`` apart (2014-03 by default).

    Stations alternate ZNE (misoriented by a few degrees) and BH1/BH2 layouts.
    ``keep_truth=False`` drops the true motions (large studies).
    """
    directory = Path(directory)
    rng = np.random.default_rng(seed)
    stations = [
        StationSpec(
            network="XX",
            station=f"S{i:02d}",
            components="ZNE" if i % 2 == 0 else "Z12",
            h1_azimuth_deg=float(rng.uniform(-6, 6) if i % 2 == 0 else rng.uniform(0, 360)),
            latitude=40.0 + i * 0.3,
        )
        for i in range(n_stations)
    ]
    inv = make_inventory(stations)
    stationxml = directory / "stations.xml"
    directory.mkdir(parents=True, exist_ok=True)
    inv.write(str(stationxml), format="STATIONXML")
    rows, truth = [], {}
    for e in range(n_events):
        origin = month_start + e * event_spacing_s + float(rng.uniform(0, min(600.0, event_spacing_s / 4)))
        for k, spec in enumerate(stations):
            p_time = origin + 20.0 + 7.3 * k + float(rng.uniform(0, 1))
            st, motion = make_records(spec, p_time, seed=seed * 1000 + e * 37 + k)
            write_sds(st, directory / "sds")
            sid = f"ev{e:03d}"
            rows.append(arrival_row(sid, origin, p_time, spec))
            if keep_truth:
                truth[f"{sid}_{spec.network}.{spec.station}.{spec.location}"] = motion
    arrivals = directory / "arrivals.parquet"
    arrivals_frame(rows).to_parquet(arrivals, index=False)
    return Study(directory, directory / "sds", stationxml, arrivals, truth)
