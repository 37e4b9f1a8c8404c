"""A sweep of zoo models on FactorWorld with the local and the Ray executor against the same runs done one by one
with `zeroshift run`, measured in one run; and the fixed cost of each condition after a task's first.

Four timings, each a command-line subprocess (imports included) with its own fresh cache and store:

- one by one: one `zeroshift run` process per (model, condition), as a script without sweeps would do it;
- local: `zeroshift sweep PLAN --workers W` (one task per model: weights and text heads load once per task);
- ray: `zeroshift sweep PLAN --executor ray` on a local Ray instance it starts (this machine's cores), start included;
- warm: the local sweep again into a new store over the local sweep's cache: nothing is encoded, so each condition's
  worker-side seconds are its fixed cost (resolution, heads from the cache, metrics, bootstrap, the record); a task's
  first condition adds the model's load.

Usage: uv run python benchmarks/sweep_overhead.py [--models 3] [--n 64] [--workers 1] [--no-ray]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = ["factorworld(n={n})", "factorworld_sketch(n={n})", "factorworld(n={n})|corruption(name='fog', severity=3)"]


def cli(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run `zeroshift ARGS` in a subprocess: (wall seconds, stdout)."""
    code = "from zeroshift.cli.main import main; main()"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"zeroshift {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=3, help="the first N zoo models")
    parser.add_argument("--n", type=int, default=64, help="FactorWorld images per condition")
    parser.add_argument("--workers", type=int, default=1, help="local executor's worker processes")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray executor")
    args = parser.parse_args()

    from zeroshift.models.zoo import ZooModel

    models = [f"zoo:{name}" for name in ZooModel.names()[: args.models]]
    runs = [r.format(n=args.n).split("|") for r in RUNS]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        suite = "runs:\n" + "".join(
            f"  - {{benchmark: {json.dumps(r[0])}" + (f", shift: {json.dumps(r[1])}" if len(r) > 1 else "") + "}\n"
            for r in runs
        )
        (tmp / "suite.yaml").write_text(suite)
        (tmp / "plan.yaml").write_text(f"models: {json.dumps(models)}\nsuites: [suite.yaml]\nprompts: [openai]\n")
        base = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

        def env(name: str) -> dict[str, str]:
            return {**base, "ZEROSHIFT_CACHE": str(tmp / name / "cache")}

        common = ["--no-progress", "--json"]
        one_by_one = 0.0
        for model in models:
            for run in runs:
                shift = ["--shift", run[1]] if len(run) > 1 else []
                seconds, _ = cli(["run", "-m", model, "-b", run[0], *shift, "-p", "openai", "--store",
                                  str(tmp / "single.db"), *common], env("single"))  # fmt: skip
                one_by_one += seconds
        timings = {"one by one (zeroshift run)": one_by_one}
        plan = str(tmp / "plan.yaml")
        local_args = ["sweep", plan, "--workers", str(args.workers), *common]
        timings["sweep, local executor"], _ = cli([*local_args, "--store", str(tmp / "local.db")], env("local"))
        if not args.no_ray:
            timings["sweep, ray executor (start included)"], _ = cli(
                ["sweep", plan, "--executor", "ray", "--store", str(tmp / "ray.db"), *common], env("ray")
            )
        warm_seconds, out = cli([*local_args, "--store", str(tmp / "warm.db")], env("local"))
        summary = json.loads(out.strip().splitlines()[-1])

    conditions = len(models) * len(runs)
    print(f"{len(models)} zoo model(s) x {len(runs)} condition(s) of {args.n} FactorWorld images; "
          f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    reference = timings["one by one (zeroshift run)"]
    for name, seconds in timings.items():
        print(f"  {name:40s} {seconds:8.1f} s   {seconds / conditions:6.2f} s/condition   "
              f"x{seconds / reference:.2f} of one by one")  # fmt: skip
    firsts, rest = [], []
    for outcome in summary["outcomes"]:
        seconds = outcome["condition_seconds"][0] if outcome["condition_seconds"] else []
        if seconds:
            firsts.append(seconds[0])
            rest.extend(seconds[1:])
    if rest:
        fixed = statistics.median(rest)
        print(f"  warm cache (nothing encoded): {warm_seconds:.1f} s for the sweep; fixed cost of a condition after a "
              f"task's first: median {fixed:.3f} s (min {min(rest):.3f}, max {max(rest):.3f}); a task's first "
              f"condition: median {statistics.median(firsts):.3f} s (the model's load: "
              f"~{statistics.median(firsts) - fixed:.3f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
