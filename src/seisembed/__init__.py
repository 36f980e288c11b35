"""seisembed: a path-invariant similarity measure for seismograms.

Stages (one sub-module each) talk only through files whose contracts are in
``docs/contracts.md``: :mod:`seisembed.catalog` -> :mod:`seisembed.waveforms` ->
:mod:`seisembed.dataset` -> training -> evaluation. :mod:`seisembed.synthetic`
makes the offline default study.
"""

__version__ = "0.1.0"

import importlib.abc
import importlib.util
import sys


def register_keras_objects() -> None:
    """Register seisembed's Keras layers, loss and metrics (and keras-tcn's TCN) for loading models.

    Called automatically: at ``import seisembed`` when Keras is already imported, or right
    after Keras is imported later. Afterwards a saved seisembed model loads with
    ``keras.saving.load_model(path, safe_mode=True)``.
    """
    import tcn  # noqa: F401  (registers TCN)

    from seisembed import losses  # noqa: F401  (registers TripletLoss and the metrics)
    from seisembed.model import custom_layers

    custom_layers()


class _RegisterAfterKerasImport(importlib.abc.MetaPathFinder):
    """Import hook: once ``keras`` has been imported, register seisembed's Keras objects.

    Importing seisembed must stay light (the Snakefile imports it at DAG-parse time), so
    Keras is never imported here; registration waits for the user's own ``import keras``.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            register_keras_objects()

        spec.loader.exec_module = exec_module
        return spec


if "keras" in sys.modules:
    register_keras_objects()
elif not any(isinstance(f, _RegisterAfterKerasImport) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterKerasImport())


def __getattr__(name: str):
    """``seisembed.Embedder``: imported on first use (``import seisembed`` stays light)."""
    if name == "Embedder":
        from seisembed.use.embedder import Embedder

        return Embedder
    raise AttributeError(f"module 'seisembed' has no attribute {name!r}")
