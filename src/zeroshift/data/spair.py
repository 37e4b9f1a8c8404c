"""SPair-71k (Min et al. 2019) in its released layout, as a correspondence benchmark.

Under ``--data-root`` (or ``spair(path='.../SPair-71k')``)::

    SPair-71k/JPEGImages/<category>/<name>.jpg
    SPair-71k/PairAnnotation/<split>/<pair_id>-<src>-<trg>:<category>.json     (split: test, val, trn)
    SPair-71k/ImageAnnotation/<category>/<name>.json                          (per-image; not needed here)

Each pair file holds ``src_imname``, ``trg_imname``, ``src_imsize`` / ``trg_imsize`` (``[W, H, C]``),
``src_bndbox`` / ``trg_bndbox`` (``[x1, y1, x2, y2]``), ``src_kps`` / ``trg_kps`` (the keypoints visible in both
images, in matching order, ``[[x, y], ...]``), ``kps_ids``, ``category`` and the difficulty labels
``viewpoint_variation``, ``scale_variation``, ``truncation``, ``occlusion`` (0, 1, 2) and ``mirror``.

The PCK normaliser is the larger side of the target bounding box (SPair's PCK@bbox; probe3d's
``max(bbox side) / max(image side)`` on images scaled by ``1 / max(image side)`` is the same ratio). Every pair is
checked before any work: its two images exist, their sizes are the sizes the annotation states, and every
keypoint and box lies inside its image (within ``keypoint_tolerance`` pixels); the first mismatch is one line.

Example:
    >>> bench = SPair(None, split="test", per_category=200)
    >>> bench.canonical
    "spair(path=None, per_category=200, seed=0, split='test')"

"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from zeroshift.data.correspondence import CorrespondenceBenchmark, PairDataset, PairTable, correspondence_info
from zeroshift.errors import DatasetError, SpecError

#: the fields every pair annotation must have
REQUIRED = ("src_imname", "trg_imname", "src_imsize", "trg_imsize", "src_bndbox", "trg_bndbox", "src_kps",
            "trg_kps", "category")  # fmt: skip


class SPair(CorrespondenceBenchmark):
    """SPair-71k keypoint pairs (see the module docstring)."""

    name = "spair"
    display_name = "SPair-71k"
    description = "SPair-71k semantic keypoint pairs (PCK@bbox by viewpoint variation and category)"
    defaults: ClassVar[dict[str, Any]] = {"split": "test", "per_category": None, "seed": 0, "path": None}
    layout = (
        "SPair-71k/JPEGImages/<category>/*.jpg, SPair-71k/PairAnnotation/<split>/*.json (src_imname, trg_imname, "
        "src_imsize, trg_imsize, src_bndbox, trg_bndbox, src_kps, trg_kps, category, viewpoint_variation), "
        "SPair-71k/ImageAnnotation/<category>/*.json"
    )
    published_at = "https://cvlab.postech.ac.kr/research/SPair-71k/"

    def validate_params(self) -> None:  # noqa: D102
        splits = correspondence_info()["spair"]["splits"]
        if self.params["split"] not in splits:
            raise SpecError(f"spair: split must be one of {', '.join(splits)}, got {self.params['split']!r}")
        per = self.params["per_category"]
        if per is not None and (not isinstance(per, int) or isinstance(per, bool) or per < 1):
            raise SpecError(f"spair: per_category must be a positive integer or None, got {per!r}")
        seed = self.params["seed"]
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise SpecError(f"spair: seed must be a non-negative integer, got {seed!r}")

    @property
    def root(self) -> Path:
        """The ``SPair-71k`` folder: ``path`` when given, else ``SPair-71k`` under ``--data-root``."""
        if self.params["path"] is not None:
            return Path(str(self.params["path"])).expanduser()
        if self.data_root is None:
            raise DatasetError(f"spair needs --data-root or path='.../SPair-71k'. Expected layout: {self.layout}.")
        return self.data_root / "SPair-71k"

    @property
    def record(self) -> dict[str, Any]:  # noqa: D102
        return {"reader_version": correspondence_info()["spair"]["version"]}

    def dataset(self) -> PairDataset:
        """Read and check every pair annotation of the split; images are listed once each."""
        info = correspondence_info()["spair"]
        root = self.root
        folder = root / "PairAnnotation" / self.params["split"]
        if not (root / "JPEGImages").is_dir():
            raise self.missing(root / "JPEGImages", "no JPEGImages folder")
        if not folder.is_dir():
            raise self.missing(folder, "no pair annotation folder")
        files = sorted(p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
        if not files:
            raise self.missing(folder, "no pair annotation (*.json)")
        pairs = [self._read_pair(path) for path in files]
        pairs = self._subsample(pairs)
        return self._build(pairs, info)

    def _read_pair(self, path: Path) -> dict[str, Any]:
        rel = path.relative_to(self.root).as_posix()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise self.missing(path, f"unreadable pair annotation ({type(err).__name__})") from None
        absent = [k for k in REQUIRED if k not in data]
        if absent:
            raise self.missing(path, f"pair annotation without {', '.join(absent)}")
        data["_file"] = rel
        return data

    def _subsample(self, pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """At most ``per_category`` pairs of each category, drawn with ``default_rng(seed)``, in file order."""
        per = self.params["per_category"]
        if per is None:
            return pairs
        rng = np.random.default_rng(self.params["seed"])
        keep: list[int] = []
        categories = sorted({p["category"] for p in pairs})
        for cat in categories:
            rows = [i for i, p in enumerate(pairs) if p["category"] == cat]
            keep.extend(rows[j] for j in rng.permutation(len(rows))[:per])
        return [pairs[i] for i in sorted(keep)]

    def _image(self, category: str, name: str, stated: list[Any], where: str, cache: dict[str, Any]) -> tuple:
        """The sample id and true ``(W, H)`` of an image, checked against the size its annotation states."""
        rel = f"JPEGImages/{category}/{name}"
        if rel not in cache:
            path = self.root / rel
            if not path.is_file():
                raise self.missing(self.root / where, f"the annotation names {rel}, which does not exist")
            try:
                with Image.open(path) as im:  # reads the header only
                    cache[rel] = im.size
            except OSError:
                raise self.missing(path, "an image that cannot be read") from None
        size = cache[rel]
        if len(stated) < 2 or (int(stated[0]), int(stated[1])) != tuple(size):
            raise self.missing(
                self.root / where,
                f"the annotation gives {rel} the size {stated[:2]} (W, H) but the image is {list(size)}",
            )
        return rel, size

    def _build(self, pairs: list[dict[str, Any]], info: dict[str, Any]) -> PairDataset:
        tol = float(info["keypoint_tolerance"])
        sizes: dict[str, tuple[int, int]] = {}
        ids: dict[str, int] = {}
        rows: dict[str, list[Any]] = {k: [] for k in ("source", "target", "src", "trg", "ssize", "tsize", "norm")}
        extra = [c for c in info["extra_columns"]]
        columns: dict[str, list[Any]] = {"pair": [], "category": [], "viewpoint_variation": []}
        columns.update({c: [] for c in extra})
        for p in pairs:
            where = p["_file"]
            cat = p["category"]
            src_id, src_size = self._image(cat, p["src_imname"], p["src_imsize"], where, sizes)
            trg_id, trg_size = self._image(cat, p["trg_imname"], p["trg_imsize"], where, sizes)
            src = self._points(p["src_kps"], src_size, tol, where, "source keypoint")
            trg = self._points(p["trg_kps"], trg_size, tol, where, "target keypoint")
            if len(src) != len(trg) or not len(src):
                raise self.missing(
                    self.root / where, f"{len(src)} source but {len(trg)} target keypoints (expected the same, > 0)"
                )
            for box, size, role in ((p["src_bndbox"], src_size, "source"), (p["trg_bndbox"], trg_size, "target")):
                corners = self._points([box[:2], box[2:]] if len(box) == 4 else [], size, tol, where, f"{role} box")
                if len(corners) != 2 or (corners[1] <= corners[0]).any():
                    raise self.missing(self.root / where, f"{role} bndbox {box} is not [x1, y1, x2, y2]")
            x1, y1, x2, y2 = (float(v) for v in p["trg_bndbox"])
            for sid in (src_id, trg_id):
                ids.setdefault(sid, len(ids))
            rows["source"].append(ids[src_id])
            rows["target"].append(ids[trg_id])
            rows["src"].append(src)
            rows["trg"].append(trg)
            rows["ssize"].append(src_size)
            rows["tsize"].append(trg_size)
            rows["norm"].append(max(x2 - x1, y2 - y1))
            columns["pair"].append(Path(where).stem)
            columns["category"].append(cat)
            columns["viewpoint_variation"].append(p.get("viewpoint_variation"))
            for c in extra:
                columns[c].append(p.get(c))
        protocol = {
            "dataset": "SPair-71k",
            "split": self.params["split"],
            "per_category": self.params["per_category"],
            "seed": self.params["seed"],
            "keypoints": "src_kps/trg_kps of each pair annotation, pixel coordinates as given",
            "normaliser": "max side of the target bndbox (PCK@bbox)",
            "keypoint_tolerance": float(info["keypoint_tolerance"]),
            "reader_version": info["version"],
        }
        table = PairTable.build(
            rows["source"], rows["target"], rows["src"], rows["trg"], rows["ssize"], rows["tsize"], rows["norm"],
            columns=columns, bins=tuple(info["bins"]), protocol=protocol,
        )  # fmt: skip
        sample_ids = list(ids)
        meta = {"category": [s.split("/")[1] for s in sample_ids]}
        return PairDataset(self.name, self.root, sample_ids, table, meta)

    def _points(self, points: Any, size: tuple[int, int], tol: float, where: str, what: str) -> np.ndarray:
        try:
            arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        except (TypeError, ValueError):
            raise self.missing(self.root / where, f"{what}s are not a list of [x, y]") from None
        w, h = size
        outside = ~((arr[:, 0] >= -tol) & (arr[:, 0] <= w + tol) & (arr[:, 1] >= -tol) & (arr[:, 1] <= h + tol))
        if outside.any():
            k = int(np.flatnonzero(outside)[0])
            raise self.missing(
                self.root / where,
                f"{what} {k} at ({arr[k, 0]:g}, {arr[k, 1]:g}) lies outside its {w}x{h} image",
            )
        return arr
