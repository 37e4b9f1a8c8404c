"""The LMM section's finding: each LMM's mean gain over its own CLIP across conditions, how many conditions
McNemar's test calls significant, and the mean gains on the challenging and the other classes; every expected
number below is computed by hand from the records."""

from __future__ import annotations

from tests.report_fixtures import _info, _record
from zeroshift.metrics import MetricValue
from zeroshift.reports.html.data import ReportData
from zeroshift.reports.html.sections.lmm import LMMSection

FW = "factorworld(n=64, seed=0)"
SKETCH = "factorworld_sketch(n=64, seed=0)"
#: model -> condition -> (lmm top-1, gain, McNemar p, gain on challenging classes, gain on the rest)
LMMS = {
    "synthetic:llava-small": {FW: (0.40, -0.10, 0.20, 0.10, -0.20), SKETCH: (0.20, 0.05, 0.60, 0.30, -0.10)},
    "synthetic:llava-base": {FW: (0.60, 0.20, 0.01, 0.40, 0.00), SKETCH: (0.30, 0.10, 0.04, 0.20, 0.05)},
}


def records():
    out = []
    for model, conditions in LMMS.items():
        info = {**_info((model, "fixed_head", "LMM", "FactorWorld-diverse", 8000, "next-token", 0.5, 0.0)),
                "kind": "lmm"}  # fmt: skip
        for bench, (top1, gain, p, hard, rest) in conditions.items():
            metrics = [
                MetricValue("lmm_top1", top1, True),
                MetricValue("clip_restricted_top1", top1 - gain, True),
                MetricValue("lmm_gain", gain, True, gain - 0.1, gain + 0.1, {"p_value": p, "n": 64}),
                MetricValue("lmm_gain_challenging", hard, True),
                MetricValue("lmm_gain_rest", rest, True),
            ]
            out.append(_record(model, info, bench, None, "native", metrics))
    return out


def test_lmm_finding_states_mean_gains_and_significant_conditions_by_hand():
    (finding,) = LMMSection().findings(ReportData(records()))
    assert finding.figure == "lmm-top1"
    # small: gain (-0.10 + 0.05) / 2 = -0.025, no p < 0.05, challenging (0.10 + 0.30) / 2, rest (-0.20 - 0.10) / 2
    assert "-0.025 over 2 condition(s) (McNemar significant in 0), +0.200 on the CLIP's challenging classes and " \
           "-0.150 on the others" in finding.text  # fmt: skip
    # base: gain (0.20 + 0.10) / 2 = 0.15, both p < 0.05, challenging 0.30, rest 0.025
    assert "+0.150 over 2 condition(s) (McNemar significant in 2), +0.300 on the CLIP's challenging classes and " \
           "+0.025 on the others" in finding.text  # fmt: skip
    assert abs(finding.value - (0.20 + 0.30) / 2) < 1e-12


def test_no_lmm_records_no_finding():
    assert LMMSection().findings(ReportData([])) == []
