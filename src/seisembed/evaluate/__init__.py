"""Evaluation of the embedding against association baselines and supervised classifiers.

- :mod:`seisembed.evaluate.association` — embeddings of the store, seeded distinct
  association pairs, scores of the three methods, val thresholds applied to test,
  tables by distance and novelty, figures.
- :mod:`seisembed.evaluate.association_baselines` — vectorised cross-correlation and the spectral LDA metric.
- :mod:`seisembed.evaluate.discrimination` — one-shot explosion/earthquake discrimination, t-SNE.
- :mod:`seisembed.evaluate.supervised` — the supervised classifiers SVM-36 and SRSpec-CNN
  (``supervised.json``).
- :mod:`seisembed.evaluate.runtime` — the runtime table.
- :mod:`seisembed.evaluate.stats` — AUC, threshold choice, event-level (cluster) bootstrap.
"""
