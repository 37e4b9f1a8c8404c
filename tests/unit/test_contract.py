"""The contract between the engine, the metric groups, the models, the results and the reports (issue 10)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from zeroshift.artefacts import kinds
from zeroshift.metrics import groups
from zeroshift.metrics.group import RELATIONS, StandaloneInputs, describe_metric
from zeroshift.reports.html import measurements as M

SRC = Path(__file__).resolve().parents[2] / "src" / "zeroshift"
LAYERS = ("engine", "metrics", "models", "results", "reports")


def _imports(path: Path) -> set[str]:
    """The zeroshift modules a file imports (at any level, lazily or not)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("zeroshift"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("zeroshift"))
    return found


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {layer: set() for layer in LAYERS}
    for layer in LAYERS:
        for path in (SRC / layer).rglob("*.py"):
            for module in _imports(path):
                target = _package(module)
                if target is not None and target != layer:
                    graph[layer].add(target)
    return graph


def test_no_import_cycle_between_the_layers():
    graph = package_graph()

    def reach(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(graph[node])
        return seen

    cycles = [layer for layer in LAYERS if layer in reach(layer)]
    assert not cycles, f"import cycles through {cycles}: {graph}"


def test_the_cycle_check_would_catch_a_cycle(tmp_path):
    # the walker sees lazy imports inside functions too: a metric importing the engine is an edge
    code = tmp_path / "x.py"
    code.write_text("def f():\n    from zeroshift.engine.runner import Runner\n")
    assert "zeroshift.engine.runner" in _imports(code)


def test_no_metric_module_imports_the_engine():
    offenders = [
        str(p.relative_to(SRC))
        for p in (SRC / "metrics").rglob("*.py")
        if any(m.startswith("zeroshift.engine") for m in _imports(p))
    ]
    assert not offenders


def test_no_getattr_hook_lookups_for_metric_groups():
    pattern = re.compile(r"getattr\([^)]*[\"'](check|check_params|artefacts|save_column|runner)[\"']")
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if pattern.search(p.read_text())]
    assert not offenders


def test_the_runner_stays_small():
    assert len((SRC / "engine" / "runner.py").read_text().splitlines()) < 250


def test_every_metric_the_report_draws_is_declared_by_a_group():
    for name in M.layout_names():
        assert describe_metric(name) is not None, name


def test_every_group_declares_its_metrics_params_and_relations():
    for name in groups.names():
        group = groups.get(name)
        assert group.metrics and group.description, name
        params = group.resolve({})
        for need in group.needs_for(params):
            assert need.relation is None or need.relation in RELATIONS
            assert all(a in kinds for a in need.artefacts), need


def test_a_group_may_not_produce_an_undeclared_metric():
    from zeroshift.metrics.base import MetricValue
    from zeroshift.metrics.group import GroupResult, MetricSpec, metric_group

    @metric_group("sneaky", metrics=(MetricSpec("declared", "declared", True),), register=False)
    def sneaky(inputs, params):
        return GroupResult([MetricValue("undeclared", 1.0, True)])

    with pytest.raises(RuntimeError, match="undeclared metric 'undeclared'"):
        sneaky(None)


def test_groups_read_related_conditions_only_through_the_protocol():
    out = StandaloneInputs(outputs=None)
    with pytest.raises(Exception, match="'clean' condition is not available outside a run"):
        out.related("clean")
