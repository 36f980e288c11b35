"""Supervised discrimination classifiers: an SVM on 36 spectral features and SRSpec-CNN.

The paper compares its one-shot discrimination with two discriminators trained on the
whole training set (Fig. 11 dashed lines, Fig. 12); the authors' code has neither. Both
are trained on the **train** records, their hyper-parameters (SVM) or stopping epoch
(CNN) chosen on **val**, their decision threshold chosen on **val** (maximum accuracy)
and applied unchanged to **test**; explosion is the positive class.

:mod:`~seisembed.evaluate.supervised.svm36`
    SVM-36 (after Kortström et al., 2016): features and classifier.
:mod:`~seisembed.evaluate.supervised.srspec_cnn`
    SRSpec-CNN (in the style of Nakano et al., 2019): spectrograms and network.
:mod:`~seisembed.evaluate.supervised.common`
    The method names and the store metadata both read.
:mod:`~seisembed.evaluate.supervised.run`
    The stage: splits, training subsample, thresholds, the metrics and scores files.
"""

from __future__ import annotations

from seisembed.evaluate.supervised.common import LABELS, METHODS, store_metadata
from seisembed.evaluate.supervised.run import balanced_decision, evaluate_supervised
from seisembed.evaluate.supervised.srspec_cnn import enable_determinism, fit_srspec_cnn, spectrograms
from seisembed.evaluate.supervised.svm36 import SVM_WINDOWS, band_log_power, fit_svm, svm_features, svm_windows

__all__ = [
    "LABELS",
    "METHODS",
    "SVM_WINDOWS",
    "balanced_decision",
    "band_log_power",
    "enable_determinism",
    "evaluate_supervised",
    "fit_srspec_cnn",
    "fit_svm",
    "spectrograms",
    "store_metadata",
    "svm_features",
    "svm_windows",
]
