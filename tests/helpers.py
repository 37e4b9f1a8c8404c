"""Test helpers: the shared real-data folder and ImageNet-family layouts built from its photos."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$ZEROSHIFT_SHARED_DATA`` or ``../shared/data`` next to the repository."""
    return Path(os.environ.get("ZEROSHIFT_SHARED_DATA", REPO.parent / "shared" / "data"))


def require_shared(sub: str = "") -> Path:
    """The shared data folder (or a subfolder), skipping the test with a reason when it is absent."""
    path = shared_data_dir() / sub
    if not path.exists():
        pytest.skip(f"shared real-data folder {path} is absent (set ZEROSHIFT_SHARED_DATA)")
    return path


def sample_manifest() -> list[dict[str, str]]:
    """Rows of imagenet-samples/manifest.csv: file, wnid, class_index, label, ..."""
    folder = require_shared("imagenet-samples")
    with open(folder / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def _place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def build_wnid_layout(
    root: Path,
    wnids: set[str] | None = None,
    per_class: int = 1,
    index_folders: bool = False,
    rename: str | None = None,
) -> list[Path]:
    """Folders ``root/<wnid or class index>/<file>`` of shared photos (one photo per class, repeated if asked)."""
    folder = require_shared("imagenet-samples")
    placed = []
    for row in sample_manifest():
        if wnids is not None and row["wnid"] not in wnids:
            continue
        cls = row["class_index"] if index_folders else row["wnid"]
        for k in range(per_class):
            name = row["file"] if k == 0 else f"{Path(row['file']).stem}_{k}{Path(row['file']).suffix}"
            if rename:
                name = Path(name).stem + rename
            dst = root / cls / name
            _place(folder / row["file"], dst)
            placed.append(dst)
    return placed
