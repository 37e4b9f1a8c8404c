"""Correspondence benchmarks: samples are images, and a :class:`PairTable` beside them says which images pair up
and where their keypoints are.

A correspondence benchmark lists each image once (a pair's source and target are two samples, and an image may
belong to many pairs), so dense features are encoded once per image through the ordinary feature path. The pairs
are a sidecar of the dataset, ``dataset.pairs``, a :class:`PairTable` of arrays, and also a per-sample meta column
``pairs`` (each sample's pairs as source, the target named by sample id: :meth:`PairTable.to_meta`), from which the
``correspondence`` metric group rebuilds the table of the samples it sees (:meth:`PairTable.from_meta`):

* ``source``, ``target``: sample indices ``(P,)``;
* ``source_kps``, ``target_kps``: ``(P, K, 2)`` keypoints ``(x, y)`` in pixels of the original images (the image
  spanning ``[0, W] x [0, H]``), NaN where a pair has fewer than ``K`` keypoints;
* ``valid``: ``(P, K)`` whether keypoint ``k`` is annotated in both images;
* ``source_size``, ``target_size``: ``(P, 2)`` image sizes ``(W, H)``, so matching needs no image;
* ``normaliser``: ``(P,)`` the length in target pixels that ``alpha`` multiplies in PCK@alpha;
* ``columns``: per-pair labels (``category``, bins such as ``viewpoint_variation`` or ``rotation_bin``, ids);
  ``bins`` names the columns PCK is broken down by;
* ``protocol``: how the pairs were made (normaliser definition, bin edges, sampling ranges, seeds).

``dataset.subset`` (``--limit``) keeps the pairs whose two images are both kept. The three benchmarks are
``spair`` (:mod:`zeroshift.data.spair`), ``homography_pairs`` (:mod:`zeroshift.data.homography`) and
``factorworld_pairs`` (:mod:`zeroshift.data.factorworld.pairs`); their protocol constants live in
``_info/correspondence.yaml``.

Example:
    >>> import numpy as np
    >>> table = PairTable.build(
    ...     source=[0], target=[1], source_kps=[[[1.0, 2.0]]], target_kps=[[[3.0, 4.0]]],
    ...     source_size=[[10, 10]], target_size=[[10, 10]], normaliser=[10.0],
    ... )
    >>> len(table), table.valid.tolist(), table.select([1, 0]).source.tolist()
    (1, [[True]], [1])

"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any, ClassVar

import numpy as np

from zeroshift.data.base import Benchmark, Dataset, LabelSpace


@cache
def correspondence_info() -> dict[str, Any]:
    """The protocol constants of the correspondence benchmarks (``_info/correspondence.yaml``).

    Example:
        >>> sorted(correspondence_info())
        ['factorworld_pairs', 'homography', 'spair']

    """
    import yaml

    text = (resources.files("zeroshift.data") / "_info" / "correspondence.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@dataclass(frozen=True)
class PairTable:
    """The pairs of a correspondence dataset (see the module docstring for every field)."""

    source: np.ndarray
    target: np.ndarray
    source_kps: np.ndarray
    target_kps: np.ndarray
    valid: np.ndarray
    source_size: np.ndarray
    target_size: np.ndarray
    normaliser: np.ndarray
    columns: dict[str, list[Any]] = field(default_factory=dict)
    bins: tuple[str, ...] = ()
    protocol: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        p = len(self.source)
        k = self.source_kps.shape[1] if self.source_kps.ndim == 3 else 0
        shapes = {
            "target": (self.target.shape, (p,)),
            "source_kps": (self.source_kps.shape, (p, k, 2)),
            "target_kps": (self.target_kps.shape, (p, k, 2)),
            "valid": (self.valid.shape, (p, k)),
            "source_size": (self.source_size.shape, (p, 2)),
            "target_size": (self.target_size.shape, (p, 2)),
            "normaliser": (self.normaliser.shape, (p,)),
        }
        for name, (got, want) in shapes.items():
            if tuple(got) != want:
                raise ValueError(f"PairTable.{name} has shape {tuple(got)}, expected {want}")
        for name, values in self.columns.items():
            if len(values) != p:
                raise ValueError(f"PairTable column {name!r} has {len(values)} values for {p} pairs")
        missing = [b for b in self.bins if b not in self.columns]
        if missing:
            raise ValueError(f"PairTable bins {missing} are not columns")

    @classmethod
    def build(
        cls,
        source: Sequence[int],
        target: Sequence[int],
        source_kps: Sequence[Any],
        target_kps: Sequence[Any],
        source_size: Sequence[Sequence[float]],
        target_size: Sequence[Sequence[float]],
        normaliser: Sequence[float],
        valid: Sequence[Sequence[bool]] | None = None,
        columns: dict[str, list[Any]] | None = None,
        bins: Sequence[str] = (),
        protocol: dict[str, Any] | None = None,
    ) -> PairTable:
        """Build a table from per-pair lists; keypoint lists may differ in length (padded with NaN, not valid)."""
        p = len(source)
        k = max((len(kps) for kps in source_kps), default=0)
        src = np.full((p, k, 2), np.nan)
        trg = np.full((p, k, 2), np.nan)
        ok = np.zeros((p, k), dtype=bool)
        for i in range(p):
            a = np.asarray(source_kps[i], dtype=np.float64).reshape(-1, 2)
            b = np.asarray(target_kps[i], dtype=np.float64).reshape(-1, 2)
            if len(a) != len(b):
                raise ValueError(f"pair {i}: {len(a)} source keypoints but {len(b)} target keypoints")
            src[i, : len(a)], trg[i, : len(b)] = a, b
            ok[i, : len(a)] = True if valid is None else np.asarray(valid[i], dtype=bool)
        return cls(
            np.asarray(source, dtype=np.int64).reshape(p),
            np.asarray(target, dtype=np.int64).reshape(p),
            src,
            trg,
            ok & np.isfinite(src).all(-1) & np.isfinite(trg).all(-1),
            np.asarray(source_size, dtype=np.float64).reshape(p, 2),
            np.asarray(target_size, dtype=np.float64).reshape(p, 2),
            np.asarray(normaliser, dtype=np.float64).reshape(p),
            {k_: list(v) for k_, v in (columns or {}).items()},
            tuple(bins),
            dict(protocol or {}),
        )

    def __len__(self) -> int:
        return len(self.source)

    def take(self, rows: Sequence[int]) -> PairTable:
        """The table of the given pairs, in that order."""
        idx = np.asarray(list(rows), dtype=np.int64)
        return replace(
            self,
            source=self.source[idx],
            target=self.target[idx],
            source_kps=self.source_kps[idx],
            target_kps=self.target_kps[idx],
            valid=self.valid[idx],
            source_size=self.source_size[idx],
            target_size=self.target_size[idx],
            normaliser=self.normaliser[idx],
            columns={k: [v[i] for i in idx] for k, v in self.columns.items()},
        )

    def to_meta(self, sample_ids: Sequence[str]) -> list[list[dict[str, Any]]]:
        """The ``pairs`` meta column: per sample, the pairs whose source it is, each naming its target by sample id.

        Per-sample meta survives every subset the engine makes (``--limit``, unreadable images), so a metric group
        rebuilds the table of the samples it sees with :meth:`from_meta`.

        Example:
            >>> t = PairTable.build([0], [1], [[[1.0, 2.0]]], [[[3.0, 4.0]]], [[8, 8]], [[8, 8]], [8.0])
            >>> column = t.to_meta(["a", "b"])
            >>> [len(c) for c in column], column[0][0]["target"]
            ([1, 0], 'b')
            >>> PairTable.from_meta(["b", "a"], [column[1], column[0]]).source.tolist()
            [1]

        """
        shared = {"bins": list(self.bins), "protocol": self.protocol}
        out: list[list[dict[str, Any]]] = [[] for _ in sample_ids]
        for r in range(len(self)):
            out[int(self.source[r])].append(
                {
                    "target": sample_ids[int(self.target[r])],
                    "source_kps": self.source_kps[r],
                    "target_kps": self.target_kps[r],
                    "valid": self.valid[r],
                    "source_size": self.source_size[r],
                    "target_size": self.target_size[r],
                    "normaliser": float(self.normaliser[r]),
                    "columns": {k: v[r] for k, v in self.columns.items()},
                    "table": shared,
                }
            )
        return out

    @classmethod
    def from_meta(cls, sample_ids: Sequence[str], column: Sequence[Sequence[dict[str, Any]]]) -> PairTable:
        """The pairs among ``sample_ids`` from their ``pairs`` meta column (see :meth:`to_meta`), indices into
        ``sample_ids``; pairs whose target is not among them are left out.
        """
        position = {sid: i for i, sid in enumerate(sample_ids)}
        rows = [(i, p) for i, pairs in enumerate(column) for p in pairs or () if p["target"] in position]
        shared = rows[0][1]["table"] if rows else {"bins": [], "protocol": {}}
        k = max((len(p["valid"]) for _, p in rows), default=0)
        names = list(rows[0][1]["columns"]) if rows else []

        def padded(a: Any, fill: Any, shape: tuple[int, ...]) -> np.ndarray:
            out = np.full((k, *shape), fill)
            a = np.asarray(a)
            out[: len(a)] = a
            return out

        return cls(
            np.asarray([i for i, _ in rows], dtype=np.int64),
            np.asarray([position[p["target"]] for _, p in rows], dtype=np.int64),
            np.stack([padded(p["source_kps"], np.nan, (2,)) for _, p in rows]) if rows else np.zeros((0, 0, 2)),
            np.stack([padded(p["target_kps"], np.nan, (2,)) for _, p in rows]) if rows else np.zeros((0, 0, 2)),
            np.stack([padded(p["valid"], False, ()) for _, p in rows]).astype(bool) if rows else np.zeros((0, 0), bool),
            np.asarray([p["source_size"] for _, p in rows], dtype=np.float64).reshape(-1, 2),
            np.asarray([p["target_size"] for _, p in rows], dtype=np.float64).reshape(-1, 2),
            np.asarray([p["normaliser"] for _, p in rows], dtype=np.float64),
            {name: [p["columns"][name] for _, p in rows] for name in names},
            tuple(shared["bins"]),
            dict(shared["protocol"]),
        )

    def select(self, kept_samples: Sequence[int]) -> PairTable:
        """The pairs whose two samples are among ``kept_samples``, re-indexed to positions in that list."""
        position = {int(s): i for i, s in enumerate(kept_samples)}
        rows = [r for r in range(len(self)) if int(self.source[r]) in position and int(self.target[r]) in position]
        table = self.take(rows)
        remap = np.vectorize(lambda s: position[int(s)], otypes=[np.int64])
        return replace(
            table,
            source=remap(table.source) if len(table) else table.source,
            target=remap(table.target) if len(table) else table.target,
        )


class PairDataset(Dataset):
    """A :class:`Dataset` of images with a :class:`PairTable` sidecar (``pairs``); ``subset`` keeps whole pairs.

    Subclasses that render samples in memory list their per-sample attributes in :attr:`per_sample`, so that
    ``subset`` carries them along.
    """

    #: names of per-sample list attributes that ``subset`` must subset too
    per_sample: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        name: str,
        root: Any,
        sample_ids: list[str],
        pairs: PairTable,
        meta: dict[str, list[Any]] | None = None,
    ) -> None:
        meta = {**(meta or {}), "pairs": pairs.to_meta(sample_ids)}
        super().__init__(name, root, [], sample_ids, np.full(len(sample_ids), -1, dtype=np.int64), meta)
        self.pairs = pairs

    def subset(self, indices: Sequence[int]) -> PairDataset:
        """The dataset of the given samples and the pairs among them (``--limit``)."""
        idx = list(indices)
        clone = super().subset(idx)
        assert isinstance(clone, PairDataset)
        for attr in self.per_sample:
            setattr(clone, attr, [getattr(self, attr)[i] for i in idx])
        clone.pairs = self.pairs.select(idx)
        return clone


class CorrespondenceBenchmark(Benchmark):
    """Base of the correspondence benchmarks: unlabelled images whose dataset carries a :class:`PairTable`."""

    label_spaces = ("none",)
    metric_groups = ("correspondence",)
    labelled = False
    #: the kind of condition (for records and reports)
    kind: ClassVar[str | None] = "correspondence"

    def dataset(self) -> PairDataset:  # noqa: D102
        raise NotImplementedError

    def label_space(self, name: str | None = None) -> LabelSpace:
        """Correspondence has no classes: an empty label space."""
        self.resolve_label_space(name)
        return LabelSpace.from_columns("none", [], "none", [], [])


def bin_label(value: float, edges: Sequence[float]) -> str:
    """The label ``"lo-hi"`` of the bin of ``edges`` holding ``value`` (closed on the right, the first bin closed
    on both sides); values beyond the last edge fall in the last bin.

    Example:
        >>> [bin_label(v, [0, 30, 60]) for v in (0.0, 30.0, 30.5, 75.0)]
        ['0-30', '0-30', '30-60', '30-60']

    """
    edges = list(edges)
    i = int(np.searchsorted(np.asarray(edges[1:-1], dtype=np.float64), value, side="left"))
    return f"{_fmt(edges[i])}-{_fmt(edges[i + 1])}"


def _fmt(x: float) -> str:
    return f"{x:g}"
