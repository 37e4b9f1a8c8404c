"""``factorworld_pairs(n=..., seed=...)``: the same FactorWorld shape rendered under two known poses, with its
outline vertices as exact keypoints.

Pair ``j`` draws a clean FactorWorld sample (the ``narrow`` distribution with the levels of
``_info/correspondence.yaml``: filled, one object, no occluder, a fill pattern) and two poses of its object:
pose A (an angle, a radius, a centre) and pose B (the angle turned by up to 180 degrees, the radius scaled by up to
``2^0.4``, another centre), the object wholly inside the image in both. Both images share the background and the
lighting; the object is drawn rigidly, its fill pattern in the object's own frame (FactorWorld's benchmarks draw
patterns in image coordinates, which would slide over a turning shape), so every outline vertex (at most
``max_keypoints``, evenly subsampled) is an exact correspondence. Vertices are in pixels with the image spanning
``[0, 64] x [0, 64]``. The PCK normaliser is the image side; pairs are binned by the rotation difference.

Images are rendered on demand from each sample's parameters (as the FactorWorld benchmarks are), and a sample's
content key is the generator key plus a digest of its parameters and pose.

Example:
    >>> bench = FactorWorldPairs(n=4)
    >>> data = bench.dataset()
    >>> len(data), len(data.pairs), data.pairs.columns["rotation_bin"][:2]
    (8, 4, ['45-90', '0-45'])
    >>> data.load(0)[0].size
    (64, 64)

"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageDraw

from zeroshift.data.correspondence import (
    CorrespondenceBenchmark,
    PairDataset,
    PairTable,
    bin_label,
    correspondence_info,
)
from zeroshift.data.factorworld.benchmarks import generator_key
from zeroshift.data.factorworld.patterns import PATTERNS
from zeroshift.data.factorworld.render import background, light
from zeroshift.data.factorworld.sampler import Recipe, sample_params, sample_rng
from zeroshift.data.factorworld.shapes import outline, place
from zeroshift.data.factorworld.world import world
from zeroshift.errors import SpecError


def pose_vertices(shape: str, pose: dict[str, float], size: int, max_keypoints: int) -> np.ndarray:
    """The outline vertices of ``shape`` in ``pose`` (pixels), evenly subsampled to at most ``max_keypoints``.

    Example:
        >>> pose_vertices("square", {"cx": 0.5, "cy": 0.5, "r": 0.25, "angle": 45.0}, 64, 12).round(2).tolist()
        [[32.0, 48.0], [16.0, 32.0], [32.0, 16.0], [48.0, 32.0]]

    """
    points = place(shape, pose["cx"] * size, pose["cy"] * size, pose["r"] * size, pose["angle"])
    keep = np.linspace(0, len(points), min(len(points), max_keypoints), endpoint=False).astype(int)
    return points[keep]


def _coverage(points: np.ndarray, size: int, ss: int) -> np.ndarray:
    """Coverage in [0, 1] of a filled polygon (pixels), drawn ``ss`` times larger and box-filtered down."""
    img = Image.new("L", (size * ss, size * ss), 0)
    ImageDraw.Draw(img).polygon([tuple(p) for p in (points * ss).tolist()], fill=255)
    return np.asarray(img.reduce(ss) if ss > 1 else img, dtype=np.float32) / 255.0


def render_pose(params: dict[str, Any], pose: dict[str, float], reference_r: float) -> Image.Image:
    """One image of a pair: the sample's background, its object in ``pose``, the sample's lighting.

    The pattern is a function of the object frame, ``R(-angle) (p - c) / r``, scaled by ``reference_r`` (pose A's
    radius), so the two poses show the same pattern turned and scaled with the shape.
    """
    w = world()
    size, ss = w.image_size, w.supersample
    rng = np.random.default_rng(params["seed"])
    canvas = background(params["bg"], size, rng)
    obj = params["obj"]
    fill = _coverage(place(obj["shape"], pose["cx"] * size, pose["cy"] * size, pose["r"] * size, pose["angle"]),
                     size, ss)  # fmt: skip
    rgb = np.asarray(obj["rgb"], dtype=np.float32) / 255.0
    colour = np.broadcast_to(rgb, canvas.shape).astype(np.float32)
    if obj["pattern"]:
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
        a = np.deg2rad(pose["angle"])
        dx, dy = xs - pose["cx"] * size, ys - pose["cy"] * size
        # object-frame coordinates in units of pose A's pixels, then in pattern periods
        k = reference_r / pose["r"] / (obj["period"] * size)
        u = (np.cos(a) * dx + np.sin(a) * dy) * k
        v = (-np.sin(a) * dx + np.cos(a) * dy) * k
        m = PATTERNS[obj["pattern"]](u + obj["phase"][0], v + obj["phase"][1], np.hypot(u, v), rng)
        m = np.asarray(m, dtype=np.float32)[..., None]
        luminance = float(rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32))
        second = rgb * 0.4 + (0.0 if luminance > 0.5 else 1.0) * 0.6
        colour = colour * (1 - m) + second * m
    alpha = fill[..., None]
    canvas = canvas * (1 - alpha) + alpha * colour
    canvas = light(canvas, params["light"], size)
    return Image.fromarray((np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8))


class _PoseMemo:
    """Recently rendered pair images by content key: every model of a run (and the dense pass after the feature
    pass) reads the same images, rendered once in this process.
    """

    def __init__(self, capacity: int = 2048) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, spec: dict[str, Any]) -> Image.Image:
        with self._lock:
            arr = self._items.get(key)
            if arr is not None:
                self._items.move_to_end(key)
                return Image.fromarray(arr)
        image = render_pose(spec["params"], spec["pose"], spec["reference_r"])
        with self._lock:
            self._items[key] = np.asarray(image)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return image


_MEMO = _PoseMemo()


class FactorWorldPairDataset(PairDataset):
    """Samples rendered from (parameters, pose) on demand; content keys from their digest."""

    per_sample: ClassVar[tuple[str, ...]] = ("specs", "digests")

    def __init__(self, name: str, sample_ids: list[str], pairs: PairTable, specs: list[dict[str, Any]],
                 meta: dict[str, list[Any]]) -> None:  # fmt: skip
        super().__init__(name, None, sample_ids, pairs, meta)
        self.specs = specs
        self.digests = [hashlib.sha256(json.dumps(s, sort_keys=True).encode()).hexdigest()[:24] for s in specs]
        self.generator = f"{generator_key()}|pairs-v{correspondence_info()['factorworld_pairs']['version']}"

    def content_key(self, i: int) -> str:
        """Generator key + the digest of the sample's parameters and pose."""
        return f"{self.generator}|{self.digests[i]}"

    def load(self, i: int) -> tuple[Image.Image, str]:
        """Render sample ``i`` (memoised in this process)."""
        return _MEMO.get(self.content_key(i), self.specs[i]), ""


