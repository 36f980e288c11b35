"""Writers of the synthetic study: SDS miniSEED archive, StationXML, QuakeML.

Everything written is deterministic: explicit resource ids (no UUIDs), a fixed
creation date in the StationXML, sorted events/stations/picks.

QuakeML resource ids carry the catalogue event id: the event is
``smi:local/event/<source_id>``; its origin ``.../origin``, magnitude
``.../magnitude``, picks ``smi:local/pick/<source_id>/<NET.STA.LOC>`` and arrivals
``.../arrival/<NET.STA.LOC>``. The event's description (type "earthquake name")
also holds the source id.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
from obspy import Stream, Trace, UTCDateTime
from obspy.clients.filesystem.sds import SDS_FMTSTR
from obspy.core.event import (
    Arrival,
    Catalog,
    Event,
    EventDescription,
    Magnitude,
    Origin,
    Pick,
    ResourceIdentifier,
    WaveformStreamID,
)

from seisembed.atomic import atomic_path

log = logging.getLogger(__name__)

NS = 1_000_000_000
DAY_NS = 86400 * NS
FIXED_CREATED = UTCDateTime(2014, 1, 1)
#: name of an SDS day file: NET.STA.LOC.CHAN.D.YEAR.DOY
_SDS_DAY_FILE = re.compile(r"[^.]*\.[^.]*\.[^.]*\.[^.]*\.D\.\d{4}\.\d{3}")


class SDSWriter:
    """Streams records into SDS day files; overlapping/adjacent records of a channel are summed.

    Records must arrive sorted by (network, station, location) and start time,
    on a common sample grid (start times multiples of the sample interval). An
    open segment per channel is flushed when a record starts after its end or the
    station changes, so memory holds one station's current segment only.
    """

    def __init__(self, root: Path, sampling_rate_hz: float, encoding: str = "STEIM2", reclen: int = 4096):
        self.root = Path(root)
        self.fs = sampling_rate_hz
        self.dt_ns = int(round(NS / sampling_rate_hz))
        self.encoding, self.reclen = encoding, reclen
        self._station: tuple[str, str, str] | None = None
        self._open: dict[str, list] = {}  # channel -> [start_ns, data, valid]
        self.files: set[Path] = set()
        self.segments_written = 0

    def add(
        self,
        net: str,
        sta: str,
        loc: str,
        channels: tuple[str, ...],
        start_ns: int,
        data: np.ndarray,
        valid: np.ndarray,
    ) -> None:
        """Add one record: ``data`` (n_channels, n) counts (float), ``valid`` (n,) sample mask."""
        key = (net, sta, loc)
        if key != self._station:
            self.flush()
            self._station = key
        if start_ns % self.dt_ns:
            raise ValueError(f"record of {net}.{sta} at {start_ns} ns is off the sample grid")
        n = data.shape[1]
        for ch, row in zip(channels, data):
            seg = self._open.get(ch)
            if seg is not None and start_ns <= seg[0] + seg[1].size * self.dt_ns:
                off = (start_ns - seg[0]) // self.dt_ns
                if off < 0:
                    raise ValueError(f"records of {net}.{sta}.{ch} are not sorted by start time")
                need = off + n - seg[1].size
                if need > 0:
                    seg[1] = np.concatenate([seg[1], np.zeros(need)])
                    seg[2] = np.concatenate([seg[2], np.zeros(need, bool)])
                seg[1][off : off + n] += np.where(valid, row, 0.0)
                seg[2][off : off + n] |= valid
            else:
                if seg is not None:
                    self._write_segment(ch, seg)
                self._open[ch] = [start_ns, np.where(valid, row, 0.0), valid.copy()]

    def flush(self) -> None:
        """Write every open segment of the current station."""
        for ch in sorted(self._open):
            self._write_segment(ch, self._open[ch])
        self._open = {}

    def remove_stale(self) -> int:
        """Delete SDS day files under ``root`` that this writer did not write; return how many.

        Only files named like SDS day files (``NET.STA.LOC.CHAN.D.YEAR.DOY``) are
        touched. Call after :meth:`flush`.
        """
        stale = [
            path
            for path in sorted(self.root.glob("*/*/*/*.D/*.D.*"))
            if path.is_file() and path not in self.files and _SDS_DAY_FILE.fullmatch(path.name)
        ]
        for path in stale:
            path.unlink()
        return len(stale)

    def _write_segment(self, channel: str, seg: list) -> None:
        net, sta, loc = self._station
        start_ns, values, valid = seg
        counts = np.round(values).astype(np.int32)
        # contiguous runs of valid samples
        edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
        for a, b in zip(edges[::2], edges[1::2]):
            t0 = start_ns + int(a) * self.dt_ns
            self._write_run(net, sta, loc, channel, t0, counts[a:b])

    def _write_run(self, net, sta, loc, channel, t0_ns: int, counts: np.ndarray) -> None:
        """Write one gap-free run, split at UTC day boundaries."""
        i = 0
        while i < counts.size:
            t = t0_ns + i * self.dt_ns
            day_end = (t // DAY_NS + 1) * DAY_NS
            n_day = min(counts.size - i, -(-(day_end - t) // self.dt_ns))
            piece = counts[i : i + n_day]
            stats = {
                "network": net,
                "station": sta,
                "location": loc,
                "channel": channel,
                "sampling_rate": self.fs,
                "starttime": UTCDateTime(ns=int(t)),
            }
            tr = Trace(np.ascontiguousarray(piece), header=stats)
            day = UTCDateTime(ns=int(t))
            path = self.root / SDS_FMTSTR.format(
                year=day.year, doy=day.julday, network=net, station=sta, location=loc, channel=channel, sds_type="D"
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            # the first write of this run replaces a file left by an earlier run; later ones append
            with open(path, "ab" if path in self.files else "wb") as fh:
                Stream([tr]).write(fh, format="MSEED", encoding=self.encoding, reclen=self.reclen)
            self.files.add(path)
            self.segments_written += 1
            i += n_day


def write_stationxml(stations: pd.DataFrame, path: Path, params) -> None:
    """StationXML: one station per row (network, station, location, coordinates, channel codes/azimuths).

    ``stations`` columns: network, station, location, latitude, longitude,
    elevation_m, channels (tuple of 3 codes), h1_azimuth_deg, start_date.
    """
    from obspy.core.inventory import Channel, InstrumentSensitivity, Inventory, Network, Response, Site, Station
    from obspy.core.inventory.response import CoefficientsTypeResponseStage, PolesZerosResponseStage

    from seisembed.synthetic.site import NORMALIZATION_FREQUENCY_HZ, SENSOR_POLES, SENSOR_ZEROS, sensor_a0

    def response() -> Response:
        s1 = PolesZerosResponseStage(
            stage_sequence_number=1,
            stage_gain=params.sensor_sensitivity_v_per_m_s,
            stage_gain_frequency=NORMALIZATION_FREQUENCY_HZ,
            input_units="M/S",
            output_units="V",
            pz_transfer_function_type="LAPLACE (RADIANS/SECOND)",
            normalization_frequency=NORMALIZATION_FREQUENCY_HZ,
            zeros=list(SENSOR_ZEROS),
            poles=list(SENSOR_POLES),
            normalization_factor=sensor_a0(),
        )
        s2 = CoefficientsTypeResponseStage(
            stage_sequence_number=2,
            stage_gain=params.digitizer_gain_counts_per_v,
            stage_gain_frequency=NORMALIZATION_FREQUENCY_HZ,
            input_units="V",
            output_units="COUNTS",
            cf_transfer_function_type="DIGITAL",
            numerator=[1.0],
            denominator=[],
            decimation_input_sample_rate=params.sampling_rate_hz,
            decimation_factor=1,
            decimation_offset=0,
            decimation_delay=0.0,
            decimation_correction=0.0,
        )
        total = params.sensor_sensitivity_v_per_m_s * params.digitizer_gain_counts_per_v
        sens = InstrumentSensitivity(
            value=total, frequency=NORMALIZATION_FREQUENCY_HZ, input_units="M/S", output_units="COUNTS"
        )
        return Response(instrument_sensitivity=sens, response_stages=[s1, s2])

    networks: dict[str, Network] = {}
    for row in stations.sort_values(["network", "station", "location"]).itertuples(index=False):
        start = UTCDateTime(row.start_date)
        chans = []
        h1 = float(row.h1_azimuth_deg)
        for code, az, dip in zip(row.channels, (0.0, h1 % 360.0, (h1 + 90.0) % 360.0), (-90.0, 0.0, 0.0)):
            chans.append(
                Channel(
                    code=code,
                    location_code=row.location,
                    latitude=row.latitude,
                    longitude=row.longitude,
                    elevation=row.elevation_m,
                    depth=0.0,
                    azimuth=round(az, 2),
                    dip=dip,
                    sample_rate=params.sampling_rate_hz,
                    start_date=start,
                    response=response(),
                )
            )
        sta = Station(
            code=row.station,
            latitude=row.latitude,
            longitude=row.longitude,
            elevation=row.elevation_m,
            channels=chans,
            start_date=start,
            creation_date=start,
            site=Site(name=f"{row.network}.{row.station} (synthetic)"),
        )
        net = networks.setdefault(
            row.network,
            Network(code=row.network, stations=[], start_date=start, description="seisembed synthetic study"),
        )
        net.stations.append(sta)
    inv = Inventory(
        networks=[networks[k] for k in sorted(networks)], source="seisembed.synthetic", created=FIXED_CREATED
    )
    with atomic_path(path) as tmp:
        inv.write(str(tmp), format="STATIONXML")


#: ISC event type code (without the k/s certainty letter) -> QuakeML event type
_ISC_TYPES = {
    "m": "mining explosion",
    "h": "chemical explosion",
    "x": "experimental explosion",
    "n": "nuclear explosion",
    "e": "earthquake",
}


def quakeml_event_type(source_type: str, source_type_raw: str) -> str:
    """QuakeML event type: from the ISC code (``km`` -> "mining explosion", ...) when it agrees
    with the label, else "earthquake" or, for explosions, "mining explosion": every synthetic
    explosion is modelled as a ripple-fired mining blast (e.g. under the depth-0 rule's
    ``depth0`` label, which carries no kind of its own)."""
    raw = str(source_type_raw or "").strip().lower()
    mapped = _ISC_TYPES.get(raw[1:2]) if len(raw) == 2 and raw[0] in "ks" else None
    if mapped is not None and (mapped == "earthquake") == (source_type == "earthquake"):
        return mapped
    return "earthquake" if source_type == "earthquake" else "mining explosion"


def _event(ev, recs: pd.DataFrame | None) -> Event:
    """The ObsPy event of one catalogue event and its records (picks + arrivals on its origin)."""
    sid = str(ev.source_id)
    base = f"smi:local/event/{sid}"
    origin = Origin(
        resource_id=ResourceIdentifier(f"{base}/origin"),
        time=UTCDateTime(ns=int(pd.Timestamp(ev.source_origin_time).value)),
        latitude=float(ev.source_latitude_deg),
        longitude=float(ev.source_longitude_deg),
    )
    if ev.source_depth_km is not None and np.isfinite(float(ev.source_depth_km)):
        origin.depth = float(ev.source_depth_km) * 1000.0
    picks = []
    if recs is not None:
        for rec in recs.sort_values(["network", "station", "location"]).itertuples(index=False):
            nslc = f"{rec.network}.{rec.station}.{rec.location}"
            pick_id = ResourceIdentifier(f"smi:local/pick/{sid}/{nslc}")
            picks.append(
                Pick(
                    resource_id=pick_id,
                    time=UTCDateTime(ns=int(rec.pick_time_ns)),
                    waveform_id=WaveformStreamID(
                        network_code=rec.network,
                        station_code=rec.station,
                        location_code=rec.location,
                        channel_code="BHZ",
                    ),
                    phase_hint=str(rec.trace_phase),
                    evaluation_mode="manual",
                )
            )
            origin.arrivals.append(
                Arrival(
                    resource_id=ResourceIdentifier(f"{base}/arrival/{nslc}"),
                    pick_id=pick_id,
                    phase=str(rec.trace_phase),
                    azimuth=float(rec.azimuth_deg),
                    distance=float(rec.path_ep_distance_deg),
                )
            )
    magnitude = Magnitude(
        resource_id=ResourceIdentifier(f"{base}/magnitude"),
        mag=float(ev.source_magnitude),
        magnitude_type=str(ev.source_magnitude_type) or None,
        origin_id=origin.resource_id,
    )
    return Event(
        resource_id=ResourceIdentifier(base),
        event_type=quakeml_event_type(ev.source_type, ev.source_type_raw),
        event_type_certainty="known",
        event_descriptions=[EventDescription(text=sid, type="earthquake name")],
        origins=[origin],
        magnitudes=[magnitude],
        picks=picks,
        preferred_origin_id=origin.resource_id,
        preferred_magnitude_id=magnitude.resource_id,
    )


def write_quakeml(events: pd.DataFrame, truth: pd.DataFrame, path: Path) -> None:
    """QuakeML 1.2 through ObsPy's writer (atomically).

    Per event: an origin, a magnitude, its type (certainty "known"), a
    description holding the source id, and per record a pick (BHZ, time = true
    onset + pick error, phase hint = catalogue phase) with an arrival on the
    origin (phase, distance deg, azimuth deg). ``events`` columns: the
    ``source_*`` arrival columns; ``truth`` one row per record with network,
    station, location, pick_time_ns, trace_phase, path_ep_distance_deg,
    azimuth_deg, source_id. ObsPy holds the whole catalogue in memory: for the
    largest synthetic study (all 21,904 first-P records of the 2014 catalogue)
    7.9 s and +270 MB peak RSS measured on 2 cores (a hand-streamed writer was
    replaced by ObsPy's: that cost is small at the generator's scale).
    """
    picks_by_event = {sid: grp for sid, grp in truth.groupby("source_id", sort=False)}
    catalog = Catalog(resource_id=ResourceIdentifier("smi:local/catalog/seisembed-synthetic"))
    for ev in events.sort_values(["source_origin_time", "source_id"]).itertuples(index=False):
        catalog.append(_event(ev, picks_by_event.get(str(ev.source_id))))
    with atomic_path(path) as tmp:
        catalog.write(str(tmp), format="QUAKEML")
