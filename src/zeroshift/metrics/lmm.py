"""An LMM against its own CLIP on the same candidate sets: accuracy, gain, per class, on challenging categories.

The comparison is always like for like: the CLIP is *restricted* to each image's candidates (the argmax of its
logits among them, as VLMClassifier's ``main_results/main.py`` does), never its 1000-way accuracy against the
LMM's 2-way one. Categories are *challenging* when the CLIP's per-class top-1 over the label space is in the
bottom ``quantile`` (0.25 by default): the classes whose accuracy is at most the value at rank
``ceil(quantile * classes)`` from the bottom, ties included (classes without samples are left out). Each group
(all, challenging, the rest) gets the two accuracies, the gain with a paired-bootstrap interval and McNemar's
exact test (:func:`zeroshift.metrics.paired_tests.paired_test`, as ``zeroshift compare`` uses it).

Two entry points return ``(values, protocol, per-sample columns)``:

* :func:`likelihood_vs_clip`: the LMM's candidate scores (``likelihood`` protocol, or any per-candidate score);
* :func:`choice_vs_clip`: ImageNet-D's two-way answers labelled TRUE/FALSE/DOUBLE/TODO; as published, only
  TRUE and FALSE enter the accuracy, and the CLIP is compared on the same decided images;
* :func:`generate_vs_clip`: free answers matched to the label space (right when they name the true class and no
  other) against the CLIP's top-1 over the same label space.

The ``lmm`` group reads the run's answer protocol from its class scores' protocol (``answers`` artefact): under
``likelihood`` each image's candidates are its finite class scores (the label space, a CLIP's top-k, a list), under
``choice`` and ``generate`` the answer codes the ``answers`` rows carry after the class scores. The CLIP compared
with is ``lmm.clip``, else the LMM's own (its facts' companion), else the CLIP that chose its candidates.

Example:
    >>> import numpy as np
    >>> acc = np.array([0.9, 0.2, 0.5, 0.2, np.nan])
    >>> mask, threshold = challenging_classes(acc, 0.25)
    >>> mask.tolist(), threshold
    ([False, True, False, True, False], 0.2)

"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from zeroshift.errors import UsageError
from zeroshift.lmm.matching import CHOICE_LABELS, FREE_STATUS, choice_counts
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue, mean_with_ci

RESTRICTED = (
    "argmax of the CLIP's logits among each image's candidates (as VLMClassifier main_results/main.py); "
    "ties go to the earlier candidate"
)
GROUPS = ("all", "challenging", "rest")


def restricted_predictions(logits: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Per image, the candidate label with the highest score among its candidates ``(n, K)``.

    Example:
        >>> restricted_predictions(np.array([[0.1, 0.9, 0.5]]), np.array([[0, 2]])).tolist()
        [2]

    """
    logits, candidates = np.asarray(logits), np.asarray(candidates, dtype=np.int64)
    if candidates.ndim != 2 or len(candidates) != len(logits):
        raise UsageError(f"candidates must be (n_images, K) label indices, got shape {candidates.shape}")
    if candidates.min(initial=0) < 0 or candidates.max(initial=0) >= logits.shape[1]:
        raise UsageError(f"candidate label indices must lie in [0, {logits.shape[1]})")
    picked = np.take_along_axis(logits, candidates, axis=1)
    return candidates[np.arange(len(candidates)), picked.argmax(axis=1)]


