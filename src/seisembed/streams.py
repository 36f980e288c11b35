"""Random streams: one id per seeded draw, so no two draws share a random sequence.

Every seeded draw in seisembed takes its generator from
``numpy.random.default_rng([seed, stream, ...])``: the run's ``seed`` (config key
``seed``), the draw's :class:`Stream` id, and sometimes more integers (epoch, split,
trial). Two draws with different ids are independent even under one seed, and adding
or changing one draw leaves every other draw's numbers as they were. The ids are fixed
forever: changing one changes every result that depends on that draw.

====  ==================  ===========================================================
 id   name                draw (module)
====  ==================  ===========================================================
  1   MONTHS              free months for val and test (dataset.splits)
  2   STATIONS            held-out test stations (dataset.splits)
  3   SAMPLER             triplet sampler: event order and records per epoch (sampling)
  4   PAIRS               training's validation pairs (pairs)
  5   BOOTSTRAP           event-level bootstrap replicates (evaluate.stats)
  6   EVAL_PAIRS          association pairs of the evaluation (evaluate.association)
  7   TEMPLATES           one-shot discrimination templates (evaluate.discrimination)
  8   TSNE                records drawn for the t-SNE figures (evaluate.discrimination)
  9   SRSPEC              SRSpec-CNN's shuffles per epoch (evaluate.supervised)
 10   SUBSAMPLE           train subsample of the supervised classifiers (evaluate.supervised)
 11   WRONG_EVENTS        wrong-event draws of ``seisembed score-events`` (use.scoring)
====  ==================  ===========================================================

The synthetic study draws its own streams by name (:mod:`seisembed.synthetic.rng`).
"""

from __future__ import annotations

import enum

__all__ = ["Stream"]


class Stream(enum.IntEnum):
    """Id of a random stream: the second entropy word of ``default_rng([seed, stream, ...])``."""

    MONTHS = 1
    STATIONS = 2
    SAMPLER = 3
    PAIRS = 4
    BOOTSTRAP = 5
    EVAL_PAIRS = 6
    TEMPLATES = 7
    TSNE = 8
    SRSPEC = 9
    SUBSAMPLE = 10
    WRONG_EVENTS = 11
