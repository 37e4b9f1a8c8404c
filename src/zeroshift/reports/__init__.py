"""Cross-run aggregates computed from stored RunRecords, never inside a run, and the HTML report that draws them.

Each module reads records (and, where needed, their saved per-sample outputs) and returns plain dataclasses
that the CLI renders: ``effective_robustness`` (the logit-space trend of ImageNet models and each model's
distance from it), ``shape_bias`` (models against human observers), ``imagenet_x`` (accuracy and error ratio
per visual factor), ``factors`` (results grouped by model metadata or prompt set), ``paired`` (two models on
the same samples, with a p-value), ``corruption`` (mCE across models); ``html`` builds the self-contained report.
Published reference figures ship in ``_info/`` with their sources.

Example:
    >>> from zeroshift.reports.paired import mcnemar
    >>> round(mcnemar([1, 1, 1, 0], [0, 0, 0, 0]).p_value, 3)
    0.25

"""
