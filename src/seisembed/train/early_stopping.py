"""Early stopping with keep-best: the one piece used by the training loop and the SRSpec-CNN baseline.

:class:`EarlyStopping` watches a score where higher is better (a val AUC): an epoch
whose score beats the best so far by more than ``min_delta`` is the new best (the
patience counter restarts); any other epoch, a NaN score included, adds one to the
counter, and training stops once it reaches ``patience``.

Keep-best: :meth:`EarlyStopping.update` given the model keeps a copy of its weights
when the epoch is the best (``model.get_weights()``); :meth:`EarlyStopping.restore_best`
puts them back (``model.set_weights``). The training loop instead keeps the best model
on disk in its resume checkpoint (it must survive a kill), and stores this object's
:meth:`EarlyStopping.state` beside it to resume the same counter.

Pure Python: importing this module imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

import math

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Best score, its epoch and the epochs waited since; stop after ``patience`` epochs without a better one.

    ``best``, ``best_epoch`` and ``wait`` start a fresh run (``-inf``, 0, 0) or continue a
    resumed one (from :meth:`state`). Epochs are counted from 1 (the epoch just finished).
    """

    def __init__(
        self,
        patience: int,
        min_delta: float = 0.0,
        best: float = -math.inf,
        best_epoch: int = 0,
        wait: int = 0,
    ):
        self.patience, self.min_delta = int(patience), float(min_delta)
        self.best, self.best_epoch, self.wait = float(best), int(best_epoch), int(wait)
        self.best_weights: list | None = None

    def update(self, epoch: int, value: float, model=None) -> bool:
        """Record epoch ``epoch``'s score; True when it is the new best (then ``model``'s weights are kept)."""
        improved = value > self.best + self.min_delta  # False for NaN
        if improved:
            self.best, self.best_epoch, self.wait = float(value), int(epoch), 0
            if model is not None:
                self.best_weights = model.get_weights()
        else:
            self.wait += 1
        return improved

    @property
    def should_stop(self) -> bool:
        """True once ``patience`` epochs in a row brought no better score."""
        return self.wait >= self.patience

    def restore_best(self, model) -> None:
        """Give ``model`` the weights of the best epoch (kept by :meth:`update`)."""
        if self.best_weights is None:
            raise ValueError("no epoch was better than the start, so there are no best weights to restore")
        model.set_weights(self.best_weights)

    def state(self) -> dict:
        """The counters as JSON-ready values (``best``, ``best_epoch``, ``wait``), for a resume checkpoint."""
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}
