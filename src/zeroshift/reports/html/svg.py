"""Server-side SVG charts: dot plots with intervals, line plots, logit scatter plots, reliability diagrams and
histograms, drawn in Python so that the report needs no script library and fetches nothing.

Every text and attribute value goes through :func:`~zeroshift.reports.html.escape.text`; every element that
belongs to a series carries ``data-entry="<entry id>"`` so that the page's selector can hide it, and a
``<title>`` child so that hovering shows the exact numbers. Styles shared by every chart (fonts, axis and grid
colours, the white outline of markers) are classes of the page's stylesheet (``report.css``), not attributes repeated
on every element; a series' colour is set once on its group and inherited by its marks.

Example:
    >>> s = Series("e0", "m<1>", "#0072b2", "", {"a": Point(0.5, 0.4, 0.6)})
    >>> svg = dot_plot(["a"], [s], x_label="top-1")
    >>> svg.startswith("<svg") and "m&lt;1&gt;" in svg and "<1>" not in svg
    True

"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from zeroshift.core.numeric import finite
from zeroshift.reports.html.escape import text

#: the chart font size in pixels (the page's stylesheet sets it through the classes below)
FONT = 11


@dataclass(frozen=True)
class Point:
    """A value with an optional interval (None where absent)."""

    y: float
    lo: float | None = None
    hi: float | None = None


@dataclass
class Series:
    """One entry's values in one chart: keyed by category (dot plots) or by x value (line plots)."""

    entry: str
    label: str
    color: str
    dash: str
    points: dict[Any, Point] = field(default_factory=dict)
    marker: str = "circle"


@dataclass(frozen=True)
class RefLine:
    """A reference line at a value (a human reference, chance, ratio 1)."""

    value: float
    label: str
    color: str = "#333"


def _num(x: float) -> str:
    text_ = f"{x:.1f}".rstrip("0").rstrip(".")
    return "0" if text_ in ("-0", "") else text_


