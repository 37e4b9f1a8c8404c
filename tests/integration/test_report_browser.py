"""The report in a real browser: headless Chromium (Debian's, through playwright-python)."""

import json
import sys

import pytest

from tests.browser import check_report, chromium_page, save_artefact
from tests.report_fixtures import HOSTILE, full_store
from zeroshift.reports.html import build_report

ZEROSHIFT = [sys.executable, "-c", "import sys; from zeroshift.cli.main import main; main(sys.argv[1:])"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    db = full_store(tmp_path_factory)
    return build_report(db, tmp_path_factory.mktemp("report") / "report.html")


def test_every_plot_renders_without_console_errors(built, tmp_path):
    with chromium_page(tmp_path / "profile") as (page, log):
        shot = tmp_path / "report.png"
        check_report(page, log, built.path, built.figures, shot)
        save_artefact(shot, "report.png")


def test_models_groups_and_tables_are_interactive(built, tmp_path):
    with chromium_page(tmp_path / "profile") as (page, log):
        page.goto(built.path.resolve().as_uri())
        marks = "#fig-accuracy-top1 g.series[data-entry='{}']"
        siglip = page.locator("li[data-entry-item]", has_text="synthetic:siglip-vit-b16").get_attribute(
            "data-entry-item"
        )
        assert page.locator(marks.format(siglip)).is_visible()
        page.locator(f"input[data-entry-toggle='{siglip}']").uncheck()
        assert not page.locator(marks.format(siglip)).is_visible()
        assert not page.locator(f"#table-summary tr[data-entry='{siglip}']").is_visible()
        page.locator("#select-all").click()
        assert page.locator(marks.format(siglip)).is_visible()
        # a group: the models trained with the sigmoid loss, and no others
        page.locator("#group-field").select_option("loss")
        page.locator("#group-value").select_option("sigmoid")
        checked = page.eval_on_selector_all(
            "input[data-entry-toggle]", "els => els.filter(e => e.checked).map(e => e.dataset.entryToggle)"
        )
        assert checked == [siglip]
        assert page.locator("#fig-accuracy-top1 g.series:visible").count() == 1
        page.locator("#select-all").click()
        # sorting: the first top-1 column of the summary, ascending then descending, missing values last
        header = page.locator("#table-summary th", has_text="top-1 · imagenet(split='val')")
        header.click()
        column = page.eval_on_selector_all(
            "#table-summary th", "ths => ths.findIndex(t => t.getAttribute('aria-sort'))"
        )
        values = page.eval_on_selector_all(
            "#table-summary tbody tr", f"rows => rows.map(r => r.cells[{column}].dataset.sort ?? null)"
        )
        numbers = [float(v) for v in values if v is not None]
        assert numbers == sorted(numbers) and len(numbers) >= 9
        header.click()
        values = page.eval_on_selector_all(
            "#table-summary tbody tr", f"rows => rows.map(r => r.cells[{column}].dataset.sort ?? null)"
        )
        assert [float(v) for v in values if v is not None] == sorted(numbers, reverse=True)
        assert log["errors"] == []


def test_hostile_model_name_is_text_in_the_dom(built, tmp_path):
    with chromium_page(tmp_path / "profile") as (page, log):
        page.goto(built.path.resolve().as_uri())
        assert page.evaluate("window.__pwned") is None  # neither the script nor the onerror ran
        assert page.locator("img").count() == 0 and page.locator("b, i").count() == 0
        assert page.locator("script").count() == 2
        labels = page.eval_on_selector_all(".entry-label", "els => els.map(e => e.textContent)")
        assert HOSTILE in labels
        svg_titles = page.eval_on_selector_all("svg title", "els => els.map(e => e.textContent)")
        assert any(HOSTILE in t for t in svg_titles)
        cells = page.eval_on_selector_all("#table-summary td:first-child", "els => els.map(e => e.textContent)")
        assert HOSTILE in cells
        assert log["errors"] == []


def test_demo_report_in_browser(quick_demo, tmp_path):
    """The report that ``zeroshift demo --quick`` wrote opens with every figure drawn and no console errors."""
    out, _ = quick_demo
    page_path = out / "report.html"
    index = json.loads((out / "report_data" / "index.json").read_text())
    # every capability the demo ran has its figures: effective robustness against the supervised zoo models,
    # corruption curves, reliability diagrams, OOD, shape bias, the factor breakdown and the six factors
    kinds = {f["id"].split("-")[0] for f in index["figures"]}
    assert {"effective", "corruption", "reliability", "ood", "shape", "factors", "six", "accuracy"} <= kinds, kinds
    with chromium_page(tmp_path / "profile") as (page, log):
        shot = tmp_path / "demo-report.png"
        check_report(page, log, page_path, [f["id"] for f in index["figures"]], shot)
        save_artefact(shot, "demo-report.png")
