"""The ``overlap_flags`` artefact: per evaluation image, its nearest training neighbour and the duplicate flag.

Keyed by image (content key) and cached like every artefact. Each row is ``(nn_cosine, flag, nn_hamming, nn_row)``:
the exact cosine to the nearest row of the training index, whether the flag rule fires (1.0/0.0), the pHash
Hamming distance to that neighbour (-1 when not measured: pHash off, or the cosine below the threshold), and the
neighbour's row in the index (-1 when none). The query is the condition's own ``features`` row (the same encoder
pass), so flagging costs no extra encoding.

The training index comes from ``index`` (a folder built by ``zeroshift overlap index``, checked to hold the same
model's features) or ``corpus`` (a corpus location, or ``auto``: the benchmark's ``training_corpus``); a corpus is
indexed once per model in the cache (``overlap-index/``) from the engine's cached features of the ``corpus``
benchmark, so images already encoded are not encoded again. The fingerprint holds the index identity (its
manifest's model, corpus listing digest, index type and size), ``k``, the threshold, the pHash setting and
(through the bank) the model.

Example:
    >>> kinds.get("overlap_flags").keyed_by, sorted(kinds.get("overlap_flags").params)[:3]
    ('image', ['corpus', 'index', 'k'])

"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zeroshift.artefacts.base import artefact_kind, kinds
from zeroshift.errors import SpecError, UsageError
from zeroshift.params import Param, non_negative_int, positive_int

#: the columns of a row
COLUMNS = ("nn_cosine", "flag", "nn_hamming", "nn_row")

#: opened indexes and corpora, per (model fingerprint, source): one build and one open per process
_INDEXES: dict[tuple[str, str, bool], tuple[Any, Any]] = {}


def _threshold(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not -1.0 <= float(value) <= 1.0:
        raise SpecError(f"must be a cosine from -1 to 1 (or None: the model's default rule), got {value!r}")
    return float(value)


def _optional_count(value: Any) -> int | None:
    return None if value is None else positive_int(value)


PARAMS: dict[str, Param] = {
    "index": Param("", "index folder built by `zeroshift overlap index` (or give corpus)"),
    "corpus": Param("auto", "corpus location indexed in the cache; auto: the benchmark's training corpus"),
    "sample": Param(None, "corpus: a seeded sample of this many images (zoo-train:NAME)", check=_optional_count),
    "sample_seed": Param(0, "corpus: seed of the sample", check=non_negative_int),
    "k": Param(5, "nearest training neighbours searched", check=positive_int),
    "threshold": Param(None, "cosine threshold of the flag (None: the model's default rule)", check=_threshold),
    "phash": Param(False, "confirm flags by pHash Hamming distance", choices=(False, True)),
    "max_hamming": Param(None, "pHash bits (of 64) that may differ (None: the default rule's)", check=_optional_count),
}


def _source(scope: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """Where the index comes from: ``{"index": folder}`` or the ``corpus`` benchmark's parameters."""
    if params["index"]:
        return {"index": str(Path(params["index"]).expanduser().resolve())}
    corpus = params["corpus"]
    if corpus == "auto":
        declared = getattr(scope.benchmark, "training_corpus", None)
        if not declared:
            raise UsageError(
                f"{scope.benchmark.name} declares no training corpus: give the overlap index "
                "(--metric-param overlap.index=DIR) or a corpus (--metric-param overlap.corpus=LOCATION)"
            )
        return {"corpus": dict(declared)}
    return {"corpus": {"location": corpus, "sample": params["sample"], "seed": params["sample_seed"]}}


def open_index(scope: Any, params: Mapping[str, Any]) -> tuple[Any, Any]:
    """The condition's training index (built in the cache from cached features when a corpus is given) and the
    corpus it can reopen for pHash (None when the index was given as a folder without one).
    """
    from zeroshift.overlap.features import ModelRef
    from zeroshift.overlap.index import OverlapIndex

    source = _source(scope, params)
    key = (scope.model_fingerprint, repr(sorted(source.items())), bool(params["phash"]))
    if key not in _INDEXES:
        if not scope.facts.has_text_head:
            raise UsageError(f"{scope.handle.spec} is a fixed-head classifier: its outputs are class logits, not an "
                             "image embedding to search a training corpus with")  # fmt: skip
        model = ModelRef(str(scope.handle.spec), scope.model_fingerprint)
        if "index" in source:
            index = OverlapIndex.open(source["index"])
            index.require_model(model)
            _INDEXES[key] = (index, _reopen(index) if params["phash"] and index.phashes is None else None)
        else:
            _INDEXES[key] = _build_from_cache(scope, source["corpus"], model)
    return _INDEXES[key]


