"""seisembed: a path-invariant similarity measure for seismograms.

Stages (one sub-module each) talk only through files whose contracts are in
``docs/contracts.md``: :mod:`seisembed.catalog` -> :mod:`seisembed.waveforms` ->
:mod:`seisembed.dataset` -> training -> evaluation. :mod:`seisembed.synthetic`
makes the offline default study.

``import seisembed`` is light (the Snakefile imports it) and imports neither Keras nor
TensorFlow; it leaves ``import keras`` as it is. ``seisembed.load_model`` (a saved model,
loaded in safe mode and checked) and ``seisembed.Embedder`` import them on first use.
Importing :mod:`seisembed.train.layers` registers seisembed's Keras objects without loading.
"""

from seisembed.version import __version__

__all__ = ["Embedder", "__version__", "load_model"]


def __getattr__(name: str):
    """``seisembed.Embedder`` and ``seisembed.load_model``: imported on first use (``import seisembed`` stays light)."""
    if name == "Embedder":
        from seisembed.use.embedder import Embedder

        return Embedder
    if name == "load_model":
        from seisembed.train.model import load_model

        return load_model
    raise AttributeError(f"module 'seisembed' has no attribute {name!r}")
