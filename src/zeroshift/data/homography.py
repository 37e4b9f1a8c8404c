"""``homography_pairs(path=..., n=..., seed=...)``: any folder of images turned into pairs under seeded random
homographies, with exact correspondences.

Pair ``j`` takes an image of the folder (a seeded permutation, cycling when ``n`` exceeds the images) and a
homography about the image centre ``c``, ``H = T(c + t) R(theta) S(s) P T(-c)`` with ``P`` a projective row
(ranges in ``_info/correspondence.yaml``). The source sample is the image itself; the target sample is the image
warped by ``H`` at the same size, **rendered by** :meth:`HomographyDataset.load` wherever the image is loaded
(a loader worker, another machine), from the file and the matrix alone: Pillow's perspective transform, bicubic,
black outside. Its content key is the file's key plus a digest of the matrix and the renderer version, so cached
features stay valid exactly as long as the pixels would be the same.

Keypoints are the centres of a ``grid x grid`` lattice over the source image, warped by ``H``; those that land
within ``margin`` of the target image are valid. Coordinates are continuous (the image spans ``[0, W] x [0, H]``,
pixel ``(i, j)`` centred at ``(j + 0.5, i + 0.5)``), the convention Pillow's transforms use, so a warped point is
exactly where the warped image shows it. The PCK normaliser is the larger image side. Pairs are binned by the
rotation ``|theta|`` and the scale change ``|log2 s|`` (exact at the image centre; ``P`` is the identity there).

Example:
    >>> H = homography_matrix(30.0, 1.0, (0.0, 0.0), (0.0, 0.0), (100, 100))
    >>> warp_points(H, [[50.0, 50.0], [100.0, 50.0]]).round(3).tolist()
    [[50.0, 50.0], [93.301, 75.0]]

"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from zeroshift.data.correspondence import (
    CorrespondenceBenchmark,
    PairDataset,
    PairTable,
    bin_label,
    correspondence_info,
)
from zeroshift.data.images import load_rgb
from zeroshift.data.ood import list_images_recursive
from zeroshift.errors import SpecError

_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


def homography_matrix(
    rotation_deg: float,
    scale: float,
    perspective: tuple[float, float],
    translation: tuple[float, float],
    size_wh: tuple[float, float],
) -> np.ndarray:
    """``H = T(c + t) R(theta) S(s) P T(-c)`` for an image of ``size_wh`` (``P``: rows ``[1 0 0; 0 1 0; px py 1]``,
    ``perspective`` given per pixel; ``y`` points down, so a positive angle turns clockwise on screen).
    """
    w, h = size_wh
    cx, cy = w / 2.0, h / 2.0
    a = np.deg2rad(rotation_deg)
    to_centre = np.array([[1.0, 0, -cx], [0, 1.0, -cy], [0, 0, 1.0]])
    proj = np.array([[1.0, 0, 0], [0, 1.0, 0], [perspective[0], perspective[1], 1.0]])
    rs = np.array([[scale * np.cos(a), -scale * np.sin(a), 0], [scale * np.sin(a), scale * np.cos(a), 0], [0, 0, 1.0]])
    back = np.array([[1.0, 0, cx + translation[0]], [0, 1.0, cy + translation[1]], [0, 0, 1.0]])
    return back @ rs @ proj @ to_centre


def warp_points(H: np.ndarray, points: Any) -> np.ndarray:
    """``(K, 2)`` points mapped by the homography ``H`` (homogeneous division)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    q = np.concatenate([p, np.ones((len(p), 1))], axis=1) @ np.asarray(H, dtype=np.float64).T
    return q[:, :2] / q[:, 2:3]


def warp_image(image: Image.Image, H: np.ndarray, resample: str = "bicubic", fill: tuple = (0, 0, 0)) -> Image.Image:
    """``image`` warped by ``H`` (source pixels -> target pixels) at the same size.

    Pillow's ``PERSPECTIVE`` transform maps each target pixel back through ``H^-1`` (normalised so its last entry
    is 1) and samples at pixel centres; the same coefficients give the same pixels on every machine.

    Example:
        >>> im = Image.new("RGB", (8, 8), (255, 0, 0))
        >>> warp_image(im, np.eye(3)).getpixel((4, 4))
        (255, 0, 0)

    """
    inv = np.linalg.inv(np.asarray(H, dtype=np.float64))
    inv = inv / inv[2, 2]
    coeffs = tuple(float(v) for v in inv.reshape(-1)[:8])
    return image.transform(
        image.size, Image.Transform.PERSPECTIVE, coeffs, resample=_RESAMPLE[resample], fillcolor=tuple(fill)
    )


