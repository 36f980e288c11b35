"""Calibration of a generated study: is the benchmark neither trivial nor impossible?

Reads the archive back through ObsPy's SDS client (vertical channel BHZ, no
response removal — every station has the same flat-in-band instrument) and the
truth table (pick times = the QuakeML picks, classes, distances). On 1-8 Hz
band-passed (4-pole Butterworth, causal) vertical components in the window
[pick - 30 s, pick + 150 s] it measures the median peak of the normalised
cross-correlation (max |cc| over lags within +-2 s) for

(a) one event at two stations,
(b) nearby events (epicentres < 3 km apart) at one station,
(c) unrelated events: different events > 100 km apart at one station
    (``c_unrelated_same_station``) and random pairs of different events at
    different stations (``c_unrelated_random``),

and single-feature AUCs for the class label (explosion positive; the reported
value is max(AUC, 1 - AUC)):

(d) log10 P/S: rms of the 6-8 Hz band-passed vertical in [pick - 0.5 s,
    pick + min(5 s, S-P - 1 s)] over [S - 1 s, S + 9 s], S from iasp91 S - P at
    the catalogue distance and depth; records with 6 s <= S - P <= 140 s;
(e) SNR (1-8 Hz rms [pick, pick + 10 s] / rms [pick - 30 s, pick - 5 s]), peak
    amplitude (max |x| of the 1-8 Hz window, counts), noise level (1-8 Hz rms
    [pick - 30 s, pick - 5 s], counts).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import butter, sosfilt

from seisembed.atomic import write_json_atomic
from seisembed.catalog.geometry import KM_PER_DEG, epicentral_distance_deg
from seisembed.errors import InputError
from seisembed.metrics import auc
from seisembed.synthetic.rng import stream
from seisembed.traveltimes import TravelTimeTable

log = logging.getLogger(__name__)

BOUNDS = {
    "a_one_event_two_stations": ("max", 0.25),
    "b_nearby_events_one_station": ("min", 0.5),
    "c_unrelated_same_station": ("max", 0.25),
    "c_unrelated_random": ("max", 0.25),
    "d_auc_log10_p_over_s_6_8hz": ("range", (0.75, 0.92)),
    "e_auc_snr": ("max", 0.6),
    "e_auc_peak_amplitude": ("max", 0.6),
    "e_auc_noise_level": ("max", 0.6),
}
BEFORE_S, AFTER_S, LAG_S, NEARBY_KM, FAR_KM = 30.0, 150.0, 2.0, 3.0, 100.0
#: per-record features: record index, SNR, peak (counts), noise rms (counts), log10 P/S
FEATURE_COLUMNS = ["i", "snr", "peak", "noise", "log_p_s"]


class _Reader:
    """Reads and filters vertical windows from the SDS archive, cached per record."""

    def __init__(self, out_dir: Path, truth: pd.DataFrame):
        from obspy.clients.filesystem.sds import Client

        self.client = Client(str(out_dir / "sds"))
        self.truth = truth
        self.cache: dict[int, dict | None] = {}

    def get(self, i: int, keep: bool = True) -> dict | None:
        """Filtered windows of record ``i`` (1-8 Hz and 6-8 Hz), or None if unreadable/incomplete.

        With ``keep`` the 1-8 Hz window is cached (float32) for further pairs.
        """
        if i in self.cache:
            return self.cache[i]
        w = self._read(i)
        if keep:
            self.cache[i] = None if w is None else {"fs": w["fs"], "bb": w["bb"].astype(np.float32)}
        return w

    def _read(self, i: int) -> dict | None:
        from obspy import UTCDateTime

        r = self.truth.iloc[i]
        pick = UTCDateTime(ns=int(r.pick_time_ns))
        st = self.client.get_waveforms(
            r.network, r.station, r.location, "BHZ", pick - BEFORE_S - 40, pick + AFTER_S + 40
        )
        if len(st) == 0:
            return None
        st.merge(fill_value=0)
        tr = st[0]
        fs = tr.stats.sampling_rate
        x = tr.data.astype(float)
        x -= x.mean()
        i0 = int(round((pick - BEFORE_S - tr.stats.starttime) * fs))
        n = int(round((BEFORE_S + AFTER_S) * fs))
        if i0 < 0 or i0 + n > x.size:
            return None
        out = {"fs": fs}
        for name, lo, hi in (("bb", 1.0, 8.0), ("hf", 6.0, 8.0)):
            sos = butter(4, [lo, hi], btype="band", fs=fs, output="sos")
            out[name] = sosfilt(sos, x)[i0 : i0 + n]
        return out


def _peak_cc(a: np.ndarray, b: np.ndarray, max_lag: int) -> float:
    """Max |normalised cross-correlation| of equal-length ``a`` and ``b`` over lags within +-max_lag samples."""
    n = a.size
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    cc = np.fft.irfft(np.fft.rfft(a, nfft) * np.conj(np.fft.rfft(b, nfft)), nfft)
    cc = np.concatenate([cc[-max_lag:], cc[: max_lag + 1]])
    norm = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.max(np.abs(cc)) / norm) if norm > 0 else np.nan


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    """ROC AUC of the finite ``score`` for boolean ``label`` (:func:`seisembed.metrics.auc`)."""
    ok = np.isfinite(score)
    return auc(score[ok], label[ok])


def _pairs(truth: pd.DataFrame, n_pairs: int, rng: np.random.Generator) -> dict[str, list[tuple[int, int]]]:
    """Record index pairs for the four correlation categories (seeded samples)."""
    out: dict[str, list] = {k: [] for k in ("a", "b", "c_same", "c_random")}
    by_event = {k: v.to_numpy() for k, v in truth.groupby("source_id").groups.items()}
    multi = sorted(k for k, v in by_event.items() if len(v) >= 2)
    for _ in range(n_pairs if multi else 0):
        recs = by_event[multi[rng.integers(len(multi))]]
        i, j = rng.choice(recs, 2, replace=False)
        out["a"].append((int(i), int(j)))
    near, far = [], []
    for _, grp in truth.groupby(["network", "station", "location"], sort=True):
        idx = grp.index.to_numpy()
        if idx.size < 2:
            continue
        lat, lon = grp.source_latitude_deg.to_numpy(), grp.source_longitude_deg.to_numpy()
        d = epicentral_distance_deg(lat[:, None], lon[:, None], lat[None], lon[None]) * KM_PER_DEG  # km
        iu, ju = np.triu_indices(idx.size, 1)
        dd = d[iu, ju]
        near += [(int(idx[a]), int(idx[b])) for a, b in zip(iu[dd < NEARBY_KM], ju[dd < NEARBY_KM])]
        far += [(int(idx[a]), int(idx[b])) for a, b in zip(iu[dd > FAR_KM], ju[dd > FAR_KM])]
    for name, cand in (("b", near), ("c_same", far)):
        if cand:
            take = rng.choice(len(cand), min(n_pairs, len(cand)), replace=False)
            out[name] = [cand[k] for k in sorted(take)]
    n = len(truth)
    for _ in range(50 * n_pairs if n > 1 else 0):
        if len(out["c_random"]) >= n_pairs:
            break
        i, j = rng.integers(n, size=2)
        ti, tj = truth.iloc[i], truth.iloc[j]
        if ti.source_id != tj.source_id and ti.station != tj.station:
            out["c_random"].append((int(i), int(j)))
    return out


def _features(reader: _Reader, truth: pd.DataFrame, idx: np.ndarray, tt: TravelTimeTable) -> pd.DataFrame:
    """Per-record single features: log10 P/S (6-8 Hz), SNR, peak amplitude, noise level."""
    look = tt.lookup(truth.path_ep_distance_deg.to_numpy()[idx], truth.source_depth_km.fillna(10).to_numpy()[idx])
    s_minus_p = look["ts_s"] - look["tp_s"]
    rows = []
    for k, i in enumerate(idx):
        w = reader.get(int(i), keep=False)
        if w is None or "hf" not in w:
            w = reader._read(int(i))
        if w is None:
            continue
        fs = w["fs"]
        pick = int(BEFORE_S * fs)
        bb, hf = w["bb"], w["hf"]
        noise = bb[: int((BEFORE_S - 5) * fs)]
        noise_rms = float(np.sqrt(np.mean(noise**2)))
        sig_rms = float(np.sqrt(np.mean(bb[pick : pick + int(10 * fs)] ** 2)))
        row = {
            "i": int(i),
            "snr": sig_rms / noise_rms if noise_rms > 0 else np.nan,
            "peak": float(np.max(np.abs(bb))),
            "noise": noise_rms,
            "log_p_s": np.nan,
        }
        sp = s_minus_p[k]
        if 6.0 <= sp <= 140.0:
            p_win = hf[pick - int(0.5 * fs) : pick + int(min(5.0, sp - 1.0) * fs)]
            s0 = pick + int((sp - 1.0) * fs)
            s_win = hf[s0 : s0 + int(10 * fs)]
            ps, ss = np.sqrt(np.mean(p_win**2)), np.sqrt(np.mean(s_win**2))
            if ps > 0 and ss > 0:
                row["log_p_s"] = float(np.log10(ps / ss))
        rows.append(row)
    return pd.DataFrame(rows, columns=FEATURE_COLUMNS)


def calibrate(
    out_dir: Path, *, seed: int, n_pairs: int = 400, n_features: int | None = None, output: Path | None = None
) -> dict:
    """Measure the calibration figures of the study in ``out_dir``; write JSON to ``output`` if given.

    ``n_pairs`` record pairs per correlation category and ``n_features`` records
    (all when None) for the single-feature AUCs are drawn with ``seed``.
    Returns a dict with ``values``, ``bounds``, ``checks`` (per figure pass/fail),
    ``pass`` (all), sample sizes and medians per class, and ``study`` (the
    study's ``params.json``, with its provenance). Raises :class:`InputError`
    when ``truth.parquet`` predates the source coordinates.
    """
    out_dir = Path(out_dir)
    truth = pd.read_parquet(out_dir / "truth.parquet")
    if "source_latitude_deg" not in truth.columns:
        raise InputError(f"{out_dir / 'truth.parquet'} lacks source coordinates; regenerate the study")
    truth = truth.reset_index(drop=True)
    reader = _Reader(out_dir, truth)
    cc_values = _correlations(reader, _pairs(truth, n_pairs, stream(seed, "calibration", "pairs")))
    idx = np.arange(len(truth))
    if n_features is not None and len(idx) > n_features:
        idx = np.sort(stream(seed, "calibration", "features").choice(idx, n_features, replace=False))
    feats = _features(reader, truth, idx, TravelTimeTable.load())
    label = truth.source_type.to_numpy()[feats["i"].to_numpy(dtype=int)] == "explosion"
    values = _figures(cc_values, feats, label)
    checks = _checks(values)
    ps = feats.assign(label=label).dropna(subset=["log_p_s"])
    result = {
        "values": {k: (round(v, 4) if np.isfinite(v) else None) for k, v in values.items()},
        "bounds": {k: {"kind": kind, "bound": bound} for k, (kind, bound) in BOUNDS.items()},
        "checks": checks,
        "pass": bool(all(checks.values())),
        "n_pairs": {k: len(v) for k, v in cc_values.items()},
        "n_feature_records": int(len(feats)),
        "n_p_over_s_records": {"explosion": int(ps.label.sum()), "earthquake": int((~ps.label).sum())},
        "median_log10_p_over_s": {
            "explosion": round(float(ps[ps.label].log_p_s.median()), 3) if ps.label.any() else None,
            "earthquake": round(float(ps[~ps.label].log_p_s.median()), 3) if (~ps.label).any() else None,
        },
        "records": int(len(truth)),
        "events": int(truth.source_id.nunique()),
        "explosion_records": int((truth.source_type == "explosion").sum()),
        "seed": int(seed),
        "study": json.loads((out_dir / "params.json").read_text()) if (out_dir / "params.json").is_file() else None,
        "definitions": __doc__.split("\n\n", 1)[1].strip(),
    }
    log.info("calibration: %s pass=%s", result["values"], result["pass"])
    if output is not None:
        write_json_atomic(result, output)
    return result


def _correlations(reader: _Reader, pairs: dict[str, list[tuple[int, int]]]) -> dict[str, list[float]]:
    """Peak normalised correlation (1-8 Hz, lags within +-LAG_S) of each readable pair, per category."""
    cc_values: dict[str, list[float]] = {}
    for name, plist in pairs.items():
        vals = []
        for i, j in plist:
            a, b = reader.get(i), reader.get(j)
            if a is None or b is None:
                continue
            vals.append(_peak_cc(a["bb"].astype(float), b["bb"].astype(float), int(LAG_S * a["fs"])))
        cc_values[name] = vals
    return cc_values


def _figures(cc_values: dict[str, list[float]], feats: pd.DataFrame, label: np.ndarray) -> dict[str, float]:
    """The figures of :data:`BOUNDS`: median correlations and single-feature AUCs (NaN when not measurable)."""

    def median(name: str) -> float:
        return float(np.nanmedian(cc_values[name])) if cc_values[name] else float("nan")

    def sym(x: float) -> float:
        return float(max(x, 1 - x)) if np.isfinite(x) else float("nan")

    return {
        "a_one_event_two_stations": median("a"),
        "b_nearby_events_one_station": median("b"),
        "c_unrelated_same_station": median("c_same"),
        "c_unrelated_random": median("c_random"),
        "d_auc_log10_p_over_s_6_8hz": _auc(feats["log_p_s"].to_numpy(dtype=float), label),
        "e_auc_snr": sym(_auc(feats["snr"].to_numpy(dtype=float), label)),
        "e_auc_peak_amplitude": sym(_auc(feats["peak"].to_numpy(dtype=float), label)),
        "e_auc_noise_level": sym(_auc(feats["noise"].to_numpy(dtype=float), label)),
    }


def _checks(values: dict[str, float]) -> dict[str, bool]:
    """Pass/fail of each figure against :data:`BOUNDS` (a NaN figure fails)."""
    checks = {}
    for key, (kind, bound) in BOUNDS.items():
        v = values[key]
        if not np.isfinite(v):
            ok = False
        elif kind == "max":
            ok = v <= bound
        elif kind == "min":
            ok = v >= bound
        else:
            ok = bound[0] <= v <= bound[1]
        checks[key] = bool(ok)
    return checks
