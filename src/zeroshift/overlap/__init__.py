"""Train/test overlap: find evaluation images a model may have seen in training, and score with and without them.

Modules, each with one job:

* :mod:`~zeroshift.overlap.corpus`: training corpora (image folder, webdataset shards, precomputed embeddings).
* :mod:`~zeroshift.overlap.features`: the ``Embedder`` / ``FeatureProvider`` interfaces features come through.
* :mod:`~zeroshift.overlap.index`: ``OverlapIndex``, a resumable FAISS index of a corpus, kept in a folder.
* :mod:`~zeroshift.overlap.hashes`: 64-bit perceptual hashes and Hamming distances.
* :mod:`~zeroshift.overlap.checks`: nearest neighbours, duplicate flags, within/between-benchmark duplicates.
* :mod:`~zeroshift.overlap.plants` and :mod:`~zeroshift.overlap.calibration`: planted near-duplicates and the
  precision/recall of the flag across thresholds.
* :mod:`~zeroshift.overlap.contamination`: a metric on all, clean and overlapping samples, with intervals.
* :mod:`~zeroshift.overlap.zoo_corpus`: a zoo model's FactorWorld training set, regenerated as a corpus.
"""