def per_class_accuracy(correct: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Top-1 of each class (NaN for classes without samples).

    Example:
        >>> per_class_accuracy(np.array([1, 0, 1]), np.array([0, 0, 2]), 3).tolist()
        [0.5, nan, 1.0]

    """
    correct, labels = np.asarray(correct, dtype=np.float64), np.asarray(labels)
    hits = np.bincount(labels, weights=correct, minlength=n_classes)
    counts = np.bincount(labels, minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)


def challenging_classes(class_accuracy: np.ndarray, quantile: float = 0.25) -> tuple[np.ndarray, float]:
    """``(mask, threshold)``: classes at or below the ``quantile`` rank of the accuracies (see the module docstring)."""
    if not 0.0 < quantile <= 1.0:
        raise UsageError(f"the challenging-category quantile must be in (0, 1], got {quantile}")
    acc = np.asarray(class_accuracy, dtype=np.float64)
    valid = np.isfinite(acc)
    if not valid.any():
        return np.zeros(acc.shape, dtype=bool), float("nan")
    k = max(1, math.ceil(quantile * int(valid.sum())))
    threshold = float(np.sort(acc[valid])[k - 1])
    return valid & (acc <= threshold), threshold


def _group_values(suffix: str, lmm: np.ndarray, clip: np.ndarray, test: str, boot: dict[str, Any]) -> list[MetricValue]:
    from zeroshift.metrics.paired_tests import paired_test

    name = f"_{suffix}" if suffix != "all" else ""
    if lmm.size == 0:
        nan = float("nan")
        return [MetricValue(f"lmm_top1{name}", nan, True), MetricValue(f"clip_restricted_top1{name}", nan, True),
                MetricValue(f"lmm_gain{name}", nan, True, details={"n": 0})]  # fmt: skip
    settings = {k: boot[k] for k in ("n_boot", "alpha", "seed")}
    result = paired_test(lmm, clip, test, **settings)
    details = {"n": int(lmm.size), "only_lmm": result.only_a, "only_clip": result.only_b, "p_value": result.p_value,
               "test": result.method}  # fmt: skip
    return [
        mean_with_ci(lmm.astype(float), f"lmm_top1{name}", True, boot, {"n": int(lmm.size)}),
        mean_with_ci(clip.astype(float), f"clip_restricted_top1{name}", True, boot, {"n": int(lmm.size)}),
        MetricValue(f"lmm_gain{name}", result.difference, True, result.ci_low, result.ci_high, details),
    ]


def compare_correct(
    lmm_correct: np.ndarray,
    clip_correct: np.ndarray,
    labels: np.ndarray,
    clip_class_accuracy: np.ndarray,
    class_names: Sequence[str],
    included: np.ndarray | None = None,
    quantile: float = 0.25,
    test: str = "mcnemar",
    boot: dict[str, Any] | None = None,
) -> tuple[list[MetricValue], dict[str, Any], dict[str, list[Any]]]:
    """The comparison from per-image outcomes (the core of both entry points).

    Args:
        lmm_correct: whether the LMM answered each image correctly.
        clip_correct: whether the restricted CLIP did.
        labels: label index of each image.
        clip_class_accuracy: the CLIP's per-class top-1 over the label space (defines challenging classes).
        class_names: names of the label space's classes.
        included: images that enter the accuracies (None: all).
        quantile: share of classes that are challenging.
        test: ``mcnemar`` (exact), ``midp`` or ``bootstrap``.
        boot: bootstrap settings over :data:`~zeroshift.metrics.base.DEFAULT_BOOTSTRAP`.

    """
    boot = {**DEFAULT_BOOTSTRAP, **(boot or {})}
    lmm_c, clip_c = np.asarray(lmm_correct, dtype=bool), np.asarray(clip_correct, dtype=bool)
    labels = np.asarray(labels, dtype=np.int64)
    n_classes = len(class_names)
    if not len(lmm_c) == len(clip_c) == len(labels):
        raise UsageError("the LMM outcomes, CLIP outcomes and labels must cover the same images")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise UsageError(f"labels must be class indices in [0, {n_classes}); unlabelled images cannot be compared")
    keep = np.ones(len(labels), dtype=bool) if included is None else np.asarray(included, dtype=bool)
    hard_classes, threshold = challenging_classes(clip_class_accuracy, quantile)
    hard = hard_classes[labels]
    values: list[MetricValue] = []
    for group, mask in (("all", keep), ("challenging", keep & hard), ("rest", keep & ~hard)):
        values += _group_values(group, lmm_c[mask], clip_c[mask], test, boot)
    lmm_cls = per_class_accuracy(lmm_c[keep], labels[keep], n_classes)
    clip_cls = per_class_accuracy(clip_c[keep], labels[keep], n_classes)
    counts = np.bincount(labels[keep], minlength=n_classes)
    per_class = [
        {"class": class_names[c], "n": int(counts[c]), "lmm_top1": lmm_cls[c], "clip_restricted_top1": clip_cls[c],
         "gain": lmm_cls[c] - clip_cls[c], "clip_top1_label_space": float(clip_class_accuracy[c]),
         "challenging": bool(hard_classes[c])}
        for c in range(n_classes)
    ]  # fmt: skip
    values.append(MetricValue("lmm_gain_per_class", float(np.nanmean(lmm_cls - clip_cls)) if keep.any() else
                              float("nan"), True, details={"per_class": per_class,
                              "note": "unweighted mean over classes with samples of the per-class gain"}))  # fmt: skip
    protocol = {
        "comparison": "the LMM against its own CLIP on the same candidates",
        "clip_restricted": RESTRICTED,
        "challenging": {
            "defined_by": "the CLIP's per-class top-1 over the label space",
            "quantile": quantile,
            "rule": "classes at or below the accuracy at rank ceil(quantile * classes with samples), ties included",
            "threshold": threshold,
            "classes": [class_names[c] for c in np.flatnonzero(hard_classes)],
        },
        "test": {"method": test, "two_sided": True, "pairing": "per image"},
        "bootstrap": {k: boot[k] for k in ("n_boot", "alpha", "seed", "method") if k in boot},
        "n_images": int(len(labels)),
        "n_included": int(keep.sum()),
    }
    columns = {
        "lmm_correct": lmm_c.tolist(),
        "clip_restricted_correct": clip_c.tolist(),
        "challenging": hard.tolist(),
        "included": keep.tolist(),
    }
    return values, protocol, columns


def _clip_class_accuracy(clip_logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return per_class_accuracy(np.asarray(clip_logits).argmax(axis=1) == labels, labels, clip_logits.shape[1])


def likelihood_vs_clip(
    lmm_scores: np.ndarray,
    candidates: np.ndarray,
    clip_logits: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    quantile: float = 0.25,
    test: str = "mcnemar",
    boot: dict[str, Any] | None = None,
) -> tuple[list[MetricValue], dict[str, Any], dict[str, list[Any]]]:
    """The LMM's candidate scores ``(n, K)`` against the CLIP's logits ``(n, C)`` restricted to the same candidates.

    Example:
        >>> clip = np.array([[2.0, 1.0, 0.0], [0.0, 2.0, 1.0], [0.0, 1.0, 2.0], [2.0, 0.0, 1.0]])
        >>> cands = np.array([[0, 1], [1, 2], [2, 0], [0, 2]])
        >>> lmm = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])  # picks 1, 2, 2, 2
        >>> values, protocol, cols = likelihood_vs_clip(lmm, cands, clip, np.array([1, 2, 2, 2]), ["a", "b", "c"],
        ...                                               boot={"n_boot": 0})
        >>> {v.name: v.value for v in values}["lmm_gain"]
        0.75

    """
    labels = np.asarray(labels, dtype=np.int64)
    candidates = np.asarray(candidates, dtype=np.int64)
    scores = np.asarray(lmm_scores, dtype=np.float64)
    if scores.shape != candidates.shape:
        raise UsageError(f"LMM scores {scores.shape} and candidates {candidates.shape} must have the same shape")
    lmm_pred = candidates[np.arange(len(candidates)), scores.argmax(axis=1)] if len(scores) else labels
    clip_pred = restricted_predictions(clip_logits, candidates)
    in_candidates = (candidates == labels[:, None]).any(axis=1)
    values, protocol, columns = compare_correct(
        lmm_pred == labels, clip_pred == labels, labels, _clip_class_accuracy(clip_logits, labels), class_names,
        quantile=quantile, test=test, boot=boot,
    )  # fmt: skip
    values.append(
        MetricValue(
            "label_in_candidates",
            float(in_candidates.mean()) if len(labels) else float("nan"),
            True,
            details={"note": "share of images whose true class is a candidate (top-k recall)"},
        )
    )
    protocol.update(lmm="argmax of the LMM's candidate scores (ties: the earlier candidate)", n_candidates=int(
        candidates.shape[1]) if candidates.ndim == 2 else 0)  # fmt: skip
    columns.update(lmm_pred=lmm_pred.tolist(), clip_restricted_pred=clip_pred.tolist())
    return values, protocol, columns


def choice_vs_clip(
    choice_labels: Sequence[str],
    other: np.ndarray,
    clip_logits: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    quantile: float = 0.25,
    test: str = "mcnemar",
    boot: dict[str, Any] | None = None,
) -> tuple[list[MetricValue], dict[str, Any], dict[str, list[Any]]]:
    """ImageNet-D's two-way answers against the CLIP restricted to {true class, other option}.

    Args:
        choice_labels: TRUE/FALSE/DOUBLE/TODO per image (:func:`zeroshift.lmm.matching.match_choice`).
        other: label index of each image's second option (the failure category).
        clip_logits: the CLIP's logits over the label space ``(n, C)``.
        labels: label index of each image.
        class_names: names of the label space's classes.
        quantile: share of classes that are challenging.
        test: paired test (``mcnemar``, ``midp``, ``bootstrap``).
        boot: bootstrap settings.

    Example:
        >>> clip = np.array([[2.0, 1.0], [2.0, 1.0], [1.0, 2.0]])
        >>> values, protocol, _ = choice_vs_clip(["TRUE", "DOUBLE", "TRUE"], np.array([0, 0, 0]), clip,
        ...                                      np.array([1, 1, 1]), ["a", "b"], boot={"n_boot": 0})
        >>> {v.name: v.value for v in values}["lmm_top1"], protocol["choice"]["DOUBLE"]
        (1.0, 1)

    """
    labels = np.asarray(labels, dtype=np.int64)
    other = np.asarray(other, dtype=np.int64)
    unknown = sorted(set(choice_labels) - set(CHOICE_LABELS))
    if unknown or len(choice_labels) != len(labels) or len(other) != len(labels):
        raise UsageError("choice_vs_clip needs one TRUE/FALSE/DOUBLE/TODO label and one other option per image")
    if np.any(other == labels):
        raise UsageError("the second option of a choice question must differ from the true class")
    decided = np.isin(np.asarray(choice_labels, dtype=object), ["TRUE", "FALSE"]).astype(bool)
    pair = np.stack([labels, other], axis=1)
    clip_pred = restricted_predictions(clip_logits, pair)
    values, protocol, columns = compare_correct(
        np.asarray(choice_labels, dtype=object) == "TRUE", clip_pred == labels, labels,
        _clip_class_accuracy(clip_logits, labels), class_names, included=decided, quantile=quantile, test=test,
        boot=boot,
    )  # fmt: skip
    counts = choice_counts(list(choice_labels))
    n = max(1, len(labels))
    for label in ("DOUBLE", "TODO"):
        values.append(MetricValue(f"choice_{label.lower()}_rate", counts[label] / n, False,
                                  details={"count": counts[label], "n": len(labels)}))  # fmt: skip
    protocol["choice"] = {**counts, "accuracy_rule": "TRUE / (TRUE + FALSE): DOUBLE and TODO excluded (ImageNet-D)"}
    columns.update(choice_label=list(choice_labels), other=other.tolist(), clip_restricted_pred=clip_pred.tolist())
    return values, protocol, columns


# --- the ``lmm`` metric group: an LMM run against its own CLIP's run of the same condition ----------------------


def _needs(params: Any) -> tuple[Any, ...]:
    from zeroshift.metrics.group import Need

    return (Need("companion", overrides={"model": params.clip} if params.clip else {}),)


def _companion_record(view: Any) -> dict[str, Any]:
    """How the record names the related condition: the relation, the CLIP's spec and weights fingerprint."""
    handle = getattr(view, "handle", None)
    cond = getattr(view, "condition", None)
    return {
        "relation": "companion",
        "model": str(handle.spec) if handle is not None else None,
        "fingerprint": handle.fingerprint if handle is not None else None,
        "benchmark": cond.spec.benchmark.canonical if cond is not None else None,
        "shift": cond.spec.shift.canonical if cond is not None and cond.spec.shift else None,
        "label_space": view.label_space.name,
    }