def _rng(*parts: Any) -> np.random.Generator:
    digest = hashlib.sha256(json.dumps(parts, default=str).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def sample_homography(size_wh: tuple[int, int], rng: np.random.Generator, cfg: dict[str, Any]) -> dict[str, Any]:
    """Draw one homography for an image of ``size_wh`` (and its lattice keypoints) from ``cfg``'s ranges.

    Redraws, from the same stream, while fewer than ``min_keypoints`` lattice points stay inside the target.

    Example:
        >>> cfg = correspondence_info()["homography"]
        >>> h = sample_homography((64, 48), np.random.default_rng(0), cfg)
        >>> sorted(h)[:4], int(h["valid"].sum()) >= cfg["min_keypoints"]
        (['H', 'log2_scale', 'rotation', 'source_kps'], True)

    """
    w, h = size_wh
    side = float(max(w, h))
    g = int(cfg["grid"])
    xs, ys = np.meshgrid((np.arange(g) + 0.5) / g * w, (np.arange(g) + 0.5) / g * h)
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
    margin = float(cfg["margin"]) * side
    best: dict[str, Any] | None = None
    for _ in range(int(cfg["max_tries"])):
        theta = float(rng.uniform(-cfg["rotation_deg"], cfg["rotation_deg"]))
        log2s = float(rng.uniform(-cfg["log2_scale"], cfg["log2_scale"]))
        persp = rng.uniform(-cfg["perspective"], cfg["perspective"], 2) / side
        shift = rng.uniform(-cfg["translation"], cfg["translation"], 2) * side
        H = homography_matrix(theta, 2.0**log2s, (float(persp[0]), float(persp[1])), (shift[0], shift[1]), (w, h))
        warped = warp_points(H, grid)
        inside = (warped[:, 0] >= margin) & (warped[:, 0] <= w - margin)
        inside &= (warped[:, 1] >= margin) & (warped[:, 1] <= h - margin)
        cand = {"H": H, "rotation": theta, "log2_scale": log2s, "source_kps": grid, "target_kps": warped,
                "valid": inside}  # fmt: skip
        if best is None or inside.sum() > best["valid"].sum():
            best = cand
        if inside.sum() >= cfg["min_keypoints"]:
            return cand
    assert best is not None
    return best


class HomographyDataset(PairDataset):
    """Source images read from files, target images rendered from a file and a homography (``load``)."""

    per_sample: ClassVar[tuple[str, ...]] = ("warps",)

    def __init__(self, name: str, root: Path, sample_ids: list[str], pairs: PairTable, warps: list[dict | None],
                 meta: dict[str, list[Any]], resample: str, fill: tuple) -> None:  # fmt: skip
        super().__init__(name, root, sample_ids, pairs, meta)
        self.warps = warps
        self.resample = resample
        self.fill = tuple(fill)

    def path(self, i: int) -> Path:
        """The file of sample ``i`` (a warped sample's source file)."""
        warp = self.warps[i]
        assert self.root is not None
        return self.root / (warp["file"] if warp else self.sample_ids[i])

    def content_key(self, i: int) -> str:
        """The file's key; for a warped sample plus the digest of its matrix and the renderer version."""
        warp = self.warps[i]
        st = os.stat(self.path(i))
        base = f"{warp['file'] if warp else self.sample_ids[i]}|{st.st_size}|{st.st_mtime_ns}"
        if not warp:
            return base
        version = correspondence_info()["homography"]["version"]
        return f"{base}|homography-v{version}:{self.resample}:{warp['digest']}"

    def load(self, i: int) -> tuple[Image.Image, str]:
        """Decode sample ``i``; a warped sample is its source file warped by its matrix."""
        image, note = load_rgb(self.path(i))
        warp = self.warps[i]
        if warp:
            image = warp_image(image, np.asarray(warp["H"]), self.resample, self.fill)
        return image, note


class HomographyPairs(CorrespondenceBenchmark):
    """Any image folder as pairs under seeded random homographies (see the module docstring)."""

    name = "homography_pairs"
    display_name = "Homography pairs"
    description = "any image folder as pairs under seeded random homographies (exact correspondences)"
    defaults: ClassVar[dict[str, Any]] = {"path": None, "n": 200, "seed": 0}
    layout = "any folder of images, searched recursively (give path='...')"

    def validate_params(self) -> None:  # noqa: D102
        path, n, seed = self.params["path"], self.params["n"], self.params["seed"]
        if not isinstance(path, str) or not path:
            raise SpecError("homography_pairs needs a folder: homography_pairs(path='/path/to/images', n=200)")
        self.params["path"] = os.path.abspath(os.path.expanduser(path))
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 1_000_000:
            raise SpecError(f"homography_pairs: n must be an integer from 1 to 1000000, got {n!r}")
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise SpecError(f"homography_pairs: seed must be a non-negative integer, got {seed!r}")

    @property
    def record(self) -> dict[str, Any]:  # noqa: D102
        import PIL

        return {"homography": correspondence_info()["homography"], "pillow": PIL.__version__}

    def dataset(self) -> HomographyDataset:
        """Draw the pairs (image headers are read for their sizes; warps are rendered in ``load``)."""
        cfg = correspondence_info()["homography"]
        root = Path(self.params["path"])
        if not root.is_dir():
            raise self.missing(root)
        files = list_images_recursive(root)
        if not files:
            raise self.missing(root, "no images")
        seed, n = self.params["seed"], self.params["n"]
        order = np.random.default_rng(seed).permutation(len(files))
        ids: dict[str, int] = {}
        sample_ids: list[str] = []
        warps: list[dict | None] = []
        roles: list[str] = []
        sizes: dict[str, tuple[int, int]] = {}
        rows: dict[str, list[Any]] = {k: [] for k in ("source", "target", "src", "trg", "valid", "size", "norm")}
        columns: dict[str, list[Any]] = {"file": [], "rotation": [], "log2_scale": [], "rotation_bin": [],
                                         "scale_bin": []}  # fmt: skip
        for j in range(n):
            rel = files[int(order[j % len(files)])]
            if rel not in sizes:
                try:
                    with Image.open(root / rel) as im:
                        sizes[rel] = im.size
                except OSError:
                    raise self.missing(root / rel, "an image that cannot be read") from None
            if rel not in ids:
                ids[rel] = len(sample_ids)
                sample_ids.append(rel)
                warps.append(None)
                roles.append("source")
            size = sizes[rel]
            draw = sample_homography(size, _rng("homography_pairs", cfg["version"], seed, j, rel), cfg)
            H = [[float(v) for v in row] for row in draw["H"]]
            digest = hashlib.sha256(json.dumps(H).encode()).hexdigest()[:16]
            sample_ids.append(f"{rel}#homography-{j:06d}-{digest}")
            warps.append({"file": rel, "H": H, "digest": digest})
            roles.append("warped")
            rows["source"].append(ids[rel])
            rows["target"].append(len(sample_ids) - 1)
            rows["src"].append(draw["source_kps"])
            rows["trg"].append(draw["target_kps"])
            rows["valid"].append(draw["valid"])
            rows["size"].append(size)
            rows["norm"].append(float(max(size)))
            columns["file"].append(rel)
            columns["rotation"].append(round(draw["rotation"], 4))
            columns["log2_scale"].append(round(draw["log2_scale"], 4))
            columns["rotation_bin"].append(bin_label(abs(draw["rotation"]), cfg["rotation_bins"]))
            columns["scale_bin"].append(bin_label(abs(draw["log2_scale"]), cfg["scale_bins"]))
        protocol = {
            "dataset": "homography_pairs",
            "path": str(root),
            "n": n,
            "seed": seed,
            "homography": "H = T(c + t) R(theta) S(s) P T(-c) about the image centre",
            "ranges": {k: cfg[k] for k in ("rotation_deg", "log2_scale", "perspective", "translation")},
            "keypoints": f"centres of a {cfg['grid']}x{cfg['grid']} lattice over the source, warped by H; valid "
            f"where at least {cfg['margin']} x max(W, H) inside the target",
            "coordinates": "continuous, image spans [0, W] x [0, H] (pixel centres at +0.5)",
            "renderer": f"Pillow PERSPECTIVE, {cfg['resample']}, fill {cfg['fill']}",
            "normaliser": "max(W, H) of the target image",
            "rotation_bins": cfg["rotation_bins"],
            "scale_bins": cfg["scale_bins"],
            "version": cfg["version"],
        }
        table = PairTable.build(
            rows["source"], rows["target"], rows["src"], rows["trg"], rows["size"], rows["size"], rows["norm"],
            valid=rows["valid"], columns=columns, bins=("rotation_bin", "scale_bin"), protocol=protocol,
        )  # fmt: skip
        meta = {"role": roles, "file": [w["file"] if w else s for w, s in zip(warps, sample_ids, strict=True)]}
        return HomographyDataset(self.name, root, sample_ids, table, warps, meta, cfg["resample"], tuple(cfg["fill"]))
