"""The calibration and ood suites name registered benchmarks and metric groups."""

from __future__ import annotations

import pytest

from zeroshift.data import benchmarks
from zeroshift.metrics import groups as metrics
from zeroshift.suites import expand_suite


@pytest.mark.parametrize(("suite", "group"), [("calibration", "calibration"), ("ood", "ood")])
def test_suites_expand_into_registered_runs(suite: str, group: str) -> None:
    runs = expand_suite(suite)
    assert len(runs) >= 5
    for r in runs:
        cls = benchmarks.get(r.benchmark)
        chosen = r.metrics or cls.metric_groups
        assert group in chosen and all(callable(metrics.get(g)) for g in chosen)
        assert cls.labelled == (suite == "calibration")
