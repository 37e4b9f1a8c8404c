"""The adversarial minimal-epsilon search as an artefact: per image, the smallest radius at which an attack succeeds.

The engine runs the bisection (:func:`zeroshift.shifts.attacks.minimal_epsilon`) on the condition's pixels with
gradients of the whole classifier, and caches one radius per image under the model, the text head, the label
space, the attack spec, the search settings and the seed; the ``min_epsilon`` metric group only reads the radii.
0 marks an image already misclassified, ``inf`` one that resists ``eps_max``.

Example:
    >>> kind = kinds.get("min_epsilon")
    >>> kind.grad, kind.cache_folder, sorted(kind.params)
    (True, 'attacks', ['attack', 'eps_max', 'search_steps'])

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zeroshift.artefacts.base import artefact_kind, kinds
from zeroshift.core.lazy import torch
from zeroshift.errors import UsageError
from zeroshift.params import Param
from zeroshift.shifts.search import DEFAULTS, epsilon_search


def _search(params: Mapping[str, Any]) -> Any:
    return epsilon_search(params["attack"], params["eps_max"], params["search_steps"])


def _fingerprint(scope: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "head": scope.head_fingerprint(),
        "space": scope.label_space.fingerprint_data,
        "search": _search(params).record,
        "seed": scope.seed,
        "condition": scope.shift.canonical if scope.shift is not None else None,
        "precision": "fp32",
        "what": "minimal epsilon",
    }


def _compute(batch: Any, params: Mapping[str, Any]) -> Any:
    from zeroshift.shifts.attacks import minimal_epsilon

    search = _search(params)
    targets = None
    rows = search.attack.prepare(batch.scope)
    if rows is not None:
        targets = torch.as_tensor([rows[i]["target"] for i in batch.indices], device=batch.pixels.device)
    eps = minimal_epsilon(
        search.attack,
        batch.classifier(),
        batch.pixels,
        batch.labels(),
        batch.seeds(batch.fingerprint("min_epsilon")),
        search.eps_max,
        search.steps,
        targets,
    )
    return eps.float().cpu().view(-1, 1)


def _check(scope: Any, params: Mapping[str, Any]) -> None:
    if not scope.benchmark.labelled:
        raise UsageError(f"min_epsilon: attacks need labelled images; {scope.benchmark.name} has no classes")


def _protocol(scope: Any, params: Mapping[str, Any], fp: str) -> dict[str, Any]:
    return {**_search(params).record, "cache": "attacks/" + fp, "per_image_seed": "sha256(seed | key | id)"}


artefact_kind(
    "min_epsilon",
    description="minimal epsilon",
    keyed_by="image",
    fingerprint=_fingerprint,
    compute=_compute,
    grad=True,
    params={
        "attack": Param(DEFAULTS["attack"], "the attack whose radius is searched"),
        "eps_max": Param(DEFAULTS["eps_max"], "the largest radius tried"),
        "search_steps": Param(DEFAULTS["search_steps"], "bisection steps"),
    },
    check=_check,
    protocol=_protocol,
    folder="attacks",
    depends=("heads",),
)

__all__ = ["kinds"]