def candidates_of(scores: np.ndarray) -> np.ndarray:
    """``(n, K)`` label indices of each row's candidates: its finite class scores (``-inf``: never a candidate), in
    label order; every row must have the same number.

    Example:
        >>> inf = float("-inf")
        >>> candidates_of(np.array([[0.5, inf, 0.1], [inf, 2.0, 1.0]])).tolist()
        [[0, 2], [1, 2]]

    """
    finite = np.isfinite(np.asarray(scores))
    counts = finite.sum(axis=1)
    if len(counts) and (counts.min() != counts.max() or counts.min() == 0):
        raise UsageError("every image needs the same, non-zero number of candidates (finite class scores)")
    k = int(counts[0]) if len(counts) else 0
    return np.argsort(~finite, axis=1, kind="stable")[:, :k]


def generate_vs_clip(
    status: Sequence[str],
    matched: np.ndarray,
    clip_logits: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    quantile: float = 0.25,
    test: str = "mcnemar",
    boot: dict[str, Any] | None = None,
) -> tuple[list[MetricValue], dict[str, Any], dict[str, list[Any]]]:
    """Free answers matched to the label space (``one`` class, ``none``, ``several``) against the CLIP's top-1 over
    the same label space: an answer is right when it names the true class and no other; none or several are wrong,
    and counted apart.

    Example:
        >>> clip = np.array([[2.0, 1.0], [2.0, 1.0], [1.0, 2.0]])
        >>> values, protocol, _ = generate_vs_clip(["one", "none", "one"], np.array([1, -1, 0]), clip,
        ...                                        np.array([1, 1, 1]), ["a", "b"], boot={"n_boot": 0})
        >>> round({v.name: v.value for v in values}["lmm_top1"], 3), protocol["generate"]["none"]
        (0.333, 1)

    """
    labels = np.asarray(labels, dtype=np.int64)
    matched = np.asarray(matched, dtype=np.int64)
    unknown = sorted(set(status) - set(FREE_STATUS))
    if unknown or len(status) != len(labels) or len(matched) != len(labels):
        raise UsageError("generate_vs_clip needs one one/none/several status and one matched class per image")
    lmm_correct = (np.asarray(status, dtype=object) == "one") & (matched == labels)
    clip_pred = np.asarray(clip_logits).argmax(axis=1) if len(labels) else labels
    values, protocol, columns = compare_correct(
        lmm_correct, clip_pred == labels, labels, _clip_class_accuracy(clip_logits, labels), class_names,
        quantile=quantile, test=test, boot=boot,
    )  # fmt: skip
    counts = {s: int(sum(1 for x in status if x == s)) for s in FREE_STATUS}
    n = max(1, len(labels))
    for s in ("none", "several"):
        values.append(MetricValue(f"generate_{s}_rate", counts[s] / n, False, details={"count": counts[s],
                                                                                       "n": len(labels)}))  # fmt: skip
    protocol["generate"] = {**counts, "accuracy_rule": "right when the answer names the true class and no other"}
    protocol["clip_restricted"] = "the CLIP's top-1 over the label space (the free answer's candidates)"
    columns.update(match_status=list(status), matched=matched.tolist(), clip_restricted_pred=clip_pred.tolist())
    return values, protocol, columns


