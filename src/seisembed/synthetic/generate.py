"""Orchestration: arrivals table -> SDS archive, StationXML, QuakeML, truth table.

Records are processed sorted by station and start time in batches of
``batch_size``: per record a few hundred spikes (direct P, S, Rg and the
persistent scattered arrivals) are placed on the sample grid, all records of a
batch are transformed with one batched FFT, multiplied by source x attenuation x
site x instrument spectra, summed with independent noise and transformed back.
Finished records stream into the SDS writer; only one batch of waveforms and
one station's open segment are in memory.

The catalogue's arrival time is the true P onset (so real geometry and timing
are kept); iasp91 gives the S - P time, take-off and incidence angles.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.fft

from seisembed.atomic import write_json_atomic, write_parquet_atomic
from seisembed.columns import ARRIVAL_COLUMNS
from seisembed.errors import InputError
from seisembed.synthetic import artifacts, noise, scattering, site, sources
from seisembed.synthetic.params import SyntheticParams
from seisembed.synthetic.rng import stream
from seisembed.synthetic.writers import NS, SDSWriter, write_quakeml, write_stationxml
from seisembed.traveltimes import TravelTimeTable

log = logging.getLogger(__name__)

VP_OVER_VS = 1.73
RG_VELOCITY_KM_S = 3.0
ANALYSIS_CENTRE_HZ = 4.0


def prepare_arrivals(arrivals: pd.DataFrame, params: SyntheticParams) -> pd.DataFrame:
    """Validate the arrivals table and sort it by station and record start (a copy).

    Adds ``record_start_ns`` (the P arrival minus ``record_before_s``, floored to
    the sample grid). Raises :class:`InputError` naming the column, event and
    station for a missing column, an unknown ``source_type``, a missing
    coordinate, distance or time, or a repeated (event, station) row. A missing
    elevation becomes 0 m; a missing magnitude ``default_magnitude`` (logged); a
    missing depth 10 km for earthquakes (explosions draw theirs).
    """
    missing = [c for c in ARRIVAL_COLUMNS if c not in arrivals.columns]
    if missing:
        raise InputError(f"arrivals table lacks column(s) {missing}; expected the catalog contract columns")
    df = arrivals.loc[:, list(ARRIVAL_COLUMNS)].copy()
    for col in ("source_origin_time", "trace_p_arrival_time"):
        df[col] = pd.to_datetime(df[col], utc=True).dt.as_unit("ns")
    for col in (
        "source_id",
        "station_network_code",
        "station_code",
        "station_location_code",
        "source_magnitude_type",
        "source_type_raw",
        "trace_phase",
    ):
        df[col] = df[col].fillna("").astype(str)
    bad = ~df["source_type"].isin(["earthquake", "explosion"])
    if bad.any():
        row = df[bad].iloc[0]
        raise InputError(f"event {row.source_id}: source_type {row.source_type!r} is not earthquake|explosion")
    for col in (
        "station_latitude_deg",
        "station_longitude_deg",
        "source_latitude_deg",
        "source_longitude_deg",
        "path_ep_distance_deg",
        "path_ep_distance_km",
        "path_back_azimuth_deg",
        "source_origin_time",
        "trace_p_arrival_time",
    ):
        if df[col].isna().any():
            row = df[df[col].isna()].iloc[0]
            raise InputError(
                f"event {row.source_id} station {row.station_network_code}.{row.station_code}: "
                f"column {col} is missing ({int(df[col].isna().sum())} row(s))"
            )
    df["station_elevation_m"] = df["station_elevation_m"].fillna(0.0)
    n_default = int(df["source_magnitude"].isna().sum())
    if n_default:
        log.info("%d records without magnitude use default_magnitude=%.1f", n_default, params.default_magnitude)
    p_ns = df["trace_p_arrival_time"].astype("int64").to_numpy()
    dt_ns = int(round(NS / params.sampling_rate_hz))
    df["record_start_ns"] = (p_ns - int(round(params.record_before_s * NS))) // dt_ns * dt_ns
    dup = df.duplicated(["source_id", "station_network_code", "station_code", "station_location_code"])
    if dup.any():
        row = df[dup].iloc[0]
        raise InputError(
            f"arrivals table has {int(dup.sum())} repeated (event, station) row(s), e.g. event {row.source_id} "
            f"station {row.station_network_code}.{row.station_code}.{row.station_location_code}; "
            "one row per (source_id, network, station, location) is expected"
        )
    return df.sort_values(
        ["station_network_code", "station_code", "station_location_code", "record_start_ns", "source_id"],
        kind="mergesort",
    ).reset_index(drop=True)


@dataclass(frozen=True)
class _RecordGeometry:
    """Geometry and timing of one record (times in s from the record start unless named ns)."""

    dist_deg: float
    dist_km: float
    tt: dict
    p_ns: int
    t_on_p_s: float
    travel_p_s: float
    t_on_s_s: float
    azimuth_deg: float
    radial: np.ndarray
    transverse: np.ndarray
    inc_p_rad: float
    inc_s_rad: float


def _azimuth_deg(lat1, lon1, lat2, lon2) -> float:
    """Azimuth (deg from north) from point 1 to point 2 on a sphere, for one record.

    The same formula as :func:`seisembed.catalog.geometry.azimuth_deg`, kept in
    this scalar form on purpose: that function rounds differently in the last
    bit, which would change the committed study's bytes (see
    ``resources/synthetic/calibration.json``).
    """
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon2 - lon1)
    return float(
        np.degrees(np.arctan2(np.sin(dl) * np.cos(p2), np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)))
        % 360.0
    )


class Synthesizer:
    """Holds the constant spectra and caches of one run (bounded memory)."""

    def __init__(self, params: SyntheticParams, seed: int):
        self.p, self.seed = params, seed
        self.fs = params.sampling_rate_hz
        self.n = int(round((params.record_before_s + params.record_after_s) * self.fs))
        self.nfft = scipy.fft.next_fast_len(self.n + int(20 * self.fs), real=True)
        self.freqs = np.fft.rfftfreq(self.nfft, 1.0 / self.fs)
        self.instrument = site.instrument_response(self.freqs, params)
        self.tt = TravelTimeTable.load(params.cache_dir)
        self.scatterers = scattering.ScattererCache(params, seed)
        self.events: dict[str, sources.EventSource] = {}
        self.stations: dict[str, site.StationTerms] = {}
        self.band = (self.freqs >= 1.0) & (self.freqs <= 8.0)
        w = 1.0 / (1.0 + (ANALYSIS_CENTRE_HZ / params.radiation_blend_hz) ** 2)
        self.blend_weight = w

    def station_terms(self, key: str) -> site.StationTerms:
        """Per-station terms (cached; a few hundred stations)."""
        if key not in self.stations:
            self.stations[key] = site.draw_station(key, self.p, self.seed)
        return self.stations[key]

    def event_source(self, row) -> sources.EventSource:
        """Per-event source (cached; one entry per event)."""
        sid = row["source_id"]
        if sid not in self.events:
            self.events[sid] = sources.draw_event(row, self.p, self.seed)
        return self.events[sid]

    # ------------------------------------------------------------------------------
    def batch(self, rows: pd.DataFrame) -> list[dict]:
        """Synthesize a batch of records; returns per record data (3, n) counts, valid mask, truth."""
        b = len(rows)
        spikes = np.zeros((b, 2, 3, self.nfft))
        finger = np.zeros((b, self.nfft))
        meta = []
        for i, row in enumerate(rows.to_dict("records")):
            meta.append(self._record_spikes(row, spikes[i], finger[i]))
        spec = scipy.fft.rfft(spikes, axis=-1, workers=2)
        fspec = scipy.fft.rfft(finger, axis=-1, workers=2)
        out_spec = np.empty((b, 3, self.freqs.size), complex)
        for i, m in enumerate(meta):
            out_spec[i] = self._record_spectrum(m, spec[i], fspec[i])
        traces = scipy.fft.irfft(out_spec, n=self.nfft, axis=-1, workers=2)[:, :, : self.n]
        results = []
        for i, m in enumerate(meta):
            data = traces[i].copy()
            valid = np.ones(self.n, bool)
            flags = artifacts.apply_artefacts(data, valid, m.pop("artefacts"))
            m["truth"].update(flags)
            results.append({"data": data, "valid": valid, **m})
        return results

    def _record_spikes(self, row: dict, spikes: np.ndarray, finger: np.ndarray) -> dict:
        """Place the direct and scattered arrivals of one record; draw its per-record randomness.

        ``spikes`` (2, 3, nfft): P- and S-type impulses in the channel frame
        (Z, H1, H2), times relative to an integer-sample P onset; ``finger``
        (nfft,): the event's fingerprint series. The record's own random stream
        is consumed in a fixed order (radiation, noise, SNR, artefacts, noise seed)
        so that every record gets the same draws whatever the batch.
        """
        sid, net, sta, loc = (
            row["source_id"],
            row["station_network_code"],
            row["station_code"],
            row["station_location_code"],
        )
        skey = f"{net}.{sta}.{loc}"
        src = self.event_source(row)
        st = self.station_terms(skey)
        rng = stream(self.seed, "record", sid, skey)
        geo = self._record_geometry(row, src)
        rp, rsv, rsh = self._radiation(src, geo, rng)
        dir_p, dir_s, frac_s = self._place_arrivals(row, skey, src, st, geo, (rp, rsv, rsh), spikes)
        finger[:] = sources.fingerprint_series(src, self.nfft, self.fs)
        draws = self._record_draws(row, rng, geo.dist_km)
        s_over_p = float(np.linalg.norm(dir_s) / max(np.linalg.norm(dir_p), 1e-6))
        truth = self._truth(row, src, st, geo, draws, s_over_p)
        return {
            "truth": truth,
            "artefacts": draws["artefacts"],
            "src": src,
            "st": st,
            "travel_p": geo.travel_p_s,
            "mid_lon": 0.5 * (row["source_longitude_deg"] + row["station_longitude_deg"]),
            "level": draws["level"],
            "micro_db": draws["micro_db"],
            "micro_hz": draws["micro_hz"],
            "snr": draws["snr"],
            "s_over_p": s_over_p,
            "noise_seed": draws["noise_seed"],
            "frac_s": frac_s,
            "t_on_p": geo.t_on_p_s,
            "key": (net, sta, loc),
            "channels": site.channel_codes(st),
            "start_ns": int(row["record_start_ns"]),
        }

    def _record_geometry(self, row: dict, src: sources.EventSource) -> _RecordGeometry:
        """Onset times (s from the record start), travel time (s), azimuth (deg) and ray angles of one record."""
        dist_deg, dist_km = float(row["path_ep_distance_deg"]), float(row["path_ep_distance_km"])
        tt = {k: float(v) for k, v in self.tt.lookup(dist_deg, src.depth_km).items()}
        p_ns = pd.Timestamp(row["trace_p_arrival_time"]).value
        t_on_p = (p_ns - row["record_start_ns"]) / NS
        travel_p = max((p_ns - pd.Timestamp(row["source_origin_time"]).value) / NS, 0.5)
        t_on_s = t_on_p + max(tt["ts_s"] - tt["tp_s"], 0.0)
        az = _azimuth_deg(
            row["source_latitude_deg"],
            row["source_longitude_deg"],
            row["station_latitude_deg"],
            row["station_longitude_deg"],
        )
        prop = np.radians((float(row["path_back_azimuth_deg"]) + 180.0) % 360.0)
        inc_p = np.radians(tt["incidence_p_deg"])
        return _RecordGeometry(
            dist_deg=dist_deg,
            dist_km=dist_km,
            tt=tt,
            p_ns=p_ns,
            t_on_p_s=t_on_p,
            travel_p_s=travel_p,
            t_on_s_s=t_on_s,
            azimuth_deg=az,
            radial=np.array([0.0, np.cos(prop), np.sin(prop)]),
            transverse=np.array([0.0, -np.sin(prop), np.cos(prop)]),
            inc_p_rad=inc_p,
            inc_s_rad=np.arcsin(np.clip(np.sin(inc_p) / VP_OVER_VS, -1, 1)),
        )

    def _radiation(self, src: sources.EventSource, geo: _RecordGeometry, rng: np.random.Generator) -> tuple:
        """P, SV, SH radiation coefficients (dimensionless); one uniform draw from ``rng`` for either class."""
        if src.is_explosion:
            psi = rng.uniform(0, 2 * np.pi)
            return sources.RP_AVG, sources.RS_AVG * np.cos(psi), sources.RS_AVG * np.sin(psi)
        rng.uniform(0, 2 * np.pi)  # keep the stream aligned across classes
        tt, az = geo.tt, geo.azimuth_deg
        rp0, rsv0, rsh0 = sources.radiation(src.strike_deg, src.dip_deg, src.rake_deg, az, tt["takeoff_p_deg"])
        _, rsv0, rsh0 = sources.radiation(src.strike_deg, src.dip_deg, src.rake_deg, az, tt["takeoff_s_deg"])
        w = self.blend_weight
        return (
            sources.blend(rp0, sources.RP_AVG, w),
            sources.blend(rsv0, sources.RS_AVG / np.sqrt(2), w),
            sources.blend(rsh0, sources.RS_AVG / np.sqrt(2), w),
        )

    def _place_arrivals(
        self,
        row: dict,
        skey: str,
        src: sources.EventSource,
        st: site.StationTerms,
        geo: _RecordGeometry,
        radiation: tuple,
        spikes: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Put direct P, S, Rg and the scattered arrivals into ``spikes``; return (P, S direction, fraction s)."""
        p = self.p
        rp, rsv, rsh = radiation
        t_on_p, t_on_s, travel_p = geo.t_on_p_s, geo.t_on_s_s, geo.travel_p_s
        up = np.array([1.0, 0.0, 0.0])
        xy = scattering.event_xy_km(row["source_latitude_deg"], row["source_longitude_deg"])
        d_p, a_p, _ = scattering.coda_spikes(self.scatterers, skey, xy, "P", travel_p, p)
        d_s, a_s, s_path = scattering.coda_spikes(self.scatterers, skey, xy, "S", travel_p + (t_on_s - t_on_p), p)
        s_scale = 10 ** (src.s_to_p_log10 + s_path)
        dir_p = float(rp / sources.RP_AVG) * (np.cos(geo.inc_p_rad) * up + np.sin(geo.inc_p_rad) * geo.radial)
        e_sv = -np.sin(geo.inc_s_rad) * up + np.cos(geo.inc_s_rad) * geo.radial
        dir_s = s_scale * (rsv * e_sv + rsh * geo.transverse) / sources.RS_AVG
        rg_amp = p.rg_amplitude * np.exp(-src.depth_km / 1.0) * np.exp(-geo.dist_km / 150.0)
        t_on_rg = t_on_p + (geo.dist_km / RG_VELOCITY_KM_S - travel_p)
        dir_rg = rg_amp * (0.7 * up + 0.7 * geo.radial)
        # rotate ZNE -> channel frame (Z, H1, H2) with the sensor's true orientation
        a1 = np.radians(st.h1_azimuth_deg)
        rot = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(a1), np.sin(a1)], [0.0, -np.sin(a1), np.cos(a1)]])
        times_p = np.concatenate([[t_on_p], t_on_p + d_p])
        amps_p = np.vstack([dir_p[None], a_p]) @ rot.T
        times_s = np.concatenate([[t_on_s, t_on_rg], t_on_s + d_s])
        amps_s = np.vstack([dir_s[None], dir_rg[None], s_scale * a_s]) @ rot.T
        # place on the grid relative to an integer-sample P onset; the fractional part is
        # applied later as an exact phase shift, so records of nearby events share the
        # same interpolation of their (persistent) scattered arrivals
        frac_s = t_on_p - np.floor(t_on_p * self.fs) / self.fs
        self._place(spikes[0], times_p - frac_s, amps_p)
        self._place(spikes[1], times_s - frac_s, amps_s)
        return dir_p, dir_s, frac_s

    def _record_draws(self, row: dict, rng: np.random.Generator, dist_km: float) -> dict:
        """Per-record noise level, microseism (dB, Hz), SNR target, artefacts and noise seed (class-blind)."""
        p = self.p
        level = rng.uniform(p.noise_level_min, p.noise_level_max)
        micro_db = rng.uniform(0.0, p.microseism_boost_db_max)
        micro_hz = rng.uniform(0.12, 0.3)
        mag = row["source_magnitude"]
        mag = p.default_magnitude if mag is None or not np.isfinite(mag) else float(mag)
        q = (mag - 3.5) - 1.5 * (np.log10(max(dist_km, 10.0)) - np.log10(500.0))
        snr = p.snr_median * 10 ** (p.snr_sigma_log10 * rng.standard_normal() + p.snr_magnitude_distance_weight * q)
        draw = artifacts.draw_artefacts(rng, self.n, self.fs, p)
        noise_seed = int(rng.integers(0, 2**63 - 1))
        return {
            "level": level,
            "micro_db": micro_db,
            "micro_hz": micro_hz,
            "magnitude": mag,
            "snr": snr,
            "artefacts": draw,
            "noise_seed": noise_seed,
        }

    @staticmethod
    def _truth(
        row: dict, src: sources.EventSource, st: site.StationTerms, geo: _RecordGeometry, draws: dict, s_over_p: float
    ) -> dict:
        """The record's row of ``truth.parquet`` (times in ns, angles in deg, distances in deg/km)."""
        draw = draws["artefacts"]
        p_ns = geo.p_ns
        return {
            "source_id": row["source_id"],
            "source_latitude_deg": float(row["source_latitude_deg"]),
            "source_longitude_deg": float(row["source_longitude_deg"]),
            "source_depth_km": float(row["source_depth_km"]),
            "network": row["station_network_code"],
            "station": row["station_code"],
            "location": row["station_location_code"],
            "channels": ",".join(site.channel_codes(st)),
            "source_type": row["source_type"],
            "record_start_ns": int(row["record_start_ns"]),
            "onset_time_ns": int(p_ns),
            "pick_time_ns": int(p_ns + int(round(draw.pick_error_s * NS))),
            "pick_error_s": draw.pick_error_s,
            "s_onset_time_ns": int(p_ns + round((geo.t_on_s_s - geo.t_on_p_s) * NS)),
            "trace_phase": row["trace_phase"],
            "path_ep_distance_deg": geo.dist_deg,
            "path_ep_distance_km": geo.dist_km,
            "azimuth_deg": geo.azimuth_deg,
            "noise_level": draws["level"],
            "microseism_db": draws["micro_db"],
            "snr_target": draws["snr"],
            "s_to_p_log10": float(np.log10(max(s_over_p, 1e-6))),
            "source_s_to_p_log10": src.s_to_p_log10,
            "class_s_to_p_log10": src.class_s_to_p_log10,
            "magnitude_used": draws["magnitude"],
            "true_depth_km": src.depth_km,
            "fc_p_hz": src.fc_p_hz,
            "h1_azimuth_deg": st.h1_azimuth_deg,
            "misorientation_deg": st.misorientation_deg,
            "bh12": st.bh12,
            "kappa_s": st.kappa_s,
        }

    def _place(self, out: np.ndarray, times_s: np.ndarray, amps: np.ndarray) -> None:
        """Add spikes at fractional times (s) to ``out`` (3, nfft) by linear interpolation; drop late ones."""
        pos = times_s * self.fs
        ok = (pos >= 0) & (pos < self.n - 1)
        pos, amps = pos[ok], amps[ok]
        i0 = np.floor(pos).astype(np.int64)
        frac = pos - i0
        for c in range(3):
            out[c] += np.bincount(i0, amps[:, c] * (1 - frac), minlength=self.nfft)[: self.nfft]
            out[c] += np.bincount(i0 + 1, amps[:, c] * frac, minlength=self.nfft)[: self.nfft]

    def _record_spectrum(self, m: dict, spec: np.ndarray, fspec: np.ndarray) -> np.ndarray:
        """Counts spectrum (3, nf) of one record: (source x path x attenuation x site) scaled to its SNR + noise."""
        src, st, f = m["src"], m["st"], self.freqs
        common = (
            fspec
            * scattering.attenuation(f, m["travel_p"], m["mid_lon"], st.kappa_s, self.p)
            * site.site_response(st, f)
        )
        sp = sources.source_spectrum(src, f, "P") * common
        ss = sources.source_spectrum(src, f, "S") * common * sources.class_s_to_p_factor(src, f, self.p)
        shift = np.exp(-2j * np.pi * f * m["frac_s"])
        sp, ss = sp * shift, ss * shift
        ground = sp[None] * spec[0] + ss[None] * spec[1]
        psd = noise.velocity_psd(f, self.fs, m["level"], m["micro_db"], m["micro_hz"])
        sigma = noise.band_rms(psd, f)
        # signal level: rms of the P wavetrain's 1-8 Hz vertical in the first 10 s after the
        # onset (class-blind: the classes differ in S/P only at high frequency)
        z_p = scipy.fft.irfft(np.where(self.band, sp * spec[0, 0], 0.0), n=self.nfft)
        i0 = int(np.floor(m["t_on_p"] * self.fs))
        rms = float(np.sqrt(np.mean(z_p[i0 : i0 + int(10 * self.fs)] ** 2)))
        scale = m["snr"] * sigma / max(rms, 1e-30)
        rng = np.random.default_rng(m.pop("noise_seed"))
        total = ground * scale + noise.noise_spectrum(rng, psd, self.nfft, self.fs)
        m["truth"]["noise_rms_1_8hz_m_s"] = sigma
        return total * self.instrument[None]


