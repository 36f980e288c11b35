"""seisembed's Keras objects: registered where they are defined, loaded one way, no import hook.

``import seisembed`` must not import Keras or change what ``import keras`` does; importing
:mod:`seisembed.train.layers` registers the layers, the loss, the metrics and keras-tcn's TCN under
the names saved models carry; :func:`seisembed.load_model` loads and checks a model.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_import_seisembed_imports_no_keras_and_leaves_import_keras_alone():
    code = (
        "import sys\n"
        "finders = list(sys.meta_path)\n"
        "import seisembed, seisembed.train.model, seisembed.workflow\n"
        "assert sys.meta_path == finders, sys.meta_path\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'tcn')))\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_import_keras_after_seisembed_works_without_keras_tcn():
    pytest.importorskip("keras")
    # before: the import hook turned `import keras` into `import tcn` (ModuleNotFoundError)
    code = "import sys\nsys.modules['tcn'] = None  # keras-tcn not installed\nimport seisembed\nimport keras\nprint('ok')\n"
    out = _python(code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "ok"


def test_registered_names_are_those_saved_models_carry():
    keras = pytest.importorskip("keras")
    pytest.importorskip("tcn")
    from seisembed.train import layers, losses

    # the names in the config.json of models saved before the layers moved to seisembed.train.layers
    for cls in (layers.PeakNormalization, layers.LogPower, layers.LogBandSpectrogram, losses.TripletLoss):
        assert keras.saving.get_registered_name(cls) == f"seisembed>{cls.__name__}"
        assert keras.saving.get_registered_object(f"seisembed>{cls.__name__}") is cls
    for metric in losses.TRAINING_METRICS:
        assert keras.saving.get_registered_name(metric) == f"seisembed>{metric.__name__}"
    assert keras.saving.get_registered_object("Custom>TCN") is not None


def test_a_compiled_model_loads_in_safe_mode_after_only_importing_the_layers(tmp_path):
    pytest.importorskip("keras")
    pytest.importorskip("tcn")
    from seisembed.config import validate_config
    from seisembed.train.losses import TRAINING_METRICS, TripletLoss
    from seisembed.train.model import build_model

    x = np.random.default_rng(2).normal(0, 100, (2, 800, 3)).astype(np.float32)
    for preset in ("spectral", "demo"):  # LogBandSpectrogram; LogPower; both PeakNormalization and TCN
        model = build_model({**validate_config({})["model"], "preset": preset}, n_samples=800)
        model.compile(optimizer="adam", loss=TripletLoss(mode="batch_all"), metrics=list(TRAINING_METRICS))
        model.save(tmp_path / f"{preset}.keras")
        np.save(tmp_path / f"{preset}.npy", np.asarray(model(x)))
    np.save(tmp_path / "x.npy", x)
    code = (
        "import numpy as np, keras, seisembed.train.layers\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        "for preset in ('spectral', 'demo'):\n"
        f"    m = keras.saving.load_model({str(tmp_path)!r} + f'/{{preset}}.keras', safe_mode=True)\n"
        "    assert type(m.loss).__name__ == 'TripletLoss' and m.loss.mode == 'batch_all', m.loss\n"
        f"    print(np.abs(np.asarray(m(x)) - np.load({str(tmp_path)!r} + f'/{{preset}}.npy')).max())\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert [float(v) for v in out.stdout.split()[-2:]] == [0.0, 0.0]
    code = (
        "import sys, seisembed\n"
        f"m = seisembed.load_model({str(tmp_path / 'demo.keras')!r}, n_samples=800, sampling_rate_hz=40.0)\n"
        "print(m.input_shape, 'keras' in sys.modules)\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "(None, 800, 3) True"


def test_load_model_is_the_public_name():
    import seisembed
    from seisembed.train import model

    assert seisembed.load_model is model.load_model
    assert "load_model" in seisembed.__all__
    with pytest.raises(AttributeError, match="no attribute 'register_keras_objects'"):
        seisembed.register_keras_objects  # noqa: B018  (gone with the import hook)
