"""Candidate sets of the closed-set LMM protocols, chosen from the label space or from a CLIP model's logits.

* ``label_space``: every class of the run's label space, the same for every image.
* ``clip_topk(k=..., model=...)``: each image's ``k`` classes of highest logit under a named CLIP model (the
  LMM re-ranks the CLIP's shortlist); ties go to the lower class index, so the choice is deterministic.
* ``classes(names=('cat', 'dog'))``: a fixed list of the label space's classes, the same for every image.
* the ImageNet-D failure category (:func:`strongest_wrong`): the CLIP's top-1 class when it is wrong, else its
  top-2, the second option of the two-way ``choice`` question.

Candidates given by name are checked against the label space up front (one line naming the unknown ones).

Example:
    >>> import numpy as np
    >>> logits = np.array([[0.1, 0.9, 0.5], [0.8, 0.1, 0.3]])
    >>> clip_topk(logits, 2).tolist()
    [[1, 2], [0, 2]]
    >>> strongest_wrong(logits, np.array([1, 2])).tolist()
    [2, 0]
    >>> CandidateSpec.parse("clip_topk(k=5, model='hf:/m/clip')").canonical
    "clip_topk(k=5, model='hf:/m/clip')"
    >>> CandidateSpec.parse("classes(names=('b', 'a'))").select(1, ["a", "b", "c"]).tolist()
    [[1, 0]]

"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zeroshift.errors import SpecError, UsageError
from zeroshift.registry import suggest
from zeroshift.specs import CallSpec


def _top_order(logits: np.ndarray) -> np.ndarray:
    """Class indices per row by decreasing logit, ties broken towards the lower index (a stable sort)."""
    return np.argsort(-np.asarray(logits, dtype=np.float64), axis=1, kind="stable")


def clip_topk(logits: np.ndarray, k: int) -> np.ndarray:
    """``(n, k)`` class indices of each row's ``k`` largest logits, best first."""
    logits = np.asarray(logits)
    if logits.ndim != 2:
        raise UsageError(f"clip_topk needs (n_images, n_classes) logits, got shape {logits.shape}")
    if not 1 <= k <= logits.shape[1]:
        raise UsageError(f"clip_topk: k={k} must be between 1 and the {logits.shape[1]} classes of the label space")
    return _top_order(logits)[:, :k]


def strongest_wrong(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per image, the CLIP's top-1 class if it is not the label, else its top-2 (ImageNet-D's failure category)."""
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if logits.ndim != 2 or logits.shape[1] < 2 or len(labels) != len(logits):
        raise UsageError(f"strongest_wrong needs (n, >=2) logits and n labels, got {logits.shape} and {labels.shape}")
    order = _top_order(logits)[:, :2]
    return failure_category(order[:, 0], order[:, 1], labels)


def failure_category(top1: np.ndarray, top2: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``top1`` where it is wrong, else ``top2``: the second option from stored predictions (e.g. ImageNet-D's
    published question files, :mod:`zeroshift.data.imagenet_d`'s ``published_top1``/``published_top2``).

    Example:
        >>> failure_category(np.array([3, 1]), np.array([1, 2]), np.array([1, 1])).tolist()
        [3, 2]

    """
    top1, top2, labels = np.asarray(top1), np.asarray(top2), np.asarray(labels)
    return np.where(top1 != labels, top1, top2)


def label_space_candidates(n_images: int, n_classes: int) -> np.ndarray:
    """``(n_images, n_classes)``: every class for every image, in label order.

    Example:
        >>> label_space_candidates(2, 3).tolist()
        [[0, 1, 2], [0, 1, 2]]

    """
    return np.tile(np.arange(n_classes), (n_images, 1))


