"""`zeroshift demo --quick` as a user runs it first: the installed command, a fresh cache, no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from zeroshift.demo import demo_plan
from zeroshift.results.store import Store


def test_quick_demo_runs_offline_from_a_fresh_environment(tmp_path):
    exe = Path(sys.executable).with_name("zeroshift")
    assert exe.is_file(), f"the zeroshift command is not installed next to {sys.executable}"
    env = {
        **os.environ,
        "ZEROSHIFT_CACHE": str(tmp_path / "fresh-cache"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        # any attempt to reach the network fails at once
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "NO_PROXY": "",
        "no_proxy": "",
    }
    env.pop("ZEROSHIFT_STORE", None)
    out = tmp_path / "demo-out"
    proc = subprocess.run(
        [str(exe), "demo", "--quick", "--out", str(out), "--no-progress"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert str(out / "results.db") in proc.stdout.replace("\n", "")
    plan = demo_plan(quick=True)
    store = Store(str(out / "results.db"))
    records = store.records()
    assert len(records) == store.count() > 0
    assert {r.model for r in records} == set(plan.models)
    benchmarks = {r.benchmark.split("(")[0] for r in records}
    assert benchmarks == {run.benchmark.split("(")[0] for run in plan.runs}
    # the quick plan evaluates a seeded subset; fixed-head models run once per benchmark, CLIP models per prompt set
    assert all(r.counts["total"] == plan.limit for r in records)
    clean = [r for r in records if r.benchmark.startswith("factorworld(")]
    assert {r.prompts for r in clean if r.model_info["kind"] == "zero_shot"} == {"openai", "simple"}
    assert all(0.0 <= r.metric("top1").value <= 1.0 for r in clean)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] and len(summary["rows"]) == len(records)
    assert not (tmp_path / "zeroshift-results.db").exists()  # nothing written outside --out and the cache
