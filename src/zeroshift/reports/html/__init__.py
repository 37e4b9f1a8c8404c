"""The HTML report: one self-contained page per results store, with the data of every plot beside it.

Example:
    >>> import tempfile, os
    >>> from zeroshift.results import RunRecord, Store
    >>> from zeroshift.metrics import MetricValue
    >>> folder = tempfile.mkdtemp()
    >>> store = Store(os.path.join(folder, "r.db"))
    >>> store.write(RunRecord.new(model="zoo:a", benchmark="b", shift=None, prompts="simple", label_space="full",
    ...                           metrics=[MetricValue("top1", 0.5, True, 0.4, 0.6)]))
    >>> result = build_report(store, os.path.join(folder, "report.html"))
    >>> result.path.name, result.sections
    ('report.html', ['accuracy'])

"""

from __future__ import annotations

import os
from collections.abc import Iterable

from zeroshift.reports.html.page import ReportResult, render
from zeroshift.results.schema import RunRecord
from zeroshift.results.store import Store


def build_report(
    source: Store | Iterable[RunRecord] | str | os.PathLike[str],
    out: str | os.PathLike[str],
    title: str | None = None,
    humans: str | os.PathLike[str] | None = None,
    imagenet_x: str | os.PathLike[str] | None = None,
) -> ReportResult:
    """Write the report of a results store (a :class:`Store`, its path or URL, or records) to ``out``.

    The page is one HTML file; ``<stem>_data/`` beside it holds the CSV and JSON of every plot and table.
    ``humans`` (a folder of human-response CSVs) adds the human shape-bias reference; ``imagenet_x`` (the
    ImageNet-X annotation folder) adds the factor breakdown of the ImageNet runs that saved their samples.
    """
    store = None
    if isinstance(source, str | os.PathLike):
        source = Store(source)
    if isinstance(source, Store):
        store = source
        label = source.engine.url.render_as_string(hide_password=True)
        records = source.records()
    else:
        label, records = "records", list(source)
    references = {"humans": humans, "imagenet_x": imagenet_x}
    return render(records, out, title=title, source=label, store=store, references=references)


__all__ = ["ReportResult", "build_report"]
