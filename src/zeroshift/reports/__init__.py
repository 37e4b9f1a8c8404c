"""Reports: cross-run aggregates over stored records, their plots, and the self-contained HTML report.

Example:
    >>> from zeroshift.reports.html import build_report

"""
