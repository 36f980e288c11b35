"""seisembed: a path-invariant similarity measure for seismograms.

Stages (one sub-module each) talk only through files whose contracts are in
``docs/contracts.md``: :mod:`seisembed.catalog` -> :mod:`seisembed.waveforms` ->
:mod:`seisembed.dataset` -> training -> evaluation. :mod:`seisembed.synthetic`
makes the offline default study.
"""

__version__ = "0.1.0"
