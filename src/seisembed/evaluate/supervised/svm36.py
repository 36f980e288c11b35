"""Supervised discrimination baselines: an SVM on 36 spectral features and SRSpec-CNN.

The paper compares its one-shot discrimination with two discriminators trained on the
whole training set (Fig. 11 dashed lines, Fig. 12); the authors' code has neither. Both
are trained on the **train** records, their hyper-parameters (SVM) or stopping epoch
(CNN) chosen on **val**, their decision threshold chosen on **val** (maximum accuracy)
and applied unchanged to **test**; explosion is the positive class.

SVM-36 (after Kortström et al., 2016)
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
    ``baselines.json``. Distances beyond the travel-time table (45 deg) are clamped to it
    and counted. Features are standardised on train; an RBF :class:`sklearn.svm.SVC`
    (balanced class weights) is fitted for every ``C`` x ``gamma`` of the grids, the pair
    with the highest val AUC kept; its decision function is the score.

    Band energies are computed for all records, components and windows at once: each band
    is one zero-phase filter pass over a block of records, the squared components summed
    and cumulatively summed along time, so any window's energy is a difference of two
    cumulative sums (no loop over records or windows).

SRSpec-CNN (in the style of Nakano et al., 2019)
    Each record is demeaned and divided by its peak absolute value (all components); per
    component the power spectrogram from Hann-tapered segments of
    ``evaluate.srspec.segment_s`` every ``evaluate.srspec.hop_s`` (rFFT), bins in
    ``band_hz`` [2, 10) Hz, resampled to ``size`` x ``size`` (frequency x time) by *area
    averaging* (each output cell the length-weighted mean of the input cells it covers:
    power is conserved; with 8 s segments at any rate the 2-10 Hz band holds exactly 64
    bins and the frequency axis is unchanged), then ``log10(power + 1e-12)``. Input
    ``(size, size, 3)``. Layers: Normalization (per component, adapted on train) ->
    3 x [Conv2D(f, 3 x 3, same, ReLU) -> MaxPool 2 x 2] with f = ``filters`` (16, 32, 64)
    -> Flatten -> Dropout(``dropout``) -> Dense(``dense``, ReLU) -> Dense(1, sigmoid).
    Binary cross-entropy with balanced class weights, Adam; one seeded shuffle per epoch;
    the weights of the epoch with the best val AUC are kept (early stopping,
    ``patience``).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.atomic import write_json_atomic, write_parquet_atomic
from seisembed.columns import SOURCE_TYPES, check_both_classes, other_source_types, two_class
from seisembed.config import validate_config
from seisembed.dataset.store import open_waveforms, read_metadata, read_traces, store_attributes
from seisembed.errors import InputError
from seisembed.evaluate.stats import best_threshold, confusion_record, decision_metrics, summarise_split
from seisembed.metrics import auc, confusion_counts
from seisembed.provenance import provenance
from seisembed.streams import Stream
from seisembed.traveltimes import TravelTimeTable

__all__ = [
    "SVM_WINDOWS",
    "band_log_power",
    "enable_determinism",
    "evaluate_baselines",
    "fit_srspec_cnn",
    "fit_svm",
    "spectrograms",
    "store_metadata",
    "svm_features",
    "svm_windows",
]

log = logging.getLogger(__name__)

SVM_WINDOWS = ("p", "p_coda", "s", "s_coda")
METHODS = ("svm36", "srspec_cnn")
LABELS = {"svm36": "SVM-36 (Kortström et al. 2016)", "srspec_cnn": "SRSpec-CNN (Nakano et al. 2019)"}


# --------------------------------------------------------------------------- store access
def store_metadata(store: str | Path) -> pd.DataFrame:
    """Per-trace columns the baselines need, in store order; ``attrs["sampling_rate_hz"]`` (Hz)."""
    columns = ("trace_name", "source_id", "split", "source_type", "path_ep_distance_deg", "trace_p_arrival_sample")
    frame = read_metadata(store, columns)
    for c in ("trace_name", "source_id", "split", "source_type"):
        frame[c] = frame[c].astype(str)
    rate = store_attributes(store).get("sampling_rate_hz")
    if rate is None:
        raise InputError(
            f"dataset store {store} has no 'sampling_rate_hz' attribute; rebuild it with seisembed dataset"
        )
    frame.attrs["sampling_rate_hz"] = float(rate)
    return frame


def _blocks(array, positions: np.ndarray, block: int):
    """``(positions, float32 windows)`` of ``positions`` (sorted) in blocks of ``block`` records."""

    for start in range(0, len(positions), block):
        idx = positions[start : start + block]
        yield idx, read_traces(array, idx)


# --------------------------------------------------------------------------- SVM-36 features
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


def _svm_features_store(store: Path, meta: pd.DataFrame, positions: np.ndarray, svm: dict, block: int = 512) -> dict:
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
        for idx, x in _blocks(array, positions, block)
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


# --------------------------------------------------------------------------- SRSpec spectrograms
def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``(n_in, n_out)`` weights: output cell j is the length-weighted mean of the input cells it covers."""
    edges_in = np.arange(n_in + 1) / n_in
    edges_out = np.arange(n_out + 1) / n_out
    lo = np.maximum(edges_in[:-1, None], edges_out[None, :-1])
    hi = np.minimum(edges_in[1:, None], edges_out[None, 1:])
    overlap = np.clip(hi - lo, 0, None)
    return (overlap / overlap.sum(axis=0, keepdims=True)).astype(np.float32)


