"""SVM-36 (after Kortström et al., 2016): 36 spectral features and an RBF SVM.

Per record, the log10 mean power of the ground-motion vector (Z, N, E summed) in
9 bands (``evaluate.svm.bands_hz``: 1-3, 2-5, ..., 16-19 Hz; zero-phase Butterworth,
``evaluate.svm.filter_order``) in 4 windows placed with the iasp91 S - P time
``D`` at the record's epicentral distance (:mod:`seisembed.traveltimes`; the source
depth is the fixed ``evaluate.svm.source_depth_km``, because the catalogue depth
*defines* the explosion label and must not inform a feature). With window length
``w = clip(D / 2, window_min_s, window_max_s)``, relative to P::

    P [0, w)    P coda [w, 2w)    S [D, D + w)    S coda [D + w, D + 2w)

**Windows beyond the record** (far records: S after the window's end) are clipped at
the record's end; a window with less than ``evaluate.svm.min_window_s`` inside is
*missing*: its 9 features are imputed by the train mean (0 after standardisation) and
the record is still scored, so the SVM is scored on the same test records as the
embedding. The records with clipped and missing windows are counted per split in
``supervised.json``. Distances beyond the travel-time table (45 deg) are clamped to it
and counted. Features are standardised on train; an RBF :class:`sklearn.svm.SVC`
(balanced class weights) is fitted for every ``C`` x ``gamma`` of the grids, the pair
with the highest val AUC kept; its decision function is the score.

Band energies are computed for all records, components and windows at once: each band
is one zero-phase filter pass over a block of records, the squared components summed
and cumulatively summed along time, so any window's energy is a difference of two
cumulative sums (no loop over records or windows).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.dataset.store import open_waveforms
from seisembed.errors import InputError
from seisembed.evaluate.supervised.common import read_blocks
from seisembed.traveltimes import TravelTimeTable

__all__ = ["SVM_WINDOWS", "band_log_power", "fit_svm", "svm_features", "svm_features_store", "svm_windows"]

log = logging.getLogger(__name__)

SVM_WINDOWS = ("p", "p_coda", "s", "s_coda")


def svm_windows(
    p_sample: np.ndarray,
    s_minus_p_s: np.ndarray,
    *,
    rate_hz: float,
    n_samples: int,
    window_min_s: float,
    window_max_s: float,
    min_window_s: float,
) -> dict[str, np.ndarray]:
    """Sample bounds of the P, P-coda, S and S-coda windows of each record (see the module docstring).

    Returns ``start``/``end`` int64 ``(n, 4)`` (clipped to ``[0, n_samples]``), ``clipped``
    (bool ``(n, 4)``: the window ran past the record's end but keeps at least
    ``min_window_s``) and ``missing`` (bool ``(n, 4)``: less than ``min_window_s`` inside).
    """
    p = np.asarray(p_sample, dtype=np.float64)[:, None]
    d = np.asarray(s_minus_p_s, dtype=np.float64)
    w = np.clip(d / 2, window_min_s, window_max_s)
    offsets_s = np.stack([np.zeros_like(d), w, d, d + w], axis=1)
    start = np.rint(p + offsets_s * rate_hz).astype(np.int64)
    end = start + np.rint(w * rate_hz).astype(np.int64)[:, None]
    lo, hi = np.clip(start, 0, n_samples), np.clip(end, 0, n_samples)
    inside = hi - lo
    missing = inside < max(1, int(round(min_window_s * rate_hz)))
    clipped = ((end > n_samples) | (start < 0)) & ~missing
    return {"start": lo, "end": hi, "clipped": clipped, "missing": missing}


def _check_bands(bands_hz, rate_hz: float) -> None:
    nyquist = rate_hz / 2
    for lo, hi in bands_hz:
        if not 0 < lo < hi < nyquist:
            raise InputError(
                f"evaluate.svm.bands_hz: band {lo}-{hi} Hz is not inside (0, {nyquist:g}) Hz at {rate_hz:g} Hz"
            )


def band_log_power(
    windows: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    *,
    bands_hz,
    rate_hz: float,
    order: int = 4,
    pad_s: float = 10.0,
) -> np.ndarray:
    """log10 mean power (Z + N + E) per record, band and window: ``(n, n_bands, n_windows)`` float64.

    ``windows``: ``(n, 3, samples)`` (any units: the power is in their square);
    ``start``/``end``: ``(n, n_windows)`` sample bounds. Empty windows give NaN.

    Each band is a zero-phase Butterworth band-pass of ``order`` (the squared magnitude
    response, as a forward-backward filter): the records are Fourier-transformed once,
    zero-padded by ``pad_s`` (no wrap-around within the record), and each band is one
    product and inverse transform; the squared components are summed and cumulatively
    summed, so every window's energy is a difference of two cumulative sums.
    """
    from scipy import fft as sp_fft
    from scipy import signal

    _check_bands(bands_hz, rate_hz)
    x = np.asarray(windows, dtype=np.float32)
    x = x - x.mean(axis=-1, keepdims=True)
    n = x.shape[-1]
    nfft = sp_fft.next_fast_len(n + int(round(pad_s * rate_hz)), real=True)
    spectra = sp_fft.rfft(x, nfft, axis=-1, workers=-1)
    freqs = np.fft.rfftfreq(nfft, 1 / rate_hz)
    rows = np.arange(len(x))[:, None]
    length = (end - start).astype(np.float64)
    out = np.empty((len(x), len(bands_hz), start.shape[1]))
    cumulative = np.zeros((len(x), n + 1))
    for b, (lo, hi) in enumerate(bands_hz):
        sos = signal.butter(order, [lo, hi], btype="bandpass", fs=rate_hz, output="sos")
        gain = (np.abs(signal.sosfreqz(sos, worN=freqs, fs=rate_hz)[1]) ** 2).astype(np.float32)
        y = sp_fft.irfft(spectra * gain, nfft, axis=-1, workers=-1)[..., :n]
        np.cumsum(np.einsum("ncs,ncs->ns", y, y, dtype=np.float64), axis=1, out=cumulative[:, 1:])
        with np.errstate(invalid="ignore", divide="ignore"):
            power = (cumulative[rows, end] - cumulative[rows, start]) / length
            out[:, b] = np.where(length > 0, np.log10(np.maximum(power, 0) + 1e-30), np.nan)
    return out


def svm_features(
    windows: np.ndarray, p_sample: np.ndarray, distance_deg: np.ndarray, *, rate_hz: float, svm: dict, table=None
) -> dict:
    """The 36 features of in-memory records ``(n, 3, samples)`` (``svm``: the ``evaluate.svm`` section).

    ``p_sample``: the P arrival's sample in each window; ``distance_deg``: epicentral
    distance. Returns ``features`` ``(n, 36)`` (NaN for missing windows; columns
    window-major: ``<window>_<lo>-<hi>hz``), ``names``, ``clipped`` and ``missing``
    (bool ``(n, 4)``) and ``outside_table`` (bool ``(n,)``: distance clamped to the
    travel-time table).
    """

    table = table or TravelTimeTable.load()
    dist = np.asarray(distance_deg, dtype=np.float64)
    times = table.lookup(dist, np.full(len(dist), svm["source_depth_km"]))
    bounds = svm_windows(
        p_sample,
        times["ts_s"] - times["tp_s"],
        rate_hz=rate_hz,
        n_samples=int(windows.shape[-1]),
        window_min_s=svm["window_min_s"],
        window_max_s=svm["window_max_s"],
        min_window_s=svm["min_window_s"],
    )
    logp = band_log_power(
        windows, bounds["start"], bounds["end"], bands_hz=svm["bands_hz"], rate_hz=rate_hz, order=svm["filter_order"]
    )
    logp[np.broadcast_to(bounds["missing"][:, None, :], logp.shape)] = np.nan
    grid = table.data["distances_deg"]
    return {
        "features": logp.transpose(0, 2, 1).reshape(len(dist), -1),
        "names": [f"{w}_{lo:g}-{hi:g}hz" for w in SVM_WINDOWS for lo, hi in svm["bands_hz"]],
        "clipped": bounds["clipped"],
        "missing": bounds["missing"],
        "outside_table": (dist < grid[0]) | (dist > grid[-1]),
    }


def svm_features_store(store: Path, meta: pd.DataFrame, positions: np.ndarray, svm: dict, block: int = 512) -> dict:
    """:func:`svm_features` of the store records at ``positions``, read in blocks (memory bounded by ``block``)."""

    array, table = open_waveforms(store), TravelTimeTable.load()
    parts = [
        svm_features(
            x,
            meta["trace_p_arrival_sample"].to_numpy()[idx],
            meta["path_ep_distance_deg"].to_numpy()[idx],
            rate_hz=meta.attrs["sampling_rate_hz"],
            svm=svm,
            table=table,
        )
        for idx, x in read_blocks(array, positions, block)
    ]
    if not parts:
        raise InputError(f"dataset store {store}: no records to compute SVM features of")
    out = {k: np.concatenate([p[k] for p in parts]) for k in ("features", "clipped", "missing", "outside_table")}
    out["names"] = parts[0]["names"]
    return out


def fit_svm(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray, c_grid, gamma_grid) -> dict:
    """RBF SVC per (C, gamma) on standardised train features; the one with the best val AUC, fitted on train.

    A scikit-learn pipeline: :class:`~sklearn.preprocessing.StandardScaler` (mean/std
    of the train features, missing values ignored), then missing values -> 0 (the
    train mean; :class:`~sklearn.impute.SimpleImputer`), then an RBF
    :class:`~sklearn.svm.SVC`. :class:`~sklearn.model_selection.GridSearchCV` over a
    :class:`~sklearn.model_selection.PredefinedSplit` (fit on train, scored on val; the
    first best grid point wins ties) chooses; the chosen pipeline is refitted on train
    only (not train + val). Returns ``score`` (a function features -> decision values),
    ``C``, ``gamma``, the val AUC of every grid point and the training seconds (the
    whole grid).
    """
    from sklearn.base import clone
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import GridSearchCV, PredefinedSplit
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    t0 = time.perf_counter()
    train_x, val_x = np.asarray(train_x, dtype=np.float64), np.asarray(val_x, dtype=np.float64)
    pipeline = Pipeline(
        [
            ("standardise", StandardScaler()),
            ("impute", SimpleImputer(strategy="constant", fill_value=0.0, keep_empty_features=True)),
            ("svc", SVC(kernel="rbf", class_weight="balanced")),
        ]
    )
    fold = np.r_[np.full(len(train_x), -1), np.zeros(len(val_x), dtype=int)]
    search = GridSearchCV(
        pipeline,
        {"svc__C": [float(c) for c in c_grid], "svc__gamma": [float(g) for g in gamma_grid]},
        scoring="roc_auc",
        cv=PredefinedSplit(fold),
        refit=False,
        error_score="raise",
    )
    search.fit(np.concatenate([train_x, val_x]), np.concatenate([train_y, val_y]))
    grid = []
    for params, value in zip(search.cv_results_["params"], search.cv_results_["split0_test_score"], strict=True):
        grid.append({"C": params["svc__C"], "gamma": params["svc__gamma"], "val_auc": float(value)})
        log.info("SVM C=%g gamma=%g: val AUC %.4f", params["svc__C"], params["svc__gamma"], value)
    model = clone(pipeline).set_params(**search.best_params_).fit(train_x, train_y)
    seconds = time.perf_counter() - t0
    return {
        "score": lambda x: model.decision_function(np.asarray(x, dtype=np.float64)),
        "C": search.best_params_["svc__C"],
        "gamma": search.best_params_["svc__gamma"],
        "grid": grid,
        "train_seconds": seconds,
        "n_support_vectors": int(model.named_steps["svc"].n_support_.sum()),
    }
