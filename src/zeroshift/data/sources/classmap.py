"""Map the class labels of a shard release onto a benchmark's native classes.

A release numbers its classes its own way: CLIP_benchmark's webdatasets number them in the order of their
``classnames.txt``, a Hugging Face dataset in the order of its ``ClassLabel`` names, some releases by the ILSVRC
index of the full 1000 classes. :func:`map_labels` turns a release's label numbers into positions in the
benchmark's native classes (WordNet ids for the ImageNet family) and says how it matched, for the record:

* ``labels='names'`` (default): the release's class names are matched against the benchmark's WordNet ids or
  CLIP class names, first position by position (the usual case, and the only one that copes with CLIP's two
  duplicate names), else name by name where a name is unique;
* ``labels='index'``: label ``k`` is the benchmark's ``k``-th class (no names needed);
* ``labels='imagenet_index'``: label ``k`` is ILSVRC-2012 class ``k`` (0-999), whatever the benchmark's subset.

Example:
    >>> lookup, how = map_labels(["goldfish", "tench"], ["n01440764", "n01443537"], ["tench", "goldfish"])
    >>> lookup.tolist(), how["matched_by"]
    ([1, 0], 'name')
    >>> map_labels(None, ["n01440764", "n01443537"], ["tench", "goldfish"], labels="index")[0].tolist()
    [0, 1]

"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from zeroshift.errors import DatasetError, SpecError

LABEL_MODES = ("names", "index", "imagenet_index")


def _norm(name: str) -> str:
    return " ".join(name.strip().lower().replace("_", " ").split())


def map_labels(
    source_names: Sequence[str] | None,
    native: Sequence[str],
    display: Sequence[str],
    labels: str = "names",
    where: str = "source",
) -> tuple[np.ndarray, dict[str, Any]]:
    """A lookup ``source label -> native class position`` (-1: not a class of the benchmark) and how it matched.

    Args:
        source_names: the release's class names in label order (None when it has none).
        native: the benchmark's native classes (WordNet ids for the ImageNet family).
        display: their readable names (CLIP's class names), same order.
        labels: ``names``, ``index`` or ``imagenet_index`` (see the module docstring).
        where: the release, named in errors.

    Raises:
        SpecError: an unknown ``labels`` mode.
        DatasetError: names that match nothing, or no names to match.

    """
    if labels not in LABEL_MODES:
        raise SpecError(f"{where}: labels must be one of {', '.join(LABEL_MODES)}, got {labels!r}")
    if labels == "index":
        return np.arange(len(native), dtype=np.int64), {"labels": "index", "matched_by": "position"}
    if labels == "imagenet_index":
        from zeroshift.data.info import imagenet_wnids

        position = {w: i for i, w in enumerate(native)}
        lookup = np.asarray([position.get(w, -1) for w in imagenet_wnids()], dtype=np.int64)
        return lookup, {"labels": "imagenet_index", "matched_by": "ILSVRC-2012 class index"}
    if not source_names:
        raise DatasetError(
            f"{where}: no class names to match against the benchmark's classes; "
            "say labels: index (labels are the benchmark's class positions) or labels: imagenet_index"
        )
    names = [_norm(n) for n in source_names]
    for kind, targets in (("wnid", native), ("clip name", display)):
        normed = [_norm(t) for t in targets]
        if names == normed:
            return np.arange(len(names), dtype=np.int64), {"labels": "names", "matched_by": f"{kind}, position"}
    unique: dict[str, int] = {}
    for targets in (native, display):
        counts = Counter(_norm(t) for t in targets)
        for i, t in enumerate(targets):
            if counts[_norm(t)] == 1:
                unique.setdefault(_norm(t), i)
    lookup = np.asarray([unique.get(n, -1) for n in names], dtype=np.int64)
    if not (lookup >= 0).any():
        raise DatasetError(
            f"{where}: none of its class names ({source_names[0]!r}, ...) is a WordNet id or CLIP class name of "
            "the benchmark; say labels: index or labels: imagenet_index if its labels are class numbers"
        )
    return lookup, {"labels": "names", "matched_by": "name", "unmatched": int((lookup < 0).sum())}


def targets_from(
    raw: np.ndarray, lookup: np.ndarray, source_names: Sequence[str] | None, benchmark: str, where: str
) -> np.ndarray:
    """Native targets of every sample; a label outside the benchmark's classes is a one-line DatasetError.

    Example:
        >>> targets_from(np.array([1, 0, 1]), np.array([1, 0]), None, "toy", "x").tolist()
        [0, 1, 0]

    """
    raw = np.asarray(raw, dtype=np.int64)
    bad = (raw < 0) | (raw >= len(lookup))
    mapped = np.where(bad, -1, lookup[np.clip(raw, 0, len(lookup) - 1)])
    if (mapped < 0).any():
        first = int(raw[np.flatnonzero(mapped < 0)[0]])
        label = repr(source_names[first]) if source_names is not None and 0 <= first < len(source_names) else str(first)
        raise DatasetError(
            f"{where}: {int((mapped < 0).sum())} sample(s) have classes outside {benchmark}'s, e.g. label {label}; "
            "check the release is the right one, or its labels mode (names, index, imagenet_index)"
        )
    return mapped