def _build_from_cache(scope: Any, corpus: dict[str, Any], model: Any) -> tuple[Any, Any]:
    from zeroshift.overlap.cached import corpus_spec, index_corpus
    from zeroshift.specs import fingerprint

    spec = corpus_spec(corpus["location"], corpus.get("sample"), corpus.get("seed") or 0)
    rows = scope.features_of(spec)  # cached: read here, and again (from memory) by index_corpus below
    bank = Path(rows.protocol["bank"])
    folder = bank.parent.parent / "overlap-index" / fingerprint({"model": model.fingerprint, "corpus": spec})
    index = index_corpus(lambda _: rows, folder, corpus["location"], model, corpus.get("sample"),
                         corpus.get("seed") or 0)  # fmt: skip
    return index, _reopen(index)


def _reopen(index: Any) -> Any:
    """The image corpus an index describes (for pHash of neighbours), or None when it cannot be reopened."""
    from zeroshift.overlap.locate import reopen_corpus

    try:
        return reopen_corpus(index.manifest["corpus"], index.manifest.get("listing_digest"))
    except (UsageError, KeyError, OSError):
        return None


def _identity(index: Any) -> dict[str, Any]:
    m = index.manifest
    return {"model": m["model"]["fingerprint"], "listing": m["listing_digest"], "index": m["index"]["factory"],
            "size": index.size}  # fmt: skip


def _rule(scope: Any, params: Mapping[str, Any]) -> Any:
    from zeroshift.overlap.checks import FlagRule, default_rule

    base = default_rule(str(scope.handle.spec), phash=bool(params["phash"]))
    given = params["threshold"] is not None or params["max_hamming"] is not None
    hamming = (params["max_hamming"] if params["max_hamming"] is not None else base.max_hamming) if params["phash"] \
        else None  # fmt: skip
    threshold = params["threshold"] if params["threshold"] is not None else base.threshold
    return FlagRule(threshold, hamming, "user (overlap parameters)" if given else base.source)


def _fingerprint(scope: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    index, _ = open_index(scope, params)
    rule = _rule(scope, params)
    return {**scope.pixel_fingerprint(), "precision": scope.precision, "what": "overlap flags",
            "index": _identity(index), "k": params["k"], "threshold": rule.threshold,
            "phash": bool(params["phash"]), "max_hamming": rule.max_hamming}  # fmt: skip


def _check(scope: Any, params: Mapping[str, Any]) -> None:
    if params["phash"] and scope.shift is not None:
        raise UsageError("overlap: the pHash confirmation hashes the images as stored, so it applies to clean "
                         f"conditions only, not under {scope.shift.canonical}")  # fmt: skip
    open_index(scope, params)


def _compute(rows: Any, scope: Any, params: Mapping[str, Any]) -> Any:
    import torch

    from zeroshift.overlap.hashes import hamming, phash64

    index, corpus = open_index(scope, params)
    rule = _rule(scope, params)
    cos, ids = index.search(rows.rows.float().cpu().numpy(), int(params["k"]))
    top, nn = cos[:, 0].astype(np.float64), ids[:, 0]
    distances = np.full(len(top), -1, dtype=np.int64)
    if params["phash"]:
        # only candidates above the threshold need a hash: the pHash confirms, it never flags on its own
        cand = np.flatnonzero(np.nan_to_num(top, nan=-np.inf) >= rule.threshold)
        if len(cand):
            position = {sid: i for i, sid in enumerate(scope.dataset.sample_ids)}
            mine = phash64([scope.dataset.load(position[rows.sample_ids[int(j)]])[0] for j in cand])
            if index.phashes is not None:
                theirs = index.phash_of(nn[cand])
            elif corpus is not None:
                where = {k: i for i, k in enumerate(corpus.keys())}
                theirs = phash64([corpus.load(where[index.keys[int(nn[j])]])[0] for j in cand])
            else:
                raise UsageError(f"the index {index.folder} holds no perceptual hashes; check without phash")
            distances[cand] = hamming(mine, theirs)
    flags = rule.flags(top, distances if rule.max_hamming is not None else None)
    out = np.stack([np.nan_to_num(top, nan=-2.0), flags.astype(np.float64), distances, nn], axis=1)
    return torch.from_numpy(out.astype(np.float32))


def _protocol(scope: Any, params: Mapping[str, Any], fp: str) -> dict[str, Any]:
    index, _ = open_index(scope, params)
    return {
        "columns": list(COLUMNS),
        "source": _source(scope, params),
        "index": index.describe(),
        "k": params["k"],
        "rule": _rule(scope, params).as_dict(),
        "phash": bool(params["phash"]),
        "phash_of_evaluation_images": "the decoded image as stored (clean conditions only)",
        "feature": "the condition's image embedding (features artefact), L2-normalised",
    }


artefact_kind(
    "overlap_flags",
    description="nearest training neighbour and duplicate flag",
    keyed_by="image",
    fingerprint=_fingerprint,
    compute=_compute,
    derives="features",
    params=PARAMS,
    check=_check,
    protocol=_protocol,
)

__all__ = ["COLUMNS", "PARAMS", "kinds", "open_index"]