class FactorWorldPairs(CorrespondenceBenchmark):
    """FactorWorld shapes under two known poses (see the module docstring)."""

    name = "factorworld_pairs"
    display_name = "FactorWorld pairs"
    description = "FactorWorld shapes under two known poses, outline vertices as exact keypoints (generated)"
    defaults: ClassVar[dict[str, Any]] = {"n": 200, "seed": 0}
    layout = "none: generated in memory by zeroshift (needs no --data-root)"

    def validate_params(self) -> None:  # noqa: D102
        n, seed = self.params["n"], self.params["seed"]
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 1_000_000:
            raise SpecError(f"{self.name}: n must be an integer from 1 to 1000000, got {n!r}")
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise SpecError(f"{self.name}: seed must be a non-negative integer, got {seed!r}")

    @property
    def record(self) -> dict[str, Any]:  # noqa: D102
        return {"generator": generator_key(), "pairs": correspondence_info()["factorworld_pairs"]}

    def dataset(self) -> FactorWorldPairDataset:
        """Draw every pair's sample and poses (rendering happens in ``load``)."""
        cfg = correspondence_info()["factorworld_pairs"]
        w = world()
        size = w.image_size
        recipe = Recipe("correspondence_pairs", "narrow", dict(cfg["levels"]))
        seed = self.params["seed"]
        sample_ids: list[str] = []
        specs: list[dict[str, Any]] = []
        src, trg, columns = [], [], {"shape": [], "rotation": [], "log2_scale": [], "rotation_bin": []}
        for j in range(self.params["n"]):
            params = sample_params(recipe, seed, j, w)
            params.update(occluder=None, word=None, extras=[])
            obj = dict(params["obj"])
            obj["pattern"] = cfg["pattern_substitutes"].get(obj["pattern"], obj["pattern"])
            params["obj"] = obj
            rng = sample_rng("factorworld_pairs", cfg["version"], w.version, seed, j)
            pose_a, pose_b, turn, log2s = self._poses(obj["shape"], rng, cfg)
            for tag, pose in (("a", pose_a), ("b", pose_b)):
                specs.append({"params": params, "pose": pose, "reference_r": pose_a["r"]})
                sample_ids.append(f"{self.name}/{j:06d}{tag}")
            src.append(pose_vertices(obj["shape"], pose_a, size, cfg["max_keypoints"]))
            trg.append(pose_vertices(obj["shape"], pose_b, size, cfg["max_keypoints"]))
            columns["shape"].append(obj["shape"])
            columns["rotation"].append(turn)
            columns["log2_scale"].append(log2s)
            columns["rotation_bin"].append(bin_label(abs(turn), cfg["rotation_bins"]))
        n = self.params["n"]
        protocol = {
            "dataset": "factorworld_pairs",
            "n": n,
            "seed": seed,
            "generator": generator_key(),
            "levels": dict(cfg["levels"]),
            "pattern": "drawn in the object frame (turns and scales with the shape)",
            "pattern_substitutes": dict(cfg["pattern_substitutes"]),
            "keypoints": f"outline vertices, at most {cfg['max_keypoints']} (evenly subsampled)",
            "poses": {k: cfg[k] for k in ("radius", "log2_scale", "rotation_deg", "margin")},
            "coordinates": "continuous, image spans [0, W] x [0, H]",
            "normaliser": "image side",
            "rotation_bins": cfg["rotation_bins"],
            "version": cfg["version"],
        }
        table = PairTable.build(
            np.arange(n) * 2, np.arange(n) * 2 + 1, src, trg, [(size, size)] * n, [(size, size)] * n,
            [float(size)] * n, columns=columns, bins=("rotation_bin",), protocol=protocol,
        )  # fmt: skip
        meta = {"shape": [s["params"]["shape"] for s in specs], "pose": ["a", "b"] * n}
        return FactorWorldPairDataset(self.name, sample_ids, table, specs, meta)

    @staticmethod
    def _poses(shape: str, rng: np.random.Generator, cfg: dict[str, Any]) -> tuple[dict, dict, float, float]:
        """Poses A and B (centre, radius, angle as fractions of the image side and degrees), the object inside."""
        margin = float(cfg["margin"])
        reach = float(np.sqrt((outline(shape) ** 2).sum(axis=1)).max())  # 1 by construction; kept explicit
        r_a = float(rng.uniform(*cfg["radius"]))
        log2s = float(rng.uniform(-cfg["log2_scale"], cfg["log2_scale"]))
        r_b = r_a * 2.0**log2s
        angle = float(rng.uniform(0.0, 360.0))
        turn = float(rng.uniform(-cfg["rotation_deg"], cfg["rotation_deg"]))
        poses = []
        for r, a in ((r_a, angle), (r_b, angle + turn)):
            lo, hi = r * reach + margin, 1.0 - r * reach - margin
            cx, cy = (float(rng.uniform(lo, hi)) if lo < hi else 0.5 for _ in range(2))
            poses.append({"cx": round(cx, 5), "cy": round(cy, 5), "r": round(r, 5), "angle": round(a % 360.0, 4)})
        return poses[0], poses[1], round(turn, 4), round(log2s, 4)
