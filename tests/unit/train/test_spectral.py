"""The spectral front end and the ``spectral`` preset: numbers, settings, precision, saving, the time budget."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tcn")

from seisembed.config import ConfigError, validate_config  # noqa: E402
from seisembed.errors import InputError  # noqa: E402
from seisembed.train.layers import LogBandSpectrogram  # noqa: E402
from seisembed.train.model import (  # noqa: E402
    architecture,
    band_matrix,
    build_model,
    check_model_config,
    flops_per_window,
    receptive_field,
    spectral_settings,
)

RATE = 40.0


def _spectral(**changes) -> dict:
    return {**validate_config({})["model"]["spectral"], **changes}


def _reference(x: np.ndarray, settings: dict) -> np.ndarray:
    """The front end in plain NumPy: Hann frames zero-padded (centred) to the FFT, band means, log10."""
    frame, hop, fft = settings["frame_length"], settings["frame_step"], settings["fft_length"]
    window = np.zeros(fft)
    left = (fft - frame) // 2
    window[left : left + frame] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame) / frame)  # periodic Hann
    freqs = np.fft.rfftfreq(fft, 1 / settings["sampling_rate_hz"])
    edges = np.asarray(settings["band_edges_hz"])
    n_frames = 1 + (x.shape[1] - fft) // hop
    out = np.zeros((x.shape[0], n_frames, x.shape[2] * (len(edges) - 1)))
    for b in range(x.shape[0]):
        for c in range(x.shape[2]):
            for t in range(n_frames):
                power = np.abs(np.fft.rfft(x[b, t * hop : t * hop + fft, c] * window)) ** 2
                for i in range(len(edges) - 1):
                    inside = (freqs >= edges[i]) & (
                        (freqs < edges[i + 1]) | ((i == len(edges) - 2) & (freqs == edges[-1]))
                    )
                    out[b, t, c * (len(edges) - 1) + i] = np.log10(power[inside].mean() + settings["epsilon"])
    return out


def test_front_end_equals_a_numpy_stft_with_band_means():
    settings = spectral_settings(_spectral(), RATE, 1200)
    layer = LogBandSpectrogram(**{k: v for k, v in settings.items() if k != "n_frames"})
    x = np.random.default_rng(0).normal(0, 1, (2, 1200, 3)).astype(np.float32)
    got = np.asarray(layer(x))
    assert got.shape == (2, settings["n_frames"], 72) == (2, 1 + (1200 - 512) // 40, 72)
    np.testing.assert_allclose(got, _reference(x.astype(np.float64), settings), atol=2e-4)


def test_a_tone_lands_in_its_band_and_channels_stay_apart():
    settings = spectral_settings(_spectral(), RATE, 2000)
    layer = LogBandSpectrogram(**{k: v for k, v in settings.items() if k != "n_frames"})
    edges = np.asarray(settings["band_edges_hz"])
    band = 16
    tone = np.sqrt(edges[band] * edges[band + 1])  # mid-band (geometric centre), ~5.7 Hz
    t = np.arange(2000) / RATE
    x = np.zeros((1, 2000, 3), np.float32)
    x[0, :, 1] = np.sin(2 * np.pi * tone * t)  # on N only
    out = np.asarray(layer(x))[0]
    assert np.argmax(out[:, 24:48].mean(axis=0)) == band
    assert out[:, :24].max() == pytest.approx(np.log10(settings["epsilon"]), abs=1e-3)  # silent Z: the floor


def test_band_matrix_averages_each_band_once():
    matrix = band_matrix([0.5, 1.0, 20.0], 256, RATE)
    assert matrix.shape == (129, 2)
    np.testing.assert_allclose(matrix.sum(axis=0), 1.0, rtol=1e-6)
    assert matrix[-1, 1] > 0  # the top edge (Nyquist) belongs to the last band


@pytest.mark.parametrize(
    "changes, key, words",
    [
        ({"hop_s": 5.0}, "model.spectral.hop_s", "longer than the frame"),
        ({"fft_length": 128}, "model.spectral.fft_length", "shorter than the frame"),
        ({"fft_length": 256}, "model.spectral.fft_length", "holds no FFT bin"),
        ({"max_hz": 25.0}, "model.spectral.max_hz", "above the Nyquist"),
        ({"band_edges_hz": [0.5, 2.0, 30.0]}, "model.spectral.band_edges_hz", "above the Nyquist"),
        ({"band_edges_hz": [2.0, 1.0]}, "model.spectral.band_edges_hz", "increasing"),
        ({"min_hz": 5.0, "max_hz": 2.0}, "model.spectral.max_hz", "above model.spectral.min_hz"),
        ({"fft_length": 8192}, "model.spectral.fft_length", "longer than the 7200-sample window"),
        ({"frame_s": 0.02}, "model.spectral.frame_s", "need >= 2"),
        ({"hop_s": 0.01}, "model.spectral.hop_s", "less than one sample"),
    ],
)
def test_settings_that_cannot_work_name_their_key(changes, key, words):
    with pytest.raises(ConfigError, match=f"'{key}'.*{words}"):
        spectral_settings(_spectral(**changes), RATE, 7200)


def test_whole_config_check_uses_the_configured_window_and_the_schema_types():
    config = validate_config({"waveforms": {"sampling_rate_hz": 20.0}})
    with pytest.raises(ConfigError, match="model.spectral.max_hz.*Nyquist frequency 10 Hz"):
        check_model_config(config)
    assert check_model_config(validate_config({}))["spectral"]["frame_s"] == 4.0
    with pytest.raises(ConfigError, match="model.spectral.fft_length"):
        validate_config({"model": {"spectral": {"fft_length": "big"}}})
    with pytest.raises(ConfigError, match="model.spectral.hop"):
        validate_config({"model": {"spectral": {"hop": 1.0}}})


def test_snakemake_config_check_stops_with_one_line(tmp_path, repo_root):
    code = "from seisembed.workflow import check_config\ncheck_config({'model': {'spectral': {'hop_s': 9.0}}})\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo_root, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip().startswith("Invalid configuration: config key 'model.spectral.hop_s'")
    assert "Traceback" not in out.stderr


def test_spectral_preset_architecture_parameters_and_figures():
    cfg = validate_config({})["model"]
    assert cfg["preset"] == "spectral"
    model = build_model(cfg)
    assert model.input_shape == (None, 7200, 3) and model.output_shape == (None, 32)
    assert model.get_layer("log_band_spectrogram").output.shape == (None, 168, 72)
    assert model.count_params() == 123_056
    arch = architecture(cfg)
    # TCN: 1 + 2 (3 - 1) (1 + 2 + ... + 32) = 253 frames of 1 s hop, plus one FFT span
    assert receptive_field(arch) == 252 * 40 + 160  # a frame sees its 4 s Hann window
    assert 1e7 < flops_per_window(arch) < 1e9
    mlp = build_model({**cfg, "overrides": {"tcn_filters": 0, "head": "mlp", "head_units": 256, "dropout_rate": 0.2}})
    assert "tcn" not in [layer.name for layer in mlp.layers] and mlp.output_shape == (None, 32)
    with pytest.raises(ConfigError, match="head 'last' needs a TCN"):
        build_model({**cfg, "overrides": {"tcn_filters": 0, "head": "last"}})
    with pytest.raises(ConfigError, match="front_end 'fft'"):
        architecture({**cfg, "overrides": {"front_end": "fft"}})


def test_front_end_stays_float32_under_mixed_precision():
    cfg = validate_config({})["model"]
    x = np.random.default_rng(3).normal(0, 1, (2, 7200, 3)).astype(np.float32)
    reference = build_model(cfg, seed=1)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed = build_model(cfg, seed=1)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    layer = mixed.get_layer("log_band_spectrogram")
    assert layer.compute_dtype == "float32" and mixed.get_layer("tcn").compute_dtype == "float16"
    front = keras.Model(mixed.input, layer.output)
    ref_front = keras.Model(reference.input, reference.get_layer("log_band_spectrogram").output)
    np.testing.assert_allclose(np.asarray(front(x)), np.asarray(ref_front(x)), atol=1e-5)
    out = np.asarray(mixed(x))
    assert out.dtype == np.float32 and np.all(np.isfinite(out))


def test_saved_spectral_model_is_self_contained_and_refuses_other_windows(tmp_path, reload_difference):
    from seisembed.train.model import load_model

    model = build_model(validate_config({})["model"], n_samples=1600)
    x = np.random.default_rng(1).normal(0, 5, (3, 1600, 3)).astype(np.float32) + 100.0
    assert reload_difference(model, x) < 1e-5
    path = tmp_path / "spectral.keras"
    model.save(path)
    with pytest.raises(InputError, match=r"spectral.keras takes windows of shape \(1600, 3\).*\(7200, 3\)"):
        load_model(path, n_samples=7200)
    assert load_model(path, n_samples=1600, sampling_rate_hz=40.0).input_shape == (None, 1600, 3)
    with pytest.raises(InputError, match="front end for 40 Hz windows, but the data are sampled at 20 Hz"):
        load_model(path, n_samples=1600, sampling_rate_hz=20.0)
