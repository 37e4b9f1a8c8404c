"""Time to build the HTML report of a store with several hundred records, its size, and the time to open it.

Prints, measured in one run on this machine: the wall time of ``build_report`` on a SQLite store (reading the
records, every section, the SVG plots, the page and the CSV/JSON files), and its ratio to the baseline of simply
loading the same records from the store (``Store.records()``); the page's size against the 2 MB budget; and, when
Debian's Chromium and playwright-python are installed, the time headless Chromium takes to open the page (to the
``load`` event, and until every chart is laid out), against the 2 s budget. The records are the report tests'
synthetic fixtures (tests/report_fixtures.py: every section's metrics, all 15 corruptions x 5 severities), for
``--models`` models, or any existing store (``--store demo-out/results.db``: the demo's report, the one users see
first).

    uv run python benchmarks/report_build.py [--models 6] [--repeat 3]
    uv run zeroshift demo --out demo-out && uv run python benchmarks/report_build.py --store demo-out/results.db
"""

from __future__ import annotations

import argparse
import os
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


#: the budgets of the demo's page (issue 17)
MAX_PAGE_MB = 2.0
MAX_OPEN_S = 2.0
CHROMIUM = os.environ.get("ZEROSHIFT_CHROMIUM", "/usr/bin/chromium")


def open_in_chromium(page: Path, repeat: int) -> tuple[float, float] | None:
    """Median seconds for headless Chromium to open the page: to ``load``, and until every chart has a layout box.

    None when Chromium or playwright-python is not installed.
    """
    if not Path(CHROMIUM).exists():
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    loads, drawn = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            for _ in range(repeat + 1):  # the first opening warms the browser's caches up; not counted
                tab = browser.new_page(viewport={"width": 1300, "height": 900})
                start = time.perf_counter()
                tab.goto(page.resolve().as_uri())
                tab.wait_for_load_state("load")
                loaded = time.perf_counter() - start
                tab.evaluate("() => [...document.querySelectorAll('svg.chart')].map(s => s.getBBox().width)")
                loads.append(loaded)
                drawn.append(time.perf_counter() - start)
                tab.close()
        finally:
            browser.close()
    return statistics.median(loads[1:]), statistics.median(drawn[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", type=Path, default=None, help="an existing results store (e.g. the demo's)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="zeroshift-report-bench-"))
    if args.store is not None:
        db = args.store
        what = f"{args.store}"
    else:
        db = folder / "results.db"
        store = Store(db)
        for record in synthetic_records(models(args.models), corruptions=CORRUPTIONS):
            store.write(record)
        what = f"{args.models} synthetic models"
    n = Store(db).count()
    out = folder / "report.html"
    build_report(Store(db), out)  # warm-up: imports, template compilation, SQLite page cache
    load_s, records = timed(lambda: Store(db).records(), args.repeat)
    build_s, result = timed(lambda: build_report(Store(db), out), args.repeat)
    size = out.stat().st_size / 1e6
    print(f"records in store           : {n} ({len(records)} loaded), {what}")
    print(f"load records (baseline)    : {load_s:.3f} s")
    print(f"build report               : {build_s:.3f} s ({len(result.figures)} plots, page {size:.2f} MB)")
    print(f"ratio build / load         : {build_s / load_s:.1f}x")
    print(f"per record                 : {1000 * build_s / n:.2f} ms")
    print(f"page size / budget         : {size / MAX_PAGE_MB:.2f} ({size:.2f} MB of {MAX_PAGE_MB:g} MB)")
    opened = open_in_chromium(out, args.repeat)
    if opened is None:
        print(f"open in Chromium           : skipped (no Chromium at {CHROMIUM} or no playwright-python)")
    else:
        loaded, drawn = opened
        print(f"open in Chromium (load)    : {loaded:.2f} s, {loaded / MAX_OPEN_S:.2f} of the {MAX_OPEN_S:g} s budget")
        print(f"open in Chromium (charts)  : {drawn:.2f} s, {drawn / MAX_OPEN_S:.2f} of the {MAX_OPEN_S:g} s budget")


if __name__ == "__main__":
    main()
