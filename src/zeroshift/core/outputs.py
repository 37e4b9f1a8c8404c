"""From cached features to class scores: the ``Outputs`` every metric group reads and the ``LocalOutputs`` (patch
embeddings) that GL-MCM reads.

The engine's differentiable classifier (:mod:`zeroshift.engine.classifier`, what attacks optimise) goes through the
same :func:`class_logits`, so the scores a metric sees and the scores an attack optimises are the same function of
the features.

Example:
    >>> import torch
    >>> from zeroshift.data.base import LabelSpace
    >>> space = LabelSpace.from_columns("subset", ["a", "b"], "u", ["a", "x", "b"], [0, 2])
    >>> feats = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> head = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # rows for used columns 0 and 2
    >>> logits, cos = class_logits(feats, head, 10.0, 0.0, space)
    >>> logits.tolist(), cos.tolist()
    ([[10.0, 0.0], [0.0, 10.0]], [[1.0, 0.0], [0.0, 1.0]])

"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from zeroshift.core.lazy import torch

if TYPE_CHECKING:
    from zeroshift.data.base import LabelSpace


def class_logits(
    features: torch.Tensor,
    head: torch.Tensor | None,
    logit_scale: float,
    logit_bias: float,
    space: LabelSpace,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Class scores over ``space`` (and raw class cosines where scores come through a text head with a max/select
    mapping).

    Args:
        features: ``(N, D)`` unit image embeddings (with a head) or ``(N, U)`` universe logits (fixed head).
        head: ``(len(space.used_columns), D)`` text-head rows, or None for a fixed-head classifier.
        logit_scale: multiplier of cosines.
        logit_bias: added after scaling (SigLIP).
        space: the label space.

    """
    if head is not None:
        cos = features.to(head.dtype) @ head.to(features.device).T
        logits = space.class_scores(logit_scale * cos + logit_bias, used_only=True)
        class_cos = None if space.reduce == "mean_prob" else space.class_scores(cos, used_only=True)
        return logits, class_cos
    used = list(space.used_columns)
    return space.class_scores(features[:, used], used_only=True), None