def spectrograms(windows: np.ndarray, *, rate_hz: float, srspec: dict) -> np.ndarray:
    """``(n, size, size, 3)`` float32 log10 power spectrograms (frequency x time x component).

    See the module docstring: peak-normalised records, Hann segments of
    ``srspec['segment_s']`` every ``srspec['hop_s']``, bins in ``srspec['band_hz']``,
    area-resampled to ``srspec['size']`` on both axes.
    """
    x = np.asarray(windows, dtype=np.float32)
    x = x - x.mean(axis=-1, keepdims=True)
    peak = np.abs(x).max(axis=(1, 2), keepdims=True)
    x = x / np.where(peak > 0, peak, np.float32(1.0))
    nperseg = int(round(srspec["segment_s"] * rate_hz))
    hop = max(1, int(round(srspec["hop_s"] * rate_hz)))
    if nperseg > x.shape[-1]:
        raise InputError(
            f"evaluate.srspec.segment_s = {srspec['segment_s']} s is longer than the {x.shape[-1] / rate_hz:g} s window"
        )
    frames = np.lib.stride_tricks.sliding_window_view(x, nperseg, axis=-1)[..., ::hop, :]  # (n, 3, frames, nperseg)
    freqs = np.fft.rfftfreq(nperseg, 1 / rate_hz)
    lo_hz, hi_hz = srspec["band_hz"]
    keep = np.flatnonzero((freqs >= lo_hz) & (freqs < hi_hz))
    if len(keep) < 2:
        raise InputError(f"evaluate.srspec.band_hz {lo_hz}-{hi_hz} Hz holds fewer than 2 frequency bins")
    from scipy import fft as sp_fft

    taper = np.hanning(nperseg).astype(np.float32)
    spectra = sp_fft.rfft(frames * taper, axis=-1, workers=-1)[..., keep]  # (n, 3, frames, freqs) complex64
    power = spectra.real**2 + spectra.imag**2
    size = int(srspec["size"])
    by_freq = power @ _area_matrix(len(keep), size)  # (n, 3, frames, size)
    resized = np.swapaxes(by_freq, -1, -2) @ _area_matrix(power.shape[2], size)  # (n, 3, size freq, size time)
    return np.log10(resized.transpose(0, 2, 3, 1) + np.float32(1e-12)).astype(np.float32)