def _lmm_group(inputs: Any, params: Any) -> Any:
    """The LMM against its own CLIP on the same candidates, per image paired, under the run's answer protocol
    (likelihood: its candidates; choice: the true class and the other option; generate: the label space).
    """
    from zeroshift.artefacts.answers import CHOICE_CODES, FREE_CODES
    from zeroshift.metrics.group import GroupResult

    facts = inputs.model
    if facts is not None and facts.kind != "lmm":
        raise UsageError(f"the lmm metric group compares an LMM with its CLIP; {facts.spec} is a {facts.kind} model")
    out = inputs.outputs
    scoring = dict(getattr(inputs, "scores_protocol", None) or {})
    answer_protocol = scoring.get("protocol", "likelihood")
    used_clip = (scoring.get("candidates") or {}).get("clip")
    # the CLIP compared with: the one given, else the LMM's own, else the one that chose its candidates
    clip_model = params.clip or (facts.companion if facts is not None else None) or used_clip
    clip = inputs.related("companion", **({"model": clip_model} if clip_model else {}))
    clip_out = clip.outputs
    where = {sid: i for i, sid in enumerate(clip_out.sample_ids)}
    shared = [i for i, sid in enumerate(out.sample_ids) if sid in where and out.labels[i] >= 0]
    labels = np.asarray(out.labels)[shared]
    lmm_scores = out.logits.numpy()[shared]
    clip_logits = clip_out.logits.numpy()[[where[out.sample_ids[i]] for i in shared]]
    names = list(out.label_space.class_names)
    boot = {**params.bootstrap}
    settings = (params.quantile, params.test, boot)
    if answer_protocol == "likelihood":
        candidates = candidates_of(lmm_scores)
        picked = np.take_along_axis(lmm_scores, candidates, axis=1)
        values, protocol, columns = likelihood_vs_clip(picked, candidates, clip_logits, labels, names, *settings)
        protocol["candidates"] = {"rule": (scoring.get("candidates") or {}).get("rule", "label_space"),
                                  "n": int(candidates.shape[1])}  # fmt: skip
    else:
        rows = inputs.artefact(facts.scores_from)
        width = len(out.label_space.universe_names)
        position = {sid: j for j, sid in enumerate(rows.sample_ids)}
        extra = rows.rows.numpy()[[position[out.sample_ids[i]] for i in shared]][:, width : width + 2]
        codes, aux = extra[:, 0].astype(np.int64), extra[:, 1]
        if answer_protocol == "choice":
            values, protocol, columns = choice_vs_clip(
                [CHOICE_CODES[c] for c in codes], aux.astype(np.int64), clip_logits, labels, names, *settings
            )
            protocol["candidates"] = {"rule": "the true class and the CLIP's strongest wrong class", "clip": used_clip}
        else:
            values, protocol, columns = generate_vs_clip(
                [FREE_CODES[c] for c in codes], aux.astype(np.int64), clip_logits, labels, names, *settings
            )
            protocol["candidates"] = {"rule": "label_space", "n": len(names)}
    protocol.update(answers=answer_protocol, companion=_companion_record(clip), n_paired=len(shared))
    full = {}
    for name, column in columns.items():  # aligned with the LMM's outputs (None where the CLIP has no row)
        row: list[Any] = [None] * len(out.sample_ids)
        for j, i in enumerate(shared):
            row[i] = column[j]
        full[name] = row
    return GroupResult(values, {"lmm": protocol}, full)


