"""The embedding network: raw 3-component windows in, 32-D unit vectors out.

One builder, :func:`build_model`, makes every preset (:data:`PRESETS`; config
``model.preset``, with ``model.overrides`` for single keys):

``paper``
    The paper's network with keras-tcn: TCN(50 filters, kernel 16, dilations 2, 4,
    16, 256, two stacks, causal) -> its last time step -> Dense(32) -> unit norm.
    605,032 parameters and a receptive field of 1 + 2 (k - 1) stacks sum(d) =
    16,681 samples; the paper states 553,835 parameters and 4,171 samples. The
    differences: keras-tcn has two dilated convolutions per residual block (the
    paper's formula and the authors' code: one), and the authors used kernel 15
    and a Conv1D(1) + Flatten + Dense head instead of the last time step.
``paper-authors``
    As close to the authors' code as keras-tcn allows: Conv1D(50, 15) ->
    TCN(50, kernel 15, dilations 2, 4, 16, 256, two stacks, 'same' padding, all
    steps) -> ReLU -> Conv1D(1, 15, valid) -> Flatten -> Dense(32) -> unit norm.
    The head is theirs; each block still has keras-tcn's two convolutions, so it
    has more parameters (833,835) than their 553,835.
``demo``
    Trains in minutes on 2 CPU cores: a learnable filterbank front-end
    (Conv1D(32 filters, 41 taps, no bias) on the 40 Hz input -> log of the
    20-sample mean power -> batch norm: 2 Hz frames of band energies), then
    TCN(32 filters, kernel 4, dilations 1..32, 'same', all steps) -> 10-frame
    average pooling -> Flatten -> Dense(32) -> unit norm. Raw TCNs at 10 Hz did
    not beat cross-correlation on the default study; this front-end did.

Every model starts with :class:`PeakNormalization` (demean, divide each channel by
its peak: the paper's only preprocessing), so the saved model takes the raw windows
of the dataset store, ``(batch, 7200, 3)`` float32, channels Z, N, E, and needs no
preprocessing code. Custom layers are registered as serialisable: a saved model
loads with ``keras.saving.load_model(path, safe_mode=True)`` after ``import seisembed``.
"""

from __future__ import annotations

import copy

from seisembed.errors import ConfigError

__all__ = ["PRESETS", "architecture", "build_model", "flops_per_window", "receptive_field"]

#: the architecture of each preset (see the module docstring); ``model.overrides`` may change any key
PRESETS: dict[str, dict] = {
    "paper": {
        "front_end": "none",
        "stem_filters": 0,
        "stem_kernel": 0,
        "filterbank_filters": 0,
        "filterbank_taps": 0,
        "filterbank_pool": 1,
        "tcn_filters": 50,
        "kernel_size": 16,
        "stacks": 2,
        "dilations": [2, 4, 16, 256],
        "padding": "causal",
        "dropout_rate": 0.0,
        "head": "last",
        "head_pool": 1,
        "head_kernel": 0,
        "embedding_norm": False,
        "embedding_dim": 32,
    },
    "paper-authors": {
        "front_end": "none",
        "stem_filters": 50,
        "stem_kernel": 15,
        "filterbank_filters": 0,
        "filterbank_taps": 0,
        "filterbank_pool": 1,
        "tcn_filters": 50,
        "kernel_size": 15,
        "stacks": 2,
        "dilations": [2, 4, 16, 256],
        "padding": "same",
        "dropout_rate": 0.0,
        "head": "conv_flatten",
        "head_pool": 1,
        "head_kernel": 15,
        "embedding_norm": False,
        "embedding_dim": 32,
    },
    "demo": {
        "front_end": "filterbank",
        "stem_filters": 0,
        "stem_kernel": 0,
        "filterbank_filters": 32,
        "filterbank_taps": 41,
        "filterbank_pool": 20,
        "tcn_filters": 32,
        "kernel_size": 4,
        "stacks": 1,
        "dilations": [1, 2, 4, 8, 16, 32],
        "padding": "same",
        "dropout_rate": 0.0,
        "head": "pool_flatten",
        "head_pool": 10,
        "head_kernel": 0,
        "embedding_norm": False,
        "embedding_dim": 32,
    },
}


def architecture(model: dict) -> dict:
    """The architecture of a ``model`` config section: the preset's keys with ``overrides`` applied.

    Raises :class:`ConfigError` naming an unknown preset or override key.
    """
    name = model["preset"]
    if name not in PRESETS:
        raise ConfigError(f"config key 'model.preset': {name!r} is not one of {', '.join(PRESETS)}")
    arch = copy.deepcopy(PRESETS[name])
    unknown = sorted(set(model["overrides"]) - set(arch))
    if unknown:
        raise ConfigError(
            f"config key 'model.overrides': unknown architecture key(s) {', '.join(unknown)}; known: {', '.join(arch)}"
        )
    arch.update(copy.deepcopy(model["overrides"]))
    arch["preset"] = name
    return arch


def receptive_field(arch: dict) -> int:
    """Receptive field (input samples) of the convolutional part, keras-tcn's two convolutions per block.

    ``1 + 2 (k - 1) stacks sum(dilations)`` in TCN steps, times the front-end's pooling,
    plus the front-end's and stem's own extent.
    """
    tcn = 1 + 2 * (arch["kernel_size"] - 1) * arch["stacks"] * sum(arch["dilations"])
    pool = arch["filterbank_pool"] if arch["front_end"] == "filterbank" else 1
    field = (tcn - 1) * pool + 1
    if arch["front_end"] == "filterbank":
        field += arch["filterbank_taps"] - 1 + pool - 1
    if arch["stem_kernel"]:
        field += arch["stem_kernel"] - 1
    return int(field)


