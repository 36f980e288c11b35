"""Dataset stage: one Zarr store with train/val/test and held-out splits, plus a dataset card.

Public surface:

- :func:`build_dataset` (``seisembed.dataset.build``): waveform partitions ->
  ``waveforms.zarr`` (contract in that module's docstring and docs/contracts.md);
- :func:`assign_splits` (``seisembed.dataset.splits``): the split rules;
- :func:`write_card` (``seisembed.dataset.card``): ``card.md``/``card.json``/figures;
- ``seisembed.dataset.seisbench_export.export_seisbench``: the store as a SeisBench dataset
  folder; ``seisembed.dataset.seisbench_import.build_from_seisbench``: the store built from one
  (``dataset.source: seisbench``); the format itself: ``seisembed.dataset.seisbench_format``.

The triplet sampler that reads the store lives in :mod:`seisembed.train.sampler`.
Submodules are imported lazily so ``import seisembed.dataset`` stays cheap.
"""

from __future__ import annotations

__all__ = ["build_dataset", "assign_splits", "write_card"]


def __getattr__(name: str):
    if name == "build_dataset":
        from seisembed.dataset.build import build_dataset

        return build_dataset
    if name == "assign_splits":
        from seisembed.dataset.splits import assign_splits

        return assign_splits
    if name == "write_card":
        from seisembed.dataset.card import write_card

        return write_card
    raise AttributeError(name)
