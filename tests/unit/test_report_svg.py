import math
import re
import xml.etree.ElementTree as ET

from tests.report_fixtures import HOSTILE
from zeroshift.reports.html.svg import (
    Curve,
    Linear,
    Logit,
    Point,
    RefLine,
    ScatterPoint,
    Series,
    dot_plot,
    histogram_pair,
    line_plot,
    logit,
    reliability_diagram,
    scatter_plot,
)

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def titles(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{NS}title")]


def test_linear_scale_maps_and_ticks_round_values():
    s = Linear(0, 1, 100, 300)
    assert s(0) == 100 and s(1) == 300 and s(0.25) == 150
    assert s.ticks(5) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert Linear(0, 0.083, 0, 1).ticks(5) == [0.0, 0.02, 0.04, 0.06, 0.08]


def test_logit_scale_is_linear_in_logit():
    s = Logit(0.1, 0.9, 0, 100)
    assert math.isclose(s(0.5), 50) and math.isclose(s(0.1), 0) and math.isclose(s(0.9), 100)
    # equal steps in logit are equal steps in pixels
    assert math.isclose(s(1 / (1 + math.exp(-1))) - s(0.5), s(0.5) - s(1 / (1 + math.exp(1))))
    assert s.ticks() == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def test_dot_plot_escapes_labels_and_tags_series():
    series = [
        Series("e0", HOSTILE, "#000", "", {HOSTILE: Point(0.4, 0.3, 0.5), "b": Point(0.7)}),
        Series("e1", "m1", "#111", "", {"b": Point(float("nan"))}),
    ]
    svg = dot_plot([HOSTILE, "b"], series, "top-1", refs=[RefLine(0.96, "humans")])
    root = parse(svg)
    assert "<script" not in svg and "<img" not in svg
    assert any(HOSTILE in t for t in titles(root))
    groups = [g for g in root.iter(f"{NS}g") if g.get("data-entry")]
    assert [g.get("data-entry") for g in groups] == ["e0", "e1"]
    marks = [g for g in groups[0].iter(f"{NS}g") if g.get("class") == "mark"]
    assert len(marks) == 2  # one per category; e1's NaN value is not drawn
    assert not [g for g in groups[1].iter(f"{NS}g") if g.get("class") == "mark"]
    assert len([ln for ln in root.iter(f"{NS}line") if ln.get("class") == "ref"]) == 1


def test_line_plot_draws_one_polyline_per_series():
    s = Series("e0", "m", "#000", "5 3", {0: Point(0.8), 1: Point(0.7, 0.6, 0.75), 3: Point(0.4)})
    root = parse(line_plot([0, 1, 2, 3], [s], "severity", "top-1", x_tick_labels={0: "clean"}))
    lines = list(root.iter(f"{NS}polyline"))
    assert len(lines) == 1 and len(lines[0].get("points").split()) == 3
    assert lines[0].get("stroke-dasharray") == "5 3"
    assert "clean" in [t.text for t in root.iter(f"{NS}text")]


def test_scatter_plot_keeps_curves_inside_the_axes():
    pts = [ScatterPoint("e0", "a", "#000", 0.6, 0.3, "a"), ScatterPoint("e1", "b", "#111", 0.8, 0.5, "b")]
    grid = [i / 100 for i in range(1, 100)]
    root = parse(scatter_plot(pts, [Curve(grid, grid, "y = x")], "id", "shift"))
    xs, ys = [], []
    for line in root.iter(f"{NS}polyline"):
        for pair in line.get("points").split():
            x, y = map(float, pair.split(","))
            xs.append(x)
            ys.append(y)
    # the plot area is [60, 504] x [14, 374]: everything inside, and no run of points clamped onto a border
    assert min(xs) >= 60 and max(xs) <= 504 and min(ys) >= 14 and max(ys) <= 374
    for border in (60, 504):
        assert xs.count(border) <= 1
    for border in (14, 374):
        assert ys.count(border) <= 1
    assert len([g for g in root.iter(f"{NS}g") if g.get("data-entry")]) == 2
    assert logit(0.5) == 0.0


def test_reliability_diagram_and_histogram_are_well_formed():
    bins = [
        {"lo": 0.0, "hi": 0.5, "confidence": 0.3, "accuracy": 0.2, "count": 10},
        {"lo": 0.5, "hi": 1.0, "confidence": 0.8, "accuracy": 0.9, "count": 0},
    ]
    root = parse(reliability_diagram(bins, "#000", "e0", HOSTILE))
    assert len([g for g in root.iter(f"{NS}g") if g.get("class") == "mark"]) == 1  # empty bins are not drawn
    # the chart's title names the model and condition once; each bar's tooltip names only its bin
    assert HOSTILE in root.find(f"{NS}title").text
    assert titles(root)[1:] == ["bin (0.000, 0.500]: 10 samples\naccuracy 0.200, confidence 0.300"]
    root = parse(histogram_pair([0, 0.5, 1], [3, 1], [1, 3], ("ID", "OOD"), "MSP", "e0"))
    assert len(list(root.iter(f"{NS}polygon"))) == 2
    assert re.search(r"4 samples", " ".join(titles(root)))
