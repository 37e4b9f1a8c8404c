"""Where overlap checks get their image features: an ``Embedder`` (images -> unit rows) named by a model reference.

Everything in :mod:`zeroshift.overlap` takes its features through two small interfaces, so the engine can supply
them from its feature cache (the same loaders and fingerprints as every run) without this package knowing how:

* :class:`Embedder`: ``embedder(images) -> (N, D) float array`` with a :class:`ModelRef` saying whose features
  they are; an index records that reference and every check compares it with its own.
* :class:`FeatureProvider`: gives the embedder of a model spec, and the features of a benchmark's dataset.

:class:`DirectFeatures` is the stand-in used until the engine exposes its extractor: it loads the model and
encodes images in-process through the model's own preprocessing (geometry then normalisation), without a cache.

Example:
    >>> from PIL import Image
    >>> embed = ModelEmbedder("zoo:clip-cnn-diverse")
    >>> rows = embed([Image.new("RGB", (64, 64), "red"), Image.new("RGB", (64, 64), "blue")])
    >>> rows.shape, round(float(np.linalg.norm(rows[0])), 4), embed.calls
    ((2, 64), 1.0, 1)
    >>> embed.model.spec
    'zoo:clip-cnn-diverse'

"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from zeroshift.data.base import Dataset
from zeroshift.errors import BadImageError, UsageError


@dataclass(frozen=True)
class ModelRef:
    """Whose features: the canonical model spec and the fingerprint of its weights and preprocessing.

    Two references name the same features when their fingerprints are equal (the spec is for people).

    Example:
        >>> a = ModelRef("zoo:a", "f1"); a.same(ModelRef("zoo:a@/elsewhere", "f1")), a.same(ModelRef("zoo:b", "f2"))
        (True, False)

    """

    spec: str
    fingerprint: str

    def same(self, other: ModelRef) -> bool:
        """Whether ``other`` names the same features."""
        return self.fingerprint == other.fingerprint

    def as_dict(self) -> dict[str, str]:
        """For manifests and protocols."""
        return {"spec": self.spec, "fingerprint": self.fingerprint}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelRef:
        """Inverse of :meth:`as_dict`."""
        return cls(str(data["spec"]), str(data["fingerprint"]))

    @classmethod
    def of(cls, spec: str) -> ModelRef:
        """The reference of a model spec, resolved without loading weights.

        Example:
            >>> ModelRef.of("zoo:clip-cnn-diverse").spec
            'zoo:clip-cnn-diverse'

        """
        from zeroshift.models import resolve_model

        handle = resolve_model(spec)
        return cls(str(handle.spec), handle.fingerprint)


@runtime_checkable
class Embedder(Protocol):
    """A callable turning a batch of RGB images into one row each, with the model those rows come from."""

    model: ModelRef

    def __call__(self, images: Sequence[Image.Image]) -> np.ndarray:
        """``(len(images), D)`` rows (need not be normalised: the index normalises)."""
        ...


def unit_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """L2-normalised float32 rows and a mask of the rows that could be normalised (finite and non-zero).

    Example:
        >>> unit, ok = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0], [np.nan, 1.0]]))
        >>> unit[0].tolist(), ok.tolist()
        ([0.6000000238418579, 0.800000011920929], [True, False, False])

    """
    x = np.asarray(rows, dtype=np.float32)
    if x.ndim != 2:
        raise UsageError(f"embeddings must be a 2-d array (N, D), got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1)
    ok = np.isfinite(x).all(axis=1) & (norms > 0)
    out = np.zeros_like(x)
    out[ok] = x[ok] / norms[ok, None]
    return np.ascontiguousarray(out), ok


class ModelEmbedder:
    """Encode images with a zero-shot model's image tower, in-process and uncached (see the module docstring).

    Args:
        spec: a model spec (``zoo:NAME``, ``open_clip:ARCH@TAG``, ``hf:...``); fixed-head classifiers are refused.
        batch_size: images per forward pass.
        device: torch device.

    Attributes:
        calls: how many batches were encoded (tests count them to prove a resumed build re-encodes nothing).

    """

    def __init__(self, spec: str, batch_size: int = 64, device: str = "cpu") -> None:
        from zeroshift.models import resolve_model

        self.handle = resolve_model(spec)
        self.model = ModelRef(str(self.handle.spec), self.handle.fingerprint)
        self.batch_size = batch_size
        self.device = device
        self.calls = 0

    def _loaded(self) -> Any:
        model = self.handle.load()
        if model.kind != "zero_shot":
            raise UsageError(
                f"{self.model.spec} is a fixed-head classifier: its outputs are class logits, not an image embedding"
            )
        return model.to(self.device)

    def __call__(self, images: Sequence[Image.Image]) -> np.ndarray:  # noqa: D102
        import torch

        model = self._loaded()
        self.calls += 1
        out = []
        with torch.no_grad():
            for start in range(0, len(images), self.batch_size):
                pixels = torch.stack([model.preprocess.geometry(im) for im in images[start : start + self.batch_size]])
                rows = model.encode_image(model.preprocess.normalize(pixels.to(self.device)))
                out.append(rows.float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


@dataclass
class DatasetFeatures:
    """Features of a benchmark's samples: one unit row per sample that decoded.

    Attributes:
        embeddings: ``(n_ok, D)`` float32 unit rows.
        positions: the dataset index of each row.
        sample_ids: the dataset's sample ids (all of them, in dataset order).
        failures: ``{sample_id: reason}`` of samples that did not decode.
        images: the decoded images of the rows, when the caller asked to keep them (pHash needs pixels).

    """

    embeddings: np.ndarray
    positions: np.ndarray
    sample_ids: list[str]
    failures: dict[str, str] = field(default_factory=dict)
    images: list[Image.Image] | None = None


class FeatureProvider(Protocol):
    """What the CLI needs: an embedder per model, and the features of a benchmark's dataset."""

    def embedder(self, model: str) -> Embedder:
        """The embedder of a model spec."""
        ...

    def dataset_features(self, model: str, dataset: Dataset, keep_images: bool = False) -> DatasetFeatures:
        """Features of every sample of ``dataset`` that decodes."""
        ...