def _register() -> None:
    from zeroshift.metrics.group import MetricSpec, metric_group
    from zeroshift.params import Param, probability

    subsets = {"subset": ("challenging", "rest")}
    names = {"challenging": "challenging classes", "rest": "other classes"}
    metric_group(
        "lmm",
        metrics=(
            MetricSpec("lmm_top1", "LMM top-1", True, "the LMM's top-1 among the candidates"),
            MetricSpec("clip_restricted_top1", "its CLIP's top-1", True, "its CLIP's top-1 among the same candidates"),
            MetricSpec("lmm_gain", "LMM - CLIP", True, "paired difference, McNemar p in details"),
            MetricSpec("lmm_top1_{subset}", "LMM top-1 ({subset})", True, fields=subsets, names=names),
            MetricSpec("clip_restricted_top1_{subset}", "CLIP top-1 ({subset})", True, fields=subsets, names=names),
            MetricSpec("lmm_gain_{subset}", "LMM - CLIP ({subset})", True, fields=subsets, names=names),
            MetricSpec("lmm_gain_per_class", "LMM - CLIP per class", True, "unweighted mean of per-class gains"),
            MetricSpec("label_in_candidates", "label among candidates", True, "share of images whose class is one"),
            MetricSpec(
                "choice_{label}_rate",
                "choice answers naming {label}",
                False,
                fields={"label": ("double", "todo")},
                names={"double": "both options", "todo": "neither option"},
            ),
            MetricSpec(
                "generate_{status}_rate",
                "free answers naming {status}",
                False,
                fields={"status": ("none", "several")},
                names={"none": "no class", "several": "several classes"},
            ),
        ),
        params={
            "clip": Param(None, "the CLIP to compare with (default: the LMM's own, its facts' companion)"),
            "quantile": Param(
                0.25, "share of classes that are challenging (the CLIP's bottom per-class top-1)", check=probability
            ),  # fmt: skip
            "test": Param("mcnemar", "paired test per group", choices=("mcnemar", "midp", "bootstrap")),
        },
        needs=_needs,
        description="an LMM against its own CLIP on the same candidates, paired per image",
    )(_lmm_group)


_register()
