"""FactorWorld benchmarks: splits generated in memory, evaluated through the same engine as folder datasets.

Each benchmark is a split of world.yaml (clean test, held-out shifts, per-factor, cue-conflict, typographic,
OOD) with two parameters: ``n`` (number of samples) and ``seed``. Its :class:`FactorWorldDataset` holds the
parameters of every sample; ``load(i)`` renders sample ``i`` and ``content_key(i)`` is derived from the
generator version and a digest of the sample's parameters (never from files), so cached features stay valid
exactly as long as the pixels would be the same. Every factor level travels as a ``Dataset.meta`` column,
so metric groups break accuracy down by factor from exact labels.

Example:
    >>> bench = FactorWorldTest(n=32)
    >>> data = bench.dataset()
    >>> len(data), data.classes[:3], data.meta["style"][0]
    (32, ['circle', 'square', 'triangle'], 'filled')
    >>> image, note = data.load(0)
    >>> image.size
    (64, 64)
    >>> bench.label_space().universe
    'factorworld'

"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from zeroshift.data.base import Benchmark, Dataset, LabelSpace
from zeroshift.data.factorworld.render import RENDER_VERSION, render
from zeroshift.data.factorworld.sampler import params_digest, sample_params, split_recipe
from zeroshift.data.factorworld.world import world
from zeroshift.data.ood import OODBenchmark
from zeroshift.errors import SpecError

#: the class universe of FactorWorld label spaces and of the zoo's supervised classifiers
UNIVERSE = "factorworld"
#: per-sample factor columns, in display order (``None`` where a factor does not apply)
FACTOR_COLUMNS = (
    "style", "background", "texture", "colour", "size", "position", "rotation", "occlusion", "objects", "lighting",
)  # fmt: skip


class _RenderMemo:
    """Recently rendered images by content key, so several models evaluated in one process render once."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, params: dict[str, Any]) -> Image.Image:
        with self._lock:
            arr = self._items.get(key)
            if arr is not None:
                self._items.move_to_end(key)
                return Image.fromarray(arr)
        image = render(params)
        with self._lock:
            self._items[key] = np.asarray(image)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return image


_MEMO = _RenderMemo()


def generator_key() -> str:
    """What identifies the generator: world.yaml version and digest, and the renderer version."""
    w = world()
    return f"factorworld/w{w.version}.r{RENDER_VERSION}.{w.digest}"


class FactorWorldDataset(Dataset):
    """A dataset whose samples are parameter dicts rendered on demand (see the module docstring)."""

    def __init__(self, name: str, classes: list[str], params: list[dict[str, Any]], targets: np.ndarray,
                 meta: dict[str, list[Any]]) -> None:  # fmt: skip
        digests = [params_digest(p) for p in params]
        super().__init__(name, None, classes, [f"{name}/{i:06d}-{d[:8]}" for i, d in enumerate(digests)], targets, meta)
        self.params = params
        self.digests = digests
        self.generator = generator_key()

    def content_key(self, i: int) -> str:
        """Generator version + the digest of the sample's parameters."""
        return f"{self.generator}|{self.digests[i]}"

    def load(self, i: int) -> tuple[Image.Image, str]:
        """Render sample ``i`` (memoised in this process)."""
        return _MEMO.get(self.content_key(i), self.params[i]), ""

    def subset(self, indices: Sequence[int]) -> FactorWorldDataset:
        """The dataset of the given samples (``--limit``)."""
        idx = list(indices)
        clone = super().subset(idx)
        assert isinstance(clone, FactorWorldDataset)
        clone.params = [self.params[i] for i in idx]
        clone.digests = [self.digests[i] for i in idx]
        return clone


class FactorWorld(Benchmark):
    """Base of the FactorWorld benchmarks: one split of world.yaml, generated in memory."""

    name = "factorworld"
    display_name = "FactorWorld"
    description = "FactorWorld clean test split (generated, 16 shapes, exact factor labels)"
    defaults: ClassVar[dict[str, Any]] = {"n": 1000, "seed": 0}
    label_spaces = ("native",)
    # every split carries exact factor labels (``--metrics factor_accuracy`` breaks any of them down); the clean
    # and per-factor splits do so by default
    metric_groups = ("accuracy",)
    factor_columns = FACTOR_COLUMNS
    layout = "none: generated in memory by zeroshift (needs no --data-root)"
    published_at = ""
    #: the world.yaml split this benchmark draws
    split: ClassVar[str] = "test"

    def validate_params(self) -> None:  # noqa: D102
        n, seed = self.params["n"], self.params["seed"]
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 1_000_000:
            raise SpecError(f"{self.name}: n must be an integer from 1 to 1000000, got {n!r}")
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise SpecError(f"{self.name}: seed must be a non-negative integer, got {seed!r}")

    @property
    def record(self) -> dict[str, Any]:
        """The generator and the split recipe, recorded with every run."""
        w = world()
        return {
            "generator": generator_key(),
            "image_size": w.image_size,
            **split_recipe(self.split).record,
        }

    def dataset(self) -> FactorWorldDataset:
        """Sample the parameters of every sample (rendering happens in ``load``)."""
        w = world()
        recipe = split_recipe(self.split)
        params = [sample_params(recipe, self.params["seed"], i, w) for i in range(self.params["n"])]
        classes = list(w.classes)
        if self.labelled:
            targets = np.asarray([classes.index(p["shape"]) for p in params], dtype=np.int64)
        else:
            targets = np.full(len(params), -1, dtype=np.int64)
        meta: dict[str, list[Any]] = {c: [p["factors"][c] for p in params] for c in FACTOR_COLUMNS}
        meta["shape"] = [p["shape"] for p in params]
        meta.update(self.extra_meta(params))
        return FactorWorldDataset(self.name, classes, params, targets, meta)

    def extra_meta(self, params: list[dict[str, Any]]) -> dict[str, list[Any]]:
        """Further per-sample columns of a split (override)."""
        return {}

    def label_space(self, name: str | None = None) -> LabelSpace:
        """``native``: the 16 training classes (OOD shapes are scored against them too)."""
        self.resolve_label_space(name)
        classes = world().classes
        return LabelSpace.from_columns("native", classes, UNIVERSE, classes, list(range(len(classes))))