def fmt(value: float | None, digits: int = 3) -> str:
    """A number for labels and tooltips (``-`` for missing or non-finite values)."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f}"


def _interval(p: Point) -> str:
    if p.lo is None or p.hi is None or not (math.isfinite(p.lo) and math.isfinite(p.hi)):
        return fmt(p.y)
    return f"{fmt(p.y)} [{fmt(p.lo)}, {fmt(p.hi)}]"


def _finite(*values: Any) -> bool:
    return all(finite(v) is not None for v in values)


class Svg:
    """A tiny SVG writer: every attribute and text is escaped on the way in."""

    def __init__(self, width: float, height: float, title: str) -> None:
        self.width, self.height = width, height
        self.parts: list[str] = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{_num(width)}" '
            f'height="{_num(height)}" viewBox="0 0 {_num(width)} {_num(height)}">',
            f"<title>{text(title)}</title>",
        ]

    @staticmethod
    def _attrs(attrs: dict[str, Any]) -> str:
        out = []
        for key, value in attrs.items():
            if value is None or value == "" or (isinstance(value, float) and not math.isfinite(value)):
                continue  # charts filter non-finite values; this keeps "nan" out of the DOM whatever slips through
            name = key.rstrip("_").replace("_", "-")
            out.append(f' {name}="{_num(value) if isinstance(value, float) else text(value)}"')
        return "".join(out)

    def el(self, tag: str, content: str | None = None, **attrs: Any) -> None:
        """Add ``<tag attrs>content</tag>`` (content is escaped) or a self-closed element."""
        if content is None:
            self.parts.append(f"<{tag}{self._attrs(attrs)}/>")
        else:
            self.parts.append(f"<{tag}{self._attrs(attrs)}>{text(content)}</{tag}>")

    def open(self, tag: str, tooltip: str | None = None, **attrs: Any) -> None:
        """Open a container element, with an optional ``<title>`` tooltip."""
        self.parts.append(f"<{tag}{self._attrs(attrs)}>")
        if tooltip is not None:
            self.parts.append(f"<title>{text(tooltip)}</title>")

    def close(self, tag: str) -> None:
        self.parts.append(f"</{tag}>")

    def render(self) -> str:
        return "".join(self.parts) + "</svg>"


class Linear:
    """A linear map from a domain to pixels, with round tick values."""

    def __init__(self, d0: float, d1: float, r0: float, r1: float) -> None:
        if d1 == d0:
            d0, d1 = d0 - 0.5, d1 + 0.5
        self.d0, self.d1, self.r0, self.r1 = d0, d1, r0, r1

    def __call__(self, v: float) -> float:
        v = min(max(v, min(self.d0, self.d1)), max(self.d0, self.d1))
        return self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)

    def ticks(self, n: int = 5) -> list[float]:
        span = abs(self.d1 - self.d0)
        raw = span / max(n, 1)
        mag = 10 ** math.floor(math.log10(raw))
        step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=mag * 10)
        lo = math.ceil(min(self.d0, self.d1) / step - 1e-9) * step
        out, v = [], lo
        while v <= max(self.d0, self.d1) + 1e-9:
            out.append(round(v, 10))
            v += step
        return out


def logit(p: float) -> float:
    """ln(p / (1 - p)), with p clipped to [1e-4, 1 - 1e-4]."""
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


class Logit(Linear):
    """Pixels linear in logit(p): the axes of effective-robustness plots (Taori et al. 2020)."""

    TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)

    def __init__(self, p0: float, p1: float, r0: float, r1: float) -> None:
        super().__init__(logit(p0), logit(p1), r0, r1)
        self.p0, self.p1 = p0, p1

    def __call__(self, p: float) -> float:
        return super().__call__(logit(p))

    def ticks(self, n: int = 5) -> list[float]:
        return [t for t in self.TICKS if self.p0 <= t <= self.p1]


def _x_axis(svg: Svg, scale: Linear, y: float, top: float, label: str, tick_fmt: str = "{:g}") -> None:
    for t in scale.ticks(6):
        x = scale(t)
        svg.el("line", x1=x, x2=x, y1=top, y2=y, class_="gr")
        svg.el("text", tick_fmt.format(t), x=x, y=y + 14, class_="tk c")
    svg.el("line", x1=scale.r0, x2=scale.r1, y1=y, y2=y, class_="ax")
    if label:
        svg.el("text", label, x=(scale.r0 + scale.r1) / 2, y=y + 31, class_="al c")


def _y_axis(svg: Svg, scale: Linear, x: float, right: float, label: str, tick_fmt: str = "{:g}") -> None:
    for t in scale.ticks(5):
        y = scale(t)
        svg.el("line", x1=x, x2=right, y1=y, y2=y, class_="gr")
        svg.el("text", tick_fmt.format(t), x=x - 5, y=y + 4, class_="tk e")
    svg.el("line", x1=x, x2=x, y1=scale.r0, y2=scale.r1, class_="ax")
    if label:
        cy = (scale.r0 + scale.r1) / 2
        svg.el("text", label, x=x - 38, y=cy, class_="al c", transform=f"rotate(-90 {x - 38:.1f} {cy:.1f})")


def _short(label: str, n: int) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def _marker(svg: Svg, shape: str, x: float, y: float, color: str | None = None, r: float = 3.6) -> None:
    """A marker (outlined in white by the ``m`` class); without ``color`` it takes its series group's fill."""
    if shape == "diamond":
        pts = f"{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y:.1f} {x:.1f},{y + r + 1:.1f} {x - r - 1:.1f},{y:.1f}"
        svg.el("polygon", points=pts, fill=color, class_="m")
    else:
        svg.el("circle", cx=x, cy=y, r=r, fill=color, class_="m")


