"""The report of a real store (engine records on real photos + labelled synthetic fixtures), without a browser."""

import csv
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from tests.report_fixtures import HOSTILE, full_store
from zeroshift.cli.main import main
from zeroshift.metrics.base import MetricValue
from zeroshift.reports.html import build_report
from zeroshift.results.schema import RunRecord
from zeroshift.results.store import Store

ALL_SECTIONS = [
    "accuracy",
    "effective_robustness",
    "corruptions",
    "typographic",
    "adversarial",
    "calibration",
    "ood",
    "shape_bias",
    "factors",
    "six_factors",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    db = full_store(tmp_path_factory)
    out = tmp_path_factory.mktemp("report") / "report.html"
    return db, build_report(db, out)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)


def test_cli_writes_the_page_and_the_data_of_every_plot(tmp_path, tmp_path_factory, capsys):
    db = full_store(tmp_path_factory)
    out = tmp_path / "site" / "report.html"
    main(["report", "--store", str(db), "-o", str(out)])
    said = capsys.readouterr().out
    assert f"written to {out}" in said
    index = json.loads((tmp_path / "site" / "report_data" / "index.json").read_text())
    html = out.read_text()
    assert len(index["figures"]) >= 40
    assert {f["section"] for f in index["figures"]} == set(ALL_SECTIONS)
    for fig in index["figures"]:
        assert f'id="fig-{fig["id"]}"' in html
        rows = read_csv(out.parent / "report_data" / fig["csv"])
        payload = json.loads((out.parent / "report_data" / fig["json"]).read_text())
        assert len(rows) == len(payload["rows"]) > 0, fig["id"]
        assert payload["protocol"] == fig["protocol"]
    assert html.count("<figure") == len(index["figures"])
    # self-contained: nothing is loaded from anywhere, and the policy forbids it
    assert "default-src 'none'" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<link" not in html


def test_data_files_hold_the_stored_values(built):
    db, result = built
    rows = [r for f in sorted(result.data_dir.glob("accuracy-top1-*.csv")) for r in read_csv(f)]
    stored = [r for r in Store(db).records() if r.model.startswith("random:") and r.metric("top1")]
    assert len(stored) == 4
    for r in stored:
        match = [x for x in rows if x["model"] == r.model and x["benchmark"] == r.benchmark]
        assert len(match) == 1
        assert float(match[0]["value"]) == pytest.approx(r.metric("top1").value)
        assert float(match[0]["ci_high"]) == pytest.approx(r.metric("top1").ci_high)
    # the synthetic store holds no run of the new perspectives: their sections say what they need instead
    assert result.sections == ALL_SECTIONS and not set(result.skipped) & {"Accuracy", "Calibration"}
    assert set(result.skipped) == {"3D awareness: correspondence", "3D corruptions", "LMMs next to their CLIP",
                                   "Modality bridging: image-text retrieval and the modality gap",
                                   "Data overlap"}  # fmt: skip


def test_findings_come_from_their_sections_in_page_order_linked_to_their_own_figures(built):
    _, result = built
    index = json.loads((result.data_dir / "index.json").read_text())
    section_of = {f["id"]: f["section"] for f in index["figures"]}
    rows = json.loads((result.data_dir / "findings.json").read_text())["rows"]
    questions = [r["question"] for r in rows]
    assert set(questions) == set(ALL_SECTIONS) - {"accuracy", "corruptions"}, questions
    assert questions == sorted(questions, key=ALL_SECTIONS.index)
    linked = [(r["question"], section_of[r["figure"]]) for r in rows if r["figure"]]
    assert len(linked) >= len(set(questions)) and all(q == s for q, s in linked), linked


def test_protocol_is_written_next_to_each_plot(built):
    _, result = built
    index = json.loads((result.data_dir / "index.json").read_text())
    by_id = {f["id"]: f["protocol"] for f in index["figures"]}
    assert "200 classes" in by_id["accuracy-top1-natural-shift"]["label space"]
    assert "80 templates" in by_id["accuracy-top1-in-distribution"]["prompts"]
    # the real engine runs used --bootstrap 200
    assert "200 resamples" in by_id["accuracy-top1-in-distribution"]["intervals"]
    assert "n_bins=15" in by_id["calibration-ece"]["calibration"]
    assert "positive=in-distribution" in by_id["ood-auroc"]["ood"]
    er = next(p for k, p in by_id.items() if k.startswith("effective-robustness"))
    assert er["fit"] != "none"  # a trend: the published baseline (analysis installed) or the store's classifiers
    assert all("synthetic" in p for k, p in by_id.items() if k.startswith("ood"))


def test_hostile_names_are_text_in_page_svg_and_data_files(built):
    _, result = built
    html = result.path.read_text()
    assert HOSTILE not in html
    parser = Tags()
    parser.feed(html)
    assert "img" not in parser.tags and "b" not in parser.tags and "i" not in parser.tags
    assert parser.tags.count("script") == 2  # the entries' JSON and the page's own script
    assert HOSTILE in "".join(parser.text)  # shown as the text it is
    entries = json.loads(
        re.search(r'<script type="application/json" id="zs-entries"[^>]*>(.*?)</script>', html, re.S)[1]
    )
    assert HOSTILE in [e["label"] for e in entries]
    for svg in re.findall(r"<svg.*?</svg>", html, re.S):
        ET.fromstring(svg)  # every plot is well-formed XML with its text escaped
    rows = read_csv(result.data_dir / "accuracy-top1-in-distribution.csv")
    assert HOSTILE in {r["model"] for r in rows}
    payload = json.loads((result.data_dir / "shape-bias.json").read_text())
    assert HOSTILE in {r["model"] for r in payload["rows"]}
    assert "</script>" not in (result.data_dir / "shape-bias.json").read_text()


def test_rebuild_replaces_its_own_files_only(tmp_path):
    store = Store(tmp_path / "s.db")
    metrics = [MetricValue("top1", 0.5, True), MetricValue("ece", 0.1, False)]
    store.write(
        RunRecord.new(model="zoo:a", benchmark="b", shift=None, prompts="p", label_space="full", metrics=metrics)
    )
    out = tmp_path / "r.html"
    first = build_report(store, out)
    assert (first.data_dir / "calibration-ece.csv").exists()
    (first.data_dir / "notes.txt").write_text("mine")
    other = Store(tmp_path / "t.db")
    other.write(
        RunRecord.new(model="zoo:a", benchmark="b", shift=None, prompts="p", label_space="full", metrics=metrics[:1])
    )
    second = build_report(other, out)
    assert not (second.data_dir / "calibration-ece.csv").exists()  # stale plot data removed
    assert (second.data_dir / "accuracy-top1-unknown.csv").exists()
    assert (second.data_dir / "notes.txt").read_text() == "mine"
    assert "Not in this store" in out.read_text() and "needs ece" in out.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--store", "{tmp}/missing.db"], "no results store at"),
        (["--store", "{tmp}/empty.db"], "holds no records"),
        (["--store", "{tmp}/empty.db", "-o", "{tmp}/report.pdf"], "-o must name an .html file"),
        (["--store", "{tmp}/empty.db", "--humans", "{tmp}/nowhere"], "--humans"),
    ],
)
def test_cli_mistakes_are_one_line_and_exit_2(tmp_path, capsys, args, message):
    Store(tmp_path / "empty.db")
    argv = ["report", *[a.format(tmp=tmp_path) for a in args]]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "r.html")]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.startswith("zeroshift: error: ") and message in err and err.count("\n") == 1
