"""Cross-run aggregates computed from stored RunRecords (never inside a run), for the report to draw.

Example:
    >>> from zeroshift.reports.corruption import corruption_summary
    >>> corruption_summary([])
    []

"""
