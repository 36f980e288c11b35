"""Training: the embedding model, its Keras pieces, the triplet sampler and the training loop.

- :mod:`seisembed.train.model`: presets and the model builder, ``load_model`` (the one
  loader of a saved model, also ``seisembed.load_model``).
- :mod:`seisembed.train.layers`: the custom Keras layers, registered where they are
  defined (importing it is enough for ``keras.saving.load_model(..., safe_mode=True)``).
- :mod:`seisembed.train.losses`: batch-hard / batch-all triplet loss and its metrics.
- :mod:`seisembed.train.sampler`: L x K triplet batches from the dataset store.
- :mod:`seisembed.train.pairs`: the seeded association pairs and their AUC.
- :mod:`seisembed.train.loop`: :func:`train_model` (rule ``train_model``).
- :mod:`seisembed.train.cli`: ``seisembed train``.

Importing this package imports neither Keras nor TensorFlow; ``train_model`` is loaded on
first use.
"""

__all__ = ["train_model"]


def __getattr__(name: str):
    """``seisembed.train.train_model``, imported on first use (the package stays light)."""
    if name == "train_model":
        from seisembed.train.loop import train_model

        return train_model
    raise AttributeError(f"module 'seisembed.train' has no attribute {name!r}")
