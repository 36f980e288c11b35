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
``spectral`` (the default)
    A fixed log-band STFT front end (:class:`~seisembed.train.layers.LogBandSpectrogram`; settings in the
    config's ``model.spectral`` section: 4 s Hann frames, 1 s hop, FFT 512, 24
    log-spaced bands 0.4-19 Hz per component -> ``(frames, 3 x 24)`` log10 band
    power) -> batch norm -> TCN(48 filters, kernel 3, dilations 1..32, 'same', all
    frames) -> 8-frame average pooling -> Flatten -> Dense(32) -> unit norm. On the
    default study it beats the linear spectral metric that the ``demo`` model loses
    to (docs/train.md, the ablation table). ``tcn_filters: 0`` with ``head:
    mlp`` replaces the TCN by an MLP head (pool -> Flatten -> Dense(head_units,
    ReLU) -> Dropout(dropout_rate)), an ablation.
``demo``
    Trains in minutes on 2 CPU cores: a learnable filterbank front-end
    (Conv1D(32 filters, 41 taps, no bias) on the 40 Hz input -> log of the
    20-sample mean power -> batch norm: 2 Hz frames of band energies), then
    TCN(32 filters, kernel 4, dilations 1..32, 'same', all steps) -> 10-frame
    average pooling -> Flatten -> Dense(32) -> unit norm. Raw TCNs at 10 Hz did
    not beat cross-correlation on the default study; this front-end did.

