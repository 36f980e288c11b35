"""Evaluation of the embedding against correlation and a linear spectral metric.

- :mod:`seisembed.evaluate.association` — embeddings of the store, seeded distinct
  association pairs, scores of the three methods, val thresholds applied to test,
  tables by distance and novelty, figures.
- :mod:`seisembed.evaluate.association_baselines` — vectorised cross-correlation and the spectral LDA metric.
- :mod:`seisembed.evaluate.stats` — AUC, threshold choice, event-level (cluster) bootstrap.
"""
