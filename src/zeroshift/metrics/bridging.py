"""The ``retrieval`` and ``modality_gap`` metric groups: how a model bridges images and text, as registered groups.

Both read the condition's image embeddings (the ``features`` artefact) and, on a captioned set (a benchmark with
``has_captions``: every retrieval set), the embeddings of its captions (the ``captions`` artefact, keyed by each
caption's text, so a caption is encoded once per model whatever the image shift or the group). Under a text shift
(``Shift.acts_on == "text"``: typos, dropped words, shuffled words) the captions are perturbed first, per caption
seed, and the images are the clean ones (served from the clean cache).

* ``retrieval``: image->text and text->image R@k as CLIP_benchmark defines them and their mean
  (:func:`~zeroshift.metrics.retrieval.retrieval_metrics`); per-sample columns ``i2t_rank`` (the rank of the
  image's best caption) and ``t2i_ranks`` (the rank of the image among all images, for each of its captions);
* ``modality_gap``: Liang et al.'s gap (:mod:`zeroshift.metrics.modality_gap`), on captions for a captioned set
  and, on a labelled classification set, between the images and the text-head rows of their classes.

Both need a text encoder: a fixed-head model is refused by the planner before any work (its class universe is not
the retrieval set's label space ``none``).

Example:
    >>> from zeroshift.metrics import groups
    >>> groups.get("retrieval").metric_names()
    ['i2t_r{k}', 't2i_r{k}', 'mean_recall']
    >>> groups.get("retrieval").metrics[0].label_of("i2t_r1")
    'image→text R@1'

"""

from __future__ import annotations

from typing import Any

import numpy as np

from zeroshift.errors import SpecError, UsageError
from zeroshift.metrics.group import GroupResult, MetricSpec, Params, metric_group
from zeroshift.params import Param, non_negative_int

#: the ks of CLIP_benchmark's ``--recall_k 1 5 10``
RETRIEVAL_KS = (1, 5, 10)


def _ks(value: Any) -> tuple[int, ...]:
    items = value if isinstance(value, list | tuple) else (value,)
    if not items or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in items):
        raise SpecError(f"must be positive integers (e.g. [1, 5, 10]), got {value!r}")
    return tuple(sorted(set(items)))


def needs_captions(benchmark: Any, shift: Any) -> None:
    """The retrieval group's check: the benchmark must be a captioned set.

    Example:
        >>> from zeroshift.data import make_benchmark
        >>> needs_captions(make_benchmark("factorworld_retrieval(n=4)", None), None)
        >>> needs_captions(make_benchmark("factorworld(n=4)", None), None)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        zeroshift.errors.UsageError: the retrieval metric group needs a captioned set ...; factorworld has no captions

    """
    if not getattr(benchmark, "has_captions", False):
        raise UsageError(
            "the retrieval metric group needs a captioned set (e.g. -b factorworld_retrieval); "
            f"{getattr(benchmark, 'name', benchmark)} has no captions"
        )


def _gap_applies(benchmark: Any, shift: Any) -> None:
    if not getattr(benchmark, "has_captions", False) and not getattr(benchmark, "labelled", False):
        raise UsageError(
            f"the modality_gap metric group needs a captioned set or a labelled one; {benchmark.name} is neither"
        )


