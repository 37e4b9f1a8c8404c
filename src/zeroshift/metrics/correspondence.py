"""Keypoint transfer by nearest-neighbour matching of dense features, and PCK@alpha (probe3d's SPair protocol).

For each pair, each source keypoint's feature is sampled bilinearly from the L2-normalised source map, its cosine
similarity to every cell of the L2-normalised target map is the heatmap, and the heatmap's argmax, mapped back to
target image pixels, is the predicted keypoint (El Banani et al. 2024, ``evaluate_spair_correspondence.py``; no
GPU index is needed: one ``(K, C) x (C, h*w)`` product per pair). A keypoint is correct at ``alpha`` when its
error is at most ``alpha`` times the pair's normaliser (the target box's larger side for SPair, the image side for
generated pairs; :class:`~zeroshift.data.correspondence.PairTable`).

Feature maps tile the letterboxed input of :class:`~zeroshift.models.dense.DenseGeometry` (the image padded at
the bottom and right to a square of side ``max(W, H)``), so a pixel ``(x, y)`` lies at ``(x, y) * w / max(W, H)``
in units of cells, whatever the network's input side. Two conventions of where a cell sits:

* ``centre`` (default): cell ``j`` covers ``[j, j + 1)`` and its prediction is its centre ``j + 0.5``
  (``grid_sample(align_corners=False)``, border padding); cells whose centre falls in the padding are no
  candidates; correct means ``error <= alpha * normaliser``.
* ``probe3d``: probe3d's own arithmetic, for comparing with its numbers: sampling with ``align_corners=True``
  (zero padding), the prediction at ``j * side / w`` (the cell's corner), every cell a candidate, correct means
  ``error < alpha * normaliser``.

``upsample`` (an integer factor) resizes the target map bilinearly before matching (probe3d's NAVI and ScanNet
evaluations upsample, its SPair evaluation does not); the argmax then lands on the finer grid.

PCK is pooled over keypoints (correct keypoints over valid keypoints of all pairs, probe3d's per-class recall),
overall and per bin of every ``PairTable.bins`` column, with percentile bootstrap intervals over pairs; where the
pairs have a ``category`` column, the mean over categories (probe3d's headline) comes too, with an interval from
resampling pairs within each category.

Example:
    >>> import numpy as np
    >>> from zeroshift.data.correspondence import PairTable
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(16, 4, 4))
    >>> pts = [[[2.0, 2.0], [6.0, 14.0]]]
    >>> table = PairTable.build([0], [1], pts, pts, [[16, 16]], [[16, 16]], [16.0])
    >>> values, protocol, columns = correspondence_metrics([f, f], table, n_boot=0)
    >>> [(v.name, v.value) for v in values]
    [('pck@0.05', 1.0), ('pck@0.10', 1.0), ('pck@0.15', 1.0)]

"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from zeroshift.errors import UsageError
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue
from zeroshift.metrics.group import GroupResult, MetricSpec, Need, Params, metric_group
from zeroshift.params import Param, negative_int, positive_int

if TYPE_CHECKING:  # pragma: no cover
    from zeroshift.data.correspondence import PairTable

#: PCK thresholds reported by default (fractions of the normaliser)
ALPHAS = (0.05, 0.10, 0.15)
#: cell conventions (see the module docstring)
CONVENTIONS = ("centre", "probe3d")
#: prepared (normalised, upsampled) maps kept while looping over pairs
MAP_CACHE = 256

FeatureSource = Sequence[Any] | Mapping[int, Any] | Callable[[int], Any]


def transfer_keypoints(
    source_map: Any,
    target_map: Any,
    source_kps: Any,
    source_wh: Sequence[float],
    target_wh: Sequence[float],
    upsample: int = 1,
    convention: str = "centre",
) -> np.ndarray:
    """Predicted target pixels ``(K, 2)`` of source keypoints ``(K, 2)`` (NaN rows stay NaN).

    ``source_map``/``target_map`` are ``(C, h, w)`` dense features (numpy or torch, not necessarily normalised);
    ``source_wh``/``target_wh`` the original image sizes.

    Example:
        >>> import numpy as np
        >>> f = np.zeros((2, 2, 2)); f[0, 0, 0] = f[1, 1, 1] = 1.0; f[0, 0, 1] = f[0, 1, 0] = 0.1
        >>> transfer_keypoints(f, f, [[1.0, 1.0], [3.0, 3.0]], (4, 4), (4, 4)).tolist()
        [[1.0, 1.0], [3.0, 3.0]]

    """
    _check(upsample, convention)
    return _transfer(_prepare(source_map, 1), _prepare(target_map, upsample), source_kps, source_wh, target_wh,
                     convention)  # fmt: skip


def _check(upsample: int, convention: str) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    if not isinstance(upsample, int) or isinstance(upsample, bool) or upsample < 1:
        raise ValueError(f"upsample must be a positive integer, got {upsample!r}")


def _prepare(feature_map: Any, upsample: int) -> Any:
    """A ``(C, h, w)`` map as a float32 tensor, bilinearly upsampled by ``upsample``, unit-normalised along C."""
    import torch
    import torch.nn.functional as F

    fmap = torch.as_tensor(np.asarray(feature_map), dtype=torch.float32)
    if upsample > 1:
        fmap = F.interpolate(fmap[None], scale_factor=upsample, mode="bilinear", align_corners=False)[0]
    return F.normalize(fmap, dim=0)


def _transfer(
    src: Any, trg: Any, source_kps: Any, source_wh: Sequence[float], target_wh: Sequence[float], convention: str
) -> np.ndarray:
    """:func:`transfer_keypoints` on maps already through :func:`_prepare`."""
    import torch
    import torch.nn.functional as F

    kps = np.asarray(source_kps, dtype=np.float64).reshape(-1, 2)
    out = np.full(kps.shape, np.nan)
    ok = np.isfinite(kps).all(axis=1)
    if not ok.any():
        return out
    probe3d = convention == "probe3d"
    side_s = float(max(source_wh[0], source_wh[1]))
    # the letterboxed square spans [-1, 1] in grid_sample's coordinates whatever the map's resolution
    grid = torch.as_tensor(2.0 * kps[ok] / side_s - 1.0, dtype=torch.float32).view(1, 1, -1, 2)
    sampled = F.grid_sample(
        src[None], grid, mode="bilinear", align_corners=probe3d, padding_mode="zeros" if probe3d else "border"
    )[0, :, 0].T  # (K, C)
    c, h, w = trg.shape
    heat = sampled @ trg.reshape(c, h * w)  # (K, h*w) cosine similarities (up to the query's norm)
    side_t = float(max(target_wh[0], target_wh[1]))
    cols, rows = np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)
    if probe3d:
        xs, ys = cols * side_t / w, rows * side_t / h
    else:
        xs, ys = (cols + 0.5) * side_t / w, (rows + 0.5) * side_t / h
        # cells whose centre lies in the padding of the letterbox are not part of the target image
        outside = (ys[:, None] >= target_wh[1]) | (xs[None, :] >= target_wh[0])
        if outside.any():
            heat = heat.masked_fill(torch.from_numpy(outside.reshape(1, -1)), float("-inf"))
    best = heat.argmax(dim=1).numpy()
    out[ok, 0] = xs[best % w]
    out[ok, 1] = ys[best // w]
    return out


def _feature(features: FeatureSource, i: int) -> Any:
    return features(i) if callable(features) else features[i]


def transfer_errors(
    features: FeatureSource, pairs: PairTable, upsample: int = 1, convention: str = "centre"
) -> np.ndarray:
    """Transfer errors ``(P, K)`` in target pixels for every pair (NaN where a keypoint is not valid).

    ``features[i]`` (or ``features(i)``) is the ``(C, h, w)`` map of sample ``i``.
    """
    import torch

    _check(upsample, convention)
    errors = np.full(pairs.valid.shape, np.nan)
    cache: OrderedDict[tuple[int, int], Any] = OrderedDict()

    def prepared(i: int, factor: int) -> Any:
        # an image is in many pairs (SPair: dozens): normalise (and upsample) its map once, keep the recent ones
        key = (i, factor)
        if key not in cache:
            cache[key] = _prepare(_feature(features, i), factor)
            while len(cache) > MAP_CACHE:
                cache.popitem(last=False)
        cache.move_to_end(key)
        return cache[key]

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # every op is small: intra-op threads cost more than they save (about 10x here)
    try:
        for r in range(len(pairs)):
            if not pairs.valid[r].any():
                continue
            kps = np.where(pairs.valid[r][:, None], pairs.source_kps[r], np.nan)
            src = prepared(int(pairs.source[r]), 1)
            trg = prepared(int(pairs.target[r]), upsample)
            pred = _transfer(src, trg, kps, pairs.source_size[r], pairs.target_size[r], convention)
            errors[r] = np.linalg.norm(pred - pairs.target_kps[r], axis=1)
    finally:
        torch.set_num_threads(threads)
    errors[~pairs.valid] = np.nan
    return errors


def pck_counts(errors: np.ndarray, valid: np.ndarray, normaliser: np.ndarray, alpha: float, strict: bool = False):
    """Per pair: (correct keypoints, valid keypoints) at ``alpha`` (``strict``: ``<`` instead of ``<=``).

    Example:
        >>> e = np.array([[1.0, 5.0, np.nan]]); v = np.array([[True, True, False]])
        >>> [c.tolist() for c in pck_counts(e, v, np.array([20.0]), 0.25)]
        [[2], [2]]
        >>> [c.tolist() for c in pck_counts(e, v, np.array([20.0]), 0.25, strict=True)]
        [[1], [2]]

    """
    bound = (alpha * np.asarray(normaliser, dtype=np.float64))[:, None]
    filled = np.where(valid, errors, np.inf)
    hit = (filled < bound) if strict else (filled <= bound)
    return (hit & valid).sum(axis=1), valid.sum(axis=1)


def _ratio_draws(correct: np.ndarray, total: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Pooled PCK of ``n_boot`` resamples (with replacement) of the given pairs, drawn a block at a time."""
    n = len(correct)
    out = np.empty(n_boot)
    block = max(1, (1 << 18) // max(n, 1))  # about 2 MB of indices per block
    for start in range(0, n_boot, block):
        idx = rng.integers(0, n, size=(min(n_boot, start + block) - start, n))
        sums = total[idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + len(idx)] = np.where(sums > 0, correct[idx].sum(axis=1) / np.maximum(sums, 1), np.nan)
    return out


def _interval(draws: np.ndarray, alpha: float) -> tuple[float, float]:
    draws = draws[np.isfinite(draws)]
    if not draws.size:
        return float("nan"), float("nan")
    return float(np.quantile(draws, alpha / 2)), float(np.quantile(draws, 1 - alpha / 2))


def _ratio_ci(correct: np.ndarray, total: np.ndarray, boot: dict[str, Any]) -> tuple[float, float]:
    """Percentile interval of pooled PCK over pairs resampled with replacement."""
    if len(correct) < 2 or boot["n_boot"] <= 0:
        return float("nan"), float("nan")
    draws = _ratio_draws(correct, total, boot["n_boot"], np.random.default_rng(boot["seed"]))
    return _interval(draws, boot["alpha"])


def _category_mean_ci(
    correct: np.ndarray, total: np.ndarray, groups: list[np.ndarray], boot: dict[str, Any]
) -> tuple[float, float]:
    """Percentile interval of the mean over categories, pairs resampled within each category."""
    if boot["n_boot"] <= 0 or sum(len(g) for g in groups) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(boot["seed"])
    per = np.stack([_ratio_draws(correct[g], total[g], boot["n_boot"], rng) for g in groups])
    finite = np.isfinite(per)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(finite, per, 0.0).sum(axis=0) / finite.sum(axis=0)
    return _interval(means, boot["alpha"])


def level_order(level: Any) -> tuple[int, float, str]:
    """Sort key of bin levels: numeric ranges (``"45-90"``) by their lower edge, then the rest by name.

    Example:
        >>> sorted(["90-135", "0-45", "45-90", "cat"], key=level_order)
        ['0-45', '45-90', '90-135', 'cat']

    """
    text = str(level)
    head = text.split("-")[0] if not text.startswith("-") else text
    try:
        return 0, float(head), text
    except ValueError:
        return 1, 0.0, text


def pck_metric_name(alpha: float) -> str:
    """``pck@0.10`` for ``alpha=0.1``."""
    return f"pck@{alpha:.2f}"


def correspondence_metrics(
    features: FeatureSource,
    pairs: PairTable,
    alphas: Sequence[float] = ALPHAS,
    upsample: int = 1,
    convention: str = "centre",
    bins: Sequence[str] | None = None,
    **boot: Any,
) -> tuple[list[MetricValue], dict[str, Any], dict[str, list[Any]]]:
    """PCK of keypoint transfer over every pair: ``(values, protocol, per-pair columns)``.

    Values: ``pck@A`` (pooled over keypoints) for each alpha, ``pck@A[column=level]`` for each bin level, and
    ``pck@A_category_mean`` where pairs have a ``category`` column. Protocol: every choice above plus the pairs'
    own protocol. Columns: per pair, the fraction of correct keypoints at each alpha, the valid keypoint count, the
    mean error over the normaliser, and the pair's bin and label columns.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    settings = {**DEFAULT_BOOTSTRAP, **boot}
    bins = tuple(pairs.bins if bins is None else bins)
    strict = convention == "probe3d"
    errors = transfer_errors(features, pairs, upsample, convention)
    n_valid = pairs.valid.sum(axis=1)
    scaled = np.where(pairs.valid, errors / pairs.normaliser[:, None], 0.0).sum(axis=1)
    norm_err = np.where(n_valid > 0, scaled / np.maximum(n_valid, 1), np.nan)
    columns: dict[str, list[Any]] = {"n_keypoints": n_valid.tolist(), "mean_error_normalised": norm_err.tolist()}
    values: list[MetricValue] = []
    categories = pairs.columns.get("category")
    for alpha in alphas:
        name = pck_metric_name(alpha)
        correct, total = pck_counts(errors, pairs.valid, pairs.normaliser, alpha, strict)
        with np.errstate(invalid="ignore", divide="ignore"):
            columns[name] = np.where(total > 0, correct / np.maximum(total, 1), np.nan).tolist()
        every = np.arange(len(pairs))
        values.append(_value(name, correct, total, every, settings, {"alpha": alpha}))
        for column in bins:
            labels = pairs.columns[column]
            for level in sorted({lv for lv in labels if lv is not None}, key=level_order):
                rows = np.asarray([i for i, lv in enumerate(labels) if lv == level], dtype=np.int64)
                details = {"alpha": alpha, "bin": column, "level": level}
                values.append(_value(f"{name}[{column}={level}]", correct, total, rows, settings, details))
        if categories is not None:
            levels = sorted({c for c in categories if c is not None})
            groups = [np.asarray([i for i, c in enumerate(categories) if c == lv], dtype=np.int64) for lv in levels]
            per = [correct[g].sum() / total[g].sum() if total[g].sum() else np.nan for g in groups]
            mean = float(np.nanmean(per)) if np.isfinite(per).any() else float("nan")
            lo, hi = _category_mean_ci(correct, total, groups, settings)
            details = {"alpha": alpha, "n_categories": len(levels), "per_category": dict(zip(levels, per, strict=True))}
            values.append(MetricValue(f"{name}_category_mean", mean, True, lo, hi, details))
    for column, labels in pairs.columns.items():
        columns.setdefault(column, list(labels))
    protocol = {
        "matching": "cosine nearest neighbour: source feature sampled bilinearly at each keypoint from the "
        "L2-normalised source map, argmax over the L2-normalised target map (torch, CPU)",
        "convention": convention,
        "cell_position": "corner j * side / w (probe3d)" if strict else "centre (j + 0.5) * side / w",
        "candidates": "every cell" if strict else "cells whose centre lies inside the target image",
        "sampling": "grid_sample align_corners=True, zeros" if strict else "grid_sample align_corners=False, border",
        "upsample": upsample,
        "upsample_mode": "bilinear, align_corners=False" if upsample > 1 else None,
        "threshold": "error < alpha * normaliser" if strict else "error <= alpha * normaliser",
        "alphas": [float(a) for a in alphas],
        "pooling": "keypoints pooled over pairs (correct / valid)",
        "bins": list(bins),
        "category_mean": "mean over categories of pooled PCK (probe3d)" if categories is not None else None,
        "n_pairs": len(pairs),
        "n_keypoints": int(n_valid.sum()),
        "pairs_without_keypoints": int((n_valid == 0).sum()),
        "bootstrap": {**settings, "unit": "pairs"},
        "pairs": dict(pairs.protocol),
    }
    return values, protocol, columns


def _value(
    name: str, correct: np.ndarray, total: np.ndarray, rows: np.ndarray, boot: dict[str, Any], details: dict
) -> MetricValue:
    c, t = correct[rows], total[rows]
    n = int(t.sum())
    value = float(c.sum() / n) if n else float("nan")
    lo, hi = _ratio_ci(c, t, boot)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_image = float(np.nanmean(np.where(t > 0, c / np.maximum(t, 1), np.nan))) if (t > 0).any() else None
    return MetricValue(name, value, True, lo, hi, {**details, "n_pairs": int(len(rows)), "n_keypoints": n,
                                                   "per_image_mean": per_image})  # fmt: skip


# --- the metric group ---------------------------------------------------------------------------------------------


def _applies(benchmark: Any, shift: Any) -> None:
    if getattr(benchmark, "kind", None) != "correspondence":
        raise UsageError(
            f"correspondence needs a benchmark of image pairs with keypoints (factorworld_pairs, homography_pairs, "
            f"spair); {benchmark.name} has none"
        )


def _model_check(facts: Any, params: Params) -> str | None:
    from zeroshift.artefacts.dense import unsupported

    return unsupported(facts, params.layer)


def _needs(params: Params) -> tuple[Need, ...]:
    return (Need(None, frozenset({"dense"}), {"dense": {"layer": params.layer}}),)


_ALPHA = {"alpha": r"\d+\.\d+"}


@metric_group(
    "correspondence",
    metrics=(
        MetricSpec("pck@{alpha}", "PCK@{alpha}", True, "keypoints transferred within alpha x the normaliser",
                   fields=_ALPHA),
        MetricSpec("pck@{alpha}[{bin}={level}]", "PCK@{alpha} ({bin} {level})", True,
                   "PCK@alpha of the pairs in one bin (rotation, scale, viewpoint variation, category)",
                   fields=_ALPHA),
        MetricSpec("pck@{alpha}_category_mean", "PCK@{alpha} (mean over categories)", True,
                   "mean over categories of their pooled PCK (probe3d's headline)", fields=_ALPHA),
    ),
    params={
        "layer": Param(-1, "block or stage of the dense features, a negative index (-1: the last)", check=negative_int),
        "upsample": Param(1, "bilinear upsampling factor of the target map before matching (probe3d)",
                          check=positive_int),
        "convention": Param("centre", "cell positions: centre, or probe3d's corners", choices=CONVENTIONS),
    },
    needs=_needs,
    check=_applies,
    model_check=_model_check,
)  # fmt: skip
def correspondence_group(inputs: Any, params: Params) -> GroupResult:
    """PCK of keypoint transfer by nearest-neighbour matching of dense features (probe3d's protocol)."""
    from zeroshift.data.correspondence import PairTable

    outputs = inputs.outputs
    rows = inputs.artefact("dense", layer=params.layer)
    where = {sid: i for i, sid in enumerate(rows.sample_ids)}
    position = {sid: i for i, sid in enumerate(outputs.sample_ids)}
    ids = [sid for sid in outputs.sample_ids if sid in where]  # the samples with both outputs and dense rows
    table = PairTable.from_meta(ids, [outputs.meta["pairs"][position[sid]] for sid in ids])
    maps = rows.rows
    values, protocol, per_pair = correspondence_metrics(
        lambda i: maps[where[ids[i]]].float(), table, upsample=params.upsample, convention=params.convention,
        **params.bootstrap,
    )  # fmt: skip
    # per sample, aligned with the outputs: the mean PCK@0.10 of the pairs the sample is the source of
    name = pck_metric_name(0.10)
    scores: dict[str, list[float]] = {}
    for r, s in enumerate(table.source.tolist()):
        value = per_pair[name][r] if name in per_pair else None
        if value is not None and np.isfinite(value):
            scores.setdefault(ids[s], []).append(float(value))
    columns: dict[str, list[Any]] = {
        f"{name}_as_source": [float(np.mean(scores[sid])) if sid in scores else None for sid in outputs.sample_ids],
        "pairs_as_source": [len(scores.get(sid, [])) for sid in outputs.sample_ids],
    }
    protocol["dense"] = rows.protocol
    return GroupResult(values, {"correspondence": protocol}, columns)