def _register():
    """Define (once) the serialisable custom layers; imports Keras only when a model is built or loaded."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="seisembed")
    class PeakNormalization(keras.layers.Layer):
        """Demean each channel and divide it by its peak absolute value (an all-zero channel stays zero).

        Input and output ``(batch, samples, channels)``; computed in float32.
        """

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

    return PeakNormalization, LogPower


_LAYERS: tuple | None = None


def custom_layers() -> tuple:
    """``(PeakNormalization, LogPower)``, registered with Keras on first use."""
    global _LAYERS
    if _LAYERS is None:
        _LAYERS = _register()
    return _LAYERS


def build_model(model: dict, n_samples: int = 7200, n_channels: int = 3, seed: int = 0):
    """The Keras model of a ``model`` config section (validated; see :func:`architecture`).

    ``(batch, n_samples, n_channels)`` raw float32 windows in, ``(batch, embedding_dim)``
    unit vectors out. ``seed`` seeds the weight initialisers.
    """
    import keras
    from tcn import TCN

    from seisembed.config import section

    arch = architecture(section("model", model))
    peak_norm, log_power = custom_layers()
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((n_samples, n_channels), name="window")
    x = peak_norm(name="peak_normalization")(inputs)
    if arch["front_end"] == "filterbank":
        x = keras.layers.Conv1D(arch["filterbank_filters"], arch["filterbank_taps"], use_bias=False, name="filterbank")(
            x
        )
        x = log_power(arch["filterbank_pool"], name="log_power")(x)
        x = keras.layers.BatchNormalization(name="band_norm")(x)
    if arch["stem_kernel"]:
        x = keras.layers.Conv1D(arch["stem_filters"], arch["stem_kernel"], padding="same", name="stem")(x)
    sequences = arch["head"] != "last"
    x = TCN(
        nb_filters=arch["tcn_filters"],
        kernel_size=arch["kernel_size"],
        nb_stacks=arch["stacks"],
        dilations=list(arch["dilations"]),
        padding=arch["padding"],
        use_skip_connections=True,
        dropout_rate=arch["dropout_rate"],
        return_sequences=sequences,
        name="tcn",
    )(x)
    if arch["head"] == "pool_flatten":
        if arch["head_pool"] > 1:
            x = keras.layers.AveragePooling1D(arch["head_pool"], name="head_pool")(x)
        x = keras.layers.Flatten(name="flatten")(x)
    elif arch["head"] == "conv_flatten":
        x = keras.layers.ReLU(name="head_relu")(x)
        x = keras.layers.Conv1D(1, arch["head_kernel"], padding="valid", name="head_conv")(x)
        x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(arch["embedding_dim"], name="embedding")(x)
    if arch["embedding_norm"]:
        # centre and scale each embedding coordinate over the batch before the unit norm (an
        # option: on the default study it spread the embeddings but lowered the val AUC)
        x = keras.layers.BatchNormalization(name="embedding_norm")(x)
    # float32 output even under mixed precision: distances need the precision
    outputs = keras.layers.UnitNormalization(name="unit_norm", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=f"seisembed_{arch['preset'].replace('-', '_')}")


def flops_per_window(arch: dict, n_samples: int = 7200, n_channels: int = 3) -> int:
    """Floating-point operations (2 per multiply-add) of the convolutions and the dense layer for one window.

    Computed from the architecture (normalisation, pooling and activations are left out:
    they are a few operations per sample).
    """
    steps, channels, total = n_samples, n_channels, 0
    if arch["front_end"] == "filterbank":
        steps = steps - arch["filterbank_taps"] + 1
        total += 2 * steps * arch["filterbank_taps"] * channels * arch["filterbank_filters"]
        steps, channels = steps // arch["filterbank_pool"], arch["filterbank_filters"]
    if arch["stem_kernel"]:
        total += 2 * steps * arch["stem_kernel"] * channels * arch["stem_filters"]
        channels = arch["stem_filters"]
    k, f = arch["kernel_size"], arch["tcn_filters"]
    for _ in range(arch["stacks"] * len(arch["dilations"])):
        total += 2 * steps * k * (channels * f + f * f)
        if channels != f:
            total += 2 * steps * channels * f  # keras-tcn's 1x1 convolution matching the residual
        channels = f
    if arch["head"] == "last":
        features = f
    elif arch["head"] == "pool_flatten":
        features = (steps // max(1, arch["head_pool"])) * f
    else:
        steps = steps - arch["head_kernel"] + 1
        total += 2 * steps * arch["head_kernel"] * f
        features = steps
    return int(total + 2 * features * arch["embedding_dim"])


def load_embedding_model(path, n_samples: int | None = None, n_channels: int = 3):
    """Load a saved seisembed model (safe mode) and check it takes ``(n_samples, n_channels)`` windows.

    Raises :class:`~seisembed.errors.InputError` naming the file when it does not exist,
    is not a Keras model, or was trained for another window length or channel count.
    """
    from pathlib import Path

    import keras

    from seisembed import register_keras_objects
    from seisembed.errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"model file {path} does not exist (run the train_model rule first)")
    register_keras_objects()
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except (ValueError, OSError, TypeError, KeyError) as exc:
        raise InputError(f"model file {path} is not a loadable Keras model: {type(exc).__name__}: {exc}") from exc
    shape = tuple(model.input_shape[1:])
    if (n_samples is not None and shape[0] != n_samples) or shape[-1] != n_channels:
        raise InputError(
            f"model file {path} takes windows of shape {shape}, but the data have "
            f"({n_samples}, {n_channels}) (samples, channels): it was trained for another window"
        )
    return model