def _build_cnn(keras, input_shape, srspec: dict, train_x: np.ndarray):
    layers = keras.layers
    norm = layers.Normalization(axis=-1, name="normalise")
    norm.adapt(train_x)
    inputs = keras.Input(input_shape, name="spectrogram")
    x = norm(inputs)
    for i, filters in enumerate(srspec["filters"]):
        x = layers.Conv2D(int(filters), 3, padding="same", activation="relu", name=f"conv{i + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(srspec["dropout"], name="dropout")(x)
    x = layers.Dense(int(srspec["dense"]), activation="relu", name="dense")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="explosion_probability")(x)
    return keras.Model(inputs, outputs, name="srspec_cnn")


def enable_determinism() -> None:
    """Make TensorFlow's ops deterministic in this process, so the SRSpec-CNN's weights repeat for one seed.

    Global state: the entry point that runs the baselines calls it (``seisembed evaluate
    baselines``), the library functions never do. A caller of :func:`evaluate_baselines` or
    :func:`fit_srspec_cnn` that needs repeatable weights calls it first.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


def fit_srspec_cnn(
    train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray, srspec: dict, seed: int
) -> dict:
    """Train the CNN on train spectrograms, early-stopped on val AUC; returns ``score`` and the history."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(seed)
    t0 = time.perf_counter()
    model = _build_cnn(keras, train_x.shape[1:], srspec, train_x)
    model.compile(optimizer=keras.optimizers.Adam(srspec["learning_rate"]), loss="binary_crossentropy")
    n_pos = max(int(train_y.sum()), 1)
    n_neg = max(int((~train_y).sum()), 1)
    weight = {0: len(train_y) / (2 * n_neg), 1: len(train_y) / (2 * n_pos)}
    rng = np.random.default_rng([seed, Stream.SRSPEC])
    best, history, waited = (-np.inf, None, -1), [], 0
    for epoch in range(int(srspec["epochs"])):
        order = rng.permutation(len(train_x))
        fit = model.fit(
            train_x[order],
            train_y[order].astype(np.float32),
            batch_size=int(srspec["batch_size"]),
            epochs=1,
            shuffle=False,
            class_weight=weight,
            verbose=0,
        )
        val_score = model.predict(val_x, batch_size=512, verbose=0)[:, 0]
        value = auc(val_score, val_y)
        history.append({"epoch": epoch + 1, "loss": float(fit.history["loss"][-1]), "val_auc": float(value)})
        log.info("SRSpec-CNN epoch %d: loss %.4f, val AUC %.4f", epoch + 1, history[-1]["loss"], value)
        if value > best[0]:
            best, waited = (value, model.get_weights(), epoch + 1), 0
        else:
            waited += 1
            if waited >= int(srspec["patience"]):
                log.info("SRSpec-CNN: no val improvement for %d epochs; stopping", waited)
                break
    model.set_weights(best[1])
    seconds = time.perf_counter() - t0
    return {
        "score": lambda x: model.predict(x, batch_size=512, verbose=0)[:, 0].astype(np.float64),
        "best_epoch": best[2],
        "history": history,
        "train_seconds": seconds,
        "n_parameters": int(model.count_params()),
        "model": model,
    }


def _spectrogram_split(store: Path, positions: np.ndarray, rate: float, srspec: dict, block: int = 256) -> np.ndarray:

    array = open_waveforms(store)
    return np.concatenate(
        [spectrograms(x, rate_hz=rate, srspec=srspec) for _, x in _blocks(array, positions, block)]
        or [np.empty((0, srspec["size"], srspec["size"], 3), np.float32)]
    )


