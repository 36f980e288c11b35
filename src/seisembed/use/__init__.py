"""Use a trained model on new records: embed, search similar records, discriminate, score associations.

* :class:`~seisembed.use.embedder.Embedder` (also ``seisembed.Embedder``): ObsPy
  streams or raw windows in, unit vectors out, windows cut by the waveform stage's code;
* :mod:`seisembed.use.search`: exact (scikit-learn) and approximate (FAISS HNSW)
  nearest-neighbour indexes over an embeddings table, refusing queries of another model;
* :mod:`seisembed.use.templates`: nearest-centroid labels from labelled templates,
  per record and per event;
* :mod:`seisembed.use.scoring`: each record's distance to its event's centroid,
  flagged at a false-alarm rate calibrated on val.

The command-line tools are ``seisembed embed | index | similar | discriminate | score-events``
(:mod:`seisembed.use.cli`); docs/use.md has worked examples.
"""

from seisembed.use.embedder import Embedder, model_hash, read_embeddings
from seisembed.use.picks import read_picks

__all__ = ["Embedder", "model_hash", "read_embeddings", "read_picks"]