@dataclass
class Outputs:
    """What metric groups read: per-sample class scores and labels of one condition.

    Attributes:
        sample_ids: ids of the evaluated samples (skipped images are absent).
        labels: label index in the label space, -1 where a sample has none (OOD sets).
        logits: ``(N, C)`` float32 class scores (logit scale applied).
        cosines: ``(N, C)`` raw cosine similarities per class (zero-shot models), for MCM.
        label_space: the protocol that produced the columns.
        logit_scale: the scale applied to cosines (1 for fixed heads).
        meta: per-sample metadata columns of the benchmark.
        indices: positions of the samples in the benchmark's dataset.

    """

    sample_ids: list[str]
    labels: np.ndarray
    logits: torch.Tensor
    cosines: torch.Tensor | None
    label_space: LabelSpace
    logit_scale: float = 1.0
    logit_bias: float = 0.0
    meta: dict[str, list[Any]] = field(default_factory=dict)
    indices: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.sample_ids)

    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of the columns."""
        return self.label_space.class_names

    def select(self, rows: np.ndarray | list[int]) -> Outputs:
        """The outputs of the given rows (positions in this object), in that order."""
        idx = np.asarray(rows, dtype=np.int64)
        t = torch.from_numpy(idx)
        return replace(
            self,
            sample_ids=[self.sample_ids[i] for i in idx],
            labels=self.labels[idx],
            logits=self.logits[t],
            cosines=None if self.cosines is None else self.cosines[t],
            meta={k: [v[i] for i in idx] for k, v in self.meta.items()},
            indices=None if self.indices is None else self.indices[idx],
        )

    def in_space(self, space: LabelSpace) -> Outputs:
        """The same samples scored over another label space of the same universe.

        Possible when this object's space is the whole universe, one column per class (ImageNet ``full``): the
        scores of ``space`` are then computed from these columns exactly as from model outputs. Labels become
        the label of ``space`` whose single column is the sample's class, or -1 (class outside ``space``).
        Used to score an in-distribution set over an OOD benchmark's label space (ImageNet-O's 200 classes).
        """
        remap_rows(self.label_space, space)
        universe_label = {g[0]: i for i, g in enumerate(space.columns) if len(g) == 1}
        labels = np.asarray([universe_label.get(int(y), -1) if y >= 0 else -1 for y in self.labels], dtype=np.int64)
        return replace(
            self,
            labels=labels,
            logits=space.class_scores(self.logits, used_only=False),
            cosines=None if self.cosines is None else space.class_scores(self.cosines, used_only=False),
            label_space=space,
        )


def remap_rows(source: LabelSpace, target: LabelSpace) -> None:
    """Check that scores over ``source`` can be re-expressed over ``target`` (raise UsageError otherwise)."""
    from zeroshift.errors import UsageError

    identity = source.reduce == "max" and source.columns == tuple((i,) for i in range(len(source.universe_names)))
    if source.universe != target.universe or not identity or target.reduce != "max":
        raise UsageError(
            f"cannot re-express scores over label space {source.name!r} ({source.universe}) as {target.name!r} "
            f"({target.universe}): the source must cover its whole universe one column per class"
        )


@dataclass
class LocalOutputs:
    """Patch embeddings of one condition (zero-shot ViTs), with the text head that scores them per class.

    ``patches[i]`` holds the ``(P, D)`` unit patch embeddings of sample ``i`` in the joint space (stored in
    float16); :meth:`class_cosines` turns a slice of them into raw per-patch class cosines over ``label_space``
    (GL-MCM's local score reads them), a slice at a time so that ``N x P x C`` is never held at once.

    Example:
        >>> from zeroshift.data.base import LabelSpace
        >>> space = LabelSpace.from_columns("full", ["a", "b"], "u", ["a", "b"], [0, 1])
        >>> loc = LocalOutputs(["x"], torch.tensor([[[1.0, 0.0], [0.0, 1.0]]]), torch.eye(2), space)
        >>> loc.class_cosines(0, 1).tolist()
        [[[1.0, 0.0], [0.0, 1.0]]]

    """

    sample_ids: list[str]
    patches: torch.Tensor
    head: torch.Tensor
    label_space: LabelSpace
    indices: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.sample_ids)

    def class_cosines(self, start: int, stop: int) -> torch.Tensor:
        """Raw cosines ``(n, P, C)`` of samples ``start:stop`` against the classes of the label space."""
        x = self.patches[start:stop].float()
        n, p, d = x.shape
        cos = x.reshape(n * p, d) @ self.head.float().T
        return self.label_space.class_scores(cos, used_only=True).reshape(n, p, -1)

    def select(self, rows: np.ndarray | list[int]) -> LocalOutputs:
        """The given rows, in that order."""
        idx = np.asarray(rows, dtype=np.int64)
        return replace(
            self,
            sample_ids=[self.sample_ids[i] for i in idx],
            patches=self.patches[torch.from_numpy(idx)],
            indices=None if self.indices is None else self.indices[idx],
        )

    def align(self, sample_ids: list[str]) -> LocalOutputs:
        """The rows of ``sample_ids``, in that order (every id must be present)."""
        where = {s: i for i, s in enumerate(self.sample_ids)}
        missing = [s for s in sample_ids if s not in where]
        if missing:
            raise ValueError(f"no patch embeddings for {len(missing)} sample(s), e.g. {missing[0]!r}")
        return self.select([where[s] for s in sample_ids])

    def in_space(self, space: LabelSpace) -> LocalOutputs:
        """The same patches scored over another label space of the same universe (see :meth:`Outputs.in_space`)."""
        remap_rows(self.label_space, space)
        position = {c: i for i, c in enumerate(self.label_space.used_columns)}
        rows = [position[c] for c in space.used_columns]
        return replace(self, head=self.head[torch.as_tensor(rows, dtype=torch.long)], label_space=space)


@dataclass
class ArtefactRows:
    """Rows of one artefact for the samples of a condition that have them (samples whose image failed are absent).

    Attributes:
        kind: the artefact kind.
        sample_ids: ids of the samples with a row, in the condition's order.
        rows: ``(n, ...)`` tensor, one row per sample id.
        fingerprint: the cache bank the rows come from.
        protocol: what the kind records about how the rows were made.

    Example:
        >>> r = ArtefactRows("x", ["a", "b"], torch.tensor([[1.0], [2.0]]), "fp")
        >>> r.by_id()["b"]
        2.0

    """

    kind: str
    sample_ids: list[str]
    rows: Any
    fingerprint: str = ""
    protocol: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sample_ids)

    def by_id(self) -> dict[str, Any]:
        """Sample id -> its row (scalars for one-column rows)."""
        values = self.rows.tolist() if len(self.sample_ids) else []
        flat = [v[0] if isinstance(v, list) and len(v) == 1 else v for v in values]
        return dict(zip(self.sample_ids, flat, strict=True))
