"""Model metadata for the six-factor analyses, looked up in data files for known weights.

``_info/training_data.csv`` maps a backend and a regular expression over ``ARCH@TAG`` (open_clip), the hub
repo id (hf) or the pretrained name (timm) to training data, its size, loss and fine-tuning; the first
matching row wins. ``_info/families.csv`` maps architecture names to families. Anything the files do not
know stays ``None`` unless the user supplies it (``--model-meta training_data=...``).

Example:
    >>> lookup_training("open_clip", "ViT-B-32@laion2b_s34b_b79k")["training_data"]
    'LAION-2B'
    >>> family_of("ViT-B-32"), family_of("resnet50")
    ('ViT', 'ResNet')

"""

from __future__ import annotations

import csv
import io
import re
from functools import cache
from importlib import resources
from typing import Any

from zeroshift.errors import UsageError
from zeroshift.models.base import ModelInfo

_FIELDS = ("training_data", "data_size", "loss", "fine_tuned")


def _read_csv(name: str) -> list[dict[str, str]]:
    text = (resources.files("zeroshift.models") / "_info" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@cache
def _training_rows() -> tuple[tuple[str, re.Pattern[str], dict[str, Any]], ...]:
    rows = []
    for row in _read_csv("training_data.csv"):
        values: dict[str, Any] = {
            "training_data": row["training_data"] or None,
            "data_size": int(row["data_size"]) if row["data_size"] else None,
            "loss": row["loss"] or None,
            "fine_tuned": {"true": True, "false": False}.get(row["fine_tuned"]),
        }
        rows.append((row["backend"], re.compile(row["pattern"]), values))
    return tuple(rows)


@cache
def _family_rows() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(r["pattern"]), r["family"]) for r in _read_csv("families.csv"))


def lookup_training(backend: str, key: str) -> dict[str, Any]:
    """Training metadata of known weights (empty dict when the data file has no row for ``key``)."""
    for row_backend, pattern, values in _training_rows():
        if row_backend == backend and pattern.fullmatch(key):
            return dict(values)
    return {}


def family_of(architecture: str) -> str:
    """The architecture family of a name (``ViT``, ``ResNet``, ``ConvNeXt``...), or ``other``."""
    for pattern, family in _family_rows():
        if pattern.fullmatch(architecture):
            return family
    return "other"


def build_info(architecture: str, backend: str, key: str | None, params: int | None) -> ModelInfo:
    """Assemble a :class:`ModelInfo` from the data files (``key`` is what :func:`lookup_training` matches)."""
    known = lookup_training(backend, key) if key else {}
    return ModelInfo(
        architecture=architecture,
        family=family_of(architecture),
        params=params,
        source="data file" if known else "unknown",
        **{f: known.get(f) for f in _FIELDS},
    )


def apply_user_metadata(info: ModelInfo, pairs: dict[str, str]) -> ModelInfo:
    """Override metadata fields with user-supplied ``key=value`` strings (``--model-meta``)."""
    allowed = {"architecture", "family", "training_data", "data_size", "loss", "fine_tuned", "params"}
    for key, value in pairs.items():
        if key not in allowed:
            raise UsageError(f"--model-meta: unknown field {key!r}; known: {', '.join(sorted(allowed))}")
        if key in ("data_size", "params"):
            try:
                parsed: Any = int(float(value))
            except ValueError:
                raise UsageError(f"--model-meta {key}: expected a number, got {value!r}") from None
        elif key == "fine_tuned":
            if value.lower() not in ("true", "false", "yes", "no", "1", "0"):
                raise UsageError(f"--model-meta fine_tuned: expected true or false, got {value!r}")
            parsed = value.lower() in ("true", "yes", "1")
        else:
            parsed = value
        setattr(info, key, parsed)
    if pairs:
        info.source = "user" if info.source == "unknown" else f"{info.source} + user"
    return info
