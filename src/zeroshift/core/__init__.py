"""Shared low-level pieces below the engine, the metrics, the models and the reports (none of which it imports).

* :mod:`.lazy`: heavy libraries imported on first use (modules the read-only commands import never load torch);
* :mod:`.numeric`: the one ``finite`` helper for scalars and the one for rows of logits;
* :mod:`.io`: the one atomic file write;
* :mod:`.vectors`: content-addressed vector banks (the artefact cache);
* :mod:`.outputs`: class scores of a condition (``Outputs``), patch embeddings (``LocalOutputs``).
"""
