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

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.fft

from seisembed.synthetic import artifacts, noise, paths, site, sources
from seisembed.synthetic.params import SyntheticParams
from seisembed.synthetic.rng import stream
from seisembed.synthetic.traveltimes import TravelTimeTable
from seisembed.synthetic.writers import NS, SDSWriter, write_quakeml, write_stationxml

logger = logging.getLogger(__name__)

REQUIRED = (
    "source_id", "source_origin_time", "source_latitude_deg", "source_longitude_deg", "source_depth_km",
    "source_magnitude", "source_magnitude_type", "source_type", "source_type_raw", "station_network_code",
    "station_code", "station_location_code", "station_latitude_deg", "station_longitude_deg",
    "station_elevation_m", "trace_phase", "trace_p_arrival_time", "path_ep_distance_deg",
    "path_ep_distance_km", "path_back_azimuth_deg",
)
VP_OVER_VS = 1.73
RG_VELOCITY_KM_S = 3.0
ANALYSIS_CENTRE_HZ = 4.0


def prepare_arrivals(arrivals: pd.DataFrame, params: SyntheticParams) -> pd.DataFrame:
    """Validate the arrivals table and sort it by station and record start (a copy)."""
    missing = [c for c in REQUIRED if c not in arrivals.columns]
    if missing:
        raise ValueError(f"arrivals table lacks column(s) {missing}; expected the catalog contract columns")
    df = arrivals.loc[:, list(REQUIRED)].copy()
    for col in ("source_origin_time", "trace_p_arrival_time"):
        df[col] = pd.to_datetime(df[col], utc=True).dt.as_unit("ns")
    for col in ("source_id", "station_network_code", "station_code", "station_location_code",
                "source_magnitude_type", "source_type_raw", "trace_phase"):
        df[col] = df[col].fillna("").astype(str)
    bad = ~df["source_type"].isin(["earthquake", "explosion"])
    if bad.any():
        row = df[bad].iloc[0]
        raise ValueError(f"event {row.source_id}: source_type {row.source_type!r} is not earthquake|explosion")
    for col in ("station_latitude_deg", "station_longitude_deg", "source_latitude_deg", "source_longitude_deg",
                "path_ep_distance_deg", "path_ep_distance_km"):
        if df[col].isna().any():
            row = df[df[col].isna()].iloc[0]
            raise ValueError(f"event {row.source_id} station {row.station_code}: column {col} is missing")
    df["station_elevation_m"] = df["station_elevation_m"].fillna(0.0)
    n_default = int(df["source_magnitude"].isna().sum())
    if n_default:
        logger.info("%d records without magnitude use default_magnitude=%.1f", n_default, params.default_magnitude)
    p_ns = df["trace_p_arrival_time"].astype("int64").to_numpy()
    dt_ns = int(round(NS / params.sampling_rate_hz))
    df["record_start_ns"] = (p_ns - int(round(params.record_before_s * NS))) // dt_ns * dt_ns
    if df.duplicated(["source_id", "station_network_code", "station_code", "station_location_code"]).any():
        raise ValueError("arrivals table has more than one row per (source_id, network, station, location)")
    return df.sort_values(["station_network_code", "station_code", "station_location_code", "record_start_ns",
                           "source_id"], kind="mergesort").reset_index(drop=True)


