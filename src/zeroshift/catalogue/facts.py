"""Training facts and families from ``zeroshift/models/_info/``, read without importing the model backends.

The same data files and the same rule as :mod:`zeroshift.models.metadata` (first matching row wins), read here
from their path so that listing the catalogue never imports torch (``zeroshift.models`` does);
``tests/unit/test_catalogue.py`` checks both lookups agree on every catalogue entry.

Example:
    >>> lookup_training("hf", "google/siglip-base-patch16-224")["loss"]
    'sigmoid'
    >>> family_of("convnext_base_w")
    'ConvNeXt'

"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path
from typing import Any

_INFO = Path(__file__).resolve().parents[1] / "models" / "_info"


def _rows(name: str) -> list[dict[str, str]]:
    with open(_INFO / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@cache
def _training() -> tuple[tuple[str, re.Pattern[str], dict[str, Any]], ...]:
    out = []
    for row in _rows("training_data.csv"):
        values = {
            "training_data": row["training_data"] or None,
            "data_size": int(row["data_size"]) if row["data_size"] else None,
            "loss": row["loss"] or None,
            "fine_tuned": {"true": True, "false": False}.get(row["fine_tuned"]),
        }
        out.append((row["backend"], re.compile(row["pattern"]), values))
    return tuple(out)


@cache
def _families() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(r["pattern"]), r["family"]) for r in _rows("families.csv"))


def lookup_training(backend: str, key: str) -> dict[str, Any]:
    """Training data, data size, loss and fine-tuning of ``key`` (empty when no row matches)."""
    for row_backend, pattern, values in _training():
        if row_backend == backend and pattern.fullmatch(key):
            return dict(values)
    return {}


def family_of(architecture: str) -> str:
    """The architecture family (``ViT``, ``ResNet``...), or ``other``."""
    for pattern, family in _families():
        if pattern.fullmatch(architecture):
            return family
    return "other"
