"""Headless Chromium for report tests: Debian's ``chromium`` driven by playwright-python (never playwright's own
browser download). Tests skip with the install command when Chromium is absent.

CI installs it with: ``apt-get install -y chromium chromium-driver``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("ZEROSHIFT_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium_page(profile: Path, viewport: tuple[int, int] = (1300, 900)) -> Iterator[tuple[Any, dict[str, list]]]:
    """A page in a fresh headless Chromium profile, with the console, page errors and requests it logged."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium chromium-driver)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright-python is a dev dependency")
    log: dict[str, list] = {"console": [], "errors": [], "requests": [], "failed": []}
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": viewport[0], "height": viewport[1]},
        )
        try:
            page = context.new_page()
            page.on("console", lambda m: log["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: log["errors"].append(str(e)))
            page.on("request", lambda r: log["requests"].append(r.url))
            page.on("requestfailed", lambda r: log["failed"].append(r.url))
            yield page, log
        finally:
            context.close()


def save_artefact(path: Path, name: str) -> None:
    """Copy a screenshot to ``$ZEROSHIFT_TEST_ARTEFACTS`` when that is set (CI keeps it)."""
    folder = os.environ.get("ZEROSHIFT_TEST_ARTEFACTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(folder) / name)


def check_report(page: Any, log: dict[str, list], html: Path, figures: list[str], screenshot: Path) -> None:
    """Open a report and check that every plot is there and drawn, nothing is fetched, and the console is clean."""
    page.goto(html.resolve().as_uri())
    page.wait_for_load_state("load")
    assert page.locator("figure.plot").count() == len(figures)
    # For each plot: pick its group in its section's selector when it is hidden (as a user would), then measure.
    drawn = page.evaluate(
        """ids => ids.map(id => {
            const fig = document.getElementById("fig-" + id);
            if (!fig) { return [id, "missing"]; }
            if (fig.offsetParent === null) {
                const select = fig.closest("section").querySelector("select[data-figure-select]");
                if (select) { select.value = fig.dataset.group; select.dispatchEvent(new Event("change")); }
            }
            const svg = fig.querySelector("svg.chart");
            const box = svg ? svg.getBoundingClientRect() : null;
            const marks = svg ? svg.querySelectorAll(".mark, .curve").length : 0;
            if (fig.offsetParent === null) { return [id, "hidden"]; }
            // a one-row dot plot is about 70 px high
            if (!box || box.width < 100 || box.height < 50) { return [id, "not drawn"]; }
            return [id, marks > 0 ? "ok" : "empty"];
        })""",
        figures,
    )
    assert [d for d in drawn if d[1] != "ok"] == [], drawn
    # and through the real select element once per selector
    for select in page.locator("select[data-figure-select]").all():
        values = select.locator("option").evaluate_all("os => os.map(o => o.value)")
        select.select_option(values[-1])
        section = select.locator("xpath=ancestor::section")
        shown = section.locator("figure[data-group]:visible")
        assert shown.count() >= 1 and all(f.get_attribute("data-group") == values[-1] for f in shown.all())
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    assert log["errors"] == [], log["errors"]
    assert [m for m in log["console"] if m[0] in ("error", "warning")] == [], log["console"]
    assert set(log["requests"]) == {html.resolve().as_uri()}, log["requests"]  # nothing else is fetched
    assert log["failed"] == []
