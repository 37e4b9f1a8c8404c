"""Build the page: run the available sections, write the data behind every plot, render one HTML file.

The page is self-contained: CSS, the small script (sortable tables, model and group selection, figure
selectors) and the SVG plots are inline, and a Content-Security-Policy forbids fetching anything, so opening it
never touches the network. Beside it, ``<name>_data/`` holds one CSV and one JSON file per plot and table,
and ``index.json`` listing them with the protocol of each plot.

Example:
    >>> import tempfile, os
    >>> from zeroshift.results import RunRecord
    >>> from zeroshift.metrics import MetricValue
    >>> rec = RunRecord.new(model="zoo:a", benchmark="b", shift=None, prompts="simple", label_space="full",
    ...                     metrics=[MetricValue("top1", 0.5, True, 0.4, 0.6)])
    >>> out = os.path.join(tempfile.mkdtemp(), "r.html")
    >>> result = render([rec], out)
    >>> result.figures, sorted(p.name for p in result.data_dir.iterdir())[:2]
    (['accuracy-top1-unknown'], ['accuracy-table.csv', 'accuracy-table.json'])

"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import math
import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from zeroshift.metrics.base import json_safe
from zeroshift.reports.html import measurements as M
from zeroshift.reports.html.data import ReportData
from zeroshift.reports.html.escape import csv_cell, script_json, slug
from zeroshift.reports.html.findings import Finding, findings
from zeroshift.reports.html.section import Figure, SectionContent, SummaryColumn, Table, TableCell
from zeroshift.reports.html.sections import ordered
from zeroshift.reports.html.svg import fmt
from zeroshift.results.schema import RunRecord

INDEX = "index.json"


@dataclass
class ReportResult:
    """What :func:`build_report` wrote.

    Attributes:
        path: the HTML file.
        data_dir: the folder of CSV/JSON files beside it.
        figures: ids of every plot on the page (each has ``<id>.csv`` and ``<id>.json`` in ``data_dir``).
        sections: names of the sections built.
        skipped: section name -> the measurements it needs that the store lacks.
        records: number of records read.

    """

    path: Path
    data_dir: Path
    figures: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    records: int = 0


@dataclass
class _Built:
    name: str
    title: str
    description: str
    content: SectionContent


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("zeroshift.reports.html", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["script_json"] = lambda v: Markup(script_json(v))
    return env


def _csv(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: csv_cell(_plain(v)) for k, v in r.items()})
    return buffer.getvalue()


def _plain(v: Any) -> Any:
    v = json_safe(v)
    if isinstance(v, dict | list):
        return json.dumps(v, default=str)
    return v


def _json(payload: Any) -> str:
    # the same escaping as inline script JSON: the file stays inert if it is ever served as HTML
    return script_json(json_safe(payload)) + "\n"


def _atomic_write(path: Path, text_: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text_)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _summary_table(data: ReportData, columns: list[SummaryColumn]) -> Table:
    head = ["model", "prompts", "kind", "family", "training data"] + [c.title for c in columns]
    rows = []
    for e in data.entries:
        cells = [
            TableCell(e.label),
            TableCell(e.prompts),
            TableCell(str(e.info.get("kind") or "-")),
            TableCell(str(e.info.get("family") or "-")),
            TableCell(str(e.info.get("training_data") or "-")),
        ]
        for c in columns:
            m = c.values.get(e.id)
            if m is None or m.value is None or not math.isfinite(m.value):
                cells.append(TableCell("-"))
                continue
            ci = f"[{fmt(m.ci_low)}, {fmt(m.ci_high)}]" if m.ci_low is not None and m.ci_high is not None else ""
            cells.append(TableCell(fmt(m.value), m.value, c.tooltip, "" if ci == "[-, -]" else ci))
        rows.append(cells)
    return Table("summary", "Summary per model", head, rows, [e.id for e in data.entries])


def _table_rows(table: Table) -> list[dict[str, Any]]:
    out = []
    for r in table.rows:
        row: dict[str, Any] = {}
        for col, cell in zip(table.columns, r, strict=True):
            row[col] = (
                cell.sort if isinstance(cell.sort, int | float) and not isinstance(cell.sort, bool) else cell.text
            )
            if cell.sub:
                row[f"{col} (95% interval)"] = cell.sub
        out.append(row)
    return out


def _clear_previous(data_dir: Path) -> None:
    """Remove the files a previous build listed in its index (and nothing else)."""
    index = data_dir / INDEX
    try:
        listed = json.loads(index.read_text())
    except (OSError, ValueError):
        return
    for item in listed.get("files", []) if isinstance(listed, dict) else []:
        name = Path(str(item)).name
        if name == str(item) and name.endswith((".csv", ".json")):
            (data_dir / name).unlink(missing_ok=True)


def render(
    records: Iterable[RunRecord],
    out: str | os.PathLike[str],
    title: str | None = None,
    source: str = "",
    store: Any = None,
    references: dict[str, Any] | None = None,
) -> ReportResult:
    """Build the report of ``records`` into ``out`` (HTML) and ``<stem>_data/`` beside it."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ReportData(records, store, references)
    built: list[_Built] = []
    skipped: dict[str, list[str]] = {}
    columns: list[SummaryColumn] = []
    for section in ordered():
        if not section.available(data):
            skipped[section.title] = section.missing(data) or ["a comparison the store cannot make"]
            continue
        built.append(_Built(section.name, section.title, section.description, section.build(data)))
        columns += [c for c in section.summary(data) if c.values]
    summary = _summary_table(data, columns)

    data_dir = path.with_name(f"{path.stem}_data")
    data_dir.mkdir(exist_ok=True)
    _clear_previous(data_dir)
    files: list[str] = []
    index_figures: list[dict[str, Any]] = []
    seen: set[str] = set()

    def write(stem: str, rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
        _atomic_write(data_dir / f"{stem}.csv", _csv(rows))
        _atomic_write(data_dir / f"{stem}.json", _json({**meta, "rows": rows}))
        files.extend([f"{stem}.csv", f"{stem}.json"])

    tables = [summary] + [t for b in built for t in b.content.tables]
    for t in tables:
        t.id = _unique(t.id, seen)
        write(t.id, _table_rows(t), {"table": t.title})
    for b in built:
        for f in b.content.figures:
            f.id = _unique(f.id, seen)
            write(f.id, f.rows, {"figure": f.title, "section": b.name, "protocol": f.protocol})
            index_figures.append(
                {
                    "id": f.id,
                    "section": b.name,
                    "title": f.title,
                    "protocol": f.protocol,
                    "csv": f"{f.id}.csv",
                    "json": f"{f.id}.json",
                }
            )
    figure_ids = {f["id"] for f in index_figures}
    found = [_linked(f, figure_ids) for f in findings(data)]
    write("findings", [f.as_dict() for f in found], {"findings": "the findings list at the top of the page"})
    _atomic_write(
        data_dir / INDEX,
        _json({"figures": index_figures, "tables": [t.id for t in tables], "files": files + [INDEX]}),
    )

    entries_json = [
        {
            "id": e.id,
            "label": e.label,
            "color": e.color,
            "kind": str(e.info.get("kind") or ""),
            "factors": {f: _factor_text(e.factor(f)) for f, _ in M.SIX_FACTORS},
        }
        for e in data.entries
    ]
    factor_names = [(f, t) for f, t in M.SIX_FACTORS if any(x["factors"][f] for x in entries_json)]
    env = _environment()
    html = env.get_template("report.html.j2").render(
        title=title or "zeroshift report",
        source=source,
        generated=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        version=_version(),
        n_records=len(data),
        entries=data.entries,
        entries_json=json_safe(entries_json),
        factor_names=factor_names,
        summary=summary,
        findings=found,
        kinds=sorted({str(e.info.get("kind")) for e in data.entries if e.info.get("kind")}),
        sections=[_view(b, data) for b in built],
        skipped=skipped,
        data_rel=data_dir.name,
        nonce=secrets.token_urlsafe(16),
        legend_of=lambda f: _legend(f, data),
    )
    _atomic_write(path, html)
    return ReportResult(
        path=path,
        data_dir=data_dir,
        figures=[f["id"] for f in index_figures],
        sections=[b.name for b in built],
        skipped=skipped,
        records=len(data),
    )


def _factor_text(v: Any) -> str:
    return "" if v is None or v == "unknown" else str(v)


def _unique(stem: str, seen: set[str]) -> str:
    out, k = stem, 1
    while out in seen:
        k += 1
        out = f"{stem}-{k}"
    seen.add(out)
    return out


def _svg_width(svg: str) -> float:
    found = re.search(r'<svg[^>]*? width="([0-9.]+)"', svg)
    return float(found.group(1)) if found else 0.0


def _linked(f: Finding, figure_ids: set[str]) -> Finding:
    """The finding, its figure link kept only when that figure is on the page."""
    if f.figure not in figure_ids:
        f.figure = None
    return f


def _legend(f: Figure, data: ReportData) -> list[dict[str, str]]:
    """A figure's own legend: its series that are not models (groups, humans); models are in the section's."""
    return [{"id": "", "label": label, "color": color} for label, color in f.legend]


def _section_legend(content: SectionContent, data: ReportData) -> list[dict[str, str]]:
    """One legend per section: every model drawn in any of its figures, once."""
    drawn = {i for f in content.figures for i in f.entries}
    return [{"id": e.id, "label": e.label, "color": e.color} for e in data.entries if e.id in drawn]


def _view(b: _Built, data: ReportData) -> dict[str, Any]:
    content = b.content
    groups = content.selector[1] if content.selector else []
    return {
        "name": b.name,
        "anchor": slug("section", b.name),
        "title": b.title,
        "description": b.description,
        "legend": _section_legend(content, data),
        # a grid of narrow cells when every side-by-side figure is small (reliability diagrams, histograms)
        "small": all(_svg_width(f.svg) <= 340 for f in content.figures if not f.wide),
        # a figure of one model only (a reliability diagram, a histogram) is hidden with that model
        "owners": {f.id: f.entries[0] for f in content.figures if len(f.entries) == 1 and not f.legend},
        "figures": [(f, Markup(f.svg)) for f in content.figures],
        "tables": content.tables,
        "notes": content.notes,
        "selector": {"label": content.selector[0], "values": groups} if content.selector and groups else None,
        # without a selector every figure stays visible, whatever its group
        "first_group": groups[0] if groups else None,
        "hides": bool(groups),
    }


def _version() -> str:
    from zeroshift import __version__

    return __version__