def candidate_indices(names: Sequence[str], class_names: Sequence[str]) -> list[int]:
    """Label indices of candidate class names; unknown names fail up front with one line.

    Example:
        >>> candidate_indices(["dog", "cat"], ["cat", "dog"])
        [1, 0]
        >>> candidate_indices(["dgo"], ["cat", "dog"])
        Traceback (most recent call last):
        ...
        zeroshift.errors.UsageError: candidate class 'dgo' is not in the label space; did you mean 'dog'?

    """
    index = {name: i for i, name in enumerate(class_names)}
    unknown = [n for n in names if n not in index]
    if unknown:
        first = unknown[0]
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        hint = suggest(first, list(class_names)) or f"; the label space has {len(class_names)} classes"
        raise UsageError(f"candidate class {first!r}{more} is not in the label space{hint}")
    return [index[n] for n in names]


@dataclass(frozen=True)
class CandidateSpec:
    """How a run's candidates are chosen: ``label_space``, ``clip_topk(k=..., model=...)`` or
    ``classes(names=(...))``.

    Attributes:
        kind: ``label_space``, ``clip_topk`` or ``classes``.
        k: shortlist size (``clip_topk``).
        model: the CLIP model spec whose logits pick the shortlist (``clip_topk``).
        names: the candidate class names (``classes``).

    """

    kind: str = "label_space"
    k: int | None = None
    model: str | None = None
    names: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str | CallSpec) -> CandidateSpec:
        """Parse ``label_space``, ``clip_topk(k=5, model='hf:...')`` or ``classes(names=('cat', 'dog'))``."""
        call = CallSpec.parse(text)
        if call.name == "label_space" and not call.params:
            return cls()
        if call.name == "classes":
            names = call.kwargs.get("names")
            if isinstance(names, str):
                names = (names,)
            if set(call.kwargs) != {"names"} or not isinstance(names, tuple) or not names:
                raise SpecError(
                    f"candidates {call.canonical!r}: classes takes names, e.g. classes(names=('cat', 'dog'))"
                )
            return cls("classes", names=tuple(str(n) for n in names))
        if call.name != "clip_topk":
            raise SpecError(
                f"unknown candidates {call.canonical!r}; use label_space, clip_topk(k=5, model='...') or "
                "classes(names=('cat', 'dog'))"
            )
        params = call.kwargs
        extra = sorted(set(params) - {"k", "model"})
        if extra or not isinstance(params.get("k"), int) or not isinstance(params.get("model"), str):
            raise SpecError(f"candidates {call.canonical!r}: clip_topk takes k (an integer) and model (a model spec)")
        if params["k"] < 1:
            raise SpecError(f"candidates {call.canonical!r}: k must be at least 1")
        return cls("clip_topk", params["k"], params["model"])

    @property
    def canonical(self) -> str:
        """The canonical spec string (part of cache keys)."""
        if self.kind == "label_space":
            return "label_space"
        if self.kind == "classes":
            return CallSpec.make("classes", names=self.names).canonical
        return CallSpec.make("clip_topk", k=self.k, model=self.model).canonical

    def select(
        self, n_images: int, class_names: int | Sequence[str], clip_logits: np.ndarray | None = None
    ) -> np.ndarray:
        """``(n_images, K)`` candidate label indices; ``clip_topk`` needs the named CLIP's logits on the images,
        ``classes`` the label space's class names (unknown names fail with one line).
        """
        n_classes = class_names if isinstance(class_names, int) else len(class_names)
        if self.kind == "label_space":
            return label_space_candidates(n_images, n_classes)
        if self.kind == "classes":
            if isinstance(class_names, int):
                raise UsageError("classes(...) candidates need the label space's class names")
            return np.tile(np.asarray(candidate_indices(self.names, class_names), dtype=np.int64), (n_images, 1))
        if clip_logits is None or len(clip_logits) != n_images:
            raise UsageError(f"{self.canonical} needs the logits of {self.model} on the same {n_images} images")
        assert self.k is not None
        return clip_topk(clip_logits, self.k)

    @property
    def record(self) -> dict[str, Any]:
        """The candidate protocol as recorded."""
        out: dict[str, Any] = {"candidates": self.canonical}
        if self.kind == "clip_topk":
            out["tie_break"] = "lower class index first (stable sort of the logits)"
        return out
