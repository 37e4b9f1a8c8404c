"""Time to build the HTML report of a store with several hundred records.

Prints, measured in one run on this machine: the wall time of ``build_report`` on a SQLite store (reading the
records, every section, the SVG plots, the page and the CSV/JSON files), and its ratio to the baseline of simply
loading the same records from the store (``Store.records()``). The records are the report tests' synthetic
fixtures (tests/report_fixtures.py: every section's metrics, all 15 corruptions x 5 severities), for
``--models`` models.

    uv run python benchmarks/report_build.py [--models 6] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.report_fixtures import CORRUPTIONS, MODELS, synthetic_records  # noqa: E402

from zeroshift.reports.html import build_report  # noqa: E402
from zeroshift.results.store import Store  # noqa: E402


def models(n: int) -> tuple:
    out = []
    for i in range(n):
        base = MODELS[i % len(MODELS)]
        out.append((f"{base[0]}-{i // len(MODELS)}" if i >= len(MODELS) else base[0], *base[1:]))
    return tuple(out)


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="zeroshift-report-bench-"))
    store = Store(folder / "results.db")
    for record in synthetic_records(models(args.models), corruptions=CORRUPTIONS):
        store.write(record)
    n = store.count()
    out = folder / "report.html"
    build_report(store, out)  # warm-up: imports, template compilation, SQLite page cache
    load_s, records = timed(lambda: Store(folder / "results.db").records(), args.repeat)
    build_s, result = timed(lambda: build_report(Store(folder / "results.db"), out), args.repeat)
    size = out.stat().st_size / 1e6
    print(f"records in store           : {n} ({len(records)} loaded), {args.models} models")
    print(f"load records (baseline)    : {load_s:.3f} s")
    print(f"build report               : {build_s:.3f} s ({len(result.figures)} plots, page {size:.1f} MB)")
    print(f"ratio build / load         : {build_s / load_s:.1f}x")
    print(f"per record                 : {1000 * build_s / n:.2f} ms")


if __name__ == "__main__":
    main()