# --------------------------------------------------------------------------- the stage
def _subsample_train(positions: np.ndarray, source_type: np.ndarray, per_class: int | None, seed: int) -> np.ndarray:
    """At most ``per_class`` train records of each class (seeded; store order kept); all when ``None``."""
    if per_class is None:
        return positions
    rng = np.random.default_rng([seed, Stream.SUBSAMPLE])
    keep = []
    for kind in SOURCE_TYPES:
        rows = positions[source_type[positions] == kind]
        keep.append(rows if len(rows) <= per_class else rng.choice(rows, per_class, replace=False))
    chosen = np.sort(np.concatenate(keep))
    if len(chosen) < len(positions):
        log.info(
            "supervised baselines: %d of %d train records (at most %d per class)",
            len(chosen),
            len(positions),
            per_class,
        )
    return chosen


def _summary(score: dict, truth: dict, events: dict, config: dict) -> dict:

    threshold = best_threshold(score["val"], truth["val"])
    result = summarise_split(
        score["test"], truth["test"], events["test"], threshold, config["evaluate"]["bootstrap"], config["seed"]
    )
    result["threshold_from"] = "val (maximum accuracy)"
    result["val_auc"] = float(auc(score["val"], truth["val"]))
    result["confusion_test"] = confusion_record(confusion_counts(truth["test"], score["test"] >= threshold))
    result["n_test_records"] = result.pop("n_pairs")
    result["n_test_explosions"] = result.pop("n_matched")
    # top level: the maximum-accuracy cut (balanced_accuracy too); "balanced": the cut maximising it
    result["balanced"] = balanced_decision(score, truth)
    return result


def balanced_decision(score: dict, truth: dict) -> dict:
    """Test metrics at the val threshold maximising balanced accuracy (``score``/``truth``: per split)."""

    threshold = best_threshold(score["val"], truth["val"], criterion="balanced_accuracy")
    return {
        "threshold": float(threshold),
        "threshold_from": "val (maximum balanced accuracy)",
        **decision_metrics(score["test"], truth["test"], threshold),
        "confusion_test": confusion_record(confusion_counts(truth["test"], score["test"] >= threshold)),
    }


