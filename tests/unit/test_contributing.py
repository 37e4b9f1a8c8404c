"""Every example of CONTRIBUTING.md runs, and the things it registers work through the engine and the report."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

USE = """
import json
import tempfile
from pathlib import Path
from PIL import Image
from zeroshift.engine.plan import PlanItem
from zeroshift.engine.runner import Runner, RunOptions
from zeroshift.reports.html import build_report
from zeroshift.specs import RunSpec

tmp = Path(tempfile.mkdtemp())
runner = Runner(RunOptions(cache_dir=tmp / "cache", workers=0, bootstrap=0, store=str(tmp / "r.db")))
# the group reads the artefact kind; the shift darkens what the model sees
clean = runner.run(PlanItem(RunSpec.make("zoo:sup-cnn-tiny", "factorworld(n=8)"), ("brightness",)))
dark = runner.run(PlanItem(RunSpec.make("zoo:sup-cnn-tiny", "factorworld(n=8)", "darken(factor=0.5)"), ("brightness",)))
a, b = clean.metric("mean_brightness").value, dark.metric("mean_brightness").value
assert abs(b - a / 2) < 1e-6, (a, b)
assert dark.condition["kind"] == "corruption_like" and dark.condition["label"].endswith("darkened x0.5")
# the benchmark and the backend: a constant model on a two-class folder is right on every cat, wrong on every dog
for cls in ("cat", "dog"):
    (tmp / "pets" / cls).mkdir(parents=True)
    for i in range(2):
        Image.new("RGB", (4, 4)).save(tmp / "pets" / cls / f"{i}.jpg")
pets = runner.run(RunSpec.make("constant:x", f"two_class_folder(path={str(tmp / 'pets')!r})", prompts="simple"))
assert pets.metric("top1").value == 0.5, pets.metric("top1")
# the report section is built from the store
result = build_report(str(tmp / "r.db"), tmp / "report.html")
assert "brightness" in result.sections, result.sections
found = json.loads((result.data_dir / "findings.json").read_text())["rows"]
assert [f["figure"] for f in found if f["question"] == "brightness"] == ["brightness"], found
print("ok")
"""


def test_every_example_runs_and_works():
    text = (REPO / "CONTRIBUTING.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 6
    proc = subprocess.run(
        [sys.executable, "-c", "\n\n".join(blocks) + "\n" + USE], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]
