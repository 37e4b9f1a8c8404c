"""Rebuild src/zeroshift/data/_info/imagenet_d.json from the ImageNet-D release's class files.

Usage: uv run python scripts/derive_imagenet_d_info.py /path/to/imagenet_d   (a clone of chenshuang-zhang/imagenet_d)

Reads ``preprocessing/imgnet_d_dir2imgnet_d_id.txt`` (class folder -> [class id, name]) and
``preprocessing/imgnet_d2imgnet_id.txt`` (class folder -> ImageNet indices); class names follow the release's
``evaluate_vlm.py`` (``_`` and ``-`` -> space, ``/`` -> `` or ``, lower case), the names its question files use.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "zeroshift" / "data" / "_info" / "imagenet_d.json"


def main(repo: Path) -> None:
    """Write the class file from a clone of the ImageNet-D repository."""
    ids = json.loads((repo / "preprocessing" / "imgnet_d_dir2imgnet_d_id.txt").read_text())
    imagenet = json.loads((repo / "preprocessing" / "imgnet_d2imgnet_id.txt").read_text())
    classes = []
    for folder, (index, raw) in sorted(ids.items(), key=lambda kv: kv[1][0]):
        name = raw.replace("_", " ").replace("-", " ").replace("/", " or ").lower()
        classes.append({"id": index, "folder": folder, "name": name, "imagenet_indices": imagenet[folder]})
    data = {
        "source": "https://github.com/chenshuang-zhang/imagenet_d (MIT): preprocessing/imgnet_d_dir2imgnet_d_id.txt, "
        "preprocessing/imgnet_d2imgnet_id.txt; names as evaluate_vlm.py writes them",
        "subsets": ["background", "texture", "material"],
        "classes": classes,
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {len(classes)} classes to {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
