"""Triplet losses on unit-vector embeddings, and the metrics that watch them.

All losses take ``y_true`` = the event label of each record (int, shape ``(B,)`` or
``(B, 1)``) and ``y_pred`` = the embeddings ``(B, D)`` (unit vectors), and use the
Euclidean (chord) distance ``d = sqrt(2 - 2 cos)`` in ``[0, 2]`` as the paper.

- :func:`batch_hard`: for each anchor, its farthest positive and nearest negative:
  ``mean(max(d_ap_max - d_an_min + margin, 0))`` (the paper; margin 0.2).
- ``soft=True``: the authors' soft margin ``softplus(d_ap_max - d_an_min)``.
- :func:`batch_all`: the mean of ``max(d_ap - d_an + margin, 0)`` over the *active*
  triplets (those with a positive loss), every (anchor, positive, negative) of the
  batch. It does not collapse from random weights where batch-hard did (measured on
  the default study: every batch-hard run from random initialisation put all
  embeddings on one point within ~20 steps).
- :class:`TripletLoss`: one serialisable loss with a ``hard_weight`` variable that
  blends the two (0: batch-all, 1: batch-hard); :class:`HardMiningSchedule` (called by
  the training loop at the start of each epoch) warms up on batch-all, then ramps to
  batch-hard.

Metrics (:func:`triplet_metrics`): share of active triplets, mean hardest-positive
and hardest-negative distance, and the mean pairwise distance, whose fall towards
zero is an embedding collapse (:func:`seisembed.train.train_model` stops such a run).
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = [
    "HardMiningSchedule",
    "TripletLoss",
    "batch_all",
    "batch_hard",
    "pairwise_distances",
    "training_metrics",
    "triplet_metrics",
]

#: distances below this are treated as zero inside sqrt (keeps gradients finite)
_EPS = 1e-12


def pairwise_distances(embeddings):
    """Chord distances ``(B, B)`` between unit vectors: ``sqrt(max(2 - 2 e.e', 0))``."""
    dot = ops.matmul(embeddings, ops.transpose(embeddings))
    squared = ops.maximum(2.0 - 2.0 * dot, 0.0)
    # exact zeros on the diagonal, and a gradient-safe sqrt elsewhere
    eye = ops.eye(ops.shape(embeddings)[0], dtype=embeddings.dtype)
    return ops.sqrt(squared + _EPS) * (1.0 - eye)


def _masks(labels):
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    same = ops.equal(labels[:, None], labels[None, :])
    eye = ops.cast(ops.eye(ops.shape(labels)[0]), "bool")
    positive = ops.logical_and(same, ops.logical_not(eye))
    negative = ops.logical_not(same)
    return positive, negative


def _hardest(distances, positive, negative):
    """Per anchor: the farthest positive and the nearest negative distance."""
    pos = ops.max(ops.where(positive, distances, ops.zeros_like(distances)), axis=1)
    big = ops.max(distances) + 1.0
    neg = ops.min(ops.where(negative, distances, ops.ones_like(distances) * big), axis=1)
    return pos, neg


def batch_hard(labels, embeddings, margin: float = 0.2, soft: bool = False):
    """Batch-hard triplet loss (mean over anchors); ``soft``: softplus instead of the hinge."""
    distances = pairwise_distances(ops.cast(embeddings, "float32"))
    positive, negative = _masks(labels)
    pos, neg = _hardest(distances, positive, negative)
    gap = pos - neg
    return ops.mean(ops.softplus(gap) if soft else ops.relu(gap + margin))


def _triplet_values(labels, embeddings, margin: float):
    """``max(d_ap - d_an + margin, 0)`` for every valid triplet ``(B, B, B)`` and the validity mask."""
    distances = pairwise_distances(ops.cast(embeddings, "float32"))
    positive, negative = _masks(labels)
    values = ops.relu(distances[:, :, None] - distances[:, None, :] + margin)
    valid = ops.logical_and(positive[:, :, None], negative[:, None, :])
    return values * ops.cast(valid, "float32"), valid


def batch_all(labels, embeddings, margin: float = 0.2):
    """Mean loss over the active (positive-loss) triplets of the batch (0 when none is active)."""
    values, _ = _triplet_values(labels, embeddings, margin)
    active = ops.cast(values > 1e-16, "float32")
    return ops.sum(values) / ops.maximum(ops.sum(active), 1.0)


def triplet_metrics(labels, embeddings, margin: float = 0.2) -> dict:
    """``mean_triplet_loss`` (hinge averaged over every valid triplet: falls as training
    separates events, unlike batch-all's mean over the active ones), ``active_triplets``
    (share of valid triplets with positive loss), ``hardest_positive``, ``hardest_negative``
    (mean distances) and ``mean_distance`` (all pairs, the collapse gauge)."""
    values, valid = _triplet_values(labels, embeddings, margin)
    active = ops.sum(ops.cast(values > 1e-16, "float32")) / ops.maximum(ops.sum(ops.cast(valid, "float32")), 1.0)
    distances = pairwise_distances(ops.cast(embeddings, "float32"))
    positive, negative = _masks(labels)
    pos, neg = _hardest(distances, positive, negative)
    n = ops.cast(ops.shape(distances)[0], "float32")
    return {
        "mean_triplet_loss": ops.sum(values) / ops.maximum(ops.sum(ops.cast(valid, "float32")), 1.0),
        "active_triplets": active,
        "hardest_positive": ops.mean(pos),
        "hardest_negative": ops.mean(neg),
        "mean_distance": ops.sum(distances) / ops.maximum(n * (n - 1.0), 1.0),
    }


def _per_replica(loss):
    """``loss`` divided by the replicas in sync, inside a ``tf.distribute`` replica context.

    Keras scales a loss for distribution only when it reduces it itself; a loss that
    returns its own scalar (as the triplet losses do) must do it, or the replicas'
    gradients are summed (N times too large) and the logged loss is N times too large.
    """
    if keras.backend.backend() != "tensorflow":
        return loss
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync if context is not None else 1
    return loss / replicas if replicas > 1 else loss


@keras.saving.register_keras_serializable(package="seisembed")
class TripletLoss(keras.losses.Loss):
    """``(1 - w) * batch_all + w * batch_hard`` with ``w`` = :attr:`hard_weight` (a variable).

    ``mode``: ``"batch_hard"`` (w = 1), ``"batch_all"`` (w = 0) or ``"schedule"`` (w set by
    :class:`HardMiningSchedule`, starting at 0). ``soft``: the batch-hard part uses the
    authors' soft margin. Keras calls it with ``(y_true, y_pred)``; losses reduce to a scalar.
    """

    def __init__(
        self, margin: float = 0.2, mode: str = "schedule", soft: bool = False, name: str = "triplet", **kwargs
    ):
        kwargs.pop("reduction", None)
        super().__init__(name=name, reduction="none", **kwargs)
        if mode not in ("batch_hard", "batch_all", "schedule"):
            raise ValueError(f"triplet loss mode {mode!r} is not one of batch_hard, batch_all, schedule")
        self.margin, self.mode, self.soft = float(margin), mode, bool(soft)
        self.hard_weight = keras.Variable(1.0 if mode == "batch_hard" else 0.0, trainable=False, name="hard_weight")

    def call(self, y_true, y_pred):
        w = ops.cast(self.hard_weight, "float32")
        hard = batch_hard(y_true, y_pred, self.margin, self.soft)
        if self.mode == "batch_hard":
            return _per_replica(hard)
        return _per_replica((1.0 - w) * batch_all(y_true, y_pred, self.margin) + w * hard)

    def get_config(self) -> dict:
        return {"margin": self.margin, "mode": self.mode, "soft": self.soft, "name": self.name}


class HardMiningSchedule:
    """Batch-all for ``warmup_epochs``, then a linear ramp to batch-hard over ``ramp_epochs``.

    The training loop calls :meth:`on_epoch_begin` before each epoch, which sets the loss's
    :attr:`TripletLoss.hard_weight`. The weight depends only on the epoch number, so a
    resumed run continues the same schedule.
    """

    def __init__(self, loss: TripletLoss, warmup_epochs: int, ramp_epochs: int, final_weight: float = 1.0):
        self.loss, self.warmup, self.ramp, self.final = loss, int(warmup_epochs), int(ramp_epochs), float(final_weight)

    def weight(self, epoch: int) -> float:
        """The batch-hard weight used in ``epoch`` (0-based)."""
        if self.loss.mode != "schedule":
            return 1.0 if self.loss.mode == "batch_hard" else 0.0
        if epoch < self.warmup:
            return 0.0
        if self.ramp <= 0:
            return self.final
        return self.final * min(1.0, (epoch - self.warmup + 1) / self.ramp)

    def on_epoch_begin(self, epoch: int) -> float:
        """Set the loss's batch-hard weight for ``epoch`` (0-based); returns it."""
        weight = self.weight(epoch)
        self.loss.hard_weight.assign(weight)
        return weight


def _metric(name: str):
    def metric(y_true, y_pred, margin: float = 0.2):
        return triplet_metrics(y_true, y_pred, margin)[name]

    metric.__name__ = name
    return keras.saving.register_keras_serializable(package="seisembed", name=name)(metric)


#: Keras metric functions of :func:`triplet_metrics` (registered: compiled checkpoints name them; their
#: ``margin`` defaults to 0.2, what models compiled before :func:`training_metrics` used)
mean_triplet_loss = _metric("mean_triplet_loss")
active_triplets = _metric("active_triplets")
hardest_positive = _metric("hardest_positive")
hardest_negative = _metric("hardest_negative")
mean_distance = _metric("mean_distance")
TRAINING_METRICS = (mean_triplet_loss, active_triplets, hardest_positive, hardest_negative, mean_distance)


def training_metrics(margin: float) -> list:
    """The :data:`TRAINING_METRICS` at the loss's ``margin``, for ``model.compile(metrics=...)``.

    Each is a :class:`keras.metrics.MeanMetricWrapper` of the registered function with
    ``margin`` in its config (so a compiled checkpoint resumes with the same margin), logged
    under the function's name as before.
    """
    return [keras.metrics.MeanMetricWrapper(fn, name=fn.__name__, margin=float(margin)) for fn in TRAINING_METRICS]
