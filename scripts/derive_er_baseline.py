"""Derive the shipped effective-robustness baseline table from the published reference results.

Reads ``$ZEROSHIFT_SHARED_DATA/reference-results`` (default ``../shared/data/reference-results``): the ImageNet
testbed's ``robustness_top1s.csv`` + ``model_types.csv`` (Taori et al. 2020) and timm's ``results-*.csv`` +
``model_metadata-in1k.csv``, keeps the models trained on ImageNet-1k alone, converts percent to fractions and
writes ``src/zeroshift/reports/_info/er_baseline.csv``. The sources and selection rules are described in
``er_baseline_sources.json`` next to it. Run: ``uv run python scripts/derive_er_baseline.py``.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = Path(os.environ.get("ZEROSHIFT_SHARED_DATA", REPO.parent / "shared" / "data")) / "reference-results"
OUT = REPO / "src" / "zeroshift" / "reports" / "_info" / "er_baseline.csv"

COLUMNS = (
    "val",
    "imagenet_v2",
    "imagenet_sketch",
    "imagenet_r",
    "imagenet_a",
    "objectnet",
    "val_on_imagenet_r_classes",
    "val_on_imagenet_a_classes",
    "val_on_objectnet_classes",
)

TESTBED = {
    "val": "val",
    "imagenet_v2": "imagenetv2-matched-frequency-format-val",
    "imagenet_sketch": "imagenet-sketch",
    "imagenet_r": "imagenet-r",
    "imagenet_a": "imagenet-a",
    "objectnet": "objectnet-1.0-beta",
    "val_on_imagenet_r_classes": "val-on-imagenet-r-classes",
    "val_on_imagenet_a_classes": "val-on-imagenet-a-classes",
    "val_on_objectnet_classes": "val-on-objectnet-classes",
}

TIMM = {
    "val": "results-imagenet.csv",
    "imagenet_v2": "results-imagenetv2-matched-frequency.csv",
    "imagenet_sketch": "results-sketch.csv",
    "imagenet_r": "results-imagenet-r.csv",
    "imagenet_a": "results-imagenet-a.csv",
    "val_on_imagenet_r_classes": "results-imagenet-r-clean.csv",
    "val_on_imagenet_a_classes": "results-imagenet-a-clean.csv",
}

# testbed: the line-fit rule of plotting/paper_*.py (STANDARD models, no AWS / batch-64 reruns, no subsamples)
TESTBED_EXCLUDE = re.compile(r"aws|batch64|subsample", re.IGNORECASE)
# timm: pretrained tags that name data or training beyond ImageNet-1k (or distillation / adversarial training)
TIMM_EXCLUDE = re.compile(r"in21k|in22k|in12k|ig1b|yfcc|swag|seer|jft|dist|adv|(^|_)ap_|(^|_)ft_in1k|laion|openai|clip")


def fraction(percent: str) -> str:
    """Percent text -> fraction text (6 decimals; empty stays empty)."""
    return "" if percent.strip() == "" else f"{float(percent) / 100:.6f}"


def read(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def testbed_rows() -> list[dict[str, str]]:
    """The testbed's standard ImageNet-1k models."""
    types = {r["model"]: r["model_type"] for r in read(SOURCE / "imagenet_testbed" / "model_types.csv")}
    rows = []
    for r in read(SOURCE / "imagenet_testbed" / "robustness_top1s.csv"):
        if types.get(r["model"]) != "STANDARD" or TESTBED_EXCLUDE.search(r["model"]):
            continue
        rows.append({"source": "testbed", "model": r["model"], **{k: fraction(r[v]) for k, v in TESTBED.items()}})
    return rows


def timm_rows() -> list[dict[str, str]]:
    """The ImageNet-1k-only models of timm (one row per model and image size)."""
    pretrain = {r["model"]: r["pretrain"] for r in read(SOURCE / "timm" / "model_metadata-in1k.csv")}
    tables = {
        key: {(r["model"], r["img_size"]): r["top1"] for r in read(SOURCE / "timm" / name)}
        for key, name in TIMM.items()
    }
    rows = []
    for model, size in sorted(tables["val"]):
        base, _, tag = model.partition(".")
        if pretrain.get(base) != "in1k" or TIMM_EXCLUDE.search(tag):
            continue
        values = {k: fraction(tables[k].get((model, size), "")) for k in TIMM}
        rows.append(
            {"source": "timm", "model": f"{model}@{size}", **values, "objectnet": "", "val_on_objectnet_classes": ""}
        )
    return rows


def main() -> None:
    """Write the table."""
    rows = testbed_rows() + timm_rows()
    with open(OUT, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["source", "model", *COLUMNS], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows -> {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