def evaluate_baselines(store: str | Path, out_dir: str | Path, config: dict) -> dict:
    """Train and score both baselines; writes ``baselines.json`` and ``baselines_scores.parquet``.

    The parquet holds one row per val and test record (``trace_name``, ``source_id``,
    ``split``, ``source_type``, ``svm36``, ``srspec_cnn``): the discrimination figures
    draw the baselines' ROC curves and confusion matrices from it.
    """

    config = validate_config(config)
    store, out_dir = Path(store), Path(out_dir)
    meta = store_metadata(store)
    rate = meta.attrs["sampling_rate_hz"]
    split = meta["split"].to_numpy()
    for name in ("train", "val", "test"):
        check_both_classes(meta, name, f"dataset store {store}")
    # records of other source types (a SeisBench import's own labels) are left out of the two classes, counted
    excluded = other_source_types(meta)
    if excluded:
        log.info("baselines leave out records of other source types: %s", excluded)
    positions = {name: np.flatnonzero((split == name) & two_class(meta)) for name in ("train", "val", "test")}
    n_train_all = len(positions["train"])
    positions["train"] = _subsample_train(
        positions["train"],
        meta["source_type"].to_numpy(),
        config["evaluate"]["baselines_max_train_per_class"],
        config["seed"],
    )
    truth = {name: (meta["source_type"].to_numpy()[p] == "explosion") for name, p in positions.items()}
    events = {name: meta["source_id"].to_numpy()[p] for name, p in positions.items()}
    record: dict = {}
    scores: dict[str, dict] = {}

    log.info("SVM-36: features of %d records", len(meta))
    t0 = time.perf_counter()
    feats = {name: _svm_features_store(store, meta, p, config["evaluate"]["svm"]) for name, p in positions.items()}
    feature_seconds = time.perf_counter() - t0
    svm_cfg = config["evaluate"]["svm"]
    svm = fit_svm(
        feats["train"]["features"],
        truth["train"],
        feats["val"]["features"],
        truth["val"],
        svm_cfg["c_grid"],
        svm_cfg["gamma_grid"],
    )
    scores["svm36"] = {name: svm["score"](feats[name]["features"]) for name in ("val", "test")}
    record["svm36"] = {
        "method": LABELS["svm36"],
        **_summary(scores["svm36"], truth, events, config),
        "training_seconds": svm["train_seconds"],
        "feature_seconds_all_splits": feature_seconds,
        "chosen_on_val": {"C": svm["C"], "gamma": svm["gamma"]},
        "grid": svm["grid"],
        "n_support_vectors": svm["n_support_vectors"],
        "features": feats["train"]["names"],
        "window_rule": (
            "windows past the record's end are clipped; a window with less than evaluate.svm.min_window_s inside "
            "is missing and its features are imputed by the train mean; every record is scored"
        ),
        "windows": {
            name: {
                "n_records": int(len(p)),
                "n_clipped": int(feats[name]["clipped"].any(axis=1).sum()),
                "n_missing": int(feats[name]["missing"].any(axis=1).sum()),
                "n_missing_by_window": dict(
                    zip(SVM_WINDOWS, feats[name]["missing"].sum(axis=0).astype(int).tolist(), strict=True)
                ),
                "n_outside_traveltime_table": int(feats[name]["outside_table"].sum()),
            }
            for name, p in positions.items()
        },
    }
    _log_result("svm36", record["svm36"])

    srspec_cfg = config["evaluate"]["srspec"]
    t0 = time.perf_counter()
    specs = {name: _spectrogram_split(store, p, rate, srspec_cfg) for name, p in positions.items()}
    spectrogram_seconds = time.perf_counter() - t0
    log.info("SRSpec-CNN: %d spectrograms in %.1f s", sum(len(s) for s in specs.values()), spectrogram_seconds)
    cnn = fit_srspec_cnn(specs["train"], truth["train"], specs["val"], truth["val"], srspec_cfg, config["seed"])
    scores["srspec_cnn"] = {name: cnn["score"](specs[name]) for name in ("val", "test")}
    record["srspec_cnn"] = {
        "method": LABELS["srspec_cnn"],
        **_summary(scores["srspec_cnn"], truth, events, config),
        "training_seconds": cnn["train_seconds"],
        "spectrogram_seconds_all_splits": spectrogram_seconds,
        "best_epoch": cnn["best_epoch"],
        "history": cnn["history"],
        "n_parameters": cnn["n_parameters"],
        "layers": [layer.name for layer in cnn["model"].layers],
    }
    _log_result("srspec_cnn", record["srspec_cnn"])

    record["train_records"] = {
        "used": int(len(positions["train"])),
        "available": int(n_train_all),
        "explosions_used": int(truth["train"].sum()),
        "max_per_class": config["evaluate"]["baselines_max_train_per_class"],
    }
    record["excluded_source_types"] = excluded
    record["provenance"] = provenance({k: config[k] for k in ("evaluate", "seed", "study")})
    rows = []
    for name in ("val", "test"):
        part = meta.iloc[positions[name]][["trace_name", "source_id", "split", "source_type"]].copy()
        for method in METHODS:
            part[method] = scores[method][name]
        rows.append(part)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(pd.concat(rows, ignore_index=True), out_dir / "baselines_scores.parquet")
    write_json_atomic(record, out_dir / "baselines.json")
    return record


def _log_result(method: str, r: dict) -> None:
    log.info(
        "%s: test AUC %.3f [%.3f, %.3f], accuracy %.3f, precision %.3f, recall %.3f (val threshold %.4g); "
        "trained in %.1f s",
        method,
        r["auc"],
        *r["auc_ci95"],
        r["accuracy"],
        r["precision"],
        r["recall"],
        r["threshold"],
        r["training_seconds"],
    )