def _domain(
    values: Iterable[float | None], lo: float | None, hi: float | None, pad: float = 0.05
) -> tuple[float, float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    d0 = lo if lo is not None else (min(finite) if finite else 0.0)
    d1 = hi if hi is not None else (max(finite) if finite else 1.0)
    if lo is None or hi is None:
        span = (d1 - d0) or abs(d1) or 1.0
        d0 = d0 - pad * span if lo is None else d0
        d1 = d1 + pad * span if hi is None else d1
    return d0, d1


def _text_width(label: str) -> float:
    """A rough width in pixels of ``label`` at the chart font (enough to size a margin)."""
    return 6.4 * len(label)


def dot_plot(
    categories: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    x_domain: tuple[float | None, float | None] = (0.0, 1.0),
    refs: Sequence[RefLine] = (),
    width: float = 760,
    title: str = "",
    tooltips: dict[str, str] | None = None,
) -> str:
    """Categories down the left, one marker with its interval per series and category (a Cleveland dot plot).

    ``tooltips`` maps a category to what hovering its name shows (the full spec of a condition); the name itself
    is cut at 44 characters.
    """
    n = max(len(series), 1)
    band = max(20.0, min(8.0 + 7.0 * n, 60.0))
    shown = [_short(cat, 44) for cat in categories]
    left = min(300.0, max(90.0, max((_text_width(c) for c in shown), default=0.0) + 18))
    right, top = 20.0, 24.0 if refs else 10.0
    height = top + band * len(categories) + 44
    values = [v for s in series for p in s.points.values() for v in (p.y, p.lo, p.hi)] + [r.value for r in refs]
    scale = Linear(*_domain(values, *x_domain), left, width - right)
    svg = Svg(width, height, title or x_label)
    bottom = top + band * len(categories)
    for i in range(1, len(categories), 2):
        svg.el("rect", x=left, y=top + band * i, width=width - right - left, height=band, class_="band")
    _x_axis(svg, scale, bottom, top, x_label)
    step = min(7.0, (band - 8) / max(n - 1, 1))
    for i, (cat, short) in enumerate(zip(categories, shown, strict=True)):
        cy = top + band * (i + 0.5)
        svg.open("text", tooltip=(tooltips or {}).get(cat, cat), x=left - 8, y=cy + 4, class_="cat e")
        svg.parts.append(text(short))
        svg.close("text")
    for r in refs:
        x = scale(r.value)
        svg.el("line", x1=x, x2=x, y1=top - 4, y2=bottom, stroke=r.color, class_="ref")
        svg.el("text", r.label, x=x, y=top - 8, fill=r.color, class_="rl c")
    for j, s in enumerate(series):
        offset = (j - (len(series) - 1) / 2) * step
        svg.open("g", class_="series", data_entry=s.entry, fill=s.color, stroke=s.color)
        for i, cat in enumerate(categories):
            p = s.points.get(cat)
            if p is None or not _finite(p.y):
                continue
            cy = top + band * (i + 0.5) + offset
            svg.open("g", tooltip=f"{s.label}\n{cat}\n{x_label}: {_interval(p)}", class_="mark")
            if _finite(p.lo, p.hi):
                svg.el("line", x1=scale(p.lo), x2=scale(p.hi), y1=cy, y2=cy, class_="ci")
            _marker(svg, s.marker, scale(p.y), cy)
            svg.close("g")
        svg.close("g")
    return svg.render()


def _lines(
    svg: Svg, series: Sequence[Series], xscale: Linear, yscale: Linear, x_label: str, r: float, where: str = ""
) -> None:
    """One polyline with markers and whiskers per series; a marker within a pixel of the previous one is dropped."""
    for s in series:
        pts = sorted((x, p) for x, p in s.points.items() if _finite(p.y))
        if not pts:
            continue
        svg.open("g", class_="series", data_entry=s.entry, fill=s.color, stroke=s.color)
        path = " ".join(f"{xscale(x):.1f},{yscale(p.y):.1f}" for x, p in pts)
        svg.el("polyline", points=path, class_="line", stroke_dasharray=s.dash)
        last: tuple[float, float] | None = None
        for x, p in pts:
            px, py = xscale(x), yscale(p.y)
            if last is not None and abs(px - last[0]) < 1 and abs(py - last[1]) < 1 and not _finite(p.lo, p.hi):
                continue  # drawn on top of its neighbour
            last = (px, py)
            svg.open("g", tooltip=f"{s.label}{where}\n{x_label} {_tick(x)}: {_interval(p)}", class_="mark")
            if _finite(p.lo, p.hi):
                svg.el("line", x1=px, x2=px, y1=yscale(p.lo), y2=yscale(p.hi), class_="ci")
            _marker(svg, s.marker, px, py, None, r)
            svg.close("g")
        svg.close("g")


def _tick(x: Any) -> str:
    return f"{x:g}" if isinstance(x, int | float) else str(x)


def _x_ticks(
    svg: Svg, xs: Sequence[float], xscale: Linear, y: float, labels: dict[float, str] | None, draw: bool = True
) -> None:
    for x in xs:
        px = xscale(x)
        svg.el("line", x1=px, x2=px, y1=y, y2=y + 4, class_="ax")
        if draw:
            svg.el("text", (labels or {}).get(x, _tick(x)), x=px, y=y + 15, class_="tk c")
    svg.el("line", x1=xscale.r0, x2=xscale.r1, y1=y, y2=y, class_="ax")


def line_plot(
    xs: Sequence[float],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    y_domain: tuple[float | None, float | None] = (0.0, 1.0),
    width: float = 330,
    height: float = 230,
    title: str = "",
    x_tick_labels: dict[float, str] | None = None,
) -> str:
    """One line per series over numeric x (severity, epsilon), with interval whiskers."""
    left, right, top, bottom = 52.0, 22.0, 12.0, 42.0
    values = [v for s in series for p in s.points.values() for v in (p.y, p.lo, p.hi)]
    xscale = Linear(min(xs), max(xs), left, width - right)
    yscale = Linear(*_domain(values, *y_domain), height - bottom, top)
    svg = Svg(width, height, title or y_label)
    _y_axis(svg, yscale, left, width - right, y_label)
    _x_ticks(svg, xs, xscale, height - bottom, x_tick_labels)
    svg.el("text", x_label, x=(left + width - right) / 2, y=height - 8, class_="al c")
    _lines(svg, series, xscale, yscale, x_label, 3.0)
    return svg.render()


@dataclass
class Panel:
    """One panel of a grid of small multiples: a title, its series, and what hovering the title shows."""

    title: str
    series: Sequence[Series]
    tooltip: str = ""


def line_grid(
    xs: Sequence[float],
    panels: Sequence[Panel],
    x_label: str,
    y_label: str,
    y_domain: tuple[float | None, float | None] = (0.0, 1.0),
    columns: int = 5,
    panel_width: float = 178,
    panel_height: float = 132,
    title: str = "",
    x_tick_labels: dict[float, str] | None = None,
) -> str:
    """Small multiples: one line panel per item on shared axes, tick labels on the outer panels only.

    Every panel has the same scales (so panels compare at a glance); the y label is written once on the left and
    the x label once below, and the legend is the page's (one per figure, not per panel).
    """
    columns = max(1, min(columns, len(panels) or 1))
    rows_ = max(1, math.ceil(len(panels) / columns))
    left, top, gap_x, gap_y, head, foot = 58.0, 6.0, 12.0, 10.0, 18.0, 40.0
    width = left + columns * panel_width + (columns - 1) * gap_x + 8
    height = top + rows_ * (head + panel_height) + (rows_ - 1) * gap_y + foot
    values = [v for pn in panels for s in pn.series for p in s.points.values() for v in (p.y, p.lo, p.hi)]
    domain = _domain(values, *y_domain)
    svg = Svg(width, height, title or y_label)
    for k, pn in enumerate(panels):
        row, col = divmod(k, columns)
        x0 = left + col * (panel_width + gap_x)
        y0 = top + row * (head + panel_height + gap_y) + head
        last_row = row == rows_ - 1 or k + columns >= len(panels)
        xscale = Linear(min(xs), max(xs), x0 + 6, x0 + panel_width - 6)
        yscale = Linear(*domain, y0 + panel_height - 16, y0 + 2)
        svg.open("text", tooltip=pn.tooltip or pn.title, x=x0 + panel_width / 2, y=y0 - 5, class_="pt c")
        svg.parts.append(text(_short(pn.title, 28)))
        svg.close("text")
        for t in yscale.ticks(4):
            y = yscale(t)
            svg.el("line", x1=x0, x2=x0 + panel_width, y1=y, y2=y, class_="gr")
            if col == 0:
                svg.el("text", f"{t:g}", x=x0 - 5, y=y + 4, class_="tk e")
        svg.el("line", x1=x0, x2=x0, y1=yscale.r0, y2=yscale.r1, class_="ax")
        _x_ticks(svg, xs, xscale, yscale.r0, x_tick_labels, draw=last_row)
        _lines(svg, pn.series, xscale, yscale, x_label, 2.6, f"\n{pn.title}")
    cy = top + (height - top - foot) / 2
    svg.el("text", y_label, x=16, y=cy, class_="al c", transform=f"rotate(-90 16 {cy:.1f})")
    svg.el("text", x_label, x=left + (width - left) / 2, y=height - 6, class_="al c")
    return svg.render()


@dataclass
class ScatterPoint:
    """One point of a scatter plot (x, y in probability units for logit axes)."""

    entry: str
    label: str
    color: str
    x: float
    y: float
    tooltip: str
    marker: str = "circle"


@dataclass
class Curve:
    """A reference curve through (x, y) points in data units (the trend line, y = x)."""

    xs: Sequence[float]
    ys: Sequence[float]
    label: str
    color: str = "#333"
    dash: str = ""


def scatter_plot(
    points: Sequence[ScatterPoint],
    curves: Sequence[Curve],
    x_label: str,
    y_label: str,
    logit_axes: bool = True,
    width: float = 520,
    height: float = 420,
    title: str = "",
) -> str:
    """Points and reference curves; with ``logit_axes`` both axes are logit-scaled and ticked in accuracy."""
    left, right, top, bottom = 60.0, 16.0, 14.0, 46.0
    points = [p for p in points if _finite(p.x, p.y)]
    xs = [p.x for p in points] or [0.2, 0.8]
    ys = [p.y for p in points] or [0.2, 0.8]
    if logit_axes:
        lo = max(0.005, min(xs + ys) * 0.6)
        hi = min(0.995, 1 - (1 - max(xs + ys)) * 0.6)
        lo, hi = min(lo, 0.1), max(hi, 0.9)
        xscale: Linear = Logit(lo, hi, left, width - right)
        yscale: Linear = Logit(lo, hi, height - bottom, top)
        tick = "{:.0%}"
    else:
        xscale = Linear(*_domain(xs, None, None), left, width - right)
        yscale = Linear(*_domain(ys, None, None), height - bottom, top)
        tick = "{:g}"
    svg = Svg(width, height, title or f"{y_label} vs {x_label}")
    _x_axis(svg, xscale, height - bottom, top, x_label, tick)
    _y_axis(svg, yscale, left, width - right, y_label, tick)
    inside_x = (min(xscale.d0, xscale.d1), max(xscale.d0, xscale.d1))
    inside_y = (min(yscale.d0, yscale.d1), max(yscale.d0, yscale.d1))
    for c in curves:
        # keep the part of a curve inside the axes (scales clamp, which would draw along the border)
        kept = [
            (x, y)
            for x, y in zip(c.xs, c.ys, strict=True)
            if inside_x[0] <= (logit(x) if logit_axes else x) <= inside_x[1]
            and inside_y[0] <= (logit(y) if logit_axes else y) <= inside_y[1]
        ]
        if len(kept) < 2:
            continue
        pts = " ".join(f"{xscale(x):.1f},{yscale(y):.1f}" for x, y in kept)
        svg.open("g", tooltip=c.label, class_="curve")
        svg.el("polyline", points=pts, fill="none", stroke=c.color, stroke_width=1.5, stroke_dasharray=c.dash)
        svg.close("g")
    drawn: set[tuple[str, str, str, int, int]] = set()
    for p in points:
        px, py = xscale(p.x), yscale(p.y)
        key = (p.entry, p.marker, p.color, round(px), round(py))
        if key in drawn:  # an identical marker of the same series within a pixel: thinned
            continue
        drawn.add(key)
        svg.open("g", tooltip=p.tooltip, class_="series mark", data_entry=p.entry)
        _marker(svg, p.marker, px, py, p.color, 4.5)
        svg.close("g")
    return svg.render()


def reliability_diagram(
    bins: Sequence[dict[str, Any]], color: str, entry: str, label: str, width: float = 250, height: float = 250
) -> str:
    """Accuracy per confidence bin as bars against the diagonal; the gap to the diagonal is shaded."""
    left, right, top, bottom = 46.0, 10.0, 10.0, 40.0
    xs = Linear(0, 1, left, width - right)
    ys = Linear(0, 1, height - bottom, top)
    svg = Svg(width, height, f"reliability diagram: {label}")
    _x_axis(svg, xs, height - bottom, top, "confidence")
    _y_axis(svg, ys, left, width - right, "accuracy")
    svg.el("line", x1=xs(0), y1=ys(0), x2=xs(1), y2=ys(1), class_="diag")
    svg.open("g", class_="series", data_entry=entry)
    for b in bins:
        lo, hi, acc, conf, count = (b.get(k) for k in ("lo", "hi", "accuracy", "confidence", "count"))
        if not _finite(lo, hi, acc, conf, count) or not count:
            continue
        lo, hi = float(lo), float(hi)  # type: ignore[arg-type]
        # the model and condition are the chart's title and caption: a bar's tooltip says only its bin (a page
        # holds dozens of diagrams of 15 bins each, and repeating the label in each bar cost 50 kB of the demo's)
        tip = f"bin ({lo:.3f}, {hi:.3f}]: {count} samples\naccuracy {fmt(acc)}, confidence {fmt(conf)}"
        svg.open("g", tooltip=tip, class_="mark")
        svg.el(
            "rect",
            x=xs(lo),
            y=ys(acc),
            width=max(xs(hi) - xs(lo) - 1, 1),
            height=ys(0) - ys(acc),
            fill=color,
            fill_opacity=0.75,
        )
        gap_lo, gap_hi = sorted((acc, conf))
        svg.el(
            "rect",
            x=xs(lo),
            y=ys(gap_hi),
            width=max(xs(hi) - xs(lo) - 1, 1),
            height=ys(gap_lo) - ys(gap_hi),
            fill="#d55e00",
            fill_opacity=0.25,
        )
        svg.close("g")
    svg.close("g")
    return svg.render()


def histogram_pair(
    edges: Sequence[float],
    first: Sequence[float],
    second: Sequence[float],
    names: tuple[str, str],
    x_label: str,
    entry: str,
    colors: tuple[str, str] = ("#0072b2", "#d55e00"),
    width: float = 330,
    height: float = 210,
) -> str:
    """Two histograms on shared bins (in-distribution and OOD scores), each normalised to sum to one."""
    left, right, top, bottom = 46.0, 10.0, 22.0, 40.0
    tot1, tot2 = float(sum(first)) or 1.0, float(sum(second)) or 1.0
    d1 = [c / tot1 for c in first]
    d2 = [c / tot2 for c in second]
    xs = Linear(float(edges[0]), float(edges[-1]), left, width - right)
    ys = Linear(0, max(d1 + d2 + [1e-9]) * 1.1, height - bottom, top)
    svg = Svg(width, height, f"score histogram: {names[0]} vs {names[1]}")
    _x_axis(svg, xs, height - bottom, top, x_label)
    _y_axis(svg, ys, left, width - right, "fraction")
    svg.open("g", class_="series", data_entry=entry)
    for dens, color, name in ((d1, colors[0], names[0]), (d2, colors[1], names[1])):
        pts = [f"{xs(float(edges[0])):.1f},{ys(0):.1f}"]
        for i, d in enumerate(dens):
            pts += [f"{xs(float(edges[i])):.1f},{ys(d):.1f}", f"{xs(float(edges[i + 1])):.1f},{ys(d):.1f}"]
        pts.append(f"{xs(float(edges[-1])):.1f},{ys(0):.1f}")
        svg.open("g", tooltip=f"{name}: {int(sum(first if color == colors[0] else second))} samples", class_="mark")
        svg.el("polygon", points=" ".join(pts), fill=color, fill_opacity=0.35, stroke=color, stroke_width=1.2)
        svg.close("g")
    svg.close("g")
    for k, (name, color) in enumerate(zip(names, colors, strict=True)):
        svg.el("rect", x=left + 8 + 120 * k, y=6, width=10, height=10, fill=color, fill_opacity=0.6)
        svg.el("text", _short(name, 16), x=left + 22 + 120 * k, y=15, class_="rl")
    return svg.render()


def thumbnail_uri(image: Any, size: int = 48, quality: int = 70) -> str:
    """A ``data:`` URI of a small JPEG of a PIL image (longest side ``size`` pixels): a few hundred bytes to a
    couple of kilobytes, for images embedded in the page.

    Example:
        >>> from PIL import Image
        >>> uri = thumbnail_uri(Image.new("RGB", (64, 32), "red"))
        >>> uri.startswith("data:image/jpeg;base64,") and len(uri) < 1500
        True

    """
    import base64
    import io

    small = image.convert("RGB")
    small.thumbnail((size, size))
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass
class ImagePair:
    """Two images side by side (``data:`` URIs, or None for an image that could not be found), two short lines
    under them, and what hovering shows.

    Example:
        >>> ImagePair(None, "data:image/jpeg;base64,", ("cos 0.990", "a.jpg"), "a.jpg vs b.jpg").lines[0]
        'cos 0.990'

    """

    left: str | None
    right: str | None
    lines: tuple[str, str]
    tooltip: str
    entry: str = ""


def image_pairs(pairs: Sequence[ImagePair], title: str, size: int = 48, per_row: int = 6) -> str:
    """Pairs of thumbnails in a grid, each with two lines of text; a missing image is a grey square marked ``?``.

    Example:
        >>> svg = image_pairs([ImagePair(None, None, ("cos 1.000", "a<b"), "a<b")], "pairs")
        >>> "a&lt;b" in svg and "<b" not in svg and svg.count("<rect") == 2
        True

    """
    gap, pad, line = 4.0, 14.0, 13.0
    cell = 2 * size + gap + pad
    rows = max(1, math.ceil(len(pairs) / per_row))
    width = cell * min(max(len(pairs), 1), per_row)
    height = rows * (size + 2 * line + 12)
    svg = Svg(width, height, title)
    for i, p in enumerate(pairs):
        x0, y0 = (i % per_row) * cell + pad / 2, (i // per_row) * (size + 2 * line + 12) + 2
        svg.open("g", tooltip=p.tooltip, class_="mark", data_entry=p.entry or None)
        for dx, uri in ((0.0, p.left), (size + gap, p.right)):
            if uri is None:
                svg.el("rect", x=x0 + dx, y=y0, width=float(size), height=float(size), fill="#ddd")
                svg.el("text", "?", x=x0 + dx + size / 2, y=y0 + size / 2 + 4, class_="c")
            else:
                svg.el("image", href=uri, x=x0 + dx, y=y0, width=float(size), height=float(size))
        for j, t in enumerate(p.lines):
            svg.el("text", _short(t, 18), x=x0 + size + gap / 2, y=y0 + size + line * (j + 1), class_="c")
        svg.close("g")
    return svg.render()
