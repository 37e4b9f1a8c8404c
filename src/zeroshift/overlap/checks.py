"""Overlap checks as pure functions: nearest training neighbours of evaluation images, duplicate flags, and
duplicates within one benchmark or between two, each returning ``(metric values, protocol, per-sample columns)``.

* :func:`overlap_check`: each evaluation embedding's ``k`` nearest rows of an :class:`OverlapIndex` and their
  cosines; a sample is flagged as overlapping when its nearest cosine reaches the rule's threshold and, if the rule
  asks for it, the pHash Hamming distance to that neighbour is at most ``max_hamming``. The index must hold
  features of the same model as the check (refused otherwise, naming both).
* :func:`similar_pairs`: every pair above a cosine threshold between two embedding matrices (or within one), by
  tiled matrix products (one ``block x block`` tile in memory at a time, never ``N x N``), with each row's nearest
  neighbour on the way.
* :func:`within_duplicates` / :func:`between_duplicates`: those pairs grouped into connected components, as
  clip-retrieval's deduplication does (range search at the threshold, connected components, the first member of
  each component kept).

Example:
    >>> emb = np.array([[1.0, 0.0], [0.999, 0.045], [0.0, 1.0]])
    >>> metrics, protocol, per_sample = within_duplicates(emb, ["a", "b", "c"], threshold=0.99)
    >>> per_sample["dup_group"], per_sample["dup_redundant"]
    ([0, 0, -1], [False, True, False])
    >>> [(m.name, m.value) for m in metrics][:2]
    [('within_duplicate_rate', 0.6666666666666666), ('within_redundant_rate', 0.3333333333333333)]

"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import yaml

from zeroshift.errors import UsageError
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue, mean_with_ci
from zeroshift.overlap.features import ModelRef, unit_rows
from zeroshift.overlap.hashes import PHASH_PROTOCOL, hamming
from zeroshift.overlap.index import OverlapIndex

#: rows per tile side of the pairwise search (a 2048 x 2048 float32 tile is 16 MiB)
PAIR_BLOCK = 2048


# --- flag rules --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagRule:
    """When a nearest neighbour counts as a duplicate: cosine at least ``threshold`` and, where ``max_hamming`` is
    set, a pHash Hamming distance of at most ``max_hamming`` bits (of 64).

    Attributes:
        threshold: the cosine threshold (inclusive).
        max_hamming: the pHash confirmation (None: embedding only).
        source: where the numbers come from (a calibration, a default and its measurement, the user).

    Example:
        >>> rule = FlagRule(0.9, max_hamming=8)
        >>> rule.flags(np.array([0.95, 0.95, 0.85]), np.array([3, 20, 0])).tolist()
        [True, False, False]

    """

    threshold: float
    max_hamming: int | None = None
    source: str = "user"

    def flags(self, cosines: np.ndarray, distances: np.ndarray | None = None) -> np.ndarray:
        """Which samples are flagged (NaN cosines never are; a missing distance, -1, never confirms)."""
        cos = np.asarray(cosines, dtype=np.float64)
        out = np.nan_to_num(cos, nan=-np.inf) >= self.threshold
        if self.max_hamming is not None:
            if distances is None:
                raise UsageError("this flag rule confirms by pHash distance, but no distances were given")
            d = np.asarray(distances)
            out &= (d >= 0) & (d <= self.max_hamming)
        return out

    def as_dict(self) -> dict[str, Any]:
        """For protocols."""
        return {
            "threshold": self.threshold,
            "inclusive": True,
            "max_hamming": self.max_hamming,
            "phash": PHASH_PROTOCOL if self.max_hamming is not None else None,
            "source": self.source,
        }


def default_rule(model: ModelRef | str | None = None, phash: bool = False) -> FlagRule:
    """The default flag rule for a model (``_info/flag_defaults.yaml``: the first entry whose spec prefix
    matches, else the fallback), with the measurement or reference that justifies it as its ``source``.

    Example:
        >>> rule = default_rule("zoo:clip-cnn-diverse")
        >>> 0.5 < rule.threshold < 1.0, rule.max_hamming is None, "measured" in rule.source
        (True, True, True)

    """
    table = yaml.safe_load((resources.files("zeroshift.overlap") / "_info" / "flag_defaults.yaml").read_text())
    spec = model.spec if isinstance(model, ModelRef) else (model or "")
    entry = next((e for e in table["models"] if spec.startswith(e["prefix"])), table["fallback"])
    return FlagRule(
        float(entry["threshold"]),
        int(entry["max_hamming"]) if phash else None,
        f"{entry['name']}: {' '.join(entry['source'].split())}",
    )


# --- the check against an index ----------------------------------------------------------------------------


@dataclass
class Neighbours:
    """The ``k`` nearest index rows of each query.

    Attributes:
        cosines: ``(n, k)`` exact cosines, best first (NaN where there is no neighbour).
        ids: ``(n, k)`` row ids (-1 where there is none).
        keys: ``(n, k)`` corpus keys (``""`` where there is none).

    """

    cosines: np.ndarray
    ids: np.ndarray
    keys: np.ndarray


def nearest_neighbours(index: OverlapIndex, queries: np.ndarray, model: ModelRef, k: int = 5) -> Neighbours:
    """The ``k`` nearest training rows of each evaluation embedding, after checking both come from one model."""
    index.require_model(model)
    cos, ids = index.search(queries, k)
    keys = np.asarray(index.keys + [""], dtype=object)[np.where(ids >= 0, ids, index.size)]
    return Neighbours(cos, ids, keys)


def overlap_check(
    index: OverlapIndex,
    queries: np.ndarray,
    sample_ids: Sequence[str],
    model: ModelRef,
    *,
    k: int = 5,
    rule: FlagRule | None = None,
    query_phash: np.ndarray | None = None,
    boot: dict[str, Any] | None = None,
) -> tuple[list[MetricValue], dict[str, Any], dict[str, list[Any]]]:
    """Flag evaluation samples whose nearest training neighbour is a duplicate (see the module docstring).

    Args:
        index: the training corpus's index.
        queries: ``(n, D)`` evaluation embeddings (normalised here).
        sample_ids: the evaluation sample of each row.
        model: whose features ``queries`` are (must be the index's).
        k: neighbours kept per sample.
        rule: the flag rule (default: :func:`default_rule` of ``model``, confirmed by pHash when hashes are given).
        query_phash: ``(n,)`` uint64 pHashes of the evaluation images, for the confirmation.
        boot: bootstrap settings (default :data:`~zeroshift.metrics.base.DEFAULT_BOOTSTRAP`).

    Returns:
        ``overlap_rate`` (with a bootstrap interval) and ``overlap_count``; the protocol (rule, k, index, model);
        per-sample ``overlap``, ``nn_key``, ``nn_cosine``, ``nn_hamming`` (-1 without hashes), ``nn_keys`` and
        ``nn_cosines`` (the ``k`` neighbours).

    """
    if len(sample_ids) != len(queries):
        raise UsageError(f"{len(sample_ids)} sample ids for {len(queries)} embeddings")
    rule = rule or default_rule(model, phash=query_phash is not None)
    nn = nearest_neighbours(index, queries, model, k)
    distances = np.full(len(sample_ids), -1, dtype=np.int64)
    if query_phash is not None:
        if len(query_phash) != len(sample_ids):
            raise UsageError(f"{len(query_phash)} pHashes for {len(sample_ids)} samples")
        train = index.phash_of(nn.ids[:, 0])
        distances = np.where(nn.ids[:, 0] >= 0, hamming(np.asarray(query_phash, dtype=np.uint64), train), -1)
    flags = rule.flags(nn.cosines[:, 0], distances if rule.max_hamming is not None else None)
    boot = {**DEFAULT_BOOTSTRAP, **(boot or {})}
    metrics = [
        mean_with_ci(flags.astype(np.float64), "overlap_rate", False, boot, {"n": len(flags)}),
        MetricValue("overlap_count", float(flags.sum()), False),
    ]
    if rule.max_hamming is not None:
        embedding_only = FlagRule(rule.threshold).flags(nn.cosines[:, 0])
        metrics.append(mean_with_ci(embedding_only.astype(np.float64), "overlap_rate_embedding_only", False, boot))
    protocol = {
        "check": "nearest training neighbour",
        "k": k,
        "rule": rule.as_dict(),
        "model": model.as_dict(),
        "index": index.describe(),
        "bootstrap": boot,
    }
    per_sample = {
        "sample_id": list(sample_ids),
        "overlap": flags.tolist(),
        "nn_key": [str(x) for x in nn.keys[:, 0]],
        "nn_cosine": [None if np.isnan(c) else float(c) for c in nn.cosines[:, 0]],
        "nn_hamming": distances.tolist(),
        "nn_keys": [[str(x) for x in row] for row in nn.keys],
        "nn_cosines": [[None if np.isnan(c) else round(float(c), 6) for c in row] for row in nn.cosines],
    }
    return metrics, protocol, per_sample


# --- pairs without an index --------------------------------------------------------------------------------


@dataclass
class PairSearch:
    """Pairs at or above a cosine threshold and each row's nearest neighbour.

    Attributes:
        i: row of the first matrix of each pair.
        j: row of the second matrix (or of the same one, ``j > i``) of each pair.
        cosine: the pair's cosine.
        best: each first-matrix row's highest cosine to another row (NaN for a one-row matrix).
        best_index: where that neighbour is (-1 if none).
        protocol: threshold and tiling.

    """

    i: np.ndarray
    j: np.ndarray
    cosine: np.ndarray
    best: np.ndarray
    best_index: np.ndarray
    protocol: dict[str, Any] = field(default_factory=dict)


def similar_pairs(
    a: np.ndarray, b: np.ndarray | None = None, threshold: float = 0.95, block: int = PAIR_BLOCK
) -> PairSearch:
    """Every pair of rows with cosine at least ``threshold``: between ``a`` and ``b``, or within ``a`` (``i < j``).

    Rows are L2-normalised; the search runs over ``block x block`` tiles, so memory stays at one tile whatever the
    sizes (within one matrix, only tiles on or above the diagonal are computed).

    Example:
        >>> a = np.array([[1.0, 0.0], [0.0, 1.0]]); b = np.array([[0.0, 2.0], [1.0, 1.0]])
        >>> res = similar_pairs(a, b, threshold=0.7)
        >>> list(zip(res.i.tolist(), res.j.tolist())), [round(float(c), 3) for c in res.cosine]
        ([(0, 1), (1, 0), (1, 1)], [0.707, 1.0, 0.707])

    """
    if block < 1:
        raise UsageError(f"block must be at least 1, got {block}")
    x, _ = unit_rows(a)
    within = b is None
    y = x if within else unit_rows(b)[0]
    if x.shape[1] != y.shape[1]:
        raise UsageError(f"the two embedding matrices have {x.shape[1]} and {y.shape[1]} dimensions")
    best = np.full(x.shape[0], -np.inf, dtype=np.float32)
    best_index = np.full(x.shape[0], -1, dtype=np.int64)
    ii: list[np.ndarray] = []
    jj: list[np.ndarray] = []
    cc: list[np.ndarray] = []
    for r0 in range(0, x.shape[0], block):
        xr = x[r0 : r0 + block]
        for c0 in range(r0 if within else 0, y.shape[0], block):
            tile = xr @ y[c0 : c0 + block].T
            if within:
                self_pairs = np.arange(r0, r0 + len(xr))[:, None] == np.arange(c0, c0 + tile.shape[1])[None, :]
                tile = np.where(self_pairs, -np.inf, tile)
                _update_best(best, best_index, tile, r0, c0)
                _update_best(best, best_index, tile.T, c0, r0)  # a tile above the diagonal serves both rows
                upper = np.arange(r0, r0 + len(xr))[:, None] < np.arange(c0, c0 + tile.shape[1])[None, :]
                hit = (tile >= threshold) & upper
            else:
                _update_best(best, best_index, tile, r0, c0)
                hit = tile >= threshold
            r, c = np.nonzero(hit)
            ii.append(r + r0)
            jj.append(c + c0)
            cc.append(tile[r, c])
    cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)  # noqa: E731
    best_out = np.where(np.isfinite(best), best, np.nan).astype(np.float32)
    return PairSearch(
        cat(ii, np.int64),
        cat(jj, np.int64),
        cat(cc, np.float32),
        best_out,
        best_index,
        {"threshold": threshold, "inclusive": True, "tile": block, "search": "exact, tiled matrix products"},
    )


def _update_best(best: np.ndarray, where: np.ndarray, tile: np.ndarray, r0: int, c0: int) -> None:
    arg = np.argmax(tile, axis=1)
    val = tile[np.arange(tile.shape[0]), arg]
    rows = slice(r0, r0 + tile.shape[0])
    better = val > best[rows]
    best[rows] = np.where(better, val, best[rows])
    where[rows] = np.where(better, arg + c0, where[rows])


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected components of the graph on ``n`` nodes with edges ``(i, j)``: a label per node, numbered in order
    of each component's first node, and -1 for nodes without an edge.

    Example:
        >>> components(6, np.array([4, 1]), np.array([5, 2])).tolist()
        [-1, 0, 0, -1, 1, 1]

    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, raw = connected_components(graph, directed=False)
    sizes = np.bincount(raw, minlength=raw.max() + 1 if n else 0)
    labels = np.full(n, -1, dtype=np.int64)
    renumber: dict[int, int] = {}
    for node in range(n):
        comp = int(raw[node])
        if sizes[comp] > 1:
            labels[node] = renumber.setdefault(comp, len(renumber))
    return labels


def within_duplicates(
    embeddings: np.ndarray,
    sample_ids: Sequence[str],
    threshold: float = 0.95,
    block: int = PAIR_BLOCK,
    boot: dict[str, Any] | None = None,
) -> tuple[list[MetricValue], dict[str, Any], dict[str, list[Any]]]:
    """Duplicates inside one benchmark, grouped into connected components (see the module docstring).

    Returns:
        ``within_duplicate_rate`` (samples in a group of two or more), ``within_redundant_rate`` (what a dedup
        keeping each group's first sample removes), ``within_groups``; the protocol; per-sample ``dup_group``
        (-1: none), ``dup_group_size``, ``dup_first`` (the sample id kept), ``dup_redundant``, ``dup_max_cosine``.

    """
    if len(sample_ids) != len(embeddings):
        raise UsageError(f"{len(sample_ids)} sample ids for {len(embeddings)} embeddings")
    pairs = similar_pairs(embeddings, None, threshold, block)
    labels = components(len(sample_ids), pairs.i, pairs.j)
    first: dict[int, int] = {}
    for node, lab in enumerate(labels):
        if lab >= 0:
            first.setdefault(int(lab), node)
    sizes = np.bincount(labels[labels >= 0], minlength=len(first)) if first else np.zeros(0, dtype=np.int64)
    in_group = labels >= 0
    redundant = np.array([lab >= 0 and first[int(lab)] != node for node, lab in enumerate(labels)], dtype=bool)
    boot = {**DEFAULT_BOOTSTRAP, **(boot or {})}
    metrics = [
        mean_with_ci(in_group.astype(np.float64), "within_duplicate_rate", False, boot),
        mean_with_ci(redundant.astype(np.float64), "within_redundant_rate", False, boot),
        MetricValue("within_groups", float(len(first)), False, details={"pairs": int(len(pairs.i))}),
    ]
    protocol = {"check": "within-benchmark duplicates", **pairs.protocol, "grouping": "connected components",
                "kept": "first sample of each component (dataset order)", "bootstrap": boot}  # fmt: skip
    per_sample = {
        "sample_id": list(sample_ids),
        "dup_group": labels.tolist(),
        "dup_group_size": [int(sizes[lab]) if lab >= 0 else 1 for lab in labels],
        "dup_first": [sample_ids[first[int(lab)]] if lab >= 0 else None for lab in labels],
        "dup_redundant": redundant.tolist(),
        "dup_max_cosine": [None if np.isnan(v) else float(v) for v in pairs.best],
    }
    return metrics, protocol, per_sample


def between_duplicates(
    a: np.ndarray,
    b: np.ndarray,
    ids_a: Sequence[str],
    ids_b: Sequence[str],
    threshold: float = 0.95,
    block: int = PAIR_BLOCK,
    boot: dict[str, Any] | None = None,
) -> tuple[list[MetricValue], dict[str, Any], dict[str, list[Any]]]:
    """Samples of benchmark ``a`` with a duplicate in benchmark ``b`` (e.g. ImageNet-V2 against ImageNet val).

    Returns:
        ``cross_duplicate_rate`` (samples of ``a`` with a duplicate in ``b``) and ``cross_groups``; the protocol;
        per-sample columns of ``a``: ``cross_duplicate``, ``cross_nn_key`` (nearest sample of ``b``),
        ``cross_nn_cosine``, ``cross_matches`` (every sample of ``b`` above the threshold) and ``cross_group``
        (connected component over the ``a``-``b`` duplicate pairs; -1: none).

    """
    if len(ids_a) != len(a) or len(ids_b) != len(b):
        raise UsageError("one sample id per embedding row is needed on both sides")
    pairs = similar_pairs(a, b, threshold, block)
    n_a = len(ids_a)
    labels = components(n_a + len(ids_b), pairs.i, pairs.j + n_a)[:n_a]
    flagged = np.zeros(n_a, dtype=bool)
    flagged[pairs.i] = True
    matches: list[list[str]] = [[] for _ in range(n_a)]
    for i, j in zip(pairs.i.tolist(), pairs.j.tolist(), strict=True):
        matches[i].append(ids_b[j])
    boot = {**DEFAULT_BOOTSTRAP, **(boot or {})}
    metrics = [
        mean_with_ci(
            flagged.astype(np.float64), "cross_duplicate_rate", False, boot, {"n": n_a, "n_other": len(ids_b)}
        ),
        MetricValue("cross_groups", float(len(set(labels[labels >= 0].tolist()))), False),
    ]
    protocol = {"check": "between-benchmark duplicates", **pairs.protocol,
                "grouping": "connected components over the cross pairs", "bootstrap": boot}  # fmt: skip
    per_sample = {
        "sample_id": list(ids_a),
        "cross_duplicate": flagged.tolist(),
        "cross_nn_key": [ids_b[j] if j >= 0 else None for j in pairs.best_index.tolist()],
        "cross_nn_cosine": [None if np.isnan(v) else float(v) for v in pairs.best],
        "cross_matches": matches,
        "cross_group": labels.tolist(),
    }
    return metrics, protocol, per_sample
