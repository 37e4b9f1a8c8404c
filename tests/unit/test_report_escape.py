import csv
import html
import io
import json
import re

from tests.report_fixtures import HOSTILE
from zeroshift.reports.html.escape import csv_cell, script_json, slug, text


def test_text_escapes_markup_and_quotes():
    out = text(HOSTILE)
    assert "<" not in out and ">" not in out and '"' not in out and "'" not in out
    assert "&amp;amp;" in out  # the name's own "&amp;" is shown as typed, not as "&"
    assert html.unescape(out) == HOSTILE


def test_script_json_cannot_close_the_script_and_round_trips():
    value = {"label": HOSTILE, "sep": "a\u2028b\u2029c", "amp": "x&y"}
    raw = script_json(value)
    assert "</" not in raw and "<!--" not in raw and "\u2028" not in raw and "\u2029" not in raw
    assert json.loads(raw) == value


def test_csv_cell_defuses_formulas_and_keeps_numbers():
    assert csv_cell("=1+1") == "'=1+1" and csv_cell("@SUM(A1)") == "'@SUM(A1)" and csv_cell("+x") == "'+x"
    assert csv_cell(-0.25) == -0.25 and csv_cell("zoo:model") == "zoo:model"
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_cell(HOSTILE), 1])
    assert next(csv.reader(io.StringIO(buffer.getvalue())))[0] == HOSTILE


def test_slug_is_safe_and_distinct_for_hostile_words():
    a, b = slug("reliability", HOSTILE), slug("reliability", HOSTILE + "x")
    assert re.fullmatch(r"[a-z0-9-]+", a) and re.fullmatch(r"[a-z0-9-]+", b) and a != b
    assert slug("ECE by condition") == "ece-by-condition" and slug("calibration", "ece_ts") == "calibration-ece-ts"
    assert slug("../../etc/passwd").startswith("etc-passwd-")