class DirectFeatures:
    """The stand-in :class:`FeatureProvider`: :class:`ModelEmbedder` on decoded images, no cache."""

    def __init__(self, batch_size: int = 64, device: str = "cpu") -> None:
        self.batch_size = batch_size
        self.device = device
        self._embedders: dict[str, ModelEmbedder] = {}

    def embedder(self, model: str) -> ModelEmbedder:  # noqa: D102
        if model not in self._embedders:
            self._embedders[model] = ModelEmbedder(model, self.batch_size, self.device)
        return self._embedders[model]

    def dataset_features(self, model: str, dataset: Dataset, keep_images: bool = False) -> DatasetFeatures:  # noqa: D102
        embed = self.embedder(model)
        rows, positions, kept, failures = [], [], [], {}
        batch: list[Image.Image] = []
        idx: list[int] = []

        def flush() -> None:
            if batch:
                rows.append(unit_rows(embed(batch))[0])
                positions.extend(idx)
                if keep_images:
                    kept.extend(batch)
                batch.clear()
                idx.clear()

        for i in range(len(dataset)):
            try:
                image, _ = dataset.load(i)
            except BadImageError as err:
                failures[dataset.sample_ids[i]] = err.reason
                continue
            batch.append(image)
            idx.append(i)
            if len(batch) >= self.batch_size:
                flush()
        flush()
        emb = np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32)
        return DatasetFeatures(emb, np.asarray(positions, dtype=np.int64), list(dataset.sample_ids), failures,
                               kept if keep_images else None)  # fmt: skip