class FactorWorldTest(FactorWorld):
    """The clean test split: the ``narrow`` distribution the supervised classifiers train on."""

    training_set = "FactorWorld-narrow"

    metric_groups = ("accuracy", "factor_accuracy")


class FactorWorldSketch(FactorWorld):
    """Held-out style ``sketch`` (pencil strokes, no colour): the analogue of ImageNet-Sketch."""

    name = "factorworld_sketch"
    display_name = "FactorWorld sketch"
    description = "FactorWorld held-out style: pencil sketches (ImageNet-Sketch analogue)"
    in_distribution = "factorworld"
    split = "sketch"


class FactorWorldRendition(FactorWorld):
    """Held-out style ``stipple`` (coloured dots): a rendition no model saw, the analogue of ImageNet-R."""

    name = "factorworld_rendition"
    display_name = "FactorWorld rendition"
    description = "FactorWorld held-out style: stippled renditions (ImageNet-R analogue)"
    in_distribution = "factorworld"
    split = "rendition"


class FactorWorldBackgrounds(FactorWorld):
    """Held-out backgrounds: natural photos shipped with scikit-image behind the shapes."""

    name = "factorworld_backgrounds"
    display_name = "FactorWorld backgrounds"
    description = "FactorWorld held-out backgrounds: natural photos"
    in_distribution = "factorworld"
    split = "backgrounds"


class FactorWorldCombos(FactorWorld):
    """Held-out colour-shape combinations (each class in two colours no training set pairs it with)."""

    name = "factorworld_combos"
    display_name = "FactorWorld combinations"
    description = "FactorWorld held-out colour-shape combinations"
    in_distribution = "factorworld"
    split = "combos"


class FactorWorldFactors(FactorWorld):
    """One factor varied per sample over all its levels (``varied`` names it), the rest in-distribution."""

    name = "factorworld_factors"
    display_name = "FactorWorld factors"
    kind = "diagnostic"
    description = "FactorWorld per-factor split: one factor varied per sample, exact labels"
    defaults: ClassVar[dict[str, Any]] = {"n": 1800, "seed": 0}
    metric_groups = ("accuracy", "factor_accuracy")
    split = "factors"

    def extra_meta(self, params: list[dict[str, Any]]) -> dict[str, list[Any]]:  # noqa: D102
        return {"varied": [p["factors"]["varied"] for p in params]}


class FactorWorldCueConflict(FactorWorld):
    """Cue-conflict: each shape filled with the pattern and colour tied to another class in training."""

    name = "factorworld_cue_conflict"
    display_name = "FactorWorld cue-conflict"
    kind = "diagnostic"
    description = "FactorWorld cue-conflict: shape of one class, texture of another"
    defaults: ClassVar[dict[str, Any]] = {"n": 480, "seed": 0}
    split = "cue_conflict"

    metric_groups = ("accuracy", "shape_bias")
    #: the shape_bias group reads the texture class index from this column (``texture`` is the pattern factor)
    texture_column = "texture_class"

    def extra_meta(self, params: list[dict[str, Any]]) -> dict[str, list[Any]]:  # noqa: D102
        classes = world().classes
        return {
            "shape_label": [p["shape"] for p in params],
            "texture_label": [p["factors"]["texture_class"] for p in params],
            "texture_class": [classes.index(p["factors"]["texture_class"]) for p in params],
        }


class FactorWorldTypographic(FactorWorld):
    """Typographic: the name of a wrong class written above or below the shape."""

    name = "factorworld_typographic"
    display_name = "FactorWorld words"
    kind = "typographic"
    description = "FactorWorld typographic: a wrong class name written into the image"
    split = "typographic"

    def extra_meta(self, params: list[dict[str, Any]]) -> dict[str, list[Any]]:  # noqa: D102
        return {"word": [p["factors"]["word"] for p in params]}


class FactorWorldOOD(FactorWorld, OODBenchmark):
    """Shapes outside the 16 training classes (no labels): the OOD set of FactorWorld, scored against ``id``."""

    name = "factorworld_ood"
    display_name = "FactorWorld OOD shapes"
    description = "FactorWorld OOD: shapes outside the training classes (unlabelled; id='factorworld')"
    defaults: ClassVar[dict[str, Any]] = {"n": 500, "seed": 0, "id": "factorworld"}
    labelled = False
    metric_groups = ("ood",)
    split = "ood"

    def validate_params(self) -> None:  # noqa: D102
        FactorWorld.validate_params(self)
        OODBenchmark.validate_params(self)
