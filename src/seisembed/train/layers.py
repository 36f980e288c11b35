"""seisembed's custom Keras layers, registered with Keras where they are defined.

Importing this module registers every Keras object a saved seisembed model refers to:
the layers below (as ``seisembed>PeakNormalization``, ``seisembed>LogPower``,
``seisembed>LogBandSpectrogram``), keras-tcn's ``TCN`` (``Custom>TCN``) and the triplet
loss and metrics of :mod:`seisembed.train.losses` (``seisembed>TripletLoss``, ...). Afterwards
``keras.saving.load_model(path, safe_mode=True)`` loads a model; :func:`seisembed.load_model`
does that and checks the model too. Imports Keras (and TensorFlow): import it only where a
model is built or loaded, never from a module that the Snakefile imports.
"""

from __future__ import annotations

import keras
import tcn  # noqa: F401  (registers keras-tcn's TCN, which every preset but the MLP ablation uses)
from keras import ops

from seisembed.bands import band_matrix
from seisembed.train import losses  # noqa: F401  (registers TripletLoss and the metrics of a compiled model)

__all__ = ["LogBandSpectrogram", "LogPower", "PeakNormalization"]


@keras.saving.register_keras_serializable(package="seisembed")
class PeakNormalization(keras.layers.Layer):
    """Demean each channel and divide it by its peak absolute value (an all-zero channel stays zero).

    Input and output ``(batch, samples, channels)``; always computed in float32 (also under
    a mixed-precision policy: a float16 cast of raw counts would lose the waveform).
    """

    def __init__(self, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)

    def call(self, x):
        x = ops.cast(x, "float32")
        x = x - ops.mean(x, axis=1, keepdims=True)
        peak = ops.max(ops.abs(x), axis=1, keepdims=True)
        return x / ops.where(peak > 0, peak, ops.ones_like(peak))

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="seisembed")
class LogPower(keras.layers.Layer):
    """``log(mean over pool samples of x^2 + epsilon)``: band energies of a filterbank output."""

    def __init__(self, pool: int, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.pool, self.epsilon = int(pool), float(epsilon)
        self._avg = keras.layers.AveragePooling1D(self.pool, dtype=self.dtype_policy)

    def call(self, x):
        return ops.log(self._avg(ops.square(x)) + self.epsilon)

    def compute_output_shape(self, input_shape):
        return self._avg.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "pool": self.pool, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="seisembed")
class LogBandSpectrogram(keras.layers.Layer):
    """Log10 band power of STFT frames: ``(batch, samples, channels)`` -> ``(batch, frames, channels * bands)``.

    Each frame is ``frame_length`` samples under a Hann window, zero-padded (centred) to
    ``fft_length``; frames start every ``frame_step`` samples with no padding at the
    window's ends (``keras.ops.stft``, ``center=False``: ``1 + (samples - fft_length) //
    frame_step`` frames). The power of the FFT bins is averaged in the bands
    ``[band_edges_hz[i], band_edges_hz[i + 1])`` (Hz, at ``sampling_rate_hz``) and
    ``log10(power + epsilon)`` taken; features are ordered channel by channel (all bands
    of Z, then N, then E). No trainable weights; always computed in float32, also under
    a mixed-precision policy (the log of small powers needs the range).
    """

    def __init__(
        self,
        frame_length: int,
        frame_step: int,
        fft_length: int,
        band_edges_hz,
        sampling_rate_hz: float,
        epsilon: float = 1e-10,
        **kwargs,
    ):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.frame_length, self.frame_step, self.fft_length = int(frame_length), int(frame_step), int(fft_length)
        self.band_edges_hz = [float(e) for e in band_edges_hz]
        self.sampling_rate_hz, self.epsilon = float(sampling_rate_hz), float(epsilon)
        self._bands = band_matrix(self.band_edges_hz, self.fft_length, self.sampling_rate_hz)

    def call(self, x):
        x = ops.transpose(ops.cast(x, "float32"), (0, 2, 1))  # (batch, channels, samples)
        real, imag = ops.stft(x, self.frame_length, self.frame_step, self.fft_length, window="hann", center=False)
        power = ops.matmul(real * real + imag * imag, ops.convert_to_tensor(self._bands))
        logp = ops.transpose(ops.log10(power + self.epsilon), (0, 2, 1, 3))  # (batch, frames, channels, bands)
        shape = self.compute_output_shape(x.shape[:1] + (x.shape[2], x.shape[1]))
        return ops.reshape(logp, (-1, shape[1], shape[2]))

    def compute_output_shape(self, input_shape):
        samples, channels = input_shape[1], input_shape[2]
        frames = None if samples is None else 1 + (samples - self.fft_length) // self.frame_step
        return (input_shape[0], frames, channels * self._bands.shape[1])

    def get_config(self):
        return {
            **super().get_config(),
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "fft_length": self.fft_length,
            "band_edges_hz": self.band_edges_hz,
            "sampling_rate_hz": self.sampling_rate_hz,
            "epsilon": self.epsilon,
        }