def caption_inputs(inputs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Image embeddings, caption embeddings, ``text_to_image`` and the caption protocol of a captioned condition.

    The captions of the evaluated images (``outputs.meta["captions"]``), each with the id
    ``<sample id>#<position>``; a text shift perturbs them first (seeded per caption id and the run seed).
    """
    outputs = inputs.outputs
    features = inputs.artefact("features")
    images = features.rows.float().numpy()
    images = images / np.linalg.norm(images, axis=1, keepdims=True)
    per_image = outputs.meta["captions"]
    texts = [text for captions in per_image for text in captions]
    counts = [len(captions) for captions in per_image]
    text_to_image = np.repeat(np.arange(len(per_image), dtype=np.int64), counts)
    ids = [f"{sid}#{j}" for sid, n in zip(outputs.sample_ids, counts, strict=True) for j in range(n)]
    shift = inputs.shift
    protocol: dict[str, Any] = {
        "artefact": "captions (text encoder embedding per caption text and model, L2-normalised)",
        "image_embeddings": "the features artefact, L2-normalised",
        "caption_ids": "<sample id>#<position among the image's captions, annotation order>",
        "text_shift": None,
    }
    if shift is not None and shift.acts_on == "text":
        shifted = shift.apply_captions(texts, ids, inputs.seed)
        changed = sum(a != b for a, b in zip(texts, shifted, strict=True))
        protocol["text_shift"] = {"spec": shift.canonical, "captions_changed": changed, "captions": len(texts)}
        texts = shifted
    protocol["images"] = "clean (the shift acts on text)" if protocol["text_shift"] else "as the condition's shift"
    captions = inputs.texts("captions", texts).float().numpy()
    return images, captions, text_to_image, protocol


def _per_image_ranks(ranks: np.ndarray, text_to_image: np.ndarray, n: int) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(n)]
    for rank, image in zip(ranks.tolist(), text_to_image.tolist(), strict=True):
        out[image].append(int(rank))
    return out


@metric_group(
    "retrieval",
    metrics=(
        MetricSpec("i2t_r{k}", "image→text R@{k}", True, "an image's caption among the k best", {"k": r"\d+"}),
        MetricSpec("t2i_r{k}", "text→image R@{k}", True, "a caption's image among the k best", {"k": r"\d+"}),
        MetricSpec("mean_recall", "mean recall", True, "mean of the recalls both ways (RSUM / 6)"),
    ),
    params={"ks": Param(RETRIEVAL_KS, "recall cut-offs", check=_ks)},
    check=needs_captions,
)
def retrieval_group(inputs: Any, params: Params) -> GroupResult:
    """Zero-shot image-text retrieval: R@k image->text and text->image, and their mean.

    Example:
        >>> # zeroshift run -m zoo:clip-cnn-diverse -b factorworld_retrieval -s "typos(rate=0.1)"
        >>> from zeroshift.metrics import groups
        >>> groups.get("retrieval") is retrieval_group
        True

    """
    from zeroshift.metrics.retrieval import retrieval_metrics

    images, captions, t2i, caption_protocol = caption_inputs(inputs)
    values, protocol, per_sample = retrieval_metrics(images, captions, t2i, params.ks, boot=params.bootstrap)
    columns = {
        "i2t_rank": [int(r) for r in per_sample["images"]["i2t_rank"]],
        "t2i_ranks": _per_image_ranks(per_sample["captions"]["t2i_rank"], t2i, len(images)),
    }
    return GroupResult(values, {"retrieval": {**protocol, "captions": caption_protocol}}, columns)


@metric_group(
    "modality_gap",
    metrics=(
        MetricSpec("gap_distance", "gap distance", None, "||centroid(images) - centroid(texts)||"),
        MetricSpec("centroid_cosine", "centroid cosine", None, "cosine between the two centroids"),
        MetricSpec("matched_cosine", "matched cosine", True, "mean cosine of matched image-text pairs"),
        MetricSpec("random_cosine", "random-pair cosine", None, "mean cosine of random unmatched pairs"),
    ),
    params={"random_seed": Param(0, "seed of the random unmatched pairs", check=non_negative_int)},
    check=_gap_applies,
)
def modality_gap_group(inputs: Any, params: Params) -> GroupResult:
    """Liang et al.'s modality gap on captions (captioned sets) or on the text head (labelled sets).

    Example:
        >>> # zeroshift run -m zoo:clip-cnn-diverse -b factorworld --metrics accuracy,modality_gap
        >>> from zeroshift.metrics import groups
        >>> groups.get("modality_gap").params["random_seed"].default
        0

    """
    from zeroshift.metrics.modality_gap import modality_gap, modality_gap_classification

    if inputs.model is not None and not inputs.model.has_text_head:
        raise UsageError(f"{inputs.model.spec} is a fixed-head classifier: it has no text embeddings for the gap")
    boot = params.bootstrap
    if getattr(inputs.benchmark, "has_captions", False):
        images, captions, t2i, caption_protocol = caption_inputs(inputs)
        values, protocol, per_sample = modality_gap(images, captions, t2i, boot, params.random_seed)
        protocol["captions"] = caption_protocol
        columns = {"gap_matched_cosine": [float(x) for x in per_sample["images"]["matched_cosine"]]}
        return GroupResult(values, {"modality_gap": protocol}, columns)
    outputs, space = inputs.outputs, inputs.label_space
    images = inputs.artefact("features").rows.float().numpy()
    images = images / np.linalg.norm(images, axis=1, keepdims=True)
    # a class's row: the head row of its universe column (the normalised mean where several columns vote for it)
    names = [space.universe_names[c] for c in space.used_columns]
    rows = inputs.head_rows(names).float().numpy()
    at = {c: i for i, c in enumerate(space.used_columns)}
    head = np.stack([rows[[at[c] for c in cols]].mean(axis=0) for cols in space.columns])
    head = head / np.linalg.norm(head, axis=1, keepdims=True)
    values, protocol, per_sample = modality_gap_classification(
        images, head, outputs.labels.astype(np.int64), boot, params.random_seed
    )
    protocol["class_rows"] = "the text head (the run's prompt set); a class of several columns: their normalised mean"
    columns = {"gap_matched_cosine": [float(x) for x in per_sample["images"]["matched_cosine"]]}
    return GroupResult(values, {"modality_gap": protocol}, columns)


__all__ = ["RETRIEVAL_KS", "caption_inputs", "modality_gap_group", "needs_captions", "retrieval_group"]
