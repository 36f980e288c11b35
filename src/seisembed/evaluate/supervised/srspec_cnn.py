"""SRSpec-CNN (in the style of Nakano et al., 2019): a small CNN on log power spectrograms.

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
``patience``: :class:`seisembed.train.early_stopping.EarlyStopping`, the training loop's).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np

from seisembed.dataset.store import open_waveforms
from seisembed.errors import InputError
from seisembed.evaluate.supervised.common import read_blocks
from seisembed.metrics import auc
from seisembed.streams import Stream
from seisembed.train.early_stopping import EarlyStopping

__all__ = ["enable_determinism", "fit_srspec_cnn", "spectrogram_split", "spectrograms"]

log = logging.getLogger(__name__)


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

    Global state: the entry point that runs the classifiers calls it (``seisembed evaluate
    supervised``), the library functions never do. A caller of :func:`~seisembed.evaluate.supervised.run.evaluate_supervised` or
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
    stopper, history = EarlyStopping(int(srspec["patience"])), []
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
        if not stopper.update(epoch + 1, value, model) and stopper.should_stop:
            log.info("SRSpec-CNN: no val improvement for %d epochs; stopping", stopper.wait)
            break
    stopper.restore_best(model)
    seconds = time.perf_counter() - t0
    return {
        "score": lambda x: model.predict(x, batch_size=512, verbose=0)[:, 0].astype(np.float64),
        "best_epoch": stopper.best_epoch,
        "history": history,
        "train_seconds": seconds,
        "n_parameters": int(model.count_params()),
        "model": model,
    }


def spectrogram_split(store: Path, positions: np.ndarray, rate: float, srspec: dict, block: int = 256) -> np.ndarray:

    array = open_waveforms(store)
    return np.concatenate(
        [spectrograms(x, rate_hz=rate, srspec=srspec) for _, x in read_blocks(array, positions, block)]
        or [np.empty((0, srspec["size"], srspec["size"], 3), np.float32)]
    )