def _azimuth_deg(lat1, lon1, lat2, lon2) -> float:
    """Azimuth (deg from north) from point 1 to point 2 on a sphere."""
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon2 - lon1)
    return float(np.degrees(np.arctan2(np.sin(dl) * np.cos(p2),
                                       np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl))) % 360.0)


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
        self.scatterers = paths.ScattererCache(params, seed)
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
        """Place the direct and scattered arrivals of one record; draw its per-record randomness."""
        p = self.p
        sid, net, sta, loc = row["source_id"], row["station_network_code"], row["station_code"], row["station_location_code"]
        skey = f"{net}.{sta}.{loc}"
        src = self.event_source(row)
        st = self.station_terms(skey)
        rng = stream(self.seed, "record", sid, skey)
        dist_deg, dist_km = float(row["path_ep_distance_deg"]), float(row["path_ep_distance_km"])
        tt = {k: float(v) for k, v in self.tt.lookup(dist_deg, src.depth_km).items()}
        p_ns = pd.Timestamp(row["trace_p_arrival_time"]).value
        t_on_p = (p_ns - row["record_start_ns"]) / NS
        travel_p = max((p_ns - pd.Timestamp(row["source_origin_time"]).value) / NS, 0.5)
        t_on_s = t_on_p + max(tt["ts_s"] - tt["tp_s"], 0.0)
        az = _azimuth_deg(row["source_latitude_deg"], row["source_longitude_deg"],
                          row["station_latitude_deg"], row["station_longitude_deg"])
        prop = np.radians((float(row["path_back_azimuth_deg"]) + 180.0) % 360.0)
        radial = np.array([0.0, np.cos(prop), np.sin(prop)])
        transverse = np.array([0.0, -np.sin(prop), np.cos(prop)])
        up = np.array([1.0, 0.0, 0.0])
        inc_p = np.radians(tt["incidence_p_deg"])
        inc_s = np.arcsin(np.clip(np.sin(inc_p) / VP_OVER_VS, -1, 1))
        if src.is_explosion:
            rp = sources.RP_AVG
            psi = rng.uniform(0, 2 * np.pi)
            rsv, rsh = sources.RS_AVG * np.cos(psi), sources.RS_AVG * np.sin(psi)
        else:
            rng.uniform(0, 2 * np.pi)  # keep the stream aligned across classes
            rp0, rsv0, rsh0 = sources.radiation(src.strike_deg, src.dip_deg, src.rake_deg, az, tt["takeoff_p_deg"])
            _, rsv0, rsh0 = sources.radiation(src.strike_deg, src.dip_deg, src.rake_deg, az, tt["takeoff_s_deg"])
            w = self.blend_weight
            rp = sources.blend(rp0, sources.RP_AVG, w)
            rsv = sources.blend(rsv0, sources.RS_AVG / np.sqrt(2), w)
            rsh = sources.blend(rsh0, sources.RS_AVG / np.sqrt(2), w)
        xy = paths.event_xy_km(row["source_latitude_deg"], row["source_longitude_deg"])
        d_p, a_p, _ = paths.coda_spikes(self.scatterers, skey, xy, "P", travel_p, p)
        d_s, a_s, s_path = paths.coda_spikes(self.scatterers, skey, xy, "S", travel_p + (t_on_s - t_on_p), p)
        s_scale = 10 ** (src.s_to_p_log10 + s_path)
        dir_p = float(rp / sources.RP_AVG) * (np.cos(inc_p) * up + np.sin(inc_p) * radial)
        e_sv = -np.sin(inc_s) * up + np.cos(inc_s) * radial
        dir_s = s_scale * (rsv * e_sv + rsh * transverse) / sources.RS_AVG
        rg_amp = p.rg_amplitude * np.exp(-src.depth_km / 1.0) * np.exp(-dist_km / 150.0)
        t_on_rg = t_on_p + (dist_km / RG_VELOCITY_KM_S - travel_p)
        dir_rg = rg_amp * (0.7 * up + 0.7 * radial)
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
        finger[:] = sources.fingerprint_series(src, self.nfft, self.fs)
        # per-record noise and amplitude draws (class-blind)
        level = rng.uniform(p.noise_level_min, p.noise_level_max)
        micro_db = rng.uniform(0.0, p.microseism_boost_db_max)
        micro_hz = rng.uniform(0.12, 0.3)
        mag = row["source_magnitude"]
        mag = p.default_magnitude if mag is None or not np.isfinite(mag) else float(mag)
        q = (mag - 3.5) - 1.5 * (np.log10(max(dist_km, 10.0)) - np.log10(500.0))
        snr = p.snr_median * 10 ** (p.snr_sigma_log10 * rng.standard_normal() + p.snr_magnitude_distance_weight * q)
        draw = artifacts.draw_artefacts(rng, self.n, self.fs, p)
        noise_seed = int(rng.integers(0, 2**63 - 1))
        pick_ns = p_ns + int(round(draw.pick_error_s * NS))
        s_over_p = float(np.linalg.norm(dir_s) / max(np.linalg.norm(dir_p), 1e-6))
        truth = {
            "source_id": sid, "source_latitude_deg": float(row["source_latitude_deg"]),
            "source_longitude_deg": float(row["source_longitude_deg"]), "source_depth_km": float(row["source_depth_km"]),
            "network": net, "station": sta, "location": loc,
            "channels": ",".join(site.channel_codes(st)), "source_type": row["source_type"],
            "record_start_ns": int(row["record_start_ns"]), "onset_time_ns": int(p_ns),
            "pick_time_ns": int(pick_ns), "pick_error_s": draw.pick_error_s,
            "s_onset_time_ns": int(p_ns + round((t_on_s - t_on_p) * NS)),
            "trace_phase": row["trace_phase"], "path_ep_distance_deg": dist_deg, "path_ep_distance_km": dist_km,
            "azimuth_deg": az, "noise_level": level, "microseism_db": micro_db, "snr_target": snr,
            "s_to_p_log10": float(np.log10(max(s_over_p, 1e-6))), "source_s_to_p_log10": src.s_to_p_log10,
            "class_s_to_p_log10": src.class_s_to_p_log10,
            "magnitude_used": mag, "true_depth_km": src.depth_km, "fc_p_hz": src.fc_p_hz,
            "h1_azimuth_deg": st.h1_azimuth_deg, "misorientation_deg": st.misorientation_deg,
            "bh12": st.bh12, "kappa_s": st.kappa_s,
        }
        return {"truth": truth, "artefacts": draw, "src": src, "st": st, "travel_p": travel_p,
                "mid_lon": 0.5 * (row["source_longitude_deg"] + row["station_longitude_deg"]),
                "level": level, "micro_db": micro_db, "micro_hz": micro_hz, "snr": snr,
                "s_over_p": s_over_p, "noise_seed": noise_seed, "frac_s": frac_s, "t_on_p": t_on_p, "key": (net, sta, loc), "channels": site.channel_codes(st),
                "start_ns": int(row["record_start_ns"])}

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
        common = fspec * paths.attenuation(f, m["travel_p"], m["mid_lon"], st.kappa_s, self.p) * site.site_response(st, f)
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
    ``events.xml``, ``truth.parquet`` and ``params.json`` (seed and resolved
    parameters); returns a summary dict.
    """
    p = params if isinstance(params, SyntheticParams) else SyntheticParams.from_dict(params)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = prepare_arrivals(arrivals, p)
    synth = Synthesizer(p, seed)
    writer = SDSWriter(out_dir / "sds", p.sampling_rate_hz)
    truth_parts: list[pd.DataFrame] = []
    t0 = time.perf_counter()
    last_log = t0
    for start in range(0, len(table), p.batch_size):
        rows = table.iloc[start : start + p.batch_size]
        batch_truth = []
        for rec in synth.batch(rows):
            net, sta, loc = rec["key"]
            writer.add(net, sta, loc, rec["channels"], rec["start_ns"], rec["data"], rec["valid"])
            batch_truth.append(rec["truth"])
        truth_parts.append(pd.DataFrame(batch_truth))
        now = time.perf_counter()
        if now - last_log > 10.0 or start + p.batch_size >= len(table):
            done = min(start + p.batch_size, len(table))
            logger.info("synthesized %d/%d records (%.1f records/s)", done, len(table), done / (now - t0))
            last_log = now
    writer.flush()
    seconds = time.perf_counter() - t0
    truth = pd.concat(truth_parts, ignore_index=True).sort_values(["source_id", "network", "station", "location"]).reset_index(drop=True)
    truth["onset_time"] = pd.to_datetime(truth["onset_time_ns"], utc=True, unit="ns")
    truth["pick_time"] = pd.to_datetime(truth["pick_time_ns"], utc=True, unit="ns")
    truth.to_parquet(out_dir / "truth.parquet", index=False)
    stations = _station_table(table, synth)
    write_stationxml(stations, out_dir / "stations.xml", p)
    events = table.drop_duplicates("source_id")[[c for c in REQUIRED if c.startswith("source_")]].copy()
    events["source_magnitude"] = events["source_magnitude"].fillna(p.default_magnitude)
    write_quakeml(events, truth, out_dir / "events.xml")
    (out_dir / "params.json").write_text(json.dumps({"seed": int(seed), "params": p.as_dict()}, indent=2, sort_keys=True) + "\n")
    summary = {
        "records": int(len(truth)), "events": int(truth["source_id"].nunique()),
        "stations": int(len(stations)), "explosion_records": int((truth["source_type"] == "explosion").sum()),
        "seconds": round(seconds, 2), "records_per_s": round(len(truth) / max(seconds, 1e-9), 1),
        "sds_files": len(writer.files),
        "artefacts": {k: int(truth[k].sum()) for k in truth.columns if k.startswith("artefact_")},
        "bh12_stations": int(sum(t.bh12 for t in synth.stations.values())),
    }
    logger.info("synthetic study written to %s: %s", out_dir, summary)
    return summary


def _station_table(table: pd.DataFrame, synth: Synthesizer) -> pd.DataFrame:
    """One row per station with coordinates, channel codes and horizontal azimuth."""
    st = table.drop_duplicates(["station_network_code", "station_code", "station_location_code"])
    rows = []
    for r in st.itertuples(index=False):
        key = f"{r.station_network_code}.{r.station_code}.{r.station_location_code}"
        terms = synth.station_terms(key)
        rows.append({"network": r.station_network_code, "station": r.station_code,
                     "location": r.station_location_code, "latitude": float(r.station_latitude_deg),
                     "longitude": float(r.station_longitude_deg), "elevation_m": float(r.station_elevation_m),
                     "channels": site.channel_codes(terms), "h1_azimuth_deg": terms.h1_azimuth_deg,
                     "start_date": "2000-01-01T00:00:00"})
    return pd.DataFrame(rows)