def synthesize(arrivals: pd.DataFrame, out_dir: Path, params: dict | SyntheticParams, seed: int) -> dict:
    """Generate the synthetic study for every row of ``arrivals`` into ``out_dir``.

    Writes ``sds/`` (miniSEED day files, STEIM2 int32 counts), ``stations.xml``,
    ``events.xml``, ``truth.parquet`` and ``params.json`` (seed, resolved
    parameters and provenance: package versions and git commit, no timestamp);
    returns a summary dict. Day files of an earlier run in ``out_dir/sds`` are
    overwritten, and those this run does not write are removed (logged), so a
    rerun gives the same bytes as a first run. Raises :class:`InputError` for an
    empty or invalid arrivals table (see :func:`prepare_arrivals`).
    """
    p = params if isinstance(params, SyntheticParams) else SyntheticParams.from_dict(params)
    out_dir = Path(out_dir)
    table = prepare_arrivals(arrivals, p)
    if table.empty:
        raise InputError(
            "the arrivals table has no rows: nothing to synthesize (check the subset settings "
            "synthetic.max_events / synthetic.min_records_per_event and the arrivals file)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    synth = Synthesizer(p, seed)
    writer = SDSWriter(out_dir / "sds", p.sampling_rate_hz)
    t0 = time.perf_counter()
    truth = _synthesize_records(table, synth, writer, p.batch_size)
    seconds = time.perf_counter() - t0
    truth["onset_time"] = pd.to_datetime(truth["onset_time_ns"], utc=True, unit="ns")
    truth["pick_time"] = pd.to_datetime(truth["pick_time_ns"], utc=True, unit="ns")
    write_parquet_atomic(truth, out_dir / "truth.parquet")
    stations = _station_table(table, synth)
    write_stationxml(stations, out_dir / "stations.xml", p)
    events = table.drop_duplicates("source_id")[[c for c in ARRIVAL_COLUMNS if c.startswith("source_")]].copy()
    events["source_magnitude"] = events["source_magnitude"].fillna(p.default_magnitude)
    write_quakeml(events, truth, out_dir / "events.xml")
    _write_params(out_dir / "params.json", p, seed)
    summary = {
        "records": int(len(truth)),
        "events": int(truth["source_id"].nunique()),
        "stations": int(len(stations)),
        "explosion_records": int((truth["source_type"] == "explosion").sum()),
        "seconds": round(seconds, 2),
        "records_per_s": round(len(truth) / max(seconds, 1e-9), 1),
        "sds_files": len(writer.files),
        "artefacts": {k: int(truth[k].sum()) for k in truth.columns if k.startswith("artefact_")},
        "bh12_stations": int(sum(t.bh12 for t in synth.stations.values())),
    }
    log.info("synthetic study written to %s: %s", out_dir, summary)
    return summary


def _synthesize_records(table: pd.DataFrame, synth: Synthesizer, writer: SDSWriter, batch_size: int) -> pd.DataFrame:
    """Synthesize every row of ``table`` in batches into ``writer``; return the truth table.

    Stale day files of an earlier run are removed after the last record (logged).
    The truth table is sorted by event and station (independent of the batching).
    """
    truth_parts: list[pd.DataFrame] = []
    t0 = last_log = time.perf_counter()
    for start in range(0, len(table), batch_size):
        batch_truth = []
        for rec in synth.batch(table.iloc[start : start + batch_size]):
            net, sta, loc = rec["key"]
            writer.add(net, sta, loc, rec["channels"], rec["start_ns"], rec["data"], rec["valid"])
            batch_truth.append(rec["truth"])
        truth_parts.append(pd.DataFrame(batch_truth))
        now = time.perf_counter()
        if now - last_log > 10.0 or start + batch_size >= len(table):
            done = min(start + batch_size, len(table))
            log.info("synthesized %d/%d records (%.1f records/s)", done, len(table), done / (now - t0))
            last_log = now
    writer.flush()
    stale = writer.remove_stale()
    if stale:
        log.warning("removed %d miniSEED day file(s) of an earlier run from %s", stale, writer.root)
    return (
        pd.concat(truth_parts, ignore_index=True)
        .sort_values(["source_id", "network", "station", "location"])
        .reset_index(drop=True)
    )


def _write_params(path: Path, params: SyntheticParams, seed: int) -> None:
    """``params.json``: the seed, every resolved parameter and their provenance.

    The provenance (config hash, package versions, git commit) has no timestamp,
    so the same inputs give the same bytes.
    """
    from seisembed.provenance import provenance

    record = {"seed": int(seed), "params": params.as_dict()}
    record["provenance"] = {
        k: v for k, v in provenance({"synthetic": record["params"], "seed": record["seed"]}).items() if k != "config"
    }  # the config is the record itself
    write_json_atomic(record, path)


def _station_table(table: pd.DataFrame, synth: Synthesizer) -> pd.DataFrame:
    """One row per station with coordinates, channel codes and horizontal azimuth."""
    st = table.drop_duplicates(["station_network_code", "station_code", "station_location_code"])
    rows = []
    for r in st.itertuples(index=False):
        key = f"{r.station_network_code}.{r.station_code}.{r.station_location_code}"
        terms = synth.station_terms(key)
        rows.append(
            {
                "network": r.station_network_code,
                "station": r.station_code,
                "location": r.station_location_code,
                "latitude": float(r.station_latitude_deg),
                "longitude": float(r.station_longitude_deg),
                "elevation_m": float(r.station_elevation_m),
                "channels": site.channel_codes(terms),
                "h1_azimuth_deg": terms.h1_azimuth_deg,
                "start_date": "2000-01-01T00:00:00",
            }
        )
    return pd.DataFrame(rows)