Every model starts with :class:`~seisembed.train.layers.PeakNormalization` (demean, divide each channel by
its peak: the paper's only preprocessing), so the saved model takes the raw windows
of the dataset store, ``(batch, 7200, 3)`` float32, channels Z, N, E, and needs no
preprocessing code. The custom layers live in :mod:`seisembed.train.layers`, registered with Keras
where they are defined; :func:`load_model` (also ``seisembed.load_model``) loads a saved
model in safe mode and checks it.

This module does not import Keras (the Snakefile imports it for :func:`check_model_config`):
:func:`build_model` and :func:`load_model` import it when called.
"""

from __future__ import annotations

import copy
import math

from seisembed.bands import band_matrix
from seisembed.config import section
from seisembed.errors import ConfigError

__all__ = [
    "PRESETS",
    "architecture",
    "build_model",
    "flops_per_window",
    "check_unit_output",
    "keras_archive_problem",
    "load_model",
    "receptive_field",
    "spectral_settings",
]

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
        "head_units": 0,
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
        "head_units": 0,
        "embedding_norm": False,
        "embedding_dim": 32,
    },
    "spectral": {
        "front_end": "spectral",
        "stem_filters": 0,
        "stem_kernel": 0,
        "filterbank_filters": 0,
        "filterbank_taps": 0,
        "filterbank_pool": 1,
        "tcn_filters": 48,
        "kernel_size": 3,
        "stacks": 1,
        "dilations": [1, 2, 4, 8, 16, 32],
        "padding": "same",
        "dropout_rate": 0.0,
        "head": "pool_flatten",
        "head_pool": 8,
        "head_kernel": 0,
        "head_units": 0,
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
        "head_units": 0,
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
    if arch["front_end"] not in ("none", "filterbank", "spectral"):
        raise ConfigError(
            f"config key 'model.overrides': front_end {arch['front_end']!r} is not one of none, filterbank, spectral"
        )
    if arch["head"] not in ("last", "pool_flatten", "conv_flatten", "mlp"):
        raise ConfigError(
            f"config key 'model.overrides': head {arch['head']!r} is not one of last, pool_flatten, conv_flatten, mlp"
        )
    if arch["front_end"] == "spectral":
        arch["spectral"] = section("model.spectral", model.get("spectral"))
    return arch


def _key(name: str) -> str:
    return f"config key 'model.spectral.{name}'"


def spectral_settings(spectral: dict, sampling_rate_hz: float = 40.0, n_samples: int = 7200) -> dict:
    """The spectral front end's settings in samples, checked against the windows it will see.

    ``spectral`` is the config's ``model.spectral`` section (frame and hop in seconds,
    FFT length in samples, band edges in Hz); ``sampling_rate_hz`` and ``n_samples`` are
    the windows' rate (Hz) and length (samples). Returns ``frame_length``,
    ``frame_step``, ``fft_length`` (samples), ``band_edges_hz`` (list, Hz),
    ``sampling_rate_hz``, ``epsilon`` and ``n_frames`` (frames per window).

    A setting that cannot work raises :class:`ConfigError` naming its key: a hop longer
    than the frame, an FFT shorter than the frame or longer than the window, band edges
    not increasing or above the Nyquist frequency, or a band that holds no FFT bin.
    """
    import numpy as np

    rate = float(sampling_rate_hz)
    frame = int(round(spectral["frame_s"] * rate))
    hop = int(round(spectral["hop_s"] * rate))
    fft = int(spectral["fft_length"])
    if frame < 2:
        raise ConfigError(f"{_key('frame_s')}: {spectral['frame_s']} s is {frame} sample(s) at {rate:g} Hz; need >= 2")
    if hop < 1:
        raise ConfigError(f"{_key('hop_s')}: {spectral['hop_s']} s is less than one sample at {rate:g} Hz")
    if hop > frame:
        raise ConfigError(
            f"{_key('hop_s')}: the hop ({spectral['hop_s']} s) is longer than the frame "
            f"(model.spectral.frame_s {spectral['frame_s']} s): samples between frames would be skipped"
        )
    if fft < frame:
        raise ConfigError(
            f"{_key('fft_length')}: {fft} samples is shorter than the frame ({frame} samples = "
            f"model.spectral.frame_s {spectral['frame_s']} s at {rate:g} Hz); use at least {frame}"
        )
    if fft > n_samples:
        raise ConfigError(
            f"{_key('fft_length')}: {fft} samples is longer than the {n_samples}-sample window: no frame fits"
        )
    if spectral.get("band_edges_hz"):
        edges, key = np.asarray(spectral["band_edges_hz"], dtype=np.float64), "band_edges_hz"
    else:
        if not spectral["max_hz"] > spectral["min_hz"]:
            raise ConfigError(
                f"{_key('max_hz')}: {spectral['max_hz']} Hz must be above model.spectral.min_hz ({spectral['min_hz']} Hz)"
            )
        edges = np.geomspace(spectral["min_hz"], spectral["max_hz"], int(spectral["bands"]) + 1)
        key = "max_hz"
    if len(edges) < 2 or np.any(np.diff(edges) <= 0) or edges[0] < 0:
        raise ConfigError(f"{_key('band_edges_hz')}: {list(edges)} must be at least two increasing edges >= 0 Hz")
    nyquist = rate / 2
    if edges[-1] > nyquist:
        raise ConfigError(
            f"{_key(key)}: the top band edge {edges[-1]:g} Hz is above the Nyquist frequency {nyquist:g} Hz "
            f"of {rate:g} Hz windows"
        )
    counts = band_matrix(edges, fft, rate).astype(bool).sum(axis=0)
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        i = int(empty[0])
        raise ConfigError(
            f"{_key('fft_length')}: band {i + 1} of {len(edges) - 1} ({edges[i]:.3f}-{edges[i + 1]:.3f} Hz) holds no "
            f"FFT bin (bins every {rate / fft:.3f} Hz at fft_length {fft} and {rate:g} Hz; {len(empty)} empty band(s)): "
            "raise model.spectral.fft_length, or use fewer or wider bands (model.spectral.bands, min_hz, band_edges_hz)"
        )
    return {
        "frame_length": frame,
        "frame_step": hop,
        "fft_length": fft,
        "band_edges_hz": [float(e) for e in edges],
        "sampling_rate_hz": rate,
        "epsilon": float(spectral["epsilon"]),
        "n_frames": 1 + (n_samples - fft) // hop,
    }


def check_model_config(config: dict) -> dict:
    """Check the ``model`` section of a whole validated config (preset, overrides, spectral settings).

    The spectral settings are checked against the configured ``waveforms`` sampling rate and
    window; training checks them again against the store's. Returns the architecture.
    """
    arch = architecture(config["model"])
    if arch["front_end"] == "spectral":
        waveforms = config["waveforms"]
        rate = float(waveforms["sampling_rate_hz"])
        n_samples = int(round((waveforms["window_before_s"] + waveforms["window_after_s"]) * rate))
        spectral_settings(config["model"]["spectral"], rate, n_samples)
    return arch


def receptive_field(arch: dict, sampling_rate_hz: float = 40.0) -> int:
    """Receptive field (input samples) of the convolutional part, keras-tcn's two convolutions per block.

    ``1 + 2 (k - 1) stacks sum(dilations)`` in TCN steps, times the front-end's pooling
    (the filterbank's pool, the spectral front end's hop), plus the front-end's and
    stem's own extent (filter taps; the spectral front end's frame). Without a TCN
    (``tcn_filters`` 0) the TCN part is one step.
    """
    tcn = 1 + 2 * (arch["kernel_size"] - 1) * arch["stacks"] * sum(arch["dilations"]) if arch["tcn_filters"] else 1
    if arch["front_end"] == "spectral":
        # a frame sees its Hann window's frame_length samples (zero-padded to fft_length)
        settings = spectral_settings(arch["spectral"], sampling_rate_hz, n_samples=10**9)
        return int((tcn - 1) * settings["frame_step"] + settings["frame_length"])
    pool = arch["filterbank_pool"] if arch["front_end"] == "filterbank" else 1
    field = (tcn - 1) * pool + 1
    if arch["front_end"] == "filterbank":
        field += arch["filterbank_taps"] - 1 + pool - 1
    if arch["stem_kernel"]:
        field += arch["stem_kernel"] - 1
    return int(field)


def build_model(model: dict, n_samples: int = 7200, n_channels: int = 3, seed: int = 0, sampling_rate_hz: float = 40.0):
    """The Keras model of a ``model`` config section (validated; see :func:`architecture`).

    ``(batch, n_samples, n_channels)`` raw float32 windows sampled at ``sampling_rate_hz``
    (Hz) in, ``(batch, embedding_dim)`` unit vectors out. ``seed`` seeds the weight
    initialisers. The spectral front end's settings are checked against the window
    (:func:`spectral_settings`; a :class:`ConfigError` names the key).
    """
    import keras
    from tcn import TCN

    from seisembed.train.layers import LogBandSpectrogram, LogPower, PeakNormalization

    arch = architecture(section("model", model))
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((n_samples, n_channels), name="window")
    x = PeakNormalization(name="peak_normalization")(inputs)
    if arch["front_end"] == "filterbank":
        x = keras.layers.Conv1D(arch["filterbank_filters"], arch["filterbank_taps"], use_bias=False, name="filterbank")(
            x
        )
        x = LogPower(arch["filterbank_pool"], name="log_power")(x)
        x = keras.layers.BatchNormalization(name="band_norm")(x)
    elif arch["front_end"] == "spectral":
        settings = spectral_settings(arch["spectral"], sampling_rate_hz, n_samples)
        settings.pop("n_frames")
        x = LogBandSpectrogram(**settings, name="log_band_spectrogram")(x)
        x = keras.layers.BatchNormalization(name="band_norm")(x)
    if arch["stem_kernel"]:
        x = keras.layers.Conv1D(arch["stem_filters"], arch["stem_kernel"], padding="same", name="stem")(x)
    if arch["tcn_filters"]:
        x = TCN(
            nb_filters=arch["tcn_filters"],
            kernel_size=arch["kernel_size"],
            nb_stacks=arch["stacks"],
            dilations=list(arch["dilations"]),
            padding=arch["padding"],
            use_skip_connections=True,
            dropout_rate=arch["dropout_rate"],
            return_sequences=arch["head"] != "last",
            name="tcn",
        )(x)
    elif arch["head"] == "last":
        raise ConfigError("config key 'model.overrides': head 'last' needs a TCN (tcn_filters > 0)")
    if arch["head"] == "mlp":
        if arch["head_pool"] > 1:
            x = keras.layers.AveragePooling1D(arch["head_pool"], name="head_pool")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(max(1, arch["head_units"]), activation="relu", name="head_dense")(x)
        if arch["dropout_rate"]:
            x = keras.layers.Dropout(arch["dropout_rate"], name="head_dropout")(x)
    elif arch["head"] == "pool_flatten":
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


def flops_per_window(arch: dict, n_samples: int = 7200, n_channels: int = 3, sampling_rate_hz: float = 40.0) -> int:
    """Floating-point operations (2 per multiply-add) of the front end, convolutions and dense layers per window.

    Computed from the architecture (normalisation, pooling and activations are left out:
    they are a few operations per sample; a real FFT of length n counts 2.5 n log2 n).
    """
    steps, channels, total = n_samples, n_channels, 0
    if arch["front_end"] == "spectral":
        settings = spectral_settings(arch["spectral"], sampling_rate_hz, n_samples)
        fft, bins, bands = settings["fft_length"], settings["fft_length"] // 2 + 1, len(settings["band_edges_hz"]) - 1
        per_frame = fft + 2.5 * fft * math.log2(fft) + 3 * bins + 2 * bins * bands  # window, real FFT, power, bands
        steps = settings["n_frames"]
        total += int(steps * n_channels * per_frame)
        channels = n_channels * bands
    elif arch["front_end"] == "filterbank":
        steps = steps - arch["filterbank_taps"] + 1
        total += 2 * steps * arch["filterbank_taps"] * channels * arch["filterbank_filters"]
        steps, channels = steps // arch["filterbank_pool"], arch["filterbank_filters"]
    if arch["stem_kernel"]:
        total += 2 * steps * arch["stem_kernel"] * channels * arch["stem_filters"]
        channels = arch["stem_filters"]
    k, f = arch["kernel_size"], arch["tcn_filters"]
    for _ in range(arch["stacks"] * len(arch["dilations"]) if f else 0):
        total += 2 * steps * k * (channels * f + f * f)
        if channels != f:
            total += 2 * steps * channels * f  # keras-tcn's 1x1 convolution matching the residual
        channels = f
    if arch["head"] == "last":
        features = f
    elif arch["head"] == "mlp":
        units = max(1, arch["head_units"])
        total += 2 * (steps // max(1, arch["head_pool"])) * channels * units
        features = units
    elif arch["head"] == "pool_flatten":
        features = (steps // max(1, arch["head_pool"])) * channels
    else:
        steps = steps - arch["head_kernel"] + 1
        total += 2 * steps * arch["head_kernel"] * channels
        features = steps
    return int(total + 2 * features * arch["embedding_dim"])


#: how far from 1 the norm of a loaded model's embeddings may be (float32 unit vectors are within 1e-6)
UNIT_NORM_TOLERANCE = 1e-3


def keras_archive_problem(path) -> str | None:
    """What keeps ``path`` (an existing file) from being a Keras v3 ``.keras`` archive (``"it is ..."``), or ``None``.

    Keras answers "File not found" for any ``.keras`` file that is not a zip archive; this
    says what the file is instead: another suffix, empty, an HDF5 file, a truncated or
    damaged zip, a zip without a Keras model in it, or not a zip at all.
    """
    import zipfile
    from pathlib import Path

    path = Path(path)
    if path.suffix.lower() != ".keras":
        what = (
            "a legacy HDF5 model (.h5)"
            if path.suffix.lower() in (".h5", ".hdf5")
            else f"suffix {path.suffix or '(none)'!r}"
        )
        return (
            f"it has {what}, not .keras: a seisembed model is a Keras v3 archive ending in .keras "
            "(as `seisembed train` saves it)"
        )
    size = path.stat().st_size
    if size == 0:
        return "it is empty (0 bytes; an interrupted copy?)"
    with path.open("rb") as handle:
        head = handle.read(16)
    if not zipfile.is_zipfile(path):
        if head.startswith(b"PK"):
            return f"it is a truncated or damaged zip archive ({size} bytes; an interrupted copy?): copy it again"
        if head.startswith(b"\x89HDF"):
            return "it is an HDF5 file (a legacy .h5 model renamed .keras?), not a Keras v3 .keras zip archive"
        return f"it is not a zip archive, as a .keras file is (it starts with {head!r})"
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                listed = ", ".join(sorted(names)[:5]) or "nothing"
                return f"it is a zip archive without a Keras model in it (no config.json; it holds {listed})"
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        return f"it is a damaged zip archive ({type(exc).__name__}: {exc}): copy it again"
    if broken is not None:
        return f"it is a damaged zip archive (member {broken} fails its CRC check): copy it again"
    return None


def check_unit_output(model, path, n_samples: int | None = None) -> None:
    """Raise :class:`~seisembed.errors.InputError` unless ``model`` embeds windows as unit vectors.

    Two seeded random windows (the input's length, else ``n_samples``, else 7200 samples)
    go through the model; each output must be a finite vector of norm 1 within
    :data:`UNIT_NORM_TOLERANCE`. Running the model checks the contract itself, whatever
    the last layer is (a custom normalisation, or a unit norm followed by another layer,
    would fool a look at the last layer), and costs one small batch at load.
    """
    import numpy as np

    from seisembed.errors import InputError

    shape = tuple(model.input_shape[1:])
    length = shape[0] if shape[0] is not None else (n_samples or 7200)
    x = np.random.default_rng(0).normal(0.0, 1000.0, (2, length, shape[-1])).astype("float32")
    try:
        y = np.asarray(model(x, training=False), dtype="float64")
    except Exception as exc:  # a user's model may fail in any way on a window: name the file
        raise InputError(
            f"model file {path} fails on a test window of shape {x.shape[1:]}: {type(exc).__name__}: {exc}"
        ) from exc
    if y.ndim != 2:
        raise InputError(
            f"model file {path} gives outputs of shape {y.shape[1:]} per window, not one embedding vector: "
            "not a seisembed embedding model"
        )
    if not np.all(np.isfinite(y)):
        raise InputError(f"model file {path} gives non-finite embeddings (NaN or Inf) for a test window")
    norms = np.linalg.norm(y, axis=1)
    worst = float(np.max(np.abs(norms - 1.0)))
    if worst > UNIT_NORM_TOLERANCE:
        raise InputError(
            f"model file {path} gives embeddings of norm {', '.join(f'{n:.4g}' for n in norms)}, not unit vectors "
            f"(tolerance {UNIT_NORM_TOLERANCE:g}): distances and scores assume unit norm; end the model with "
            "keras.layers.UnitNormalization (as seisembed.train.model.build_model does)"
        )


def load_model(path, n_samples: int | None = None, n_channels: int = 3, sampling_rate_hz: float | None = None):
    """Load a saved seisembed model and check it: the one way every stage and tool loads a model.

    Imports :mod:`seisembed.train.layers` (which registers seisembed's layers, loss and metrics
    and keras-tcn's ``TCN``), loads with ``keras.saving.load_model(path, safe_mode=True)``
    and checks the model takes ``(n_samples, n_channels)`` windows (``n_samples`` ``None``:
    any length). Also ``seisembed.load_model``.

    Raises :class:`~seisembed.errors.InputError` naming the file when it does not exist,
    is not a Keras model archive (saying what it is: :func:`keras_archive_problem`), was
    trained for another window length or channel count, — given ``sampling_rate_hz`` (Hz) —
    has a spectral front end built for another rate, or does not embed windows as unit
    vectors (:func:`check_unit_output`).
    """
    import zipfile
    from pathlib import Path

    import keras

    from seisembed.argtypes import input_path
    from seisembed.errors import InputError
    from seisembed.train import layers  # noqa: F401  (registers the Keras objects a saved model refers to)

    if path is not None and not Path(str(path)).exists():
        raise InputError(f"model file {path} does not exist (run the train_model rule first)")
    path = input_path(path, "model file")
    problem = keras_archive_problem(path)
    if problem:
        raise InputError(f"model file {path} is not a loadable Keras model: {problem}")
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except (ValueError, OSError, TypeError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"model file {path} is not a loadable Keras model: {type(exc).__name__}: {exc}") from exc
    shape = tuple(model.input_shape[1:])
    if (n_samples is not None and shape[0] != n_samples) or shape[-1] != n_channels:
        raise InputError(
            f"model file {path} takes windows of shape {shape}, but the data have "
            f"({n_samples}, {n_channels}) (samples, channels): it was trained for another window"
        )
    if sampling_rate_hz is not None:
        rates = {float(layer.sampling_rate_hz) for layer in model.layers if hasattr(layer, "sampling_rate_hz")}
        if rates and rates != {float(sampling_rate_hz)}:
            raise InputError(
                f"model file {path} has a spectral front end for {', '.join(f'{r:g}' for r in rates)} Hz windows, "
                f"but the data are sampled at {float(sampling_rate_hz):g} Hz: it was trained for another rate"
            )
    check_unit_output(model, path, n_samples)
    return model
